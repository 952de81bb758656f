#!/usr/bin/env python3
"""A trunk that answers garbage: binds a UDP port on loopback and answers
every datagram with bytes that are not SIP. Logs one line per datagram
received ("<epoch> <length> <first line>") to --log. Exits after --seconds.

    garbage_udp.py --port 15004 --seconds 60 --log FILE

Python 3 standard library only (an independent test tool, not product code).
"""
import argparse
import socket
import time

# Printable at first (so a SIP parser, not a STUN demultiplexer, sees it),
# then binary.
GARBAGE = b"GARBAGE \xff\xfe is not a SIP message\r\n\r\n" + bytes(range(32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    deadline = time.monotonic() + args.seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.host, args.port))
    with open(args.log, "a", buffering=1) as log:
        log.write(f"listening {args.host}:{args.port}\n")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, peer = s.recvfrom(65535)
            except socket.timeout:
                break
            first = data.split(b"\r\n", 1)[0].decode("latin-1")[:120]
            log.write(f"{time.time():.6f} {len(data)} {first}\n")
            s.sendto(GARBAGE, peer)


if __name__ == "__main__":
    main()
