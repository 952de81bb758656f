/* HMAC-SHA256, digests, API keys and AES-256-GCM sealing over OpenSSL's
 * libcrypto. */
#include "crypto/crypto.h"

#include "core/buf.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX "v1."

void od_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                           unsigned char out[OD_HMAC_SHA256_LEN]) {
    unsigned int n = OD_HMAC_SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &n);
}

void od_crypto_sha1(const void *msg, size_t len, unsigned char out[OD_SHA1_LEN]) {
    unsigned int n = OD_SHA1_LEN;
    EVP_Digest(msg, len, out, &n, EVP_sha1(), NULL);
}

void od_crypto_sha256_hex(const void *msg, size_t len, char out[OD_SHA256_HEX_LEN]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char d[OD_SHA256_LEN];
    unsigned int n = OD_SHA256_LEN;
    EVP_Digest(msg, len, d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < OD_SHA256_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * OD_SHA256_LEN] = 0;
}

int od_crypto_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

int od_crypto_api_key(char out[OD_API_KEY_LEN]) {
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t pre = strlen(OD_API_KEY_PREFIX), want = OD_API_KEY_LEN - 1 - pre, got = 0;
    memcpy(out, OD_API_KEY_PREFIX, pre);
    while (got < want) {
        unsigned char r[64];
        if (RAND_bytes(r, sizeof r) != 1) {
            out[0] = 0;
            return -1;
        }
        /* 248 = 4 * 62: bytes above it are dropped, so each character is
         * uniform over the 62. */
        for (size_t i = 0; i < sizeof r && got < want; i++)
            if (r[i] < 248) out[pre + got++] = alphabet[r[i] % 62];
    }
    out[pre + want] = 0;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int od_seal_key_load(od_seal_key_t *key, const char *path, char *err, size_t errsz) {
    memset(key, 0, sizeof *key);
    if (!path || !*path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "cannot read the credentials key file %s", path);
        return -1;
    }
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    size_t digits = 0;
    while (hexval(p[digits]) >= 0)
        digits++;
    const char *rest = p + digits;
    while (isspace((unsigned char)*rest))
        rest++;
    if (digits != 2 * OD_SEAL_KEY_LEN || *rest) {
        snprintf(err, errsz,
                 "the credentials key file %s must hold 64 hex digits (openssl rand -hex 32)",
                 path);
        return -1;
    }
    for (int i = 0; i < OD_SEAL_KEY_LEN; i++)
        key->k[i] = (unsigned char)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
    key->set = 1;
    return 0;
}

char *od_seal(const od_seal_key_t *key, const char *plain) {
    if (!key->set) return NULL;
    size_t len = strlen(plain);
    unsigned char *raw = malloc(NONCE_LEN + len + TAG_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0,
        ok = raw && ctx && RAND_bytes(raw, NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->k, raw) == 1 &&
             EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &n, (const unsigned char *)plain, (int)len) ==
                 1 &&
             EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + n, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(raw);
        return NULL;
    }
    od_buf_t b = {0};
    od_buf_puts(&b, PREFIX);
    od_buf_base64url(&b, raw, NONCE_LEN + len + TAG_LEN);
    free(raw);
    return b.data;
}

char *od_unseal(const od_seal_key_t *key, const char *sealed) {
    if (!key->set || strncmp(sealed, PREFIX, strlen(PREFIX))) return NULL;
    const char *b64 = sealed + strlen(PREFIX);
    size_t cap = strlen(b64) * 3 / 4 + 3;
    unsigned char *raw = malloc(cap);
    long got =
        raw ? od_base64_decode(b64, 1, raw, cap) /* canonical only: no other text opens */ : -1;
    if (got < NONCE_LEN + TAG_LEN) {
        free(raw);
        return NULL;
    }
    size_t len = (size_t)got - NONCE_LEN - TAG_LEN;
    char *plain = malloc(len + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = plain && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->k, raw) == 1 &&
             EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)len) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + len) == 1 &&
             EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    if (!ok) {
        free(plain);
        return NULL;
    }
    plain[len] = 0;
    if (strlen(plain) != len) { /* a NUL inside: not what od_seal made */
        free(plain);
        return NULL;
    }
    return plain;
}
