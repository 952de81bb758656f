-- outdial schema, version 8: webhook claims are taken per org, so one org's
-- backlog never hides another org's deliveries. od_webhook_claim used to
-- take the p_max * 4 oldest due deliveries of all orgs and only then apply
-- the per-org cap: with 400 deliveries due to one org's hanging endpoint,
-- every row it looked at was that org's (all over the cap), and another
-- org's first delivery waited a minute. Now it visits each org that has
-- pending deliveries (one index probe per org, whatever its backlog) and
-- takes at most that org's remaining share of its oldest due ones, then
-- serves orgs in turn: every org's first before any org's second.
CREATE INDEX webhook_due_org ON webhook_deliveries (org_id, next_at) WHERE status = 'pending';

CREATE OR REPLACE FUNCTION od_webhook_claim(p_max integer, p_per_org integer, p_busy text[],
                                            p_lease interval)
RETURNS TABLE (id bigint, url text, attempts integer, first_at timestamptz, event_id uuid,
               body json, secret text, org_id text)
LANGUAGE sql AS $$
    WITH RECURSIVE busy AS (
        SELECT split_part(b, '=', 1) AS org_id, split_part(b, '=', 2)::integer AS n
          FROM unnest(p_busy) b),
    -- the orgs with pending deliveries, by a skip scan of webhook_due_org
    pending_orgs AS (
        (SELECT w.org_id FROM webhook_deliveries w WHERE w.status = 'pending'
          ORDER BY w.org_id LIMIT 1)
        UNION ALL
        SELECT (SELECT w.org_id FROM webhook_deliveries w
                 WHERE w.status = 'pending' AND w.org_id > o.org_id
                 ORDER BY w.org_id LIMIT 1)
          FROM pending_orgs o WHERE o.org_id IS NOT NULL),
    due AS (
        SELECT d.id, d.next_at, row_number() OVER (PARTITION BY o.org_id ORDER BY d.next_at) AS k
          FROM pending_orgs o
          LEFT JOIN busy b ON b.org_id = o.org_id
         CROSS JOIN LATERAL (
               SELECT w.id, w.next_at FROM webhook_deliveries w
                WHERE w.org_id = o.org_id AND w.status = 'pending'
                  AND w.next_at <= clock_timestamp()
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                                   WHERE p.call_id = w.call_id AND p.seq < w.seq
                                     AND p.status = 'pending')
                ORDER BY w.next_at
                LIMIT greatest(p_per_org - coalesce(b.n, 0), 0)) d
         WHERE o.org_id IS NOT NULL),
    pick AS (
        SELECT due.id FROM due ORDER BY due.k, due.next_at LIMIT p_max),
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
