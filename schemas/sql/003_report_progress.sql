-- outdial schema, version 3: lost-dialer detection from how far the reports
-- topic has been read, not from who claims to be caught up.
--
-- A call's silence proves a lost dialer only if its dialer's reports up to
-- then have been read: after a scheduler crash the new owner of a reports
-- partition may read a backlog many seconds late. Each reports consumer
-- records, per partition, a time `through` such that every report produced
-- before it has been applied. A fact of this kind never stops being true,
-- so rows only move forward and outlive the member that wrote them. Calls
-- are reaped only when silent since before the oldest partition's
-- `through`: while a partition is unowned or behind, nothing is guessed.

DROP FUNCTION od_reap(interval, integer);
DROP FUNCTION od_reports_healthy();
DROP FUNCTION od_report_progress(text, integer, integer, boolean);
DROP TABLE report_consumers;

CREATE TABLE report_progress (
    topic      text NOT NULL,
    part       integer NOT NULL,
    partitions integer NOT NULL, -- the topic's partition count, as last seen
    through    timestamptz NOT NULL,
    PRIMARY KEY (topic, part)
);

CREATE FUNCTION od_report_progress(p_topic text, p_partitions integer, p_parts integer[],
                                   p_through timestamptz[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO report_progress
    SELECT p_topic, x.part, p_partitions, x.through
      FROM unnest(p_parts, p_through) AS x (part, through)
     ORDER BY x.part
    ON CONFLICT (topic, part) DO UPDATE
       SET through = greatest(report_progress.through, EXCLUDED.through),
           partitions = EXCLUDED.partitions;
$$;

-- Every report of `p_topic` produced before this time has been applied;
-- NULL while some partition has never been read.
CREATE FUNCTION od_reports_through(p_topic text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) >= max(partitions) THEN min(through) END
      FROM report_progress WHERE topic = p_topic
$$;

-- Dial work still in the outbox has not reached any dialer yet: its call
-- cannot be silent.
CREATE INDEX outbox_dial_call ON outbox (call_id) WHERE kind = 'dial';

-- Calls whose dialer went silent end failed with DIALER_LOST, freeing
-- their hold, lock and slot; an answered call is billed up to its last
-- heartbeat. Silent means: no heartbeat for p_silence before the time up
-- to which every report has been read.
CREATE FUNCTION od_reap(p_topic text, p_silence interval, p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c calls;
    ids uuid[];
    through timestamptz := least(od_reports_through(p_topic), clock_timestamp());
    n integer := 0;
BEGIN
    IF through IS NULL THEN
        RETURN 0; -- reports may be waiting unread: do not guess
    END IF;
    SELECT array_agg(call_id) INTO ids FROM (
        SELECT call_id FROM calls l
         WHERE status IN ('initiated', 'ringing', 'answered', 'in_progress')
           AND heartbeat_at < through - p_silence
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'dial' AND o.call_id = l.call_id)
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
