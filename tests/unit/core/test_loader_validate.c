/*
 * test_loader_validate — loader_validate on plugin descriptors built in
 * memory, no plugin file involved: a NULL descriptor and a missing create
 * named in one line with both ABI versions, the kind names, the extractor
 * kind's required slots (since 1.1), abi_minor as the lowest minor the
 * plugin needs, requirement bits this host does not know, and a 1.0-sized
 * descriptor read without its later fields. The real, purpose-built plugin
 * files are test_loader's.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stddef.h>
#include <string.h>

#include "loader.h"
#include "loader_fixture.h"
#include "testenv.h"

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

static Suite *suite(void)
{
    Suite *s = suite_create("loader_validate");
    ph_add_tcase(s, "validate", 30, NULL, NULL,
                 PH_TESTS(validate_in_memory, extractor_slots, minor_and_requirements));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
