/*
 * test_loader — the loader against real, purpose-built plugin files
 * (tests/plugins/, built into $BUILD/test-plugins): each broken one must
 * be refused with one line naming the file, the plugin and both ABI
 * versions; good ones must load; find and scan must walk the search path.
 * Also: abi_minor as the lowest minor needed, requirement bits, and a file
 * changed on disk while its image is loaded coming back as a new image.
 * Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

/* The versions in messages, from the headers this test is built with. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define HOST_ABI "host ABI " STR(RK_ABI_MAJOR) "." STR(RK_ABI_MINOR)
#define PLUGIN_ABI "plugin ABI " STR(RK_ABI_MAJOR) "." STR(RK_ABI_MINOR)
#define MAJOR2_ABI "plugin ABI 2.0" /* bad_abi_major is pinned to 2.0 */

#include <ragkernel/ragkernel.h>

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

#define ck_has(msg, s) ck_assert_msg(strstr((msg), (s)) != NULL, "'%s' not in: %s", (s), (msg))

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

START_TEST(validate_in_memory)
{
    static const rk_cache_vtable vt = {.struct_size = sizeof vt};
    rk_plugin d = {.struct_size = sizeof d, .abi_major = RK_ABI_MAJOR,
                   .abi_minor = RK_ABI_MINOR, .kind = RK_KIND_CACHE,
                   .name = "mem", .vtable = &vt};
    rk_err err = {{0}};
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "mem.so: plugin mem: create is NULL (" HOST_ABI ", " PLUGIN_ABI ")");
    ck_assert_int_eq(loader_validate(NULL, "x.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "x.so: plugin ?: entry returned NULL (" HOST_ABI ", plugin ABI ?)");
    ck_assert_str_eq(loader_kind_name(RK_KIND_HISTORY), "history");
    ck_assert_str_eq(loader_kind_name(RK_KIND_EXTRACTOR), "extractor");
    ck_assert_str_eq(loader_kind_name((rk_kind)99), "?");
}
END_TEST


static int m_create(const rk_host *h, rk_instance *self, void **ctx, rk_err *err)
{
    return RK_OK;
}
static void m_destroy(void *ctx) {}

static int x_extract(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                     rk_err *err)
{
    return RK_OK;
}

/* The extractor kind (since 1.1): formats and extract are required, and a
 * descriptor that claims to need only 1.0 cannot be one. */
START_TEST(extractor_slots)
{
    static const rk_extract_format fmts[] = {{"text/x-test", ".xt", NULL}, {NULL, NULL, NULL}};
    rk_extractor_vtable vt = {.struct_size = sizeof vt, .formats = fmts};
    rk_plugin d = {.struct_size = sizeof d, .abi_major = RK_ABI_MAJOR, .abi_minor = 1,
                   .kind = RK_KIND_EXTRACTOR, .name = "mem", .vtable = &vt,
                   .create = m_create, .destroy = m_destroy};
    rk_err err = {{0}};
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "extractor vtable slot 'extract' is NULL");
    vt.extract = x_extract;
    ck_assert_int_eq(loader_validate(&d, "mem.so", RK_KIND_EXTRACTOR, &err), RK_OK);
    vt.formats = NULL;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "extractor vtable slot 'formats' is NULL");
    vt.formats = fmts;
    vt.struct_size = offsetof(rk_extractor_vtable, extract);
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "extractor vtable struct_size");
    vt.struct_size = sizeof vt;
    d.abi_minor = 0;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "is an extractor, a kind of ABI 1.1, but declares it needs only 1.0");
}
END_TEST

/* abi_minor is the lowest minor the plugin needs: 1.0 and 1.1 load here,
 * 1.2 does not; requirement bits this host does not know are refused, and
 * so is any requirement in a descriptor that claims 1.0 (a 1.0 host would
 * never see it). */
START_TEST(minor_and_requirements)
{
    static const rk_cache_vtable vt = {.struct_size = sizeof vt, .get = (void *)1,
                                       .set = (void *)1, .del = (void *)1};
    rk_plugin d = {RK_PLUGIN_HEADER_NEEDS(0), .kind = RK_KIND_CACHE, .name = "mem",
                   .create = m_create, .destroy = m_destroy, .vtable = &vt};
    rk_err err = {{0}};
    ck_assert_int_eq(d.abi_minor, 0);
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_OK);
    d.abi_minor = RK_ABI_MINOR;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_OK);
    d.abi_minor = RK_ABI_MINOR + 1;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "mem.so: plugin mem: needs ABI 1.2, newer than the host's");

    d.abi_minor = RK_ABI_MINOR;
    d.requirements = 0x80000000u;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "mem.so: plugin mem: requires feature bits 0x80000000 that this host "
                    "does not know (host ABI 1.1, plugin ABI 1.1)");
    d.abi_minor = 0;
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_ERR_ABI);
    ck_has(err.msg, "sets requirement bits 0x80000000 but declares ABI 1.0");

    /* a 1.0-sized descriptor has no requirements or caps to read */
    d.requirements = 0;
    d.caps = RK_CAP_READ_ONLY;
    ck_assert_uint_eq(loader_caps(&d), RK_CAP_READ_ONLY);
    d.struct_size = (uint32_t)offsetof(rk_plugin, requirements);
    ck_assert_int_eq(loader_validate(&d, "mem.so", 0, &err), RK_OK);
    ck_assert_uint_eq(loader_caps(&d), 0);
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
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, refuses_dlopen_failure);
    tcase_add_test(tc, refuses_missing_file);
    tcase_add_test(tc, refuses_no_entry);
    tcase_add_test(tc, refuses_null_entry);
    tcase_add_test(tc, refuses_abi_major);
    tcase_add_test(tc, refuses_abi_minor);
    tcase_add_test(tc, minor_and_requirements);
    tcase_add_test(tc, changed_file_gets_a_new_image);
    tcase_add_test(tc, refuses_short_desc);
    tcase_add_test(tc, refuses_unknown_kind);
    tcase_add_test(tc, refuses_kind_mismatch);
    tcase_add_test(tc, kind_match_accepted);
    tcase_add_test(tc, refuses_null_create);
    tcase_add_test(tc, refuses_short_vtable);
    tcase_add_test(tc, refuses_null_slot);
    tcase_add_test(tc, refuses_bad_name_chars);
    tcase_add_test(tc, refuses_name_mismatch);
    tcase_add_test(tc, refuses_bad_schema);
    tcase_add_test(tc, refuses_renamed_file);
    tcase_add_loop_test(tc, loads_good, 0, (int)(sizeof good / sizeof *good));
    tcase_add_test(tc, validate_in_memory);
    tcase_add_test(tc, extractor_slots);
    tcase_add_test(tc, find_in_path);
    tcase_add_test(tc, scan_lists);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
