/* RFC 3339 parsing and formatting. */
#include "check.h"
#include "core/clock.h"

int main(void) {
    static const struct {
        const char *in;
        int ok;
        long long ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 1, 0},
        {"2026-11-22T10:00:00Z", 1, 1795341600000LL},
        {"2026-11-22T10:00:00.5Z", 1, 1795341600500LL},
        {"2026-11-22T12:00:00+02:00", 1, 1795341600000LL},
        {"2026-11-22T05:30:00-04:30", 1, 1795341600000LL},
        {"2026-11-22t10:00:00z", 1, 1795341600000LL},
        {"2024-02-29T00:00:00Z", 1, 1709164800000LL},
        {"2026-02-29T00:00:00Z", 0, 0}, /* not a leap year */
        {"2026-11-22T10:00:00", 0, 0},  /* no zone */
        {"2026-11-22", 0, 0},
        {"2026-13-01T00:00:00Z", 0, 0},
        {"2026-11-22T24:00:00Z", 0, 0},
        {"2026-11-22T10:00:00.Z", 0, 0},
        {"2026-11-22T10:00:00Zjunk", 0, 0},
        {"", 0, 0},
        {"0000-01-01T00:00:00Z", 1, -62167219200000LL}, /* parses; not storable (below) */
        {"1969-12-31T23:59:59.999Z", 1, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t ms = -1;
        int rc = od_clock_parse_rfc3339(cases[i].in, &ms);
        CHECK((rc == 0) == cases[i].ok, "\"%s\" rc=%d", cases[i].in, rc);
        if (cases[i].ok) CHECK(ms == cases[i].ms, "\"%s\" ms=%lld", cases[i].in, (long long)ms);
    }
    char buf[40];
    od_clock_format_rfc3339(1795341600500LL, buf, sizeof buf);
    CHECK_STR(buf, "2026-11-22T10:00:00.500Z", "format");
    int64_t back;
    CHECK(od_clock_parse_rfc3339(buf, &back) == 0 && back == 1795341600500LL, "round trip");
    /* Before 1970: the fraction counts forward from the second below. */
    static const struct {
        long long ms;
        const char *want;
    } fmts[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {-1500, "1969-12-31T23:59:58.500Z"},
        {OD_CLOCK_MIN_MS, "0001-01-01T00:00:00.000Z"},
        {OD_CLOCK_MAX_MS, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        od_clock_format_rfc3339(fmts[i].ms, buf, sizeof buf);
        CHECK_STR(buf, fmts[i].want, "format");
        CHECK(od_clock_parse_rfc3339(buf, &back) == 0 && back == fmts[i].ms, "round trip %s", buf);
    }

    /* Storable: what PostgreSQL's timestamptz takes and four digits write. */
    static const struct {
        const char *in;
        int storable;
    } st[] = {
        {"0001-01-01T00:00:00Z", 1},
        {"0000-12-31T23:59:59.999Z", 0}, /* year 0: PostgreSQL has none */
        {"0000-01-01T00:00:00Z", 0},
        {"0001-01-01T00:00:00+00:01", 0}, /* year 0 once in UTC */
        {"1970-01-01T00:00:00Z", 1},
        {"9999-12-31T23:59:59.999Z", 1},
        {"9999-12-31T23:59:59-00:01", 0}, /* year 10000 in UTC */
    };
    for (size_t i = 0; i < sizeof st / sizeof *st; i++) {
        int64_t ms = 0;
        CHECK(od_clock_parse_rfc3339(st[i].in, &ms) == 0, "%s parses", st[i].in);
        CHECK(od_clock_storable(ms) == st[i].storable, "%s storable=%d", st[i].in,
              od_clock_storable(ms));
    }
    return CHECK_DONE();
}
