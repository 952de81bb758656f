/* UUID generation (see id.h). Random ids come from a per-thread xoshiro256**
 * generator seeded by getrandom(): ids must be unique, not secret, and a
 * system call per id would cost more than the database insert. */
#include "core/id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static _Thread_local uint64_t rng[4];
static _Thread_local int rng_seeded;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(void) {
    if (!rng_seeded) {
        while (getrandom(rng, sizeof rng, 0) != (ssize_t)sizeof rng) {
        }
        rng_seeded = 1;
    }
    uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return r;
}

static void format(const unsigned char b[16], char out[OD_UUID_STRLEN]) {
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}

void od_uuid_v4(char out[OD_UUID_STRLEN]) {
    unsigned char b[16];
    uint64_t a = next(), c = next();
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format(b, out);
}

/* 64-bit FNV-1a with a seed, run twice for 128 bits. Collisions only matter
 * between names of rejected Kafka messages, whose names are unique. */
static uint64_t fnv(const char *s, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void od_uuid_from_name(const char *name, size_t len, char out[OD_UUID_STRLEN]) {
    unsigned char b[16];
    uint64_t a = fnv(name, len, 0xcbf29ce484222325ULL), c = fnv(name, len, 0x84222325cbf29ce4ULL);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x50);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format(b, out);
}

uint64_t od_hash64(const void *p, size_t n, uint64_t h) { return fnv(p, n, h); }
