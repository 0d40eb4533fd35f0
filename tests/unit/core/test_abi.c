/*
 * test_abi — the ABI contract across versions (ragkernel.h, "The ABI
 * contract"). Plugins built against the frozen 1.0 headers
 * (tests/abi/plugins -> $BUILD/abi-plugins) load and work on this host: a
 * 1.0 transport chats through the 1.0 rk_host slots and a 1.0 cache
 * answers the repeated question. Structs passed in arrays keep their 1.0
 * stride, and the 1.0 part of rk_host keeps its layout. A plugin built
 * today that needs only 1.0 is admitted by the 1.0 loader rule, one that
 * needs 1.1 is not. Role services go to transports only, by name and size.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

#include "../../abi/host_1_0.h"
#include "hostapi.h"
#include "loader.h"
#include "registry.h"
#include "server.h"

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

#define SAME_SIZE(t) ck_assert_msg(abi10_sizeof(#t) == sizeof(t), #t ": 1.0 %zu, now %zu", \
                                   abi10_sizeof(#t), sizeof(t))

START_TEST(array_strides_are_1_0)
{
    SAME_SIZE(rk_message);
    SAME_SIZE(rk_passage);
    SAME_SIZE(rk_chunk);
    SAME_SIZE(rk_http_header);
    SAME_SIZE(rk_config_key);
    ck_assert_uint_eq(abi10_offsetof("rk_passage.chunk_index"), offsetof(rk_passage, chunk_index));
    ck_assert_uint_eq(abi10_offsetof("rk_chunk.lang"), offsetof(rk_chunk, lang));
    /* the tables only grew at the end */
    ck_assert_uint_eq(abi10_offsetof("rk_host.chat_start"), offsetof(rk_host, chat_start));
    ck_assert_uint_eq(abi10_offsetof("rk_host.embed_start"), offsetof(rk_host, embed_start));
    ck_assert_uint_eq(abi10_offsetof("rk_plugin.vtable"), offsetof(rk_plugin, vtable));
    ck_assert_uint_gt(sizeof(rk_host), abi10_sizeof("rk_host"));
    ck_assert_uint_gt(sizeof(rk_plugin), abi10_sizeof("rk_plugin"));
}
END_TEST

static loader_plugin *open_test_plugin(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s/%s.so", build_dir(), dir, name);
    rk_err err = {{0}};
    loader_plugin *p = loader_open(path, 0, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    return p;
}

START_TEST(newer_headers_on_a_1_0_host)
{
    loader_plugin *old = open_test_plugin("test-plugins", "needs_1_0_cache");
    ck_assert_int_eq(old->desc->abi_minor, 0);
    ck_assert_msg(abi10_admits(old->desc), "a 1.0 host refuses a plugin that needs only 1.0");
    loader_plugin *cur = open_test_plugin("test-plugins", "good_cache");
    ck_assert_int_eq(cur->desc->abi_minor, RK_ABI_MINOR);
    ck_assert_msg(!abi10_admits(cur->desc), "a 1.0 host admits a plugin that needs 1.1");
    loader_close(old);
    loader_close(cur);
}
END_TEST

START_TEST(plugins_1_0_load)
{
    loader_plugin *c = open_test_plugin("abi-plugins", "abi10_cache");
    ck_assert_int_eq(c->desc->abi_minor, 0);
    ck_assert_uint_eq(c->desc->struct_size, abi10_sizeof("rk_plugin"));
    ck_assert_uint_eq(loader_caps(c->desc), 0);
    const rk_cache_vtable *vt = c->desc->vtable;
    ck_assert(!RK_HAS_FIELD(vt, rk_cache_vtable, rate_take));
    loader_close(c);
    loader_plugin *t = open_test_plugin("abi-plugins", "abi10_transport");
    ck_assert_int_eq(t->desc->kind, RK_KIND_TRANSPORT);
    loader_close(t);
}
END_TEST

static char cfg_path[256];

static void write_config(void)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/rk-test-abi-%d.yaml", (int)getpid());
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "server:\n  plugin_path: [\"%s/abi-plugins\", \"%s/test-plugins\"]\n"
            "  log_level: error\n  shutdown_grace: 5s\n"
            "pipeline:\n  llm: [echo]\n  cache: c10\n"
            "instances:\n  echo:\n    plugin: good_llm\n    config:\n      model: m10\n"
            "  c10:\n    plugin: abi10_cache\n  t10:\n    plugin: abi10_transport\n",
            build_dir(), build_dir());
    fclose(f);
}

/* Polls the 1.0 transport's report until a chat came back from the cache. */
static void wait_for_hit(rk_instance *t, char *report, size_t cap)
{
    const rk_transport_vtable *vt = t->plugin->vtable;
    for (int i = 0; i < 200; i++) { /* 10 s */
        ck_assert_int_eq(vt->listening(t->ctx, report, cap), RK_OK);
        if (strstr(report, "hits=1")) return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("no cache hit within 10 s: %s", report);
}

START_TEST(plugins_1_0_work)
{
    write_config();
    cfg_diag d = {0};
    server *s = server_new(cfg_path, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    ck_assert_ptr_nonnull(s);
    rk_instance *t = registry_get(hostgen_current().reg, "t10");
    ck_assert_ptr_nonnull(t);
    char report[512];
    wait_for_hit(t, report, sizeof report);
    ck_assert_msg(strstr(report, "ready=1 model=m10 ") != NULL, "%s", report);
    ck_assert_msg(strstr(report, "status=0 answer=echo: hello from 1.0") != NULL, "%s", report);
    cfg_diag_free(&d);
    server_free(s);
    unlink(cfg_path);
}
END_TEST

START_TEST(services_by_role)
{
    const rk_host *h = hostapi_table();
    ck_assert(RK_HAS_FIELD(h, rk_host, service));
    rk_plugin tp = {.kind = RK_KIND_TRANSPORT}, cp = {.kind = RK_KIND_CACHE};
    rk_instance tr = {.plugin = &tp}, ca = {.plugin = &cp};
    const rk_chat_service *chat =
        RK_SERVICE(h, &tr, rk_chat_service, RK_SERVICE_CHAT, embed_start);
    ck_assert_ptr_nonnull(chat);
    ck_assert_uint_eq(chat->struct_size, sizeof(rk_chat_service));
    ck_assert(chat->chat_start == h->chat_start && chat->embed_start == h->embed_start);
    const rk_docs_service *dsv =
        RK_SERVICE(h, &tr, rk_docs_service, RK_SERVICE_DOCUMENTS, doc_delete);
    ck_assert(dsv && dsv->doc_put == h->doc_put && dsv->doc_get == h->doc_get);
    /* 1.1 document administration: offered, and covered by the size */
    ck_assert(RK_HAS_FIELD(dsv, rk_docs_service, doc_put_async) && dsv->doc_status &&
              dsv->doc_reindex && dsv->doc_put_async);
    ck_assert_ptr_nonnull(
        RK_SERVICE(h, &tr, rk_docs_service, RK_SERVICE_DOCUMENTS, doc_put_async));
    const rk_conv_service *cv =
        RK_SERVICE(h, &tr, rk_conv_service, RK_SERVICE_CONVERSATIONS, conv_delete);
    ck_assert(cv && cv->conv_list && cv->conv_get && cv->conv_delete);
    ck_assert_ptr_null(
        RK_SERVICE(h, &ca, rk_conv_service, RK_SERVICE_CONVERSATIONS, conv_list));
    const rk_auth_service *asv = RK_SERVICE(h, &tr, rk_auth_service, RK_SERVICE_AUTH, authenticate);
    ck_assert(asv && asv->authenticate == h->authenticate);
    const rk_limits_service *lim =
        RK_SERVICE(h, &tr, rk_limits_service, RK_SERVICE_LIMITS, rate_limit);
    ck_assert(lim && lim->rate_limit == h->rate_limit);
    const rk_status_service *st =
        RK_SERVICE(h, &tr, rk_status_service, RK_SERVICE_STATUS, render_metrics);
    ck_assert(st && st->ready == h->ready);
    /* another role, an unknown name, more than the host has, no instance */
    ck_assert_ptr_null(RK_SERVICE(h, &ca, rk_chat_service, RK_SERVICE_CHAT, chat_start));
    ck_assert_ptr_null(h->service(&tr, "telepathy", 8));
    ck_assert_ptr_null(h->service(&tr, RK_SERVICE_CHAT, sizeof(rk_chat_service) + 1));
    ck_assert_ptr_null(h->service(NULL, RK_SERVICE_CHAT, 8));
    /* a host without the slot (1.0-sized table): the lookup is NULL, no call */
    rk_host old = *h;
    old.struct_size = (uint32_t)abi10_sizeof("rk_host");
    ck_assert_ptr_null(RK_SERVICE(&old, &tr, rk_chat_service, RK_SERVICE_CHAT, chat_start));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("abi");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, array_strides_are_1_0);
    tcase_add_test(tc, newer_headers_on_a_1_0_host);
    tcase_add_test(tc, plugins_1_0_load);
    tcase_add_test(tc, plugins_1_0_work);
    tcase_add_test(tc, services_by_role);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
