/* outdialctl keys: API keys of the HTTP API (outdial-api). `create` draws
 * a key from the CSPRNG, stores only its SHA-256 and prints the key once,
 * alone on the last line (for scripts: `key=$(outdialctl keys create ... |
 * tail -1)`); `list` never shows a key; `revoke` ends one at once. */
#include "ctl.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "db/repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int create(const od_ctl_conf_t *c, od_db_t *db) {
    char key[OD_API_KEY_LEN], hash[OD_SHA256_HEX_LEN], id[37];
    if (!c->org) return od_ctl_fail(2, "usage: outdialctl keys create --org ORG [--name NAME]");
    if (od_crypto_api_key(key)) return od_ctl_fail(1, "the random number generator failed");
    od_crypto_sha256_hex(key, strlen(key), hash);
    int rc = od_repo_api_key_create(db, c->org, c->key_name, hash, id);
    if (rc == OD_ERR_NOT_FOUND) return od_ctl_fail(1, "no org \"%s\"", c->org);
    if (rc) return od_ctl_fail(1, "%s", od_db_error(db));
    printf("key_id %s (org %s); the key, shown this once:\n%s\n", id, c->org, key);
    return 0;
}

static const char *str(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static int list(const od_ctl_conf_t *c, od_db_t *db) {
    json_t *keys = NULL;
    if (od_repo_api_keys_list(db, c->org, &keys)) return od_ctl_fail(1, "%s", od_db_error(db));
    if (c->json) {
        char *text = json_dumps(keys, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        printf("%-36s  %-16s  %-16s  %-24s  %s\n", "KEY_ID", "ORG", "NAME", "CREATED_AT",
               "REVOKED_AT");
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k) {
            printf("%-36s  %-16s  %-16s  %-24s  %s\n", str(k, "id"), str(k, "org_id"),
                   str(k, "name"), str(k, "created_at"), str(k, "revoked_at"));
        }
    }
    json_decref(keys);
    return 0;
}

static int revoke(od_db_t *db, const char *id) {
    int rc = od_repo_api_key_revoke(db, id);
    if (rc == OD_ERR_NOT_FOUND) return od_ctl_fail(1, "no key %s", id);
    if (rc) return od_ctl_fail(1, "%s", od_db_error(db));
    printf("revoked %s\n", id);
    return 0;
}

int od_ctl_keys(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512];
    int op = argc == 1 && !strcmp(argv[0], "create")   ? 1
             : argc == 1 && !strcmp(argv[0], "list")   ? 2
             : argc == 2 && !strcmp(argv[0], "revoke") ? 3
                                                       : 0;
    if (!op)
        return od_ctl_fail(2, "usage: outdialctl keys create --org ORG [--name NAME] | keys list"
                              " [--org ORG] | keys revoke KEY_ID");
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) return od_ctl_fail(1, "%s", err);
    int rc = op == 1 ? create(c, db) : op == 2 ? list(c, db) : revoke(db, argv[1]);
    od_db_close(db);
    return rc;
}
