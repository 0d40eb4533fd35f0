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
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "hostapi.h"
#include "loader.h"
#include "loop.h"
#include "registry.h"

#include <ragkernel/ragkernel.h>

#define N_PREFIXES 16

static const char *g_url;
static int g_run; /* main()'s pid: names this run's table prefixes */
/* Fault modes bound their waits by it; elsewhere it is generous because
 * SCRAM authentication is slow under valgrind. */
static const char *g_connect_timeout = "10s";

/* ---- admin connection (libpq through dlopen: this binary links only
 * the core) to drop the tables of the run ---------------------------- */

static void admin_exec(const char *sql)
{
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    void *(*connectdb)(const char *) = (void *(*)(const char *))dlsym(lib, "PQconnectdb");
    void *(*exec)(void *, const char *) = (void *(*)(void *, const char *))dlsym(lib, "PQexec");
    void (*clear)(void *) = (void (*)(void *))dlsym(lib, "PQclear");
    void (*finish)(void *) = (void (*)(void *))dlsym(lib, "PQfinish");
    void *pg = connectdb && exec && clear && finish ? connectdb(g_url) : NULL;
    if (pg) {
        clear(exec(pg, sql));
        finish(pg);
    }
    dlclose(lib);
}

static void prefix_of(int n, char *out, size_t cap)
{
    snprintf(out, cap, "rkut_h%d_%d_", g_run, n);
}

/* ---- instances ------------------------------------------------------- */

typedef struct inst {
    loader_plugin *lp;
    cfg_doc *doc;
    rk_instance in;
    void *ctx;
    const rk_history_vtable *vt;
} inst;

/* Load the plugin and validate a config; create() is left to the caller. */
static void inst_config(inst *h, const char *url, const char *prefix, int conns)
{
    const char *b = getenv("BUILD");
    char path[512], yaml[1024], esc[600];
    size_t o = 0;
    for (const char *c = url; *c && o + 2 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\')
            esc[o++] = '\\';
        esc[o++] = *c;
    }
    esc[o] = '\0';
    memset(h, 0, sizeof *h);
    snprintf(path, sizeof path, "%s/plugins/history_postgres.so", b && *b ? b : "build");
    rk_err err = {{0}};
    h->lp = loader_open(path, RK_KIND_HISTORY, &err);
    ck_assert_msg(h->lp != NULL, "loader: %s", err.msg);
    snprintf(yaml, sizeof yaml,
             "{url: \"%s\", pool_size: %d, connect_timeout: %s, table_prefix: \"%s\"}", esc,
             conns, g_connect_timeout, prefix);
    cfg_diag d = {0};
    h->doc = cfg_load_string(yaml, strlen(yaml), "test.yaml", &d);
    ck_assert_msg(h->doc != NULL, "yaml: %s", d.n ? d.lines[0] : "?");
    h->in.name = "history";
    h->in.plugin = h->lp->desc;
    h->in.lp = h->lp;
    h->in.cfg = cfg_values_build(cfg_root(h->doc), h->lp->desc->config, cfg_root(h->doc), &d);
    ck_assert_msg(h->in.cfg != NULL, "config: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    pthread_mutex_init(&h->in.serial, NULL);
    h->vt = h->lp->desc->vtable;
}

static int inst_create(inst *h, rk_err *err)
{
    return h->lp->desc->create(hostapi_table(), &h->in, &h->ctx, err);
}

static void inst_open(inst *h, int n, int conns)
{
    char prefix[64];
    prefix_of(n, prefix, sizeof prefix);
    inst_config(h, g_url, prefix, conns);
    rk_err err = {{0}};
    int rc = inst_create(h, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
}

static void inst_close(inst *h)
{
    if (h->ctx)
        h->lp->desc->destroy(h->ctx);
    cfg_values_free(h->in.cfg);
    cfg_free(h->doc);
    pthread_mutex_destroy(&h->in.serial);
    loader_close(h->lp);
}

/* Loaded messages as "role:content" lines. */
typedef struct loaded {
    char text[16384];
    int n;
    int64_t first_ms;
} loaded;

static void on_msg(void *ud, const rk_history_entry *e)
{
    loaded *l = ud;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s:%s\n", e->role, e->content);
    if (l->n++ == 0)
        l->first_ms = e->created_ms;
}

static int load(inst *h, const char *tenant, const char *conv, size_t max, loaded *l)
{
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    return h->vt->load(h->ctx, tenant, conv, max, on_msg, l, &err);
}

static void append(inst *h, const char *tenant, const char *conv, const rk_message *m,
                   size_t n)
{
    rk_err err = {{0}};
    int rc = h->vt->append(h->ctx, tenant, conv, m, n, &err);
    ck_assert_msg(rc == RK_OK, "append: %s", err.msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
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
    inst h;
    inst_open(&h, 0, 2);
    int64_t before = clock_wall_ms();
    append(&h, "acme", "c1", first3, 3);
    append(&h, "acme", "c1", next2, 2);
    loaded l;
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:What is MVCC?\n"
                             "assistant:Multi-version concurrency control.\n"
                             "user:And «журнал»? 'quotes' \"too\" $1 \\x; DROP TABLE x; --\n"
                             "assistant:Журнал предзаписи.\n"
                             "user:thanks\n");
    ck_assert(l.first_ms >= before && l.first_ms <= clock_wall_ms());
    ck_assert_int_eq(load(&h, "acme", "c1", 2, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал предзаписи.\nuser:thanks\n");
    ck_assert_int_eq(load(&h, "acme", "c1", 100, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_int_eq(load(&h, "acme", "nope", 0, &l), RK_ERR_NOT_FOUND);
    append(&h, "acme", "empty", NULL, 0); /* creates the conversation */
    ck_assert_int_eq(load(&h, "acme", "empty", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 0);
    rk_err err = {{0}};
    rk_message bad[] = {{"user", "ok"}, {"user", NULL}};
    ck_assert_int_eq(h.vt->append(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.vt->append(h.ctx, "acme", NULL, first3, 1, &err), RK_ERR_INVALID);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    inst_close(&h);
}
END_TEST

START_TEST(replace_atomic)
{
    inst h;
    inst_open(&h, 1, 2);
    append(&h, "acme", "c1", first3, 3);
    rk_err err = {{0}};
    rk_message summary[] = {{"system", "Summary: asked about MVCC."}, {"user", "more?"}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "c1", summary, 2, &err), RK_OK);
    loaded l;
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about MVCC.\nuser:more?\n");
    append(&h, "acme", "c1", next2 + 1, 1);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about MVCC.\nuser:more?\nuser:thanks\n");
    rk_message bad[] = {{"user", "x"}, {NULL, "y"}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    /* invalid UTF-8 is refused by the server mid-transaction: nothing changes */
    rk_message badutf[] = {{"user", "fine"}, {"user", "\xff\xfe"}};
    int rc = h.vt->replace(h.ctx, "acme", "c1", badutf, 2, &err);
    ck_assert_msg(rc == RK_ERR_INVALID, "got %d: %s", rc, err.msg);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "new", summary, 1, &err), RK_OK);
    ck_assert_int_eq(load(&h, "acme", "new", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    inst_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    inst h;
    inst_open(&h, 2, 2);
    append(&h, "alice", "conv", first3, 3);
    loaded l;
    ck_assert_int_eq(load(&h, "bob", "conv", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(load(&h, NULL, "conv", 0, &l), RK_ERR_NOT_FOUND);
    append(&h, "bob", "conv", next2, 2);
    ck_assert_int_eq(load(&h, "bob", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    rk_err err = {{0}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "bob", "conv", next2, 1, &err), RK_OK);
    ck_assert_int_eq(load(&h, "alice", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "What is MVCC?") != NULL);
    append(&h, NULL, "conv", next2, 1); /* the default tenant is one more */
    ck_assert_int_eq(load(&h, NULL, "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    inst_close(&h);
}
END_TEST

START_TEST(expire_batches)
{
    inst h;
    inst_open(&h, 3, 2);
    append(&h, "t1", "old1", first3, 1);
    append(&h, "t2", "old2", first3, 2);
    append(&h, "t1", "old3", first3, 3);
    sleep_ms(30);
    int64_t cutoff = clock_wall_ms();
    sleep_ms(30);
    append(&h, "t1", "fresh", first3, 1);
    append(&h, "t1", "old3", next2, 1); /* touched: fresh again */
    rk_err err = {{0}};
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff - 10000, 10, &err), 0);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 1, &err), 1);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 10, &err), 1);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 10, &err), 0);
    loaded l;
    ck_assert_int_eq(load(&h, "t1", "old1", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(load(&h, "t2", "old2", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(load(&h, "t1", "fresh", 0, &l), RK_OK);
    ck_assert_int_eq(load(&h, "t1", "old3", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    /* the messages went with their conversation */
    append(&h, "t2", "old2", next2 + 1, 1);
    ck_assert_int_eq(load(&h, "t2", "old2", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:thanks\n");
    ck_assert_int_eq(h.vt->expire(h.ctx, clock_wall_ms() + 1000, 0, &err), 3);
    ck_assert_int_eq(load(&h, "t1", "fresh", 0, &l), RK_ERR_NOT_FOUND);
    inst_close(&h);
}
END_TEST

START_TEST(two_hosts_share)
{
    inst a, b;
    inst_open(&a, 4, 2);
    inst_open(&b, 4, 2);
    append(&a, "acme", "shared", first3, 2);
    loaded l;
    ck_assert_int_eq(load(&b, "acme", "shared", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    append(&b, "acme", "shared", next2, 2);
    ck_assert_int_eq(load(&a, "acme", "shared", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    ck_assert(strstr(l.text, "user:thanks\n") != NULL);
    rk_err err = {{0}};
    ck_assert_int_eq(b.vt->replace(b.ctx, "acme", "shared", next2, 1, &err), RK_OK);
    ck_assert_int_eq(load(&a, "acme", "shared", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал предзаписи.\n");
    ck_assert_int_eq(a.vt->expire(a.ctx, clock_wall_ms() + 1000, 0, &err), 1);
    ck_assert_int_eq(load(&b, "acme", "shared", 0, &l), RK_ERR_NOT_FOUND);
    inst_close(&a);
    inst_close(&b);
}
END_TEST

/* Eight threads, half on each of two instances with 2 connections each,
 * append to their own and to one shared conversation. */
#define N_THREADS 8
#define N_APPENDS 25

typedef struct worker {
    inst *h;
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
        w->failures += w->h->vt->append(w->h->ctx, "acme", "shared", m, 2, &err) != RK_OK;
        w->failures += w->h->vt->append(w->h->ctx, "acme", own, m, 1, &err) != RK_OK;
        loaded *l = malloc(sizeof *l);
        w->failures += !l || load(w->h, "acme", own, 0, l) != RK_OK || l->n != i + 1;
        free(l);
    }
    return NULL;
}

START_TEST(concurrent_appends)
{
    inst h[2];
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
    loaded *l = malloc(sizeof *l);
    ck_assert_int_eq(load(&h[0], "acme", "shared", 0, l), RK_OK);
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
    inst_close(&h[0]);
    inst_close(&h[1]);
}
END_TEST

/* Six "hosts" start at once on an empty database: the schema must be
 * created exactly once, with no instance seeing a catalog conflict. */
#define N_HOSTS 6

typedef struct starter {
    inst *h;
    pthread_barrier_t *go;
    int rc;
    rk_err err;
} starter;

static void *start_one(void *p)
{
    starter *s = p;
    pthread_barrier_wait(s->go);
    s->rc = inst_create(s->h, &s->err);
    return NULL;
}

START_TEST(schema_race)
{
    char prefix[64], logf[] = "/tmp/rkut_hlog_XXXXXX";
    prefix_of(6, prefix, sizeof prefix);
    inst h[N_HOSTS];
    starter s[N_HOSTS];
    pthread_t th[N_HOSTS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N_HOSTS);
    for (int i = 0; i < N_HOSTS; i++)
        inst_config(&h[i], g_url, prefix, 1);
    /* a lost race shows only as a warning (create retries lazily) */
    int fd = mkstemp(logf), saved = dup(2);
    ck_assert(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    for (int i = 0; i < N_HOSTS; i++) {
        s[i] = (starter){&h[i], &go, 0, {{0}}};
        pthread_create(&th[i], NULL, start_one, &s[i]);
    }
    for (int i = 0; i < N_HOSTS; i++)
        pthread_join(th[i], NULL);
    dup2(saved, 2);
    close(saved);
    char log[4096] = "";
    ssize_t n = pread(fd, log, sizeof log - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logf);
    ck_assert_msg(strstr(log, "level=warn") == NULL, "warnings: %s", log);
    for (int i = 0; i < N_HOSTS; i++) {
        ck_assert_msg(s[i].rc == RK_OK, "create %d: %s", i, s[i].err.msg);
        append(&h[i], "acme", "c", first3, 1);
    }
    loaded l;
    ck_assert_int_eq(load(&h[0], "acme", "c", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, N_HOSTS);
    for (int i = 0; i < N_HOSTS; i++)
        inst_close(&h[i]);
    pthread_barrier_destroy(&go);
}
END_TEST

static int create_fails(const char *url, const char *prefix, rk_err *err)
{
    inst h;
    inst_config(&h, url, prefix, 1);
    int rc = inst_create(&h, err);
    inst_close(&h);
    return rc;
}

START_TEST(config_errors)
{
    rk_err err = {{0}};
    ck_assert_int_eq(create_fails(g_url, "Bad-Prefix", &err), RK_ERR_CONFIG);
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

/* "host:port" of g_url and its password, to check the messages. */
static void url_parts(char *hostport, size_t hcap, char *pw, size_t pcap)
{
    const char *s = strstr(g_url, "://"), *at = s ? strchr(s, '@') : NULL;
    const char *colon = at ? memchr(s + 3, ':', (size_t)(at - s - 3)) : NULL;
    snprintf(pw, pcap, "%.*s", colon ? (int)(at - colon - 1) : 0, colon ? colon + 1 : "");
    const char *h = at ? at + 1 : "", *slash = strchr(h, '/');
    snprintf(hostport, hcap, "%.*s", slash ? (int)(slash - h) : (int)strlen(h), h);
}

/* A call that must fail as UNAVAILABLE, quickly, naming the server. */
static void expect_unavailable(inst *h)
{
    char hostport[256], pw[256];
    url_parts(hostport, sizeof hostport, pw, sizeof pw);
    rk_err err = {{0}};
    int64_t t0 = clock_now_ms();
    int rc = h->vt->append(h->ctx, "acme", "c", first3, 1, &err);
    int64_t took = clock_now_ms() - t0;
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "append while down: %d %s", rc, err.msg);
    ck_assert_msg(took <= 5000, "took %lld ms (connect_timeout 2 s)", (long long)took);
    ck_assert_msg(strstr(err.msg, hostport) != NULL, "'%s' does not name %s", err.msg, hostport);
    ck_assert_msg(!*pw || strstr(err.msg, pw) == NULL, "password in '%s'", err.msg);
    loaded l;
    ck_assert_int_eq(load(h, "acme", "c", 0, &l), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(h->vt->expire(h->ctx, 0, 0, &err), RK_ERR_UNAVAILABLE);
}

START_TEST(server_down)
{
    inst h;
    inst_open(&h, 7, 2); /* must succeed: the database may come up later */
    expect_unavailable(&h);
    expect_unavailable(&h);
    inst_close(&h);
}
END_TEST

static void run_cmd(const char *env)
{
    const char *cmd = getenv(env);
    ck_assert_msg(cmd && *cmd, "%s is not set", env);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

START_TEST(outage_and_recovery)
{
    inst a, b;
    inst_open(&a, 8, 2);
    append(&a, "acme", "kept", first3, 2);
    run_cmd("RK_PG_STOP_CMD");
    expect_unavailable(&a);
    inst_open(&b, 9, 2); /* a host starting while the database is down */
    expect_unavailable(&b);
    run_cmd("RK_PG_START_CMD");
    loaded l;
    ck_assert_int_eq(load(&a, "acme", "kept", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    append(&a, "acme", "kept", next2, 2);
    ck_assert_int_eq(load(&a, "acme", "kept", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    append(&b, "acme", "late", next2, 1); /* its schema is created now */
    ck_assert_int_eq(load(&b, "acme", "late", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    inst_close(&a);
    inst_close(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("history_postgres");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 120);
    if (getenv("RK_PG_DOWN")) {
        tcase_add_test(tc, server_down);
    } else if (getenv("RK_PG_OUTAGE")) {
        tcase_add_test(tc, outage_and_recovery);
    } else {
        tcase_add_test(tc, order_and_max);
        tcase_add_test(tc, replace_atomic);
        tcase_add_test(tc, tenant_isolation);
        tcase_add_test(tc, expire_batches);
        tcase_add_test(tc, two_hosts_share);
        tcase_add_test(tc, concurrent_appends);
        tcase_add_test(tc, schema_race);
        tcase_add_test(tc, config_errors);
    }
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    g_url = getenv("PG_URL");
    if (!g_url || !*g_url) {
        printf("skipped: PG_URL not set\n");
        return EXIT_SUCCESS;
    }
    g_run = (int)getpid();
    if (getenv("RK_PG_DOWN") || getenv("RK_PG_OUTAGE"))
        g_connect_timeout = "2s";
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!getenv("RK_PG_DOWN")) {
        for (int i = 0; i < N_PREFIXES; i++) {
            char p[64], sql[256];
            prefix_of(i, p, sizeof p);
            snprintf(sql, sizeof sql,
                     "SET client_min_messages = warning; "
                     "DROP TABLE IF EXISTS %sconversations, %smessages", p, p);
            admin_exec(sql);
        }
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
