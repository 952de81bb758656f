# tests/docs/settings.sh: the settings tables of the docs say what each
# binary's --help says: every flag documented, with the same environment
# variable and default, and no documented flag that the binary lacks
# (docs/configuration.md, and docs/dialer.md for the dialer). Needs the
# built binaries only; no stack.
set -euo pipefail
root=${OUTDIAL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${OUTDIAL_BIN:-$root/build/bin}
/usr/bin/python3 - "$root" "$bin" <<'PY'
import re, subprocess, sys
root, bin_dir = sys.argv[1], sys.argv[2]

def help_of(binary):
    """{flag: (env, default)} from --help."""
    out = subprocess.run([f"{bin_dir}/{binary}", "--help"], capture_output=True, text=True).stdout
    opts, last = {}, None
    for line in out.splitlines():
        m = re.match(r"  (--[a-z0-9-]+)(?: (?:VALUE|N))?\s+(.*)$", line)
        if m:
            d = re.search(r"\(default: (.*)\)$", m.group(2))
            last = m.group(1)
            opts[last] = [None, d.group(1) if d else ""]
            continue
        m = re.match(r"\s+env: (\S+)", line)
        if m and last:
            opts[last][0] = m.group(1)
    return opts

def table_of(path, section):
    """{flag: (env, default)} from the first settings table under a heading."""
    text = open(f"{root}/{path}").read()
    part = text.split(section, 1)[1] if section else text
    rows, seen = {}, False
    for line in part.splitlines():
        if line.startswith("| `--"):
            seen = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            flags = re.findall(r"`(--[a-z0-9-]+)`", cells[0])
            if len(flags) != 1:
                continue  # "as for the scheduler" rows
            env = cells[1].strip("`") or None
            default = cells[2].strip("`")
            if default.startswith("("):
                default = ""
            rows[flags[0]] = [env, default]
        elif seen and not line.startswith("|"):
            break
    return rows

bad = []
KAFKA_SECURITY = {"--kafka-security-protocol", "--kafka-sasl-mechanism", "--kafka-sasl-username",
                  "--kafka-sasl-password-file", "--kafka-ssl-ca-file"}
cases = [
    ("outdial-scheduler", "docs/configuration.md", "## outdial-scheduler", set()),
    ("outdial-api", "docs/configuration.md", "## outdial-api", {"--kafka-brokers", "--pg-dsn",
     "--topic-requests", "--topic-events", "--topic-dial", "--topic-reports", "--kafka-extra",
     "--credentials-key-file"} | KAFKA_SECURITY),
    ("outdial-devbroker", "docs/configuration.md", "## outdial-devbroker", set()),
    ("outdial-dialer", "docs/dialer.md", "## Settings", {"--kafka-brokers", "--topic-dial",
     "--topic-reports", "--kafka-extra", "--credentials-key-file"} | KAFKA_SECURITY),
]
for binary, path, section, shared in cases:
    h, d = help_of(binary), table_of(path, section)
    if not h:
        bad.append(f"{binary}: no --help output")
        continue
    for flag, (env, default) in h.items():
        if flag in shared and flag not in d:
            continue
        if flag not in d:
            bad.append(f"{binary} {flag}: not in {path}")
        elif d[flag] != [env, default]:
            bad.append(f"{binary} {flag}: --help says env {env} default '{default}', "
                       f"{path} says env {d[flag][0]} default '{d[flag][1]}'")
    for flag in d:
        if flag not in h:
            bad.append(f"{binary} {flag}: in {path} but not in --help")
for b in bad:
    print("FAILED:", b)
print(f"{len(cases)} binaries checked, {len(bad)} mismatches")
sys.exit(1 if bad else 0)
PY
