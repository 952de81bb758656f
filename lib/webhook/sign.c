/* Standard Webhooks signatures (sign.h) over the HMAC of lib/crypto. */
#include "webhook/sign.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "whsec_"
#define KEY_MIN 24
#define KEY_MAX 64

/* The HMAC key of `secret` into key (KEY_MAX bytes or the secret's
 * length, whichever is more); returns its length, or -1. */
static long secret_key(const char *secret, unsigned char *key, size_t cap) {
    size_t sl = strlen(secret);
    if (!strncmp(secret, PREFIX, strlen(PREFIX))) {
        long n = od_base64_decode(secret + strlen(PREFIX), 0, key, cap);
        return n >= KEY_MIN && n <= KEY_MAX ? n : -1;
    }
    if (sl == 0 || sl > cap) return -1;
    memcpy(key, secret, sl);
    return (long)sl;
}

const char *od_webhook_secret_problem(const char *secret) {
    unsigned char key[512];
    for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) return "must not contain spaces or control characters";
    if (secret_key(secret, key, sizeof key) < 0)
        return !strncmp(secret, PREFIX, strlen(PREFIX))
                   ? "a whsec_ secret must be base64 of 24 to 64 bytes"
                   : "must be 1 to 512 characters";
    return NULL;
}

int od_webhook_signature(const char *const *secrets, int n, const char *id, int64_t t,
                         const char *body, size_t len, od_buf_t *out) {
    od_buf_t msg = {0};
    od_buf_printf(&msg, "%s.%lld.", id, (long long)t);
    od_buf_append(&msg, body, len);
    int written = 0;
    for (int i = 0; i < n; i++) {
        unsigned char key[512], mac[OD_HMAC_SHA256_LEN];
        long kl = secrets[i] ? secret_key(secrets[i], key, sizeof key) : -1;
        if (kl < 0) continue;
        od_crypto_hmac_sha256(key, (size_t)kl, msg.data, msg.len, mac);
        od_buf_puts(out, written++ ? " v1," : "v1,");
        od_buf_base64(out, mac, sizeof mac);
    }
    od_buf_free(&msg);
    return written;
}
