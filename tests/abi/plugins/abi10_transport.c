/*
 * abi10_transport — a transport built against the frozen ABI 1.0 headers
 * (tests/abi/1.0). It serves nothing; its 1.0 vtable slot listening() is
 * the test's window: each call reports what the instance saw through the
 * 1.0 rk_host transport slots (list_models, ready, chat_start) and, when
 * no chat is in flight, starts the next one. test_abi.c polls it until a
 * chat comes back as a cache hit.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct t10 {
    const rk_host *host;
    rk_instance *self;
    pthread_mutex_t mu;
    int inflight, chats, hits, last_status;
    char answer[128], model[64];
} t10;

static void t_meta(void *ud, const rk_chat_meta *m) {}
static void t_delta(void *ud, const char *text, size_t len) {}

static void t_done(void *ud, const rk_chat_result *r)
{
    t10 *t = ud;
    pthread_mutex_lock(&t->mu);
    t->inflight = 0;
    t->chats++;
    t->last_status = r->status;
    if (r->status == RK_OK && r->cache_hit) t->hits++;
    snprintf(t->answer, sizeof t->answer, "%s", r->answer ? r->answer : "");
    pthread_mutex_unlock(&t->mu);
}

static const rk_chat_sink sink = {sizeof sink, t_meta, t_delta, t_done};

static void on_model(void *ud, const char *id, const char *owner)
{
    t10 *t = ud;
    if (!t->model[0]) snprintf(t->model, sizeof t->model, "%s", id);
}

/* Caller holds t->mu. */
static void start_chat(t10 *t)
{
    rk_message msg = {"user", "hello from 1.0"};
    rk_chat_input in = {.struct_size = sizeof in, .messages = &msg, .n_messages = 1,
                        .temperature = -1};
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    t->inflight = 1;
    int rc = t->host->chat_start(t->self, &in, &sink, t, &chat, &err);
    if (rc != RK_OK) {
        t->inflight = 0;
        t->last_status = rc;
    }
}

static int t_listening(void *ctx, char *buf, size_t cap)
{
    t10 *t = ctx;
    char why[128] = "";
    int ready = t->host->ready(why, sizeof why);
    t->model[0] = '\0';
    t->host->list_models(on_model, t);
    pthread_mutex_lock(&t->mu);
    if (!t->inflight && !t->hits && t->chats < 50) start_chat(t);
    snprintf(buf, cap, "ready=%d model=%s chats=%d hits=%d status=%d answer=%s", ready,
             t->model, t->chats, t->hits, t->last_status, t->answer);
    pthread_mutex_unlock(&t->mu);
    return RK_OK;
}

static int t_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    if (host->abi_major != 1) return rk_fail(err, RK_ERR_ABI, "host ABI major %d", host->abi_major);
    t10 *t = calloc(1, sizeof *t);
    if (!t) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    t->host = host;
    t->self = self;
    pthread_mutex_init(&t->mu, NULL);
    *ctx = t;
    return RK_OK;
}

/* A chat still in flight ends (on_done) before the host destroys us: the
 * host drains chats before it stops and unloads plugins. */
static void t_destroy(void *ctx)
{
    t10 *t = ctx;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static const rk_transport_vtable vt = {sizeof vt, t_listening};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR, /* 0: these are the 1.0 headers */
    .kind = RK_KIND_TRANSPORT,
    .name = "abi10_transport",
    .version = "1.0.0",
    .description = "transport built against the ABI 1.0 headers",
    .create = t_create,
    .destroy = t_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
