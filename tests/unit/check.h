/* A minimal test harness: CHECK records a failure and goes on; main()
 * returns CHECK_DONE(), non-zero if anything failed, after printing
 * "N passed, N failed". */
#ifndef OD_TEST_CHECK_H
#define OD_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int check_str_eq(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}
static inline const char *check_str_show(const char *s) { return s ? s : "(null)"; }

#define CHECK_STR(a, b, ctx)                                                                       \
    CHECK(check_str_eq((a), (b)), "%s: got \"%s\", want \"%s\"", ctx, check_str_show(a),           \
          check_str_show(b))

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed != 0)

#endif
