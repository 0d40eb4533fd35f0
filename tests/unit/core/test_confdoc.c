/*
 * test_confdoc — the generated config reference (docs/config.md,
 * ragkernel.yaml(5)): every key of every core schema table appears, with a
 * description, in both formats; text is escaped for each format (a line
 * starting with '.', '-' and '\' for troff, '|' in a Markdown cell).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "conf.h"
#include "confdoc.h"

static char *out;
static size_t out_len;

static FILE *capture(void)
{
    free(out);
    out = NULL;
    FILE *f = open_memstream(&out, &out_len);
    ck_assert_ptr_nonnull(f);
    return f;
}

static char *core(confdoc_fmt fmt)
{
    FILE *f = capture();
    confdoc_core(f, fmt);
    fclose(f);
    return out;
}

START_TEST(every_core_key_in_both_formats)
{
    const rk_config_key *tables[] = {conf_server_schema, conf_pipeline_schema, auth_schema(),
                                     auth_key_schema()};
    char *md = strdup(core(CONFDOC_MD));
    char *man = strdup(core(CONFDOC_MAN));
    size_t n = 0;
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        for (const rk_config_key *k = tables[t]; k->name; k++, n++) {
            char want[128];
            ck_assert_msg(k->description && k->description[0], "%s has no description", k->name);
            snprintf(want, sizeof want, "| `%s` | %s |", k->name, confdoc_type_name(k->type));
            ck_assert_msg(strstr(md, want), "Markdown lacks '%s'", want);
            snprintf(want, sizeof want, ".TP\n\\fB%s\\fR (%s", k->name, confdoc_type_name(k->type));
            ck_assert_msg(strstr(man, want), "man lacks '%s'", want);
        }
    }
    ck_assert_uint_ge(n, 40);
    const char *named[] = {"| `seed_dir` |", "| `history_expire_interval` |",
                           "| `history_expire_batch` |", "| `history_ttl` |", "| `keys` |",
                           "| `limiter` |", "| `key_sha256` |", "| `shutdown_delay` |"};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        ck_assert_msg(strstr(md, named[i]), "Markdown lacks %s", named[i]);
    ck_assert_ptr_nonnull(strstr(man, ".SS \"pipeline\"\n"));
    ck_assert_ptr_nonnull(strstr(md, "\n## auth.keys.NAME\n"));
    free(md);
    free(man);
}
END_TEST

START_TEST(text_escaped_per_format)
{
    static const rk_config_key keys[] = {
        {"a_key", RK_CFG_STRING, "x|y", 0, "one-two \\ and a|b"},
        {"needed", RK_CFG_INT, NULL, 1, ".starts with a dot"},
        {NULL, 0, NULL, 0, NULL}};
    FILE *f = capture();
    confdoc_plugin(f, CONFDOC_MAN, "my-plugin", "llm", "'quoted first", keys);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, ".SS \"my\\-plugin (llm)\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "\n\\&'quoted first\n"));
    ck_assert_ptr_nonnull(strstr(out, "\\fBa_key\\fR (string; default: \\fBx|y\\fR)\n"));
    ck_assert_ptr_nonnull(strstr(out, "one\\-two \\e and a|b\n"));
    ck_assert_ptr_nonnull(strstr(out, "\\fBneeded\\fR (int; \\fIrequired\\fR)\n\\&.starts"));

    f = capture();
    confdoc_plugin(f, CONFDOC_MD, "my-plugin", "llm", "d", keys);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "\n### my-plugin (llm)\n\nd\n\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `a_key` | string | x\\|y | one-two \\ and a\\|b |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `needed` | int | **required** | .starts with a dot |\n"));
}
END_TEST

START_TEST(no_keys_and_formats)
{
    FILE *f = capture();
    confdoc_plugin(f, CONFDOC_MD, "p", "cache", NULL, NULL);
    fclose(f);
    ck_assert_str_eq(out, "\n### p (cache)\n\n\n\nNo configuration keys.\n");
    confdoc_fmt fmt = CONFDOC_MD;
    ck_assert_int_eq(confdoc_parse_fmt("man", &fmt), 0);
    ck_assert_int_eq(fmt, CONFDOC_MAN);
    ck_assert_int_eq(confdoc_parse_fmt("md", &fmt), 0);
    ck_assert_int_eq(fmt, CONFDOC_MD);
    ck_assert_int_eq(confdoc_parse_fmt("html", &fmt), -1);
    ck_assert_int_eq(confdoc_parse_fmt(NULL, &fmt), -1);
    ck_assert_str_eq(confdoc_type_name(RK_CFG_DURATION), "duration");
    ck_assert_str_eq(confdoc_type_name((rk_cfg_type)99), "?");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("confdoc");
    TCase *tc = tcase_create("confdoc");
    tcase_add_test(tc, every_core_key_in_both_formats);
    tcase_add_test(tc, text_escaped_per_format);
    tcase_add_test(tc, no_keys_and_formats);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(out);
    return failed ? 1 : 0;
}
