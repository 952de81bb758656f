/* Identifiers: random UUIDv4 for calls and events, and name-based UUIDs
 * (v5-like, from a 128-bit hash) where a retry must yield the same id. */
#ifndef OD_CORE_ID_H
#define OD_CORE_ID_H

#include <stddef.h>
#include <stdint.h>

#define OD_UUID_STRLEN 37 /* 36 characters and the NUL */

/* Writes a random UUIDv4. Thread-safe; seeded from getrandom(). */
void od_uuid_v4(char out[OD_UUID_STRLEN]);

/* Writes a UUID determined by `name` alone (same name, same id). */
void od_uuid_from_name(const char *name, size_t len, char out[OD_UUID_STRLEN]);

/* 64-bit FNV-1a of n bytes, continuing from `h` (start with
 * OD_HASH64_INIT): hashing a then b is od_hash64(b, nb, od_hash64(a, na,
 * OD_HASH64_INIT)). Not cryptographic: tells apart, does not authenticate. */
#define OD_HASH64_INIT 0xcbf29ce484222325ULL
uint64_t od_hash64(const void *p, size_t n, uint64_t h);

#endif
