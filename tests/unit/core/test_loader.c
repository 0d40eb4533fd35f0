/*
 * test_loader — the loader against real, purpose-built plugin files
 * (tests/plugins/, built into $BUILD/test-plugins): each broken one must
 * be refused with one line naming the file, the plugin and both ABI
 * versions; good ones must load; find and scan must walk the search path.
 * Also: a file changed on disk while its image is loaded coming back as a
 * new image. Descriptors built in memory (abi_minor, requirement bits, the
 * extractor kind) are test_loader_validate's.
 * Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "loader_fixture.h"
#include "testenv.h"

static char g_dir[512];

static const char *plugin_dir(void)
{
    if (!g_dir[0]) {
        const char *b = getenv("BUILD");
        snprintf(g_dir, sizeof g_dir, "%s/test-plugins", b && *b ? b : "build");
    }
    return g_dir;
}

static void path_of(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s.so", plugin_dir(), name);
}

/* Open <name>.so, expect a refusal; return the message in err. */
static void refused(const char *name, rk_kind expect, rk_err *err)
{
    char path[600];
    path_of(name, path, sizeof path);
    ck_assert_msg(access(path, R_OK) == 0, "%s missing: build the test plugins", path);
    memset(err, 0, sizeof *err);
    loader_plugin *p = loader_open(path, expect, err);
    ck_assert_msg(p == NULL, "%s was accepted", path);
    ck_assert_msg(strstr(err->msg, path) != NULL, "no file name in: %s", err->msg);
    ck_assert_msg(strchr(err->msg, '\n') == NULL, "not one line: %s", err->msg);
    ck_assert_msg(strstr(err->msg, HOST_ABI) != NULL, "no host ABI in: %s", err->msg);
}

START_TEST(refuses_dlopen_failure)
{
    char tmpl[] = "/tmp/rk_loader_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char path[600];
    snprintf(path, sizeof path, "%s/junk.so", tmpl);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not an ELF file\n", f);
    fclose(f);
    rk_err err = {{0}};
    ck_assert_ptr_null(loader_open(path, 0, &err));
    ck_has(err.msg, path);
    ck_has(err.msg, "plugin ?:");
    ck_has(err.msg, "(" HOST_ABI ", plugin ABI ?)");
    unlink(path);
    rmdir(tmpl);
}
END_TEST

START_TEST(refuses_missing_file)
{
    rk_err err = {{0}};
    ck_assert_ptr_null(loader_open("/nonexistent/dir/ghost.so", 0, &err));
    ck_has(err.msg, "/nonexistent/dir/ghost.so");
    ck_has(err.msg, "plugin ?");
}
END_TEST

START_TEST(refuses_no_entry)
{
    rk_err err;
    refused("bad_no_entry", 0, &err);
    ck_has(err.msg, "no rk_plugin_entry symbol");
}
END_TEST

START_TEST(refuses_null_entry)
{
    rk_err err;
    refused("bad_null_entry", 0, &err);
    ck_has(err.msg, "entry returned NULL");
}
END_TEST

START_TEST(refuses_abi_major)
{
    rk_err err;
    refused("bad_abi_major", 0, &err);
    ck_has(err.msg, "plugin bad_abi_major:");
    ck_has(err.msg, "(" HOST_ABI ", " MAJOR2_ABI ")");
    ck_has(err.msg, "major");
}
END_TEST

START_TEST(refuses_abi_minor)
{
    rk_err err;
    refused("bad_abi_minor", 0, &err);
    ck_has(err.msg, "plugin bad_abi_minor:");
    char want[64];
    snprintf(want, sizeof want, "(%s, plugin ABI %d.%d)", HOST_ABI, RK_ABI_MAJOR,
             RK_ABI_MINOR + 1);
    ck_has(err.msg, want);
    ck_has(err.msg, "newer");
}
END_TEST

START_TEST(refuses_short_desc)
{
    rk_err err;
    refused("bad_short_desc", 0, &err);
    ck_has(err.msg, "plugin bad_short_desc:");
    ck_has(err.msg, "descriptor struct_size");
    ck_has(err.msg, PLUGIN_ABI ")");
}
END_TEST

START_TEST(refuses_unknown_kind)
{
    rk_err err;
    refused("bad_unknown_kind", 0, &err);
    ck_has(err.msg, "plugin bad_unknown_kind:");
    ck_has(err.msg, "unknown kind 42");
}
END_TEST

START_TEST(refuses_kind_mismatch)
{
    rk_err err;
    refused("bad_kind", RK_KIND_LLM, &err);
    ck_has(err.msg, "plugin bad_kind: is a cache plugin, expected llm");
    ck_has(err.msg, PLUGIN_ABI ")");
}
END_TEST

START_TEST(kind_match_accepted)
{
    char path[600];
    path_of("bad_kind", path, sizeof path);
    rk_err err = {{0}};
    loader_plugin *p = loader_open(path, RK_KIND_CACHE, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    loader_close(p);
}
END_TEST

START_TEST(refuses_null_create)
{
    rk_err err;
    refused("bad_null_create", 0, &err);
    ck_has(err.msg, "plugin bad_null_create: create is NULL");
}
END_TEST

START_TEST(refuses_short_vtable)
{
    rk_err err;
    refused("bad_short_vtable", 0, &err);
    ck_has(err.msg, "plugin bad_short_vtable:");
    ck_has(err.msg, "cache vtable struct_size");
}
END_TEST

START_TEST(refuses_null_slot)
{
    rk_err err;
    refused("bad_null_slot", 0, &err);
    ck_has(err.msg, "plugin bad_null_slot: llm vtable slot 'cancel' is NULL");
}
END_TEST

START_TEST(refuses_bad_name_chars)
{
    rk_err err;
    refused("bad_name_chars", 0, &err);
    ck_has(err.msg, "plugin Bad-Name: bad name");
}
END_TEST

START_TEST(refuses_name_mismatch)
{
    rk_err err;
    refused("bad_name", 0, &err);
    ck_has(err.msg, "plugin not_bad_name:");
    ck_has(err.msg, "expected 'bad_name'");
}
END_TEST

START_TEST(refuses_bad_schema)
{
    rk_err err;
    refused("bad_schema", 0, &err);
    ck_has(err.msg, "plugin bad_schema:");
    ck_has(err.msg, "'size' is declared twice");
}
END_TEST

/* A good plugin copied under another file name must be refused too. */
START_TEST(refuses_renamed_file)
{
    char src[600], tmpl[] = "/tmp/rk_loader_XXXXXX", dst[600], cmd[1400];
    path_of("good_cache", src, sizeof src);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(dst, sizeof dst, "%s/other_cache.so", tmpl);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    ck_assert_int_eq(system(cmd), 0);
    rk_err err = {{0}};
    ck_assert_ptr_null(loader_open(dst, 0, &err));
    ck_has(err.msg, "plugin good_cache: name does not match the file name (expected 'other_cache')");
    unlink(dst);
    rmdir(tmpl);
}
END_TEST

static const char *good[] = {"good_cache", "good_llm", "good_storage",
                             "good_retriever", "good_history", "good_transport",
                             "extract_csv"};
static const rk_kind good_kind[] = {RK_KIND_CACHE, RK_KIND_LLM, RK_KIND_STORAGE,
                                    RK_KIND_RETRIEVER, RK_KIND_HISTORY, RK_KIND_TRANSPORT,
                                    RK_KIND_EXTRACTOR};

START_TEST(loads_good)
{
    char path[600];
    path_of(good[_i], path, sizeof path);
    rk_err err = {{0}};
    loader_plugin *p = loader_open(path, good_kind[_i], &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->desc->name, good[_i]);
    ck_assert_str_eq(p->path, path);
    ck_assert_int_eq(p->desc->kind, good_kind[_i]);
    ck_assert_int_eq(loader_validate(p->desc, path, good_kind[_i], &err), RK_OK);
    loader_close(p);
}
END_TEST

/* Copies src to dst through a temporary name and rename(), as an install
 * or a linker does: a new inode under the same path. */
static void replace_file(const char *src, const char *dst)
{
    char tmp[700], cmd[1600];
    snprintf(tmp, sizeof tmp, "%s.new", dst);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && mv '%s' '%s'", src, tmp, tmp, dst);
    ck_assert_int_eq(system(cmd), 0);
}

/* Hot upgrade: while an older generation still holds good_cache.so, a file
 * rebuilt under the same path must be loaded as a new image (dlopen alone
 * hands back the old one); an unchanged file keeps sharing the image. */
START_TEST(changed_file_gets_a_new_image)
{
    char dir[] = "/tmp/rk_hot_XXXXXX", src[600], path[700];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    path_of("good_cache", src, sizeof src);
    snprintf(path, sizeof path, "%s/good_cache.so", dir);
    replace_file(src, path);
    rk_err err = {{0}};
    loader_plugin *gen1 = loader_open(path, RK_KIND_CACHE, &err);
    ck_assert_msg(gen1 != NULL, "%s", err.msg);
    loader_plugin *same = loader_open(path, RK_KIND_CACHE, &err);
    ck_assert_msg(same != NULL, "%s", err.msg);
    ck_assert_ptr_eq(same->desc, gen1->desc); /* unchanged: one image */
    ck_assert_int_eq(same->image_fd, -1);
    loader_close(same);

    replace_file(src, path); /* "rebuilt": same bytes, new file */
    loader_plugin *gen2 = loader_open(path, RK_KIND_CACHE, &err);
    ck_assert_msg(gen2 != NULL, "%s", err.msg);
    ck_assert_msg(gen2->desc != gen1->desc, "the old image came back for a changed file");
    ck_assert_int_ge(gen2->image_fd, 0);
    ck_assert_str_eq(gen2->desc->name, "good_cache");
    ck_assert_str_eq(gen2->path, path);
    loader_close(gen1); /* the old generation drains */

    /* with the old image gone, the path loads directly again */
    replace_file(src, path);
    loader_plugin *gen3 = loader_open(path, RK_KIND_CACHE, &err);
    ck_assert_msg(gen3 != NULL, "%s", err.msg);
    ck_assert_int_eq(gen3->image_fd, -1);
    ck_assert_ptr_ne(gen3->desc, gen2->desc);
    loader_close(gen2);
    loader_close(gen3);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(find_in_path)
{
    const char *dirs[] = {"/nonexistent/a", plugin_dir()};
    rk_err err = {{0}};
    loader_plugin *p = loader_find(dirs, 2, "good_llm", RK_KIND_LLM, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_str_eq(p->desc->name, "good_llm");
    loader_close(p);

    ck_assert_ptr_null(loader_find(dirs, 2, "no_such_plugin", 0, &err));
    char want[700];
    snprintf(want, sizeof want, "plugin 'no_such_plugin' not found in /nonexistent/a:%s",
             plugin_dir());
    ck_assert_str_eq(err.msg, want);

    ck_assert_ptr_null(loader_find(dirs, 2, "../good_llm", 0, &err));
    ck_has(err.msg, "bad name");
    ck_assert_ptr_null(loader_find(dirs, 2, "bad_abi_major", 0, &err));
    ck_has(err.msg, MAJOR2_ABI);
}
END_TEST

typedef struct scan_seen {
    int total, ok, bad, good_cache_ok, abi_major_refused;
} scan_seen;

static void on_scan(void *ud, const char *path, const loader_plugin *p, const char *error)
{
    scan_seen *s = ud;
    s->total++;
    ck_assert_msg((p == NULL) != (error == NULL), "exactly one of plugin/error for %s", path);
    if (p) s->ok++; else s->bad++;
    if (p && strcmp(p->desc->name, "good_cache") == 0) s->good_cache_ok++;
    if (error && strstr(path, "bad_abi_major.so") && strstr(error, MAJOR2_ABI))
        s->abi_major_refused++;
}

START_TEST(scan_lists)
{
    const char *dirs[] = {plugin_dir()};
    scan_seen s = {0};
    loader_scan(dirs, 1, on_scan, &s);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s/*.so | wc -l", plugin_dir());
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    ck_assert_int_eq(fscanf(f, "%d", &n), 1);
    pclose(f);
    ck_assert_int_eq(s.total, n);
    ck_assert_int_ge(s.ok, 6);
    ck_assert_int_ge(s.bad, 12);
    ck_assert_int_eq(s.good_cache_ok, 1);
    ck_assert_int_eq(s.abi_major_refused, 1);

    const char *missing[] = {"/nonexistent/plugins"};
    scan_seen m = {0};
    loader_scan(missing, 1, on_scan, &m);
    ck_assert_int_eq(m.total, 1);
    ck_assert_int_eq(m.bad, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = ph_add_tcase(
        s, "loader", 30, NULL, NULL,
        PH_TESTS(refuses_dlopen_failure, refuses_missing_file, refuses_no_entry,
                 refuses_null_entry, refuses_abi_major, refuses_abi_minor,
                 changed_file_gets_a_new_image, refuses_short_desc, refuses_unknown_kind,
                 refuses_kind_mismatch, kind_match_accepted, refuses_null_create,
                 refuses_short_vtable, refuses_null_slot, refuses_bad_name_chars,
                 refuses_name_mismatch, refuses_bad_schema, refuses_renamed_file));
    tcase_add_loop_test(tc, loads_good, 0, (int)(sizeof good / sizeof *good));
    ph_add_tcase(s, "search", 30, NULL, NULL, PH_TESTS(find_in_path, scan_lists));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
