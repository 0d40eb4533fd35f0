/*
 * test_log — every line the logger writes is one valid JSON object (or one
 * logfmt line) whatever the message holds: bytes that are not UTF-8,
 * controls and DEL, and messages cut by the buffer limits at every
 * position, including inside multi-byte characters and escapes. Lines are
 * checked with jansson's strict parser and for raw control bytes.
 */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testenv.h"

/* What one log_emit writes to stderr, NUL-terminated (malloc'd). */
static char *capture(log_format fmt, const char *msg)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
    log_configure(RK_LOG_DEBUG, fmt);
    log_emit(RK_LOG_WARN, "comp\x01onent", "%s", msg);
    ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    long n = ftell(f);
    ck_assert_int_gt(n, 0);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    rewind(f);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* One line, no raw control byte or DEL, strict JSON with the four keys;
 * returns the parsed "msg" (malloc'd). */
static char *check_json_line(const char *line)
{
    size_t len = strlen(line);
    ck_assert_uint_gt(len, 1);
    ck_assert_int_eq(line[len - 1], '\n');
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)line[i];
        ck_assert_msg(c >= 0x20 && c != 0x7F, "raw byte 0x%02x at %zu", c, i);
    }
    json_error_t e;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
    ck_assert_msg(j != NULL, "invalid JSON (%s at %d): %.200s", e.text, e.position, line);
    ck_assert(json_is_string(json_object_get(j, "ts")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(j, "component")), "comp\x01onent");
    const char *m = json_string_value(json_object_get(j, "msg"));
    ck_assert_ptr_nonnull(m);
    char *out = strdup(m);
    json_decref(j);
    return out;
}

START_TEST(invalid_utf8_replaced)
{
    static const char *bad[] = {
        "\xff", "a\x80z", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98", "x\xd0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *line = capture(LOG_JSON, bad[i]);
        char *m = check_json_line(line);
        ck_assert_msg(strstr(m, "\xEF\xBF\xBD") != NULL, "case %zu: no U+FFFD in %s", i, m);
        free(m);
        free(line);
    }
    const char *good = "\xd0\xb6 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
    char *line = capture(LOG_JSON, good);
    char *m = check_json_line(line);
    ck_assert_str_eq(m, good); /* valid UTF-8 passes unchanged */
    free(m);
    free(line);
}
END_TEST

START_TEST(controls_and_del_escaped)
{
    char all[160];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++) all[n++] = (char)c;
    all[n++] = 0x7F;
    memcpy(all + n, "\"quote\\back", 11);
    n += 11;
    all[n] = '\0';
    char *line = capture(LOG_JSON, all);
    ck_assert_ptr_nonnull(strstr(line, "\\u007f"));
    char *m = check_json_line(line);
    ck_assert_str_eq(m, all); /* round trip */
    free(m);
    free(line);
    line = capture(LOG_LOGFMT, all); /* logfmt: one line, no raw controls */
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    for (const char *p = line; p[1]; p++) ck_assert((unsigned char)*p >= 0x20 && *p != 0x7F);
    free(line);
}
END_TEST

/* Messages around both limits (the 2 KiB message and the 4 KiB line),
 * made of multi-byte characters and escapes, shifted by every offset so
 * the cut falls at every position of every kind of unit. */
START_TEST(long_messages_cut_anywhere)
{
    static const char *units[] = {"\xd0\xb6", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x01",
                                  "\"", "\x7f", "a"};
    char *msg = malloc(5000);
    ck_assert_ptr_nonnull(msg);
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        for (size_t shift = 0; shift < 8; shift++) {
            for (size_t len = 1990; len < 2100; len += 7) {
                size_t n = 0;
                for (; n < shift; n++) msg[n] = 'x';
                size_t ul = strlen(units[u]);
                while (n + ul <= len) {
                    memcpy(msg + n, units[u], ul);
                    n += ul;
                }
                msg[n] = '\0';
                char *line = capture(LOG_JSON, msg);
                ck_assert_uint_le(strlen(line), 4096);
                char *m = check_json_line(line);
                /* valid input stays valid: cut between characters */
                ck_assert_msg(!strstr(m, "\xEF\xBF\xBD"), "U+FFFD in a cut valid message");
                free(m);
                free(line);
            }
        }
    }
    free(msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("log");
    ph_add_tcase(s, "json", 120, NULL, NULL,
                 PH_TESTS(invalid_utf8_replaced, controls_and_del_escaped,
                          long_messages_cut_anywhere));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
