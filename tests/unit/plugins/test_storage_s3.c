/*
 * test_storage_s3 — storage_s3.so through the real loader (s3_fixture.h).
 * Without S3_ENDPOINT only the server-free checks run (config errors; an
 * unreachable endpoint fails fast). With it (set by
 * tests/integration/test_storage_s3.sh): 12 MiB multipart round trip,
 * ranges, list pagination per tenant and across tenants, remove, failed
 * puts keeping the old object, concurrent calls. An outage of the server
 * itself is test_storage_s3_outage.
 */
#include "s3_fixture.h"

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
                          failed_put_keeps_old, concurrent_calls));
    return s;
}

int main(void)
{
    snprintf(g_bucket, sizeof g_bucket, "rk-unit-%ld", (long)getpid());
    return ph_run_suite(suite());
}
