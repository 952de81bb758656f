-- outdial schema, version 13: listing an org's calls (outdial-api, GET
-- /v1/calls) newest first, a page at a time, by (created_at, call_id): the
-- cursor is that pair, so a page starts where the last one ended without
-- an OFFSET, and calls stored meanwhile (newer) do not shift the pages.
CREATE INDEX calls_org_created ON calls (org_id, created_at DESC, call_id DESC);
