/*
 * good_history — a minimal in-memory conversation history for tests.
 * Conversations are keyed by (tenant, id), so another tenant simply finds
 * nothing; each remembers its last activity for expire(). One mutex guards
 * everything: callers come from several worker threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct msg {
    char *role, *content;
    int64_t created_ms;
} msg;

typedef struct conv {
    char *tenant, *id;
    msg *m;
    size_t n;
    int64_t last_ms;
} conv;

typedef struct gh {
    const rk_host *host;
    pthread_mutex_t mu;
    conv **v;
    size_t n;
} gh;

static void msgs_free(msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(m[i].role); free(m[i].content); }
    free(m);
}

static void conv_free(conv *c)
{
    msgs_free(c->m, c->n);
    free(c->tenant); free(c->id); free(c);
}

/* Caller holds mu. */
static conv *find(gh *h, const char *tenant, const char *id, int make)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i]->tenant, tenant) == 0 && strcmp(h->v[i]->id, id) == 0)
            return h->v[i];
    if (!make) return NULL;
    conv *c = calloc(1, sizeof *c);
    conv **nv = c ? realloc(h->v, (h->n + 1) * sizeof *nv) : NULL;
    if (!nv || !(c->tenant = strdup(tenant)) || !(c->id = strdup(id))) {
        if (nv) h->v = nv;
        if (c) conv_free(c);
        return NULL;
    }
    h->v = nv;
    h->v[h->n++] = c;
    return c;
}

/* Copies of msgs appended to *dst; on failure *dst is unchanged. */
static int copy_in(gh *h, msg **dst, size_t *dn, const rk_message *msgs, size_t n)
{
    msg *nv = realloc(*dst, (*dn + n + 1) * sizeof *nv);
    if (!nv) return -1;
    *dst = nv;
    int64_t now = h->host->wall_ms();
    for (size_t i = 0; i < n; i++) {
        msg *m = &nv[*dn + i];
        m->created_ms = now;
        m->role = strdup(msgs[i].role ? msgs[i].role : "");
        m->content = strdup(msgs[i].content ? msgs[i].content : "");
        if (!m->role || !m->content) {
            for (size_t j = 0; j <= i; j++) { free(nv[*dn + j].role); free(nv[*dn + j].content); }
            return -1;
        }
    }
    *dn += n;
    return 0;
}

static int gh_append(void *ctx, const char *tenant, const char *id,
                     const rk_message *msgs, size_t n, rk_err *err)
{
    gh *h = ctx;
    pthread_mutex_lock(&h->mu);
    conv *c = find(h, tenant, id, 1);
    int ok = c && copy_in(h, &c->m, &c->n, msgs, n) == 0;
    if (c) c->last_ms = h->host->wall_ms();
    pthread_mutex_unlock(&h->mu);
    return ok ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

static int gh_load(void *ctx, const char *tenant, const char *id, size_t max,
                   void (*on_msg)(void *ud, const rk_history_entry *e), void *ud, rk_err *err)
{
    gh *h = ctx;
    pthread_mutex_lock(&h->mu);
    conv *c = find(h, tenant, id, 0);
    for (size_t i = c && max && c->n > max ? c->n - max : 0; c && i < c->n; i++) {
        rk_history_entry e = {.struct_size = sizeof e, .role = c->m[i].role,
                              .content = c->m[i].content, .created_ms = c->m[i].created_ms};
        on_msg(ud, &e);
    }
    pthread_mutex_unlock(&h->mu);
    return c ? RK_OK : rk_fail(err, RK_ERR_NOT_FOUND, "no such conversation");
}

static int gh_replace(void *ctx, const char *tenant, const char *id,
                      const rk_message *msgs, size_t n, rk_err *err)
{
    gh *h = ctx;
    msg *fresh = NULL;
    size_t fn = 0;
    if (copy_in(h, &fresh, &fn, msgs, n) != 0) {
        free(fresh);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&h->mu);
    conv *c = find(h, tenant, id, 1);
    if (c) {
        msgs_free(c->m, c->n);
        c->m = fresh;
        c->n = fn;
        c->last_ms = h->host->wall_ms();
    }
    pthread_mutex_unlock(&h->mu);
    if (!c) msgs_free(fresh, fn);
    return c ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

static int64_t gh_expire(void *ctx, int64_t idle_before_ms, size_t batch, rk_err *err)
{
    gh *h = ctx;
    int64_t done = 0;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n && (!batch || (size_t)done < batch);) {
        if (h->v[i]->last_ms < idle_before_ms) {
            conv_free(h->v[i]);
            h->v[i] = h->v[--h->n];
            done++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return done;
}

static int gh_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    gh *h = calloc(1, sizeof *h);
    if (!h) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    h->host = host;
    pthread_mutex_init(&h->mu, NULL);
    *ctx = h;
    return RK_OK;
}

static void gh_destroy(void *ctx)
{
    gh *h = ctx;
    for (size_t i = 0; i < h->n; i++) conv_free(h->v[i]);
    free(h->v);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static const rk_history_vtable vt = {
    .struct_size = sizeof(rk_history_vtable),
    .append = gh_append, .load = gh_load, .replace = gh_replace, .expire = gh_expire,
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_HISTORY,
    .name = "good_history",
    .version = "1.0.0",
    .description = "in-memory test conversation history",
    .create = gh_create,
    .destroy = gh_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
