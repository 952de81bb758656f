/* Table-driven settings from environment and flags (see config.h). */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int set_value(const od_opt_t *o, void *conf, const char *val, char *errstr, size_t n) {
    char *base = (char *)conf + o->offset;
    switch (o->type) {
    case OD_OPT_STRING: *(const char **)base = val; return 0;
    case OD_OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end) {
            snprintf(errstr, n, "--%s: \"%s\" is not a whole number", o->flag, val);
            return -1;
        }
        *(long *)base = v;
        return 0;
    }
    case OD_OPT_BOOL:
        if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes") ||
            !strcmp(val, "on")) {
            *(int *)base = 1;
        } else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no") ||
                   !strcmp(val, "off") || !*val) {
            *(int *)base = 0;
        } else {
            snprintf(errstr, n, "--%s: \"%s\" is not a boolean", o->flag, val);
            return -1;
        }
        return 0;
    }
    return -1;
}

static const od_opt_t *find(const od_opt_t *const *tables, const char *flag, size_t len) {
    for (const od_opt_t *const *t = tables; *t; t++)
        for (const od_opt_t *o = *t; o->flag; o++)
            if (strlen(o->flag) == len && !strncmp(o->flag, flag, len)) return o;
    return NULL;
}

static int finish_common(od_common_conf_t *c, char *errstr, size_t n);

int od_config_parse(const od_opt_t *const *tables, void *conf, int argc, char **argv, char **pos,
                    int pos_cap, int *npos, char *errstr, size_t errstr_size) {
    *npos = 0;
    for (const od_opt_t *const *t = tables; *t; t++) {
        for (const od_opt_t *o = *t; o->flag; o++) {
            const char *v = o->def;
            const char *e = o->env ? getenv(o->env) : NULL;
            if (e) v = e;
            if (v && set_value(o, conf, v, errstr, errstr_size)) {
                if (e) snprintf(errstr, errstr_size, "%s: \"%s\" is not valid", o->env, e);
                return -1;
            }
        }
    }
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!only_pos && !strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
            if (*npos >= pos_cap) {
                snprintf(errstr, errstr_size, "unexpected argument \"%s\" (see --help)", a);
                return -1;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "-h")) goto help;
        if (!strcmp(a, "--version")) {
            const char *name = strrchr(argv[0], '/');
            printf("%s %s\n", name ? name + 1 : argv[0], OD_VERSION);
            return 1;
        }
        if (a[1] != '-') {
            snprintf(errstr, errstr_size, "unknown option %s (see --help)", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && !strncmp(name, "help", 4)) goto help;
        const od_opt_t *o = find(tables, name, len);
        if (!o) {
            snprintf(errstr, errstr_size, "unknown option --%.*s (see --help)", (int)len, name);
            return -1;
        }
        const char *val;
        if (eq) {
            val = eq + 1;
        } else if (o->type == OD_OPT_BOOL) {
            val = "1";
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(errstr, errstr_size, "--%s needs a value", o->flag);
            return -1;
        }
        if (set_value(o, conf, val, errstr, errstr_size)) return -1;
    }
    for (const od_opt_t *const *t = tables; *t; t++)
        if (*t == od_common_opts || *t == od_dialer_common_opts)
            return finish_common(conf, errstr, errstr_size);
    return 0;
help:
    od_config_usage(stdout, tables);
    return 1;
}

void od_config_usage(FILE *out, const od_opt_t *const *tables) {
    for (const od_opt_t *const *t = tables; *t; t++) {
        for (const od_opt_t *o = *t; o->flag; o++) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s%s", o->flag,
                     o->type == OD_OPT_BOOL  ? ""
                     : o->type == OD_OPT_INT ? " N"
                                             : " VALUE");
            fprintf(out, "  %-30s %s", flag, o->help);
            if (o->def && *o->def) fprintf(out, " (default: %s)", o->def);
            fputc('\n', out);
            if (o->env) fprintf(out, "  %-30s   env: %s\n", "", o->env);
        }
    }
}

#define F(x) offsetof(od_common_conf_t, x)
/* Each shared setting once; the tables below pick what each binary uses. */
#define OPT_BROKERS                                                                                \
    {                                                                                              \
        "kafka-brokers", "OUTDIAL_KAFKA_BROKERS", OD_OPT_STRING, "127.0.0.1:9092",                 \
            "Kafka bootstrap servers", F(brokers)                                                  \
    }
#define OPT_PG_DSN                                                                                 \
    {                                                                                              \
        "pg-dsn", "OUTDIAL_PG_DSN", OD_OPT_STRING, NULL,                                           \
            "PostgreSQL URI (postgresql://...) or "                                                \
            "key=value conninfo",                                                                  \
            F(pg_dsn)                                                                              \
    }
#define OPT_TOPICS_PUBLIC                                                                          \
    {"topic-requests",                                                                             \
     "OUTDIAL_TOPIC_REQUESTS",                                                                     \
     OD_OPT_STRING,                                                                                \
     "calls.requests",                                                                             \
     "topic of call requests and cancels",                                                         \
     F(topic_requests)},                                                                           \
    {                                                                                              \
        "topic-events", "OUTDIAL_TOPIC_EVENTS", OD_OPT_STRING, "calls.events",                     \
            "topic of lifecycle events", F(topic_events)                                           \
    }
#define OPT_TOPICS_INTERNAL                                                                        \
    {"topic-dial",                                                                                 \
     "OUTDIAL_TOPIC_DIAL",                                                                         \
     OD_OPT_STRING,                                                                                \
     "outdial.dial",                                                                               \
     "internal topic of dial work and dial commands",                                              \
     F(topic_dial)},                                                                               \
    {                                                                                              \
        "topic-reports", "OUTDIAL_TOPIC_REPORTS", OD_OPT_STRING, "outdial.reports",                \
            "internal topic of dialer reports and heartbeats", F(topic_reports)                    \
    }
#define OPT_KAFKA_EXTRA                                                                            \
    {                                                                                              \
        "kafka-extra", "OUTDIAL_KAFKA_EXTRA", OD_OPT_STRING, NULL,                                 \
            "extra librdkafka settings, k=v,k=v (e.g. security.protocol=ssl)", F(kafka_extra)      \
    }
#define OPT_KAFKA_SECURITY                                                                         \
    {"kafka-security-protocol",                                                                    \
     "OUTDIAL_KAFKA_SECURITY_PROTOCOL",                                                            \
     OD_OPT_STRING,                                                                                \
     NULL,                                                                                         \
     "plaintext, ssl, sasl_plaintext or sasl_ssl",                                                 \
     F(kafka_security_protocol)},                                                                  \
        {"kafka-sasl-mechanism",                                                                   \
         "OUTDIAL_KAFKA_SASL_MECHANISM",                                                           \
         OD_OPT_STRING,                                                                            \
         NULL,                                                                                     \
         "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",                                                  \
         F(kafka_sasl_mechanism)},                                                                 \
        {"kafka-sasl-username", "OUTDIAL_KAFKA_SASL_USERNAME", OD_OPT_STRING, NULL,                \
         "SASL user name",      F(kafka_sasl_username)},                                           \
        {"kafka-sasl-password-file",                                                               \
         "OUTDIAL_KAFKA_SASL_PASSWORD_FILE",                                                       \
         OD_OPT_STRING,                                                                            \
         NULL,                                                                                     \
         "file holding the SASL password (the password itself is never a setting)",                \
         F(kafka_sasl_password_file)},                                                             \
    {                                                                                              \
        "kafka-ssl-ca-file", "OUTDIAL_KAFKA_SSL_CA_FILE", OD_OPT_STRING, NULL,                     \
            "CA certificates (PEM) that sign the brokers' certificates", F(kafka_ssl_ca_file)      \
    }
#define OPT_CREDENTIALS                                                                            \
    {                                                                                              \
        "credentials-key-file", "OUTDIAL_CREDENTIALS_KEY_FILE", OD_OPT_STRING, NULL,               \
            "file with the key (64 hex digits) that seals trunk and agent passwords in dial "      \
            "work; "                                                                               \
            "schedulers and dialers share it",                                                     \
            F(credentials_key_file)                                                                \
    }

const od_opt_t od_common_opts[] = {
    OPT_BROKERS,     OPT_PG_DSN,         OPT_TOPICS_PUBLIC, OPT_TOPICS_INTERNAL,
    OPT_KAFKA_EXTRA, OPT_KAFKA_SECURITY, OPT_CREDENTIALS,   OD_OPT_END,
};

const od_opt_t od_dialer_common_opts[] = {
    OPT_BROKERS,        OPT_TOPICS_INTERNAL, OPT_KAFKA_EXTRA,
    OPT_KAFKA_SECURITY, OPT_CREDENTIALS,     OD_OPT_END,
};

/* Appends "k=v" to *b (after a comma unless it is the first), the value's
 * commas and backslashes escaped as kafka_extra's parser reads them. */
static void put_kv(char **b, size_t *len, const char *k, const char *v) {
    *b = realloc(*b, *len + strlen(k) + 2 * strlen(v) + 3);
    if (!*b) abort();
    size_t o = *len;
    if (o) (*b)[o++] = ',';
    o += (size_t)sprintf(*b + o, "%s=", k);
    for (const char *p = v; *p; p++) {
        if (*p == ',' || *p == '\\') (*b)[o++] = '\\';
        (*b)[o++] = *p;
    }
    (*b)[o] = 0;
    *len = o;
}

/* The SASL password: the file's first line. */
static int read_secret(const char *path, char *out, size_t cap, char *errstr, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f || !fgets(out, (int)cap, f)) {
        snprintf(errstr, n, "OUTDIAL_KAFKA_SASL_PASSWORD_FILE %s: %s", path,
                 f ? "empty" : strerror(errno));
        if (f) fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* Folds the Kafka security settings into kafka_extra (config.h). */
static int finish_common(od_common_conf_t *c, char *errstr, size_t n) {
    char pw[1024] = "";
    if (!c->kafka_security_protocol && !c->kafka_sasl_mechanism && !c->kafka_sasl_username &&
        !c->kafka_sasl_password_file && !c->kafka_ssl_ca_file)
        return 0;
    if (c->kafka_sasl_password_file &&
        read_secret(c->kafka_sasl_password_file, pw, sizeof pw, errstr, n))
        return -1;
    char *b = NULL;
    size_t len = 0;
    if (c->kafka_security_protocol)
        put_kv(&b, &len, "security.protocol", c->kafka_security_protocol);
    if (c->kafka_sasl_mechanism) put_kv(&b, &len, "sasl.mechanism", c->kafka_sasl_mechanism);
    if (c->kafka_sasl_username) put_kv(&b, &len, "sasl.username", c->kafka_sasl_username);
    if (*pw) put_kv(&b, &len, "sasl.password", pw);
    if (c->kafka_ssl_ca_file) put_kv(&b, &len, "ssl.ca.location", c->kafka_ssl_ca_file);
    if (c->kafka_extra && *c->kafka_extra) { /* as given: escaped already */
        b = realloc(b, len + strlen(c->kafka_extra) + 2);
        if (!b) abort();
        sprintf(b + len, ",%s", c->kafka_extra);
    }
    c->kafka_extra = b; /* kept for the process's life */
    memset(pw, 0, sizeof pw);
    return 0;
}
#undef F
