/* outdialctl: the operator's command line. One settings table for all
 * subcommands; each subcommand is a function in a file of its own. */
#ifndef OD_CTL_H
#define OD_CTL_H

#include "core/config.h"

typedef struct {
    od_common_conf_t common; /* first: see od_common_opts */
    const char *log_level;
    /* submit */
    const char *org, *agent, *to, *from, *request_id, *metadata, *context, *instructions;
    const char *not_before, *expires_at, *webhook_url, *retry;
    long ringing_timeout, max_duration;
    int cancel;
    /* watch / show */
    int json, from_beginning, final;
    long count, timeout;
    const char *call, *request;
    /* stats */
    const char *since, *until;
    /* keys */
    const char *key_name;
} od_ctl_conf_t;

int od_ctl_migrate(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_apply(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_submit(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_watch(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_show(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_audit(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_stats(const od_ctl_conf_t *c, int argc, char **argv);
int od_ctl_keys(const od_ctl_conf_t *c, int argc, char **argv);

/* Prints "outdialctl: <msg>" on stderr and returns `code`. */
int od_ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
