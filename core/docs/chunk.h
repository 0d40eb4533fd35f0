/*
 * chunk — splits extracted text into overlapping passages for the
 * retriever. Deterministic: the same text always gives the same chunks.
 */
#ifndef RK_CORE_CHUNK_H
#define RK_CORE_CHUNK_H

#include <stddef.h>

/* The chunking constants, in one place. A chunk is at most TARGET bytes;
 * each chunk after the first repeats at most OVERLAP bytes from the end of
 * the one before (whole sentences when they fit, else whole words), so a
 * passage cut at a boundary still has its context. */
#define CHUNK_TARGET_BYTES 800
#define CHUNK_OVERLAP_BYTES 150

typedef struct chunk_list {
    char **text; /* owned, NUL-terminated, trimmed; text[i] is chunk index i */
    size_t n;
} chunk_list;

/* Split text[0..len) (normalised: paragraphs separated by "\n\n") into
 * chunks of at most target bytes. Breaks at the last paragraph boundary in
 * the second half of the window, else the last sentence end (. ! ? or the
 * ellipsis, optionally followed by closing quotes or brackets, then a space
 * or newline), else the last whitespace, else the last UTF-8 character
 * boundary: never inside a UTF-8 sequence. overlap is clamped below
 * target / 2 so every step advances. Returns 0, or -1 when out of memory
 * (out is then empty). Empty text gives no chunks. */
int chunk_text(const char *text, size_t len, size_t target, size_t overlap,
               chunk_list *out);
void chunk_list_free(chunk_list *l);

#endif
