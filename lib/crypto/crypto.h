/* Cryptography: the only code that includes OpenSSL. HMAC-SHA256 (webhook
 * signatures), digests (name-based call ids, API key hashes), API keys from
 * the CSPRNG, constant-time comparison, and sealing of secrets that travel on internal topics:
 * trunk and agent passwords in dial work are sealed by the schedulers and opened by the dialers
 * with a key both hold (OUTDIAL_CREDENTIALS_KEY_FILE), so no password is ever in clear on a topic
 * (docs/operations.md, "Credentials"). */
#ifndef OD_CRYPTO_H
#define OD_CRYPTO_H

#include "core/err.h"

#include <stddef.h>

#define OD_HMAC_SHA256_LEN 32
#define OD_SEAL_KEY_LEN 32

/* out = HMAC-SHA256(key, msg). */
void od_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                           unsigned char out[OD_HMAC_SHA256_LEN]);

#define OD_SHA1_LEN 20
#define OD_SHA256_LEN 32
#define OD_SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* out = SHA-1(msg): only where a standard asks for it (UUID version 5,
 * RFC 9562), never to authenticate. */
void od_crypto_sha1(const void *msg, size_t len, unsigned char out[OD_SHA1_LEN]);

/* out = SHA-256(msg) as 64 lowercase hex digits. */
void od_crypto_sha256_hex(const void *msg, size_t len, char out[OD_SHA256_HEX_LEN]);

/* 1 if the n bytes at a and b are equal; the time taken does not depend on
 * where they differ. */
int od_crypto_equal(const void *a, const void *b, size_t n);

/* A new API key: "od_" and 40 characters of [0-9A-Za-z] drawn uniformly
 * from the operating system's CSPRNG (about 238 bits). Returns 0, or -1 if
 * the CSPRNG failed (out is then ""). */
#define OD_API_KEY_PREFIX "od_"
#define OD_API_KEY_LEN 44 /* "od_", 40 characters and the NUL */
int od_crypto_api_key(char out[OD_API_KEY_LEN]) OD_MUSTCHECK;

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
