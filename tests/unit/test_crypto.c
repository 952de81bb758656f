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
}

int main(void) {
    hmac();
    keys();
    seal();
    return CHECK_DONE();
}
