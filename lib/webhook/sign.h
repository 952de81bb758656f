/* Webhook signatures per the Standard Webhooks specification
 * (standardwebhooks.com), so receivers verify with a maintained library:
 * headers `webhook-id` (the event_id, the same on every retry),
 * `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`,
 * "v1,<base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>">" for each of
 * the org's secrets, space-separated: the current one's first, then, during
 * a rotation, the previous one's (docs/webhooks.md). */
#ifndef OD_WEBHOOK_SIGN_H
#define OD_WEBHOOK_SIGN_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* The key a secret stands for: "whsec_<base64>" the bytes it encodes (the
 * spec's form, 24 to 64 bytes); any other secret its own bytes. NULL if the
 * secret is usable, else what is wrong with it (provisioning refuses it). */
const char *od_webhook_secret_problem(const char *secret);

/* Appends the webhook-signature header's value to out: one "v1,<base64>"
 * per secret in secrets[0..n) that is usable (others are skipped; see
 * od_webhook_secret_problem). Returns how many signatures were written. */
int od_webhook_signature(const char *const *secrets, int n, const char *id, int64_t t,
                         const char *body, size_t len, od_buf_t *out);

#endif
