-- outdial schema, version 9: what the far end said, and a carrier's
-- capacity. The dialer reports a Q.850 cause (RFC 3326 Reason header) and a
-- carrier's Retry-After; both are stored and put on the call's events, and
-- a carrier out of capacity (error CARRIER_CAPACITY) may be retried when the
-- request's retry policy lists "carrier_busy", never sooner than asked.
-- od_event_body, od_finish and od_report are version 4's with those
-- additions.

ALTER TABLE calls ADD COLUMN q850_cause smallint, ADD COLUMN retry_after_seconds integer;

-- The retry policy's name for how an attempt ended, or NULL if such an end
-- is never retried: a decline (603, error DECLINED) is a `failed` outcome
-- and so never named here.
CREATE FUNCTION od_retry_reason(outcome text, error_code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN outcome IN ('busy', 'no_answer') THEN outcome
                WHEN outcome = 'failed' AND error_code = 'CARRIER_CAPACITY' THEN 'carrier_busy' END
$$;

CREATE OR REPLACE FUNCTION od_event_body(c calls, eid uuid, at timestamptz) RETURNS text
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
        || coalesce(',"q850_cause":' || c.q850_cause, '')
        || coalesce(',"retry_after_seconds":' || c.retry_after_seconds, '')
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

-- Settles an attempt (version 4's), now keeping the far end's words.
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
                     q850_cause = c.q850_cause, retry_after_seconds = c.retry_after_seconds,
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

CREATE OR REPLACE FUNCTION od_report(rep json) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    kind text := rep->>'type';
    new_status text;
    outcome text;
    retry_on text;
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
        c.q850_cause := (rep->>'q850_cause')::smallint;
        c.retry_after_seconds := (rep->>'retry_after_seconds')::integer;
        c.ringing_at := coalesce(c.ringing_at, (rep->>'ringing_at')::timestamptz);
        c.answered_at := coalesce(c.answered_at, (rep->>'answered_at')::timestamptz);
        c.ended_at := coalesce((rep->>'ended_at')::timestamptz, clock_timestamp());
        outcome := CASE WHEN rep->>'outcome' IN ('completed', 'no_answer', 'busy', 'failed',
                                                  'canceled')
                        THEN rep->>'outcome' ELSE 'failed' END;
        -- A retry (od_retry_reason): only after busy, no answer or a
        -- carrier out of capacity (never after a decline, an answer or a
        -- carrier's refusal), if the request asked for it and attempts
        -- remain; never sooner than the carrier's Retry-After. This attempt
        -- settles; the call queues again.
        retry_on := od_retry_reason(outcome, rep->>'error_code');
        IF retry_on IS NOT NULL AND NOT c.cancel_requested
           AND json_typeof(c.request->'retry') = 'object'
           AND c.attempt < coalesce((c.request->'retry'->>'max_attempts')::integer, 1)
           AND retry_on = ANY (coalesce((SELECT array_agg(x) FROM json_array_elements_text(
                                             c.request->'retry'->'on') x),
                                        ARRAY['no_answer', 'busy'])) THEN
            c.next_attempt_at := clock_timestamp() + make_interval(
                secs => greatest(coalesce((c.request->'retry'->>'delay_seconds')::integer, 300),
                                 coalesce(c.retry_after_seconds, 0)));
            PERFORM od_finish(c, 'queued', upper(retry_on),
                              format('attempt %s ended %s; another attempt follows', c.attempt,
                                     retry_on));
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
                     q850_cause = NULL, retry_after_seconds = NULL,
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

