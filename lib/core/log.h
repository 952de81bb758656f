/* Structured logging: one JSON object per line on stderr, e.g.
 *   {"ts":"2026-11-22T11:00:00.123Z","level":"warn","comp":"intake",
 *    "msg":"database unreachable","err":"..."}
 * Fields after the message are given as key/value string pairs ending with
 * NULL; a key written "#name" marks a number: the field is "name" and its
 * value goes out as a JSON number (as a string if it is not one). The level is checked before
 * anything is formatted. Thread-safe: each line is written with one fwrite. */
#ifndef OD_CORE_LOG_H
#define OD_CORE_LOG_H

typedef enum { OD_LOG_DEBUG, OD_LOG_INFO, OD_LOG_WARN, OD_LOG_ERROR } od_log_level_t;

/* Sets the threshold; `name` is debug|info|warn|error. Returns 0, or -1 for
 * an unknown name. Call before starting threads. */
int od_log_set_level(const char *name);
void od_log_set_component(const char *comp);
int od_log_enabled(od_log_level_t level);

/* Logs `msg` with printf formatting, then the NULL-terminated key/value
 * pairs given by od_logkv(). */
void od_log(od_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void od_logkv(od_log_level_t level, const char *msg, ...) __attribute__((sentinel));

#define OD_DEBUG(...)                                                                              \
    do {                                                                                           \
        if (od_log_enabled(OD_LOG_DEBUG)) od_log(OD_LOG_DEBUG, __VA_ARGS__);                       \
    } while (0)
#define OD_INFO(...) od_log(OD_LOG_INFO, __VA_ARGS__)
#define OD_WARN(...) od_log(OD_LOG_WARN, __VA_ARGS__)
#define OD_ERROR(...) od_log(OD_LOG_ERROR, __VA_ARGS__)

#endif
