/* The dialer's metrics (see dialer_int.h), in the process registry the ops
 * listener serves. Labels: a SIP status class or code (a few dozen values
 * at most), a trunk id (trunks are few; past OD_METRIC_SERIES_MAX they
 * share "other"). */
#include "dialer/dialer_int.h"

#include <stdio.h>

od_dialer_metrics_t od_dm;

void od_dialer_metrics_init(void) {
    od_metrics_t *r = od_metrics_default();
    if (od_dm.invites) return;
    od_dm.invites =
        od_metrics_counter(r, "outdial_dialer_invites_total",
                           "INVITEs sent, by leg (callee: through the trunk; agent).", "leg");
    od_metric_declare(od_dm.invites, "callee");
    od_metric_declare(od_dm.invites, "agent");
    od_dm.callee_class = od_metrics_counter(
        r, "outdial_dialer_callee_responses_total",
        "Final responses to callee INVITEs by status class (2xx..6xx; \"none\": our SIP stack "
        "gave up, e.g. a timeout or a transport error).",
        "class");
    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx", "6xx", "none"};
    for (int i = 0; i < 6; i++)
        od_metric_declare(od_dm.callee_class, classes[i]);
    od_dm.callee_code = od_metrics_counter(
        r, "outdial_dialer_callee_responses_by_code_total",
        "Final responses to callee INVITEs by SIP status code (0: none from the far end).", "code");
    od_dm.agent_class = od_metrics_counter(
        r, "outdial_dialer_agent_responses_total",
        "Final responses to agent INVITEs by status class (\"none\": no response).", "class");
    for (int i = 0; i < 6; i++)
        od_metric_declare(od_dm.agent_class, classes[i]);
    od_dm.setup_seconds =
        od_metrics_histogram(r, "outdial_dialer_call_setup_seconds",
                             "Time from the callee INVITE to its answer (200 with an SDP offer).",
                             NULL, od_buckets_setup, OD_BUCKETS_SETUP_N);
    od_dm.calls_up = od_metrics_gauge(r, "outdial_dialer_calls_up",
                                      "Calls bridged (callee and agent connected) now.", NULL);
    od_dm.calls_held = od_metrics_gauge(
        r, "outdial_dialer_calls_held",
        "Calls this dialer holds now: queued for their trunk's pacing, ringing or up.", NULL);
    od_dm.paced = od_metrics_counter(
        r, "outdial_dialer_calls_paced_total",
        "Calls started by the per-trunk pacing, by trunk (rate() of it is the CPS paced).",
        "trunk");
    od_dm.draining = od_metrics_gauge(r, "outdial_dialer_draining",
                                      "1 while the dialer drains after SIGTERM.", NULL);
    od_dm.reports_resent =
        od_metrics_counter(r, "outdial_dialer_reports_resent_total",
                           "Reports produced again after the broker failed to take them.", NULL);
    od_dm.reports_pending =
        od_metrics_gauge(r, "outdial_dialer_reports_pending",
                         "Reports not yet acknowledged by the broker (kept until they are).", NULL);
}

void od_dialer_metric_status(od_metric_t *by_class, od_metric_t *by_code, int status) {
    char v[16];
    if (status >= 200 && status < 700)
        snprintf(v, sizeof v, "%dxx", status / 100);
    else
        snprintf(v, sizeof v, "none");
    od_metric_add(by_class, v, 1);
    if (by_code) {
        snprintf(v, sizeof v, "%d", status >= 100 && status < 700 ? status : 0);
        od_metric_add(by_code, v, 1);
    }
}
