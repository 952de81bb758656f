/* E.164 syntax check (see e164.h). */
#include "domain/e164.h"

int od_e164_valid(const char *s) {
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9') return 0;
    int n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9' || n >= 15) return 0;
    return n >= 7;
}
