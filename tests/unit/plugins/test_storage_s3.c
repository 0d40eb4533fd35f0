/*
 * test_storage_s3 — storage_s3.so through the real loader, host table and
 * config validation. Without S3_ENDPOINT only the server-free checks run
 * (config errors; an unreachable endpoint fails fast). With it (set by
 * tests/integration/test_storage_s3.sh): 12 MiB multipart round trip,
 * ranges, list pagination per tenant and across tenants, remove, failed
 * puts keeping the old object, concurrent calls, and with S3RVER_BIN an
 * outage: a private s3rver killed mid-put and restarted on the same data
 * directory and port must leave no partial object behind.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostapi.h"
#include "plugin_harness.h"
#include "sha256.h"

#include <ragkernel/ragkernel.h>

#define MiB (1024 * 1024)

static char g_bucket[64]; /* one bucket per run: runs never see each other's objects */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* ---- one plugin instance ---------------------------------------------- */

/* extra: more YAML mapping entries, e.g. "max_retries: 1, ". */
static void h_open_at(ph *h, const char *endpoint, int create_bucket, const char *extra)
{
    char prefix[64], yaml[1024];
    snprintf(prefix, sizeof prefix, "p%ld%lld/", (long)getpid(), (long long)clock_now_ms());
    snprintf(yaml, sizeof yaml,
             "{endpoint: \"%s\", bucket: \"%s\", prefix: \"%s\", path_style: true, "
             "create_bucket: %s, access_key: \"%s\", secret_key: \"%s\", %s"
             "multipart_threshold: 5MB, part_size: 5MB}",
             endpoint, g_bucket, prefix, create_bucket ? "true" : "false",
             env_or("S3_ACCESS_KEY", "S3RVER"), env_or("S3_SECRET_KEY", "S3RVER"),
             extra ? extra : "");
    ph_open(h, "storage_s3", RK_KIND_STORAGE, "docs", yaml);
    ph_start(h);
}

static void h_open(ph *h)
{
    h_open_at(h, getenv("S3_ENDPOINT"), 1, NULL);
}

static void h_close(ph *h)
{
    ph_stop(h, 5000);
    ph_close(h);
}

/* ---- bodies ------------------------------------------------------------- */

typedef struct reader {
    const unsigned char *data;
    size_t len, pos, step; /* step: at most this many bytes per call (0 = any) */
    size_t abort_at;       /* > 0: fail with RK_ERR_CANCELLED from here on */
    size_t kill_at;        /* > 0: SIGKILL kill_pid once this much was handed out */
    pid_t kill_pid;        /* 0 once killed, at killed_ms */
    int64_t killed_ms;
} reader;

static int64_t read_body(void *ud, void *buf, size_t cap)
{
    reader *r = ud;
    if (r->abort_at && r->pos >= r->abort_at)
        return RK_ERR_CANCELLED;
    if (r->kill_at && r->pos >= r->kill_at && r->kill_pid > 0) {
        kill(r->kill_pid, SIGKILL); /* the server dies in the middle of the put */
        waitpid(r->kill_pid, NULL, 0);
        r->kill_pid = 0;
        r->killed_ms = clock_now_ms();
    }
    size_t n = r->len - r->pos;
    n = n > cap ? cap : n;
    n = r->step && n > r->step ? r->step : n;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (int64_t)n;
}

typedef struct sink {
    unsigned char *data;
    size_t len, cap;
} sink;

static int write_body(void *ud, const void *data, size_t len)
{
    sink *s = ud;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->data = realloc(s->data, s->cap);
        ck_assert_ptr_nonnull(s->data);
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return 0;
}

static void hex_of(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final_hex(&c, out);
}

static unsigned char *random_bytes(size_t len)
{
    unsigned char *p = malloc(len);
    ck_assert_ptr_nonnull(p);
    FILE *f = fopen("/dev/urandom", "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(p, 1, len, f), len);
    fclose(f);
    return p;
}

static int put_full(ph *h, const char *tenant, const char *id, const void *data,
                    size_t len, reader *r, rk_err *err)
{
    char sha[SHA256_HEX_LEN];
    hex_of(data, len, sha);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = tenant, .id = id,
                     .filename = "Report \xc2\xabQ3\xc2\xbb & co.md",
                     .content_type = "text/markdown", .size = len, .sha256 = sha,
                     .created_ms = 1700000000123};
    reader dflt = {.data = data, .len = len, .step = 100000};
    return h->storage->put(h->ctx, &m, read_body, r ? r : &dflt, err);
}

static void put_str(ph *h, const char *tenant, const char *id, const char *s)
{
    rk_err err = {{0}};
    int rc = put_full(h, tenant, id, s, strlen(s), NULL, &err);
    ck_assert_msg(rc == RK_OK, "put %s/%s: %s", tenant, id, err.msg);
}

static int get_range(ph *h, const char *tenant, const char *id, uint64_t off,
                     uint64_t len, sink *s, rk_err *err)
{
    memset(s, 0, sizeof *s);
    return h->storage->get(h->ctx, tenant, id, off, len, write_body, s, err);
}

typedef struct listing {
    int n;
    char ids[16][140];
    uint64_t size;
    char filename[128], sha[SHA256_HEX_LEN];
    int64_t created;
} listing;

static void on_meta(void *ud, const rk_doc_meta *m)
{
    listing *l = ud;
    if (l->n < 16)
        snprintf(l->ids[l->n], sizeof l->ids[0], "%s/%s", m->tenant, m->id);
    l->n++;
    l->size = m->size;
    l->created = m->created_ms;
    snprintf(l->filename, sizeof l->filename, "%s", m->filename);
    snprintf(l->sha, sizeof l->sha, "%s", m->sha256);
}

static int list(ph *h, const char *tenant, const char *after, size_t limit, listing *l)
{
    rk_err err = {{0}};
    memset(l, 0, sizeof *l);
    int rc = h->storage->list(h->ctx, tenant, after, limit, on_meta, l, &err);
    ck_assert_msg(rc >= 0, "list %s after %s: %s", tenant ? tenant : "(all)",
                  after ? after : "-", err.msg);
    ck_assert_int_eq(rc, l->n);
    return rc;
}

static void render(void *ud, const char *data, size_t len)
{
    write_body(ud, data, len);
    write_body(ud, "", 1); /* keep it a string */
    ((sink *)ud)->len--;
}

/* Whether the metrics text has this exact sample line. */
static int metric_has(const char *line)
{
    sink m = {0};
    hostapi_table()->render_metrics(render, &m);
    const char *found = m.data ? strstr((char *)m.data, line) : NULL;
    if (!found)
        fprintf(stderr, "no '%s' in:\n%s", line, m.data ? (char *)m.data : "");
    free(m.data);
    return found != NULL;
}

/* ---- tests against S3_ENDPOINT ------------------------------------------ */

START_TEST(multipart_round_trip)
{
    ph h;
    h_open(&h);
    size_t len = 12 * MiB; /* 5 + 5 + 2 MiB parts */
    unsigned char *data = random_bytes(len);
    char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
    hex_of(data, len, want);
    rk_err err = {{0}};
    ck_assert_msg(put_full(&h, "big", "twelve", data, len, NULL, &err) == RK_OK, "%s", err.msg);
    sink s;
    ck_assert_msg(get_range(&h, "big", "twelve", 0, 0, &s, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(s.len, len);
    hex_of(s.data, s.len, got);
    ck_assert_str_eq(got, want);
    free(s.data);
    /* a range across the first part boundary */
    ck_assert_int_eq(get_range(&h, "big", "twelve", 5 * MiB - 100, 300, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, 300);
    ck_assert(memcmp(s.data, data + 5 * MiB - 100, 300) == 0);
    free(s.data);
    listing l = {0};
    ck_assert_int_eq(h.storage->stat(h.ctx, "big", "twelve", on_meta, &l, &err), RK_OK);
    ck_assert_uint_eq(l.size, len);
    ck_assert_str_eq(l.sha, want);
    ck_assert_str_eq(l.filename, "Report \xc2\xabQ3\xc2\xbb & co.md");
    ck_assert_int_eq(l.created, 1700000000123);
    /* it really went up in three parts */
    ck_assert(metric_has("ragkernel_s3_requests_total{op=\"mpu_part\",code=\"200\"} 3\n"));
    ck_assert(metric_has("ragkernel_s3_request_seconds_count{op=\"mpu_part\"} 3\n"));
    free(data);
    h_close(&h);
}
END_TEST

START_TEST(range_reads)
{
    ph h;
    h_open(&h);
    size_t len = 200000;
    unsigned char *data = random_bytes(len);
    rk_err err = {{0}};
    ck_assert_int_eq(put_full(&h, "acme", "r", data, len, NULL, &err), RK_OK);
    struct { uint64_t off, length, want; } cases[] = {
        {1000, 5000, 5000}, {0, 1, 1}, {len - 1, 0, 1},
        {150000, 999999, len - 150000}, {len, 0, 0}, {0, 0, len}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sink s;
        int rc = get_range(&h, "acme", "r", cases[c].off, cases[c].length, &s, &err);
        ck_assert_msg(rc == RK_OK, "case %zu: %s", c, err.msg);
        ck_assert_msg(s.len == cases[c].want, "case %zu: %zu bytes", c, s.len);
        ck_assert(s.len == 0 || memcmp(s.data, data + cases[c].off, s.len) == 0);
        free(s.data);
    }
    sink s;
    ck_assert_int_eq(get_range(&h, "acme", "r", len + 1, 0, &s, &err), RK_ERR_INVALID);
    ck_assert_int_eq(get_range(&h, "acme", "missing", 0, 0, &s, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(get_range(&h, "acme", "missing", 10, 5, &s, &err), RK_ERR_NOT_FOUND);
    put_str(&h, "acme", "empty", "");
    /* (a Range on an empty object gets a malformed 206 from s3rver 3.7.1,
     * so only the whole-object read is exercised here) */
    ck_assert_int_eq(get_range(&h, "acme", "empty", 0, 0, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, 0);
    free(data);
    h_close(&h);
}
END_TEST

START_TEST(list_and_remove)
{
    ph h;
    h_open(&h);
    put_str(&h, "pg", "c-3", "three");
    put_str(&h, "pg", "a-1", "one");
    put_str(&h, "pg", "b-2", "two");
    put_str(&h, "pgx", "a-0", "other tenant");
    listing l = {0};
    ck_assert_int_eq(list(&h, "pg", NULL, 2, &l), 2);
    ck_assert_str_eq(l.ids[0], "pg/a-1");
    ck_assert_str_eq(l.ids[1], "pg/b-2");
    ck_assert_int_eq(list(&h, "pg", "b-2", 2, &l), 1);
    ck_assert_str_eq(l.ids[0], "pg/c-3");
    ck_assert_int_eq(l.size, 5);
    ck_assert_int_eq(list(&h, "pg", "c-3", 2, &l), 0);
    ck_assert_int_eq(list(&h, "pg", NULL, 0, &l), 3); /* 0 = no limit */
    ck_assert_int_eq(list(&h, "nobody", NULL, 10, &l), 0);
    /* every tenant, one at a time with the "<tenant>/<id>" cursor */
    static const char *const all[] = {"pg/a-1", "pg/b-2", "pg/c-3", "pgx/a-0"};
    ck_assert_int_eq(list(&h, NULL, NULL, 0, &l), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(l.ids[i], all[i]);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(list(&h, NULL, i ? all[i - 1] : NULL, 1, &l), 1);
        ck_assert_str_eq(l.ids[0], all[i]);
    }
    ck_assert_int_eq(list(&h, NULL, all[3], 1, &l), 0);
    rk_err err = {{0}};
    ck_assert_int_eq(h.storage->list(h.ctx, "pg", "../x", 2, on_meta, &l, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, "no-slash", 1, on_meta, &l, &err),
                     RK_ERR_INVALID);
    /* remove: gone from get, stat and list; a second remove is NOT_FOUND */
    ck_assert_int_eq(h.storage->remove(h.ctx, "pg", "b-2", &err), RK_OK);
    sink s;
    ck_assert_int_eq(get_range(&h, "pg", "b-2", 0, 0, &s, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->stat(h.ctx, "pg", "b-2", on_meta, &l, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->remove(h.ctx, "pg", "b-2", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(list(&h, "pg", NULL, 0, &l), 2);
    ck_assert_str_eq(l.ids[1], "pg/c-3");
    /* names that could leave the prefix are refused before any request */
    ck_assert_int_eq(h.storage->remove(h.ctx, "..", "doc", &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.storage->stat(h.ctx, "pg", "a/b", on_meta, &l, &err), RK_ERR_INVALID);
    h_close(&h);
}
END_TEST

/* A failed put (body error, short or long body; single or multipart)
 * leaves the previous object exactly as it was. */
START_TEST(failed_put_keeps_old)
{
    ph h;
    h_open(&h);
    put_str(&h, "fp", "doc", "version one");
    size_t len = 11 * MiB;
    unsigned char *data = random_bytes(len);
    rk_err err = {{0}};
    reader r = {.data = data, .len = len, .step = MiB, .abort_at = 7 * MiB}; /* in part 2 */
    ck_assert_int_eq(put_full(&h, "fp", "doc", data, len, &r, &err), RK_ERR_CANCELLED);
    r = (reader){.data = data, .len = 1000, .abort_at = 500};
    ck_assert_int_eq(put_full(&h, "fp", "doc", data, 1000, &r, &err), RK_ERR_CANCELLED);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = "fp", .id = "doc", .size = len};
    r = (reader){.data = data, .len = len - 1}; /* short multipart body */
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r, &err), RK_ERR_INVALID);
    m.size = 100;
    r = (reader){.data = data, .len = 101}; /* long single body */
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r, &err), RK_ERR_INVALID);
    sink s;
    ck_assert_int_eq(get_range(&h, "fp", "doc", 0, 0, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, 11);
    ck_assert(memcmp(s.data, "version one", 11) == 0);
    free(s.data);
    listing l = {0};
    ck_assert_int_eq(list(&h, "fp", NULL, 10, &l), 1);
    free(data);
    h_close(&h);
}
END_TEST

/* Worker threads share one instance, as the host's pool does. */
typedef struct worker {
    ph *h;
    int idx, failures;
    char why[RK_ERR_MSG_MAX + 128];
} worker;

static void *work(void *ud)
{
    worker *w = ud;
    char id[16];
    snprintf(id, sizeof id, "w%d", w->idx);
    size_t len = 40000 + (size_t)w->idx * 1111;
    unsigned char *data = malloc(len);
    for (size_t i = 0; data && i < len; i++)
        data[i] = (unsigned char)(i * 7 + (size_t)w->idx);
    for (int round = 0; data && round < 3 && !w->failures; round++) {
        rk_err err = {{0}};
        sink s = {0};
        reader r = {.data = data, .len = len, .step = 4096};
        int rc = put_full(w->h, "cc", id, data, len, &r, &err);
        if (rc == RK_OK)
            rc = w->h->storage->get(w->h->ctx, "cc", id, 0, 0, write_body, &s, &err);
        if (rc != RK_OK || s.len != len || memcmp(s.data, data, len) != 0) {
            w->failures++;
            snprintf(w->why, sizeof w->why, "%s round %d: rc %d, %zu bytes: %s", id, round, rc,
                     s.len, err.msg);
        }
        free(s.data);
    }
    w->failures += data == NULL;
    free(data);
    return NULL;
}

START_TEST(concurrent_calls)
{
    ph h;
    h_open(&h);
    enum { N = 8 };
    worker w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.h = &h, .idx = i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(w[i].failures == 0, "%s", w[i].why);
    listing l = {0};
    ck_assert_int_eq(list(&h, "cc", NULL, 0, &l), N);
    h_close(&h);
}
END_TEST

/* ---- an s3rver of the test's own, to kill and restart ------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char dir[256], log[300];
} server;

static struct sockaddr_in loopback_addr(int port)
{
    return (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

/* A loopback port nothing listens on (right now). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback_addr(0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback_addr(port);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void server_start(server *s, const char *bin)
{
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        /* if this test process dies on a failed assertion, so does the server */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2);
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        execl(bin, bin, "-d", s->dir, "-a", "127.0.0.1", "-p", port, "--no-vhost-buckets",
              (char *)NULL);
        _exit(127);
    }
    int64_t deadline = clock_now_ms() + 30000;
    while (!port_open(s->port)) {
        int st;
        ck_assert_msg(waitpid(s->pid, &st, WNOHANG) == 0, "s3rver exited; see %s", s->log);
        ck_assert_msg(clock_now_ms() < deadline, "s3rver not ready in 30 s; see %s", s->log);
        usleep(100 * 1000);
    }
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

/* rc and message of a call that failed because nothing answered on port,
 * and it failed within max_ms of since. */
static void expect_unreachable(int rc, const rk_err *err, int port, int64_t since, int64_t max_ms)
{
    char want[96];
    snprintf(want, sizeof want, "S3 endpoint http://127.0.0.1:%d unreachable", port);
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "rc %d: %s", rc, err->msg);
    ck_assert_msg(strstr(err->msg, want), "message: %s", err->msg);
    int64_t took = clock_now_ms() - since;
    ck_assert_msg(took < max_ms, "took %lld ms", (long long)took);
}

START_TEST(outage_and_restart)
{
    const char *bin = getenv("S3RVER_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        printf("test_storage_s3: S3RVER_BIN not set, outage test skipped\n");
        return;
    }
    server sv = {.port = free_port()};
    ph_tmpdir(sv.dir, sizeof sv.dir);
    snprintf(sv.log, sizeof sv.log, "%s.log", sv.dir);
    server_start(&sv, bin);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", sv.port);
    ph h;
    h_open_at(&h, endpoint, 1, "max_retries: 2, timeout: 5s, connect_timeout: 2s, ");
    put_str(&h, "out", "keep", "survives the outage");
    size_t len = 12 * MiB;
    unsigned char *data = random_bytes(len);
    rk_err err = {{0}};
    /* killed while part 2 is being read: part 1 is already on the server */
    reader r = {.data = data, .len = len, .step = MiB, .kill_at = 7 * MiB, .kill_pid = sv.pid};
    int rc = put_full(&h, "out", "big", data, len, &r, &err);
    ck_assert_int_eq(r.kill_pid, 0); /* the kill happened */
    sv.pid = 0;
    expect_unreachable(rc, &err, sv.port, r.killed_ms, 10000);
    /* down: the next calls fail fast, bounded by retries, not by timeouts */
    int64_t t0 = clock_now_ms();
    rc = put_full(&h, "out", "late", "x", 1, NULL, &err);
    expect_unreachable(rc, &err, sv.port, t0, 5000);
    listing l = {0};
    t0 = clock_now_ms();
    rc = h.storage->stat(h.ctx, "out", "keep", on_meta, &l, &err);
    expect_unreachable(rc, &err, sv.port, t0, 5000);
    /* back on the same data and port: the interrupted object never appeared */
    server_start(&sv, bin);
    ck_assert_int_eq(h.storage->stat(h.ctx, "out", "big", on_meta, &l, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->stat(h.ctx, "out", "late", on_meta, &l, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(list(&h, "out", NULL, 10, &l), 1);
    ck_assert_str_eq(l.ids[0], "out/keep");
    sink s;
    ck_assert_int_eq(get_range(&h, "out", "keep", 0, 0, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, 19);
    ck_assert(memcmp(s.data, "survives the outage", 19) == 0);
    free(s.data);
    free(data);
    h_close(&h);
    server_stop(&sv);
    ck_assert_int_eq(ph_rmtree(sv.dir), 0);
    ck_assert_int_eq(ph_rmtree(sv.log), 0);
}
END_TEST

/* ---- without a server ------------------------------------------------- */

START_TEST(unreachable_fails_fast)
{
    int port = free_port(); /* nothing listens there */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    ph h;
    h_open_at(&h, endpoint, 0, "max_retries: 3, ");
    rk_err err = {{0}};
    int64_t t0 = clock_now_ms(); /* 3 retries: about 0.35-0.7 s of backoff */
    int rc = put_full(&h, "t", "doc", "abc", 3, NULL, &err);
    expect_unreachable(rc, &err, port, t0, 5000);
    ck_assert_msg(strstr(err.msg, "4 attempts"), "%s", err.msg);
    sink s;
    t0 = clock_now_ms();
    rc = get_range(&h, "t", "doc", 0, 0, &s, &err);
    expect_unreachable(rc, &err, port, t0, 5000);
    listing l = {0};
    t0 = clock_now_ms();
    rc = h.storage->list(h.ctx, "t", NULL, 10, on_meta, &l, &err);
    expect_unreachable(rc, &err, port, t0, 5000);
    ck_assert(metric_has("ragkernel_s3_requests_total{op=\"put\",code=\"error\"} 4\n"));
    h_close(&h);
}
END_TEST

START_TEST(config_errors)
{
    static const struct { const char *yaml, *says; } bad[] = {
        {"{bucket: b, part_size: 1MB}", "part_size"},
        {"{bucket: b, endpoint: \"ftp://127.0.0.1:1\"}", "http:// or https://"},
        {"{bucket: b, endpoint: \"http://127.0.0.1:1/base\"}", "without user or path"},
        {"{bucket: b, access_key: AK}", "go together"},
        {"{bucket: \"b/c\"}", "bucket"},
        {"{bucket: b, region: \"us east\"}", "region"},
        {"{bucket: b, max_retries: -1}", "max_retries"},
        {"{bucket: b}", NULL}, /* AWS, anonymous: fine */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ph h;
        rk_err err = {{0}};
        ph_load(&h, "storage_s3", RK_KIND_STORAGE, "docs", bad[i].yaml);
        int rc = ph_create(&h, &err), want = bad[i].says ? RK_ERR_CONFIG : RK_OK;
        ck_assert_msg(rc == want, "%s: %d %s", bad[i].yaml, rc, err.msg);
        ck_assert_msg(!bad[i].says || strstr(err.msg, bad[i].says), "%s: %s", bad[i].yaml,
                      err.msg);
        ph_close(&h);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("storage_s3");
    ph_add_tcase(s, "offline", 60, NULL, NULL, PH_TESTS(unreachable_fails_fast, config_errors));
    if (!getenv("S3_ENDPOINT") || !*getenv("S3_ENDPOINT")) {
        printf("test_storage_s3: S3_ENDPOINT not set, server tests skipped "
               "(tests/integration/test_storage_s3.sh runs them)\n");
        return s;
    }
    ph_add_tcase(s, "s3", 240, NULL, NULL,
                 PH_TESTS(multipart_round_trip, range_reads, list_and_remove,
                          failed_put_keeps_old, concurrent_calls, outage_and_restart));
    return s;
}

int main(void)
{
    snprintf(g_bucket, sizeof g_bucket, "rk-unit-%ld", (long)getpid());
    return ph_run_suite(suite());
}
