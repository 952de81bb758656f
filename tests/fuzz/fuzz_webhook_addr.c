/* The webhook destination filter (lib/webhook/http.c, included to reach
 * its static private_addr), against the list docs/webhooks.md promises,
 * written out here independently. Input: one byte of form, then
 *   form 0: 4 raw bytes, an IPv4 address;
 *   form 1: 16 raw bytes, an IPv6 address;
 *   form 2: an IP address as text, read as the resolver reads an address
 *           literal (getaddrinfo, AI_NUMERICHOST: "127.1", "0x7f.0.0.1",
 *           "::ffff:10.0.0.1", ...);
 *   form 3: a webhook URL, whose host libcurl's URL parser extracts (as
 *           curl does before connecting), then read as in form 2.
 * Checked: refused exactly when the documented list says so. */
#include "fuzz.h"
#include "webhook/http.c"

#include <netdb.h>

static int in4(uint32_t a, uint32_t net, int bits) {
    return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
}

/* docs/webhooks.md: loopback, private, link-local, CGNAT, benchmarking,
 * IETF, multicast; and "this network", reserved and broadcast. */
static int ref_v4(uint32_t a) {
    static const struct {
        uint32_t net;
        int bits;
    } no[] = {
        {0x00000000, 8},  /* 0.0.0.0/8, this network */
        {0x0a000000, 8},  /* 10.0.0.0/8 */
        {0x64400000, 10}, /* 100.64.0.0/10, CGNAT */
        {0x7f000000, 8},  /* 127.0.0.0/8 */
        {0xa9fe0000, 16}, /* 169.254.0.0/16, link-local */
        {0xac100000, 12}, /* 172.16.0.0/12 */
        {0xc0000000, 24}, /* 192.0.0.0/24, IETF */
        {0xc0a80000, 16}, /* 192.168.0.0/16 */
        {0xc6120000, 15}, /* 198.18.0.0/15, benchmarking */
        {0xe0000000, 4},  /* 224.0.0.0/4, multicast */
        {0xf0000000, 4},  /* 240.0.0.0/4, reserved, and broadcast */
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (in4(a, no[i].net, no[i].bits)) return 1;
    return 0;
}

static int ref_v6(const unsigned char *b) {
    static const unsigned char zero[12], mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
                                         nat64[12] = {0, 0x64, 0xff, 0x9b},
                                         nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    if (!memcmp(b, mapped, 12)) /* judged by its IPv4 address */
        return ref_v4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    return !memcmp(b, zero, 12) ||                                /* ::/96: ::, ::1, ::a.b.c.d */
           !memcmp(b, nat64, 12) || !memcmp(b, nat64_local, 6) || /* NAT64 */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||             /* fe80::/10, link-local */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||             /* fec0::/10, site-local */
           b[0] == 0xff ||                                        /* ff00::/8, multicast */
           (b[0] & 0xfe) == 0xfc;                                 /* fc00::/7, unique local */
}

static void check_sockaddr(const struct sockaddr *sa, const char *text) {
    int got = private_addr(sa), want;
    if (sa->sa_family == AF_INET)
        want = ref_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    else
        want = ref_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    char shown[INET6_ADDRSTRLEN] = "?";
    inet_ntop(sa->sa_family,
              sa->sa_family == AF_INET
                  ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                  : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr,
              shown, sizeof shown);
    FUZZ_CHECK(got == want, "%s (%s): filter says %s, docs say %s", shown, text,
               got ? "refused" : "allowed", want ? "refused" : "allowed");
}

static void check_text(const char *host) {
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res)) return;
    for (struct addrinfo *r = res; r; r = r->ai_next)
        if (r->ai_family == AF_INET || r->ai_family == AF_INET6) check_sockaddr(r->ai_addr, host);
    freeaddrinfo(res);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    int form = data[0] & 3;
    data++, size--;
    if (form == 0 && size >= 4) {
        struct sockaddr_in s4 = {.sin_family = AF_INET};
        memcpy(&s4.sin_addr, data, 4);
        check_sockaddr((const struct sockaddr *)&s4, "raw");
    } else if (form == 1 && size >= 16) {
        struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
        memcpy(&s6.sin6_addr, data, 16);
        check_sockaddr((const struct sockaddr *)&s6, "raw");
    } else if (form >= 2) {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;
        if (form == 2) {
            check_text(text);
        } else {
            CURLU *u = curl_url();
            char *host = NULL;
            if (!curl_url_set(u, CURLUPART_URL, text, 0) &&
                !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
                size_t n = strlen(host);
                if (n > 2 && host[0] == '[' && host[n - 1] == ']') { /* an IPv6 literal */
                    host[n - 1] = 0;
                    check_text(host + 1);
                } else {
                    check_text(host);
                }
            }
            curl_free(host);
            curl_url_cleanup(u);
        }
        free(text);
    }
    return 0;
}
