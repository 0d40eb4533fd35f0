/*
 * docs_track — the per-process record of document work that neither
 * storage nor the index can show: an asynchronous upload's progress
 * before anything is stored, why the last ingest or re-index of a
 * document failed, and when this host last indexed it. A fixed array
 * searched linearly: at most DOCS_TRACK_MAX records of ~400 bytes, looked
 * up once per status request or progress step, so a hash table would buy
 * nothing measurable. Records are keyed by "tenant/id" (both are
 * [A-Za-z0-9_-]{1,64}, so the key is unambiguous) and stamped with a
 * sequence number, so eviction drops the oldest finished record.
 */
#define _GNU_SOURCE
#include "docs_track.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX (2 * 64 + 2)

typedef struct slot {
    char key[KEY_MAX]; /* "" = free */
    uint64_t seq;
    track_rec rec;
} slot;

struct docs_track {
    pthread_mutex_t mu;
    uint64_t seq;
    slot slots[DOCS_TRACK_MAX];
};

docs_track *track_new(void)
{
    docs_track *t = calloc(1, sizeof *t);
    if (t) pthread_mutex_init(&t->mu, NULL);
    return t;
}

void track_free(docs_track *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static void key_of(const char *tenant, const char *id, char key[KEY_MAX])
{
    snprintf(key, KEY_MAX, "%s/%s", tenant, id);
}

/* The slot holding key, or NULL; t->mu held. */
static slot *find(docs_track *t, const char *key)
{
    for (size_t i = 0; i < DOCS_TRACK_MAX; i++)
        if (t->slots[i].key[0] && strcmp(t->slots[i].key, key) == 0) return &t->slots[i];
    return NULL;
}

/* A free slot, else the oldest finished one; NULL when all are pending. */
static slot *room(docs_track *t)
{
    slot *old = NULL;
    for (size_t i = 0; i < DOCS_TRACK_MAX; i++) {
        slot *s = &t->slots[i];
        if (!s->key[0]) return s;
        if (s->rec.state != TRACK_PENDING && (!old || s->seq < old->seq)) old = s;
    }
    return old;
}

int track_get(docs_track *t, const char *tenant, const char *id, track_rec *out)
{
    char key[KEY_MAX];
    if (!t) return 0;
    key_of(tenant, id, key);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key);
    if (s) *out = s->rec;
    pthread_mutex_unlock(&t->mu);
    return s != NULL;
}

int track_set(docs_track *t, const char *tenant, const char *id, const track_rec *r)
{
    char key[KEY_MAX];
    if (!t) return RK_OK;
    key_of(tenant, id, key);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key);
    if (!s) s = room(t);
    if (s) {
        memcpy(s->key, key, sizeof key);
        s->seq = ++t->seq;
        s->rec = *r;
    }
    pthread_mutex_unlock(&t->mu);
    return s ? RK_OK : RK_ERR_UNAVAILABLE;
}

void track_progress(docs_track *t, const char *tenant, const char *id, const char *phase,
                    const uint64_t *bytes_stored, const uint64_t *chunks_total,
                    const uint64_t *chunks_indexed)
{
    char key[KEY_MAX];
    if (!t) return;
    key_of(tenant, id, key);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key);
    if (s && s->rec.state == TRACK_PENDING) {
        if (phase) snprintf(s->rec.phase, sizeof s->rec.phase, "%s", phase);
        if (bytes_stored) s->rec.bytes_stored = *bytes_stored;
        if (chunks_total) s->rec.chunks_total = *chunks_total;
        if (chunks_indexed) s->rec.chunks_indexed = *chunks_indexed;
    }
    pthread_mutex_unlock(&t->mu);
}

void track_drop(docs_track *t, const char *tenant, const char *id)
{
    char key[KEY_MAX];
    if (!t) return;
    key_of(tenant, id, key);
    pthread_mutex_lock(&t->mu);
    slot *s = find(t, key);
    if (s) s->key[0] = '\0';
    pthread_mutex_unlock(&t->mu);
}
