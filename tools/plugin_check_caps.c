/*
 * plugin_check_caps — the contracts a plugin's declared capabilities
 * (rk_plugin.caps, plugin.h) imply, in place of its kind's default one: a
 * read-only retriever, storage or history must refuse every write with
 * RK_ERR_UNSUPPORTED and still answer reads; a proxy retriever or cache
 * (data behind a service it does not own) must accept writes and answer
 * reads in the right shape, without the round trips the default contract
 * demands. A capability that means nothing for the kind, or a bit this
 * checker does not know, fails: a declaration nobody can test is a typo.
 */
#include <stdio.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "loader.h"
#include "plugin_check.h"

static void count_hit(void *ud, const rk_passage *p) { (*(int *)ud)++; }
static void count_meta(void *ud, const rk_doc_meta *m) { (*(int *)ud)++; }
static void count_msg(void *ud, const rk_history_entry *e) { (*(int *)ud)++; }
static void count_value(void *ud, const void *data, size_t len) { (*(int *)ud)++; }
static int64_t read_none(void *ud, void *buf, size_t cap) { return 0; }

static int search_shape(checker *ck, const rk_retriever_vtable *vt, void *ctx, const char *name)
{
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = "default", .text = "check", .k = 3,
                  .deadline_ms = clock_now_ms() + 30000};
    int n = 0;
    int rc = vt->search(ctx, &q, count_hit, &n, &err);
    return pc_check(ck, rc >= 0 && rc == n && rc <= 3, name,
                    "returned %s with %d on_hit calls (k = 3): %s", pc_ret(rc), n, err.msg);
}

static void retriever_caps(checker *ck, const rk_plugin *d, void *ctx, int read_only)
{
    const rk_retriever_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char doc[96];
    snprintf(doc, sizeof doc, "doc-%s", ck->tag);
    rk_chunk c = {.struct_size = sizeof c, .tenant = "default", .doc_id = doc, .title = "Check",
                  .text = "ragkernel capability check", .lang = "en"};
    int rc = vt->index(ctx, &c, 1, &err);
    if (read_only)
        pc_check(ck, rc == RK_ERR_UNSUPPORTED, "retriever read_only: index is UNSUPPORTED",
                 "returned %s: %s", rk_status_name(rc), err.msg);
    else
        pc_check(ck, rc == RK_OK, "retriever proxy: index accepted", "returned %s: %s",
                 rk_status_name(rc), err.msg);
    search_shape(ck, vt, ctx,
                 read_only ? "retriever read_only: search answers" : "retriever proxy: search answers");
    int64_t n = vt->doc_chunks(ctx, "default", doc, &err);
    pc_check(ck, n >= 0, "retriever doc_chunks answers", "returned %s: %s", pc_ret(n), err.msg);
    rc = vt->remove(ctx, "default", doc, &err);
    if (read_only)
        pc_check(ck, rc == RK_ERR_UNSUPPORTED, "retriever read_only: remove is UNSUPPORTED",
                 "returned %s: %s", rk_status_name(rc), err.msg);
    else
        pc_check(ck, rc == RK_OK || rc == RK_ERR_NOT_FOUND, "retriever proxy: remove accepted",
                 "returned %s: %s", rk_status_name(rc), err.msg);
}

static void storage_read_only(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_storage_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char id[96];
    snprintf(id, sizeof id, "rkcheck-%s", ck->tag);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = "default", .id = id,
                     .filename = "check.txt", .content_type = "text/plain"};
    int rc = vt->put(ctx, &m, read_none, NULL, &err);
    pc_check(ck, rc == RK_ERR_UNSUPPORTED, "storage read_only: put is UNSUPPORTED",
             "returned %s: %s", rk_status_name(rc), err.msg);
    int metas = 0;
    rc = vt->list(ctx, "default", NULL, 10, count_meta, &metas, &err);
    pc_check(ck, rc >= 0 && rc == metas, "storage read_only: list answers",
             "returned %s with %d metas: %s", pc_ret(rc), metas, err.msg);
    rc = vt->stat(ctx, "default", id, count_meta, &metas, &err);
    pc_check(ck, rc == RK_ERR_NOT_FOUND, "storage read_only: stat of an absent id is NOT_FOUND",
             "returned %s", rk_status_name(rc));
    rc = vt->remove(ctx, "default", id, &err);
    pc_check(ck, rc == RK_ERR_UNSUPPORTED, "storage read_only: remove is UNSUPPORTED",
             "returned %s: %s", rk_status_name(rc), err.msg);
}

static void history_read_only(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_history_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char conv[96];
    snprintf(conv, sizeof conv, "rkcheck-%s", ck->tag);
    rk_message msg = {"user", "check"};
    int rc = vt->append(ctx, "default", conv, &msg, 1, &err);
    pc_check(ck, rc == RK_ERR_UNSUPPORTED, "history read_only: append is UNSUPPORTED",
             "returned %s: %s", rk_status_name(rc), err.msg);
    rc = vt->replace(ctx, "default", conv, &msg, 1, &err);
    pc_check(ck, rc == RK_ERR_UNSUPPORTED, "history read_only: replace is UNSUPPORTED",
             "returned %s: %s", rk_status_name(rc), err.msg);
    int n = 0;
    rc = vt->load(ctx, "default", conv, 0, count_msg, &n, &err);
    pc_check(ck, rc == RK_ERR_NOT_FOUND && n == 0,
             "history read_only: load of an absent conversation is NOT_FOUND",
             "returned %s with %d messages", rk_status_name(rc), n);
}

static void cache_proxy(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_cache_vtable *vt = d->vtable;
    rk_err err = {{0}};
    char key[96];
    int klen = snprintf(key, sizeof key, "rk-check:%s:proxy", ck->tag);
    int rc = vt->set(ctx, key, (size_t)klen, "v", 1, 60000, &err);
    pc_check(ck, rc == RK_OK || rc == RK_ERR_UNAVAILABLE, "cache proxy: set answers",
             "returned %s: %s", rk_status_name(rc), err.msg);
    int calls = 0;
    rc = vt->get(ctx, key, (size_t)klen, count_value, &calls, &err);
    pc_check(ck, (rc == RK_OK && calls == 1) || (rc != RK_OK && calls == 0),
             "cache proxy: get answers in shape", "returned %s with %d callbacks",
             rk_status_name(rc), calls);
    rc = vt->del(ctx, key, (size_t)klen, &err);
    pc_check(ck, rc == RK_OK || rc == RK_ERR_UNAVAILABLE, "cache proxy: del answers",
             "returned %s: %s", rk_status_name(rc), err.msg);
}

/* Which capabilities mean something for which kind. */
static uint32_t caps_for(rk_kind k)
{
    switch (k) {
    case RK_KIND_RETRIEVER: return RK_CAP_READ_ONLY | RK_CAP_PROXY;
    case RK_KIND_STORAGE: return RK_CAP_READ_ONLY;
    case RK_KIND_HISTORY: return RK_CAP_READ_ONLY;
    case RK_KIND_CACHE: return RK_CAP_PROXY;
    default: return 0;
    }
}

int pc_caps_contract(checker *ck, rk_instance *in)
{
    const rk_plugin *d = in->plugin;
    uint32_t caps = loader_caps(d);
    if (!caps) return 0;
    uint32_t extra = caps & ~caps_for(d->kind);
    pc_check(ck, !extra, "capabilities mean something for the kind",
             "bits 0x%x are unknown or undefined for a %s plugin", (unsigned)extra,
             loader_kind_name(d->kind));
    if ((caps & RK_CAP_READ_ONLY) && (caps_for(d->kind) & RK_CAP_READ_ONLY)) {
        if (d->kind == RK_KIND_RETRIEVER) retriever_caps(ck, d, in->ctx, 1);
        if (d->kind == RK_KIND_STORAGE) storage_read_only(ck, d, in->ctx);
        if (d->kind == RK_KIND_HISTORY) history_read_only(ck, d, in->ctx);
        return 1;
    }
    if ((caps & RK_CAP_PROXY) && (caps_for(d->kind) & RK_CAP_PROXY)) {
        if (d->kind == RK_KIND_RETRIEVER) retriever_caps(ck, d, in->ctx, 0);
        if (d->kind == RK_KIND_CACHE) cache_proxy(ck, d, in->ctx);
        return 1;
    }
    return 0;
}
