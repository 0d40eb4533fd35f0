/*
 * store — the SQLite file that is the durable copy of every chunk (text,
 * title, language and its analysed bag), in WAL mode so searches read
 * while a write is in progress.
 *
 * Threads: one st_db per thread at a time. The plugin keeps one writer
 * handle behind a mutex and one read-only handle per searching thread.
 */
#ifndef RK_RETRIEVER_SQLITE_STORE_H
#define RK_RETRIEVER_SQLITE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/error.h>

typedef struct st_db st_db;

/* Open (creating the file, its parent directories and the schema) for
 * writing, or an existing file read-only. */
int st_open(const char *path, int64_t busy_ms, int readonly, st_db **out,
            rk_err *err);
void st_close(st_db *db);

/* What a failure ran into (errors whose cause is a full disk also say
 * "(disk full)" in their message). */
enum { ST_NONE, ST_CORRUPT, ST_FULL, ST_OTHER };

/* Whether the file at path (absent is fine) is a sound database: opens it
 * (a hot WAL is recovered), runs PRAGMA quick_check and closes it. RK_OK
 * (*fault = ST_NONE), or an error with *fault telling ST_CORRUPT (not a
 * database, or damaged pages), ST_FULL (the disk is full) or ST_OTHER. */
int st_probe(const char *path, int64_t busy_ms, int *fault, rk_err *err);

/* Version of the analysis the stored bags were made with (0: fresh). */
int st_get_version(st_db *db, int *version, rk_err *err);
int st_set_version(st_db *db, int version, rk_err *err);

/* One chunk as stored. Pointers from the store are valid until the next
 * call on the same st_db. */
typedef struct st_row {
    int64_t rowid;
    const char *tenant, *doc_id, *title, *text;
    uint32_t idx;
    const char *lang, *latin; /* ISO 639-1 codes */
    uint32_t dl;
    const uint8_t *terms;
    size_t terms_len;
} st_row;

/* In one transaction: report the stored rows of (tenant, doc_id) to
 * on_old (may be NULL), delete them, insert rows[0..n) (rowid and the
 * tenant/doc_id fields are taken from the arguments; rowid is filled in),
 * and record version as the document's (NULL, or n == 0: no record).
 * *n_old gets how many rows were there. On failure nothing changed. */
int st_replace(st_db *db, const char *tenant, const char *doc_id, st_row *rows,
               size_t n, const char *version, void (*on_old)(void *ud, const st_row *r),
               void *ud, size_t *n_old, rk_err *err);

/* The version recorded for the document into out: 1 found, 0 none, <0
 * error. */
int st_doc_version(st_db *db, const char *tenant, const char *doc_id, char *out,
                   size_t cap, rk_err *err);

/* Every row (tenant NULL) or one tenant's, in no particular order; text and
 * title only if with_text. fn returning nonzero stops the scan and is
 * returned. */
int st_scan(st_db *db, const char *tenant, int with_text,
            int (*fn)(void *ud, const st_row *r), void *ud, rk_err *err);

/* Bulk rewrite of bags (after the analysis changed). */
int st_begin(st_db *db, rk_err *err);
int st_commit(st_db *db, rk_err *err);
void st_rollback(st_db *db);
int st_update_terms(st_db *db, int64_t rowid, const char *latin, uint32_t dl,
                    const uint8_t *terms, size_t len, rk_err *err);

/* The row rowid if it belongs to tenant (NULL: any): 1 found, 0 not
 * (replaced since), <0 error. */
int st_fetch(st_db *db, int64_t rowid, const char *tenant, st_row *out,
             rk_err *err);
/* Done with the last fetched row: ends its read transaction, which would
 * otherwise keep the WAL from being checkpointed. */
void st_fetch_done(st_db *db);

#endif
