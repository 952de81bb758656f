-- outdial schema, version 2: admission (credit holds, destination locks,
-- org caps, trunk limits, fair FIFO), dial work, dialer reports,
-- settlement, cancel and expiry. Every rule is kept by guarded single-row
-- UPDATEs and a unique key, so several schedulers may admit at once.

ALTER TABLE orgs
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    ADD COLUMN held_millicents bigint NOT NULL DEFAULT 0 CHECK (held_millicents >= 0),
    ADD COLUMN last_admitted_at timestamptz NOT NULL DEFAULT '-infinity';

ALTER TABLE trunks
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    ADD COLUMN tokens double precision,      -- CPS bucket; NULL: full
    ADD COLUMN tokens_at timestamptz;

ALTER TABLE calls
    ADD COLUMN trunk_id text,
    ADD COLUMN rate_millicents_per_minute bigint,
    ADD COLUMN increment_seconds integer,
    ADD COLUMN hold_millicents bigint,
    ADD COLUMN credit_status text,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN admitted_at timestamptz,
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN dialer_id text,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
    ADD COLUMN sip_status integer,
    ADD COLUMN sip_reason text,
    ADD COLUMN hangup_by text,
    ADD COLUMN ringing_at timestamptz,
    ADD COLUMN answered_at timestamptz,
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN duration_seconds integer,
    ADD COLUMN billable_seconds integer,
    ADD COLUMN cost_millicents bigint;

-- FIFO order within an org: the order requests were taken in (created_at
-- ties within a batch).
ALTER TABLE calls ADD COLUMN queue_seq bigint GENERATED ALWAYS AS IDENTITY;
DROP INDEX calls_queued;
CREATE INDEX calls_queued ON calls (org_id, queue_seq) WHERE status = 'queued';
CREATE INDEX calls_expiring ON calls (expires_at) WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX calls_live ON calls (heartbeat_at)
    WHERE status IN ('initiated', 'ringing', 'answered', 'in_progress');

-- Trunk slots freed by settlement, not yet folded into trunks.in_flight.
-- Settlement only inserts here, so it never waits on the trunk row, the
-- hottest row of admission; admission folds them in under its trunk lock.
CREATE TABLE trunk_releases (
    id       bigserial PRIMARY KEY,
    trunk_id text NOT NULL
);
CREATE INDEX trunk_releases_trunk ON trunk_releases (trunk_id);

-- One call in flight per destination, deployment-wide (rule 4).
CREATE TABLE dest_locks (
    to_number text PRIMARY KEY,
    call_id   uuid NOT NULL,
    locked_at timestamptz NOT NULL DEFAULT now()
);

-- The outbox carries dial work too: kind 'event' rows point at call_events,
-- kind 'dial' rows carry their payload, for the dial topic.
ALTER TABLE outbox
    ADD COLUMN kind text NOT NULL DEFAULT 'event' CHECK (kind IN ('event', 'dial')),
    ADD COLUMN payload json;

-- The concurrent-call cap of an org: max_concurrent, or the plan's.
CREATE FUNCTION od_org_cap(plan text, max_concurrent integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(max_concurrent, CASE plan WHEN 'free' THEN 1 WHEN 'pro' THEN 10
                                              WHEN 'business' THEN 50 ELSE 2147483647 END)
$$;

CREATE FUNCTION od_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Records the call's current state as its next event (the caller has
-- already raised seq) and queues it for publication. The body has the
-- fields of docs/events.md; unknown ones are left out; metadata is echoed
-- as sent.
CREATE FUNCTION od_emit(c calls) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    eid uuid := gen_random_uuid();
    at timestamptz := clock_timestamp();
    body text;
BEGIN
    body := json_strip_nulls(json_build_object(
        'event_id', eid, 'type', 'call.' || c.status, 'call_id', c.call_id,
        'request_id', c.request_id, 'org_id', c.org_id, 'agent_id', c.agent_id,
        'from_number', c.from_number, 'to_number', c.to_number, 'status', c.status,
        'seq', c.seq, 'occurred_at', od_ts(at), 'attempt', nullif(c.attempt, 0),
        'error_code', c.error_code, 'error_message', c.error_message,
        'sip_status', c.sip_status, 'sip_reason', c.sip_reason, 'hangup_by', c.hangup_by,
        'ringing_at', od_ts(c.ringing_at), 'answered_at', od_ts(c.answered_at),
        'ended_at', od_ts(c.ended_at), 'duration_seconds', c.duration_seconds,
        'billable_seconds', c.billable_seconds, 'cost_millicents', c.cost_millicents,
        'credit_status', c.credit_status))::text;
    IF c.request->'metadata' IS NOT NULL AND json_typeof(c.request->'metadata') = 'object' THEN
        body := left(body, -1) || ',"metadata":' || (c.request->'metadata')::text || '}';
    END IF;
    INSERT INTO call_events (call_id, seq, event_id, type, occurred_at, body)
    VALUES (c.call_id, c.seq, eid, 'call.' || c.status, at, body::json);
    INSERT INTO outbox (call_id, seq) VALUES (c.call_id, c.seq);
    PERFORM pg_notify('outdial_outbox', '');
END
$$;

-- Ends a call that holds resources: settles its credit (billable seconds
-- from answer to end, rounded up to the increment; never more than the
-- hold), releases the rest, its org slot, its trunk slot and its
-- destination lock, sets the terminal status and emits the event.
-- The caller holds the call row (FOR UPDATE).
CREATE FUNCTION od_finish(c calls, p_status text, p_error_code text, p_error_message text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    dur integer := 0;
    billable integer := 0;
    cost bigint := 0;
BEGIN
    IF c.answered_at IS NOT NULL THEN
        dur := greatest(0, ceil(extract(epoch FROM coalesce(c.ended_at, clock_timestamp()) - c.answered_at)))::integer;
        billable := (ceil(dur::numeric / c.increment_seconds) * c.increment_seconds)::integer;
        cost := least(c.hold_millicents, ceil(billable::numeric * c.rate_millicents_per_minute / 60));
    END IF;
    UPDATE orgs SET balance_millicents = balance_millicents + c.hold_millicents - cost,
                    held_millicents = held_millicents - c.hold_millicents,
                    in_flight = in_flight - 1
     WHERE id = c.org_id;
    INSERT INTO ledger (org_id, call_id, kind, amount_millicents)
    VALUES (c.org_id, c.call_id, 'release', c.hold_millicents - cost);
    DELETE FROM dest_locks WHERE to_number = c.to_number AND call_id = c.call_id;
    INSERT INTO trunk_releases (trunk_id) VALUES (c.trunk_id); -- folded in by admission
    PERFORM pg_notify('outdial_queue', ''); -- credit, a slot and a destination are free
    UPDATE calls SET status = p_status, seq = seq + 1, updated_at = clock_timestamp(),
                     error_code = coalesce(p_error_code, error_code),
                     error_message = coalesce(p_error_message, error_message),
                     ended_at = coalesce(ended_at, clock_timestamp()),
                     duration_seconds = CASE WHEN answered_at IS NULL THEN NULL ELSE dur END,
                     billable_seconds = billable, cost_millicents = cost,
                     credit_status = CASE WHEN cost > 0 THEN 'settled' ELSE 'released' END
     WHERE call_id = c.call_id
    RETURNING * INTO c;
    PERFORM od_emit(c);
END
$$;

-- Ends a queued call (nothing held) with a terminal status and its event.
CREATE FUNCTION od_end_queued(c calls, p_status text, p_error_code text, p_error_message text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE calls SET status = p_status, seq = seq + 1, updated_at = clock_timestamp(),
                     error_code = p_error_code, error_message = p_error_message
     WHERE call_id = c.call_id
    RETURNING * INTO c;
    PERFORM od_emit(c);
END
$$;

-- Admits up to p_max queued calls. Orgs are served round-robin, least
-- recently served first, each locked with SKIP LOCKED so that several
-- schedulers admit different orgs at once; within an org, the oldest ready
-- call whose destination is free goes first (FIFO). An org whose next call
-- must wait (cap reached, credit held by its other calls, trunk at its
-- limit) is passed over for this round. Returns the number admitted.
CREATE FUNCTION od_admit(p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o orgs;
    c calls;
    r rates;
    t trunks;
    tried text[] := '{}';
    admitted integer := 0;
    guard integer := 0;
    hold bigint;
    now_ts timestamptz;
BEGIN
    WHILE admitted < p_max AND guard < p_max * 4 + 100 LOOP
        guard := guard + 1;
        now_ts := clock_timestamp();
        SELECT * INTO o FROM orgs
         WHERE NOT (id = ANY (tried))
           AND in_flight < od_org_cap(plan, max_concurrent)
           AND EXISTS (SELECT 1 FROM calls q WHERE q.org_id = orgs.id AND q.status = 'queued'
                        AND (q.not_before IS NULL OR q.not_before <= now_ts)
                        AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= now_ts))
         ORDER BY last_admitted_at, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;

        SELECT * INTO c FROM calls q
         WHERE q.org_id = o.id AND q.status = 'queued'
           AND (q.not_before IS NULL OR q.not_before <= now_ts)
           AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= now_ts)
           AND NOT EXISTS (SELECT 1 FROM dest_locks d WHERE d.to_number = q.to_number)
         ORDER BY q.queue_seq
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            tried := tried || o.id;
            CONTINUE;
        END IF;

        IF c.expires_at IS NOT NULL AND c.expires_at <= now_ts THEN
            PERFORM od_end_queued(c, 'expired', NULL, NULL);
            CONTINUE;
        END IF;

        SELECT * INTO r FROM rates WHERE c.to_number LIKE prefix || '%'
         ORDER BY length(prefix) DESC LIMIT 1;
        IF NOT FOUND THEN
            PERFORM od_end_queued(c, 'rejected', 'NO_RATE',
                                  'no rate is provisioned for ' || c.to_number);
            CONTINUE;
        END IF;
        -- The hold covers the whole allowed duration, rounded up to the increment.
        hold := ceil(ceil(c.max_duration_seconds::numeric / r.increment_seconds)
                     * r.increment_seconds * r.millicents_per_minute / 60);
        IF hold > o.balance_millicents + o.held_millicents THEN
            PERFORM od_end_queued(c, 'rejected', 'INSUFFICIENT_BALANCE',
                format('the hold of %s millicents exceeds the org''s credit of %s',
                       hold, o.balance_millicents + o.held_millicents));
            CONTINUE;
        END IF;
        IF hold > o.balance_millicents THEN
            tried := tried || o.id; -- waits for its other calls to settle
            CONTINUE;
        END IF;

        SELECT * INTO t FROM trunks
         WHERE id = (SELECT trunk_id FROM numbers WHERE e164 = c.from_number
                      AND org_id = c.org_id AND outbound_enabled);
        IF NOT FOUND THEN
            PERFORM od_end_queued(c, 'rejected', 'OUTBOUND_DISABLED',
                                  c.from_number || ' is no longer enabled for outbound calls');
            CONTINUE;
        END IF;
        -- Trunk: a slot and a CPS token, or the org waits this round. Lock
        -- the row first, then fold in the slots settlement has freed.
        PERFORM 1 FROM trunks WHERE id = t.id FOR UPDATE;
        WITH freed AS (DELETE FROM trunk_releases WHERE trunk_id = t.id RETURNING 1)
        UPDATE trunks SET in_flight = in_flight - (SELECT count(*) FROM freed)
         WHERE id = t.id AND EXISTS (SELECT 1 FROM freed);
        UPDATE trunks SET in_flight = in_flight + 1,
               tokens = least(cps::float8, coalesce(tokens, cps)
                        + extract(epoch FROM now_ts - coalesce(tokens_at, now_ts)) * cps) - 1,
               tokens_at = now_ts
         WHERE id = t.id AND in_flight < max_concurrent
           AND least(cps::float8, coalesce(tokens, cps)
                     + extract(epoch FROM now_ts - coalesce(tokens_at, now_ts)) * cps) >= 1
        RETURNING * INTO t;
        IF NOT FOUND THEN
            tried := tried || o.id;
            CONTINUE;
        END IF;
        INSERT INTO dest_locks (to_number, call_id) VALUES (c.to_number, c.call_id)
        ON CONFLICT (to_number) DO NOTHING;
        IF NOT FOUND THEN -- taken meanwhile by another scheduler: give the slot back
            UPDATE trunks SET in_flight = in_flight - 1, tokens = tokens + 1 WHERE id = t.id;
            CONTINUE;
        END IF;
        UPDATE orgs SET balance_millicents = balance_millicents - hold,
                        held_millicents = held_millicents + hold,
                        in_flight = in_flight + 1,
                        last_admitted_at = now_ts
         WHERE id = o.id
        RETURNING * INTO o;
        INSERT INTO ledger (org_id, call_id, kind, amount_millicents)
        VALUES (o.id, c.call_id, 'hold', -hold);
        UPDATE calls SET status = 'initiated', seq = seq + 1, attempt = attempt + 1,
                         trunk_id = t.id, rate_millicents_per_minute = r.millicents_per_minute,
                         increment_seconds = r.increment_seconds, hold_millicents = hold,
                         credit_status = 'reserved', admitted_at = now_ts,
                         heartbeat_at = now_ts, updated_at = now_ts,
                         -- a new attempt: nothing of the last one carries over
                         error_code = NULL, error_message = NULL, sip_status = NULL,
                         sip_reason = NULL, hangup_by = NULL, ringing_at = NULL,
                         answered_at = NULL, ended_at = NULL, duration_seconds = NULL,
                         billable_seconds = NULL, cost_millicents = NULL, dialer_id = NULL
         WHERE call_id = c.call_id
        RETURNING * INTO c;
        PERFORM od_emit(c);
        INSERT INTO outbox (kind, call_id, seq, payload)
        SELECT 'dial', c.call_id, c.seq, json_strip_nulls(json_build_object(
            'type', 'dial', 'call_id', c.call_id, 'attempt', c.attempt,
            'org_id', c.org_id, 'request_id', c.request_id,
            'from_number', c.from_number, 'to_number', c.to_number,
            'agent_id', c.agent_id, 'agent_sip_uri', a.sip_uri,
            'trunk', json_build_object('id', t.id, 'proxy', t.proxy, 'username', t.username,
                                       'password', t.password, 'cps', t.cps),
            'ringing_timeout_seconds', c.ringing_timeout_seconds,
            'max_duration_seconds', c.max_duration_seconds,
            'admitted_at', od_ts(now_ts),
            'context', c.request->'context', 'instructions', c.request->'instructions',
            'metadata', c.request->'metadata'))
        FROM agents a WHERE a.org_id = c.org_id AND a.id = c.agent_id;
        admitted := admitted + 1;
    END LOOP;
    RETURN admitted;
END
$$;

-- Expires queued calls whose expires_at has passed (also those that could
-- not be admitted because they wait). Returns how many.
CREATE FUNCTION od_expire(p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    n integer := 0;
BEGIN
    FOR c IN SELECT * FROM calls WHERE status = 'queued' AND expires_at <= clock_timestamp()
              ORDER BY expires_at LIMIT p_max FOR UPDATE SKIP LOCKED LOOP
        PERFORM od_end_queued(c, 'expired', NULL, NULL);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- A cancel: a queued call ends canceled at once; a call in flight is
-- handed to its dialer (a cancel on the dial topic, keyed like its dial
-- work). Returns 'canceled', 'requested', 'ended' (already over) or
-- 'unknown'.
CREATE FUNCTION od_cancel(p_org text, p_request text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
BEGIN
    SELECT * INTO c FROM calls WHERE org_id = p_org AND request_id = p_request FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF c.status = 'queued' THEN
        PERFORM od_end_queued(c, 'canceled', NULL, NULL);
        RETURN 'canceled';
    END IF;
    IF c.status IN ('initiated', 'ringing', 'answered', 'in_progress') THEN
        IF NOT c.cancel_requested THEN
            UPDATE calls SET cancel_requested = true WHERE call_id = c.call_id;
            INSERT INTO outbox (kind, call_id, seq, payload)
            VALUES ('dial', c.call_id, c.seq, json_build_object(
                'type', 'cancel', 'call_id', c.call_id, 'attempt', c.attempt));
        END IF;
        RETURN 'requested';
    END IF;
    RETURN 'ended';
END
$$;

CREATE FUNCTION od_status_rank(s text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE s WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2
                  WHEN 'answered' THEN 3 WHEN 'in_progress' THEN 4 ELSE 5 END
$$;

-- A dialer's report (schemas/report.schema.json). Applies only to the
-- call's current attempt and only forwards: a duplicate or a report that
-- arrives after a later one changes nothing, so nothing is billed twice.
-- Returns true if it changed the call.
CREATE FUNCTION od_report(rep json) RETURNS boolean
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
    UPDATE calls SET heartbeat_at = clock_timestamp(),
                     dialer_id = coalesce(rep->>'dialer_id', dialer_id)
     WHERE call_id = c.call_id;
    new_status := CASE kind WHEN 'ringing' THEN 'ringing' WHEN 'answered' THEN 'answered'
                        WHEN 'bridged' THEN 'in_progress' END;
    IF kind = 'ended' THEN
        UPDATE calls SET sip_status = coalesce((rep->>'sip_status')::integer, sip_status),
                         sip_reason = coalesce(rep->>'sip_reason', sip_reason),
                         hangup_by = rep->>'hangup_by',
                         ringing_at = coalesce(ringing_at, (rep->>'ringing_at')::timestamptz),
                         answered_at = coalesce(answered_at, (rep->>'answered_at')::timestamptz),
                         ended_at = coalesce((rep->>'ended_at')::timestamptz, clock_timestamp())
         WHERE call_id = c.call_id
        RETURNING * INTO c;
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
            UPDATE calls SET next_attempt_at = clock_timestamp() + make_interval(
                                 secs => coalesce((c.request->'retry'->>'delay_seconds')::integer, 300))
             WHERE call_id = c.call_id;
            PERFORM od_finish(c, 'queued', upper(outcome),
                              format('attempt %s ended %s; another attempt follows', c.attempt, outcome));
            RETURN true;
        END IF;
        PERFORM od_finish(c, outcome, rep->>'error_code', rep->>'error_message');
        RETURN true;
    END IF;
    IF new_status IS NULL OR od_status_rank(new_status) <= od_status_rank(c.status) THEN
        RETURN false;
    END IF;
    UPDATE calls SET status = new_status, seq = seq + 1, updated_at = clock_timestamp(),
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

-- Heartbeats: a dialer lists the calls it holds; they stay alive.
CREATE FUNCTION od_heartbeat(rep json) RETURNS integer
LANGUAGE sql AS $$
    WITH live AS (SELECT (x->>'call_id')::uuid AS call_id, (x->>'attempt')::integer AS attempt
                  FROM json_array_elements(rep->'calls') x),
    u AS (UPDATE calls c SET heartbeat_at = clock_timestamp(), dialer_id = rep->>'dialer_id'
          FROM live WHERE c.call_id = live.call_id AND c.attempt = live.attempt
            AND c.status IN ('initiated', 'ringing', 'answered', 'in_progress')
          RETURNING 1)
    SELECT count(*)::integer FROM u
$$;

-- The health of the reports pipeline, written by each scheduler's reports
-- consumer about once a second: how many partitions of the reports topic
-- it owns, of how many, and whether it has read all there is. A silent
-- call proves a lost dialer only while every partition is owned by a
-- consumer that is alive and caught up; otherwise the reports may simply
-- not have been read yet (a consumer died, a rebalance is under way).
CREATE TABLE report_consumers (
    member     text PRIMARY KEY,
    updated_at timestamptz NOT NULL,
    assigned   integer NOT NULL,
    total      integer NOT NULL,
    caught_up  boolean NOT NULL
);

CREATE FUNCTION od_report_progress(p_member text, p_assigned integer, p_total integer,
                                   p_caught_up boolean) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO report_consumers VALUES (p_member, clock_timestamp(), p_assigned, p_total, p_caught_up)
    ON CONFLICT (member) DO UPDATE SET updated_at = EXCLUDED.updated_at,
        assigned = EXCLUDED.assigned, total = EXCLUDED.total, caught_up = EXCLUDED.caught_up;
    DELETE FROM report_consumers WHERE updated_at < clock_timestamp() - interval '1 hour';
$$;

CREATE FUNCTION od_reports_healthy() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(assigned) >= max(total) AND bool_and(caught_up), false)
      FROM report_consumers WHERE updated_at > clock_timestamp() - interval '3 seconds'
$$;

-- Calls whose dialer went silent end failed with DIALER_LOST, freeing
-- their hold, lock and slot; an answered call is billed up to its last
-- heartbeat. Only while the reports pipeline is healthy (see above).
CREATE FUNCTION od_reap(p_silence interval, p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    ids uuid[];
    n integer := 0;
BEGIN
    IF NOT od_reports_healthy() THEN
        RETURN 0; -- their reports may be waiting unread: do not guess
    END IF;
    SELECT array_agg(call_id) INTO ids FROM (
        SELECT call_id FROM calls
         WHERE status IN ('initiated', 'ringing', 'answered', 'in_progress')
           AND heartbeat_at < clock_timestamp() - p_silence
         ORDER BY heartbeat_at LIMIT p_max FOR UPDATE SKIP LOCKED) x;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    -- Orgs in id order, as od_reports does (no deadlock).
    PERFORM 1 FROM orgs WHERE id IN (SELECT org_id FROM calls WHERE call_id = ANY (ids))
     ORDER BY id FOR UPDATE;
    FOR c IN SELECT * FROM calls WHERE call_id = ANY (ids) ORDER BY heartbeat_at LOOP
        c.ended_at := c.heartbeat_at;
        UPDATE calls SET ended_at = c.heartbeat_at WHERE call_id = c.call_id;
        PERFORM od_finish(c, 'failed', 'DIALER_LOST',
                          'no heartbeat from the dialer since ' || od_ts(c.heartbeat_at));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- A batch of dialer messages (reports and heartbeats), in order. Each is
-- applied in a subtransaction: a malformed one is skipped with a warning
-- (returned in `skipped`) and never blocks the rest.
CREATE FUNCTION od_reports(reps json[], OUT applied integer, OUT skipped text[])
LANGUAGE plpgsql AS $$
DECLARE
    rep json;
BEGIN
    applied := 0;
    skipped := '{}';
    -- Lock order, to never deadlock with admission or another batch: the
    -- batch's calls, then their orgs, each in id order, before anything
    -- else (settlement never touches the trunk row: see trunk_releases).
    -- Admission takes org and call rows only with SKIP LOCKED, so it never
    -- waits on these.
    PERFORM 1 FROM calls WHERE call_id IN (
        SELECT (r->>'call_id')::uuid FROM unnest(reps) r
         WHERE r->>'call_id' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$')
     ORDER BY call_id FOR UPDATE;
    PERFORM 1 FROM orgs WHERE id IN (
        SELECT c.org_id FROM calls c WHERE c.call_id IN (
            SELECT (r->>'call_id')::uuid FROM unnest(reps) r
             WHERE r->>'call_id' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'))
     ORDER BY id FOR UPDATE;
    FOREACH rep IN ARRAY reps LOOP
        BEGIN
            IF rep->>'type' = 'heartbeat' THEN
                PERFORM od_heartbeat(rep);
            ELSIF od_report(rep) THEN
                applied := applied + 1;
            END IF;
        EXCEPTION
            WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                RAISE; -- not the report's fault: the whole batch is tried again
            WHEN OTHERS THEN
                skipped := skipped || (SQLERRM || ': ' || left(rep::text, 200));
        END;
    END LOOP;
END
$$;

-- Admission is woken by new queued calls.
CREATE OR REPLACE FUNCTION od_intake_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outdial_queue', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER calls_queued_notify AFTER INSERT ON calls
    FOR EACH STATEMENT EXECUTE FUNCTION od_intake_notify();
