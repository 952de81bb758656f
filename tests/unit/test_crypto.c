/* lib/crypto: HMAC-SHA256 against RFC 4231, sealing round trips, and what
 * must be refused (another key, a changed text, a malformed key file). */
#include "check.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <unistd.h>

static void hmac(void) {
    unsigned char mac[OD_HMAC_SHA256_LEN];
    char hex[65];
    const char *msg = "what do ya want for nothing?";
    od_crypto_hmac_sha256("Jefe", 4, msg, strlen(msg), mac);
    for (int i = 0; i < OD_HMAC_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
              "RFC 4231 test case 2");
}

static int key_from(const char *text, od_seal_key_t *key, char *err) {
    char path[] = "/tmp/od_test_key_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -2;
    if (write(fd, text, strlen(text)) < 0) return -2;
    close(fd);
    int rc = od_seal_key_load(key, path, err, 200);
    unlink(path);
    return rc;
}

static void keys(void) {
    od_seal_key_t k;
    char err[200];
    CHECK(od_seal_key_load(&k, NULL, err, sizeof err) == 0 && !k.set, "no file: no key");
    CHECK(key_from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", &k, err) ==
                  0 &&
              k.set && k.k[1] == 0x11,
          "64 hex digits and a newline");
    CHECK(key_from("0011", &k, err) == -1 && strstr(err, "64 hex"), "too short: %s", err);
    CHECK(key_from("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &k, err) ==
              -1,
          "not hex");
    CHECK(od_seal_key_load(&k, "/nonexistent/key", err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/key"),
          "unreadable: %s", err);
}

static void seal(void) {
    od_seal_key_t a = {.set = 1}, b = {.set = 1}, none = {0};
    memset(a.k, 7, sizeof a.k);
    memset(b.k, 8, sizeof b.k);
    const char *secrets[] = {"p", "", "s3cret with spaces and ünïcödé", "a:b@c;d=\"e\""};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        char *s = od_seal(&a, secrets[i]);
        CHECK(s && !strncmp(s, "v1.", 3), "sealed form");
        CHECK(s && (strlen(secrets[i]) < 4 || !strstr(s + 3, secrets[i])),
              "the secret is not in clear");
        char *p = s ? od_unseal(&a, s) : NULL;
        CHECK_STR(p, secrets[i], "round trip");
        free(p);
        CHECK(s && !od_unseal(&b, s), "another key cannot open it");
        CHECK(s && !od_unseal(&none, s), "no key cannot open it");
        if (s && strlen(s) > 5) {
            s[5] = s[5] == 'A' ? 'B' : 'A';
            CHECK(!od_unseal(&a, s), "a changed text is refused");
        }
        free(s);
    }
    char *s1 = od_seal(&a, "same"), *s2 = od_seal(&a, "same");
    CHECK(s1 && s2 && strcmp(s1, s2), "a fresh nonce each time");
    free(s1);
    free(s2);
    CHECK(!od_seal(&none, "x"), "no key: nothing sealed");
    CHECK(!od_unseal(&a, "v1.") && !od_unseal(&a, "garbage") && !od_unseal(&a, "v1.!!!!"),
          "malformed input refused");

    /* Only the spelling od_seal writes opens (found by fuzz_unseal,
     * tests/fuzz/corpus/unseal/regress_base64_low_bits.bin): the last digit
     * of 28 bytes in base64url carries 4 unused bits; setting any of them,
     * or adding a dangling digit, is a change and is refused. */
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *e = od_seal(&a, ""); /* 12 + 16 bytes: 38 digits */
    CHECK(e && strlen(e) == 3 + 38, "sealed length %zu", e ? strlen(e) : 0);
    if (e) {
        size_t last = strlen(e) - 1;
        long v = strchr(B64, e[last]) - B64;
        CHECK((v & 15) == 0, "od_seal leaves the unused bits zero");
        for (int bit = 1; bit < 16; bit <<= 1) {
            e[last] = B64[v ^ bit];
            char *p = od_unseal(&a, e);
            CHECK(!p, "unused bit %d set: refused", bit);
            free(p);
        }
        e[last] = B64[v];
        char *p = od_unseal(&a, e);
        CHECK_STR(p, "", "the text as sealed still opens");
        free(p);
        char *longer = malloc(strlen(e) + 2);
        sprintf(longer, "%sA", e);
        CHECK(!od_unseal(&a, longer), "a dangling digit is refused");
        free(longer);
    }
    free(e);
}

/* FIPS 180 examples; keys drawn twice differ and have the documented shape. */
static void digests_and_keys(void) {
    char hex[OD_SHA256_HEX_LEN];
    od_crypto_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
              "sha256 abc");
    unsigned char d[OD_SHA1_LEN];
    od_crypto_sha1("abc", 3, d);
    CHECK(d[0] == 0xa9 && d[1] == 0x99 && d[19] == 0x9d, "sha1 abc");
    CHECK(od_crypto_equal("abcd", "abcd", 4) && !od_crypto_equal("abcd", "abce", 4), "equal");
    char k1[OD_API_KEY_LEN], k2[OD_API_KEY_LEN];
    CHECK(od_crypto_api_key(k1) == 0 && od_crypto_api_key(k2) == 0, "keys drawn");
    CHECK(strlen(k1) == 43 && !strncmp(k1, "od_", 3), "shape: %s", k1);
    CHECK(strspn(k1 + 3, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == 40,
          "base62: %s", k1);
    CHECK(strcmp(k1, k2) != 0, "two keys differ");
}

int main(void) {
    digests_and_keys();
    hmac();
    keys();
    seal();
    return CHECK_DONE();
}
