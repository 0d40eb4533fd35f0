/*
 * keystore — owns the in-memory snapshot of the API keys that live in the
 * history store, and the thread that reloads it. Readers (every request's
 * authentication) take a read lock only around a binary search of the
 * current snapshot; the refresh builds the next snapshot off the lock, from the
 * plugin's key_list, and swaps one pointer under the write lock. So a slow
 * or unreachable database delays the refresh, never a request, and an
 * error keeps the last good snapshot (a revocation is then late, by the
 * outage; a key never becomes valid from an error). Revoked and expired
 * records are left out of the snapshot at load and expiry is checked again
 * at match time, so a key stops working at its expiry to the millisecond.
 * Digests only: the store never held a secret and neither does this.
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "loop.h"
#include "registry.h" /* struct rk_instance */

#define KS_FIRST_WAIT_MS 1000

typedef struct ks_entry {
    char id[65], name[65], tenant[65];
    uint8_t digest[SHA256_DIGEST_LEN], prev[SHA256_DIGEST_LEN];
    int64_t prev_until_ms, expires_ms;
    uint32_t scopes;
    int64_t rpm, tpm;
} ks_entry;

/* A digest that authenticates: an entry's current one, or its previous
 * one during a rotation's grace. */
typedef struct ks_ref {
    uint8_t digest[SHA256_DIGEST_LEN];
    uint32_t entry;
    uint32_t prev; /* 1: valid only until the entry's prev_until_ms */
} ks_ref;

typedef struct ks_snap {
    size_t n, cap;
    size_t records; /* every record listed, revoked and expired ones too */
    ks_entry *e;    /* sorted by id (keystore_limits) */
    ks_ref *refs;   /* sorted by digest (keystore_match) */
    size_t n_refs;
} ks_snap;

struct keystore {
    atomic_int refs;
    atomic_size_t records; /* snap->records, read without the lock per request */
    rk_instance *history;
    keystore_pin pin;      /* released with the last reference */
    int supported;
    int64_t refresh_ms;
    pthread_rwlock_t snap_lock; /* guards snap (the pointer and what it points to) */
    ks_snap *snap;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    int stopping, loaded, has_thread;
    pthread_t thread;
};

static void snap_free(ks_snap *s)
{
    if (!s) return;
    if (s->e) explicit_bzero(s->e, s->cap * sizeof *s->e);
    if (s->refs) explicit_bzero(s->refs, s->n_refs * sizeof *s->refs);
    free(s->e);
    free(s->refs);
    free(s);
}

static int unhex(const char *hex, uint8_t out[SHA256_DIGEST_LEN])
{
    if (!hex || strlen(hex) != 64) return -1;
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        uint8_t v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                   : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return -1;
            v = (uint8_t)(v << 4 | d);
        }
        out[i] = v;
    }
    return 0;
}

typedef struct load_ctx {
    ks_snap *s;
    int64_t now;
    int oom;
} load_ctx;

static void on_record(void *ud, const rk_history_key *k)
{
    load_ctx *l = ud;
    l->s->records++;
    if (k->revoked_ms || (k->expires_ms && k->expires_ms <= l->now)) return;
    ks_snap *s = l->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        ks_entry *e = realloc(s->e, cap * sizeof *e);
        if (!e) {
            l->oom = 1;
            return;
        }
        s->e = e;
        s->cap = cap;
    }
    ks_entry *e = &s->e[s->n];
    memset(e, 0, sizeof *e);
    if (unhex(k->sha256, e->digest) != 0) return; /* damaged row: never matches */
    if (k->prev_sha256 && k->prev_until_ms > l->now && unhex(k->prev_sha256, e->prev) == 0)
        e->prev_until_ms = k->prev_until_ms;
    snprintf(e->id, sizeof e->id, "%s", k->id);
    snprintf(e->name, sizeof e->name, "%s", k->name);
    snprintf(e->tenant, sizeof e->tenant, "%s", k->tenant);
    e->expires_ms = k->expires_ms;
    e->scopes = k->scopes & RK_SCOPE_ALL;
    e->rpm = k->requests_per_min;
    e->tpm = k->tokens_per_min;
    s->n++;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const ks_entry *)a)->id, ((const ks_entry *)b)->id);
}

static int by_digest(const void *a, const void *b)
{
    return memcmp(((const ks_ref *)a)->digest, ((const ks_ref *)b)->digest, SHA256_DIGEST_LEN);
}

/* Sort the entries by id and index their digests. -1 when out of memory. */
static int index_snap(ks_snap *s)
{
    if (s->n) qsort(s->e, s->n, sizeof *s->e, by_id);
    if (!(s->refs = calloc(2 * s->n + 1, sizeof *s->refs))) return -1;
    for (size_t i = 0; i < s->n; i++) {
        ks_ref *r = &s->refs[s->n_refs++];
        memcpy(r->digest, s->e[i].digest, SHA256_DIGEST_LEN);
        r->entry = (uint32_t)i;
        if (!s->e[i].prev_until_ms) continue;
        r = &s->refs[s->n_refs++];
        memcpy(r->digest, s->e[i].prev, SHA256_DIGEST_LEN);
        r->entry = (uint32_t)i;
        r->prev = 1;
    }
    if (s->n_refs) qsort(s->refs, s->n_refs, sizeof *s->refs, by_digest);
    return 0;
}

int keystore_refresh(keystore *ks, rk_err *err)
{
    if (!ks) return RK_OK;
    if (keystore_supported(ks, err) != RK_OK) return RK_ERR_UNSUPPORTED;
    load_ctx l = {.s = calloc(1, sizeof(ks_snap)), .now = clock_wall_ms()};
    if (!l.s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int rc = GATE_CALL(ks->history, rk_history_vtable, key_list, RK_ERR_UNSUPPORTED, NULL,
                       on_record, &l, err);
    if (rc == RK_OK && (l.oom || index_snap(l.s) != 0))
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory loading API keys");
    if (rc != RK_OK) {
        snap_free(l.s);
        return rc;
    }
    pthread_rwlock_wrlock(&ks->snap_lock);
    ks_snap *old = ks->snap;
    ks->snap = l.s;
    atomic_store(&ks->records, l.s->records);
    pthread_rwlock_unlock(&ks->snap_lock);
    snap_free(old);
    return RK_OK;
}

int keystore_supported(const keystore *ks, rk_err *err)
{
    if (ks && ks->supported) return RK_OK;
    if (!ks) return rk_fail(err, RK_ERR_UNSUPPORTED, "API keys over HTTP need a history store "
                            "(pipeline.history), and none is configured");
    return rk_fail(err, RK_ERR_UNSUPPORTED, "history instance '%s' (plugin %s) cannot store "
                   "API keys: it lacks the key_put/key_list/key_revoke slots (ABI 1.1)",
                   ks->history->name, ks->history->plugin->name);
}

rk_instance *keystore_history(const keystore *ks) { return ks ? ks->history : NULL; }

static void timed_wait(keystore *ks, int64_t ms)
{
    struct timespec ts = clock_mono_after(ms);
    pthread_cond_timedwait(&ks->cv, &ks->mu, &ts);
}

static void *ks_main(void *arg)
{
    keystore *ks = arg;
    int failing = 0;
    pthread_mutex_lock(&ks->mu);
    while (!ks->stopping) {
        pthread_mutex_unlock(&ks->mu);
        rk_err err = {{0}};
        int rc = keystore_refresh(ks, &err);
        if (rc != RK_OK && !failing)
            log_warn(ks->history->name, "cannot load the stored API keys (keeping the last "
                     "ones loaded; retrying every %lld ms): %s", (long long)ks->refresh_ms,
                     err.msg);
        else if (rc == RK_OK && failing)
            log_info(ks->history->name, "stored API keys load again");
        failing = rc != RK_OK;
        pthread_mutex_lock(&ks->mu);
        if (!ks->loaded) {
            ks->loaded = 1;
            pthread_cond_broadcast(&ks->cv);
        }
        if (!ks->stopping) timed_wait(ks, ks->refresh_ms);
    }
    pthread_mutex_unlock(&ks->mu);
    return NULL;
}

static void start_thread(keystore *ks)
{
    if (pthread_create(&ks->thread, NULL, ks_main, ks) != 0) {
        log_warn(ks->history->name, "API key refresh thread not started: stored keys "
                 "load once now and then only after a change made on this host");
        rk_err err = {{0}};
        keystore_refresh(ks, &err);
        return;
    }
    ks->has_thread = 1;
    int64_t end = clock_now_ms() + KS_FIRST_WAIT_MS;
    pthread_mutex_lock(&ks->mu);
    while (!ks->loaded && clock_now_ms() < end) timed_wait(ks, end - clock_now_ms());
    pthread_mutex_unlock(&ks->mu);
}

static void pin_release(const keystore_pin *pin)
{
    if (pin && pin->release) pin->release(pin->ud);
}

keystore *keystore_new(rk_instance *history, int64_t refresh_ms, const keystore_pin *pin)
{
    keystore *ks = history ? calloc(1, sizeof *ks) : NULL;
    if (!ks) {
        pin_release(pin);
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    atomic_init(&ks->records, 0);
    ks->history = history;
    if (pin) ks->pin = *pin; /* the instance outlives us */
    ks->refresh_ms = refresh_ms > 0 ? refresh_ms : KEYSTORE_REFRESH_MS;
    const rk_history_vtable *vt = gate_vtable(history);
    ks->supported = gate_has(vt, rk_history_vtable, key_put) &&
                    gate_has(vt, rk_history_vtable, key_list) &&
                    gate_has(vt, rk_history_vtable, key_revoke);
    pthread_rwlock_init(&ks->snap_lock, NULL);
    pthread_mutex_init(&ks->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ks->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (ks->supported) start_thread(ks);
    return ks;
}

keystore *keystore_ref(keystore *ks)
{
    if (ks) atomic_fetch_add(&ks->refs, 1);
    return ks;
}

void keystore_unref(keystore *ks)
{
    if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1) return;
    pthread_mutex_lock(&ks->mu);
    ks->stopping = 1;
    pthread_cond_broadcast(&ks->cv);
    pthread_mutex_unlock(&ks->mu);
    if (ks->has_thread) pthread_join(ks->thread, NULL);
    snap_free(ks->snap);
    pin_release(&ks->pin);
    pthread_rwlock_destroy(&ks->snap_lock);
    pthread_cond_destroy(&ks->cv);
    pthread_mutex_destroy(&ks->mu);
    free(ks);
}

static int usable(const ks_entry *e, int64_t now) { return !e->expires_ms || e->expires_ms > now; }

/* A binary search on the digests, not a constant-time scan as for the few
 * config keys: what it compares is SHA-256 of the presented secret, so
 * the time taken can only tell how many leading bytes of that digest a
 * stored digest shares, and choosing secrets whose digests share a prefix
 * with a stored one is as hard as a preimage (this is how databases look
 * hashed tokens up by index). It keeps a request's cost flat with
 * thousands of stored keys: a scan of 1,000 cost 40% of /v1/models's
 * throughput. */
int keystore_match(keystore *ks, const uint8_t digest[SHA256_DIGEST_LEN], int64_t now_ms,
                   rk_principal *who)
{
    if (!ks || atomic_load(&ks->records) == 0) return 0;
    const ks_entry *hit = NULL;
    pthread_rwlock_rdlock(&ks->snap_lock);
    const ks_snap *s = ks->snap;
    ks_ref want;
    memcpy(want.digest, digest, SHA256_DIGEST_LEN);
    const ks_ref *r = s && s->n_refs ? bsearch(&want, s->refs, s->n_refs, sizeof want, by_digest)
                                     : NULL;
    if (r && usable(&s->e[r->entry], now_ms) &&
        (!r->prev || s->e[r->entry].prev_until_ms > now_ms))
        hit = &s->e[r->entry];
    if (hit) {
        snprintf(who->tenant, sizeof who->tenant, "%s", hit->tenant);
        snprintf(who->key_id, sizeof who->key_id, "%s", hit->id);
        who->scopes = hit->scopes;
    }
    pthread_rwlock_unlock(&ks->snap_lock);
    return hit != NULL;
}

size_t keystore_records(keystore *ks) { return ks ? atomic_load(&ks->records) : 0; }

size_t keystore_live(keystore *ks, int64_t now_ms)
{
    size_t n = 0;
    if (!ks) return 0;
    pthread_rwlock_rdlock(&ks->snap_lock);
    for (size_t i = 0; ks->snap && i < ks->snap->n; i++) n += usable(&ks->snap->e[i], now_ms);
    pthread_rwlock_unlock(&ks->snap_lock);
    return n;
}

int keystore_limits(keystore *ks, const char *key_id, int64_t *rpm, int64_t *tpm)
{
    if (!ks || !key_id || atomic_load(&ks->records) == 0) return -1;
    ks_entry want;
    snprintf(want.id, sizeof want.id, "%s", key_id);
    pthread_rwlock_rdlock(&ks->snap_lock);
    const ks_snap *s = ks->snap;
    const ks_entry *e = s && s->n ? bsearch(&want, s->e, s->n, sizeof want, by_id) : NULL;
    if (e) {
        *rpm = e->rpm;
        *tpm = e->tpm;
    }
    pthread_rwlock_unlock(&ks->snap_lock);
    return e ? 0 : -1;
}
