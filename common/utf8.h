/*
 * utf8 — writing one code point as UTF-8, for every module that builds
 * text (the core's text normalisation, the tokenizer plugins share, the
 * extractive answerer, the Postgres folding). Header-only: a plugin needs
 * no extra source to use it. Reading UTF-8 is oj_utf8_seq (oj.h).
 */
#ifndef RK_COMMON_UTF8_H
#define RK_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cp as 1 to 4 bytes in out; NUL, surrogates and values past U+10FFFF are
 * written as U+FFFD. Returns the number of bytes. */
static inline size_t utf8_put(char out[4], uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
