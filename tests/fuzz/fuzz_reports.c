/* Dialer reports as the scheduler takes them (lib/scheduler/reports.c,
 * included to reach its static encoder): C only checks that each message
 * is a JSON object and writes the batch as the text[] literal that
 * od_reports (schemas/sql) applies; the rest happens in SQL. Input: a
 * batch of message values separated by 0xff bytes (never part of UTF-8).
 * Checked: the literal is one PostgreSQL accepts, holds exactly the
 * messages that are JSON objects in UTF-8 without NUL (PostgreSQL's json
 * takes no other, and one element it refuses fails the whole batch), in
 * order, each byte for byte as sent. */
#include "fuzz.h"
#include "pg_array.h"
#include "scheduler/reports.c"

#include <string.h>

#define MAX_MSGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    od_log_set_level("error"); /* encode() warns of each skipped message */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    od_kafka_msg_t msgs[MAX_MSGS];
    int n = 0;
    for (size_t i = 0; i <= size && n < MAX_MSGS;) {
        const uint8_t *sep = memchr(data + i, 0xff, size - i);
        size_t len = sep ? (size_t)(sep - data) - i : size - i;
        msgs[n] = (od_kafka_msg_t){.topic = "calls.dialer", .partition = 0, .offset = n};
        char *v = malloc(len ? len : 1); /* not NUL-terminated, as from the broker */
        memcpy(v, data + i, len);
        msgs[n].value = v;
        msgs[n++].len = len;
        i += len + 1;
    }
    od_buf_t lit = {0};
    for (int fresh = 0; fresh <= n; fresh += n ? n : 1) { /* with and without the warnings */
        encode(&lit, msgs, n, fresh);
        pg_array_t a;
        pg_array_read(lit.data, &a, "reports");
        int k = 0;
        for (int i = 0; i < n; i++) {
            json_t *j = json_loadb(msgs[i].value, msgs[i].len, 0, NULL);
            if (json_is_object(j) && od_utf8_valid(msgs[i].value, msgs[i].len)) {
                FUZZ_CHECK(k < a.n, "report %d missing from the batch", i);
                FUZZ_CHECK(a.elem[k] && strlen(a.elem[k]) == msgs[i].len &&
                               !memcmp(a.elem[k], msgs[i].value, msgs[i].len),
                           "report %d not passed as sent", i);
                k++;
            }
            json_decref(j);
        }
        FUZZ_CHECK(k == a.n, "%d elements for %d reports", a.n, k);
        pg_array_free(&a);
    }
    od_buf_free(&lit);
    for (int i = 0; i < n; i++)
        free((void *)msgs[i].value);
    return 0;
}
