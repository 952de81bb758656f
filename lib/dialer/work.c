/* Dial work (schemas/dial.schema.json) into what the SIP legs need. */
#include "core/buf.h"
#include "core/clock.h"
#include "dialer/dialer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

/* Whether s (NULL: absent) has a control character: a value that goes into
 * a SIP message must not, or it could end a header line and add its own
 * (CR/LF), or break the request line. */
static int has_control(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 1;
    return 0;
}

/* The host part of a SIP URI ("sip:user@host:port;params" -> "host:port"),
 * to name the carrier in the request URI; "" if there is none. */
static void uri_host(const char *uri, char *out, size_t cap) {
    const char *p = strchr(uri, ':');
    p = p ? p + 1 : uri;
    const char *at = strchr(p, '@');
    if (at) p = at + 1;
    size_t n = strcspn(p, ";>?");
    snprintf(out, cap, "%.*s", (int)n, p);
}

/* `v` as base64url JSON in X-Outdial-NAME, if present. A value whose line
 * would exceed `line_max` bytes is split into X-Outdial-NAME-1, -2, ...
 * (each line within the budget) after X-Outdial-NAME-Parts: N; the agent
 * joins the parts in order (docs/dialer.md, "What the agent receives"). */
static void json_header(od_buf_t *b, const char *name, json_t *v, size_t line_max) {
    if (!v || json_is_null(v)) return;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return;
    od_buf_t enc = {0};
    od_buf_base64url(&enc, text, strlen(text));
    free(text);
    size_t head = strlen("X-Outdial-") + strlen(name) + strlen(": ");
    if (head + enc.len <= line_max) {
        od_buf_printf(b, "X-Outdial-%s: %s\r\n", name, enc.data);
    } else {
        size_t room = line_max - head - strlen("-999"); /* the part's number */
        size_t parts = (enc.len + room - 1) / room;
        od_buf_printf(b, "X-Outdial-%s-Parts: %zu\r\n", name, parts);
        for (size_t i = 0; i < parts; i++) {
            size_t n = enc.len - i * room < room ? enc.len - i * room : room;
            od_buf_printf(b, "X-Outdial-%s-%zu: %.*s\r\n", name, i + 1, (int)n,
                          enc.data + i * room);
        }
    }
    od_buf_free(&enc);
}

/* A password of `o` ("trunk", "agent"): sealed by the schedulers
 * (password_sealed), or in clear from an older scheduler. 0 with *out set
 * (NULL if none); -1 if sealed with another key. */
static int password(json_t *o, const od_seal_key_t *key, char **out) {
    const char *sealed = str(o, "password_sealed");
    *out = NULL;
    if (sealed) {
        *out = od_unseal(key, sealed);
        return *out ? 0 : -1;
    }
    *out = dup_or_null(str(o, "password"));
    return 0;
}

/* ";transport=X" for a transport other than UDP, else "". */
static const char *transport_param(const char *transport) {
    if (transport && !strcmp(transport, "tcp")) return ";transport=tcp";
    if (transport && !strcmp(transport, "tls")) return ";transport=tls";
    return "";
}

/* `uri` with `param` added unless it already names a transport. */
static char *with_transport(const char *uri, const char *param) {
    od_buf_t b = {0};
    od_buf_puts(&b, uri);
    if (*param && !strstr(uri, ";transport=")) od_buf_puts(&b, param);
    return b.data;
}

int od_work_parse(json_t *m, const od_work_opts_t *opts, od_work_t *w, char *err, size_t errsz) {
    const od_seal_key_t *key = opts->key;
    json_t *trunk = json_object_get(m, "trunk"), *agent_o = json_object_get(m, "agent");
    const char *id = str(m, "call_id"), *to = str(m, "to_number"), *from = str(m, "from_number");
    const char *agent = str(m, "agent_sip_uri"), *proxy = str(trunk, "proxy");
    const char *admitted = str(m, "admitted_at"), *claimed = str(m, "handed_back_at");
    json_int_t attempt = json_integer_value(json_object_get(m, "attempt"));
    int64_t t = 0;
    memset(w, 0, sizeof *w);
    if (!id || !*id || strlen(id) >= sizeof w->call_id || has_control(id) || attempt < 1) {
        snprintf(err, errsz, "dial work without call_id or attempt");
        return -1;
    }
    snprintf(w->call_id, sizeof w->call_id, "%s", id);
    w->attempt = (int)attempt;
    if (!to || !from || !agent || !proxy || !admitted || od_clock_parse_rfc3339(admitted, &t)) {
        snprintf(err, errsz,
                 "dial work lacks to_number, from_number, agent_sip_uri, "
                 "trunk.proxy or admitted_at");
        return -1;
    }
    w->admitted_ms = t;
    if (has_control(to) || has_control(from) || has_control(agent) || has_control(proxy) ||
        has_control(str(trunk, "outbound_proxy")) || has_control(str(trunk, "username")) ||
        has_control(str(trunk, "id")) || has_control(str(agent_o, "username")) ||
        has_control(str(m, "org_id")) || has_control(str(m, "agent_id"))) {
        snprintf(err, errsz, "dial work with a control character in a value that goes into SIP");
        return -1;
    }
    if (claimed && !od_clock_parse_rfc3339(claimed, &t) && t > w->admitted_ms) w->admitted_ms = t;
    w->ringing_timeout_s = (int)json_integer_value(json_object_get(m, "ringing_timeout_seconds"));
    w->max_duration_s = (int)json_integer_value(json_object_get(m, "max_duration_seconds"));
    w->cps = (int)json_integer_value(json_object_get(trunk, "cps"));
    if (w->ringing_timeout_s < 1 || w->max_duration_s < 1) {
        snprintf(err, errsz, "dial work without ringing_timeout_seconds or max_duration_seconds");
        return -1;
    }
    if (w->cps < 1) w->cps = 1;

    /* The Request-URI names the carrier (the proxy's host) and the
     * transport; requests go to the outbound proxy if there is one. */
    char host[256];
    uri_host(proxy, host, sizeof host);
    const char *tp = transport_param(str(trunk, "transport"));
    const char *caller_id = str(trunk, "caller_id");
    const char *user = str(trunk, "username");
    int asserted = caller_id && (!strcmp(caller_id, "pai") || !strcmp(caller_id, "ppi"));
    od_buf_t b = {0};
    od_buf_printf(&b, "sip:%s@%s%s", to, host, tp);
    w->to = strdup(b.data);
    od_buf_reset(&b);
    od_buf_printf(&b, "sip:%s@%s", asserted && user ? user : from, host);
    w->from = strdup(b.data);
    if (asserted) {
        od_buf_reset(&b);
        od_buf_printf(&b, "%s: <sip:%s@%s>",
                      !strcmp(caller_id, "pai") ? "P-Asserted-Identity" : "P-Preferred-Identity",
                      from, host);
        w->trunk_headers = strdup(b.data);
    }
    w->proxy =
        with_transport(str(trunk, "outbound_proxy") ? str(trunk, "outbound_proxy") : proxy, tp);
    w->follow_redirects = json_is_true(json_object_get(trunk, "follow_redirects"));
    w->username = dup_or_null(user);
    if (password(trunk, key, &w->password) ||
        (agent_o && password(agent_o, key, &w->agent_password))) {
        od_buf_free(&b);
        od_work_clear(w);
        snprintf(err, errsz,
                 "a password is sealed with another key than this dialer's "
                 "OUTDIAL_CREDENTIALS_KEY_FILE");
        return -1;
    }
    w->agent_uri = with_transport(agent, transport_param(str(agent_o, "transport")));
    w->agent_username = dup_or_null(str(agent_o, "username"));
    w->trunk_id = strdup(str(trunk, "id") ? str(trunk, "id") : proxy);

    /* What the agent learns of the call, in headers (docs/dialer.md). */
    od_buf_reset(&b);
    od_buf_printf(&b, "X-Outdial-Call-Id: %s\r\nX-Outdial-Attempt: %d\r\n", w->call_id, w->attempt);
    if (str(m, "org_id")) od_buf_printf(&b, "X-Outdial-Org-Id: %s\r\n", str(m, "org_id"));
    if (str(m, "agent_id")) od_buf_printf(&b, "X-Outdial-Agent-Id: %s\r\n", str(m, "agent_id"));
    od_buf_printf(&b, "X-Outdial-To: %s\r\nX-Outdial-From: %s", to, from);
    od_buf_puts(&b, "\r\n");
    json_header(&b, "Context", json_object_get(m, "context"), opts->header_line_max);
    json_header(&b, "Instructions", json_object_get(m, "instructions"), opts->header_line_max);
    json_header(&b, "Metadata", json_object_get(m, "metadata"), opts->header_line_max);
    b.data[b.len - 2] = 0; /* no CRLF after the last line */
    w->headers = b.data;
    if (!w->to || !w->from || !w->proxy || !w->agent_uri || !w->trunk_id) {
        od_work_clear(w);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

void od_work_clear(od_work_t *w) {
    free(w->to);
    free(w->from);
    free(w->proxy);
    free(w->username);
    free(w->password);
    free(w->agent_uri);
    free(w->agent_proxy);
    free(w->agent_username);
    free(w->agent_password);
    free(w->trunk_id);
    free(w->trunk_headers);
    free(w->headers);
    memset(w, 0, sizeof *w);
}
