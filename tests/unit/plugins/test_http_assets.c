/*
 * Unit tests of transport_http's web UI files (http_assets), compiled in
 * directly (the plugin builds with hidden visibility). They pin the path
 * rules: no request path but "/" and "/<plain name>" finds a file, only
 * the directory's own files are read (a symlink out of it refuses the
 * whole directory), the size caps hold, and a "%00" in a request's path
 * (which MHD would decode into a NUL that cuts the path short) is seen
 * before MHD decodes it; one in the query is left to http_frame.
 */
#define _GNU_SOURCE
#include <string.h>

#include "../../../plugins/transport_http/http_assets.c"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testenv.h"
#include "tmpdir.h"

static void put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A UI directory with index.html, app.js, app.css and things never served. */
static void make_ui(char *dir, size_t cap)
{
    char sub[PATH_MAX];
    ph_tmpdir(dir, cap);
    put(dir, "index.html", "<!doctype html><title>t</title>");
    put(dir, "app.js", "console.log(1);");
    put(dir, "app.css", "body{}");
    put(dir, "README", "no extension: not served");
    put(dir, ".secret.js", "hidden: not served");
    snprintf(sub, sizeof sub, "%s/sub.js", dir); /* a directory */
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    put(sub, "inner.js", "below the directory: not served");
}

START_TEST(names)
{
    const char *good[] = {"index.html", "app.js", "a-b_c.1.css", "x"};
    const char *bad[] = {"", ".", "..", "../app.js", "a/b", ".hidden",
                         "a..b", "a\\b", "%2e%2e", "a b", "a\tb", "ä.js",
                         "app.js%00"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(assets_name_ok(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!assets_name_ok(bad[i]), "accepted %s", bad[i]);
    char longname[ASSETS_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert(!assets_name_ok(longname));
    longname[ASSETS_NAME_MAX] = '\0';
    ck_assert(assets_name_ok(longname));
    ck_assert(!assets_name_ok(NULL));
}
END_TEST

START_TEST(lookup)
{
    char dir[1024], msg[512] = "";
    http_assets *a = NULL;
    make_ui(dir, sizeof dir);
    ck_assert_msg(assets_load(dir, &a, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(a->n, 3);
    const asset *f = assets_find(a, "/");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->name, "index.html");
    ck_assert_str_eq(f->ctype, "text/html; charset=utf-8");
    f = assets_find(a, "/app.js");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->ctype, "text/javascript; charset=utf-8");
    ck_assert_uint_eq(f->len, strlen("console.log(1);"));
    ck_assert_int_eq(f->etag[0], '"');
    const char *missing[] = {"/README", "/.secret.js", "/sub.js",
                             "/sub.js/inner.js", "/../app.js", "//app.js",
                             "/./app.js", "/app.js/", "app.js", "",
                             "/nope.js", "/index.html/..", "/%2e%2e/app.js"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
        ck_assert_msg(assets_find(a, missing[i]) == NULL, "found %s",
                      missing[i]);
    ck_assert_ptr_null(assets_find(NULL, "/"));
    ck_assert_ptr_null(assets_find(a, NULL));
    assets_free(a);
}
END_TEST

START_TEST(symlinks)
{
    char dir[1024], path[PATH_MAX], msg[512] = "";
    http_assets *a = NULL;
    make_ui(dir, sizeof dir);
    /* inside the directory: followed */
    snprintf(path, sizeof path, "%s/alias.js", dir);
    ck_assert_int_eq(symlink("app.js", path), 0);
    ck_assert_msg(assets_load(dir, &a, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_ptr_nonnull(assets_find(a, "/alias.js"));
    assets_free(a);
    /* out of it: the directory is refused, naming the file */
    snprintf(path, sizeof path, "%s/evil.txt", dir);
    ck_assert_int_eq(symlink("/etc/passwd", path), 0);
    ck_assert_int_eq(assets_load(dir, &a, msg, sizeof msg), -1);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(msg, "evil.txt") && strstr(msg, "outside the directory"),
                  "%s", msg);
    unlink(path);
    /* into a subdirectory: not the directory itself either */
    snprintf(path, sizeof path, "%s/deep.js", dir);
    ck_assert_int_eq(symlink("sub.js/inner.js", path), 0);
    ck_assert_int_eq(assets_load(dir, &a, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "deep.js"), "%s", msg);
}
END_TEST

START_TEST(caps)
{
    char dir[1024], path[PATH_MAX], msg[512] = "";
    http_assets *a = NULL;
    make_ui(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.js", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, ASSETS_FILE_MAX, SEEK_SET), 0); /* +1 byte */
    fputc('x', f);
    fclose(f);
    ck_assert_int_eq(assets_load(dir, &a, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "big.js") && strstr(msg, "bytes"), "%s", msg);
    ck_assert_int_eq(truncate(path, ASSETS_FILE_MAX), 0); /* at the cap: ok */
    ck_assert_msg(assets_load(dir, &a, msg, sizeof msg) == 0, "%s", msg);
    assets_free(a);
    ck_assert_int_eq(assets_load("/nonexistent/ui", &a, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "/nonexistent/ui"), "%s", msg);
}
END_TEST

START_TEST(etags)
{
    char dir[1024], msg[512] = "";
    http_assets *a = NULL;
    make_ui(dir, sizeof dir);
    put(dir, "same.js", "console.log(1);");
    ck_assert_msg(assets_load(dir, &a, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_str_eq(assets_find(a, "/same.js")->etag,
                     assets_find(a, "/app.js")->etag);
    ck_assert_str_ne(assets_find(a, "/app.css")->etag,
                     assets_find(a, "/app.js")->etag);
    assets_free(a);
}
END_TEST

START_TEST(nul_in_path)
{
    const char *nul[] = {"/app.js%00.png", "/%00", "/documents/abc%00x",
                         "/index.html%00?x=1", "%00"};
    const char *clean[] = {"/", "/app.js", "/a%20b", "/x?filename=a%00.txt",
                           "/x#%00", "/%0", "/%0a0", ""};
    for (size_t i = 0; i < sizeof nul / sizeof *nul; i++)
        ck_assert_msg(assets_path_has_nul(nul[i]), "missed %s", nul[i]);
    for (size_t i = 0; i < sizeof clean / sizeof *clean; i++)
        ck_assert_msg(!assets_path_has_nul(clean[i]), "flagged %s", clean[i]);
    ck_assert(!assets_path_has_nul(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_assets");
    ph_add_tcase(s, "paths", 20, NULL, NULL,
                 PH_TESTS(names, lookup, symlinks, caps, etags, nul_in_path));
    return ph_run_suite(s);
}
