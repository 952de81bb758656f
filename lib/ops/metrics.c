/* The Prometheus registry (see metrics.h). Families live in a list in
 * registration order; each holds its series in a fixed array of
 * OD_METRIC_SERIES_MAX + 1 (the last is "other"), found by comparing the
 * label value: label sets are small, and a linear scan of a few short
 * strings under an uncontended mutex costs less than the event counted. */
#include "ops/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 64 /* longest label value kept; longer ones are cut */

typedef struct {
    char value[VALUE_MAX];
    double v;                                     /* counter, gauge; histogram sum */
    unsigned long long count;                     /* histogram */
    unsigned long long le[OD_METRIC_BUCKETS_MAX]; /* histogram, not cumulative */
} series_t;

struct od_metric {
    od_metric_type_t type;
    const char *name, *help, *label;
    double bounds[OD_METRIC_BUCKETS_MAX];
    int nbounds;
    pthread_mutex_t mu;
    series_t *series; /* OD_METRIC_SERIES_MAX + 1 */
    int nseries;
    struct od_metric *next;
};

typedef struct collector {
    void (*fn)(void *);
    void *arg;
    struct collector *next;
} collector_t;

struct od_metrics {
    pthread_mutex_t mu; /* the lists; not the values */
    od_metric_t *head, *tail;
    collector_t *collectors;
};

const double od_buckets_fast[OD_BUCKETS_FAST_N] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10,   30};
const double od_buckets_setup[OD_BUCKETS_SETUP_N] = {0.05, 0.1, 0.25, 0.5, 1,  2,  3,
                                                     5,    8,   12,   20,  30, 45, 60};

od_metrics_t *od_metrics_new(void) {
    od_metrics_t *r = calloc(1, sizeof *r);
    if (r) pthread_mutex_init(&r->mu, NULL);
    return r;
}

void od_metrics_free(od_metrics_t *r) {
    if (!r) return;
    for (od_metric_t *m = r->head, *next; m; m = next) {
        next = m->next;
        pthread_mutex_destroy(&m->mu);
        free(m->series);
        free(m);
    }
    for (collector_t *c = r->collectors, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static od_metrics_t *default_registry;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static void default_init(void) { default_registry = od_metrics_new(); }

od_metrics_t *od_metrics_default(void) {
    pthread_once(&default_once, default_init);
    return default_registry;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon). */
static int valid_name(const char *s, int colon) {
    if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    return 1;
}

static od_metric_t *reg(od_metrics_t *r, od_metric_type_t type, const char *name, const char *help,
                        const char *label, const double *bounds, int nbounds) {
    if (!r || !valid_name(name, 1) || (label && (!valid_name(label, 0) || !strcmp(label, "le"))) ||
        nbounds > OD_METRIC_BUCKETS_MAX || nbounds < 0)
        return NULL;
    pthread_mutex_lock(&r->mu);
    od_metric_t *m;
    for (m = r->head; m; m = m->next)
        if (!strcmp(m->name, name)) break;
    if (m) {
        pthread_mutex_unlock(&r->mu);
        return m->type == type ? m : NULL;
    }
    m = calloc(1, sizeof *m);
    series_t *s = calloc(OD_METRIC_SERIES_MAX + 1, sizeof *s);
    if (!m || !s) {
        free(m);
        free(s);
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    m->type = type;
    m->name = name;
    m->help = help;
    m->label = label;
    m->series = s;
    for (int i = 0; i < nbounds; i++)
        m->bounds[i] = bounds[i];
    m->nbounds = nbounds;
    pthread_mutex_init(&m->mu, NULL);
    if (r->tail)
        r->tail->next = m;
    else
        r->head = m;
    r->tail = m;
    pthread_mutex_unlock(&r->mu);
    if (!label) od_metric_declare(m, NULL); /* one series, there from the start */
    return m;
}

od_metric_t *od_metrics_counter(od_metrics_t *r, const char *name, const char *help,
                                const char *label) {
    return reg(r, OD_METRIC_COUNTER, name, help, label, NULL, 0);
}

od_metric_t *od_metrics_gauge(od_metrics_t *r, const char *name, const char *help,
                              const char *label) {
    return reg(r, OD_METRIC_GAUGE, name, help, label, NULL, 0);
}

od_metric_t *od_metrics_histogram(od_metrics_t *r, const char *name, const char *help,
                                  const char *label, const double *bounds, int nbounds) {
    for (int i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1])) return NULL;
    return reg(r, OD_METRIC_HISTOGRAM, name, help, label, bounds, nbounds);
}

/* The series of `value`, created if need be. Called with m->mu held. */
static series_t *series(od_metric_t *m, const char *value) {
    if (!m->label) value = "";
    if (!value) value = "";
    for (int i = 0; i < m->nseries; i++)
        if (!strncmp(m->series[i].value, value, VALUE_MAX - 1)) return &m->series[i];
    series_t *s;
    if (m->nseries < OD_METRIC_SERIES_MAX) {
        s = &m->series[m->nseries++];
        snprintf(s->value, sizeof s->value, "%s", value);
    } else { /* the overflow series, listed after the others */
        s = &m->series[OD_METRIC_SERIES_MAX];
        snprintf(s->value, sizeof s->value, "other");
    }
    return s;
}

void od_metric_declare(od_metric_t *m, const char *value) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    series(m, value);
    pthread_mutex_unlock(&m->mu);
}

void od_metric_add(od_metric_t *m, const char *value, double v) {
    if (!m || m->type == OD_METRIC_HISTOGRAM || (m->type == OD_METRIC_COUNTER && !(v >= 0))) return;
    pthread_mutex_lock(&m->mu);
    series(m, value)->v += v;
    pthread_mutex_unlock(&m->mu);
}

void od_metric_set(od_metric_t *m, const char *value, double v) {
    if (!m || m->type == OD_METRIC_HISTOGRAM) return;
    pthread_mutex_lock(&m->mu);
    series_t *s = series(m, value);
    if (m->type == OD_METRIC_GAUGE || v > s->v) s->v = v;
    pthread_mutex_unlock(&m->mu);
}

void od_metric_observe(od_metric_t *m, const char *value, double v) {
    if (!m || m->type != OD_METRIC_HISTOGRAM || isnan(v)) return;
    int b = 0;
    while (b < m->nbounds && v > m->bounds[b])
        b++;
    pthread_mutex_lock(&m->mu);
    series_t *s = series(m, value);
    if (b < m->nbounds) s->le[b]++;
    s->count++;
    s->v += v;
    pthread_mutex_unlock(&m->mu);
}

double od_metric_value(od_metric_t *m, const char *value) {
    if (!m) return 0;
    double v = 0;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i <= OD_METRIC_SERIES_MAX; i++) {
        series_t *s = &m->series[i];
        if ((i < m->nseries || s->value[0]) && !strcmp(s->value, m->label && value ? value : "")) {
            v = m->type == OD_METRIC_HISTOGRAM ? (double)s->count : s->v;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return v;
}

void od_metrics_on_collect(od_metrics_t *r, void (*fn)(void *arg), void *arg) {
    if (!r) return;
    collector_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&r->mu);
    c->next = r->collectors;
    r->collectors = c;
    pthread_mutex_unlock(&r->mu);
}

/* A sample value as Prometheus reads it: shortest form that reads back
 * exactly; +Inf, -Inf, NaN spelled its way. */
static void put_number(od_buf_t *b, double v) {
    if (isnan(v)) {
        od_buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        od_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char s[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    od_buf_puts(b, s);
}

/* HELP text: backslash and newline escaped. Label values: also quotes. */
static void put_escaped(od_buf_t *b, const char *s, int quotes) {
    for (; *s; s++) {
        if (*s == '\\')
            od_buf_puts(b, "\\\\");
        else if (*s == '\n')
            od_buf_puts(b, "\\n");
        else if (quotes && *s == '"')
            od_buf_puts(b, "\\\"");
        else
            od_buf_putc(b, *s);
    }
}

/* name{label="value",le="x"} (suffix after the name, e.g. "_bucket"). */
static void put_sample_name(od_buf_t *b, const od_metric_t *m, const char *suffix,
                            const series_t *s, const char *le) {
    od_buf_puts(b, m->name);
    od_buf_puts(b, suffix);
    if (!m->label && !le) return;
    od_buf_putc(b, '{');
    if (m->label) {
        od_buf_puts(b, m->label);
        od_buf_puts(b, "=\"");
        put_escaped(b, s->value, 1);
        od_buf_putc(b, '"');
        if (le) od_buf_putc(b, ',');
    }
    if (le) {
        od_buf_puts(b, "le=\"");
        od_buf_puts(b, le);
        od_buf_putc(b, '"');
    }
    od_buf_putc(b, '}');
}

static void write_metric(od_buf_t *b, od_metric_t *m) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    od_buf_printf(b, "# HELP %s ", m->name);
    put_escaped(b, m->help ? m->help : "", 0);
    od_buf_printf(b, "\n# TYPE %s %s\n", m->name, types[m->type]);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i <= OD_METRIC_SERIES_MAX; i++) {
        const series_t *s = &m->series[i];
        if (i >= m->nseries && (i < OD_METRIC_SERIES_MAX || !s->value[0])) continue;
        if (m->type != OD_METRIC_HISTOGRAM) {
            put_sample_name(b, m, "", s, NULL);
            od_buf_putc(b, ' ');
            put_number(b, s->v);
            od_buf_putc(b, '\n');
            continue;
        }
        unsigned long long cum = 0;
        for (int k = 0; k <= m->nbounds; k++) {
            char le[40];
            if (k < m->nbounds) {
                od_buf_t t = {0};
                put_number(&t, m->bounds[k]);
                snprintf(le, sizeof le, "%s", t.data);
                od_buf_free(&t);
                cum += s->le[k];
            } else {
                snprintf(le, sizeof le, "+Inf");
                cum = s->count;
            }
            put_sample_name(b, m, "_bucket", s, le);
            od_buf_printf(b, " %llu\n", cum);
        }
        put_sample_name(b, m, "_sum", s, NULL);
        od_buf_putc(b, ' ');
        put_number(b, s->v);
        od_buf_putc(b, '\n');
        put_sample_name(b, m, "_count", s, NULL);
        od_buf_printf(b, " %llu\n", s->count);
    }
    pthread_mutex_unlock(&m->mu);
}

void od_metrics_write(od_metrics_t *r, od_buf_t *out) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    collector_t *collectors = r->collectors;
    pthread_mutex_unlock(&r->mu);
    /* Collectors are only ever added at the head, so the list from this
     * head on does not change; they run without the lock, as they may
     * register metrics. */
    for (collector_t *c = collectors; c; c = c->next)
        c->fn(c->arg);
    pthread_mutex_lock(&r->mu);
    for (od_metric_t *m = r->head; m; m = m->next)
        write_metric(out, m);
    pthread_mutex_unlock(&r->mu);
}
