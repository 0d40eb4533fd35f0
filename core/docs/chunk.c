/*
 * chunk — cuts a document's text into the passages the retriever indexes
 * and the answerer quotes. Passages should read as whole thoughts, so a
 * cut prefers a paragraph end, then a sentence end, then a word gap, and
 * only as a last resort an arbitrary point (and then still never inside a
 * UTF-8 sequence, so Cyrillic text never gets a broken character). Each
 * passage after the first starts with the tail of the previous one (whole
 * sentences if they fit in the overlap), so a question whose answer
 * straddles a cut still finds both halves together. Only the second half
 * of each window is searched for a cut, which keeps passages from becoming
 * tiny and guarantees progress. Everything is byte arithmetic on one
 * buffer: linear, allocation only for the results, and deterministic.
 */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN_TARGET 16 /* room for a few UTF-8 characters */

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r';
}

static int is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* Does the UTF-8 sequence b (n bytes) end at t[q)? */
static int ends_with(const char *t, size_t q, const char *b, size_t n)
{
    return q >= n && memcmp(t + q - n, b, n) == 0;
}

/* t[p] is whitespace right after a sentence terminator (. ! ? ...),
 * possibly followed by closing quotes or brackets. */
static int sentence_end(const char *t, size_t len, size_t p)
{
    if (p >= len || p == 0 || !is_space(t[p])) return 0;
    size_t q = p;
    for (int k = 0; k < 3 && q > 0; k++) {
        char c = t[q - 1];
        if (c == '"' || c == '\'' || c == ')' || c == ']') q--;
        else if (ends_with(t, q, "\u00bb", 2)) q -= 2;                          /* >> */
        else if (ends_with(t, q, "\u201d", 3) || ends_with(t, q, "\u2019", 3)) q -= 3;
        else break;
    }
    if (q == 0) return 0;
    char c = t[q - 1];
    return c == '.' || c == '!' || c == '?' || ends_with(t, q, "\u2026", 3);
}

/* End (exclusive) of the chunk starting at start; len - start > target. */
static size_t find_break(const char *t, size_t len, size_t start, size_t target)
{
    size_t hi = start + target, lo = start + target / 2, p;
    for (p = hi; p > lo; p--)
        if (t[p - 1] == '\n' && t[p - 2] == '\n') return p;
    for (p = hi; p > lo; p--)
        if (sentence_end(t, len, p)) return p;
    for (p = hi; p > lo; p--)
        if (is_space(t[p])) return p;
    for (p = hi; p > start + 1 && is_cont(t[p]); p--) {}
    return p;
}

/* Where the next chunk starts: the earliest sentence start, else word
 * start, else character boundary in the last `overlap` bytes before end. */
static size_t overlap_start(const char *t, size_t len, size_t start, size_t end,
                            size_t overlap)
{
    size_t lo = end > overlap ? end - overlap : 0, p;
    if (lo <= start) lo = start + 1;
    for (p = lo; p < end; p++)
        if (!is_space(t[p]) && (t[p - 1] == '\n' || sentence_end(t, len, p - 1))) return p;
    for (p = lo; p < end; p++)
        if (!is_space(t[p]) && is_space(t[p - 1])) return p;
    for (p = lo; p < end && is_cont(t[p]); p++) {}
    return p;
}

static int push(chunk_list *l, size_t *cap, const char *s, size_t n)
{
    while (n > 0 && is_space(s[n - 1])) n--;
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **v = realloc(l->text, nc * sizeof *v);
        if (!v) return -1;
        l->text = v;
        *cap = nc;
    }
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = '\0';
    l->text[l->n++] = c;
    return 0;
}

int chunk_text(const char *text, size_t len, size_t target, size_t overlap,
               chunk_list *out)
{
    size_t cap = 0, start = 0;
    *out = (chunk_list){0};
    if (target < CHUNK_MIN_TARGET) target = CHUNK_MIN_TARGET;
    if (overlap * 2 >= target) overlap = target / 2 - 1;
    while (start < len) {
        while (start < len && is_space(text[start])) start++;
        if (start >= len) break;
        size_t end = len - start <= target ? len : find_break(text, len, start, target);
        if (push(out, &cap, text + start, end - start) < 0) {
            chunk_list_free(out);
            return -1;
        }
        if (end >= len) break;
        start = overlap_start(text, len, start, end, overlap);
    }
    return 0;
}

void chunk_list_free(chunk_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->text[i]);
    free(l->text);
    l->text = NULL;
    l->n = 0;
}
