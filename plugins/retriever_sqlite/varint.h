/*
 * varint — LEB128 unsigned integers, the encoding of term bags (analyze.h)
 * and posting lists (memindex.h): small numbers (term frequencies, gaps
 * between chunk ids) take one byte.
 */
#ifndef RK_RETRIEVER_SQLITE_VARINT_H
#define RK_RETRIEVER_SQLITE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 5 /* bytes of a uint32_t */

static inline size_t varint_put(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Decode at *p (not past end); 0 on truncated or overlong input. */
static inline int varint_get(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    uint32_t r = 0;
    for (unsigned shift = 0; *p < end && shift < 35; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint32_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 1;
        }
    }
    return 0;
}

#endif
