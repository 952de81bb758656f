/* outdialctl: parse settings, dispatch to a subcommand. */
#include "ctl.h"
#include "core/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(x) offsetof(od_ctl_conf_t, x)
static const od_opt_t ctl_opts[] = {
    {"log-level", "OUTDIAL_LOG_LEVEL", OD_OPT_STRING, "error",
     "debug, info, warn or error (what each command says for itself is always shown)",
     F(log_level)},
    OD_OPT_END,
};
static const od_opt_t submit_opts[] = {
    {"org", NULL, OD_OPT_STRING, NULL, "submit/show/stats/keys: org_id", F(org)},
    {"agent", NULL, OD_OPT_STRING, NULL, "submit: agent_id", F(agent)},
    {"to", NULL, OD_OPT_STRING, NULL, "submit: to_number (E.164)", F(to)},
    {"from", NULL, OD_OPT_STRING, NULL, "submit: from_number (E.164)", F(from)},
    {"request-id", NULL, OD_OPT_STRING, NULL, "submit: request_id (default: a new UUID)",
     F(request_id)},
    {"metadata", NULL, OD_OPT_STRING, NULL, "submit: metadata, a JSON object", F(metadata)},
    {"context", NULL, OD_OPT_STRING, NULL, "submit: context, a JSON object", F(context)},
    {"instructions", NULL, OD_OPT_STRING, NULL, "submit: instructions for the agent",
     F(instructions)},
    {"ringing-timeout", NULL, OD_OPT_INT, NULL, "submit: ringing_timeout_seconds",
     F(ringing_timeout)},
    {"max-duration", NULL, OD_OPT_INT, NULL, "submit: max_duration_seconds", F(max_duration)},
    {"not-before", NULL, OD_OPT_STRING, NULL, "submit: not_before (RFC 3339)", F(not_before)},
    {"expires-at", NULL, OD_OPT_STRING, NULL, "submit: expires_at (RFC 3339)", F(expires_at)},
    {"webhook-url", NULL, OD_OPT_STRING, NULL, "submit: webhook_url", F(webhook_url)},
    {"retry", NULL, OD_OPT_STRING, NULL, "submit: retry policy, a JSON object", F(retry)},
    {"cancel", NULL, OD_OPT_BOOL, NULL, "submit: send a cancel for --org and --request-id",
     F(cancel)},
    OD_OPT_END,
};
static const od_opt_t watch_opts[] = {
    {"json", NULL, OD_OPT_BOOL, NULL, "migrate/submit/watch/show/audit/stats/keys list: print JSON",
     F(json)},
    {"from-beginning", NULL, OD_OPT_BOOL, NULL, "watch: start at the oldest event",
     F(from_beginning)},
    {"count", NULL, OD_OPT_INT, "0", "watch: exit after this many events (0: never)", F(count)},
    {"timeout", NULL, OD_OPT_INT, "0", "watch: exit after this many idle seconds (0: never)",
     F(timeout)},
    {"call", NULL, OD_OPT_STRING, NULL, "watch: only this call_id", F(call)},
    {"request", NULL, OD_OPT_STRING, NULL, "show: request_id (with --org)", F(request)},
    {"final", NULL, OD_OPT_BOOL, NULL, "audit: also require every request to have ended", F(final)},
    {"since", NULL, OD_OPT_STRING, NULL, "stats: calls received since (15m, 2h, 7d or RFC 3339)",
     F(since)},
    {"until", NULL, OD_OPT_STRING, NULL, "stats: calls received before (15m, 2h, 7d or RFC 3339)",
     F(until)},
    {"name", NULL, OD_OPT_STRING, NULL, "keys create: a name for the key (who or what uses it)",
     F(key_name)},
    OD_OPT_END,
};
#undef F

static const char usage[] =
    "usage: outdialctl [options] COMMAND [args]\n\n"
    "commands:\n"
    "  migrate                  create or upgrade the database schema (idempotent)\n"
    "  apply FILE.json          upsert trunks, rates, orgs, numbers and agents\n"
    "  submit [FILE.jsonl|-]    publish one request from flags, or one per line\n"
    "  submit --cancel          publish a cancel for --org and --request-id\n"
    "  watch                    tail calls.events (a table on a terminal, --json raw)\n"
    "  show CALL_ID             a call, its events and their webhook deliveries\n"
    "  show --org ORG --request REQ\n"
    "  audit [--final]          prove from the database that the rules held\n"
    "  stats [--org ORG] [--since T] [--until T]\n"
    "                           calls by status, answer rate, talk time, cost, webhooks,\n"
    "                           per minute (tables; --json for the document)\n"
    "  keys create --org ORG [--name N]\n"
    "                           a new API key of ORG for outdial-api, printed once\n"
    "  keys list [--org ORG]    the keys (never the keys themselves); --json for JSON\n"
    "  keys revoke KEY_ID       the key stops working at once\n"
    "  help                     this text and every option (also --help)\n"
    "  --version                the version\n";

int od_ctl_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("outdialctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static int help(const od_opt_t *const *tables) {
    fputs(usage, stdout);
    fputs("\noptions (each also an environment variable):\n", stdout);
    od_config_usage(stdout, tables);
    return 0;
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(const od_ctl_conf_t *, int, char **);
    } cmds[] = {{"migrate", od_ctl_migrate}, {"apply", od_ctl_apply}, {"submit", od_ctl_submit},
                {"watch", od_ctl_watch},     {"show", od_ctl_show},   {"audit", od_ctl_audit},
                {"stats", od_ctl_stats},     {"keys", od_ctl_keys}};
    od_ctl_conf_t conf = {0};
    const od_opt_t *tables[] = {od_common_opts, ctl_opts, submit_opts, watch_opts, NULL};
    char err[512], *pos[8];
    int npos;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return help(tables);
    int rc = od_config_parse(tables, &conf, argc, argv, pos, 8, &npos, err, sizeof err);
    if (rc == 1) return 0; /* --version */
    if (rc) return od_ctl_fail(2, "%s", err);
    if (od_log_set_level(conf.log_level)) return od_ctl_fail(2, "--log-level: unknown level");
    od_log_set_component("outdialctl");
    if (npos == 0) {
        fputs(usage, stderr);
        fputs("\noutdialctl: no command given (options: outdialctl --help)\n", stderr);
        return 2;
    }
    if (!strcmp(pos[0], "help")) return help(tables);
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(pos[0], cmds[i].name)) return cmds[i].fn(&conf, npos - 1, pos + 1);
    return od_ctl_fail(2, "unknown command \"%s\" (see --help)", pos[0]);
}
