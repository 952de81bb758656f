/* HMAC-SHA256 with OpenSSL's libcrypto. */
#include "webhook/sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void od_webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                          size_t cap) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    unsigned char *msg = malloc((size_t)tl + len + 1);
    if (!msg) abort();
    memcpy(msg, ts, (size_t)tl);
    memcpy(msg + tl, body, len);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)tl + len, mac, &n);
    free(msg);
    int o = snprintf(out, cap, "t=%lld,v1=", (long long)t);
    for (unsigned i = 0; i < n && (size_t)o + 2 < cap; i++)
        o += snprintf(out + o, cap - (size_t)o, "%02x", mac[i]);
}
