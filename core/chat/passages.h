/*
 * passages — core-owned arrays of rk_passage (every string a private copy)
 * and their JSON form in cache entries, shared by retrieval and the answer
 * cache.
 */
#ifndef RK_CORE_PASSAGES_H
#define RK_CORE_PASSAGES_H

#include <stddef.h>

#include <ragkernel/chat.h>

#include "oj.h"
#include "strbuf.h"

typedef struct passvec {
    rk_passage *v; /* strings owned (never NULL: "" when absent, snippet may be NULL) */
    size_t n, cap;
} passvec;

/* Deep-copy p onto the end. 0, or -1 on OOM (v unchanged). */
int passvec_push(passvec *pv, const rk_passage *p);
void passvec_free(passvec *pv);

/* [{doc_id,title,score,chunk_index[,snippet][,text]}] appended to b; text
 * only if with_text. 0, or -1 when a string is not UTF-8 (b then holds a
 * partial array: discard it). */
int passages_write_json(strbuf *b, const rk_passage *p, size_t n, int with_text);
/* Append the passages of array token arr of d (as written above; missing
 * text becomes the snippet, or ""). scratch has room for the longest
 * element's raw bytes. -1 if malformed or OOM. */
int passages_read_json(const oj_doc *d, int arr, char *scratch, passvec *out);

#endif
