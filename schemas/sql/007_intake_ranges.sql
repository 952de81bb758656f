-- outdial schema, version 7: intake records which offsets of the requests
-- topic it has stored, so that `outdialctl audit` can prove no message was
-- skipped. Each intake call records, in its own transaction, one range per
-- partition (first..last offset of the messages it covered, including
-- duplicates and cancels, which add no call row). Ranges only ever grow
-- the record: redeliveries overlap, nothing is removed but by merging
-- adjacent and overlapping ranges (od_intake_ranges_merge, run by
-- housekeeping), so the table stays about one row per partition plus one
-- per gap. A hole between ranges is an offset range no intake stored.
CREATE TABLE intake_ranges (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    first_offset bigint NOT NULL,
    last_offset  bigint NOT NULL
);
CREATE INDEX intake_ranges_position ON intake_ranges (topic, partition, first_offset);

-- Merges each partition's ranges that overlap or touch into one. Rows
-- inserted meanwhile are not seen by the DELETE and stay; one merge at a
-- time (an advisory lock), the others skip. Returns the rows left.
CREATE FUNCTION od_intake_ranges_merge() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7419007) THEN
        RETURN -1;
    END IF;
    WITH d AS (
        DELETE FROM intake_ranges RETURNING *
    ), reach AS (
        SELECT *, max(last_offset) OVER (PARTITION BY topic, partition
            ORDER BY first_offset, last_offset
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
        FROM d
    ), island AS (
        SELECT *, count(*) FILTER (WHERE before IS NULL OR first_offset > before + 1)
            OVER (PARTITION BY topic, partition ORDER BY first_offset, last_offset) AS k
        FROM reach
    )
    INSERT INTO intake_ranges (topic, partition, first_offset, last_offset)
    SELECT topic, partition, min(first_offset), max(last_offset)
    FROM island GROUP BY topic, partition, k;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- od_intake with the ranges: the same rows as before (version 1), and the
-- offsets they came from.
DROP FUNCTION od_intake(uuid[], text[], text[], text[], text[], text[], text[], text[], text[],
                        json[], text[], timestamptz[], timestamptz[], uuid[], timestamptz[],
                        json[], integer[], integer[]);
CREATE FUNCTION od_intake(
    call_ids uuid[], org_ids text[], request_ids text[], agent_ids text[],
    from_numbers text[], to_numbers text[], statuses text[], error_codes text[],
    error_messages text[], requests json[], sources text[], not_befores timestamptz[],
    expires_ats timestamptz[], event_ids uuid[], occurred_ats timestamptz[], events json[],
    max_durations integer[], ringing_timeouts integer[],
    range_topics text[], range_partitions integer[], range_firsts bigint[], range_lasts bigint[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    WITH r AS (
        SELECT * FROM unnest(call_ids, org_ids, request_ids, agent_ids, from_numbers,
                             to_numbers, statuses, error_codes, error_messages, requests,
                             sources, not_befores, expires_ats, event_ids, occurred_ats, events,
                             max_durations, ringing_timeouts)
            AS x(call_id, org_id, request_id, agent_id, from_number, to_number, status,
                 error_code, error_message, request, source, not_before, expires_at,
                 event_id, occurred_at, event, max_duration_seconds, ringing_timeout_seconds)
    ), c AS (
        INSERT INTO calls (call_id, org_id, request_id, agent_id, from_number, to_number,
                           status, error_code, error_message, request, source,
                           not_before, expires_at, max_duration_seconds,
                           ringing_timeout_seconds, created_at, updated_at)
        SELECT call_id, org_id, request_id, agent_id, from_number, to_number,
               status, error_code, error_message, request, source,
               not_before, expires_at, max_duration_seconds, ringing_timeout_seconds,
               occurred_at, occurred_at
        FROM r
        ON CONFLICT (org_id, request_id) DO NOTHING
        RETURNING call_id
    ), e AS (
        INSERT INTO call_events (call_id, seq, event_id, type, occurred_at, body)
        SELECT r.call_id, 1, r.event_id, 'call.' || r.status, r.occurred_at, r.event
        FROM r JOIN c USING (call_id)
        RETURNING call_id, seq
    )
    INSERT INTO outbox (call_id, seq) SELECT call_id, seq FROM e;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('outdial_outbox', '');
    END IF;
    INSERT INTO intake_ranges (topic, partition, first_offset, last_offset)
    SELECT * FROM unnest(range_topics, range_partitions, range_firsts, range_lasts);
    RETURN n;
END
$$;
