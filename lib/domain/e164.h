/* E.164 telephone numbers as outdial accepts them: '+', a country code that
 * does not start with 0, and 7 to 15 digits in all; nothing else (no spaces,
 * dashes or extensions), so one number has one spelling and the
 * per-destination lock can compare strings. */
#ifndef OD_DOMAIN_E164_H
#define OD_DOMAIN_E164_H

/* Returns 1 if `s` is a number in that form, else 0. NULL is not. */
int od_e164_valid(const char *s);

#endif
