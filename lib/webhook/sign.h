/* Webhook signatures: HMAC-SHA256 over "<t>.<body>" with the org's secret,
 * sent as `Outdial-Signature: t=<unix seconds>,v1=<hex>` (docs/webhooks.md
 * shows how receivers verify). */
#ifndef OD_WEBHOOK_SIGN_H
#define OD_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Writes the header's value for timestamp t into out (>= 96 bytes). */
void od_webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                          size_t cap);

#endif
