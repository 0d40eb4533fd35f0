/*
 * loader_fixture — what the loader tests (test_loader: real plugin files;
 * test_loader_validate: descriptors in memory) expect in a refusal: the
 * ABI versions as the messages spell them, from the headers the test is
 * built with, and a substring check that prints the whole message.
 */
#ifndef RK_TEST_LOADER_FIXTURE_H
#define RK_TEST_LOADER_FIXTURE_H

#include <check.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define HOST_ABI "host ABI " STR(RK_ABI_MAJOR) "." STR(RK_ABI_MINOR)
#define PLUGIN_ABI "plugin ABI " STR(RK_ABI_MAJOR) "." STR(RK_ABI_MINOR)
#define MAJOR2_ABI "plugin ABI 2.0" /* bad_abi_major is pinned to 2.0 */

#define ck_has(msg, s) ck_assert_msg(strstr((msg), (s)) != NULL, "'%s' not in: %s", (s), (msg))

#endif
