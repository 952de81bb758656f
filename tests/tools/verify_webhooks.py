"""Verifies saved webhooks with the Standard Webhooks reference library.

usage: verify_webhooks.py DIR SECRET...

DIR holds what tests/tools/webhook_receiver.c saved: <event_id>.json (the
raw body) and <event_id>.hdr (its webhook-id, webhook-timestamp and
webhook-signature headers). Every delivery must verify with every SECRET
given (a "whsec_" secret as the library takes it; any other as its bytes),
and must not verify with a secret outdial never had. Prints
"<deliveries> <signatures per delivery, min-max>" and exits 1 on any
failure. Independent of outdial's code: only the library decides.
"""
import pathlib
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def hook(secret):
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def main():
    folder = pathlib.Path(sys.argv[1])
    hooks = [hook(s) for s in sys.argv[2:]]
    stranger = Webhook(b"a secret outdial never had, long enough")
    n, sigs, bad = 0, [], []
    for body_path in sorted(folder.glob("*.json")):
        hdr_path = body_path.with_suffix(".hdr")
        if not hdr_path.exists():
            continue
        headers = {}
        for line in hdr_path.read_text().splitlines():
            name, _, value = line.partition(": ")
            headers[name] = value
        body = body_path.read_bytes()
        n += 1
        sigs.append(len(headers.get("webhook-signature", "").split()))
        for i, h in enumerate(hooks):
            try:
                h.verify(body, headers)
            except WebhookVerificationError as e:
                bad.append(f"{body_path.stem}: secret {i + 1}: {e}")
        try:
            stranger.verify(body, headers)
            bad.append(f"{body_path.stem}: verified with a secret outdial never had")
        except WebhookVerificationError:
            pass
    for b in bad[:5]:
        print(b, file=sys.stderr)
    print(n, f"{min(sigs, default=0)}-{max(sigs, default=0)}")
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
