/* lib/webhook/sign.c and the base64 codec under it: Standard Webhooks
 * signatures against vectors computed by the spec's reference library
 * (Python standardwebhooks 1.1.0, Webhook.sign), rotation (two
 * signatures), and which secrets provisioning refuses. */
#include "check.h"
#include "core/buf.h"
#include "webhook/sign.h"

static void vectors(void) {
    const char *body = "{\"test\": 2432232314}";
    const char *s1[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
    od_buf_t b = {0};
    CHECK(od_webhook_signature(s1, 1, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                               strlen(body), &b) == 1,
          "one signature");
    CHECK_STR(b.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
              "the reference library's signature (whsec_ secret)");
    od_buf_reset(&b);
    const char *s2[] = {"s3cret"};
    od_webhook_signature(s2, 1, "e1", 1700000000, "{}", 2, &b);
    CHECK_STR(b.data, "v1,R411n4fO6K2NeN1TS3fMZRyziLkAwMMwRba2WZj0mOU=",
              "a secret without whsec_ keys the HMAC with its own bytes");
    od_buf_reset(&b);
    const char *rot[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "s3cret", "", NULL};
    CHECK(od_webhook_signature(rot, 4, "e1", 1700000000, "{}", 2, &b) == 2,
          "rotation: the current and the previous secret; empty and absent ones skipped");
    CHECK(!strncmp(b.data, "v1,", 3) &&
              strstr(b.data, " v1,R411n4fO6K2NeN1TS3fMZRyziLkAwMMwRba2WZj0mOU="),
          "rotation: space-separated, the previous one's second: %s", b.data);
    od_buf_free(&b);
}

static void secrets(void) {
    CHECK(!od_webhook_secret_problem("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "24 bytes");
    CHECK(!od_webhook_secret_problem("s3cret"), "a plain secret");
    CHECK(od_webhook_secret_problem("whsec_MfKQ9r8G"), "whsec_ of 9 bytes: too short");
    CHECK(od_webhook_secret_problem("whsec_not*base64*at*all*not*base64*"), "whsec_ not base64");
    CHECK(od_webhook_secret_problem("two words"), "a space");
    CHECK(od_webhook_secret_problem("tab\there"), "a control character");
}

static void codec(void) {
    unsigned char out[16];
    od_buf_t b = {0};
    od_buf_base64(&b, "f", 1);
    od_buf_base64(&b, "fo", 2);
    od_buf_base64(&b, "foo", 3);
    CHECK_STR(b.data, "Zg==Zm8=Zm9v", "RFC 4648 section 10, padded");
    od_buf_free(&b);
    CHECK(od_base64_decode("Zm8=", 0, out, sizeof out) == 2 && !memcmp(out, "fo", 2), "padded");
    CHECK(od_base64_decode("Zm8", 0, out, sizeof out) == 2, "unpadded standard");
    CHECK(od_base64_decode("Zm9=", 0, out, sizeof out) == -1, "unused bits set: not canonical");
    CHECK(od_base64_decode("Zg=", 0, out, sizeof out) == -1, "padding short of a quantum");
    CHECK(od_base64_decode("Zm8=", 1, out, sizeof out) == -1, "base64url takes no padding");
    CHECK(od_base64_decode("-_8", 1, out, sizeof out) == 2 && out[0] == 0xfb && out[1] == 0xff,
          "base64url alphabet");
    CHECK(od_base64_decode("-_8", 0, out, sizeof out) == -1, "not the standard alphabet");
    CHECK(od_base64_decode("Zm9vYmFy", 0, out, 3) == -1, "longer than out");
}

int main(void) {
    vectors();
    secrets();
    codec();
    return CHECK_DONE();
}
