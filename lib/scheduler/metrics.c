/* The scheduler's metrics (see scheduler_int.h): registered once, in the
 * process registry the ops listener serves. Label values come from fixed
 * sets: reject codes, webhook outcomes, call status groups, plans, the
 * kind of what the relay publishes. */
#include "domain/reject.h"
#include "ops/kafka_probe.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>

od_sched_metrics_t od_sm;

void od_sched_metrics_init(void) {
    od_metrics_t *r = od_metrics_default();
    if (od_sm.consumed) return;
    od_sm.consumed = od_metrics_counter(
        r, "outdial_requests_consumed_total",
        "Messages read from the requests topic and made durable (redeliveries count again).", NULL);
    od_sm.stored = od_metrics_counter(r, "outdial_requests_stored_total",
                                      "Requests stored as new calls (queued or rejected).", NULL);
    od_sm.duplicates = od_metrics_counter(
        r, "outdial_requests_duplicate_total",
        "Messages that met a call already stored (a retried or redelivered request).", NULL);
    od_sm.rejected = od_metrics_counter(
        r, "outdial_requests_rejected_total",
        "Requests rejected at intake, by error_code (redeliveries count again).", "code");
    for (int i = OD_REJ_INVALID_REQUEST; i <= OD_REJ_INSUFFICIENT_BALANCE; i++)
        od_metric_declare(od_sm.rejected, od_reject_code((od_reject_t)i));
    od_sm.batch_seconds = od_metrics_histogram(
        r, "outdial_intake_batch_duration_seconds",
        "Time from sending an intake batch to the database to its being durable.", NULL,
        od_buckets_fast, OD_BUCKETS_FAST_N);
    od_sm.rounds = od_metrics_counter(r, "outdial_admission_rounds_total",
                                      "Admission rounds run (one transaction each).", NULL);
    od_sm.round_failures = od_metrics_counter(
        r, "outdial_admission_round_failures_total",
        "Admission rounds that failed (database away, deadlock with another scheduler).", NULL);
    od_sm.round_seconds = od_metrics_histogram(r, "outdial_admission_round_duration_seconds",
                                               "Duration of successful admission rounds.", NULL,
                                               od_buckets_fast, OD_BUCKETS_FAST_N);
    od_sm.admitted = od_metrics_counter(r, "outdial_calls_admitted_total",
                                        "Calls admitted (dial work written).", NULL);
    od_sm.calls_queued = od_metrics_gauge(
        r, "outdial_calls_queued",
        "Calls queued by the org's plan, read from the database every 5 s (every scheduler "
        "with the admission role reports the same totals: aggregate with max).",
        "plan");
    od_sm.calls_live = od_metrics_gauge(
        r, "outdial_calls_live",
        "Calls initiated to in_progress by the org's plan, read from the database every 5 s.",
        "plan");
    static const char *const plans[] = {"free", "pro", "business", "enterprise"};
    for (int i = 0; i < 4; i++) {
        od_metric_declare(od_sm.calls_queued, plans[i]);
        od_metric_declare(od_sm.calls_live, plans[i]);
    }
    od_sm.outbox_rows = od_metrics_gauge(
        r, "outdial_outbox_rows", "Events and dial work committed but not yet published.", NULL);
    od_sm.outbox_age = od_metrics_gauge(
        r, "outdial_outbox_oldest_age_seconds",
        "Age of the oldest event waiting in the outbox (0 when it is empty).", NULL);
    od_sm.published = od_metrics_counter(
        r, "outdial_relay_published_total",
        "Outbox rows published and acknowledged by the broker, by kind (event, dial).", "kind");
    od_metric_declare(od_sm.published, "event");
    od_metric_declare(od_sm.published, "dial");
    od_sm.webhooks = od_metrics_counter(
        r, "outdial_webhook_deliveries_total",
        "Webhook delivery attempts by outcome (delivered, retry, failed).", "outcome");
    od_metric_declare(od_sm.webhooks, "delivered");
    od_metric_declare(od_sm.webhooks, "retry");
    od_metric_declare(od_sm.webhooks, "failed");
    od_sm.webhook_seconds =
        od_metrics_histogram(r, "outdial_webhook_delivery_duration_seconds",
                             "Duration of webhook POSTs, from start to response or error.", NULL,
                             od_buckets_setup, OD_BUCKETS_SETUP_N);
    od_sm.reports = od_metrics_counter(
        r, "outdial_dialer_reports_applied_total",
        "Dialer reports applied that moved a call on (redelivered ones change nothing).", NULL);
    od_sm.dialer_lost =
        od_metrics_counter(r, "outdial_calls_dialer_lost_total",
                           "Calls ended DIALER_LOST because their dialer went silent.", NULL);
}

od_ops_check_t *od_sched_db_check(const char *loop) {
    char name[64];
    snprintf(name, sizeof name, "database:%s", loop);
    od_ops_check_t *c = od_ops_check_register(name, 0);
    od_ops_check_set(c, 1, NULL); /* called once connected */
    return c;
}

void od_sched_checks_register(const od_scheduler_conf_t *conf) {
    static const char *const loops[][2] = {
        {"intake", "intake"},   {"admission", "admission"}, {"admission", "housekeeping"},
        {"reports", "reports"}, {"relay", "relay"},         {"webhooks", "webhooks"}};
    for (size_t i = 0; i < sizeof loops / sizeof *loops; i++) {
        if (!od_scheduler_has_role(conf, loops[i][0])) continue;
        char name[64];
        snprintf(name, sizeof name, "database:%s", loops[i][1]);
        od_ops_check_register(name, 0);
    }
    if (od_scheduler_has_role(conf, "intake"))
        od_ops_check_register("kafka:intake", OD_OPS_KAFKA_MAX_AGE_MS);
    if (od_scheduler_has_role(conf, "reports"))
        od_ops_check_register("kafka:reports", OD_OPS_KAFKA_MAX_AGE_MS);
}
