/*
 * docs_reindex — the document service's start-up work. Storage is the
 * source of truth and the index can be rebuilt from it, so at start every
 * stored document (all tenants) that the index does not hold at its stored
 * version (docs_index.c: the sha256 recorded with the chunks) is read
 * back, extracted, chunked and indexed again: a deleted or fresh index
 * file heals itself, and so does a replacement cut by a crash after it was
 * stored but before it was indexed. Before that, an empty store is seeded
 * from a directory (ragkernel's own guide by default) through the normal
 * upload path, so a new install answers questions at once. The work is a chain of pool jobs
 * of a few documents each: a long re-index neither monopolises a worker
 * nor keeps docs_free waiting for more than the document in hand.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docs_impl.h"
#include "docs_prev.h"
#include "log.h"

#define RX_PAGE 64 /* documents listed per storage call */
#define RX_BATCH 4 /* documents handled per pool job */

typedef struct rx_item {
    char *tenant, *id, *sha256;
} rx_item;

typedef struct reindex {
    docs *d;
    rx_item items[RX_PAGE];
    size_t n, pos;
    char cursor[2 * DOCS_ID_MAX + 2]; /* "<tenant>/<id>" of the last listed */
    int listed_all, seeded, list_failed;
    size_t done, failed;
} reindex;

/* ---- seeding ---------------------------------------------------------- */

static void ignore_meta(void *ud, const rk_doc_meta *m) { (void)ud, (void)m; }

static int seed_filter(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Byte order, not the locale's: the seed order must not depend on it. */
static int seed_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The whole file; RK_ERR_NOT_FOUND for anything but a regular file. */
static int read_file(const char *path, char **data, size_t *len, rk_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rk_fail(err, RK_ERR_IO, "%s", strerror(errno));
    int rc = RK_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = RK_ERR_NOT_FOUND;
        goto done;
    }
    if ((uint64_t)st.st_size > DOCS_SEED_MAX_FILE) {
        rc = rk_fail(err, RK_ERR_TOO_LARGE, "over %u bytes", DOCS_SEED_MAX_FILE);
        goto done;
    }
    *data = malloc((size_t)st.st_size + 1);
    if (!*data) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (*len = 0; *len < (size_t)st.st_size;) {
        ssize_t r = read(fd, *data + *len, (size_t)st.st_size - *len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* the file shrank: take what is there */
        *len += (size_t)r;
    }
done:
    close(fd);
    return rc;
}

static void seed_one(docs *d, const char *name, size_t *ok)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    rk_err err = {{0}};
    int rc;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", d->seed_dir, name) >= sizeof path)
        rc = rk_fail(&err, RK_ERR_INVALID, "path too long");
    else
        rc = read_file(path, &data, &len, &err);
    if (rc == RK_OK) {
        docs_put_req req = {DOCS_DEFAULT_TENANT, NULL, name, NULL, data, len};
        docs_put_res res;
        rc = docs__put(d, &req, &res, &err);
        if (rc == RK_OK) {
            (*ok)++;
            log_info("documents", "seeded tenant=%s id=%s from %s", DOCS_DEFAULT_TENANT, res.id, path);
        }
    }
    if (rc != RK_OK && rc != RK_ERR_NOT_FOUND)
        log_warn("documents", "seed %s: %s", path, err.msg);
    free(data);
}

static void seed(docs *d)
{
    rk_err err = {{0}};
    if (!d->seed_dir) return;
    int n = docs__list(d, DOCS_DEFAULT_TENANT, NULL, 1, ignore_meta, NULL, &err);
    if (n < 0 && n != RK_ERR_NOT_FOUND)
        log_warn("documents", "seed: cannot list storage: %s", err.msg);
    if (n != 0 && n != RK_ERR_NOT_FOUND) return;
    struct dirent **names = NULL;
    int k = scandir(d->seed_dir, &names, seed_filter, seed_cmp);
    if (k < 0) {
        log_warn("documents", "seed directory %s: %s", d->seed_dir, strerror(errno));
        return;
    }
    size_t ok = 0;
    for (int i = 0; i < k; i++) {
        if (!atomic_load(&d->stop)) seed_one(d, names[i]->d_name, &ok);
        free(names[i]);
    }
    free(names);
    log_info("documents", "seeded %zu documents from %s", ok, d->seed_dir);
}

/* ---- re-index --------------------------------------------------------- */

static void rx_items_free(reindex *rx)
{
    for (size_t i = 0; i < rx->n; i++) {
        rx_item *it = &rx->items[i];
        free(it->tenant);
        free(it->id);
        free(it->sha256);
        *it = (rx_item){0};
    }
    rx->n = rx->pos = 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void rx_on_meta(void *ud, const rk_doc_meta *m)
{
    reindex *rx = ud;
    if (rx->n >= RX_PAGE || !m->tenant || !m->id) return;
    rx_item *it = &rx->items[rx->n++];
    it->tenant = strdup(m->tenant);
    it->id = strdup(m->id);
    it->sha256 = dup_or_null(m->sha256);
    snprintf(rx->cursor, sizeof rx->cursor, "%s/%s", m->tenant, m->id);
}

/* The storage cursor across tenants is "<tenant>/<id>" (storage_local's). */
static int rx_next_page(reindex *rx)
{
    rk_err err = {{0}};
    rx_items_free(rx);
    int rc = docs__list(rx->d, NULL, rx->cursor[0] ? rx->cursor : NULL, RX_PAGE, rx_on_meta,
                        rx, &err);
    if (rc < 0) {
        log_warn("documents", "re-index: cannot list storage: %s", err.msg);
        rx->list_failed = 1;
        return -1;
    }
    if (rx->n < RX_PAGE) rx->listed_all = 1;
    return 0;
}

/* Index what storage holds now under (tenant, id), recording the sha256
 * of the bytes read; a document that is gone loses its chunks too. */
int docs__redo(docs *d, const char *tenant, const char *id, size_t *chunks, rk_err *err)
{
    docs_prev cur;
    ingest_doc doc = {0};
    char sha[SHA256_HEX_LEN];
    int rc = docs__prev_load(d, tenant, id, &cur, err);
    if (rc != RK_OK) return rc;
    if (!cur.have) { /* deleted since it was listed */
        rc = docs__unindex(d, tenant, id, err);
        docs__prev_free(&cur);
        return rc == RK_OK || rc == RK_ERR_NOT_FOUND
                   ? rk_fail(err, RK_ERR_NOT_FOUND, "no document '%s'", id)
                   : rc;
    }
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, sb_str(&cur.blob), cur.blob.len);
    sha256_final_hex(&sc, sha);
    rc = ingest_run(d->ingest, sb_str(&cur.blob), cur.blob.len, cur.filename, cur.ctype, &doc, err);
    if (rc == RK_OK) rc = docs__index(d, tenant, id, &doc, sha, err);
    if (rc == RK_OK && chunks) *chunks = doc.chunks.n;
    ingest_doc_free(&doc);
    docs__prev_free(&cur);
    return rc;
}

static void rx_one(reindex *rx, const rx_item *it)
{
    docs *d = rx->d;
    rk_err err = {{0}};
    if (!it->tenant || !it->id) {
        rx->failed++;
        return;
    }
    docs__doc_lock(d, it->tenant, it->id);
    int rc = docs__index_current(d, it->tenant, it->id, it->sha256, &err);
    if (rc == 0) rc = docs__redo(d, it->tenant, it->id, NULL, &err);
    docs__doc_unlock(d, it->tenant, it->id);
    if (rc == 1 || rc == RK_ERR_NOT_FOUND) return; /* already current, or deleted since */
    if (rc == RK_OK) {
        rx->done++;
    } else {
        rx->failed++;
        log_warn("documents", "re-index tenant=%s id=%s: %s", it->tenant, it->id, err.msg);
    }
}

static void rx_finish(reindex *rx)
{
    docs *d = rx->d;
    if (d->retriever && !rx->list_failed)
        log_info("documents", "re-indexed %zu documents from storage, %zu failed%s", rx->done,
                 rx->failed, atomic_load(&d->stop) ? " (stopped early)" : "");
    rx_items_free(rx);
    free(rx);
    atomic_store(&d->reindexing, 0);
    docs__job_done(d);
}

static void rx_step(void *ud)
{
    reindex *rx = ud;
    docs *d = rx->d;
    if (!rx->seeded) {
        rx->seeded = 1;
        seed(d);
    }
    int more = d->retriever != NULL;
    for (int k = 0; more && k < RX_BATCH; k++) {
        if (atomic_load(&d->stop)) more = 0;
        else if (rx->pos == rx->n && (rx->listed_all || rx_next_page(rx) != 0 || rx->n == 0))
            more = 0;
        else
            rx_one(rx, &rx->items[rx->pos++]);
    }
    /* Requeue at the tail: uploads waiting in the queue go first. */
    if (more && !atomic_load(&d->stop) && pool_submit(d->pool, rx_step, rx) == RK_OK) return;
    rx_finish(rx);
}

int docs_reindex_async(docs *d)
{
    rk_err err = {{0}};
    int expected = 0;
    if (!d) return RK_ERR_INVALID;
    if (!atomic_compare_exchange_strong(&d->reindexing, &expected, 1)) return RK_OK;
    reindex *rx = calloc(1, sizeof *rx);
    if (!rx) {
        atomic_store(&d->reindexing, 0);
        return RK_ERR_NOMEM;
    }
    rx->d = d;
    int rc = docs__submit(d, rx_step, rx, &err);
    if (rc != RK_OK) {
        free(rx);
        atomic_store(&d->reindexing, 0);
    }
    return rc;
}

int docs_reindex_running(docs *d) { return d && atomic_load(&d->reindexing); }
