/*
 * ingest — an uploaded file's bytes to indexable text: pick the extractor
 * instance that reads it (extractor.h gives the order: content type,
 * extension, sniffing, valid UTF-8 as text/plain), run it within the
 * upload's time budget, clean and normalise what it produced, pick a
 * title, and cut the text into chunks (chunk.h). Blocking (an extractor may
 * run a child process): call it on a worker thread.
 *
 * The extractors are a generation's instances: an ingest_set belongs to
 * the generation's document service and is read-only once made, so any
 * thread may use it at the same time as others.
 */
#ifndef RK_CORE_INGEST_H
#define RK_CORE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "chunk.h"
#include "registry.h"

#define INGEST_MAX_TEXT (64u * 1024 * 1024) /* extracted text, bytes */
#define INGEST_TIMEOUT_MS 30000             /* pipeline.ingest_timeout's default */

typedef struct ingest_set {
    rk_instance **ex;   /* owned array of borrowed instances, in asking order */
    size_t n;
    int64_t timeout_ms; /* one document, from ingest_run's start to its end */
} ingest_set;

/* The extractors of r: pipeline.extractors in its order, or when absent
 * every extractor instance in declaration order; the budget from
 * pipeline.ingest_timeout. With none, logs one warning (uploads will get
 * 415). NULL + err: a listed name that is not an extractor, or NOMEM. */
ingest_set *ingest_set_new(const registry *r, rk_err *err);
/* The same from a plain array (tests); the instances stay the caller's. */
ingest_set *ingest_set_of(rk_instance *const *ex, size_t n, int64_t timeout_ms);
void ingest_set_free(ingest_set *s);

/* The extractor that reads an upload and the format it reads it as. */
typedef struct ingest_pick {
    rk_instance *inst;
    const char *type; /* the format's canonical type, static in the plugin */
} ingest_pick;

/* Decide (see the top of extractor.h). `given` may be NULL, empty or
 * application/octet-stream (= not given); parameters and case are
 * ignored. 1 with *out set, or 0 when no extractor of s (NULL = none)
 * reads it. */
int ingest_pick_for(const ingest_set *s, const char *given, const char *filename,
                    const void *data, size_t len, ingest_pick *out);

typedef struct ingest_doc {
    const char *content_type; /* the resolved type (the plugin's static string) */
    char *title;              /* owned, never NULL after success */
    char *text;               /* owned: the whole extracted text */
    chunk_list chunks;        /* at least one after success */
} ingest_doc;

/* Pick, extract, clean, title and chunk, within s->timeout_ms. On failure
 * returns an rk_status with err set and out empty: RK_ERR_UNSUPPORTED (no
 * extractor reads the type, named in the message; or one that needs a
 * missing tool), RK_ERR_INVALID (not text, broken file, "no text could be
 * extracted"), RK_ERR_TIMEOUT (over the budget, named in the message),
 * RK_ERR_UNAVAILABLE (the extractor is busy: retry later),
 * RK_ERR_TOO_LARGE, RK_ERR_NOMEM, RK_ERR_IO. filename may be NULL (then
 * the title falls back to "untitled"). */
int ingest_run(const ingest_set *s, const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err);
void ingest_doc_free(ingest_doc *d);

/* The HTTP status that fits an ingest_run status: 415 unsupported, 422
 * invalid or over the budget, 413 too large, 503 busy (retry later), 500
 * otherwise. */
int ingest_http_status(int status);

#endif
