/* GET /v1/calls (an org's calls, filtered, a page at a time) and GET
 * /v1/calls/{call_id}/events (a call's events in seq order), both scoped
 * to the key's org (docs/api.md).
 *
 * Pages are newest first, by (created_at, call_id). The cursor is that
 * pair for the last call of a page, base64url-encoded so clients treat it
 * as opaque: the next page is the calls strictly after it in that order,
 * so calls stored meanwhile (newer) neither shift nor repeat what is left,
 * and no page is read with an OFFSET. */
#include "api/api_int.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "db/repo.h"
#include "domain/e164.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 200

static const char *const statuses[] = {"queued",      "initiated", "ringing",   "answered",
                                       "in_progress", "completed", "no_answer", "busy",
                                       "failed",      "canceled",  "rejected",  "expired"};

/* Every comma-separated word of s a status. */
static int statuses_valid(const char *s) {
    if (!*s) return 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof statuses / sizeof *statuses && !found; i++)
            found = strlen(statuses[i]) == n && !strncmp(statuses[i], s, n);
        if (!found) return 0;
        s += n;
        if (*s == ',' && !*++s) return 0; /* a trailing comma */
    }
    return 1;
}

static int id_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !od_utf8_valid(s, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

/* An RFC 3339 time into out as PostgreSQL reads it (UTC, milliseconds). */
static int time_arg(const char *s, char *out, size_t cap) {
    int64_t ms;
    if (od_clock_parse_rfc3339(s, &ms) || !od_clock_storable(ms)) return -1;
    od_clock_format_rfc3339(ms, out, cap);
    return 0;
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decodes unpadded base64url into out (NUL-terminated); -1 if it is not. */
static int b64url_decode(const char *s, char *out, size_t cap) {
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b64val(*s);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap) return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    return 0;
}

/* The cursor "v1.<microseconds>.<call_id>" (base64url) into its parts. */
static int cursor_parse(const char *c, char *us, size_t us_cap, char *id, size_t id_cap) {
    char raw[128];
    if (strlen(c) > 160 || b64url_decode(c, raw, sizeof raw) || strncmp(raw, "v1.", 3)) return -1;
    const char *p = raw + 3, *dot = strchr(p, '.');
    if (!dot || dot == p || (size_t)(dot - p) >= us_cap || dot - p > 19) return -1;
    for (const char *q = p; q < dot; q++)
        if ((*q < '0' || *q > '9') && !(q == p && *q == '-')) return -1;
    long long v = strtoll(p, NULL, 10);
    /* within the instants outdial stores */
    if (v < OD_CLOCK_MIN_MS * 1000LL || v > OD_CLOCK_MAX_MS * 1000LL + 999) return -1;
    memcpy(us, p, (size_t)(dot - p));
    us[dot - p] = 0;
    if (strlen(dot + 1) != 36 || strlen(dot + 1) >= id_cap) return -1;
    snprintf(id, id_cap, "%s", dot + 1);
    for (int i = 0; i < 36; i++) {
        char x = id[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? x != '-'
                 : !((x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F')))
            return -1;
    }
    return 0;
}

static void bad_param(od_httpd_resp_t *resp, const char *name, const char *why) {
    char msg[200];
    snprintf(msg, sizeof msg, "query parameter %s %s", name, why);
    od_api_reply_error(resp, 400, "INVALID_REQUEST", msg, json_pack("{s:s}", "parameter", name));
}

void od_api_list_calls(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                       const char *org) {
    od_repo_call_filter_t f = {.org_id = org, .limit = LIMIT_DEFAULT};
    char after[32], before[32], us[24], id[40], key[256];
    const char *v;
    if ((v = od_httpd_query(req, "limit"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > LIMIT_MAX)
            return bad_param(resp, "limit", "must be a whole number from 1 to 200");
        f.limit = (int)n;
    }
    if ((v = od_httpd_query(req, "status"))) {
        if (!statuses_valid(v))
            return bad_param(resp, "status",
                             "must be statuses separated by commas (queued, initiated, ringing, "
                             "answered, in_progress, completed, no_answer, busy, failed, "
                             "canceled, rejected, expired)");
        f.status = v;
    }
    if ((v = od_httpd_query(req, "to_number"))) {
        if (!od_e164_valid(v)) {
            od_api_reply_error(resp, 400, "INVALID_PHONE_NUMBER",
                               "query parameter to_number is not an E.164 number",
                               json_pack("{s:s}", "parameter", "to_number"));
            return;
        }
        f.to_number = v;
    }
    if ((v = od_httpd_query(req, "agent_id"))) {
        if (!id_valid(v)) return bad_param(resp, "agent_id", "must be 1 to 128 characters");
        f.agent_id = v;
    }
    if ((v = od_httpd_query(req, "created_after"))) {
        if (time_arg(v, after, sizeof after))
            return bad_param(resp, "created_after", "must be an RFC 3339 date-time with a zone");
        f.created_after = after;
    }
    if ((v = od_httpd_query(req, "created_before"))) {
        if (time_arg(v, before, sizeof before))
            return bad_param(resp, "created_before", "must be an RFC 3339 date-time with a zone");
        f.created_before = before;
    }
    if ((v = od_httpd_query(req, "metadata"))) {
        if (!od_utf8_valid(v, strlen(v)) || strlen(v) > 1024)
            return bad_param(resp, "metadata", "must be UTF-8 text of at most 1024 bytes");
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || (size_t)(colon - v) >= sizeof key)
            return bad_param(resp, "metadata", "must be KEY:VALUE (e.g. metadata=customer:42)");
        memcpy(key, v, (size_t)(colon - v));
        key[colon - v] = 0;
        f.meta_key = key;
        f.meta_value = colon + 1;
    }
    if ((v = od_httpd_query(req, "cursor"))) {
        if (cursor_parse(v, us, sizeof us, id, sizeof id))
            return bad_param(resp, "cursor", "is not a next_cursor this API gave");
        f.after_created_us = us;
        f.after_call_id = id;
    }
    json_t *calls = NULL;
    int more = 0;
    char last_us[24], last_id[37];
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_api_calls_list(db, &f, &calls, &more, last_us, sizeof last_us, last_id)
                : OD_ERR_DB;
    od_api_db_give(api, db);
    if (rc == OD_ERR_INVALID)
        return bad_param(resp, "cursor", "is not a next_cursor this API gave");
    /* (every argument was checked above, so the database refusing one is
     * the cursor's call_id alone) */
    if (rc) return od_api_reply_unavailable(resp, "the database is unreachable");
    json_t *next = json_null();
    if (more && last_id[0]) {
        char raw[80];
        od_buf_t b = {0};
        snprintf(raw, sizeof raw, "v1.%s.%s", last_us, last_id);
        od_buf_base64url(&b, raw, strlen(raw));
        next = json_string(b.data);
        od_buf_free(&b);
    }
    od_api_reply_json(resp, 200, json_pack("{s:o,s:o}", "calls", calls, "next_cursor", next));
}

void od_api_call_events(od_api_t *api, const char *call_id, const char *org,
                        od_httpd_resp_t *resp) {
    json_t *events = NULL;
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_api_call_events(db, call_id, org, &events) : OD_ERR_DB;
    od_api_db_give(api, db);
    if (rc) return od_api_reply_unavailable(resp, "the database is unreachable");
    char rid[256];
    /* Accepted here but not stored yet: no event yet (call.queued comes
     * with the row). */
    if (!events && !od_api_recent_find(api, call_id, org, rid, sizeof rid)) events = json_array();
    if (!events) {
        od_api_reply_error(resp, 404, "CALL_NOT_FOUND", "no call of this org has this call_id",
                           NULL);
        return;
    }
    od_api_reply_json(resp, 200, json_pack("{s:s,s:o}", "call_id", call_id, "events", events));
}
