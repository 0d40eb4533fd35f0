/*
 * good_storage — a minimal in-memory document storage for tests. Objects
 * live in one mutex-protected array; put() reads the whole body first and
 * only then swaps it in, which is what makes it all-or-nothing. Listing
 * sorts a snapshot of matching ids, so order does not depend on insertion.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct obj {
    char *tenant, *id, *filename, *ctype, *sha;
    char *data;
    size_t len;
    int64_t created_ms;
} obj;

typedef struct gs {
    const rk_host *host;
    pthread_mutex_t mu;
    obj **v;
    size_t n;
    int64_t max_size;
} gs;

static void obj_free(obj *o)
{
    if (!o) return;
    free(o->tenant); free(o->id); free(o->filename); free(o->ctype);
    free(o->sha); free(o->data); free(o);
}

static char *dup0(const char *s) { return strdup(s ? s : ""); }

static size_t find(gs *s, const char *tenant, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->tenant, tenant) == 0 && strcmp(s->v[i]->id, id) == 0) return i;
    return (size_t)-1;
}

static void meta_of(const obj *o, rk_doc_meta *m)
{
    *m = (rk_doc_meta){.struct_size = sizeof *m, .tenant = o->tenant, .id = o->id,
                       .filename = o->filename, .content_type = o->ctype,
                       .size = o->len, .sha256 = o->sha, .created_ms = o->created_ms};
}

static int read_body(obj *o, uint64_t size, rk_read_fn read, void *rud, rk_err *err)
{
    o->data = malloc(size ? size : 1);
    if (!o->data) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (;;) {
        char buf[4096];
        int64_t got = read(rud, buf, sizeof buf);
        if (got < 0) return rk_fail(err, (int)got, "read aborted");
        if (got == 0) break;
        if (o->len + (size_t)got > size)
            return rk_fail(err, RK_ERR_INVALID, "body longer than meta->size");
        memcpy(o->data + o->len, buf, (size_t)got);
        o->len += (size_t)got;
    }
    if (o->len != size) return rk_fail(err, RK_ERR_INVALID, "body shorter than meta->size");
    return RK_OK;
}

static int gs_put(void *ctx, const rk_doc_meta *m, rk_read_fn read, void *rud, rk_err *err)
{
    gs *s = ctx;
    if ((int64_t)m->size > s->max_size) return rk_fail(err, RK_ERR_TOO_LARGE, "too large");
    obj *o = calloc(1, sizeof *o);
    int rc = RK_ERR_NOMEM;
    if (!o || !(o->tenant = dup0(m->tenant)) || !(o->id = dup0(m->id)) ||
        !(o->filename = dup0(m->filename)) || !(o->ctype = dup0(m->content_type)) ||
        !(o->sha = dup0(m->sha256))) {
        rk_fail(err, rc, "out of memory");
        goto fail;
    }
    o->created_ms = m->created_ms ? m->created_ms : s->host->wall_ms();
    if ((rc = read_body(o, m->size, read, rud, err)) != RK_OK) goto fail;
    pthread_mutex_lock(&s->mu);
    size_t i = find(s, o->tenant, o->id);
    obj **nv = i == (size_t)-1 ? realloc(s->v, (s->n + 1) * sizeof *nv) : s->v;
    if (nv) {
        s->v = nv;
        if (i == (size_t)-1) s->v[s->n++] = o;
        else { obj_free(s->v[i]); s->v[i] = o; }
    }
    pthread_mutex_unlock(&s->mu);
    if (nv) return RK_OK;
    rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
fail:
    obj_free(o);
    return rc;
}

static int gs_get(void *ctx, const char *tenant, const char *id, uint64_t off,
                  uint64_t length, rk_write_fn write, void *wud, rk_err *err)
{
    gs *s = ctx;
    int rc = RK_OK;
    pthread_mutex_lock(&s->mu);
    size_t i = find(s, tenant, id);
    if (i == (size_t)-1) {
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no such document");
    } else if (off > s->v[i]->len) {
        rc = rk_fail(err, RK_ERR_INVALID, "offset past the end");
    } else {
        uint64_t n = s->v[i]->len - off;
        if (length && length < n) n = length;
        if (n && write(wud, s->v[i]->data + off, n) < 0)
            rc = rk_fail(err, RK_ERR_CANCELLED, "writer aborted");
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int gs_stat(void *ctx, const char *tenant, const char *id,
                   void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    gs *s = ctx;
    pthread_mutex_lock(&s->mu);
    size_t i = find(s, tenant, id);
    if (i != (size_t)-1) {
        rk_doc_meta m;
        meta_of(s->v[i], &m);
        on_meta(ud, &m);
    }
    pthread_mutex_unlock(&s->mu);
    return i == (size_t)-1 ? rk_fail(err, RK_ERR_NOT_FOUND, "no such document") : RK_OK;
}

static int by_id(const void *a, const void *b)
{
    const obj *x = *(obj *const *)a, *y = *(obj *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->tenant, y->tenant);
}

static int gs_list(void *ctx, const char *tenant, const char *after, size_t limit,
                   void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    gs *s = ctx;
    int listed = 0;
    pthread_mutex_lock(&s->mu);
    obj **snap = malloc((s->n ? s->n : 1) * sizeof *snap);
    size_t n = 0;
    for (size_t i = 0; snap && i < s->n; i++)
        if ((!tenant || strcmp(s->v[i]->tenant, tenant) == 0) &&
            (!after || strcmp(s->v[i]->id, after) > 0))
            snap[n++] = s->v[i];
    if (snap) qsort(snap, n, sizeof *snap, by_id);
    for (size_t i = 0; snap && i < n && (!limit || i < limit); i++, listed++) {
        rk_doc_meta m;
        meta_of(snap[i], &m);
        on_meta(ud, &m);
    }
    pthread_mutex_unlock(&s->mu);
    if (!snap) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    free(snap);
    return listed;
}

static int gs_remove(void *ctx, const char *tenant, const char *id, rk_err *err)
{
    gs *s = ctx;
    pthread_mutex_lock(&s->mu);
    size_t i = find(s, tenant, id);
    if (i != (size_t)-1) {
        obj_free(s->v[i]);
        s->v[i] = s->v[--s->n];
    }
    pthread_mutex_unlock(&s->mu);
    return i == (size_t)-1 ? rk_fail(err, RK_ERR_NOT_FOUND, "no such document") : RK_OK;
}

static int gs_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    gs *s = calloc(1, sizeof *s);
    if (!s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s->host = host;
    s->max_size = host->cfg_int(self, "max_size");
    pthread_mutex_init(&s->mu, NULL);
    *ctx = s;
    return RK_OK;
}

static void gs_destroy(void *ctx)
{
    gs *s = ctx;
    for (size_t i = 0; i < s->n; i++) obj_free(s->v[i]);
    free(s->v);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const rk_storage_vtable vt = {
    .struct_size = sizeof(rk_storage_vtable),
    .put = gs_put, .get = gs_get, .stat = gs_stat, .list = gs_list, .remove = gs_remove,
};

static const rk_config_key schema[] = {
    {"max_size", RK_CFG_SIZE, "10MB", 0, "largest document accepted"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_STORAGE,
    .name = "good_storage",
    .version = "1.0.0",
    .description = "in-memory test document storage",
    .config = schema,
    .create = gs_create,
    .destroy = gs_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
