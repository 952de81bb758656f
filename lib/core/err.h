/* One error space for the whole project (negative codes, like libuv and
 * librdkafka), with od_strerror() for messages. Fallible functions return
 * OD_OK (0) or one of these, and say in their doc comment which are
 * retriable. */
#ifndef OD_CORE_ERR_H
#define OD_CORE_ERR_H

#define OD_MUSTCHECK __attribute__((warn_unused_result))

typedef enum {
    OD_OK = 0,
    OD_ERR_INVALID = -1,   /* bad input: fatal for that input */
    OD_ERR_NOMEM = -2,     /* out of memory */
    OD_ERR_DB = -3,        /* database unreachable or failed: retriable */
    OD_ERR_KAFKA = -4,     /* Kafka client error */
    OD_ERR_NOT_FOUND = -5, /* the thing asked for does not exist */
    OD_ERR_IO = -6,        /* file or socket error */
    OD_ERR_TIMEOUT = -7,   /* gave up waiting: retriable */
    OD_ERR_STOPPED = -8,   /* shutting down */
} od_err_t;

/* A short English description of `err`; never NULL. */
const char *od_strerror(int err);

#endif
