/* The webhook address filter (SSRF): which destinations are refused by
 * default, table-driven. Includes http.c to reach its static filter. */
#include "check.h"
#include "webhook/http.c"

static int refused(const char *ip) {
    struct sockaddr_storage ss = {0};
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1) return -1;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1) return -1;
    }
    return private_addr((const struct sockaddr *)&ss);
}

int main(void) {
    static const struct {
        const char *ip;
        int refused;
    } cases[] = {
        {"127.0.0.1", 1},
        {"10.1.2.3", 1},
        {"172.16.0.1", 1},
        {"192.168.1.1", 1},
        {"169.254.169.254", 1},
        {"100.64.0.1", 1},
        {"0.0.0.0", 1},
        {"224.0.0.1", 1},
        {"255.255.255.255", 1},
        {"198.18.0.1", 1}, /* benchmarking, 198.18.0.0/15 */
        {"198.19.255.254", 1},
        {"192.0.0.8", 1}, /* IETF protocol assignments, 192.0.0.0/24 */
        {"198.17.255.255", 0},
        {"198.20.0.0", 0},
        {"192.0.1.1", 0},
        {"8.8.8.8", 0},
        {"93.184.216.34", 0},
        {"::1", 1},
        {"::", 1},
        {"fe80::1", 1},
        {"fc00::1", 1},
        {"ff02::1", 1},
        {"::ffff:127.0.0.1", 1},
        {"::ffff:8.8.8.8", 0},
        {"::127.0.0.1", 1}, /* IPv4-compatible */
        {"::8.8.8.8", 1},
        {"64:ff9b::7f00:1", 1}, /* NAT64 of 127.0.0.1 */
        {"64:ff9b::808:808", 1},
        {"64:ff9b:1::a00:1", 1}, /* local-use NAT64 */
        {"2001:4860:4860::8888", 0},
        {"2606:4700::1111", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(refused(cases[i].ip) == cases[i].refused, "%s: got %d", cases[i].ip,
              refused(cases[i].ip));
    return CHECK_DONE();
}
