/*
 * docs_track — what this host knows of documents beyond storage and the
 * index: the progress of asynchronous uploads and re-indexes, the last
 * failure of each, and when it last indexed a document. In memory, per
 * process, bounded (DOCS_TRACK_MAX records; finished ones are forgotten
 * first, oldest first). Any thread.
 */
#ifndef RK_CORE_DOCS_TRACK_H
#define RK_CORE_DOCS_TRACK_H

#include <stdint.h>

#include <ragkernel/ragkernel.h>

#define DOCS_TRACK_MAX 1024
#define DOCS_PHASE_MAX 16

typedef enum track_state {
    TRACK_DONE = 0, /* indexed by this host at indexed_ms */
    TRACK_PENDING,  /* an asynchronous upload or a re-index is running */
    TRACK_FAILED    /* the last one failed: error */
} track_state;

typedef struct track_rec {
    track_state state;
    char phase[DOCS_PHASE_MAX]; /* "queued", "extracting", ... ("" none) */
    char error[RK_ERR_MSG_MAX + 64];
    int http;                   /* TRACK_FAILED: the status that fits */
    uint64_t bytes_total, bytes_stored, chunks_total, chunks_indexed;
    int64_t indexed_ms;         /* Unix ms; 0 = not by this process */
} track_rec;

typedef struct docs_track docs_track;

docs_track *track_new(void); /* NULL: out of memory */
void track_free(docs_track *t);

/* 1 and a copy in *out when (tenant, id) has a record, else 0. */
int track_get(docs_track *t, const char *tenant, const char *id, track_rec *out);
/* Insert or replace. When full, the oldest finished record goes; when
 * every record is pending, RK_ERR_UNAVAILABLE (too many uploads at once). */
int track_set(docs_track *t, const char *tenant, const char *id, const track_rec *r);
/* Change the pending record's phase and counters (NULL phase: keep). */
void track_progress(docs_track *t, const char *tenant, const char *id, const char *phase,
                    const uint64_t *bytes_stored, const uint64_t *chunks_total,
                    const uint64_t *chunks_indexed);
void track_drop(docs_track *t, const char *tenant, const char *id);

#endif
