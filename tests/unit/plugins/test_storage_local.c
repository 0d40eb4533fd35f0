/*
 * test_storage_local — the built storage_local.so through the real loader,
 * host table and config validation, on a fresh temporary directory:
 * byte-identical round trip of a 1 MiB random blob, range reads, stat,
 * list pagination (per tenant and across tenants), ids that try to leave
 * the root, failed puts (aborted body, wrong size) that must leave the old
 * version and no temporary file, tenant isolation, remove, and concurrent
 * puts of one id. Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

/* Each case's temporary directory and the storage root in it, which the
 * plugin creates. */
static char g_tmp[256], g_root[300];

static void setup(void)
{
    ph_tmpdir(g_tmp, sizeof g_tmp);
    snprintf(g_root, sizeof g_root, "%s/docs", g_tmp);
}

static void teardown(void) { ph_rmtree(g_tmp); }

static void h_open(ph *h)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, "{root: \"%s\"}", g_root);
    ph_open(h, "storage_local", RK_KIND_STORAGE, "docs", yaml);
}

/* ---- bodies ------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *data;
    size_t len, pos;
    size_t step;       /* bytes per call, to vary the pieces */
    size_t abort_at;   /* > 0: fail once this many bytes were handed out */
} reader;

static int64_t read_body(void *ud, void *buf, size_t cap)
{
    reader *r = ud;
    if (r->abort_at && r->pos >= r->abort_at)
        return RK_ERR_CANCELLED;
    size_t n = r->len - r->pos;
    if (n > cap)
        n = cap;
    if (r->step && n > r->step)
        n = r->step;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (int64_t)n;
}

typedef struct sink {
    unsigned char *data;
    size_t len, cap;
    size_t max_piece;
    int fail_after; /* > 0: return -1 on that call */
    int calls;
} sink;

static int write_body(void *ud, const void *data, size_t len)
{
    sink *s = ud;
    s->calls++;
    if (s->fail_after && s->calls >= s->fail_after)
        return -1;
    if (len > s->max_piece)
        s->max_piece = len;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->data = realloc(s->data, s->cap);
        ck_assert_ptr_nonnull(s->data);
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return 0;
}

static rk_doc_meta meta_of(const char *tenant, const char *id, size_t size)
{
    return (rk_doc_meta){sizeof(rk_doc_meta), tenant, id, "Report «Q3».md",
                         "text/markdown", size, "abc123", 1700000000123};
}

static int put_bytes(ph *h, const char *tenant, const char *id,
                     const void *data, size_t len, rk_err *err)
{
    rk_doc_meta m = meta_of(tenant, id, len);
    reader r = {.data = data, .len = len};
    return h->storage->put(h->ctx, &m, read_body, &r, err);
}

static void put_str(ph *h, const char *tenant, const char *id, const char *s)
{
    rk_err err = {{0}};
    int rc = put_bytes(h, tenant, id, s, strlen(s), &err);
    ck_assert_msg(rc == RK_OK, "put %s/%s: %s", tenant, id, err.msg);
}

/* The whole object as a NUL-terminated string (caller frees), or NULL. */
static char *get_str(ph *h, const char *tenant, const char *id, int *rc)
{
    sink s = {0};
    rk_err err = {{0}};
    *rc = h->storage->get(h->ctx, tenant, id, 0, 0, write_body, &s, &err);
    if (*rc != RK_OK) {
        free(s.data);
        return NULL;
    }
    char *out = malloc(s.len + 1);
    memcpy(out, s.data ? (const char *)s.data : "", s.len);
    out[s.len] = '\0';
    free(s.data);
    return out;
}

/* Names in dir starting with '.' (temporary or backup files). */
static int count_hidden(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(round_trip_1mib)
{
    ph h;
    h_open(&h);
    size_t len = 1024 * 1024;
    unsigned char *data = malloc(len);
    FILE *f = fopen("/dev/urandom", "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(data, 1, len, f), len);
    fclose(f);
    rk_doc_meta m = meta_of("acme", "doc-1", len);
    reader r = {.data = data, .len = len, .step = 7777};
    rk_err err = {{0}};
    ck_assert_msg(h.storage->put(h.ctx, &m, read_body, &r, &err) == RK_OK, "%s", err.msg);
    sink s = {0};
    ck_assert_int_eq(h.storage->get(h.ctx, "acme", "doc-1", 0, 0, write_body, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, len);
    ck_assert(memcmp(s.data, data, len) == 0);
    ck_assert_uint_le(s.max_piece, 64 * 1024);
    ck_assert_int_ge(s.calls, 16); /* streamed in pieces, not one buffer */
    free(s.data);
    /* the files are where the layout says */
    char p[512];
    snprintf(p, sizeof p, "%s/acme/doc-1.blob", g_root);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)len);
    snprintf(p, sizeof p, "%s/acme/doc-1.meta.json", g_root);
    ck_assert_int_eq(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/acme", g_root);
    ck_assert_int_eq(count_hidden(p), 0);
    free(data);
    ph_close(&h);
}
END_TEST

START_TEST(range_reads)
{
    ph h;
    h_open(&h);
    size_t len = 200000;
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 31 + i / 251);
    rk_err err = {{0}};
    ck_assert_int_eq(put_bytes(&h, "acme", "r", data, len, &err), RK_OK);
    struct { uint64_t off, length, want; } cases[] = {
        {1000, 5000, 5000},         /* inside */
        {0, 1, 1},                  /* first byte */
        {len - 1, 0, 1},            /* last byte, "to the end" */
        {65530, 70000, 70000},      /* across 64 KiB pieces */
        {150000, 999999, len - 150000}, /* clamped at the end */
        {len, 0, 0},                /* empty tail is fine */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sink s = {0};
        int rc = h.storage->get(h.ctx, "acme", "r", cases[c].off, cases[c].length,
                                write_body, &s, &err);
        ck_assert_msg(rc == RK_OK, "case %zu: %s", c, err.msg);
        ck_assert_msg(s.len == cases[c].want, "case %zu: %zu bytes", c, s.len);
        ck_assert(s.len == 0 || memcmp(s.data, data + cases[c].off, s.len) == 0);
        free(s.data);
    }
    sink s = {0};
    ck_assert_int_eq(h.storage->get(h.ctx, "acme", "r", len + 1, 0, write_body, &s, &err),
                     RK_ERR_INVALID); /* past the end */
    /* the receiver can abort a transfer */
    sink stop = {.fail_after = 2};
    ck_assert_int_eq(h.storage->get(h.ctx, "acme", "r", 0, 0, write_body, &stop, &err),
                     RK_ERR_CANCELLED);
    ck_assert_int_eq(stop.calls, 2);
    free(stop.data);
    free(data);
    ph_close(&h);
}
END_TEST

typedef struct seen {
    char ids[64][80];
    int n;
    rk_doc_meta last;
} seen;

static void on_meta(void *ud, const rk_doc_meta *m)
{
    seen *s = ud;
    ck_assert_int_lt(s->n, 64);
    snprintf(s->ids[s->n++], sizeof s->ids[0], "%s/%s", m->tenant, m->id);
    s->last = *m;
    s->last.tenant = s->last.id = s->last.filename = s->last.content_type =
        s->last.sha256 = NULL; /* only valid during the callback */
}

static void on_meta_strings(void *ud, const rk_doc_meta *m)
{
    char *out = ud;
    snprintf(out, 256, "%s|%s|%s|%llu", m->filename, m->content_type, m->sha256,
             (unsigned long long)m->size);
}

START_TEST(stat_meta)
{
    ph h;
    h_open(&h);
    put_str(&h, "acme", "m", "hello");
    rk_err err = {{0}};
    seen s = {0};
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "m", on_meta, &s, &err), RK_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.ids[0], "acme/m");
    ck_assert_int_eq(s.last.created_ms, 1700000000123);
    char out[256] = "";
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "m", on_meta_strings, out, &err), RK_OK);
    ck_assert_str_eq(out, "Report «Q3».md|text/markdown|abc123|5");
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "nope", on_meta, &s, &err), RK_ERR_NOT_FOUND);
    ph_close(&h);
}
END_TEST

START_TEST(list_pagination)
{
    ph h;
    h_open(&h);
    /* put in scrambled order; ids with '-' and '_' check byte order */
    const char *ids[] = {"d07", "d00", "d12", "d03", "d10", "d01", "d-x", "d11",
                         "d05", "d_y", "d02", "d09", "d04", "d08", "d06"};
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++)
        put_str(&h, "t1", ids[i], "x");
    put_str(&h, "t2", "a", "y");
    put_str(&h, "t0", "z", "y");
    rk_err err = {{0}};
    seen s = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "t1", NULL, 6, on_meta, &s, &err), 6);
    const char *want1[] = {"t1/d-x", "t1/d00", "t1/d01", "t1/d02", "t1/d03", "t1/d04"};
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(s.ids[i], want1[i]);
    seen s2 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "t1", "d04", 6, on_meta, &s2, &err), 6);
    ck_assert_str_eq(s2.ids[0], "t1/d05");
    ck_assert_str_eq(s2.ids[5], "t1/d10");
    seen s3 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "t1", "d10", 6, on_meta, &s3, &err), 3);
    ck_assert_str_eq(s3.ids[0], "t1/d11");
    ck_assert_str_eq(s3.ids[1], "t1/d12");
    ck_assert_str_eq(s3.ids[2], "t1/d_y");
    seen s4 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "t1", "d_y", 6, on_meta, &s4, &err), 0);
    /* an `after` that is not itself an id still positions the cursor */
    seen s5 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "t1", "d055", 2, on_meta, &s5, &err), 2);
    ck_assert_str_eq(s5.ids[0], "t1/d06");
    /* empty and unknown tenants list nothing */
    seen s6 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "nobody", NULL, 10, on_meta, &s6, &err), 0);
    ph_close(&h);
}
END_TEST

START_TEST(list_all_tenants)
{
    ph h;
    h_open(&h);
    put_str(&h, "tb", "b1", "x");
    put_str(&h, "ta", "a2", "x");
    put_str(&h, "ta", "a1", "x");
    put_str(&h, "tc", "c1", "x");
    rk_err err = {{0}};
    seen s = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, NULL, 0, on_meta, &s, &err), 4);
    const char *want[] = {"ta/a1", "ta/a2", "tb/b1", "tc/c1"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(s.ids[i], want[i]);
    /* paging across tenants with a "<tenant>/<id>" cursor */
    seen p1 = {0}, p2 = {0}, p3 = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, NULL, 2, on_meta, &p1, &err), 2);
    ck_assert_str_eq(p1.ids[1], "ta/a2");
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, "ta/a2", 2, on_meta, &p2, &err), 2);
    ck_assert_str_eq(p2.ids[0], "tb/b1");
    ck_assert_str_eq(p2.ids[1], "tc/c1");
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, "tc/c1", 2, on_meta, &p3, &err), 0);
    ck_assert_int_eq(h.storage->list(h.ctx, NULL, "../x", 2, on_meta, &p3, &err), RK_ERR_INVALID);
    ph_close(&h);
}
END_TEST

START_TEST(traversal_rejected)
{
    ph h;
    h_open(&h);
    put_str(&h, "acme", "ok", "fine");
    const char *bad[] = {"../x", "..", ".", "a/b", "", ".hidden", "a b", "x\\y",
                         "ä", "a\nb",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */};
    rk_err err = {{0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = put_bytes(&h, "acme", bad[i], "evil", 4, &err);
        ck_assert_msg(rc == RK_ERR_INVALID, "id '%s' accepted by put (%d)", bad[i], rc);
        ck_assert_int_eq(put_bytes(&h, bad[i], "x", "evil", 4, &err), RK_ERR_INVALID);
        sink s = {0};
        ck_assert_int_eq(h.storage->get(h.ctx, "acme", bad[i], 0, 0, write_body, &s, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->get(h.ctx, bad[i], "ok", 0, 0, write_body, &s, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->stat(h.ctx, "acme", bad[i], on_meta_strings, NULL, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->remove(h.ctx, "acme", bad[i], &err), RK_ERR_INVALID);
        ck_assert_int_eq(
            h.storage->list(h.ctx, bad[i], NULL, 10, on_meta_strings, NULL, &err),
            RK_ERR_INVALID);
    }
    ck_assert_int_eq(put_bytes(&h, NULL, "x", "evil", 4, &err), RK_ERR_INVALID);
    /* exactly 64 is allowed */
    put_str(&h, "acme", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ok");
    /* nothing was written next to the root */
    char p[512];
    snprintf(p, sizeof p, "%s/x.blob", g_tmp);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/x.meta.json", g_tmp);
    ck_assert_int_ne(access(p, F_OK), 0);
    ph_close(&h);
}
END_TEST

START_TEST(failed_put_keeps_old)
{
    ph h;
    h_open(&h);
    put_str(&h, "acme", "doc", "version one");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    size_t len = 300000;
    unsigned char *big = malloc(len);
    memset(big, 'N', len);
    rk_err err = {{0}};
    /* the body source aborts halfway */
    rk_doc_meta m = meta_of("acme", "doc", len);
    reader r = {.data = big, .len = len, .abort_at = 150000};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r, &err), RK_ERR_CANCELLED);
    /* the body is shorter than declared */
    m.size = len + 10;
    reader r2 = {.data = big, .len = len};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r2, &err), RK_ERR_INVALID);
    /* the body is longer than declared */
    m.size = 100;
    reader r3 = {.data = big, .len = len};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r3, &err), RK_ERR_INVALID);
    /* the metadata cannot be written (not UTF-8) */
    m = meta_of("acme", "doc", 5);
    m.filename = "bad\xff\xfe.txt";
    reader r5 = {.data = (const unsigned char *)"new!!", .len = 5};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r5, &err), RK_ERR_INVALID);
    int rc;
    char *got = get_str(&h, "acme", "doc", &rc);
    ck_assert_int_eq(rc, RK_OK);
    ck_assert_str_eq(got, "version one");
    free(got);
    char out[256] = "";
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "doc", on_meta_strings, out, &err), RK_OK);
    ck_assert_str_eq(out + strlen(out) - 3, "|11");
    ck_assert_int_eq(count_hidden(dir), 0);
    /* a failed first put of a new id leaves no object at all */
    m = meta_of("acme", "fresh", len);
    reader r4 = {.data = big, .len = len, .abort_at = 70000};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r4, &err), RK_ERR_CANCELLED);
    ck_assert_ptr_null(get_str(&h, "acme", "fresh", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(count_hidden(dir), 0);
    /* and a successful overwrite replaces both blob and meta */
    put_str(&h, "acme", "doc", "v2");
    got = get_str(&h, "acme", "doc", &rc);
    ck_assert_str_eq(got, "v2");
    free(got);
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "doc", on_meta_strings, out, &err), RK_OK);
    ck_assert_str_eq(out + strlen(out) - 2, "|2");
    ck_assert_int_eq(count_hidden(dir), 0);
    free(big);
    ph_close(&h);
}
END_TEST

START_TEST(tenant_isolation_and_remove)
{
    ph h;
    h_open(&h);
    put_str(&h, "alice", "doc", "alice's secret");
    int rc;
    rk_err err = {{0}};
    ck_assert_ptr_null(get_str(&h, "bob", "doc", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->stat(h.ctx, "bob", "doc", on_meta_strings, NULL, &err),
                     RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->remove(h.ctx, "bob", "doc", &err), RK_ERR_NOT_FOUND);
    seen s = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "bob", NULL, 10, on_meta, &s, &err), 0);
    /* bob's own doc with the same id is a different object */
    put_str(&h, "bob", "doc", "bob's");
    char *got = get_str(&h, "alice", "doc", &rc);
    ck_assert_str_eq(got, "alice's secret");
    free(got);
    ck_assert_int_eq(h.storage->remove(h.ctx, "alice", "doc", &err), RK_OK);
    ck_assert_ptr_null(get_str(&h, "alice", "doc", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->remove(h.ctx, "alice", "doc", &err), RK_ERR_NOT_FOUND);
    got = get_str(&h, "bob", "doc", &rc);
    ck_assert_str_eq(got, "bob's");
    free(got);
    char p[512];
    snprintf(p, sizeof p, "%s/alice/doc.blob", g_root);
    ck_assert_int_ne(access(p, F_OK), 0);
    ph_close(&h);
}
END_TEST

/* Four threads overwrite one id; afterwards blob and meta must agree. */
typedef struct writer_arg {
    ph *h;
    char fill;
    int failures;
} writer_arg;

static void *writer_run(void *p)
{
    writer_arg *a = p;
    size_t len = 1000 + (size_t)(a->fill - 'a') * 5000;
    unsigned char *data = malloc(len);
    memset(data, a->fill, len);
    for (int i = 0; i < 20; i++) {
        rk_err err;
        a->failures += put_bytes(a->h, "acme", "shared", data, len, &err) != RK_OK;
    }
    free(data);
    return NULL;
}

static void on_size(void *ud, const rk_doc_meta *m)
{
    *(uint64_t *)ud = m->size;
}

START_TEST(concurrent_puts)
{
    ph h;
    h_open(&h);
    writer_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg){&h, (char)('a' + i), 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer_run, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    rk_err err = {{0}};
    uint64_t size = 0;
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "shared", on_size, &size, &err), RK_OK);
    sink s = {0};
    ck_assert_int_eq(h.storage->get(h.ctx, "acme", "shared", 0, 0, write_body, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, size);
    for (size_t i = 1; i < s.len; i++)
        ck_assert_int_eq(s.data[i], s.data[0]); /* one writer's content, whole */
    ck_assert_uint_eq(s.len, 1000 + (size_t)(s.data[0] - 'a') * 5000);
    free(s.data);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    ck_assert_int_eq(count_hidden(dir), 0);
    ph_close(&h);
}
END_TEST

/* ---- start-up repair after a crash ------------------------------------ */

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/acme/%s", g_root, name);
}

static void must(int ok, const char *what)
{
    ck_assert_msg(ok, "%s: %s", what, strerror(errno));
}

/* A run that dies: stores what the crash states below are made of, in a
 * child process (the plugin judges files against its first create in the
 * process that repairs). */
static void previous_run(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ph h;
        h_open(&h);
        put_str(&h, "acme", "cut-before-meta", "old bytes of b");
        put_str(&h, "acme", "cut-after-meta", "old bytes of d");
        put_str(&h, "acme", "scratch", "new bytes of d, longer");
        put_str(&h, "acme", "scratch2", "new bytes of b");
        _exit(0); /* no destroy: a crash */
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* What commit() leaves when killed: both backups linked, the new blob
 * renamed into place, and (with_meta) the new meta too. */
static void cut_commit(const char *id, const char *src, int with_meta)
{
    char a[512], b[512], n1[128], n2[128];
    snprintf(n1, sizeof n1, "%s.meta.json", id);
    snprintf(n2, sizeof n2, ".%s.meta.previous", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(link(a, b) == 0, "link meta backup");
    snprintf(n1, sizeof n1, "%s.blob", id);
    snprintf(n2, sizeof n2, ".%s.blob.previous", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(link(a, b) == 0, "link blob backup");
    snprintf(n1, sizeof n1, "%s.blob", src);
    path_of(b, sizeof b, n1);
    must(rename(b, a) == 0, "rename new blob");
    snprintf(n1, sizeof n1, "%s.meta.json", src);
    snprintf(n2, sizeof n2, "%s.meta.json", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(with_meta ? rename(a, b) == 0 : unlink(a) == 0, "new meta");
}

static void write_file(const char *name, size_t len)
{
    char p[512];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        fputc('x', f);
    fclose(f);
}

static void expect_doc(ph *h, const char *id, const char *text)
{
    int rc;
    rk_err err = {{0}};
    char out[256] = "", want[32];
    char *got = get_str(h, "acme", id, &rc);
    ck_assert_msg(rc == RK_OK, "get %s: %d", id, rc);
    ck_assert_str_eq(got, text);
    free(got);
    ck_assert_int_eq(h->storage->stat(h->ctx, "acme", id, on_meta_strings, out, &err), RK_OK);
    snprintf(want, sizeof want, "|%zu", strlen(text));
    ck_assert_str_eq(out + strlen(out) - strlen(want), want);
}

START_TEST(restart_repairs_interrupted_puts)
{
    char dir[512], p[512];
    previous_run();
    cut_commit("cut-before-meta", "scratch2", 0); /* killed between the renames */
    cut_commit("cut-after-meta", "scratch", 1);   /* killed before the cleanup */
    write_file(".cut-before-meta.Ab12Cd", 2 << 20); /* a staging file, 2 MiB */
    write_file("orphan.blob", 10);                 /* a first put cut before its meta */
    usleep(50 * 1000); /* past the coarse clock's tick */
    ph h;
    h_open(&h);
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    ck_assert_int_eq(count_hidden(dir), 0);
    path_of(p, sizeof p, "orphan.blob");
    ck_assert_int_ne(access(p, F_OK), 0);
    expect_doc(&h, "cut-before-meta", "old bytes of b"); /* never committed: the old one */
    expect_doc(&h, "cut-after-meta", "new bytes of d, longer"); /* committed: the new one */
    /* files of this process (a live put during a reload) are left alone:
     * the same root is not repaired twice ... */
    write_file(".live.Zz99Yy", 10);
    ph h2;
    h_open(&h2);
    ck_assert_int_eq(count_hidden(dir), 1);
    ph_close(&h2);
    /* ... and in a root seen for the first time, files newer than the
     * process's first create are not touched */
    char root2[400], yaml[600], cmd[1000];
    snprintf(root2, sizeof root2, "%s/docs2/acme", g_tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && touch '%s/.live.Yy88Xx'", root2, root2);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(yaml, sizeof yaml, "{root: \"%s/docs2\"}", g_tmp);
    ph_open(&h2, "storage_local", RK_KIND_STORAGE, "docs2", yaml);
    ck_assert_int_eq(count_hidden(root2), 1);
    ph_close(&h2);
    ph_close(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("storage_local");
    ph_add_tcase(s, "contract", 120, setup, teardown,
                 PH_TESTS(round_trip_1mib, range_reads, stat_meta, list_pagination,
                          list_all_tenants, traversal_rejected, failed_put_keeps_old,
                          tenant_isolation_and_remove, concurrent_puts,
                          restart_repairs_interrupted_puts));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
