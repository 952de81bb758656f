/* Declarative configuration: each component describes its settings in one
 * table (flag, environment variable, type, default, help, offset into its
 * config struct), the way librdkafka's property table does. Every setting
 * can come from the environment or from a flag (the flag wins); --help is
 * generated from the table; an unknown flag is an error. */
#ifndef OD_CORE_CONFIG_H
#define OD_CORE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { OD_OPT_STRING, OD_OPT_INT, OD_OPT_BOOL } od_opt_type_t;

typedef struct {
    const char *flag; /* "kafka-brokers" for --kafka-brokers */
    const char *env;  /* "OUTDIAL_KAFKA_BROKERS", or NULL for flag-only */
    od_opt_type_t type;
    const char *def; /* default as text, or NULL for none */
    const char *help;
    size_t offset; /* of a `const char *`, `long` or `int` field */
} od_opt_t;

#define OD_OPT_END                                                                                 \
    { NULL, NULL, OD_OPT_STRING, NULL, NULL, 0 }

/* Fills `conf` from defaults, then the environment, then argv (`--flag
 * value`, `--flag=value`, or a bare `--flag` for booleans), across the
 * NULL-terminated list of tables. Arguments that are not flags are returned
 * in order in `pos` (at most `pos_cap`); *npos gets their count.
 * With od_common_opts or od_dialer_common_opts among the tables (the
 * od_common_conf_t first in conf), the Kafka security settings are then
 * folded into kafka_extra ("k=v,k=v", commas in values escaped "\,"),
 * ahead of what kafka_extra said, and the SASL password read from its file.
 * Returns 0, 1 when --help or --version was given (usage or "NAME VERSION"
 * printed on stdout: exit 0), or -1 with a message in errstr. String values point into argv or the
 * environment. */
int od_config_parse(const od_opt_t *const *tables, void *conf, int argc, char **argv, char **pos,
                    int pos_cap, int *npos, char *errstr, size_t errstr_size);

/* The settings every binary that talks to Kafka and PostgreSQL shares.
 * Embed it as the FIRST member of a component's config struct and put
 * od_common_opts in its list of tables: the table's offsets are relative to
 * this struct. */
typedef struct {
    const char *brokers, *pg_dsn, *topic_requests, *topic_events, *kafka_extra;
    const char *topic_dial, *topic_reports; /* internal: schedulers <-> dialers */
    const char *credentials_key_file;       /* seals passwords in dial work (lib/crypto) */
    /* Kafka security, first-class (folded into kafka_extra by
     * od_config_parse, with the password read from its file) */
    const char *kafka_security_protocol, *kafka_sasl_mechanism, *kafka_sasl_username;
    const char *kafka_sasl_password_file, *kafka_ssl_ca_file;
} od_common_conf_t;

extern const od_opt_t od_common_opts[];
/* The part of od_common_opts a dialer uses: Kafka, the internal topics and
 * the credentials key (no database, no public topics). */
extern const od_opt_t od_dialer_common_opts[];

/* Prints one line per option of each table: flag, env var, default, help. */
void od_config_usage(FILE *out, const od_opt_t *const *tables);

#endif
