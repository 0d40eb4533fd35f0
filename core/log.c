/*
 * log — the process-wide logger. One write(2) per event so lines from many
 * threads never interleave. logfmt: `ts=... level=info component=core
 * msg="..."`; JSON: {"ts":...,"level":...,"component":...,"msg":...}.
 * Settings are plain atomics: reconfiguring on SIGHUP needs no lock.
 */
#define _GNU_SOURCE
#include "log.h"

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

/* Append s to buf escaped for a double-quoted logfmt/JSON string. */
static size_t put_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c == '\n') {
            buf[pos++] = '\\';
            buf[pos++] = 'n';
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
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

void log_emitv(rk_log_level level, const char *component, const char *fmt,
               va_list ap)
{
    if (!log_enabled(level)) return;
    char msg[2048], ts[40], line[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);

    int json = atomic_load(&g_format) == LOG_JSON;
    const char *lv = level_names[level < 0 || level > 3 ? 1 : level];
    size_t pos = 0, cap = sizeof line;
    if (json) {
        pos += (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts, lv);
        pos = put_escaped(line, pos, cap, component ? component : "core");
        pos = put_raw(line, pos, cap, "\",\"msg\":\"");
        pos = put_escaped(line, pos, cap, msg);
        pos = put_raw(line, pos, cap, "\"}\n");
    } else {
        pos += (size_t)snprintf(line, cap, "ts=%s level=%s component=%s msg=\"", ts, lv,
                                component ? component : "core");
        pos = put_escaped(line, pos, cap, msg);
        pos = put_raw(line, pos, cap, "\"\n");
    }
    if (pos >= cap - 1) { /* truncated: still one line */
        pos = cap - 1;
        line[pos - 1] = '\n';
    }
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
