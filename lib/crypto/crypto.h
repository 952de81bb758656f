/* Cryptography: the only code that includes OpenSSL. HMAC-SHA256 (webhook
 * signatures) and sealing of secrets that travel on internal topics: trunk
 * and agent passwords in dial work are sealed by the schedulers and opened
 * by the dialers with a key both hold (OUTDIAL_CREDENTIALS_KEY_FILE), so
 * no password is ever in clear on a topic (docs/operations.md,
 * "Credentials"). */
#ifndef OD_CRYPTO_H
#define OD_CRYPTO_H

#include "core/err.h"

#include <stddef.h>

#define OD_HMAC_SHA256_LEN 32
#define OD_SEAL_KEY_LEN 32

/* out = HMAC-SHA256(key, msg). */
void od_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                           unsigned char out[OD_HMAC_SHA256_LEN]);

/* A sealing key: 32 random bytes, written in its file as 64 hex digits
 * (e.g. `openssl rand -hex 32`). */
typedef struct {
    unsigned char k[OD_SEAL_KEY_LEN];
    int set;
} od_seal_key_t;

/* Reads the key from the file at `path` (surrounding white space allowed).
 * path NULL or "": no key (key->set 0), returns 0. Returns -1 with a
 * message in err if the file cannot be read or is not 64 hex digits. */
int od_seal_key_load(od_seal_key_t *key, const char *path, char *err, size_t errsz) OD_MUSTCHECK;

/* Seals `plain` with AES-256-GCM under a fresh random nonce: returns a new
 * string "v1.<base64url(nonce | ciphertext | tag)>" (free() it), or NULL if
 * the key is not set. The text is authenticated: any change is refused by
 * od_unseal. */
char *od_seal(const od_seal_key_t *key, const char *plain);

/* Opens what od_seal made with the same key: returns the plain text (free()
 * it), or NULL if the key is not set, differs, or the text was changed. */
char *od_unseal(const od_seal_key_t *key, const char *sealed);

#endif
