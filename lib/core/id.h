/* Identifiers: random UUIDv4 for calls and events, and name-based UUIDs
 * (v5-like, from a 128-bit hash) where a retry must yield the same id. */
#ifndef OD_CORE_ID_H
#define OD_CORE_ID_H

#include <stddef.h>

#define OD_UUID_STRLEN 37 /* 36 characters and the NUL */

/* Writes a random UUIDv4. Thread-safe; seeded from getrandom(). */
void od_uuid_v4(char out[OD_UUID_STRLEN]);

/* Writes a UUID determined by `name` alone (same name, same id). */
void od_uuid_from_name(const char *name, size_t len, char out[OD_UUID_STRLEN]);

#endif
