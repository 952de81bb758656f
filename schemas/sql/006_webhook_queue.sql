-- outdial schema, version 6: webhook deliveries are queued by the relay,
-- in the transaction that removes published events from the outbox, rather
-- than by a trigger on call_events. The trigger ran a query in trigger
-- context for every statement inserting events, and most events are
-- inserted one at a time (each report is its own state change): about
-- 50 µs per event, for every org, with or without a webhook, a quarter of
-- the whole pipeline's throughput (docs/benchmarks.md). The relay queues a
-- whole published batch in one statement instead, so deliveries still
-- never miss an event and are never queued twice, and a receiver hears of
-- an event only once it is on calls.events.
DROP TRIGGER call_events_webhooks ON call_events;
DROP FUNCTION od_queue_webhooks();

-- Deletes published outbox rows and queues a webhook delivery for each
-- event among them whose call (the request's own webhook_url) or org has a
-- destination. Returns how many rows were deleted.
CREATE FUNCTION od_outbox_done(p_ids bigint[]) RETURNS integer
LANGUAGE sql AS $$
    WITH d AS (
        DELETE FROM outbox WHERE id = ANY (p_ids) RETURNING kind, call_id, seq),
    q AS (
        INSERT INTO webhook_deliveries (call_id, seq, event_id, org_id, url)
        SELECT e.call_id, e.seq, e.event_id, c.org_id,
               coalesce(nullif(c.request->>'webhook_url', ''), o.webhook_url)
          FROM d
          JOIN call_events e ON e.call_id = d.call_id AND e.seq = d.seq
          JOIN calls c ON c.call_id = d.call_id
          JOIN orgs o ON o.id = c.org_id
         WHERE d.kind = 'event'
           AND coalesce(nullif(c.request->>'webhook_url', ''), o.webhook_url) IS NOT NULL
        ON CONFLICT (call_id, seq) DO NOTHING)
    SELECT count(*)::integer FROM d
$$;
