# tests/docs/examples.sh: every event example in docs/events.md validates
# against schemas/event.schema.json, so the docs cannot drift from what
# outdial sends (webhook bodies are the same events). Needs only
# python3-jsonschema (Debian's); no stack.
set -euo pipefail
root=${OUTDIAL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
/usr/bin/python3 - "$root" <<'PY'
import json, re, sys, jsonschema
root = sys.argv[1]
def objects(path):
    """Every JSON object in the ```json blocks of a Markdown file."""
    text = open(f"{root}/{path}").read()
    dec = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        i = 0
        while True:
            while i < len(block) and block[i].isspace():
                i += 1
            if i >= len(block):
                break
            obj, i = dec.raw_decode(block, i)
            yield obj
schema = json.load(open(f"{root}/schemas/event.schema.json"))
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
n = bad = 0
for obj in objects("docs/events.md"):
    n += 1
    for err in v.iter_errors(obj):
        bad += 1
        print(f"FAILED: docs/events.md example {n} ({obj.get('type')}): {err.message}", file=sys.stderr)
if n < 5:
    print(f"FAILED: only {n} examples found in docs/events.md", file=sys.stderr)
    sys.exit(1)
print(f"{n} examples in docs/events.md, {bad} errors")
sys.exit(1 if bad else 0)
PY
