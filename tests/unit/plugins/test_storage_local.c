/*
 * test_storage_local — the built storage_local.so through the real loader,
 * host table and config validation (sl_fixture.h): byte-identical round
 * trip of a 1 MiB random blob, range reads, stat, list pagination (per
 * tenant and across tenants). What must survive failures and hostile ids
 * is test_storage_local_safety. Run from the repository root (BUILD
 * defaults to "build").
 */
#include "sl_fixture.h"

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

static Suite *suite(void)
{
    Suite *s = suite_create("storage_local");
    ph_add_tcase(s, "contract", 120, setup, teardown,
                 PH_TESTS(round_trip_1mib, range_reads, stat_meta, list_pagination,
                          list_all_tenants));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
