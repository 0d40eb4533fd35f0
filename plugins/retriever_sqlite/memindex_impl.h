/*
 * memindex_impl — the layout of a memindex tenant, shared by the module
 * that builds it (memindex.c) and the one that ranks over it
 * (mi_search.c). Private to retriever_sqlite's index: nothing else
 * includes it.
 */
#ifndef RK_RETRIEVER_SQLITE_MEMINDEX_IMPL_H
#define RK_RETRIEVER_SQLITE_MEMINDEX_IMPL_H

#include <stdint.h>

#include "memindex.h"
#include "strmap.h"

#define MI_DEAD UINT32_MAX
#define MI_NONE UINT32_MAX
#define MI_MAX_LANGS 64

typedef struct mi_term {
    uint8_t *post;      /* varint(id gap) varint(tf) ... */
    uint32_t len, cap;
    uint32_t df;        /* live chunks containing the term */
    uint32_t last;      /* id of the last posting */
} mi_term;

typedef struct mi_doc {
    uint32_t head;      /* newest chunk, chained through next[] */
    uint32_t n;         /* live chunks */
} mi_doc;

struct mi_tenant {
    char *name;
    strmap term_ids;
    mi_term *terms;
    uint32_t terms_cap;
    strmap doc_ids;
    mi_doc *docs;
    uint32_t docs_cap;
    int64_t *rowid;     /* by chunk id */
    uint32_t *dl, *doc, *next;
    int8_t *lang;       /* by chunk id: its main language (-1 unknown) */
    uint32_t n_chunks, chunks_cap;
    uint32_t live, dead;
    uint64_t total_len; /* of live chunks */
    uint32_t latin_count[MI_MAX_LANGS];
};

#endif
