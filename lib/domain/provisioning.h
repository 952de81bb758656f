/* The provisioning file of `outdialctl apply` (schemas/provisioning.schema.
 * json): trunks, rates, orgs with their numbers and agents. This module
 * checks a parsed file completely before anything is written, and reports
 * the first problem with its JSON path ("orgs[0].numbers[1].e164: ..."). */
#ifndef OD_DOMAIN_PROVISIONING_H
#define OD_DOMAIN_PROVISIONING_H

#include <jansson.h>
#include <stddef.h>

/* Concurrent-call cap of a plan: free 1, pro 10, business 50, enterprise
 * unlimited (-1). Returns -2 for an unknown plan. */
int od_plan_cap(const char *plan);

/* Returns 0 if `doc` is a valid provisioning file, else -1 with
 * "path: reason" in err. Trunks that numbers name must be defined in the
 * same file or already exist: `trunk_exists(id, ctx)` is asked for those not
 * in the file (it may be NULL, then they must be in the file). */
int od_provisioning_check(const json_t *doc, int (*trunk_exists)(const char *id, void *ctx),
                          void *ctx, char *err, size_t err_size);

#endif
