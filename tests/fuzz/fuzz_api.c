/* The HTTP API's request path (lib/api): routing, API key headers,
 * JSON bodies made into native requests and put through intake's
 * validator, as od_api_handle does them, without a server, a database or
 * a broker. The key cache knows two keys (acme's and tiny's), the
 * provisioning cache the orgs of tests/fixtures/provisioning.json; what
 * needs the database finds it away (503), and a request that passes
 * every check reaches the producer, which is absent (503).
 *
 * Input: a request as text: "METHOD PATH[?QUERY]", header lines
 * "Name: value", an empty line, the body (the rest, bytes as they are).
 * Checked: every request is answered (never the adapter's default 500),
 * with a JSON body and Content-Type; an error is {"error": text,
 * "code": UPPER_CASE, "details": ...}; 401 says WWW-Authenticate, 405
 * Allow, 503 Retry-After; nothing succeeds without a known key; a body
 * naming another org than the key's is never accepted; nothing is
 * accepted at all here (there is no broker to acknowledge it). */
#include "api/api_int.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "fuzz.h"

#include <string.h>

#define KEY_ACME "od_fuzzAcmeKey0123456789abcdefghijklmnopqrstu"
#define KEY_TINY "od_fuzzTinyKey0123456789abcdefghijklmnopqrstu"
#define MAX_FIELDS 32

static const char PROV_ACME[] =
    "{\"orgs\":{\"acme\":{\"numbers\":{\"+14155550100\":{\"outbound_enabled\":true},"
    "\"+14155550101\":{\"outbound_enabled\":false}},\"agents\":{\"support-bot\":{\"default_from\":"
    "\"+14155550100\",\"max_duration_seconds\":600}}}}}";
static const char PROV_TINY[] =
    "{\"orgs\":{\"tiny\":{\"numbers\":{\"+14155550200\":{\"outbound_enabled\":true}},"
    "\"agents\":{\"bot\":{\"default_from\":\"+14155550200\"}}}}}";

static od_api_conf_t conf;
static od_api_t *api;

static void cache_key(const char *key, const char *org) {
    char hash[OD_SHA256_HEX_LEN];
    od_crypto_sha256_hex(key, strlen(key), hash);
    od_api_cache_key(api, hash, org, 0);
}

static void cache_prov(const char *org, const char *text) {
    json_t *p = json_loads(text, 0, NULL);
    od_api_cache_provisioning(api, org, p, 0);
    json_decref(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    json_object_seed(1);
    od_log_set_level("error");
    /* No database: a socket directory that does not exist fails at once. */
    conf.common.pg_dsn = "host=/nonexistent/outdial-fuzz dbname=none connect_timeout=1";
    conf.common.topic_requests = "calls.requests";
    conf.body_max = 262144;
    conf.kafka_wait_ms = 1000;
    conf.cache_s = 1000000; /* the entries below never expire */
    api = calloc(1, sizeof *api);
    api->conf = &conf;
    api->idle = calloc(1, sizeof *api->idle);
    pthread_mutex_init(&api->db_mu, NULL);
    pthread_mutex_init(&api->recent_mu, NULL);
    pthread_mutex_init(&api->cache_mu, NULL);
    pthread_mutex_init(&api->pend_mu, NULL);
    cache_key(KEY_ACME, "acme");
    cache_key(KEY_TINY, "tiny");
    cache_prov("acme", PROV_ACME);
    cache_prov("tiny", PROV_TINY);
    return 0;
}

/* The next line of [*p, end) (without CR LF) into a NUL-terminated copy. */
static char *next_line(const char **p, const char *end) {
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    if (n && (*p)[n - 1] == '\r') n--;
    char *line = strndup(*p, n);
    *p = nl ? nl + 1 : end;
    return line;
}

static int is_upper_code(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || *s == '_' || (*s >= '0' && *s <= '9'))) return 0;
    return 1;
}

static const char *resp_header(const od_httpd_resp_t *r, const char *name) {
    for (int i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->headers[i].name, name)) return r->headers[i].value;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    char *first = next_line(&p, end), *lines[MAX_FIELDS] = {0}, *qcopy = NULL;
    od_httpd_field_t headers[MAX_FIELDS], args[MAX_FIELDS];
    int nh = 0, na = 0;
    /* "METHOD PATH": without a space, the whole line is the path of a GET */
    char *sp = strchr(first, ' ');
    const char *method = "GET", *path = first;
    if (sp) {
        *sp = 0;
        method = first;
        path = sp + 1;
    }
    char *q = strchr(path, '?');
    if (q) {
        *q = 0;
        qcopy = strdup(q + 1);
        for (char *save = NULL, *kv = strtok_r(qcopy, "&", &save); kv && na < MAX_FIELDS;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq) *eq++ = 0;
            args[na++] = (od_httpd_field_t){kv, eq ? eq : ""};
        }
    }
    while (p < end && nh < MAX_FIELDS) {
        char *line = next_line(&p, end);
        if (!*line) {
            free(line);
            break;
        }
        lines[nh] = line;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon++ = 0;
            while (*colon == ' ')
                colon++;
        }
        headers[nh++] = (od_httpd_field_t){line, colon ? colon : ""};
    }
    /* The body: the rest, NUL-terminated as the server hands it over. */
    size_t blen = (size_t)(end - p);
    char *body = malloc(blen + 1);
    memcpy(body, p, blen);
    body[blen] = 0;

    od_httpd_req_t req = {.method = method,
                          .path = path,
                          .body = body,
                          .body_len = blen,
                          .headers = headers,
                          .nheaders = nh,
                          .args = args,
                          .nargs = na};
    od_httpd_resp_t resp = {.status = 500};
    od_api_handle(api, &req, &resp);

    /* The key the server would have found, as routes.c reads it. */
    const char *key = od_httpd_header(&req, "x-api-key");
    const char *auth = od_httpd_header(&req, "Authorization");
    if (!key && auth && !strncasecmp(auth, "Bearer ", 7))
        for (key = auth + 7; *key == ' '; key++) {
        }
    const char *org = !key                     ? NULL
                      : !strcmp(key, KEY_ACME) ? "acme"
                      : !strcmp(key, KEY_TINY) ? "tiny"
                                               : NULL;

    int st = resp.status;
    if (getenv("OUTDIAL_FUZZ_VERBOSE")) /* what a seed gets: replay with it set */
        fprintf(stderr, "%s %s -> %d %.*s", method, path, st, (int)resp.body.len, resp.body.data);
    FUZZ_CHECK(st >= 200 && st <= 599 && st != 500, "answered %d", st);
    FUZZ_CHECK(st != 202 && st != 201, "accepted without a broker: %d", st);
    const char *ct = resp_header(&resp, "Content-Type");
    FUZZ_CHECK(ct && !strcmp(ct, "application/json"), "Content-Type %s", ct ? ct : "(none)");
    json_error_t jerr;
    json_t *rb = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &jerr);
    FUZZ_CHECK(rb, "the answer is not JSON: %s", jerr.text);
    if (st >= 400) {
        FUZZ_CHECK(json_is_object(rb) && json_is_string(json_object_get(rb, "error")) &&
                       is_upper_code(json_string_value(json_object_get(rb, "code"))) &&
                       json_object_get(rb, "details"),
                   "error body %.*s", (int)resp.body.len, resp.body.data);
    }
    if (st == 401) FUZZ_CHECK(resp_header(&resp, "WWW-Authenticate"), "401 without a challenge");
    if (st == 405) FUZZ_CHECK(resp_header(&resp, "Allow"), "405 without Allow");
    if (st == 503) FUZZ_CHECK(resp_header(&resp, "Retry-After"), "503 without Retry-After");
    if (st < 300) FUZZ_CHECK(org, "a success (%d) without a known key", st);
    /* A body naming another org is refused, whatever else it holds. */
    json_t *in = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
    const char *body_org = json_string_value(json_object_get(in, "org_id"));
    if (org && body_org && strcmp(body_org, org) && !strcmp(method, "POST") &&
        !strcmp(path, "/v1/calls"))
        FUZZ_CHECK(st == 403 || st == 400, "org_id %s with %s's key answered %d", body_org, org,
                   st);
    json_decref(in);
    json_decref(rb);

    for (int i = 0; i < resp.nheaders; i++) {
        free(resp.headers[i].name);
        free(resp.headers[i].value);
    }
    od_buf_free(&resp.body);
    for (int i = 0; i < nh; i++)
        free(lines[i]);
    free(first);
    free(qcopy);
    free(body);
    return 0;
}
