/*
 * log — the process-wide logger. One write(2) per event so lines from many
 * threads never interleave. logfmt: `ts=... level=info component=core
 * msg="..."`; JSON: {"ts":...,"level":...,"component":...,"msg":...}.
 * Settings are plain atomics: reconfiguring on SIGHUP needs no lock.
 * Messages carry client and upstream text, so every line is made valid
 * whatever they hold: UTF-8 is checked (bad bytes become U+FFFD), controls
 * and DEL are escaped, and a long message is cut between characters with
 * the closing quote and brace always written — a log shipper never sees a
 * line its JSON parser rejects.
 */
#define _GNU_SOURCE
#include "log.h"
#include "oj.h"
#include "secrets.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = RK_LOG_INFO;
static atomic_int g_format = LOG_LOGFMT;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_configure(rk_log_level min_level, log_format fmt)
{
    atomic_store(&g_level, (int)min_level);
    atomic_store(&g_format, (int)fmt);
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

int log_format_parse(const char *s)
{
    if (s && strcmp(s, "logfmt") == 0) return LOG_LOGFMT;
    if (s && strcmp(s, "json") == 0) return LOG_JSON;
    return -1;
}

int log_enabled(rk_log_level level) { return (int)level >= atomic_load(&g_level); }

/* Append s to buf[pos..limit) escaped for a double-quoted logfmt/JSON
 * string; the output is always valid UTF-8 and valid JSON string content:
 * controls and DEL become \uXXXX, a byte that starts no well-formed UTF-8
 * sequence becomes U+FFFD, and nothing is ever cut inside an escape or a
 * sequence. *cut is set when s did not fit. */
static size_t put_escaped(char *buf, size_t pos, size_t limit, const char *str, int *cut)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        char esc[8];
        const char *out = esc;
        size_t in = 1, n;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, n = 2;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r', n = 2;
        } else if (c < 0x20 || c == 0x7F) {
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        } else if ((in = oj_utf8_seq(s, strnlen((const char *)s, 4))) == 0) {
            out = "\xEF\xBF\xBD", n = 3, in = 1; /* U+FFFD for the bad byte */
        } else {
            out = (const char *)s, n = in;
        }
        if (pos + n > limit) {
            if (cut) *cut = 1;
            break;
        }
        memcpy(buf + pos, out, n);
        pos += n;
        s += in;
    }
    return pos;
}

static size_t put_raw(char *buf, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (pos + n >= cap) n = cap - pos - 1;
    memcpy(buf + pos, s, n);
    return pos + n;
}

#define LOG_TAIL 16 /* room kept for "...\"}\n" after the message */

/* vsnprintf cuts at a byte count: drop a last character left incomplete,
 * so a valid message does not end in U+FFFD. */
static void trim_partial(char *msg)
{
    size_t n = strlen(msg), k = n;
    while (k > 0 && n - k < 3 && ((unsigned char)msg[k - 1] & 0xC0) == 0x80) k--;
    if (k == 0) return;
    unsigned char lead = (unsigned char)msg[k - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (k - 1 + need > n) msg[k - 1] = '\0';
}

void log_emitv(rk_log_level level, const char *component, const char *fmt,
               va_list ap)
{
    if (!log_enabled(level)) return;
    char raw[2048], msg[2048], ts[40], line[4096];
    int cut = vsnprintf(raw, sizeof raw, fmt, ap) >= (int)sizeof raw;
    if (cut) trim_partial(raw);
    secrets_redact(raw, msg, sizeof msg); /* upstream text may echo credentials */

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);

    int json = atomic_load(&g_format) == LOG_JSON;
    const char *lv = level_names[level < 0 || level > 3 ? 1 : level];
    size_t pos = 0, cap = sizeof line, limit = cap - LOG_TAIL;
    if (json) {
        pos += (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts, lv);
        pos = put_escaped(line, pos, 256, component ? component : "core", NULL);
        pos = put_raw(line, pos, cap, "\",\"msg\":\"");
    } else {
        pos += (size_t)snprintf(line, cap, "ts=%s level=%s component=", ts, lv);
        pos = put_escaped(line, pos, 256, component ? component : "core", NULL);
        pos = put_raw(line, pos, cap, " msg=\"");
    }
    pos = put_escaped(line, pos, limit, msg, &cut);
    if (cut) pos = put_raw(line, pos, cap, "...");
    pos = put_raw(line, pos, cap, json ? "\"}\n" : "\"\n");
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void log_emit(rk_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emitv(level, component, fmt, ap);
    va_end(ap);
}
