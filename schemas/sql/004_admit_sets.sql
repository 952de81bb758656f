-- outdial schema, version 4: throughput. Admission by sets (version 2
-- admitted one call per loop turn, a dozen statements each; this admits a
-- whole round in a fixed number of statements over sets of rows, keeping
-- the same rules); settlement that never waits on org rows (org_releases);
-- liveness per dialer instead of a write per live call per heartbeat
-- (dialers); event bodies built without a json round trip.

-- to_char is STABLE: declared IMMUTABLE, od_ts was never inlined, and every
-- timestamp of every event cost a function call.
ALTER FUNCTION od_ts(timestamptz) STABLE;

-- The body of a call's event for its current state (see od_emit): the
-- fields of docs/events.md in a fixed order, absent when unknown, metadata
-- echoed as sent. Plain concatenation in one expression, so PostgreSQL
-- inlines it: building and re-parsing a json object cost 3 to 4 times more,
-- once per event.
CREATE FUNCTION od_event_body(c calls, eid uuid, at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"event_id":"' || eid || '","type":"call.' || c.status
        || '","call_id":"' || c.call_id || '","request_id":' || to_json(c.request_id)
        || ',"org_id":' || to_json(c.org_id)
        || coalesce(',"agent_id":' || to_json(c.agent_id), '')
        || coalesce(',"from_number":' || to_json(c.from_number), '')
        || coalesce(',"to_number":' || to_json(c.to_number), '')
        || ',"status":"' || c.status || '","seq":' || c.seq
        || ',"occurred_at":"' || od_ts(at) || '"'
        || coalesce(',"attempt":' || nullif(c.attempt, 0), '')
        || coalesce(',"error_code":' || to_json(c.error_code), '')
        || coalesce(',"error_message":' || to_json(c.error_message), '')
        || coalesce(',"sip_status":' || c.sip_status, '')
        || coalesce(',"sip_reason":' || to_json(c.sip_reason), '')
        || coalesce(',"hangup_by":' || to_json(c.hangup_by), '')
        || coalesce(',"ringing_at":"' || od_ts(c.ringing_at) || '"', '')
        || coalesce(',"answered_at":"' || od_ts(c.answered_at) || '"', '')
        || coalesce(',"ended_at":"' || od_ts(c.ended_at) || '"', '')
        || coalesce(',"duration_seconds":' || c.duration_seconds, '')
        || coalesce(',"billable_seconds":' || c.billable_seconds, '')
        || coalesce(',"cost_millicents":' || c.cost_millicents, '')
        || coalesce(',"credit_status":' || to_json(c.credit_status), '')
        || CASE WHEN json_typeof(c.request->'metadata') = 'object'
                THEN ',"metadata":' || (c.request->'metadata')::text ELSE '' END
        || '}'
$$;

CREATE OR REPLACE FUNCTION od_emit(c calls) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    eid uuid := gen_random_uuid();
    at timestamptz := clock_timestamp();
BEGIN
    INSERT INTO call_events (call_id, seq, event_id, type, occurred_at, body)
    VALUES (c.call_id, c.seq, eid, 'call.' || c.status, at, od_event_body(c, eid, at)::json);
    INSERT INTO outbox (call_id, seq) VALUES (c.call_id, c.seq);
    PERFORM pg_notify('outdial_outbox', '');
END
$$;

-- The rate for a number: its longest matching prefix, probing the prefix
-- lengths the rate deck has (`lens`, longest first) by index.
-- SETOF, so that PostgreSQL inlines it into the caller's query.
CREATE FUNCTION od_rate_for(p_number text, lens integer[]) RETURNS SETOF rates
LANGUAGE sql STABLE ROWS 1 AS $$
    SELECT * FROM rates
     WHERE prefix = ANY (ARRAY(SELECT left(p_number, l) FROM unnest(lens) l))
     ORDER BY length(prefix) DESC LIMIT 1
$$;

-- Settlement no longer touches the org row. Credit and slots that
-- settlement frees wait here until the next admission round of that org
-- (or the once-a-second fold) adds them to the org under its own lock, so
-- settling a call never waits on admission and admission never passes an
-- org over because a settlement holds it. The ledger gets its release row
-- at settlement; audit counts what is still pending here.
CREATE TABLE org_releases (
    id       bigserial PRIMARY KEY,
    org_id   text NOT NULL,
    amount   bigint NOT NULL, -- credit back to the balance: hold - cost
    hold     bigint NOT NULL  -- the hold no longer held
);
CREATE INDEX org_releases_org ON org_releases (org_id);

-- Each org's credit and slots as of now: its row with the releases not yet
-- folded in. What operators, `outdialctl audit` and tests read.
CREATE VIEW org_credit AS
SELECT o.id, o.balance_millicents + coalesce(p.amount, 0) AS balance_millicents,
       o.held_millicents - coalesce(p.hold, 0) AS held_millicents,
       o.in_flight - coalesce(p.n, 0)::integer AS in_flight
  FROM orgs o
  LEFT JOIN (SELECT org_id, sum(amount) AS amount, sum(hold) AS hold, count(*) AS n
               FROM org_releases GROUP BY org_id) p ON p.org_id = o.id;

-- Folds the pending releases of orgs whose rows the caller has locked.
CREATE FUNCTION od_fold_orgs(p_ids text[]) RETURNS void
LANGUAGE sql AS $$
    WITH freed AS (DELETE FROM org_releases WHERE org_id = ANY (p_ids)
                   RETURNING org_id, amount, hold),
         f AS (SELECT org_id, sum(amount) AS amount, sum(hold) AS hold, count(*) AS n
                 FROM freed GROUP BY org_id)
    UPDATE orgs o SET balance_millicents = o.balance_millicents + f.amount,
                      held_millicents = o.held_millicents - f.hold,
                      in_flight = o.in_flight - f.n
      FROM f WHERE o.id = f.org_id
$$;

-- Folds every org's pending releases, skipping orgs being admitted (their
-- round folds them). Returns how many orgs.
CREATE FUNCTION od_fold_all() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    SELECT array_agg(id) INTO ids FROM (
        SELECT id FROM orgs WHERE id IN (SELECT DISTINCT org_id FROM org_releases)
         ORDER BY id FOR NO KEY UPDATE SKIP LOCKED) x;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM od_fold_orgs(ids);
    RETURN cardinality(ids);
END
$$;

-- A trunk's CPS tokens at `at`: its bucket refilled at cps per second
-- since tokens_at, never above cps (full when never used).
CREATE FUNCTION od_trunk_tokens(t trunks, at timestamptz) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT least(t.cps::float8, coalesce(t.tokens, t.cps)
                 + extract(epoch FROM at - coalesce(t.tokens_at, at)) * t.cps)
$$;

-- A round's candidates (one per call looked at), private to the session.
CREATE FUNCTION od_admit_scratch() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.od_cand') IS NULL THEN
        CREATE TEMP TABLE od_cand (
            call_id   uuid PRIMARY KEY,
            org_id    text NOT NULL,
            org_pos   integer NOT NULL,  -- the org's turn in this round
            queue_seq bigint NOT NULL,
            to_number text NOT NULL,
            trunk_id  text,
            rate      bigint,
            inc       integer,
            hold      bigint,
            problem   text,              -- ends the call instead: a status, or an error code
            verdict   text               -- admit | wait | dup (destination taken in this round)
        ) ON COMMIT DELETE ROWS;
    END IF;
END
$$;

-- Admits queued calls, up to about p_max per round. Orgs take turns, least
-- recently served first, each locked with SKIP LOCKED so that several
-- schedulers admit different orgs at once; each org's turn is an equal
-- share of the round, at most its free slots. Within an org, calls go in
-- intake order (FIFO), skipping those whose destination is busy; the first
-- call that must wait (credit held by the org's other calls, trunk at its
-- limit) holds back the org's later calls. Calls that can never go (no
-- rate, a hold above all the org's credit, number disabled) or expired end
-- here. Returns how many calls were admitted or ended.
CREATE OR REPLACE FUNCTION od_admit(p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    now_ts timestamptz := clock_timestamp();
    at_ts timestamptz;
    org_ids text[];
    lens integer[] := ARRAY(SELECT DISTINCT length(prefix) FROM rates);
    share integer;
    qc calls;
    p record;
    ended integer := 0;
    admitted integer;
BEGIN
    PERFORM od_admit_scratch();
    SELECT array_agg(id ORDER BY last_admitted_at, id) INTO org_ids FROM (
        -- A slot free now, or maybe once its settled releases are folded in;
        -- ready work probed per org at the head of its queue by index (OFFSET
        -- 0 keeps the planner from turning it into a join over the whole
        -- queue, ORDER BY from a scan of the table that stops at the first
        -- match: both take seconds when one org has 100,000 queued).
        SELECT id, last_admitted_at FROM orgs
         WHERE (in_flight < od_org_cap(plan, max_concurrent)
                OR EXISTS (SELECT 1 FROM org_releases r WHERE r.org_id = orgs.id))
           AND EXISTS (SELECT 1 FROM calls q WHERE q.org_id = orgs.id AND q.status = 'queued'
                        AND (q.not_before IS NULL OR q.not_before <= now_ts)
                        AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= now_ts)
                       ORDER BY q.queue_seq OFFSET 0)
         ORDER BY last_admitted_at, id
         LIMIT p_max
         FOR NO KEY UPDATE SKIP LOCKED) x;
    IF org_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM od_fold_orgs(org_ids);
    share := greatest(1, ceil(p_max::numeric / cardinality(org_ids))::integer);

    -- Each org's next calls in FIFO order whose destination is free now.
    INSERT INTO od_cand (call_id, org_id, org_pos, queue_seq, to_number, trunk_id, rate, inc,
                         hold, problem)
    SELECT q.call_id, o.id, g.pos, q.queue_seq, q.to_number, nm.trunk_id,
           r.millicents_per_minute, r.increment_seconds, h.hold,
           CASE WHEN q.expires_at <= now_ts THEN 'expired'
                WHEN r.prefix IS NULL THEN 'NO_RATE'
                WHEN h.hold > o.balance_millicents + o.held_millicents THEN 'INSUFFICIENT_BALANCE'
                WHEN nm.trunk_id IS NULL THEN 'OUTBOUND_DISABLED' END
      FROM unnest(org_ids) WITH ORDINALITY AS g (id, pos)
      JOIN orgs o ON o.id = g.id
     CROSS JOIN LATERAL (
           SELECT * FROM calls q
            WHERE q.org_id = o.id AND q.status = 'queued'
              AND (q.not_before IS NULL OR q.not_before <= now_ts)
              AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= now_ts)
              AND NOT EXISTS (SELECT 1 FROM dest_locks d WHERE d.to_number = q.to_number)
            ORDER BY q.queue_seq
            LIMIT greatest(0, least(share, od_org_cap(o.plan, o.max_concurrent) - o.in_flight))
            FOR UPDATE SKIP LOCKED) q
      LEFT JOIN LATERAL od_rate_for(q.to_number, lens) r ON true
     CROSS JOIN LATERAL (SELECT ceil(ceil(q.max_duration_seconds::numeric / r.increment_seconds)
                                     * r.increment_seconds * r.millicents_per_minute / 60)::bigint
                                AS hold) h
      LEFT JOIN numbers nm ON nm.e164 = q.from_number AND nm.org_id = q.org_id
                          AND nm.outbound_enabled;

    -- Those that can never go end now (rare: one at a time).
    FOR p IN SELECT call_id, problem, hold FROM od_cand WHERE problem IS NOT NULL
              ORDER BY call_id LOOP
        SELECT * INTO qc FROM calls WHERE call_id = p.call_id;
        IF p.problem = 'expired' THEN
            PERFORM od_end_queued(qc, 'expired', NULL, NULL);
        ELSIF p.problem = 'NO_RATE' THEN
            PERFORM od_end_queued(qc, 'rejected', 'NO_RATE',
                                  'no rate is provisioned for ' || qc.to_number);
        ELSIF p.problem = 'INSUFFICIENT_BALANCE' THEN
            PERFORM od_end_queued(qc, 'rejected', 'INSUFFICIENT_BALANCE',
                format('the hold of %s millicents exceeds the org''s credit of %s',
                       p.hold,
                       (SELECT balance_millicents + held_millicents FROM orgs
                         WHERE id = qc.org_id)));
        ELSE
            PERFORM od_end_queued(qc, 'rejected', 'OUTBOUND_DISABLED',
                                  qc.from_number || ' is no longer enabled for outbound calls');
        END IF;
        ended := ended + 1;
    END LOOP;
    DELETE FROM od_cand WHERE problem IS NOT NULL;

    -- One call per destination in the round: the first org's turn, then FIFO.
    UPDATE od_cand x SET verdict = 'dup' FROM (
        SELECT call_id, row_number() OVER (PARTITION BY to_number ORDER BY org_pos, queue_seq) AS rank
          FROM od_cand) d
     WHERE d.call_id = x.call_id AND d.rank > 1;

    -- Credit: the org's calls in FIFO order while their holds fit.
    UPDATE od_cand x SET verdict = 'wait' FROM (
        SELECT k.call_id, sum(k.hold) OVER (PARTITION BY k.org_id ORDER BY k.queue_seq) AS total,
               o.balance_millicents
          FROM od_cand k JOIN orgs o ON o.id = k.org_id WHERE k.verdict IS NULL) s
     WHERE s.call_id = x.call_id AND s.total > s.balance_millicents;

    -- Trunks, locked in id order, with the slots settlement has freed
    -- folded in: a slot and a CPS token per call, orgs served in turn.
    PERFORM 1 FROM trunks WHERE id IN (SELECT trunk_id FROM od_cand WHERE verdict IS NULL)
     ORDER BY id FOR UPDATE;
    WITH freed AS (DELETE FROM trunk_releases
                    WHERE trunk_id IN (SELECT trunk_id FROM od_cand WHERE verdict IS NULL)
                   RETURNING trunk_id),
         f AS (SELECT trunk_id, count(*) AS n FROM freed GROUP BY trunk_id)
    UPDATE trunks t SET in_flight = t.in_flight - f.n FROM f WHERE t.id = f.trunk_id;
    UPDATE od_cand x SET verdict = 'wait' FROM (
        SELECT k.call_id, row_number() OVER (PARTITION BY k.trunk_id
                                             ORDER BY k.org_pos, k.queue_seq) AS rank,
               least(t.max_concurrent - t.in_flight, floor(od_trunk_tokens(t, now_ts))) AS room
          FROM od_cand k JOIN trunks t ON t.id = k.trunk_id WHERE k.verdict IS NULL) s
     WHERE s.call_id = x.call_id AND s.rank > s.room;

    -- A call that waits holds back its org's later calls (FIFO).
    UPDATE od_cand x SET verdict = 'wait' FROM (
        SELECT org_id, min(queue_seq) AS first FROM od_cand WHERE verdict = 'wait' GROUP BY org_id) w
     WHERE x.org_id = w.org_id AND x.verdict IS NULL AND x.queue_seq > w.first;

    -- Destination locks; one taken meanwhile by another scheduler: it waits.
    WITH locked AS (
        INSERT INTO dest_locks (to_number, call_id)
        SELECT to_number, call_id FROM od_cand WHERE verdict IS NULL ORDER BY to_number
        ON CONFLICT (to_number) DO NOTHING
        RETURNING call_id)
    UPDATE od_cand x SET verdict = 'admit' FROM locked WHERE locked.call_id = x.call_id;
    GET DIAGNOSTICS admitted = ROW_COUNT;
    IF admitted = 0 THEN
        RETURN ended;
    END IF;
    -- Later than every settlement this round saw (audit orders by time).
    at_ts := clock_timestamp();

    UPDATE trunks t SET in_flight = t.in_flight + a.n,
           tokens = od_trunk_tokens(t, now_ts) - a.n,
           tokens_at = now_ts
      FROM (SELECT trunk_id, count(*) AS n FROM od_cand WHERE verdict = 'admit'
             GROUP BY trunk_id) a
     WHERE t.id = a.trunk_id;
    UPDATE orgs o SET balance_millicents = o.balance_millicents - a.held,
                      held_millicents = o.held_millicents + a.held,
                      in_flight = o.in_flight + a.n,
                      last_admitted_at = at_ts
      FROM (SELECT org_id, sum(hold) AS held, count(*) AS n FROM od_cand WHERE verdict = 'admit'
             GROUP BY org_id) a
     WHERE o.id = a.org_id;
    INSERT INTO ledger (org_id, call_id, kind, amount_millicents)
    SELECT org_id, call_id, 'hold', -hold FROM od_cand WHERE verdict = 'admit'
     ORDER BY org_pos, queue_seq;

    UPDATE calls SET status = 'initiated', seq = seq + 1, attempt = attempt + 1,
                     trunk_id = k.trunk_id, rate_millicents_per_minute = k.rate,
                     increment_seconds = k.inc, hold_millicents = k.hold,
                     credit_status = 'reserved', admitted_at = at_ts,
                     heartbeat_at = at_ts, updated_at = at_ts,
                     -- a new attempt: nothing of the last one carries over
                     error_code = NULL, error_message = NULL, sip_status = NULL,
                     sip_reason = NULL, hangup_by = NULL, ringing_at = NULL,
                     answered_at = NULL, ended_at = NULL, duration_seconds = NULL,
                     billable_seconds = NULL, cost_millicents = NULL, dialer_id = NULL
      FROM od_cand k
     WHERE k.verdict = 'admit' AND calls.call_id = k.call_id;

    -- The call.initiated events, then the dial work, in the round's order.
    WITH e AS (
        INSERT INTO call_events (call_id, seq, event_id, type, occurred_at, body)
        SELECT x.call_id, x.seq, x.eid, 'call.initiated', at_ts,
               od_event_body(x.cl, x.eid, at_ts)::json
          FROM (SELECT cl, cl.call_id, cl.seq, k.org_pos, k.queue_seq,
                       gen_random_uuid() AS eid -- one per row: not in a LATERAL
                  FROM od_cand k JOIN calls cl USING (call_id)
                 WHERE k.verdict = 'admit') x
         ORDER BY x.org_pos, x.queue_seq
        RETURNING call_id, seq)
    INSERT INTO outbox (call_id, seq) SELECT call_id, seq FROM e;
    INSERT INTO outbox (kind, call_id, seq, payload)
    SELECT 'dial', cl.call_id, cl.seq, json_strip_nulls(json_build_object(
        'type', 'dial', 'call_id', cl.call_id, 'attempt', cl.attempt,
        'org_id', cl.org_id, 'request_id', cl.request_id,
        'from_number', cl.from_number, 'to_number', cl.to_number,
        'agent_id', cl.agent_id, 'agent_sip_uri', a.sip_uri,
        'trunk', json_build_object('id', t.id, 'proxy', t.proxy, 'username', t.username,
                                   'password', t.password, 'cps', t.cps),
        'ringing_timeout_seconds', cl.ringing_timeout_seconds,
        'max_duration_seconds', cl.max_duration_seconds,
        'admitted_at', od_ts(at_ts),
        'context', cl.request->'context', 'instructions', cl.request->'instructions',
        'metadata', cl.request->'metadata'))
      FROM od_cand k JOIN calls cl USING (call_id)
      JOIN agents a ON a.org_id = cl.org_id AND a.id = cl.agent_id
      JOIN trunks t ON t.id = k.trunk_id
     WHERE k.verdict = 'admit'
     ORDER BY k.org_pos, k.queue_seq;
    PERFORM pg_notify('outdial_outbox', '');
    RETURN admitted + ended;
END
$$;

-- Ends a call that holds resources, as in version 2, with two changes:
-- credit and the org slot go back through org_releases, and the call's
-- row is written once, with what the caller changed in `c` (report fields,
-- ended_at, next_attempt_at) and the settlement.
CREATE OR REPLACE FUNCTION od_finish(c calls, p_status text, p_error_code text,
                                     p_error_message text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    dur integer := 0;
    billable integer := 0;
    cost bigint := 0;
BEGIN
    c.ended_at := coalesce(c.ended_at, clock_timestamp());
    IF c.answered_at IS NOT NULL THEN
        dur := greatest(0, ceil(extract(epoch FROM c.ended_at - c.answered_at)))::integer;
        billable := (ceil(dur::numeric / c.increment_seconds) * c.increment_seconds)::integer;
        cost := least(c.hold_millicents, ceil(billable::numeric * c.rate_millicents_per_minute / 60));
    END IF;
    INSERT INTO org_releases (org_id, amount, hold)
    VALUES (c.org_id, c.hold_millicents - cost, c.hold_millicents); -- folded in by admission
    INSERT INTO ledger (org_id, call_id, kind, amount_millicents)
    VALUES (c.org_id, c.call_id, 'release', c.hold_millicents - cost);
    DELETE FROM dest_locks WHERE to_number = c.to_number AND call_id = c.call_id;
    INSERT INTO trunk_releases (trunk_id) VALUES (c.trunk_id); -- folded in by admission
    PERFORM pg_notify('outdial_queue', ''); -- credit, a slot and a destination are free
    UPDATE calls SET status = p_status, seq = seq + 1, updated_at = clock_timestamp(),
                     error_code = coalesce(p_error_code, c.error_code),
                     error_message = coalesce(p_error_message, c.error_message),
                     sip_status = c.sip_status, sip_reason = c.sip_reason,
                     hangup_by = c.hangup_by, ringing_at = c.ringing_at,
                     answered_at = c.answered_at, ended_at = c.ended_at,
                     heartbeat_at = c.heartbeat_at, dialer_id = c.dialer_id,
                     next_attempt_at = c.next_attempt_at,
                     duration_seconds = CASE WHEN c.answered_at IS NULL THEN NULL ELSE dur END,
                     billable_seconds = billable, cost_millicents = cost,
                     credit_status = CASE WHEN cost > 0 THEN 'settled' ELSE 'released' END
     WHERE call_id = c.call_id
    RETURNING * INTO c;
    PERFORM od_emit(c);
END
$$;

-- A dialer's report, as in version 2, writing the call's row once (version
-- 2 wrote it two to four times per report: every version of a row is a
-- dead tuple and an entry in each index to clean up).
CREATE OR REPLACE FUNCTION od_report(rep json) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    kind text := rep->>'type';
    new_status text;
    outcome text;
BEGIN
    SELECT * INTO c FROM calls WHERE call_id = (rep->>'call_id')::uuid FOR UPDATE;
    IF NOT FOUND OR c.attempt <> (rep->>'attempt')::integer
       OR od_status_rank(c.status) = 5 OR od_status_rank(c.status) = 0 THEN
        RETURN false;
    END IF;
    c.heartbeat_at := clock_timestamp();
    c.dialer_id := coalesce(rep->>'dialer_id', c.dialer_id);
    IF kind = 'ended' THEN
        c.sip_status := coalesce((rep->>'sip_status')::integer, c.sip_status);
        c.sip_reason := coalesce(rep->>'sip_reason', c.sip_reason);
        c.hangup_by := rep->>'hangup_by';
        c.ringing_at := coalesce(c.ringing_at, (rep->>'ringing_at')::timestamptz);
        c.answered_at := coalesce(c.answered_at, (rep->>'answered_at')::timestamptz);
        c.ended_at := coalesce((rep->>'ended_at')::timestamptz, clock_timestamp());
        outcome := CASE WHEN rep->>'outcome' IN ('completed', 'no_answer', 'busy', 'failed',
                                                  'canceled')
                        THEN rep->>'outcome' ELSE 'failed' END;
        -- A retry: only after busy or no answer (never after a decline, an
        -- answer or a carrier's refusal), if the request asked for it and
        -- attempts remain. This attempt settles; the call queues again.
        IF outcome IN ('busy', 'no_answer') AND NOT c.cancel_requested
           AND json_typeof(c.request->'retry') = 'object'
           AND c.attempt < coalesce((c.request->'retry'->>'max_attempts')::integer, 1)
           AND outcome = ANY (coalesce((SELECT array_agg(x) FROM json_array_elements_text(
                                            c.request->'retry'->'on') x),
                                       ARRAY['no_answer', 'busy'])) THEN
            c.next_attempt_at := clock_timestamp() + make_interval(
                secs => coalesce((c.request->'retry'->>'delay_seconds')::integer, 300));
            PERFORM od_finish(c, 'queued', upper(outcome),
                              format('attempt %s ended %s; another attempt follows', c.attempt, outcome));
            RETURN true;
        END IF;
        PERFORM od_finish(c, outcome, rep->>'error_code', rep->>'error_message');
        RETURN true;
    END IF;
    new_status := CASE kind WHEN 'ringing' THEN 'ringing' WHEN 'answered' THEN 'answered'
                        WHEN 'bridged' THEN 'in_progress' END;
    IF new_status IS NULL OR od_status_rank(new_status) <= od_status_rank(c.status) THEN
        -- nothing new, but a sign of life
        UPDATE calls SET heartbeat_at = c.heartbeat_at, dialer_id = c.dialer_id
         WHERE call_id = c.call_id;
        RETURN false;
    END IF;
    UPDATE calls SET status = new_status, seq = seq + 1, updated_at = clock_timestamp(),
                     heartbeat_at = c.heartbeat_at, dialer_id = c.dialer_id,
                     sip_status = coalesce((rep->>'sip_status')::integer, sip_status),
                     sip_reason = coalesce(rep->>'sip_reason', sip_reason),
                     ringing_at = CASE WHEN kind = 'ringing'
                                       THEN coalesce((rep->>'at')::timestamptz, clock_timestamp())
                                       ELSE ringing_at END,
                     answered_at = CASE WHEN kind IN ('answered', 'bridged') AND answered_at IS NULL
                                        THEN coalesce((rep->>'answered_at')::timestamptz,
                                                      (rep->>'at')::timestamptz, clock_timestamp())
                                        ELSE answered_at END
     WHERE call_id = c.call_id
    RETURNING * INTO c;
    PERFORM od_emit(c);
    RETURN true;
END
$$;

-- Queue tables: rows are rewritten or deleted within seconds, so vacuum
-- runs at a small share of dead rows instead of the default 20%.
ALTER TABLE calls SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,
                       autovacuum_vacuum_cost_delay = 0);
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE org_releases SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE trunk_releases SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE dest_locks SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);

-- Liveness per dialer, not per call. Version 2 refreshed every live call's
-- row on each heartbeat: O(live calls) writes a second, which sank the
-- reports pipeline as soon as calls piled up. Now any message from a dialer
-- refreshes its one row here; a heartbeat only claims the calls it lists
-- that are not yet marked as its own. A call is alive while its own last
-- report or its dialer's last message is recent (see od_reap).
CREATE TABLE dialers (
    dialer_id    text PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL
);
DROP INDEX calls_live;
CREATE INDEX outbox_dial_call ON outbox (call_id) WHERE kind = 'dial';
CREATE INDEX calls_live ON calls (dialer_id, heartbeat_at)
    WHERE status IN ('initiated', 'ringing', 'answered', 'in_progress');

CREATE OR REPLACE FUNCTION od_heartbeat(rep json) RETURNS integer
LANGUAGE sql AS $$
    WITH live AS (SELECT (x->>'call_id')::uuid AS call_id, (x->>'attempt')::integer AS attempt
                  FROM json_array_elements(rep->'calls') x),
    u AS (UPDATE calls c SET dialer_id = rep->>'dialer_id'
          FROM live WHERE c.call_id = live.call_id AND c.attempt = live.attempt
            AND c.status IN ('initiated', 'ringing', 'answered', 'in_progress')
            AND c.dialer_id IS DISTINCT FROM rep->>'dialer_id'
          RETURNING 1)
    SELECT count(*)::integer FROM u
$$;

-- One message from a dialer: a heartbeat, or a report (true if it changed
-- the call).
CREATE FUNCTION od_dialer_message(rep json) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF rep->>'type' = 'heartbeat' THEN
        PERFORM od_heartbeat(rep);
        RETURN false;
    END IF;
    RETURN od_report(rep);
END
$$;

-- Reports: as in version 2, without locking org rows (see org_releases).
-- Each report is applied in a subtransaction only if the batch as a whole
-- fails: one malformed report is then skipped with its reason.
CREATE OR REPLACE FUNCTION od_reports(reps json[], OUT applied integer, OUT skipped text[])
LANGUAGE plpgsql AS $$
DECLARE
    rep json;
    failed boolean := false;
BEGIN
    applied := 0;
    skipped := '{}';
    -- The batch's calls in id order before anything else, so that two
    -- batches never deadlock; admission takes call rows with SKIP LOCKED.
    PERFORM 1 FROM calls WHERE call_id IN (
        SELECT (r->>'call_id')::uuid FROM unnest(reps) r
         WHERE r->>'call_id' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$')
     ORDER BY call_id FOR UPDATE;
    BEGIN
        FOREACH rep IN ARRAY reps LOOP
            IF od_dialer_message(rep) THEN
                applied := applied + 1;
            END IF;
        END LOOP;
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            RAISE; -- not the reports' fault: the whole batch is tried again
        WHEN OTHERS THEN
            failed := true; -- undone: one at a time below
    END;
    IF failed THEN
        applied := 0;
        FOREACH rep IN ARRAY reps LOOP
            BEGIN
                IF od_dialer_message(rep) THEN
                    applied := applied + 1;
                END IF;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    RAISE;
                WHEN OTHERS THEN
                    skipped := skipped || (SQLERRM || ': ' || left(rep::text, 200));
            END;
        END LOOP;
    END IF;
    -- Every message proves its dialer alive. Last, so that a dialer's row
    -- is never held while waiting for a call row (no deadlock).
    INSERT INTO dialers (dialer_id, heartbeat_at)
    SELECT id, clock_timestamp() FROM (SELECT DISTINCT r->>'dialer_id' AS id FROM unnest(reps) r
                                        WHERE r->>'dialer_id' IS NOT NULL) x ORDER BY id
    ON CONFLICT (dialer_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at;
END
$$;

-- Calls whose dialer went silent end failed with DIALER_LOST, freeing
-- their hold, lock and slot; an answered call is billed up to the last
-- sign of life. Silent means: neither the call's own last report nor its
-- dialer's last message within p_silence before the time up to which
-- every report has been read (od_reports_through). A call no dialer has
-- claimed yet is silent from its admission.
CREATE OR REPLACE FUNCTION od_reap(p_topic text, p_silence interval, p_max integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    ids uuid[];
    cutoff timestamptz := least(od_reports_through(p_topic), clock_timestamp()) - p_silence;
    last_seen timestamptz;
    n integer := 0;
BEGIN
    IF cutoff IS NULL THEN
        RETURN 0; -- reports may be waiting unread: do not guess
    END IF;
    DELETE FROM dialers WHERE heartbeat_at < clock_timestamp() - interval '1 day';
    SELECT array_agg(call_id) INTO ids FROM (
        (SELECT l.call_id FROM calls l
          WHERE l.dialer_id IS NULL AND l.heartbeat_at < cutoff
            AND l.status IN ('initiated', 'ringing', 'answered', 'in_progress')
          LIMIT p_max)
        UNION ALL
        (SELECT l.call_id FROM dialers d JOIN calls l ON l.dialer_id = d.dialer_id
          WHERE d.heartbeat_at < cutoff AND l.heartbeat_at < cutoff
            AND l.status IN ('initiated', 'ringing', 'answered', 'in_progress')
          LIMIT p_max)) x;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    FOR c IN SELECT * FROM calls l
              WHERE l.call_id = ANY (ids)
                AND l.status IN ('initiated', 'ringing', 'answered', 'in_progress')
                -- dial work still in the outbox has reached no dialer yet
                AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'dial'
                                   AND o.call_id = l.call_id)
              ORDER BY l.heartbeat_at FOR UPDATE SKIP LOCKED LOOP
        last_seen := greatest(c.heartbeat_at, (SELECT d.heartbeat_at FROM dialers d
                                                WHERE d.dialer_id = c.dialer_id));
        CONTINUE WHEN last_seen >= cutoff;
        c.ended_at := last_seen;
        PERFORM od_finish(c, 'failed', 'DIALER_LOST',
                          'no word from the dialer since ' || od_ts(last_seen));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
