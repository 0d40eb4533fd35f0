/*
 * s3_fixture — what the storage_s3 tests share: storage_s3.so through the
 * real loader, host table and config validation (plugin_harness.h) against
 * S3_ENDPOINT (or another endpoint), one bucket per run, bodies from and to
 * memory, listings, and the plugin's metrics. Header-only: each test
 * program compiles its own copy.
 */
#ifndef RK_TEST_S3_FIXTURE_H
#define RK_TEST_S3_FIXTURE_H

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
static inline void h_open_at(ph *h, const char *endpoint, int create_bucket, const char *extra)
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

static inline void h_open(ph *h)
{
    h_open_at(h, getenv("S3_ENDPOINT"), 1, NULL);
}

static inline void h_close(ph *h)
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

static inline int64_t read_body(void *ud, void *buf, size_t cap)
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

static inline int write_body(void *ud, const void *data, size_t len)
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

static inline void hex_of(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final_hex(&c, out);
}

static inline unsigned char *random_bytes(size_t len)
{
    unsigned char *p = malloc(len);
    ck_assert_ptr_nonnull(p);
    FILE *f = fopen("/dev/urandom", "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(p, 1, len, f), len);
    fclose(f);
    return p;
}

static inline int put_full(ph *h, const char *tenant, const char *id, const void *data,
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

static inline void put_str(ph *h, const char *tenant, const char *id, const char *s)
{
    rk_err err = {{0}};
    int rc = put_full(h, tenant, id, s, strlen(s), NULL, &err);
    ck_assert_msg(rc == RK_OK, "put %s/%s: %s", tenant, id, err.msg);
}

static inline int get_range(ph *h, const char *tenant, const char *id, uint64_t off,
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

static inline void on_meta(void *ud, const rk_doc_meta *m)
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

static inline int list(ph *h, const char *tenant, const char *after, size_t limit, listing *l)
{
    rk_err err = {{0}};
    memset(l, 0, sizeof *l);
    int rc = h->storage->list(h->ctx, tenant, after, limit, on_meta, l, &err);
    ck_assert_msg(rc >= 0, "list %s after %s: %s", tenant ? tenant : "(all)",
                  after ? after : "-", err.msg);
    ck_assert_int_eq(rc, l->n);
    return rc;
}

static inline void render(void *ud, const char *data, size_t len)
{
    write_body(ud, data, len);
    write_body(ud, "", 1); /* keep it a string */
    ((sink *)ud)->len--;
}

/* Whether the metrics text has this exact sample line. */
static inline int metric_has(const char *line)
{
    sink m = {0};
    hostapi_table()->render_metrics(render, &m);
    const char *found = m.data ? strstr((char *)m.data, line) : NULL;
    if (!found)
        fprintf(stderr, "no '%s' in:\n%s", line, m.data ? (char *)m.data : "");
    free(m.data);
    return found != NULL;
}

static inline struct sockaddr_in loopback_addr(int port)
{
    return (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

/* A loopback port nothing listens on (right now). */
static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback_addr(0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static inline int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback_addr(port);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* rc and message of a call that failed because nothing answered on port,
 * and it failed within max_ms of since. */
static inline void expect_unreachable(int rc, const rk_err *err, int port, int64_t since, int64_t max_ms)
{
    char want[96];
    snprintf(want, sizeof want, "S3 endpoint http://127.0.0.1:%d unreachable", port);
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "rc %d: %s", rc, err->msg);
    ck_assert_msg(strstr(err->msg, want), "message: %s", err->msg);
    int64_t took = clock_now_ms() - since;
    ck_assert_msg(took < max_ms, "took %lld ms", (long long)took);
}

#endif
