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

-- od_reap, which reads this, is redefined in version 4 with per-dialer
-- liveness.
