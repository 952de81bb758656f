/* A small Prometheus registry: counters, gauges and histograms with fixed
 * buckets, each a family with at most one label whose values come from a
 * small set (a status class, a reject code, a trunk: never an org or a
 * call). Written out in the text exposition format 0.0.4.
 *
 * Thread-safe: any thread may update any metric; each family has its own
 * mutex, held for a few instructions. Every update function accepts a NULL
 * metric and does nothing, so code that runs without a registry (unit
 * tests, tools) needs no special case.
 *
 * A series is created at its first update, or by od_metric_declare(): a
 * counter that exists at 0 before its first event lets PromQL's increase()
 * see that first event. Past OD_METRIC_SERIES_MAX label values, updates go
 * to the series labelled "other". */
#ifndef OD_OPS_METRICS_H
#define OD_OPS_METRICS_H

#include "core/buf.h"

#define OD_METRIC_SERIES_MAX 64
#define OD_METRIC_BUCKETS_MAX 24

typedef struct od_metrics od_metrics_t;
typedef struct od_metric od_metric_t;

typedef enum { OD_METRIC_COUNTER, OD_METRIC_GAUGE, OD_METRIC_HISTOGRAM } od_metric_type_t;

/* A registry. od_metrics_default() is the process's own, which the ops
 * listener serves; it is never freed. */
od_metrics_t *od_metrics_new(void);
void od_metrics_free(od_metrics_t *r);
od_metrics_t *od_metrics_default(void);

/* Registers a family (name and help are not copied: string literals).
 * `label` is the label's name, or NULL for a family of one series. A name
 * already registered returns that family (it must be of the same type).
 * Returns NULL for a name that is not a valid metric name. */
od_metric_t *od_metrics_counter(od_metrics_t *r, const char *name, const char *help,
                                const char *label);
od_metric_t *od_metrics_gauge(od_metrics_t *r, const char *name, const char *help,
                              const char *label);
/* `bounds`: the upper bounds of the buckets, increasing, at most
 * OD_METRIC_BUCKETS_MAX (the +Inf bucket is implicit); copied. */
od_metric_t *od_metrics_histogram(od_metrics_t *r, const char *name, const char *help,
                                  const char *label, const double *bounds, int nbounds);

/* `value` is the label's value (ignored, and may be NULL, for a family
 * without a label). */
void od_metric_declare(od_metric_t *m, const char *value);
/* Counters: v >= 0 (a negative v is ignored). Gauges: any v. */
void od_metric_add(od_metric_t *m, const char *value, double v);
/* Gauges; and counters copied from a count kept elsewhere (never lower). */
void od_metric_set(od_metric_t *m, const char *value, double v);
/* Histograms. */
void od_metric_observe(od_metric_t *m, const char *value, double v);
/* The current value of a counter or gauge series, or a histogram's count
 * (0 if the series does not exist). For tests. */
double od_metric_value(od_metric_t *m, const char *value);

/* Called at the start of every od_metrics_write(), on the scraping thread,
 * to refresh gauges that are read rather than kept (process metrics). */
void od_metrics_on_collect(od_metrics_t *r, void (*fn)(void *arg), void *arg);

/* Appends the whole registry in the text exposition format (version
 * 0.0.4), families in the order they were registered. */
void od_metrics_write(od_metrics_t *r, od_buf_t *out);

/* Content-Type of what od_metrics_write() produces. */
#define OD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Bucket sets used across outdial (seconds). */
extern const double od_buckets_fast[];  /* 1 ms .. 10 s: database rounds */
extern const double od_buckets_setup[]; /* 50 ms .. 60 s: call setup, webhooks */
#define OD_BUCKETS_FAST_N 14
#define OD_BUCKETS_SETUP_N 14

#endif
