/*
 * llm_common — the retry policy and error vocabulary shared by the LLM
 * provider plugins. It exists so that OpenAI-style and Anthropic-style
 * clients agree exactly on when to retry, how long to wait and which
 * rk_status an upstream failure becomes: the core's fallback chain and
 * circuit breaker rely on that status, not on provider details. The file is
 * built into each plugin separately (one source, several .so files).
 */
#define _GNU_SOURCE /* strptime, timegm, vasprintf */
#include "llm_common.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "oj.h"

/* Room for n more bytes and the NUL, growing by doubling. */
static int llm_buf_reserve(llm_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return RK_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2)
            return RK_ERR_NOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return RK_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return RK_OK;
}

int llm_buf_add(llm_buf *b, const void *data, size_t n)
{
    if (llm_buf_reserve(b, n) != RK_OK)
        return RK_ERR_NOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return RK_OK;
}

int llm_buf_json_str(llm_buf *b, const char *s, size_t n)
{
    if (llm_buf_reserve(b, OJ_ESCAPE_MAX(n)) != RK_OK)
        return -2;
    size_t w = oj_escape(s, n, b->p + b->len, 0);
    if (w != SIZE_MAX)
        b->len += w;
    b->p[b->len] = '\0';
    return w == SIZE_MAX ? -1 : 0;
}

void llm_buf_reset(llm_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void llm_buf_free(llm_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

uint64_t llm_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t llm_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                       uint64_t *rng)
{
    if (base_ms <= 0 || max_ms <= 0)
        return 0;
    int64_t cap = base_ms;
    /* doubling stops at max_ms, so no shift can overflow */
    for (int i = 0; i < attempt && cap < max_ms; i++)
        cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    return (int64_t)(llm_rand_next(rng) % (uint64_t)(cap + 1));
}

/* A non-negative decimal number (digits, optional fraction), whole string. */
static int parse_number(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end = NULL;
    double v = strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t'))
        end++;
    if (!end || *end != '\0' || v < 0 || v > 1e12)
        return -1;
    *out = v;
    return 0;
}

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"): the only form RFC 9110
 * lets senders generate. Returns Unix ms or -1. */
static int64_t parse_http_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0')
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t * 1000;
}

int64_t llm_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                           int64_t wall_now_ms)
{
    double v;
    if (retry_after_ms && parse_number(retry_after_ms, &v) == 0)
        return (int64_t)v;
    if (!retry_after)
        return -1;
    if (parse_number(retry_after, &v) == 0)
        return (int64_t)(v * 1000.0);
    int64_t at = parse_http_date(retry_after);
    if (at < 0)
        return -1;
    return at > wall_now_ms ? at - wall_now_ms : 0;
}

int llm_status_from_http(int http_status)
{
    if (http_status >= 200 && http_status < 300)
        return RK_OK;
    if (http_status == 429)
        return RK_ERR_RATE_LIMITED;
    if (http_status == 408)
        return RK_ERR_TIMEOUT;
    if (http_status >= 500 && http_status < 600)
        return RK_ERR_UNAVAILABLE;
    if (http_status == 401 || http_status == 403)
        return RK_ERR_AUTH;
    if (http_status >= 400 && http_status < 500)
        return RK_ERR_INVALID;
    return RK_ERR_UPSTREAM;
}

const char *llm_status_label(int status)
{
    switch (status) {
    case RK_OK: return "ok";
    case RK_ERR_TIMEOUT: return "timeout";
    case RK_ERR_UNAVAILABLE: return "unavailable";
    case RK_ERR_RATE_LIMITED: return "rate_limited";
    case RK_ERR_CANCELLED: return "cancelled";
    case RK_ERR_AUTH: return "auth";
    case RK_ERR_INVALID: return "invalid";
    case RK_ERR_UPSTREAM: return "upstream";
    default: return "error";
    }
}

void llm_utf8_trim(char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return;
    size_t j = n - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    unsigned char lead = (unsigned char)s[j];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (j + need > n)
        s[j] = '\0';
}

void llm_strlcpy(char *out, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Copy at most cap-1 bytes of text, control characters as spaces, so a
 * message can go into a log line or a JSON error unchanged. */
static void copy_text(char *out, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[n] = '\0';
    llm_utf8_trim(out);
}

static const char *json_message(json_t *root)
{
    json_t *e = json_object_get(root, "error");
    if (json_is_string(e))
        return json_string_value(e);
    const char *m = json_string_value(json_object_get(e, "message"));
    if (m)
        return m;
    m = json_string_value(json_object_get(root, "message"));
    if (m)
        return m;
    return json_string_value(json_object_get(root, "detail"));
}

void llm_error_message(const char *body, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = '\0';
    if (!body || len == 0)
        return;
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *m = root ? json_message(root) : NULL;
    if (m)
        copy_text(out, cap, m, strlen(m));
    else
        copy_text(out, cap, body, len < 200 ? len : 200);
    json_decref(root);
}

char *llm_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *llm_strfmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : p;
}
