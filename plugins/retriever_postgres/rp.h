/*
 * rp — the retriever_postgres instance: its context, shared by the plugin
 * descriptor and the writes (retriever_postgres.c) and the search
 * (rp_search.c). Statement texts are built once at create() from the
 * validated table prefix; they hold placeholders, never data.
 */
#ifndef RK_RETRIEVER_POSTGRES_RP_H
#define RK_RETRIEVER_POSTGRES_RP_H

#include <ragkernel/ragkernel.h>

#include "pgpool.h"

#define RP_SQL_MAX 512

typedef struct rp_ctx {
    const rk_host *host;
    rk_instance *self;
    pgpool *pool;
    char prefix[PGPOOL_PREFIX_MAX + 1];
    int64_t statement_timeout_ms; /* 0 = none */
    char lock[RP_SQL_MAX], clear[RP_SQL_MAX], count[RP_SQL_MAX], insert_head[RP_SQL_MAX];
    char vset[RP_SQL_MAX], vdel[RP_SQL_MAX], vget[RP_SQL_MAX]; /* document versions */
} rp_ctx;

int rp_search(void *ctx, const rk_query *q, void (*on_hit)(void *ud, const rk_passage *p),
              void *ud, rk_err *err);

#endif
