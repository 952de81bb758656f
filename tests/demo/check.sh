# tests/demo/check.sh FILE: checks the output of scripts/demo (run by
# scripts/test): every request ended as the campaign intends, the events
# streamed, webhooks were delivered and their signatures verified, the stats
# add up, the call placed through the HTTP API was accepted (202 with its
# call_id) and GET /v1/calls/{id} shows it completed, and it all took under
# 60 s.
set -euo pipefail
out=$(sed 's/\x1b\[[0-9;]*m//g' "$1")
fail=0
has() { # has LABEL EXTENDED-REGEX
  if grep -Eq -- "$2" <<<"$out"; then echo "ok: $1"; else echo "FAILED: $1 (no line matching /$2/)" >&2; fail=1; fi
}
row() { # row REQUEST_ID STATUS ATTEMPT SIP ERROR: a line of "how each request ended"
  has "$1 ended $2 ${5:-}" "^ $1 +\\| [a-z]+ +\\| [^|]+\\| $2 +\\| +$3 \\| +$4 \\| ${5:-} +\\|"
}
row demo-001 completed 1 200
row demo-002 completed 1 200
row demo-003 busy 2 486
row demo-004 no_answer 1 487
row demo-005 failed 1 603 DECLINED
row demo-006 failed 1 480 CARRIER_REJECTED
row demo-007 rejected 0 "" INVALID_PHONE_NUMBER
row demo-008 rejected 0 "" INSUFFICIENT_BALANCE
row demo-009 completed 1 200
row demo-010 rejected 0 "" ORG_NOT_FOUND
row demo-api-1 completed 1 200
api_call=$(grep -Eo '^\{"call_id":"[0-9a-f-]{36}","request_id":"demo-api-1","status":"queued"\}' <<<"$out" | cut -d'"' -f4 || true)
has "POST /v1/calls answered with a call_id" '^\{"call_id":"[0-9a-f-]{36}","request_id":"demo-api-1","status":"queued"\}$'
has "... 202" "^HTTP 202$"
get=$(grep -F "\"call_id\":\"${api_call:-none}\"" <<<"$out" | grep -F '"status":"completed"' | grep -F '"webhook_status":"delivered"' || true)
if [ -n "$api_call" ] && [ -n "$get" ]; then echo "ok: GET /v1/calls/{id} shows that call completed"
else echo "FAILED: GET /v1/calls/{id}: no answer with call_id ${api_call:-?}, completed, webhooks delivered" >&2; fail=1; fi
has "... answered 200" "^HTTP 200$"
has "events streamed live (watch)" "^[0-9:.]+ +[0-9a-f-]{36} +acme +\\+14155551000 +completed +6 "
has "acme's webhooks all delivered" "^ demo-001 +\\| delivered +\\| +6 \\| +6 \\|"
n=$(grep -Eo 'The receiver got [0-9]+ POSTs; [0-9]+ had a valid' <<<"$out" | grep -Eo '[0-9]+' | tr '\n' ' ')
read -r got valid <<<"$n"
if [ -n "${got:-}" ] && [ "$got" -ge 28 ] && [ "$got" = "$valid" ]; then echo "ok: $got webhooks received, all signed"
else echo "FAILED: webhook receiver: '$n'" >&2; fail=1; fi
has "stats: acme" "^acme +8 +0 +7 +3 +42\\.9% +[0-9.]+ s +18 +360 34/0/0$"
has "stats: tinyco (free plan)" "^tinyco +2 +0 +1 +1 +100\\.0% "
has "stats: overall" "^\\(all\\) +11 +0 +8 +4 +50\\.0% "
has "stats: errors" "^tinyco +INSUFFICIENT_BALANCE +1$"
has "stats: timeline" "^[0-9-]{10}T[0-9:]{5}Z +[0-9]+ +[0-9]+ +[0-9]+ "
has "show: the call's webhooks" "^webhooks +delivered, 6 of 6 events delivered$"
has "what to try next" "outdialctl stats --json"
secs=$(grep -Eo 'Done in [0-9]+ s' <<<"$out" | grep -Eo '[0-9]+' || echo 999)
if [ "$secs" -lt 60 ]; then echo "ok: the demo took $secs s"; else echo "FAILED: the demo took $secs s (want < 60)" >&2; fail=1; fi
exit $fail
