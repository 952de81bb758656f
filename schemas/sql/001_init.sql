-- outdial schema, version 1: provisioning, calls, their events, the outbox.
-- Applied by `outdialctl migrate` inside one transaction under an advisory
-- lock, so several pods may run it at once.

CREATE TABLE trunks (
    id             text PRIMARY KEY,
    proxy          text NOT NULL,
    username       text,
    password       text,
    cps            integer NOT NULL DEFAULT 10 CHECK (cps > 0),
    max_concurrent integer NOT NULL DEFAULT 100 CHECK (max_concurrent > 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rates (
    prefix                text PRIMARY KEY,
    millicents_per_minute bigint NOT NULL CHECK (millicents_per_minute >= 0),
    increment_seconds     integer NOT NULL DEFAULT 60 CHECK (increment_seconds > 0)
);

-- balance_millicents is what is available now; granted_millicents is the
-- total credit granted through provisioning files, so that re-applying the
-- same file changes nothing and raising it by N adds N (see docs/provisioning.md).
CREATE TABLE orgs (
    id                 text PRIMARY KEY,
    plan               text NOT NULL CHECK (plan IN ('free', 'pro', 'business', 'enterprise')),
    max_concurrent     integer CHECK (max_concurrent >= 0),
    granted_millicents bigint NOT NULL DEFAULT 0,
    balance_millicents bigint NOT NULL DEFAULT 0 CHECK (balance_millicents >= 0),
    webhook_url        text,
    webhook_secret     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE numbers (
    e164             text PRIMARY KEY,
    org_id           text NOT NULL REFERENCES orgs (id),
    trunk_id         text NOT NULL REFERENCES trunks (id),
    outbound_enabled boolean NOT NULL DEFAULT true
);
CREATE INDEX numbers_org ON numbers (org_id);

CREATE TABLE agents (
    org_id               text NOT NULL REFERENCES orgs (id),
    id                   text NOT NULL,
    sip_uri              text NOT NULL,
    default_from         text,
    max_duration_seconds integer NOT NULL DEFAULT 3600 CHECK (max_duration_seconds BETWEEN 1 AND 14400),
    PRIMARY KEY (org_id, id)
);

-- Every movement of money, append-only; per org it sums to balance_millicents.
CREATE TABLE ledger (
    id                bigserial PRIMARY KEY,
    org_id            text NOT NULL REFERENCES orgs (id),
    call_id           uuid,
    kind              text NOT NULL,
    amount_millicents bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_org ON ledger (org_id);

-- One row per request, whatever became of it. A message that could not be
-- tied to an org and request_id is keyed by org_id '' and its Kafka
-- position as request_id, so a redelivery of it is recognised too.
CREATE TABLE calls (
    call_id       uuid PRIMARY KEY,
    org_id        text NOT NULL,
    request_id    text NOT NULL,
    agent_id      text,
    from_number   text,
    to_number     text,
    status        text NOT NULL,
    seq           integer NOT NULL DEFAULT 1,
    attempt       integer NOT NULL DEFAULT 0,
    error_code    text,
    error_message text,
    request       json,           -- the request as sent
    max_duration_seconds    integer,  -- resolved: the request's or the agent's
    ringing_timeout_seconds integer,
    source        text,
    not_before    timestamptz,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, request_id)
);
CREATE INDEX calls_queued ON calls (org_id, created_at) WHERE status = 'queued';

-- The history of every call, in seq order; `show` reads it.
CREATE TABLE call_events (
    call_id     uuid NOT NULL,
    seq         integer NOT NULL,
    event_id    uuid NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    body        json NOT NULL,
    PRIMARY KEY (call_id, seq)
);

-- Events committed but not yet published to calls.events. One relay at a
-- time (an advisory lock) publishes them in id order and deletes them.
CREATE TABLE outbox (
    id      bigserial PRIMARY KEY,
    call_id uuid NOT NULL,
    seq     integer NOT NULL
);

-- Bumped by every apply; schedulers reload their snapshot on NOTIFY.
CREATE TABLE provisioning_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO provisioning_version VALUES (true, 0);

-- Intake of a batch of parsed requests in one round trip, as column
-- arrays (cheaper to parse than one JSON document): each position is a
-- call and its first event (queued or rejected). A request already stored
-- (same org_id and request_id) is skipped with its event, so redelivery
-- never makes a second call or event. Returns how many calls were new.
CREATE FUNCTION od_intake(
    call_ids uuid[], org_ids text[], request_ids text[], agent_ids text[],
    from_numbers text[], to_numbers text[], statuses text[], error_codes text[],
    error_messages text[], requests json[], sources text[], not_befores timestamptz[],
    expires_ats timestamptz[], event_ids uuid[], occurred_ats timestamptz[], events json[],
    max_durations integer[], ringing_timeouts integer[])
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
    RETURN n;
END
$$;
