/* E.164 syntax, table-driven. */
#include "check.h"
#include "domain/e164.h"

int main(void) {
    static const struct {
        const char *in;
        int ok;
    } cases[] = {
        {"+14155550100", 1},      /* NANP */
        {"+442071838750", 1},     /* UK */
        {"+6834002", 1},          /* 7 digits: Niue, the shortest accepted */
        {"+683400", 0},           /* 6 digits */
        {"+123456789012345", 1},  /* 15 digits: the E.164 maximum */
        {"+1234567890123456", 0}, /* 16 digits */
        {"14155550100", 0},       /* no '+' */
        {"+04155550100", 0},      /* country code cannot start with 0 */
        {"+1 415 555 0100", 0},   /* spaces */
        {"+1-415-555-0100", 0},   /* dashes */
        {"+1415555010a", 0},      /* letter */
        {"+", 0},
        {"", 0},
        {"++14155550100", 0},
        {"+14155550100 ", 0}, /* trailing space */
        {"+1415555\n0100", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(od_e164_valid(cases[i].in) == cases[i].ok, "\"%s\"",
              cases[i].in ? cases[i].in : "NULL");
    return CHECK_DONE();
}
