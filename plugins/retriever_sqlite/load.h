/*
 * load — filling a retriever_sqlite instance's in-memory index from its
 * SQLite file. All of it runs with c->wmu held or before the instance is
 * shared.
 */
#ifndef RK_RETRIEVER_SQLITE_LOAD_H
#define RK_RETRIEVER_SQLITE_LOAD_H

#include "rs.h"

/* create(): check, open and load c->path into c->mi; a damaged file is set
 * aside and the index starts empty (heal.c), since the host re-indexes
 * every stored document. */
int rs_load(rs_ctx *c, rk_err *err);
/* Replace the tenant's in-memory index with one loaded from SQLite (drops
 * dead postings). Caller holds wmu. */
int rs_rebuild_tenant(rs_ctx *c, const char *tenant, rk_err *err);
/* The chunks gauge from c->n_chunks. */
void rs_set_chunk_gauge(rs_ctx *c);

#endif
