-- outdial schema, version 12: webhook secret rotation. While an org's
-- webhook_secret_previous is set, each webhook carries a Standard Webhooks
-- signature made with it after the one made with webhook_secret, so
-- receivers still holding the previous secret keep verifying during a
-- rollover (docs/webhooks.md).
ALTER TABLE orgs ADD COLUMN webhook_secret_previous text;
