/*
 * test_history_postgres — the built history_postgres.so through the real
 * loader, host table and config validation, against the PostgreSQL server
 * PG_URL names (skipped when it is unset): append order and the `max`
 * window, atomic replace, expiry in batches, tenant isolation, two
 * instances ("hosts") sharing conversations, eight threads on two
 * instances appending at once, six instances creating the schema at the
 * same moment, and config errors that must not leak the password. Every
 * test works in tables of its own prefix, dropped by main() at the end.
 *
 * Fault modes, driven by tests/integration/test_postgres.sh:
 *   RK_PG_DOWN=1    the server is down: create still succeeds, calls fail
 *                   with RK_ERR_UNAVAILABLE within connect_timeout + 3 s;
 *   RK_PG_OUTAGE=1  with RK_PG_STOP_CMD and RK_PG_START_CMD: the server
 *                   goes away under a working instance and comes back; the
 *                   same instance recovers without being re-created.
 * Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_calls.h"
#include "pgtest.h"
#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

#define N_PREFIXES 16

/* Load the plugin and validate a config; create() is left to the caller. */
static void inst_config(ph *h, const char *url, const char *prefix, int conns)
{
    char yaml[1024];
    ph_pg_config(yaml, sizeof yaml, url, prefix, conns);
    ph_load(h, "history_postgres", RK_KIND_HISTORY, "history", yaml);
}

static void inst_open(ph *h, int n, int conns)
{
    char prefix[64];
    ph_pg_prefix("h", n, prefix, sizeof prefix);
    inst_config(h, ph_pg_url(), prefix, conns);
    rk_err err = {{0}};
    int rc = ph_create(h, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
}

static const rk_message first3[] = {
    {"user", "What is MVCC?"},
    {"assistant", "Multi-version concurrency control."},
    {"user", "And «журнал»? 'quotes' \"too\" $1 \\x; DROP TABLE x; --"},
};
static const rk_message next2[] = {
    {"assistant", "Журнал предзаписи."},
    {"user", "thanks"},
};

/* ---- contract -------------------------------------------------------- */

START_TEST(order_and_max)
{
    ph h;
    inst_open(&h, 0, 2);
    int64_t before = clock_wall_ms();
    ph_hist_append(&h, "acme", "c1", first3, 3);
    ph_hist_append(&h, "acme", "c1", next2, 2);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:What is MVCC?\n"
                             "assistant:Multi-version concurrency control.\n"
                             "user:And «журнал»? 'quotes' \"too\" $1 \\x; DROP TABLE x; --\n"
                             "assistant:Журнал предзаписи.\n"
                             "user:thanks\n");
    ck_assert(l.first_ms >= before && l.first_ms <= clock_wall_ms());
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 2, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал предзаписи.\nuser:thanks\n");
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 100, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "nope", 0, &l), RK_ERR_NOT_FOUND);
    ph_hist_append(&h, "acme", "empty", NULL, 0); /* creates the conversation */
    ck_assert_int_eq(ph_hist_load(&h, "acme", "empty", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 0);
    rk_err err = {{0}};
    rk_message bad[] = {{"user", "ok"}, {"user", NULL}};
    ck_assert_int_eq(h.history->append(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.history->append(h.ctx, "acme", NULL, first3, 1, &err), RK_ERR_INVALID);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ph_close(&h);
}
END_TEST

START_TEST(replace_atomic)
{
    ph h;
    inst_open(&h, 1, 2);
    ph_hist_append(&h, "acme", "c1", first3, 3);
    rk_err err = {{0}};
    rk_message summary[] = {{"system", "Summary: asked about MVCC."}, {"user", "more?"}};
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "c1", summary, 2, &err), RK_OK);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about MVCC.\nuser:more?\n");
    ph_hist_append(&h, "acme", "c1", next2 + 1, 1);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about MVCC.\nuser:more?\nuser:thanks\n");
    rk_message bad[] = {{"user", "x"}, {NULL, "y"}};
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    /* invalid UTF-8 is refused by the server mid-transaction: nothing changes */
    rk_message badutf[] = {{"user", "fine"}, {"user", "\xff\xfe"}};
    int rc = h.history->replace(h.ctx, "acme", "c1", badutf, 2, &err);
    ck_assert_msg(rc == RK_ERR_INVALID, "got %d: %s", rc, err.msg);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "new", summary, 1, &err), RK_OK);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "new", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    ph_close(&h);
}
END_TEST

START_TEST(list_and_remove)
{
    ph h;
    inst_open(&h, 10, 2);
    ph_hist_list_remove(&h);
    ph_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    ph h;
    inst_open(&h, 2, 2);
    ph_hist_append(&h, "alice", "conv", first3, 3);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "bob", "conv", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(ph_hist_load(&h, NULL, "conv", 0, &l), RK_ERR_NOT_FOUND);
    ph_hist_append(&h, "bob", "conv", next2, 2);
    ck_assert_int_eq(ph_hist_load(&h, "bob", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    rk_err err = {{0}};
    ck_assert_int_eq(h.history->replace(h.ctx, "bob", "conv", next2, 1, &err), RK_OK);
    ck_assert_int_eq(ph_hist_load(&h, "alice", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "What is MVCC?") != NULL);
    ph_hist_append(&h, NULL, "conv", next2, 1); /* the default tenant is one more */
    ck_assert_int_eq(ph_hist_load(&h, NULL, "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    ph_close(&h);
}
END_TEST

START_TEST(expire_batches)
{
    ph h;
    inst_open(&h, 3, 2);
    ph_hist_append(&h, "t1", "old1", first3, 1);
    ph_hist_append(&h, "t2", "old2", first3, 2);
    ph_hist_append(&h, "t1", "old3", first3, 3);
    ph_sleep_ms(30);
    int64_t cutoff = clock_wall_ms();
    ph_sleep_ms(30);
    ph_hist_append(&h, "t1", "fresh", first3, 1);
    ph_hist_append(&h, "t1", "old3", next2, 1); /* touched: fresh again */
    rk_err err = {{0}};
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff - 10000, 10, &err), 0);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 1, &err), 1);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 10, &err), 1);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 10, &err), 0);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "t1", "old1", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(ph_hist_load(&h, "t2", "old2", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "fresh", 0, &l), RK_OK);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "old3", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    /* the messages went with their conversation */
    ph_hist_append(&h, "t2", "old2", next2 + 1, 1);
    ck_assert_int_eq(ph_hist_load(&h, "t2", "old2", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:thanks\n");
    ck_assert_int_eq(h.history->expire(h.ctx, clock_wall_ms() + 1000, 0, &err), 3);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "fresh", 0, &l), RK_ERR_NOT_FOUND);
    ph_close(&h);
}
END_TEST

START_TEST(two_hosts_share)
{
    ph a, b;
    inst_open(&a, 4, 2);
    inst_open(&b, 4, 2);
    ph_hist_append(&a, "acme", "shared", first3, 2);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&b, "acme", "shared", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    ph_hist_append(&b, "acme", "shared", next2, 2);
    ck_assert_int_eq(ph_hist_load(&a, "acme", "shared", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    ck_assert(strstr(l.text, "user:thanks\n") != NULL);
    rk_err err = {{0}};
    ck_assert_int_eq(b.history->replace(b.ctx, "acme", "shared", next2, 1, &err), RK_OK);
    ck_assert_int_eq(ph_hist_load(&a, "acme", "shared", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал предзаписи.\n");
    ck_assert_int_eq(a.history->expire(a.ctx, clock_wall_ms() + 1000, 0, &err), 1);
    ck_assert_int_eq(ph_hist_load(&b, "acme", "shared", 0, &l), RK_ERR_NOT_FOUND);
    ph_close(&a);
    ph_close(&b);
}
END_TEST

/* Eight threads, half on each of two instances with 2 connections each,
 * append to their own and to one shared conversation. */
#define N_THREADS 8
#define N_APPENDS 25

typedef struct worker {
    ph *h;
    int id, failures;
} worker;

static void *worker_run(void *p)
{
    worker *w = p;
    char own[32], text[64];
    snprintf(own, sizeof own, "own-%d", w->id);
    for (int i = 0; i < N_APPENDS; i++) {
        snprintf(text, sizeof text, "w%d-%d", w->id, i);
        rk_message m[2] = {{"user", text}, {"assistant", text}};
        rk_err err;
        w->failures += w->h->history->append(w->h->ctx, "acme", "shared", m, 2, &err) != RK_OK;
        w->failures += w->h->history->append(w->h->ctx, "acme", own, m, 1, &err) != RK_OK;
        ph_loaded *l = malloc(sizeof *l);
        w->failures += !l || ph_hist_load(w->h, "acme", own, 0, l) != RK_OK || l->n != i + 1;
        free(l);
    }
    return NULL;
}

START_TEST(concurrent_appends)
{
    ph h[2];
    inst_open(&h[0], 5, 2);
    inst_open(&h[1], 5, 2);
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){&h[i % 2], i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    ph_loaded *l = malloc(sizeof *l);
    ck_assert_int_eq(ph_hist_load(&h[0], "acme", "shared", 0, l), RK_OK);
    ck_assert_int_eq(l->n, N_THREADS * N_APPENDS * 2);
    /* each append's two messages stayed together */
    const char *p = l->text;
    for (int i = 0; i < N_THREADS * N_APPENDS && *p; i++) {
        const char *nl = strchr(p, '\n'), *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
        ck_assert(nl2 != NULL);
        ck_assert(strncmp(p, "user:", 5) == 0 && strncmp(nl + 1, "assistant:", 10) == 0);
        ck_assert(strncmp(p + 5, nl + 11, (size_t)(nl - p - 5)) == 0);
        p = nl2 + 1;
    }
    free(l);
    ph_close(&h[0]);
    ph_close(&h[1]);
}
END_TEST

/* Six "hosts" start at once on an empty database: the schema must be
 * created exactly once, with no instance seeing a catalog conflict. */
#define N_HOSTS 6

static void race_config(ph *h, const char *prefix) { inst_config(h, ph_pg_url(), prefix, 1); }

START_TEST(schema_race)
{
    char prefix[64];
    ph_pg_prefix("h", 6, prefix, sizeof prefix);
    ph h[N_HOSTS];
    ph_pg_create_racing(h, N_HOSTS, prefix, race_config);
    for (int i = 0; i < N_HOSTS; i++)
        ph_hist_append(&h[i], "acme", "c", first3, 1);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h[0], "acme", "c", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, N_HOSTS);
    for (int i = 0; i < N_HOSTS; i++)
        ph_close(&h[i]);
}
END_TEST

static int create_fails(const char *url, const char *prefix, rk_err *err)
{
    ph h;
    inst_config(&h, url, prefix, 1);
    int rc = ph_create(&h, err);
    ph_close(&h);
    return rc;
}

START_TEST(config_errors)
{
    rk_err err = {{0}};
    ck_assert_int_eq(create_fails(ph_pg_url(), "Bad-Prefix", &err), RK_ERR_CONFIG);
    ck_assert(strstr(err.msg, "table_prefix") != NULL);
    ck_assert_int_eq(create_fails("postgresql://u:s3cretpw@127.0.0.1/db?bogus=s3cretpw", "rk_",
                                  &err),
                     RK_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "s3cretpw") == NULL, "password leaked: %s", err.msg);
    ck_assert_int_eq(create_fails("host=127.0.0.1 password=s3cretpw nonsense", "rk_", &err),
                     RK_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "s3cretpw") == NULL, "password leaked: %s", err.msg);
}
END_TEST

/* ---- fault modes ----------------------------------------------------- */

/* "host:port" of ph_pg_url() and its password, to check the messages. */
static void url_parts(char *hostport, size_t hcap, char *pw, size_t pcap)
{
    const char *s = strstr(ph_pg_url(), "://"), *at = s ? strchr(s, '@') : NULL;
    const char *colon = at ? memchr(s + 3, ':', (size_t)(at - s - 3)) : NULL;
    snprintf(pw, pcap, "%.*s", colon ? (int)(at - colon - 1) : 0, colon ? colon + 1 : "");
    const char *h = at ? at + 1 : "", *slash = strchr(h, '/');
    snprintf(hostport, hcap, "%.*s", slash ? (int)(slash - h) : (int)strlen(h), h);
}

/* A call that must fail as UNAVAILABLE, quickly, naming the server. */
static void expect_unavailable(ph *h)
{
    char hostport[256], pw[256];
    url_parts(hostport, sizeof hostport, pw, sizeof pw);
    rk_err err = {{0}};
    int64_t t0 = clock_now_ms();
    int rc = h->history->append(h->ctx, "acme", "c", first3, 1, &err);
    int64_t took = clock_now_ms() - t0;
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "append while down: %d %s", rc, err.msg);
    ck_assert_msg(took <= 5000, "took %lld ms (connect_timeout 2 s)", (long long)took);
    ck_assert_msg(strstr(err.msg, hostport) != NULL, "'%s' does not name %s", err.msg, hostport);
    ck_assert_msg(!*pw || strstr(err.msg, pw) == NULL, "password in '%s'", err.msg);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(h, "acme", "c", 0, &l), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(h->history->expire(h->ctx, 0, 0, &err), RK_ERR_UNAVAILABLE);
}

START_TEST(server_down)
{
    ph h;
    inst_open(&h, 7, 2); /* must succeed: the database may come up later */
    expect_unavailable(&h);
    expect_unavailable(&h);
    ph_close(&h);
}
END_TEST

START_TEST(outage_and_recovery)
{
    ph a, b;
    inst_open(&a, 8, 2);
    ph_hist_append(&a, "acme", "kept", first3, 2);
    ph_env_cmd("RK_PG_STOP_CMD");
    expect_unavailable(&a);
    inst_open(&b, 9, 2); /* a host starting while the database is down */
    expect_unavailable(&b);
    ph_env_cmd("RK_PG_START_CMD");
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&a, "acme", "kept", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    ph_hist_append(&a, "acme", "kept", next2, 2);
    ck_assert_int_eq(ph_hist_load(&a, "acme", "kept", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    ph_hist_append(&b, "acme", "late", next2, 1); /* its schema is created now */
    ck_assert_int_eq(ph_hist_load(&b, "acme", "late", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    ph_close(&a);
    ph_close(&b);
}
END_TEST

/* Keys written on one host are read on another (the same tables). */
START_TEST(api_keys_two_hosts)
{
    ph a, b;
    inst_open(&a, 10, 2);
    inst_open(&b, 10, 2);
    ph_hist_keys_contract(&a, &b);
    ph_close(&a);
    ph_close(&b);
}
END_TEST

static Suite *suite(void)
{
    return ph_pg_suite("history_postgres", server_down, outage_and_recovery,
                       PH_TESTS(order_and_max, replace_atomic, tenant_isolation, list_and_remove,
                                expire_batches, two_hosts_share, concurrent_appends, schema_race,
                                config_errors, api_keys_two_hosts));
}

static void drop_tables(const char *prefix, char *sql, size_t cap)
{
    snprintf(sql, cap,
             "SET client_min_messages = warning; "
             "DROP TABLE IF EXISTS %sconversations, %smessages, %sapi_keys", prefix, prefix,
             prefix);
}

int main(void) { return ph_pg_main(suite, "h", N_PREFIXES, drop_tables); }
