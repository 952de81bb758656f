/* Messages for od_err_t. */
#include "core/err.h"

const char *od_strerror(int err) {
    switch ((od_err_t)err) {
    case OD_OK: return "success";
    case OD_ERR_INVALID: return "invalid input";
    case OD_ERR_NOMEM: return "out of memory";
    case OD_ERR_DB: return "database error";
    case OD_ERR_KAFKA: return "kafka error";
    case OD_ERR_NOT_FOUND: return "not found";
    case OD_ERR_IO: return "i/o error";
    case OD_ERR_TIMEOUT: return "timed out";
    case OD_ERR_STOPPED: return "stopped";
    }
    return "unknown error";
}
