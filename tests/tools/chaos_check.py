#!/usr/bin/env python3
"""The checks of scripts/chaos, from the outside: what kcat read from
calls.requests and calls.events, the carrier's own SIPp message log, and
what SQL says of calls and the ledger. Prints the summary table; exits 1
if any invariant was violated. Reads everything from the run directory
scripts/chaos fills (see there)."""
import argparse
import collections
import datetime
import glob
import json
import os
import re
import sys

TERMINAL = {"completed", "no_answer", "busy", "failed", "canceled", "rejected", "expired"}
# the end of an attempt: a terminal event, or queued again for a retry
ENDS = {"call.completed", "call.no_answer", "call.busy", "call.failed", "call.canceled", "call.queued"}
LIVE = {"queued", "initiated", "ringing", "answered", "in_progress"}
PLAN_CAP = {"free": 1, "pro": 10, "business": 50, "enterprise": None}  # docs/admission.md


def lines(path):
    return open(path, encoding="utf-8", errors="replace") if os.path.exists(path) else []


def jsonl(path):
    out, bad = [], 0
    for line in lines(path):
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            bad += 1
    return out, bad


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def carrier_invites(run):
    """Initial INVITEs the carrier received (no To tag), from every one of
    its message logs: {number: {call-id: set of CSeq numbers}}."""
    seen = collections.defaultdict(lambda: collections.defaultdict(set))
    sep = re.compile(r"^-{47} ", re.M)
    for path in sorted(glob.glob(os.path.join(run, "carrier.*.msg"))):
        with open(path, encoding="latin-1") as f:
            text = f.read()
        for block in sep.split(text):
            if "message received" not in block[:200]:
                continue
            m = re.search(r"^INVITE sip:([^@;>\s]+)@", block, re.M)
            if not m:
                continue
            to = re.search(r"^(?:To|t):[^\r\n]*", block, re.M | re.I)
            if to and ";tag=" in to.group(0):
                continue  # a re-INVITE within a dialog
            cid = re.search(r"^(?:Call-ID|i):\s*(\S+)", block, re.M | re.I)
            cseq = re.search(r"^CSeq:\s*(\d+)\s+INVITE", block, re.M | re.I)
            if cid and cseq:
                seen[m.group(1)][cid.group(1)].add(int(cseq.group(1)))
    return seen


def sweep(intervals, key_of):
    """Most intervals open at once per key: +1 at a start, -1 at an end,
    ends first at equal times (as `outdialctl audit` counts)."""
    pts = collections.defaultdict(list)
    for call, start, end, meta in intervals:
        k = key_of(meta)
        pts[k].append((start, 1, call))
        if end is not None:
            pts[k].append((end, -1, call))
    peak = {}
    for k, p in pts.items():
        p.sort(key=lambda x: (x[0], x[1], x[2]))
        live = top = 0
        for _, d, _ in p:
            live += d
            top = max(top, live)
        peak[k] = top
    return peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--generated", type=int, required=True)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--duration", type=int, default=0)
    ap.add_argument("--load-seconds", type=int, default=0)
    ap.add_argument("--settle-seconds", type=int, default=0)
    ap.add_argument("--submit-rc", type=int, default=0)
    ap.add_argument("--audit-rc", type=int, default=0)
    a = ap.parse_args()
    run = a.run
    inv = []  # (name, violations, sample)

    def check(name, bad, sample=""):
        inv.append((name, len(bad) if isinstance(bad, (list, set, dict)) else bad, sample or (
            "; ".join(str(x) for x in list(bad)[:3]) if isinstance(bad, (list, set, dict)) else "")))

    prov = json.load(open(os.path.join(run, "provisioning.json")))
    orgs = {o["id"]: o for o in prov["orgs"]}

    # --- requests, as kcat read them from calls.requests
    reqs, _ = jsonl(os.path.join(run, "requests.topic"))
    requests = {(r.get("org_id"), r.get("request_id")) for r in reqs}
    check("every generated request reached calls.requests",
          max(0, a.generated - len(requests)),
          "outdialctl submit exit %d" % a.submit_rc if a.generated > len(requests) else "")

    # --- call rows (SQL)
    rows = collections.defaultdict(list)
    for line in lines(os.path.join(run, "calls.tsv")):
        org, rid, call_id, status, attempt, to = line.rstrip("\n").split("\t")
        rows[(org, rid)].append({"call_id": call_id, "status": status, "attempt": int(attempt),
                                 "to": to if to != "\\N" else None})
    bad = [k for k in requests if len(rows.get(k, [])) != 1]
    bad += [k for k in rows if k not in requests]
    check("every request has exactly one call row", bad)
    call_row = {r["call_id"]: r for v in rows.values() for r in v}

    # --- events, as kcat read them from calls.events, deduplicated by event_id
    evs, unparsable = jsonl(os.path.join(run, "events.topic"))
    by_id = {}
    for e in evs:
        by_id.setdefault(e.get("event_id"), e)
    per_call = collections.defaultdict(list)
    for e in by_id.values():
        per_call[e.get("call_id")].append(e)
    for v in per_call.values():
        v.sort(key=lambda e: e.get("seq", 0))
    ids_per_req = collections.defaultdict(set)
    for cid, v in per_call.items():
        for e in v:
            if e.get("org_id") is not None and e.get("request_id") is not None:
                ids_per_req[(e["org_id"], e["request_id"])].add(cid)
    check("every request has exactly one call id in the events",
          [k for k in requests if len(ids_per_req.get(k, ())) != 1] +
          [k for k in ids_per_req if k not in requests])

    bad_seq, bad_term = [], []
    for cid, v in per_call.items():
        seqs = [e.get("seq") for e in v]
        if seqs != list(range(1, len(v) + 1)):
            bad_seq.append("%s seqs %s" % (cid, seqs[:12]))
        terms = [e for e in v if e.get("status") in TERMINAL]
        row = call_row.get(cid)
        if len(terms) != 1 or v[-1] is not terms[0] or not row or row["status"] != terms[0]["status"]:
            bad_term.append("%s %s row=%s" % (cid, [e.get("type") for e in v][-4:],
                                              row and row["status"]))
    for cid in call_row:
        if cid not in per_call:
            bad_term.append("%s: no event on the topic" % cid)
    check("every call ends with exactly one terminal event, its row's status", bad_term)
    check("each call's events run seq 1..n, no gap, no double (by event_id)", bad_seq)
    if unparsable:
        check("every message on calls.events is JSON", unparsable)

    # --- attempts and INVITEs at the carrier
    initiated = {cid: sum(1 for e in v if e.get("type") == "call.initiated") for cid, v in per_call.items()}
    attempts_to = collections.Counter()
    for cid, n in initiated.items():
        row = call_row.get(cid)
        if row and row["to"]:
            attempts_to[row["to"]] += n
    bad_att = [cid for cid, n in initiated.items() if cid in call_row and call_row[cid]["attempt"] != n]
    check("attempts in the events equal the rows' attempt counts", bad_att)
    invites = carrier_invites(run)
    bad_inv = []
    dialogs = transactions = 0
    for num, calls in invites.items():
        dialogs += len(calls)
        if len(calls) > attempts_to.get(num, 0):
            bad_inv.append("%s: %d INVITE dialogs for %d attempts" % (num, len(calls), attempts_to.get(num, 0)))
        allowed = 2 if num[-2:] in ("05", "06") else 1  # one more after a 407
        for callid, cseqs in calls.items():
            transactions += len(cseqs)
            if len(cseqs) > allowed:
                bad_inv.append("%s Call-ID %s: %d INVITE transactions" % (num, callid, len(cseqs)))
    check("no attempt got a second INVITE (carrier's log)", bad_inv)

    # --- caps and destination locks, replayed from the events' times
    intervals = []
    for cid, v in per_call.items():
        start = None
        for e in v:
            if e.get("type") == "call.initiated":
                start = ts(e["occurred_at"])
            elif e.get("type") in ENDS and start is not None:
                intervals.append((cid, start, ts(e["occurred_at"]), e))
                start = None
        if start is not None:
            intervals.append((cid, start, None, v[-1]))
    org_peak = sweep(intervals, lambda e: e.get("org_id"))
    bad_cap = []
    for org, peak in org_peak.items():
        o = orgs.get(org, {})
        cap = o.get("max_concurrent", PLAN_CAP.get(o.get("plan")))
        if cap is not None and peak > cap:
            bad_cap.append("%s reached %d (cap %d)" % (org, peak, cap))
    check("no org ever had more calls in flight than its cap", bad_cap)
    dest_peak = sweep(intervals, lambda e: e.get("to_number"))
    check("never two calls in flight to one number", ["%s had %d" % (k, p) for k, p in dest_peak.items() if p > 1])

    # --- credit: the ledger (SQL) against the grants and the events' costs
    run_bal = collections.Counter()
    low = {}
    grants = collections.Counter()
    for line in lines(os.path.join(run, "ledger.tsv")):
        org, kind, amount = line.rstrip("\n").split("\t")
        run_bal[org] += int(amount)
        low[org] = min(low.get(org, 0), run_bal[org])
        if kind == "grant":
            grants[org] += int(amount)
    cost = collections.Counter()
    for v in per_call.values():
        for e in v:
            if e.get("status") in TERMINAL and e.get("cost_millicents"):
                cost[e["org_id"]] += int(e["cost_millicents"])
    live_holds = collections.Counter()  # of calls not ended (reported apart)
    for line in lines(os.path.join(run, "live_holds.tsv")):
        org, held = line.rstrip("\n").split("\t")
        live_holds[org] = int(held)
    bad_credit = ["%s fell to %d" % (o, m) for o, m in low.items() if m < 0]
    for o, spec in orgs.items():
        g = int(spec.get("balance_millicents", 0))
        if grants[o] != g:
            bad_credit.append("%s granted %d, provisioned %d" % (o, grants[o], g))
        if cost[o] > g:
            bad_credit.append("%s spent %d of %d" % (o, cost[o], g))
        if run_bal[o] != g - cost[o] - live_holds[o]:
            bad_credit.append("%s ledger %d, grant less costs (and holds of live calls) %d" % (
                o, run_bal[o], g - cost[o] - live_holds[o]))
    check("no org overdrawn; ledger = grant - costs the events report", bad_credit)

    # --- outdialctl audit --final
    audit = "".join(lines(os.path.join(run, "audit.out")))
    fails = [l.strip() for l in audit.splitlines() if not l.startswith("ok")]
    check("outdialctl audit --final", a.audit_rc != 0 and max(1, len(fails)) or 0, "; ".join(fails[:2]))

    # --- the table
    statuses = collections.Counter(r["status"] for v in rows.values() for r in v)
    codes = collections.Counter()
    for cid, v in per_call.items():
        t = v[-1]
        if t.get("status") in ("failed", "rejected") and t.get("error_code"):
            codes["%s %s" % (t["status"], t["error_code"])] += 1
    faults = [l.rstrip("\n") for l in open(os.path.join(run, "faults.txt")) if l.strip()]
    n_faults = sum(1 for l in faults if not l.split("s", 1)[-1].startswith("    "))
    terminal = sum(1 for v in rows.values() for r in v if r["status"] in TERMINAL)
    retried = sum(1 for r in call_row.values() if r["attempt"] > 1)

    print("chaos: %d requests offered at %d/s for %d s (the load took %d s; then %d s to settle)" % (
        a.generated, a.rate, a.duration, a.load_seconds, a.settle_seconds))
    print()
    print("| faults injected (%d), seconds into the load | |" % n_faults)
    print("|---|---|")
    for l in faults:
        t, what = l.split("s", 1)
        print("| %s | %s |" % (t.strip() + " s", what.strip()))
    print()
    print("| | count |")
    print("|---|---|")
    for k, v in [("requests generated", a.generated), ("requests on calls.requests", len(requests)),
                 ("call rows", sum(len(v) for v in rows.values())), ("terminal", terminal),
                 ("events on calls.events (distinct; read %d)" % len(evs), len(by_id)),
                 ("attempts (call.initiated)", sum(initiated.values())),
                 ("calls retried (attempt 2)", retried),
                 ("INVITE dialogs at the carrier / transactions", "%d / %d" % (dialogs, transactions))]:
        print("| %s | %s |" % (k, v))
    for s, n in sorted(statuses.items(), key=lambda x: -x[1]):
        print("| status %s | %d |" % (s, n))
    for c, n in sorted(codes.items(), key=lambda x: -x[1]):
        print("| %s | %d |" % (c, n))
    peaks = ", ".join("%s %d%s" % (o, org_peak.get(o, 0),
                                   "/%d" % orgs[o].get("max_concurrent", PLAN_CAP[orgs[o]["plan"]])
                                   if PLAN_CAP.get(orgs[o]["plan"]) is not None else "")
                      for o in orgs)
    print("| most calls in flight per org (/cap) | %s |" % peaks)
    print("| most calls in flight to one number | %d |" % max(dest_peak.values() or [0]))
    print()
    print("| invariant | | violations |")
    print("|---|---|---|")
    violated = 0
    for name, n, sample in inv:
        print("| %s | %s | %d%s |" % (name, "held" if n == 0 else "**VIOLATED**", n,
                                      (": " + sample[:300]) if n and sample else ""))
        violated += n > 0
    print()
    print("chaos: %s" % ("every invariant held" if not violated else "%d invariant(s) violated" % violated))
    return 1 if violated else 0


if __name__ == "__main__":
    sys.exit(main())
