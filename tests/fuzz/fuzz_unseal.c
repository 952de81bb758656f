/* lib/crypto's od_unseal: sealed passwords come off the dial work topic.
 * Input: one byte of mode, then the rest.
 *   mode even: the rest, as text, is opened with a fixed key: whatever it
 *              is, od_unseal returns NULL or a NUL-free string, never
 *              reads or writes out of bounds.
 *   mode odd:  the rest, up to a NUL, is sealed and opened again (it must
 *              come back as it was); then the sealed text is changed at a
 *              place and in bits the input picks (its last three bytes),
 *              and the changed text must be refused (crypto.h: "any change
 *              is refused"). */
#include "crypto/crypto.h"
#include "fuzz.h"

#include <string.h>

static od_seal_key_t key;
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    for (int i = 0; i < OD_SEAL_KEY_LEN; i++)
        key.k[i] = (unsigned char)(i * 7 + 1);
    key.set = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (!(data[0] & 1)) {
        char *plain = od_unseal(&key, text);
        free(plain);
        free(text);
        return 0;
    }
    /* The last three bytes, if any, say where and what to change. */
    size_t plain_len = strlen(text), tail = size - 1 >= 3 ? 3 : 0;
    if (plain_len > size - 1 - tail) plain_len = size - 1 - tail;
    text[plain_len] = 0;
    char *sealed = od_seal(&key, text);
    FUZZ_CHECK(sealed, "od_seal failed");
    char *back = od_unseal(&key, sealed);
    FUZZ_CHECK(back && !strcmp(back, text), "sealed then opened: \"%s\", not \"%s\"",
               back ? back : "(null)", text);
    free(back);
    if (tail) {
        const uint8_t *t = data + size - 3;
        size_t len = strlen(sealed), at = ((size_t)t[0] << 8 | t[1]) % len;
        char was = sealed[at];
        /* At a base64url digit: flip some of its six bits (which ones is
         * the input's choice, so the outcome does not depend on the random
         * nonce); elsewhere (the "v1." prefix): any other byte. */
        const char *digit = at >= 3 ? strchr(B64, was) : NULL;
        if (digit)
            sealed[at] = B64[(digit - B64) ^ (t[2] % 63 + 1)];
        else
            sealed[at] = t[2] ? (char)t[2] : 'A';
        if (sealed[at] != was) {
            back = od_unseal(&key, sealed);
            FUZZ_CHECK(!back, "byte %zu of \"%s\" changed from 0x%02x, and it still opens", at,
                       sealed, (unsigned char)was);
        }
    }
    free(sealed);
    free(text);
    return 0;
}
