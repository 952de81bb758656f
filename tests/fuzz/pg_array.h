/* A strict reader of the PostgreSQL text[] literals lib/core/buf.c writes
 * ({"a","b\"c",NULL}), for the harnesses to check what would reach the
 * database: a well-formed literal whose elements are UTF-8 without NUL, as
 * PostgreSQL requires of text. */
#ifndef OD_FUZZ_PG_ARRAY_H
#define OD_FUZZ_PG_ARRAY_H

#include "core/utf8.h"
#include "fuzz.h"

#include <string.h>

typedef struct {
    int n;       /* elements */
    char **elem; /* decoded, NULL for NULL; each malloc'd */
} pg_array_t;

static void pg_array_free(pg_array_t *a) {
    for (int i = 0; i < a->n; i++)
        free(a->elem[i]);
    free(a->elem);
    memset(a, 0, sizeof *a);
}

/* Reads `lit` into a; aborts (a broken promise) if it is not well formed. */
static void pg_array_read(const char *lit, pg_array_t *a, const char *what) {
    memset(a, 0, sizeof *a);
    size_t len = strlen(lit), i = 1;
    FUZZ_CHECK(len >= 2 && lit[0] == '{' && lit[len - 1] == '}', "%s: not {...}: %s", what, lit);
    FUZZ_CHECK(od_utf8_valid(lit, len), "%s: literal is not UTF-8", what);
    while (i < len - 1) {
        if (a->n) {
            FUZZ_CHECK(lit[i] == ',', "%s: no comma at byte %zu", what, i);
            i++;
        }
        a->elem = realloc(a->elem, (size_t)(a->n + 1) * sizeof *a->elem);
        if (!strncmp(lit + i, "NULL", 4) && (lit[i + 4] == ',' || i + 4 == len - 1)) {
            a->elem[a->n++] = NULL;
            i += 4;
            continue;
        }
        FUZZ_CHECK(lit[i] == '"', "%s: element %d not quoted", what, a->n);
        char *e = malloc(len), *o = e;
        for (i++; i < len - 1 && lit[i] != '"'; i++) {
            if (lit[i] == '\\') i++;
            *o++ = lit[i];
        }
        FUZZ_CHECK(i < len - 1, "%s: element %d unterminated", what, a->n);
        i++; /* the closing quote */
        *o = 0;
        FUZZ_CHECK(od_utf8_valid(e, (size_t)(o - e)), "%s: element %d is not UTF-8", what, a->n);
        a->elem[a->n++] = e;
    }
}

#endif
