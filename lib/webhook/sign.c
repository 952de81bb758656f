/* Webhook signatures over the HMAC of lib/crypto. */
#include "webhook/sign.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void od_webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                          size_t cap) {
    unsigned char mac[OD_HMAC_SHA256_LEN];
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    unsigned char *msg = malloc((size_t)tl + len + 1);
    if (!msg) abort();
    memcpy(msg, ts, (size_t)tl);
    memcpy(msg + tl, body, len);
    od_crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)tl + len, mac);
    free(msg);
    int o = snprintf(out, cap, "t=%lld,v1=", (long long)t);
    for (unsigned i = 0; i < OD_HMAC_SHA256_LEN && (size_t)o + 2 < cap; i++)
        o += snprintf(out + o, cap - (size_t)o, "%02x", mac[i]);
}
