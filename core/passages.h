/*
 * passages — core-owned arrays of rk_passage (every string a private copy)
 * and their JSON form, shared by retrieval, the answer cache and chat meta.
 */
#ifndef RK_CORE_PASSAGES_H
#define RK_CORE_PASSAGES_H

#include <stddef.h>

#include <jansson.h>
#include <ragkernel/chat.h>

typedef struct passvec {
    rk_passage *v; /* strings owned (never NULL: "" when absent, snippet may be NULL) */
    size_t n, cap;
} passvec;

/* Deep-copy p onto the end. 0, or -1 on OOM (v unchanged). */
int passvec_push(passvec *pv, const rk_passage *p);
void passvec_free(passvec *pv);

/* [{doc_id,title,snippet,score,chunk_index[,text]}]; text only if with_text.
 * New reference, NULL on OOM. */
json_t *passages_to_json(const rk_passage *p, size_t n, int with_text);
/* Append the passages of a JSON array made by passages_to_json (missing text
 * becomes the snippet, or ""). -1 if malformed or OOM. */
int passages_from_json(const json_t *arr, passvec *out);

#endif
