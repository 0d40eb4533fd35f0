/*
 * fuzz — what the harnesses share: the libFuzzer entry point they define,
 * an exact-size copy of the input (so ASan sees a read one byte past the
 * end, which a harness handing out libFuzzer's own buffer would not always
 * catch once it is NUL-terminated by accident), and a splitter that cuts an
 * input into pieces at positions taken from its own bytes, for parsers fed
 * in pieces (SSE, streamed bodies).
 */
#ifndef RK_FUZZ_H
#define RK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* malloc'd copy of n bytes; nul != 0 adds a terminating NUL (for APIs that
 * take C strings). Aborts on no memory: a harness has nothing to recover. */
static inline char *fz_dup(const uint8_t *p, size_t n, int nul)
{
    char *c = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul));
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    if (nul)
        c[n] = '\0';
    return c;
}

/* The first byte picks a mode (0..modes-1) and is consumed. */
static inline unsigned fz_mode(const uint8_t **p, size_t *n, unsigned modes)
{
    if (*n == 0)
        return 0;
    unsigned m = (*p)[0] % modes;
    (*p)++, (*n)--;
    return m;
}

/* The next piece of a streamed input: its length is taken from seed (a
 * rolling value mixed from the input), 1..max bytes. */
static inline size_t fz_piece(uint32_t *seed, size_t left, size_t max)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t k = 1 + (*seed >> 8) % max;
    return k < left ? k : left;
}

/* Lines of the input, for harnesses that take several fields: the next
 * line (up to '\n', not included) as an exact-size NUL-terminated copy;
 * NULL when the input is used up. */
static inline char *fz_line(const uint8_t **p, size_t *n)
{
    if (*n == 0)
        return NULL;
    const uint8_t *nl = memchr(*p, '\n', *n);
    size_t k = nl ? (size_t)(nl - *p) : *n;
    char *s = fz_dup(*p, k, 1);
    *p += k + (nl ? 1 : 0);
    *n -= k + (nl ? 1 : 0);
    return s;
}

#endif
