/*
 * cfg_diag — owns the list of "file:line:col: message" lines every config
 * reader reports into. Readers keep going after a mistake, so one run of
 * --check-config lists them all; the list is then sorted by position, and
 * a message that already starts with its location (a plugin formats one
 * with cfg_where) is added as it is instead of getting a second one.
 */
#define _GNU_SOURCE
#include "cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_diag_vadd(cfg_diag *d, const char *file, int line, int col,
                      const char *fmt, va_list ap)
{
    char *msg = NULL, *out = NULL;
    if (!d || vasprintf(&msg, fmt, ap) < 0) return;
    int r = line > 0 ? asprintf(&out, "%s:%d:%d: %s", file, line, col, msg)
                     : asprintf(&out, "%s: %s", file, msg);
    free(msg);
    char **lines = r < 0 ? NULL : realloc(d->lines, (d->n + 1) * sizeof *lines);
    if (!lines) {
        if (r >= 0) free(out);
        return;
    }
    d->lines = lines;
    d->lines[d->n++] = out;
}

void cfg_diag_add(cfg_diag *d, const char *file, int line, int col,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_diag_vadd(d, file ? file : "<config>", line, col, fmt, ap);
    va_end(ap);
}

void cfg_diag_at(cfg_diag *d, const cfg_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (at)
        cfg_diag_vadd(d, at->file ? at->file : "<config>", at->line, at->col, fmt, ap);
    else
        cfg_diag_vadd(d, "<config>", 0, 0, fmt, ap);
    va_end(ap);
}

/* `where` is already "file:line:col" (from cfg_values_where), so it is used
 * as the file part with no position of its own. */
void cfg_diag_loc(cfg_diag *d, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_diag_vadd(d, where && *where ? where : "<config>", 0, 0, fmt, ap);
    va_end(ap);
}

void cfg_diag_free(cfg_diag *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->lines[i]);
    free(d->lines);
    d->lines = NULL;
    d->n = 0;
}

size_t cfg_location_len(const char *msg, const char *file)
{
    size_t flen = file ? strlen(file) : 0;
    if (!msg || !flen || strncmp(msg, file, flen) != 0 || msg[flen] != ':') return 0;
    const char *p = msg + flen + 1;
    for (int part = 0; part < 2; part++) {
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
        if (*p != ':') return 0;
        if (part == 0) p++;
    }
    return (size_t)(p - msg);
}

int cfg_diag_located(cfg_diag *d, const char *file, const char *prefix, const char *msg)
{
    size_t loc = cfg_location_len(msg, file);
    if (!loc) return -1;
    const char *rest = msg + loc + 1;
    while (*rest == ' ') rest++;
    char *where = strndup(msg, loc);
    if (where) cfg_diag_loc(d, where, "%s%s", prefix, rest);
    free(where);
    return 0;
}

/* Line and column of "file:L:C: ..." (0, 0 when there is none). */
static void position(const char *s, long *line, long *col)
{
    *line = *col = 0;
    for (const char *p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
        char *e1, *e2;
        long l = strtol(p + 1, &e1, 10);
        if (e1 == p + 1 || *e1 != ':') continue;
        long c = strtol(e1 + 1, &e2, 10);
        if (e2 == e1 + 1 || *e2 != ':') continue;
        *line = l;
        *col = c;
        return;
    }
}

static int before(const char *a, const char *b)
{
    long la, ca, lb, cb;
    position(a, &la, &ca);
    position(b, &lb, &cb);
    return la < lb || (la == lb && ca < cb);
}

/* Insertion sort: stable, and a config has tens of mistakes at most. */
void cfg_diag_sort(cfg_diag *d)
{
    for (size_t i = 1; d && i < d->n; i++) {
        char *x = d->lines[i];
        size_t j = i;
        for (; j > 0 && before(x, d->lines[j - 1]); j--) d->lines[j] = d->lines[j - 1];
        d->lines[j] = x;
    }
}

