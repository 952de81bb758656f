-- outdial schema, version 11: API keys of the HTTP API (outdial-api).
-- A key is shown once, when `outdialctl keys create` makes it; only its
-- SHA-256 (hex) is kept, so a copy of the database gives no usable key.
-- A key acts for its org only. Revoking keeps the row (who had access,
-- when), and the key stops working at once.
CREATE TABLE api_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     text NOT NULL REFERENCES orgs (id),
    name       text NOT NULL DEFAULT '',
    hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);
