/*
 * retriever_flaky — a test retriever kept in memory that refuses to index a
 * document any chunk of which contains "[failindex]" (as an index that is
 * down would), so tests can see what an upload leaves behind when its index
 * step fails. It keeps each document's chunks joined; a search returns the
 * documents whose text contains the query as a substring.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct fdoc {
    char *tenant, *id, *text;
    int64_t chunks;
    struct fdoc *next;
} fdoc;

typedef struct flaky {
    pthread_mutex_t mu;
    fdoc *docs;
} flaky;

static fdoc **find(flaky *f, const char *tenant, const char *id)
{
    fdoc **pp = &f->docs;
    while (*pp && (strcmp((*pp)->tenant, tenant) || strcmp((*pp)->id, id))) pp = &(*pp)->next;
    return pp;
}

static void doc_free(fdoc *d)
{
    free(d->tenant);
    free(d->id);
    free(d->text);
    free(d);
}

static int fl_index(void *ctx, const rk_chunk *c, size_t n, rk_err *err)
{
    flaky *f = ctx;
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        if (strstr(c[i].text, "[failindex]")) return rk_fail(err, RK_ERR_UNAVAILABLE, "index is down");
        len += strlen(c[i].text) + 1;
    }
    fdoc *d = calloc(1, sizeof *d);
    char *text = malloc(len);
    if (!d || !text) {
        free(d);
        free(text);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) strcat(strcat(text, c[i].text), "\n");
    *d = (fdoc){strdup(n ? c[0].tenant : ""), strdup(n ? c[0].doc_id : ""), text, (int64_t)n, NULL};
    pthread_mutex_lock(&f->mu);
    fdoc **pp = find(f, d->tenant, d->id);
    if (*pp) { /* replace, atomically as the contract asks */
        fdoc *old = *pp;
        d->next = old->next;
        doc_free(old);
    }
    *pp = d;
    pthread_mutex_unlock(&f->mu);
    return RK_OK;
}

static int fl_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    flaky *f = ctx;
    pthread_mutex_lock(&f->mu);
    fdoc **pp = find(f, tenant, doc_id), *d = *pp;
    if (d) *pp = d->next;
    pthread_mutex_unlock(&f->mu);
    if (!d) return rk_fail(err, RK_ERR_NOT_FOUND, "no such document");
    doc_free(d);
    return RK_OK;
}

static int fl_search(void *ctx, const rk_query *q, void (*on_hit)(void *ud, const rk_passage *p),
                     void *ud, rk_err *err)
{
    flaky *f = ctx;
    int hits = 0;
    (void)err;
    pthread_mutex_lock(&f->mu);
    for (fdoc *d = f->docs; d && (size_t)hits < q->k; d = d->next) {
        if (strcmp(d->tenant, q->tenant ? q->tenant : "default") || !strstr(d->text, q->text))
            continue;
        rk_passage p = {.struct_size = sizeof p, .doc_id = d->id, .title = d->id,
                        .text = d->text, .snippet = d->text, .score = 1};
        on_hit(ud, &p);
        hits++;
    }
    pthread_mutex_unlock(&f->mu);
    return hits;
}

static int64_t fl_doc_chunks(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    flaky *f = ctx;
    (void)err;
    pthread_mutex_lock(&f->mu);
    fdoc *d = *find(f, tenant, doc_id);
    int64_t n = d ? d->chunks : 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int fl_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    (void)host, (void)self;
    flaky *f = calloc(1, sizeof *f);
    if (!f) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&f->mu, NULL);
    *ctx = f;
    return RK_OK;
}

static void fl_destroy(void *ctx)
{
    flaky *f = ctx;
    while (f->docs) {
        fdoc *d = f->docs;
        f->docs = d->next;
        doc_free(d);
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const rk_retriever_vtable vt = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = fl_index,
    .remove = fl_remove,
    .search = fl_search,
    .doc_chunks = fl_doc_chunks,
};

static const rk_config_key schema[] = {{NULL, 0, NULL, 0, NULL}};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_RETRIEVER,
    .name = "retriever_flaky",
    .version = "1.0.0",
    .description = "in-memory test retriever that fails to index on request",
    .config = schema,
    .create = fl_create,
    .destroy = fl_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
