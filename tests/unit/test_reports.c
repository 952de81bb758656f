/* What the reports loop does in C with the dialers' messages before
 * od_reports (SQL) applies them: the batch as one json[] literal, in which
 * a message PostgreSQL's json cannot take would fail the cast and with it
 * every report of the batch. Includes reports.c to reach its encoder. */
#include "check.h"
#include "scheduler/reports.c"

int main(void) {
    od_log_set_level("error");
    /* The middle message has a NUL after a number, which jansson takes for
     * a JSON object (found by fuzz_reports,
     * tests/fuzz/corpus/reports/regress_nul_after_number.bin); then one
     * that is not UTF-8, one that is not an object, one with quotes. */
    static const struct {
        const char *v;
        size_t len;
    } in[] = {
        {"{\"type\":\"ringing\",\"attempt\":1}", 30},
        {"{\"\":1\0}", 7},
        {"{\"type\":\"ended\",\"sip_reason\":\"\xc3\x28\"}", 37},
        {"[1]", 3},
        {"{\"sip_reason\":\"a \\\"b\\\" c\"}", 26},
    };
    od_kafka_msg_t msgs[5];
    for (int i = 0; i < 5; i++)
        msgs[i] = (od_kafka_msg_t){
            .topic = "outdial.reports", .offset = i, .value = in[i].v, .len = in[i].len};
    od_buf_t lit = {0};
    encode(&lit, msgs, 5, 0);
    CHECK_STR(lit.data,
              "{\"{\\\"type\\\":\\\"ringing\\\",\\\"attempt\\\":1}\","
              "\"{\\\"sip_reason\\\":\\\"a \\\\\\\"b\\\\\\\" c\\\"}\"}",
              "only the JSON objects in UTF-8, as sent");
    od_buf_free(&lit);
    return CHECK_DONE();
}
