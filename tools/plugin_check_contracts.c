/*
 * plugin_check_contracts — the per-kind checks of ragkernel-plugin-check:
 * storage, retriever, history, llm and transport (the cache's are in
 * plugin_check_cache.c), each run against
 * a created and started instance. They are the executable form of the
 * contract comments in the SDK headers, so a plugin that passes behaves the
 * way the core relies on. Every check writes under a per-run tag so shared
 * backends (Redis, Postgres, S3) see fresh keys and leave nothing behind.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

#include "loop.h"
#include "plugin_check.h"
#include "registry.h"
#include "sha256.h"

#define LLM_WAIT_MS 30000
#define WAIT_TEXT "30000" /* LLM_WAIT_MS, for messages */
#define QUIET_MS 300 /* how long "no more callbacks" is watched for */

/* ---- a one-shot latch with a deadline ----------------------------------- */

typedef struct latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired;
} latch;

static void latch_init(latch *l)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, &a);
    pthread_condattr_destroy(&a);
    l->fired = 0;
}

static void latch_fire(latch *l)
{
    pthread_mutex_lock(&l->mu);
    l->fired = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static int latch_wait(latch *l, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&l->mu);
    while (!l->fired && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0) {}
    int fired = l->fired;
    pthread_mutex_unlock(&l->mu);
    return fired;
}

static void fire_cb(void *ud) { latch_fire(ud); }

/* Everything posted to the loop before this call has run when it returns. */
static void loop_drain(loop *l)
{
    latch t;
    latch_init(&t);
    if (loop_post(l, fire_cb, &t) == RK_OK) latch_wait(&t, LLM_WAIT_MS);
}

/* ---- storage ------------------------------------------------------------- */

static const char doc_body[] = "ragkernel conformance check document.\nSecond line.\n";

typedef struct reader {
    size_t pos;
} reader;

/* Hands out at most 7 bytes per call so multi-call bodies are exercised. */
static int64_t read_doc(void *ud, void *buf, size_t cap)
{
    reader *r = ud;
    size_t left = sizeof doc_body - 1 - r->pos, n = cap < 7 ? cap : 7;
    if (n > left) n = left;
    memcpy(buf, doc_body + r->pos, n);
    r->pos += n;
    return (int64_t)n;
}

typedef struct collect {
    char buf[512];
    size_t len;
    int seen, metas;
    uint64_t size;
    char filename[64];
    const char *want_id;
} collect;

static int write_doc(void *ud, const void *data, size_t len)
{
    collect *c = ud;
    if (c->len + len > sizeof c->buf) return RK_ERR_TOO_LARGE;
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return 0;
}

static void on_doc_meta(void *ud, const rk_doc_meta *m)
{
    collect *c = ud;
    c->metas++;
    if (c->want_id && m->id && strcmp(m->id, c->want_id) == 0) {
        c->seen++;
        c->size = m->size;
        snprintf(c->filename, sizeof c->filename, "%s", m->filename ? m->filename : "");
    }
}

static void storage_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_storage_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char tenant[96], id[96], sha[SHA256_HEX_LEN];
    snprintf(tenant, sizeof tenant, "rkcheck%s", ck->tag);
    snprintf(id, sizeof id, "doc-%s", ck->tag);
    sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, doc_body, sizeof doc_body - 1);
    sha256_final_hex(&h, sha);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = tenant, .id = id,
                     .filename = "check.txt", .content_type = "text/plain",
                     .size = sizeof doc_body - 1, .sha256 = sha, .created_ms = clock_wall_ms()};
    reader r = {0};
    int rc = vt->put(ctx, &m, read_doc, &r, &err);
    if (!pc_check(ck, rc == RK_OK, "storage put", "%s %s", rk_status_name(rc), err.msg)) return;
    collect c = {.want_id = id};
    rc = vt->stat(ctx, tenant, id, on_doc_meta, &c, &err);
    pc_check(ck, rc == RK_OK && c.seen == 1 && c.size == m.size && !strcmp(c.filename, "check.txt"),
          "storage stat", "rc %s, %d metas, size %llu, filename '%s'", rk_status_name(rc), c.seen,
          (unsigned long long)c.size, c.filename);
    c = (collect){.want_id = id};
    rc = vt->list(ctx, tenant, NULL, 1000, on_doc_meta, &c, &err);
    pc_check(ck, rc >= 1 && c.seen == 1 && rc == c.metas, "storage list contains it",
          "returned %s, %d metas, ours seen %d times", pc_ret(rc), c.metas, c.seen);
    c = (collect){0};
    rc = vt->get(ctx, tenant, id, 0, 0, write_doc, &c, &err);
    pc_check(ck, rc == RK_OK && c.len == m.size && !memcmp(c.buf, doc_body, c.len),
          "storage get whole", "rc %s, %zu bytes", rk_status_name(rc), c.len);
    c = (collect){0};
    rc = vt->get(ctx, tenant, id, 10, 11, write_doc, &c, &err);
    pc_check(ck, rc == RK_OK && c.len == 11 && !memcmp(c.buf, doc_body + 10, 11),
          "storage get range", "rc %s, got '%.*s'", rk_status_name(rc), (int)c.len, c.buf);
    rc = vt->remove(ctx, tenant, id, &err);
    pc_check(ck, rc == RK_OK, "storage remove", "%s %s", rk_status_name(rc), err.msg);
    c = (collect){0};
    rc = vt->get(ctx, tenant, id, 0, 0, write_doc, &c, &err);
    int rc2 = vt->stat(ctx, tenant, id, on_doc_meta, &c, &err);
    pc_check(ck, rc == RK_ERR_NOT_FOUND && rc2 == RK_ERR_NOT_FOUND && !c.len,
             "storage get after remove is NOT_FOUND", "get %s, stat %s", rk_status_name(rc),
             rk_status_name(rc2));
}

/* ---- retriever ----------------------------------------------------------- */

typedef struct hits {
    int n, first_index;
    char first_doc[96];
} hits;

static void on_hit(void *ud, const rk_passage *p)
{
    hits *h = ud;
    if (h->n++ == 0) {
        h->first_index = (int)p->chunk_index;
        snprintf(h->first_doc, sizeof h->first_doc, "%s", p->doc_id ? p->doc_id : "");
    }
}

static int search(const rk_retriever_vtable *vt, void *ctx, const char *tenant,
                  const char *text, hits *h)
{
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = tenant, .text = text, .k = 3,
                  .deadline_ms = clock_now_ms() + LLM_WAIT_MS};
    *h = (hits){.first_index = -1};
    return vt->search(ctx, &q, on_hit, h, &err);
}

static int index_doc(const rk_retriever_vtable *vt, void *ctx, const char *tenant,
                     const char *doc, const char *const *texts, size_t n, rk_err *err)
{
    rk_chunk c[3];
    for (size_t i = 0; i < n && i < 3; i++)
        c[i] = (rk_chunk){.struct_size = sizeof c[i], .tenant = tenant, .doc_id = doc,
                          .title = "Check", .index = (uint32_t)i, .text = texts[i],
                          .lang = "en"};
    return vt->index(ctx, c, n, err);
}

/* The 1.1 version slots, when the plugin has them: recorded with the
 * chunks, dropped by index() and remove(). */
static void retriever_versions(checker *ck, const rk_retriever_vtable *vt, void *ctx,
                               const char *tenant, const char *doc, const char *const *texts)
{
    int has = RK_HAS_FIELD(vt, rk_retriever_vtable, doc_version);
    if (!has || (!vt->index_versioned && !vt->doc_version)) return;
    if (!pc_check(ck, vt->index_versioned && vt->doc_version,
                  "retriever index_versioned and doc_version come together", "only one is set"))
        return;
    rk_err err = {{0}};
    char v[RK_DOC_VERSION_MAX] = "?";
    rk_chunk c = {.struct_size = sizeof c, .tenant = tenant, .doc_id = doc, .title = "Check",
                  .text = texts[0], .lang = "en"};
    int rc = vt->index_versioned(ctx, &c, 1, "rkcheck-v1", &err);
    int rc2 = vt->doc_version(ctx, tenant, doc, v, sizeof v, &err);
    pc_check(ck, rc == RK_OK && rc2 == RK_OK && !strcmp(v, "rkcheck-v1"),
             "retriever doc_version returns the recorded version", "index %d, doc_version %d '%s'",
             rc, rc2, v);
    rc = index_doc(vt, ctx, tenant, doc, texts, 1, &err);
    rc2 = vt->doc_version(ctx, tenant, doc, v, sizeof v, &err);
    pc_check(ck, rc == RK_OK && rc2 == RK_OK && !v[0], "retriever index() drops the version",
             "index %d, doc_version %d '%s'", rc, rc2, v);
    vt->remove(ctx, tenant, doc, &err);
    rc2 = vt->doc_version(ctx, tenant, doc, v, sizeof v, &err);
    pc_check(ck, rc2 == RK_ERR_NOT_FOUND, "retriever doc_version of a removed document is NOT_FOUND",
             "got %d", rc2);
}

static void retriever_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_retriever_vtable *vt = d->vtable;
    static const char *const first[] = {
        "Apples and pears grow in the orchard behind the farmhouse.",
        "The submarine dived beneath the arctic ice shelf.",
        "Volcanoes erupt molten lava across the island."};
    static const char *const second[] = {"Zebras gallop across the savanna at dawn.",
                                         "Glaciers carve deep valleys over centuries."};
    rk_err err = {{0}};
    char tenant[96], other[112], doc[96];
    snprintf(tenant, sizeof tenant, "rkcheck%s", ck->tag);
    snprintf(other, sizeof other, "%sother", tenant);
    snprintf(doc, sizeof doc, "doc-%s", ck->tag);
    int rc = index_doc(vt, ctx, tenant, doc, first, 3, &err);
    if (!pc_check(ck, rc == RK_OK, "retriever index 3 chunks", "%s %s", rk_status_name(rc),
                  err.msg))
        return;
    hits h;
    rc = search(vt, ctx, tenant, "submarine arctic", &h);
    pc_check(ck, rc >= 1 && rc == h.n && h.first_index == 1 && !strcmp(h.first_doc, doc),
          "retriever search finds the right chunk", "returned %s, %d hits, first chunk %d of '%s'",
          pc_ret(rc), h.n, h.first_index, h.first_doc);
    int64_t n = vt->doc_chunks(ctx, tenant, doc, &err);
    pc_check(ck, n == 3, "retriever doc_chunks = 3", "got %lld", (long long)n);
    rc = search(vt, ctx, other, "submarine arctic", &h);
    pc_check(ck, rc == 0 && h.n == 0, "retriever search stays within its tenant",
          "another tenant got %d hits", h.n);
    rc = index_doc(vt, ctx, tenant, doc, second, 2, &err);
    n = vt->doc_chunks(ctx, tenant, doc, &err);
    int rc2 = search(vt, ctx, tenant, "submarine arctic", &h);
    pc_check(ck, rc == RK_OK && n == 2 && rc2 == 0, "retriever re-index replaces",
             "index %s, doc_chunks %lld, old text still gives %s hits", rk_status_name(rc),
             (long long)n, pc_ret(rc2));
    rc = vt->remove(ctx, tenant, doc, &err);
    n = vt->doc_chunks(ctx, tenant, doc, &err);
    pc_check(ck, rc == RK_OK && n == 0, "retriever remove", "remove %s, doc_chunks %lld",
             rk_status_name(rc), (long long)n);
    rc = vt->remove(ctx, tenant, doc, &err);
    pc_check(ck, rc == RK_ERR_NOT_FOUND, "retriever remove of an absent document is NOT_FOUND",
          "got %s", rk_status_name(rc));
    retriever_versions(ck, vt, ctx, tenant, doc, first);
}

/* ---- history ------------------------------------------------------------- */

typedef struct loaded {
    int n;
    char text[4][64];
} loaded;

static void on_msg(void *ud, const rk_history_entry *e)
{
    loaded *l = ud;
    if (l->n < 4)
        snprintf(l->text[l->n], sizeof l->text[0], "%s:%s", e->role ? e->role : "",
                 e->content ? e->content : "");
    l->n++;
}

static int load_is(const rk_history_vtable *vt, void *ctx, const char *tenant,
                   const char *conv, size_t max, const char *const *want, int n)
{
    rk_err err = {{0}};
    loaded l = {0};
    if (vt->load(ctx, tenant, conv, max, on_msg, &l, &err) != RK_OK || l.n != n) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(l.text[i], want[i]) != 0) return 0;
    return 1;
}

static void history_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_history_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char tenant[96], other[112], conv[96];
    snprintf(tenant, sizeof tenant, "rkcheck%s", ck->tag);
    snprintf(other, sizeof other, "%sother", tenant);
    snprintf(conv, sizeof conv, "conv-%s", ck->tag);
    const rk_message three[] = {{"user", "first question"}, {"assistant", "first answer"},
                                {"user", "second question"}};
    static const char *const all[] = {"user:first question", "assistant:first answer",
                                      "user:second question"};
    int rc = vt->append(ctx, tenant, conv, three, 3, &err);
    if (!pc_check(ck, rc == RK_OK, "history append 3", "%s %s", rk_status_name(rc), err.msg))
        return;
    pc_check(ck, load_is(vt, ctx, tenant, conv, 0, all, 3), "history load returns them in order",
             "load did not return the 3 messages in order");
    pc_check(ck, load_is(vt, ctx, tenant, conv, 2, all + 1, 2),
          "history load max=2 returns the last 2", "wrong messages");
    const rk_message two[] = {{"system", "summary"}, {"user", "second question"}};
    static const char *const after[] = {"system:summary", "user:second question"};
    rc = vt->replace(ctx, tenant, conv, two, 2, &err);
    pc_check(ck, rc == RK_OK && load_is(vt, ctx, tenant, conv, 0, after, 2), "history replace",
          "replace %s, then load differs", rk_status_name(rc));
    loaded l = {0};
    rc = vt->load(ctx, other, conv, 0, on_msg, &l, &err);
    pc_check(ck, rc == RK_ERR_NOT_FOUND && l.n == 0, "history another tenant cannot load it",
          "load %s with %d messages", rk_status_name(rc), l.n);
    int64_t gone = vt->expire(ctx, clock_wall_ms() - 3600 * 1000, 100, &err);
    pc_check(ck, gone >= 0 && load_is(vt, ctx, tenant, conv, 0, after, 2),
          "history expire keeps recent conversations", "expire %lld", (long long)gone);
    int64_t total = 0;
    for (int i = 0; i < 100 && (gone = vt->expire(ctx, clock_wall_ms() + 60000, 1000, &err)) > 0;
         i++)
        total += gone;
    rc = vt->load(ctx, tenant, conv, 0, on_msg, &l, &err);
    pc_check(ck, gone >= 0 && total >= 1 && rc == RK_ERR_NOT_FOUND,
          "history expire removes idle conversations", "expired %lld, then load %s",
          (long long)total, rk_status_name(rc));
}

/* ---- llm ----------------------------------------------------------------- */

typedef struct llm_run {
    const rk_llm_vtable *vt;
    void *ctx;
    loop *lp;
    rk_llm_request req;
    rk_message msg;
    int cancel_at_once;
    int start_rc, in_complete, off_loop, inside;
    int deltas, done, status;
    char text[256];
    size_t len;
    latch finished;
} llm_run;

static void on_delta(void *ud, const char *t, size_t len)
{
    llm_run *r = ud;
    r->deltas++;
    r->inside += r->in_complete;
    r->off_loop += loop_current() != r->lp;
    if (r->len + len < sizeof r->text) memcpy(r->text + r->len, t, len), r->len += len;
}

static void on_llm_done(void *ud, int status, const rk_llm_result *res, const char *msg)
{
    llm_run *r = ud;
    r->done++;
    r->status = status;
    r->inside += r->in_complete;
    r->off_loop += loop_current() != r->lp;
    latch_fire(&r->finished);
}

static const rk_llm_sink llm_sink = {sizeof(rk_llm_sink), on_delta, on_llm_done};

static void llm_start_cb(void *ud)
{
    llm_run *r = ud;
    rk_err err = {{0}};
    rk_llm_call *call = NULL;
    r->in_complete = 1;
    r->start_rc = r->vt->complete(r->ctx, &r->req, &llm_sink, r, &call, &err);
    r->in_complete = 0;
    if (r->start_rc == RK_OK && r->cancel_at_once) r->vt->cancel(r->ctx, call);
    if (r->start_rc != RK_OK || r->cancel_at_once) latch_fire(&r->finished);
}

static void llm_run_init(llm_run *r, const rk_plugin *d, void *ctx, loop *lp, int cancel)
{
    memset(r, 0, sizeof *r);
    r->vt = d->vtable;
    r->ctx = ctx;
    r->lp = lp;
    r->cancel_at_once = cancel;
    r->msg = (rk_message){"user", "Say hello to the conformance checker."};
    r->req = (rk_llm_request){.struct_size = sizeof r->req, .request_id = "plugin-check",
                              .messages = &r->msg, .n_messages = 1, .temperature = -1,
                              .deadline_ms = clock_now_ms() + LLM_WAIT_MS};
    latch_init(&r->finished);
}

static void count_model(void *ud, const char *id) { *(int *)ud += id && *id; }

/* Runs live for the whole process: a late callback from a broken plugin
 * must land in valid memory, not on a freed stack frame. */
static llm_run g_run, g_cancel;

static void llm_contract(checker *ck, const rk_plugin *d, void *ctx, loop *lp)
{
    llm_run *r = &g_run;
    llm_run_init(r, d, ctx, lp, 0);
    if (loop_post(lp, llm_start_cb, r) != RK_OK) {
        pc_check(ck, 0, "llm complete", "loop_post failed");
        return;
    }
    int finished = latch_wait(&r->finished, LLM_WAIT_MS);
    if (!pc_check(ck, finished && r->start_rc == RK_OK, "llm complete",
               finished ? "complete returned %s" : "no on_done within %s ms",
               finished ? rk_status_name(r->start_rc) : WAIT_TEXT))
        return;
    usleep(QUIET_MS * 1000);
    loop_drain(lp);
    pc_check(ck, r->deltas >= 1 && r->len > 0, "llm deltas arrive", "%d deltas", r->deltas);
    pc_check(ck, r->done == 1 && r->status == RK_OK, "llm exactly one on_done with RK_OK",
             "%d on_done calls, status %s (%s)", r->done, rk_status_name(r->status),
             rk_strerror(r->status));
    pc_check(ck, !r->off_loop && !r->inside, "llm callbacks on the loop, never inside complete",
             "%d off the loop thread, %d from inside complete()", r->off_loop, r->inside);
    int models = 0;
    r->vt->models(ctx, count_model, &models);
    pc_check(ck, models >= 1, "llm models reports an id", "%d ids", models);

    llm_run *c = &g_cancel;
    llm_run_init(c, d, ctx, lp, 1);
    if (loop_post(lp, llm_start_cb, c) == RK_OK) latch_wait(&c->finished, LLM_WAIT_MS);
    usleep(QUIET_MS * 1000);
    loop_drain(lp);
    pc_check(ck, c->start_rc == RK_OK && c->deltas == 0 && c->done == 0,
          "llm cancel stops all callbacks", "complete %s; after cancel %d deltas, %d on_done",
          rk_status_name(c->start_rc), c->deltas, c->done);
}

/* ---- transport ----------------------------------------------------------- */

static void transport_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_transport_vtable *vt = d->vtable;
    if (!vt->listening) return;
    char buf[256] = "";
    int rc = vt->listening(ctx, buf, sizeof buf);
    pc_check(ck, rc == RK_OK && buf[0], "transport listening", "rc %s, '%s'", rk_status_name(rc),
             buf);
    if (rc == RK_OK) printf("  listening on %s\n", buf);
}

void pc_run_contract(checker *ck, rk_instance *in, loop *lp)
{
    const rk_plugin *d = in->plugin;
    /* Single-threaded here, but honour the flag as the host would. */
    pthread_mutex_lock(&in->serial);
    int declared = d->kind != RK_KIND_LLM && pc_caps_contract(ck, in);
    switch (declared ? 0 : d->kind) {
    case RK_KIND_CACHE: pc_cache_contract(ck, d, in->ctx); break;
    case RK_KIND_STORAGE: storage_contract(ck, d, in->ctx); break;
    case RK_KIND_RETRIEVER: retriever_contract(ck, d, in->ctx); break;
    case RK_KIND_HISTORY: history_contract(ck, d, in->ctx); break;
    case RK_KIND_TRANSPORT: transport_contract(ck, d, in->ctx); break;
    case RK_KIND_EXTRACTOR: pc_extractor_contract(ck, d, in->ctx); break;
    default: break;
    }
    pthread_mutex_unlock(&in->serial);
    if (d->kind == RK_KIND_LLM) llm_contract(ck, d, in->ctx, lp);
}
