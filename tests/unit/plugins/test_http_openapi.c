/*
 * Unit tests of transport_http's API description against its router: the
 * issue asks for openapi.json "kept in sync with the router by a test that
 * walks both". The binary links the plugin's own objects (the router's
 * table and the openapi.json compiled into the .so), so a route added to
 * the table, or a path added to the document, is seen here without
 * touching this file. Both directions: every route and method of the table
 * is an operation of the document (HEAD counts as documented by its GET:
 * RFC 9110 makes it GET without the body), and every operation of the
 * document is one the router hands to a handler (not its 404 for an
 * unknown URL, nor a 405), {param} segments filled with a well-formed id.
 * A failure lists every gap in one message, "METHOD /path: what is wrong",
 * so a merge that adds routes is told exactly what to document.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_openapi.h"
#include "http_req.h"
#include "http_router.h"
#include "oj.h"
#include "testenv.h"

/* OpenAPI's operation keys, and the names the router takes */
static const char *const OA_OPS[] = {"get",    "head",    "post",  "put",
                                     "patch", "delete", "options", "trace"};
static const char *const OA_NAMES[] = {"GET",   "HEAD",   "POST",    "PUT",
                                       "PATCH", "DELETE", "OPTIONS", "TRACE"};
#define N_OPS (sizeof OA_OPS / sizeof OA_OPS[0])

/* the router's http_method, as OpenAPI's key and as HTTP's name */
static const char *const METHOD_OP[] = {[METHOD_GET] = "get",
                                        [METHOD_HEAD] = "head",
                                        [METHOD_POST] = "post",
                                        [METHOD_DELETE] = "delete"};
static const char *const METHOD_NAME[] = {[METHOD_GET] = "GET",
                                          [METHOD_HEAD] = "HEAD",
                                          [METHOD_POST] = "POST",
                                          [METHOD_DELETE] = "DELETE"};

typedef struct report {
    char text[16384];
    size_t len;
    int n;
} report;

static void gap(report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void gap(report *r, const char *fmt, ...)
{
    r->n++;
    if (r->len + 2 >= sizeof r->text)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(r->text + r->len, sizeof r->text - r->len - 1, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    r->len += (size_t)w < sizeof r->text - r->len - 1 ? (size_t)w
                                                       : sizeof r->text - r->len - 2;
    r->text[r->len++] = '\n';
    r->text[r->len] = '\0';
}

/* "/documents/{id}" -> "/documents/openapi-doc-1": what a client sends */
static void fill_path(const char *tpl, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = tpl; *p && o + 1 < cap; p++) {
        if (*p != '{') {
            out[o++] = *p;
            continue;
        }
        static const char id[] = "openapi-doc-1";
        for (size_t k = 0; id[k] && o + 1 < cap; k++)
            out[o++] = id[k];
        while (*p && *p != '}')
            p++;
        if (!*p)
            break;
    }
    out[o] = '\0';
}

static int doc_has(const oj_doc *d, const char *path, const char *op)
{
    return oj_get(d, oj_get(d, oj_get(d, 0, "paths"), path), op) >= 0;
}

/* Every route and method of the router's table is in the document. */
static void router_to_doc(const oj_doc *d, report *r)
{
    char path[256];
    unsigned methods;
    for (size_t i = 0; router_entry(i, path, sizeof path, &methods) == 0; i++)
        for (int m = METHOD_GET; m < METHOD_OTHER; m++) {
            if (!(methods & (1u << m)))
                continue;
            if (doc_has(d, path, METHOD_OP[m]) ||
                (m == METHOD_HEAD && doc_has(d, path, "get")))
                continue;
            gap(r, "%s %s: served by the router (http_router.c) but not in "
                   "plugins/transport_http/openapi.json",
                METHOD_NAME[m], path);
        }
}

/* Every operation of the document is served by the router. */
static void doc_to_router(const oj_doc *d, report *r)
{
    int paths = oj_get(d, 0, "paths");
    if (oj_kind(d, paths) != OJ_OBJ) {
        gap(r, "openapi.json has no 'paths' object");
        return;
    }
    for (uint32_t k = (uint32_t)paths + 1; k < d->t[paths].end;
         k = d->t[k + 1].end) {
        char path[256], url[256];
        if (oj_copy(d, (int)k, path, sizeof path) == SIZE_MAX) {
            gap(r, "a path of openapi.json is longer than %zu bytes",
                sizeof path - 1);
            continue;
        }
        fill_path(path, url, sizeof url);
        for (size_t m = 0; m < N_OPS; m++)
            if (oj_get(d, (int)k + 1, OA_OPS[m]) >= 0 &&
                !router_serves(url, OA_NAMES[m]))
                gap(r, "%s %s: in openapi.json but the router answers 404 "
                       "or 405 (no such route or method in http_router.c)",
                    OA_NAMES[m], path);
    }
}

static int sync_check(const char *json, size_t len, report *r)
{
    oj_doc d = {0};
    memset(r, 0, sizeof *r);
    if (oj_parse(&d, json, len) != 0) {
        gap(r, "openapi.json does not parse: %s at byte %zu", d.err, d.err_at);
        oj_free(&d);
        return r->n;
    }
    router_to_doc(&d, r);
    doc_to_router(&d, r);
    oj_free(&d);
    return r->n;
}

static int is_str(const oj_doc *d, int i, const char *want)
{
    char buf[64];
    return oj_copy(d, i, buf, sizeof buf) != SIZE_MAX && strcmp(buf, want) == 0;
}

START_TEST(document_is_openapi_3_1)
{
    oj_doc d = {0};
    ck_assert_uint_eq(strlen(http_openapi_json), http_openapi_json_len);
    ck_assert_msg(oj_parse(&d, http_openapi_json, http_openapi_json_len) == 0,
                  "openapi.json: %s at byte %zu", d.err, d.err_at);
    ck_assert(is_str(&d, oj_get(&d, 0, "openapi"), "3.1.0"));
    ck_assert_int_eq(oj_kind(&d, oj_get(&d, oj_get(&d, 0, "info"), "version")), OJ_STR);
    int schemes = oj_get(&d, oj_get(&d, 0, "components"), "securitySchemes");
    ck_assert(is_str(&d, oj_get(&d, oj_get(&d, schemes, "bearerAuth"), "scheme"), "bearer"));
    ck_assert(is_str(&d, oj_get(&d, oj_get(&d, schemes, "apiKeyHeader"), "name"), "X-API-Key"));
    int err = oj_get(&d, oj_get(&d, oj_get(&d, 0, "components"), "schemas"), "Error");
    ck_assert_int_eq(oj_kind(&d, err), OJ_OBJ);
    oj_free(&d);
}
END_TEST

START_TEST(router_and_document_agree)
{
    report r;
    int n = sync_check(http_openapi_json, http_openapi_json_len, &r);
    ck_assert_msg(n == 0, "openapi.json and the router's table disagree (%d):\n%s",
                  n, r.text);
}
END_TEST

/* The check is not vacuous: a document that lacks routes and has extra
 * ones is told every one of them, and nothing else. */
START_TEST(gaps_are_named)
{
    static const char doc[] =
        "{\"paths\":{\"/health\":{\"get\":{}},\"/nope\":{\"get\":{}},"
        "\"/documents\":{\"put\":{}}}}";
    char path[256];
    unsigned methods;
    int ops = 0;
    for (size_t i = 0; router_entry(i, path, sizeof path, &methods) == 0; i++)
        ops += __builtin_popcount(methods);
    ck_assert_int_ge(ops, 14); /* the routes of this release, at least */
    report r;
    int n = sync_check(doc, sizeof doc - 1, &r);
    /* all but GET and HEAD /health are missing; /nope and PUT are extra */
    ck_assert_msg(n == ops - 2 + 2, "%d gaps:\n%s", n, r.text);
    ck_assert_msg(strstr(r.text, "GET /v1/models: served by the router"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "DELETE /documents/{id}: served by the router"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "GET /openapi.json: served by the router"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "GET /nope: in openapi.json but the router answers 404"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "PUT /documents: in openapi.json"), "%s", r.text);
    ck_assert_msg(!strstr(r.text, " /health:"), "%s", r.text);
    ck_assert_int_gt(sync_check("{\"paths\":", 9, &r), 0);
    ck_assert_msg(strstr(r.text, "does not parse"), "%s", r.text);
}
END_TEST

START_TEST(router_serves_what_it_routes)
{
    ck_assert(router_serves("/openapi.json", "GET"));
    ck_assert(router_serves("/openapi.json", "HEAD"));
    ck_assert(!router_serves("/openapi.json", "POST"));
    ck_assert(router_serves("/documents/abc", "DELETE"));
    ck_assert(router_serves("/documents", "POST"));
    ck_assert(!router_serves("/documents", "DELETE"));
    ck_assert(!router_serves("/nope", "GET"));
    ck_assert(!router_serves("/health", "PUT"));
    char url[64];
    fill_path("/documents/{id}/x", url, sizeof url);
    ck_assert_str_eq(url, "/documents/openapi-doc-1/x");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_openapi");
    ph_add_tcase(s, "sync", 10, NULL, NULL,
                 PH_TESTS(document_is_openapi_3_1, router_and_document_agree,
                          gaps_are_named, router_serves_what_it_routes));
    return ph_run_suite(s);
}
