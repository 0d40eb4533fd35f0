/*
 * test_docs — the document service on a real registry (docs_fixture.h):
 * put -> list (paging) -> get (byte-identical, ranges) -> search ->
 * replace -> delete, input errors (400/415/422), tenants kept apart and
 * derived ids. Failures, re-indexing, seeding and concurrency are
 * test_docs_recovery.
 */
#include "docs_fixture.h"

/* ---- tests -------------------------------------------------------------------- */

/* Uploads en.txt (derived id), sample.md (as "harbour") and ru.txt
 * (tenant "other"); checks the metadata and the upload counter. */
static void put_three(env *e, char en_id[DOCS_ID_MAX + 1])
{
    result r;
    rk_metric *up = metrics_get(RK_METRIC_COUNTER, "ragkernel_documents_uploaded_total", "", NULL);
    double uploaded0 = metrics_value(up);
    size_t en_len, md_len;
    char *en = ph_fixture("en.txt", &en_len), hex[SHA256_HEX_LEN];
    put_fixture(e, NULL, "en.txt", &r);
    docs_derive_id("en.txt", en_id);
    ck_assert_str_eq(r.metas[0].id, en_id);
    ck_assert_str_eq(r.metas[0].tenant, "default");
    ck_assert_str_eq(r.metas[0].filename, "en.txt");
    ck_assert_str_eq(r.metas[0].ctype, "text/plain");
    ck_assert_uint_eq(r.metas[0].size, en_len);
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, en, en_len);
    sha256_final_hex(&sc, hex);
    ck_assert_str_eq(r.metas[0].sha, hex);
    res_free(&r);
    free(en);
    char *md = ph_fixture("sample.md", &md_len);
    put(e, NULL, "harbour", "notes/sample.md", "application/octet-stream", md, md_len, &r);
    ck_assert_int_eq(r.http, 201);
    ck_assert_str_eq(r.metas[0].id, "harbour");
    ck_assert_str_eq(r.metas[0].filename, "sample.md");
    ck_assert_str_eq(r.metas[0].ctype, "text/markdown");
    res_free(&r);
    free(md);
    put_fixture(e, "other", "ru.txt", &r);
    res_free(&r);
    ck_assert_double_eq(metrics_value(up), uploaded0 + 3);
}

/* list: id order, pages with a cursor */
static void check_list(env *e, const char *en_id)
{
    result r, r2;
    list(e, NULL, NULL, 0, &r);
    ck_assert_uint_eq(r.n_metas, 2);
    ck_assert_str_eq(r.metas[0].id, en_id); /* "en-txt-..." < "harbour" */
    ck_assert_str_eq(r.metas[1].id, "harbour");
    ck_assert_int_eq(r.has_next, 0);
    res_free(&r);
    list(e, "default", NULL, 1, &r);
    ck_assert_uint_eq(r.n_metas, 1);
    ck_assert_str_eq(r.next, en_id);
    list(e, "default", r.next, 1, &r2);
    ck_assert_uint_eq(r2.n_metas, 1);
    ck_assert_str_eq(r2.metas[0].id, "harbour");
    res_free(&r);
    list(e, "default", r2.next, 1, &r);
    ck_assert_uint_eq(r.n_metas, 0);
    ck_assert_int_eq(r.has_next, 0);
    res_free(&r);
    res_free(&r2);
}

/* get: whole (byte-identical), a range, past the end, unknown, stopped */
static void check_get(env *e, const char *en_id)
{
    result r;
    size_t en_len;
    char *en = ph_fixture("en.txt", &en_len);
    get(e, en_id, 0, 0, 0, &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_uint_eq(r.n_metas, 1);
    ck_assert_uint_eq(r.data.len, en_len);
    ck_assert(memcmp(r.data.s, en, en_len) == 0);
    res_free(&r);
    get(e, en_id, 10, 20, 0, &r);
    ck_assert_uint_eq(r.data.len, 20);
    ck_assert(memcmp(r.data.s, en + 10, 20) == 0);
    res_free(&r);
    get(e, en_id, 0, 0, 1, &r);
    ck_assert_int_eq(r.status, RK_ERR_CANCELLED);
    res_free(&r);
    ck_assert_int_eq(get_http(e, en_id, en_len + 1), 416);
    ck_assert_int_eq(get_http(e, "no-such-doc", 0), 404);
    free(en);
}

/* search finds documents in their tenant only */
static void check_search(env *e, const char *en_id)
{
    char ru_id[DOCS_ID_MAX + 1];
    ck_assert_uint_ge(search(e, "default", "fog signal visibility", en_id), 1);
    ck_assert_uint_ge(search(e, "default", "pilot ladder freeboard", "harbour"), 1);
    ck_assert_uint_eq(search(e, "default", "туманный сигнал", NULL), 0);
    docs_derive_id("ru.txt", ru_id);
    ck_assert_uint_ge(search(e, "other", "туманный сигнал", ru_id), 1);
}

/* re-put under the same filename replaces (same id, new chunks); delete
 * removes it from storage and index; twice is 404 */
static void check_replace_delete(env *e, const char *en_id)
{
    result r;
    ck_assert_int_ge(chunks_of(e, "default", en_id), 2);
    const char *v2 = "Version two of the manual.\n\nKeepers now monitor a solar beacon remotely.\n";
    put(e, NULL, NULL, "en.txt", "text/plain", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 201);
    ck_assert_str_eq(r.metas[0].id, en_id);
    res_free(&r);
    ck_assert_int_eq(chunks_of(e, "default", en_id), 1);
    ck_assert_uint_eq(search(e, "default", "clockwork", en_id), 0);
    ck_assert_uint_ge(search(e, "default", "solar beacon", en_id), 1);
    get(e, en_id, 0, 0, 0, &r);
    ck_assert_uint_eq(r.data.len, strlen(v2));
    res_free(&r);
    ck_assert_int_eq(del_http(e, en_id), 204);
    ck_assert_uint_eq(search(e, "default", "solar beacon", NULL), 0);
    ck_assert_int_eq(chunks_of(e, "default", en_id), 0);
    ck_assert_int_eq(get_http(e, en_id, 0), 404);
    ck_assert_int_eq(del_http(e, en_id), 404);
    ck_assert_uint_eq(list_count(e, NULL), 1);
}

START_TEST(put_list_get_search_replace_delete)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    char en_id[DOCS_ID_MAX + 1];
    put_three(&e, en_id);
    check_list(&e, en_id);
    check_get(&e, en_id);
    check_search(&e, en_id);
    check_replace_delete(&e, en_id);
    env_close(&e);
}
END_TEST

START_TEST(input_errors)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    result r;
    ck_assert_int_eq(put_http(&e, "bad/tenant", NULL, "a.txt", NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, "../etc", "a.txt", NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, NULL, NULL, NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, NULL, "a\tb.txt", NULL, "Words."), 400);
    /* bidi controls reorder how a name is shown ("Trojan Source"); C1
     * controls are as invisible as C0 ones */
    static const char *const shown_as_other[] = {
        "report\342\200\256fdp.exe", "a\xE2\x80\xAA.txt", "a\xE2\x80\xAB.txt",
        "a\xE2\x80\xAC.txt", "a\xE2\x80\xAD.txt", "a\xE2\x81\xA6.txt",
        "a\xE2\x81\xA7.txt", "a\xE2\x81\xA8.txt", "a\xE2\x81\xA9.txt",
    };
    for (size_t i = 0; i < sizeof shown_as_other / sizeof *shown_as_other; i++) {
        put(&e, NULL, NULL, shown_as_other[i], NULL, "Words.", 6, &r);
        ck_assert_msg(r.http == 400, "%s: %d", shown_as_other[i], r.http);
        ck_assert_msg(strstr(r.msg, "bidirectional control character (U+20"), "%s", r.msg);
        res_free(&r);
    }
    put(&e, NULL, NULL, "report\xE2\x80\xAE" "fdp.exe", NULL, "Words.", 6, &r);
    ck_assert_str_eq(r.msg, "filename contains a bidirectional control character (U+202E), "
                            "which would make it display as another name");
    res_free(&r);
    put(&e, NULL, NULL, "a\xC2\x85.txt", NULL, "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_str_eq(r.msg, "filename contains control characters (U+0085)");
    res_free(&r);
    /* neighbours of the refused ranges are ordinary text */
    ck_assert_int_eq(put_http(&e, NULL, NULL, "a\xE2\x80\xA9" "b\xE2\x81\xA5.txt", NULL,
                              "Words."), 201);
    ck_assert_int_eq(put_http(&e, NULL, NULL, "caf\xC3\xA9 \xC2\xA0" ".txt", NULL, "Words."), 201);
    put(&e, NULL, NULL, "photo.png", "image/png", "\x89PNG\r\n\x1a\n", 8, &r);
    ck_assert_int_eq(r.status, RK_ERR_UNSUPPORTED);
    ck_assert_int_eq(r.http, 415);
    ck_assert_msg(strstr(r.msg, "image/png") != NULL, "%s", r.msg);
    res_free(&r);
    put(&e, NULL, NULL, "blank.txt", NULL, " \n\n ", 4, &r);
    ck_assert_int_eq(r.http, 422);
    ck_assert_str_eq(r.msg, "no text could be extracted");
    res_free(&r);
    ck_assert_int_eq(get_http(&e, "bad id!", 0), 400);
    list(&e, NULL, "bad cursor", 0, &r);
    ck_assert_int_eq(r.http, 400);
    res_free(&r);
    ck_assert_uint_eq(list_count(&e, NULL), 2); /* the two ordinary names, nothing else */
    /* misuse is refused at once, with no callback */
    rk_err err = {{0}};
    rk_doc_upload up = {sizeof up, NULL, NULL, "a.txt", NULL, "Words.", 6};
    ck_assert_int_eq(docs_put(e.docs, &up, NULL, NULL, &err), RK_ERR_INVALID);
    rk_doc_sink no_done = {sizeof no_done, on_meta, on_data, NULL, NULL};
    ck_assert_int_eq(docs_list(e.docs, NULL, NULL, 0, &no_done, NULL, &err), RK_ERR_INVALID);
    env_close(&e);
}
END_TEST

START_TEST(derived_ids)
{
    char id[DOCS_ID_MAX + 1], id2[DOCS_ID_MAX + 1], longname[200];
    docs_derive_id("My Report (final).PDF", id);
    ck_assert_int_eq(strncmp(id, "my-report-final-pdf-", 20), 0);
    ck_assert_uint_eq(strlen(id), 20 + 8);
    docs_derive_id("My Report (final).pdf", id2);
    ck_assert_str_ne(id, id2);
    docs_derive_id("отчёт.txt", id);
    ck_assert_int_eq(strncmp(id, "txt-", 4), 0);
    docs_derive_id("----", id);
    ck_assert_int_eq(strncmp(id, "doc-", 4), 0);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    docs_derive_id(longname, id);
    ck_assert_uint_eq(strlen(id), 48 + 1 + 8);
    ck_assert(docs_name_ok(id));
    ck_assert(!docs_name_ok("") && !docs_name_ok("a/b") && !docs_name_ok(longname));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("docs");
    ph_add_tcase(s, "service", 120, setup, teardown,
                 PH_TESTS(put_list_get_search_replace_delete, input_errors, derived_ids));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
