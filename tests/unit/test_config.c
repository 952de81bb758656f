/* The settings table: defaults, environment, flags, errors. */
#include "check.h"

#include <stdlib.h>
#include <unistd.h>
#include "core/config.h"

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    const char *brokers;
    long batch;
    int flag;
} conf_t;

static const od_opt_t opts[] = {
    {"kafka-brokers", "OD_TEST_BROKERS", OD_OPT_STRING, "b:1", "brokers",
     offsetof(conf_t, brokers)},
    {"batch", "OD_TEST_BATCH", OD_OPT_INT, "10", "batch", offsetof(conf_t, batch)},
    {"flag", NULL, OD_OPT_BOOL, NULL, "flag", offsetof(conf_t, flag)},
    OD_OPT_END,
};

static int parse(conf_t *c, int argc, char **argv, char **pos, int *npos, char *err) {
    const od_opt_t *t[] = {opts, NULL};
    return od_config_parse(t, c, argc, argv, pos, 4, npos, err, 256);
}

/* The Kafka security settings fold into kafka_extra, the password read from
 * its file, a comma in a value escaped, kafka_extra's own settings last. */
static void kafka_security(void) {
    od_common_conf_t c = {0};
    const od_opt_t *tables[] = {od_common_opts, NULL};
    char err[256], *pos[1], path[] = "/tmp/od_test_pw_XXXXXX";
    int npos, fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "p,w\\d\n", 6) == 6, "password file");
    close(fd);
    char *argv[] = {"x",
                    "--kafka-security-protocol",
                    "sasl_ssl",
                    "--kafka-sasl-mechanism",
                    "SCRAM-SHA-512",
                    "--kafka-sasl-username",
                    "u",
                    "--kafka-sasl-password-file",
                    path,
                    "--kafka-ssl-ca-file",
                    "/etc/ca.pem",
                    "--kafka-extra",
                    "linger.ms=5",
                    NULL};
    CHECK(od_config_parse(tables, &c, 13, argv, pos, 0, &npos, err, sizeof err) == 0, "parse: %s",
          err);
    CHECK_STR(c.kafka_extra,
              "security.protocol=sasl_ssl,sasl.mechanism=SCRAM-SHA-512,sasl.username=u,"
              "sasl.password=p\\,w\\\\d,ssl.ca.location=/etc/ca.pem,linger.ms=5",
              "folded into kafka_extra");
    free((char *)c.kafka_extra);
    unlink(path);
    char *missing[] = {"x", "--kafka-sasl-password-file", "/nonexistent/pw", NULL};
    CHECK(od_config_parse(tables, &c, 3, missing, pos, 0, &npos, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/pw: No such file"),
          "a password file that is not there: %s", err);
}

int main(void) {
    conf_t c = {0};
    char err[256], *pos[4];
    int npos;
    char *a1[] = {"x", NULL};
    CHECK(parse(&c, 1, a1, pos, &npos, err) == 0, "defaults");
    CHECK_STR(c.brokers, "b:1", "default string");
    CHECK(c.batch == 10, "default int %ld", c.batch);

    setenv("OD_TEST_BATCH", "42", 1);
    CHECK(parse(&c, 1, a1, pos, &npos, err) == 0 && c.batch == 42, "env int %ld", c.batch);

    char *a2[] = {"x", "--batch", "7", "cmd", "--kafka-brokers=k:9", "--flag", "arg", NULL};
    CHECK(parse(&c, 7, a2, pos, &npos, err) == 0, "flags: %s", err);
    CHECK(c.batch == 7, "flag beats env %ld", c.batch);
    CHECK_STR(c.brokers, "k:9", "--k=v");
    CHECK(c.flag == 1, "bare bool");
    CHECK(npos == 2 && !strcmp(pos[0], "cmd") && !strcmp(pos[1], "arg"), "positional %d", npos);

    char *a3[] = {"x", "--nope", NULL};
    CHECK(parse(&c, 2, a3, pos, &npos, err) == -1 && strstr(err, "--nope"), "unknown flag: %s",
          err);
    char *a4[] = {"x", "--batch", "ten", NULL};
    CHECK(parse(&c, 3, a4, pos, &npos, err) == -1 && strstr(err, "whole number"), "bad int: %s",
          err);
    char *a5[] = {"x", "--batch", NULL};
    CHECK(parse(&c, 2, a5, pos, &npos, err) == -1 && strstr(err, "needs a value"), "missing: %s",
          err);
    setenv("OD_TEST_BATCH", "x", 1);
    CHECK(parse(&c, 1, a1, pos, &npos, err) == -1 && strstr(err, "OD_TEST_BATCH"), "bad env: %s",
          err);
    unsetenv("OD_TEST_BATCH");
    char *a6[] = {"x", "-", "--", "--flag", NULL};
    CHECK(parse(&c, 4, a6, pos, &npos, err) == 0 && npos == 2 && !strcmp(pos[1], "--flag"),
          "'-' and '--': %d", npos);
    kafka_security();
    return CHECK_DONE();
}
