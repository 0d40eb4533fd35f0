/*
 * sl_fixture — what the storage_local tests share: the built
 * storage_local.so through the real loader (plugin_harness.h) on a fresh
 * temporary directory per case, bodies read from and written to memory,
 * and sinks that record what stat and list report. Header-only: each test
 * program compiles its own copy.
 */
#ifndef RK_TEST_SL_FIXTURE_H
#define RK_TEST_SL_FIXTURE_H

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

static inline void setup(void)
{
    ph_tmpdir(g_tmp, sizeof g_tmp);
    snprintf(g_root, sizeof g_root, "%s/docs", g_tmp);
}

static inline void teardown(void) { ph_rmtree(g_tmp); }

static inline void h_open(ph *h)
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

static inline int64_t read_body(void *ud, void *buf, size_t cap)
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

static inline int write_body(void *ud, const void *data, size_t len)
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

static inline rk_doc_meta meta_of(const char *tenant, const char *id, size_t size)
{
    return (rk_doc_meta){sizeof(rk_doc_meta), tenant, id, "Report «Q3».md",
                         "text/markdown", size, "abc123", 1700000000123};
}

static inline int put_bytes(ph *h, const char *tenant, const char *id,
                     const void *data, size_t len, rk_err *err)
{
    rk_doc_meta m = meta_of(tenant, id, len);
    reader r = {.data = data, .len = len};
    return h->storage->put(h->ctx, &m, read_body, &r, err);
}

static inline void put_str(ph *h, const char *tenant, const char *id, const char *s)
{
    rk_err err = {{0}};
    int rc = put_bytes(h, tenant, id, s, strlen(s), &err);
    ck_assert_msg(rc == RK_OK, "put %s/%s: %s", tenant, id, err.msg);
}

/* The whole object as a NUL-terminated string (caller frees), or NULL. */
static inline char *get_str(ph *h, const char *tenant, const char *id, int *rc)
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
static inline int count_hidden(const char *dir)
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

typedef struct seen {
    char ids[64][80];
    int n;
    rk_doc_meta last;
} seen;

static inline void on_meta(void *ud, const rk_doc_meta *m)
{
    seen *s = ud;
    ck_assert_int_lt(s->n, 64);
    snprintf(s->ids[s->n++], sizeof s->ids[0], "%s/%s", m->tenant, m->id);
    s->last = *m;
    s->last.tenant = s->last.id = s->last.filename = s->last.content_type =
        s->last.sha256 = NULL; /* only valid during the callback */
}

static inline void on_meta_strings(void *ud, const rk_doc_meta *m)
{
    char *out = ud;
    snprintf(out, 256, "%s|%s|%s|%llu", m->filename, m->content_type, m->sha256,
             (unsigned long long)m->size);
}

#endif
