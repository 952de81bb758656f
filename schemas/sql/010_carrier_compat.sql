-- outdial schema, version 10: the trunks people really have. Per trunk:
-- the transport (udp, tcp, tls), an outbound proxy apart from the
-- Request-URI's domain, how the caller ID is presented (From, or From =
-- username with P-Asserted-Identity / P-Preferred-Identity), whether
-- redirects are followed. Per agent: a transport and digest credentials.
-- Dial work carries them (od_dial_trunk, od_dial_agent); passwords leave
-- sealed (the relay, docs/operations.md "Credentials"). od_admit is version
-- 4's with the dial work built by those two functions.

ALTER TABLE trunks
    ADD COLUMN transport text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    ADD COLUMN outbound_proxy text,
    ADD COLUMN caller_id text NOT NULL DEFAULT 'from' CHECK (caller_id IN ('from', 'pai', 'ppi')),
    ADD COLUMN follow_redirects boolean NOT NULL DEFAULT false;

ALTER TABLE agents
    ADD COLUMN transport text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    ADD COLUMN username text,
    ADD COLUMN password text;

-- What a dialer needs of a trunk (schemas/dial.schema.json, "trunk").
CREATE FUNCTION od_dial_trunk(t trunks) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'id', t.id, 'proxy', t.proxy, 'transport', t.transport,
        'outbound_proxy', t.outbound_proxy, 'username', t.username, 'password', t.password,
        'caller_id', t.caller_id, 'follow_redirects', t.follow_redirects, 'cps', t.cps))
$$;

-- What a dialer needs of an agent (schemas/dial.schema.json, "agent").
CREATE FUNCTION od_dial_agent(a agents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'sip_uri', a.sip_uri, 'transport', a.transport, 'username', a.username,
        'password', a.password))
$$;

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
        'agent_id', cl.agent_id, 'agent_sip_uri', a.sip_uri, 'agent', od_dial_agent(a),
        'trunk', od_dial_trunk(t),
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

