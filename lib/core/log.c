/* JSON-lines logger on stderr (see log.h). */
#include "core/log.h"
#include "core/clock.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static od_log_level_t threshold = OD_LOG_INFO;
static const char *component = "outdial";
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int od_log_set_level(const char *name) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            threshold = (od_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void od_log_set_component(const char *comp) { component = comp; }

int od_log_enabled(od_log_level_t level) { return level >= threshold; }

/* Appends `s` JSON-escaped to buf at *pos, never past cap-1. */
static void put_escaped(char *buf, size_t cap, size_t *pos, const char *s) {
    for (; *s && *pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c < 0x20) {
            *pos += (size_t)snprintf(buf + *pos, cap - *pos, "\\u%04x", c);
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

/* A JSON number: -?digits(.digits)?, no more than 30 characters. */
static int is_number(const char *v) {
    const char *p = v;
    if (!p || !*p || strlen(p) > 30) return 0;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == 0;
}

static void emit(od_log_level_t level, const char *msg, va_list kv) {
    char buf[4096], ts[40];
    size_t pos = 0;
    od_clock_format_rfc3339(od_clock_now_ms(), ts, sizeof ts);
    pos += (size_t)snprintf(buf, sizeof buf,
                            "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":\"%s\",\"msg\":\"", ts,
                            level_names[level], component);
    put_escaped(buf, sizeof buf, &pos, msg);
    buf[pos++] = '"';
    for (;;) {
        const char *k = va_arg(kv, const char *);
        if (!k) break;
        const char *v = va_arg(kv, const char *);
        if (pos + 8 >= sizeof buf) break;
        int number = k[0] == '#' && is_number(v);
        if (k[0] == '#') k++;
        buf[pos++] = ',';
        buf[pos++] = '"';
        put_escaped(buf, sizeof buf, &pos, k);
        buf[pos++] = '"';
        buf[pos++] = ':';
        if (!number) buf[pos++] = '"';
        put_escaped(buf, sizeof buf, &pos, v ? v : "");
        if (!number) buf[pos++] = '"';
    }
    if (pos + 3 > sizeof buf) pos = sizeof buf - 3;
    buf[pos++] = '}';
    buf[pos++] = '\n';
    fwrite(buf, 1, pos, stderr);
}

static void emit_kv(od_log_level_t level, const char *msg, ...) {
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, ap);
    va_end(ap);
}

void od_log(od_log_level_t level, const char *fmt, ...) {
    if (level < threshold) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_kv(level, msg, (const char *)NULL);
}

void od_logkv(od_log_level_t level, const char *msg, ...) {
    if (level < threshold) return;
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, ap);
    va_end(ap);
}
