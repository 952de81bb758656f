/* Rejection codes: why a request was never admitted. The names are the
 * public `error_code` values of `call.rejected` events (docs/events.md). */
#ifndef OD_DOMAIN_REJECT_H
#define OD_DOMAIN_REJECT_H

typedef enum {
    OD_REJ_NONE = 0,
    OD_REJ_INVALID_REQUEST,
    OD_REJ_INVALID_PHONE_NUMBER,
    OD_REJ_ORG_NOT_FOUND,
    OD_REJ_NUMBER_NOT_OWNED,
    OD_REJ_OUTBOUND_DISABLED,
    OD_REJ_AGENT_NOT_FOUND,
    OD_REJ_INSUFFICIENT_BALANCE,
} od_reject_t;

/* "INVALID_REQUEST" etc.; NULL for OD_REJ_NONE. */
const char *od_reject_code(od_reject_t r);

#endif
