/*
 * cfg_env — "${NAME}" and "${NAME:-default}" in config values, replaced
 * from the environment once, when the tree is built, so no later reader
 * can forget to. Values are data: what a variable holds is never expanded
 * again, and "$$" is a literal "$".
 */
#define _GNU_SOURCE
#include "cfg_env.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

typedef struct env_ctx {
    cfg_diag *d;
    const char *file;
    int line, col;
    int *errors;
} env_ctx;

__attribute__((format(printf, 2, 3))) static void env_err(env_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_diag_vadd(x->d, x->file, x->line, x->col, fmt, ap);
    va_end(ap);
    (*x->errors)++;
}

static int valid_var_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
    return 1;
}

/* One "${NAME}" or "${NAME:-default}"; [s, end) is what the braces hold.
 * The value is appended as is: env values are data, never re-expanded. */
static void expand_var(env_ctx *x, const char *s, const char *end, strbuf *o)
{
    const char *sep = memmem(s, (size_t)(end - s), ":-", 2);
    size_t nlen = (size_t)((sep ? sep : end) - s);
    char name[256];
    if (!valid_var_name(s, nlen) || nlen >= sizeof name) {
        env_err(x, "invalid variable name in '${%.*s}'", (int)(end - s), s);
        return;
    }
    memcpy(name, s, nlen);
    name[nlen] = '\0';
    const char *val = getenv(name);
    if (sep && (!val || !*val))
        sb_append(o, sep + 2, (size_t)(end - sep - 2));
    else if (!val)
        env_err(x, "environment variable '%s' is not set", name);
    else
        sb_puts(o, val);
}

char *cfg_env_expand(const char *s, cfg_diag *d, const char *file, int line, int col,
                     int *errors)
{
    env_ctx x = {d, file, line, col, errors};
    strbuf o = {0};
    while (*s) {
        const char *dollar = strchr(s, '$');
        if (!dollar) {
            sb_puts(&o, s);
            break;
        }
        sb_append(&o, s, (size_t)(dollar - s) + (dollar[1] != '{'));
        if (dollar[1] != '{') {
            s = dollar + 1 + (dollar[1] == '$');
            continue;
        }
        const char *end = strchr(dollar + 2, '}');
        if (!end) {
            env_err(&x, "unterminated '${' (missing '}')");
            break;
        }
        expand_var(&x, dollar + 2, end, &o);
        s = end + 1;
    }
    return sb_take(&o); /* "" for an empty value; NULL only when out of memory */
}
