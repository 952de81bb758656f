-- Webhooks: every event of a call whose org has a webhook_url (or whose
-- request names its own) is queued for delivery in the same transaction
-- that commits the event, so no event is ever missed and a crash loses
-- nothing. Schedulers' webhook loops claim due deliveries, one at a time per
-- call and in seq order, and record the outcome here (docs/webhooks.md).
CREATE TABLE webhook_deliveries (
    id           bigserial PRIMARY KEY,
    call_id      uuid NOT NULL,
    seq          integer NOT NULL,
    event_id     uuid NOT NULL,
    org_id       text NOT NULL,
    url          text NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    first_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_at      timestamptz NOT NULL DEFAULT clock_timestamp(), -- due, or leased until
    last_status  integer,  -- HTTP status of the last attempt (NULL: no response)
    last_error   text,
    finished_at  timestamptz,
    UNIQUE (call_id, seq)
);
CREATE INDEX webhook_due ON webhook_deliveries (next_at) WHERE status = 'pending';
ALTER TABLE webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0.02,
                                    autovacuum_vacuum_cost_delay = 0);

-- Set-based, once per statement that inserts events: the cost for orgs
-- without webhooks is one join per event.
CREATE FUNCTION od_queue_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (call_id, seq, event_id, org_id, url)
    SELECT n.call_id, n.seq, n.event_id, c.org_id,
           coalesce(nullif(c.request->>'webhook_url', ''), o.webhook_url)
      FROM new_events n
      JOIN calls c ON c.call_id = n.call_id
      JOIN orgs o ON o.id = c.org_id
     WHERE coalesce(nullif(c.request->>'webhook_url', ''), o.webhook_url) IS NOT NULL
    ON CONFLICT (call_id, seq) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER call_events_webhooks AFTER INSERT ON call_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION od_queue_webhooks();

-- A call's webhook delivery state: failed if any delivery failed, pending
-- while any is pending, else delivered; with the last error seen.
CREATE VIEW call_webhooks AS
SELECT call_id,
       CASE WHEN bool_or(status = 'failed') THEN 'failed'
            WHEN bool_or(status = 'pending') THEN 'pending'
            ELSE 'delivered' END AS status,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       count(*) AS events,
       (array_agg(last_error ORDER BY seq DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
  FROM webhook_deliveries
 GROUP BY call_id;

-- Claims up to p_max due deliveries, each the first undelivered event of
-- its call, at most p_per_org per org including p_busy (in flight per org
-- already, as "org=n" pairs), leasing them for p_lease. Returns what a
-- request needs.
CREATE FUNCTION od_webhook_claim(p_max integer, p_per_org integer, p_busy text[],
                                 p_lease interval)
RETURNS TABLE (id bigint, url text, attempts integer, first_at timestamptz, event_id uuid,
               body json, secret text, org_id text)
LANGUAGE sql AS $$
    WITH busy AS (
        SELECT split_part(b, '=', 1) AS org_id, split_part(b, '=', 2)::integer AS n
          FROM unnest(p_busy) b),
    due AS (
        SELECT d.id, d.org_id,
               row_number() OVER (PARTITION BY d.org_id ORDER BY d.next_at) AS k
          FROM webhook_deliveries d
         WHERE d.status = 'pending' AND d.next_at <= clock_timestamp()
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                            WHERE p.call_id = d.call_id AND p.seq < d.seq
                              AND p.status = 'pending')
         ORDER BY d.next_at
         LIMIT p_max * 4),
    pick AS (
        SELECT d.id FROM due d LEFT JOIN busy b USING (org_id)
         WHERE d.k + coalesce(b.n, 0) <= p_per_org
         ORDER BY d.id LIMIT p_max),
    locked AS (
        SELECT w.id FROM webhook_deliveries w JOIN pick USING (id)
         WHERE w.status = 'pending' AND w.next_at <= clock_timestamp()
           FOR UPDATE OF w SKIP LOCKED)
    UPDATE webhook_deliveries w
       SET next_at = clock_timestamp() + p_lease, attempts = w.attempts + 1
      FROM locked
     WHERE w.id = locked.id
    RETURNING w.id, w.url, w.attempts, w.first_at, w.event_id,
              (SELECT e.body FROM call_events e WHERE e.call_id = w.call_id AND e.seq = w.seq),
              (SELECT o.webhook_secret FROM orgs o WHERE o.id = w.org_id), w.org_id
$$;

-- Records one attempt: p_outcome is 'delivered', 'failed' (final) or
-- 'retry' (due again after p_retry_in, unless p_give_up has passed since
-- the first attempt, which fails it).
CREATE FUNCTION od_webhook_result(p_id bigint, p_outcome text, p_http integer, p_error text,
                                  p_retry_in interval, p_give_up interval)
RETURNS void
LANGUAGE sql AS $$
    UPDATE webhook_deliveries w
       SET status = CASE WHEN g.gave_up THEN 'failed'
                         WHEN p_outcome = 'retry' THEN 'pending' ELSE p_outcome END,
           next_at = clock_timestamp() + coalesce(p_retry_in, interval '0'),
           last_status = p_http,
           last_error = CASE WHEN g.gave_up
                             THEN 'gave up after ' || w.attempts || ' attempts: ' || p_error
                             ELSE p_error END,
           finished_at = CASE WHEN p_outcome <> 'retry' OR g.gave_up THEN clock_timestamp() END
      FROM (SELECT id, p_outcome = 'retry'
                       AND clock_timestamp() + p_retry_in > first_at + p_give_up AS gave_up
              FROM webhook_deliveries WHERE id = p_id) g
     WHERE w.id = g.id AND w.status = 'pending'
$$;
