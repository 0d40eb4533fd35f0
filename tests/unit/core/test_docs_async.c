/*
 * test_docs_async — asynchronous upload (docs_put_async) on a real registry
 * (docs_admin_fixture.h; retriever_flaky.so from $BUILD/test-plugins
 * refuses chunks with "[failindex]"): 202 with progress counters, input
 * errors refused before acceptance and later failures shown in the status,
 * a failed replacement reported although the previous version stays
 * indexed, docs_free finishing an accepted upload and a restart finding it
 * interrupted, and the bound of the tracker (docs_track.h) behind it.
 * test_docs_admin has status and re-index.
 */
#include "docs_admin_fixture.h"
#include "docs_track.h"

static void put_async(env *e, const char *tenant, const char *id, const char *name,
                      const char *text, size_t len, result *r)
{
    rk_doc_upload up = {sizeof up, tenant, id, name, NULL, text, len};
    rk_err err = {{0}};
    res_init(r);
    ck_assert_msg(docs_put_async(e->docs, &up, &SINK, r, &err) == RK_OK, "async: %s", err.msg);
    res_wait(r);
}

/* Poll the status until its state is no longer "pending". */
static void status_settled(env *e, const char *id, result *r)
{
    for (int i = 0; i < WAIT_MS / 20; i++) {
        status(e, NULL, id, r);
        if (strcmp(r->state, "pending") != 0) return;
        ph_sleep_ms(20);
    }
    ck_abort_msg("%s still pending after %d ms", id, WAIT_MS);
}

/* ---- tests ------------------------------------------------------------------- */

START_TEST(async_upload_reports_progress)
{
    env e = env_open(NULL);
    result r;
    char *big = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&big, &len);
    for (int i = 0; i < 4000; i++)
        fprintf(m, "Paragraph %d: the keeper winds the clockwork and trims the wick.\n\n", i);
    fclose(m);
    put_async(&e, NULL, NULL, "dir/Big Manual.txt", big, len, &r);
    ck_assert_int_eq(r.http, 202);
    ck_assert_int_eq(r.status, RK_OK);
    ck_assert_int_eq(r.statuses, 1);
    char want[DOCS_ID_MAX + 1];
    docs_derive_id("Big Manual.txt", want);
    ck_assert_str_eq(r.id, want);
    ck_assert_str_eq(r.state, "pending");
    ck_assert_str_eq(r.phase, "queued");
    ck_assert_uint_eq(r.bytes_total, len);
    ck_assert(!r.has_meta);
    status_settled(&e, want, &r);
    ck_assert_str_eq(r.state, "indexed");
    ck_assert_str_eq(r.phase, "done");
    ck_assert(r.has_meta);
    ck_assert_uint_eq(r.size, len);
    ck_assert_int_ge(r.chunks, 2);
    free(big);
    /* input errors before acceptance are plain failures */
    put_async(&e, "bad/tenant", NULL, "a.txt", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_int_eq(r.statuses, 0);
    put_async(&e, NULL, "bad id!", "a.txt", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    put_async(&e, NULL, NULL, "dir/", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    /* failures after acceptance show in the status */
    put_async(&e, NULL, "blank", "blank.txt", " \n\n ", 4, &r);
    ck_assert_int_eq(r.http, 202);
    status_settled(&e, "blank", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_str_eq(r.error, "no text could be extracted");
    ck_assert(!r.has_meta);
    env_close(&e);
}
END_TEST

/* The index refuses the new version: the old one stays stored and
 * indexed, and the status still says the upload failed. */
START_TEST(failed_async_replacement_is_reported)
{
    env e = env_open("retriever_flaky");
    result r;
    const char *v2 = "A version the index refuses [failindex].\n";
    ck_assert_int_eq(put_sync(&e, NULL, "log", "log.txt", V1), 201);
    put_async(&e, NULL, "log", "log.txt", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 202);
    status_settled(&e, "log", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(strstr(r.error, "the previous version is kept"), "%s", r.error);
    ck_assert_uint_eq(r.size, strlen(V1));
    env_close(&e);
}
END_TEST

/* docs_free waits for an accepted upload; after a restart, a stored
 * document the index lacks reads as failed (interrupted) until re-indexed. */
START_TEST(accepted_upload_survives_shutdown)
{
    env e = env_open(NULL);
    result r;
    put_async(&e, NULL, "late", "late.txt", V1, strlen(V1), &r);
    ck_assert_int_eq(r.http, 202);
    env_close(&e); /* no wait: docs_free must finish the upload first */
    e = env_open(NULL);
    status(&e, NULL, "late", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_str_eq(r.state, "indexed");
    drop_chunks(&e, "default", "late");
    env_close(&e);
    e = env_open(NULL);
    status(&e, NULL, "late", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(strstr(r.error, "interrupted"), "%s", r.error);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    for (int i = 0; i < WAIT_MS / 10 && docs_reindex_running(e.docs); i++) ph_sleep_ms(10);
    status(&e, NULL, "late", &r);
    ck_assert_str_eq(r.state, "indexed");
    env_close(&e);
}
END_TEST

START_TEST(tracker_is_bounded)
{
    docs_track *t = track_new();
    track_rec rec = {.state = TRACK_PENDING}, got;
    char id[32];
    for (int i = 0; i < DOCS_TRACK_MAX; i++) {
        snprintf(id, sizeof id, "d%d", i);
        ck_assert_int_eq(track_set(t, "t", id, &rec), RK_OK);
    }
    ck_assert_int_eq(track_set(t, "t", "one-more", &rec), RK_ERR_UNAVAILABLE);
    /* finished records make room, the oldest first */
    rec.state = TRACK_DONE;
    ck_assert_int_eq(track_set(t, "t", "d5", &rec), RK_OK);
    ck_assert_int_eq(track_set(t, "t", "d7", &rec), RK_OK);
    rec.state = TRACK_PENDING;
    ck_assert_int_eq(track_set(t, "t", "new", &rec), RK_OK);
    ck_assert_int_eq(track_get(t, "t", "d5", &got), 0);
    ck_assert_int_eq(track_get(t, "t", "d7", &got), 1);
    uint64_t n = 9;
    track_progress(t, "t", "new", "indexing", NULL, &n, NULL);
    ck_assert_int_eq(track_get(t, "t", "new", &got), 1);
    ck_assert_str_eq(got.phase, "indexing");
    ck_assert_uint_eq(got.chunks_total, 9);
    ck_assert_int_eq(track_get(t, "u", "new", &got), 0); /* tenants apart */
    track_drop(t, "t", "new");
    ck_assert_int_eq(track_get(t, "t", "new", &got), 0);
    track_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("docs_async");
    ph_add_tcase(s, "async", 120, setup, teardown,
                 PH_TESTS(async_upload_reports_progress, failed_async_replacement_is_reported,
                          accepted_upload_survives_shutdown, tracker_is_bounded));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
