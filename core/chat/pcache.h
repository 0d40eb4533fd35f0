/*
 * pcache — what the pipeline stores in the cache instance: the keys
 * ("answer:<sha256>", "retrieve:<sha256>", both tenant-scoped by the hash)
 * and the JSON entries behind them.
 *
 * Answer entry:    {answer, model, finish_reason,
 *                   sources:[{doc_id,title,snippet,score,chunk_index}]}
 * Retrieval entry: {passages:[{doc_id,title,snippet,score,chunk_index,text}]}
 */
#ifndef RK_CORE_PCACHE_H
#define RK_CORE_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/chat.h>

#include "passages.h"

#define PCACHE_KEY_MAX 80

/* Key of an answer: sha256 over tenant, model, every message (role +
 * whitespace-trimmed content), temperature, max_tokens and the retrieve
 * flag, each length-prefixed so no two inputs share an encoding. */
void pcache_answer_key(char key[PCACHE_KEY_MAX], const char *tenant,
                       const char *model, const rk_message *msgs, size_t n,
                       double temperature, int64_t max_tokens, int retrieve,
                       const char *docver);
/* Key of a retrieval result: tenant, trimmed query, k and fast mode. Both
 * keys also cover the tenant's documents version (docver.h). */
void pcache_retrieve_key(char key[PCACHE_KEY_MAX], const char *tenant,
                         const char *query, size_t k, int fast, const char *docver);

typedef struct pcache_answer {
    char *answer, *model, *finish_reason; /* owned */
    passvec sources;                      /* text = snippet or "" */
} pcache_answer;

/* malloc'd JSON text (*len bytes, NUL-terminated), NULL on OOM or text that
 * is not UTF-8 (then nothing is cached). */
char *pcache_answer_encode(const char *answer, const char *model,
                           const char *finish_reason, const rk_passage *src,
                           size_t n, size_t *len);
/* 0, or -1 if the bytes are not an answer entry (a miss). */
int pcache_answer_decode(const void *data, size_t len, pcache_answer *out);
void pcache_answer_free(pcache_answer *a);

char *pcache_passages_encode(const rk_passage *p, size_t n, size_t *len);
int pcache_passages_decode(const void *data, size_t len, passvec *out);

#endif
