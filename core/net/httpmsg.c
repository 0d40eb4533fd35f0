/*
 * httpmsg — the text of HTTP/1.1 for httpc: which URLs it can take, the
 * bytes of a request, and the parts of a response that need parsing (the
 * header block, its framing fields, chunk-size lines). Pure functions on
 * buffers, so each rule can be read and tested apart from the sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpmsg.h"

static int parse_port(const char *p, size_t n, unsigned *port)
{
    unsigned v = 0;
    if (n == 0 || n > 5) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *port = v;
    return v > 0 && v < 65536;
}

static int parse_host(const char *h, size_t n, unsigned port, httpmsg_target *t)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, h, n);
    buf[n] = '\0';
    memset(&t->sa, 0, sizeof t->sa);
    if (buf[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->sa;
        if (buf[n - 1] != ']') return 0;
        buf[n - 1] = '\0';
        if (inet_pton(AF_INET6, buf + 1, &s6->sin6_addr) != 1) return 0;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        t->salen = sizeof *s6;
        return 1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&t->sa;
    if (strcasecmp(buf, "localhost") == 0) snprintf(buf, sizeof buf, "127.0.0.1");
    if (inet_pton(AF_INET, buf, &s4->sin_addr) != 1) return 0;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    t->salen = sizeof *s4;
    return 1;
}

int httpmsg_target_parse(const char *url, httpmsg_target *t)
{
    if (!url || strncasecmp(url, "http://", 7) != 0) return 0;
    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    if (alen == 0 || memchr(a, '@', alen)) return 0;
    const char *rest = a + alen;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) return 0;
    if (*rest == '?') return 0; /* needs a "/" inserted: leave it to libcurl */
    const char *close = a[0] == '[' ? memchr(a, ']', alen) : NULL;
    const char *colon = memchr(close ? close : a, ':', alen - (size_t)((close ? close : a) - a));
    size_t hlen = colon ? (size_t)(colon - a) : alen;
    unsigned port = 80;
    if (colon && !parse_port(colon + 1, alen - hlen - 1, &port)) return 0;
    if (!parse_host(a, hlen, port, t)) return 0;
    t->authority = a;
    t->authority_len = alen;
    t->path = *rest == '/' ? rest : "/";
    t->path_len = *rest == '/' ? strcspn(rest, "#") : 1;
    return 1;
}

/* ---- requests ----------------------------------------------------------- */

/* An RFC 9110 tchar: every request checks a few header names. */
static int tchar(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f) return 0;
    switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=': case '{':
    case '}': return 0;
    default: return 1;
    }
}

static int is_token(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!tchar((unsigned char)*s)) return 0;
    return 1;
}

/* Headers the client writes itself (framing), or that only meant
 * something to libcurl ("Expect:" with no value switched its 100-continue
 * off); an empty value means "do not send", as with libcurl. */
static int header_skipped(const rk_http_header *h)
{
    static const char *const own[] = {"content-length", "transfer-encoding", "connection",
                                      "expect", NULL};
    if (!h->value || !*h->value) return 1;
    for (const char *const *o = own; *o; o++)
        if (strcasecmp(h->name, *o) == 0) return 1;
    return 0;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_size(char *p, size_t v)
{
    char tmp[24], *t = tmp + sizeof tmp;
    do {
        *--t = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(p, t, (size_t)(tmp + sizeof tmp - t));
}

static size_t head_size(const httpmsg_target *t, const rk_http_request *req, const char *m,
                        int *has_host, rk_err *err)
{
    size_t n = strlen(m) + t->path_len + t->authority_len + 64;
    for (size_t i = 0; i < req->n_headers; i++) {
        const rk_http_header *h = &req->headers[i];
        const char *v = h->value ? h->value : "";
        /* a CR or LF would let a value smuggle in headers of its own */
        if (!is_token(h->name) || strpbrk(v, "\r\n")) {
            rk_fail(err, RK_ERR_INVALID, "bad header name or value");
            return 0;
        }
        if (strcasecmp(h->name, "host") == 0 && *v) *has_host = 1;
        n += strlen(h->name) + strlen(v) + 4;
    }
    return n;
}

char *httpmsg_request(const httpmsg_target *t, const rk_http_request *req, size_t *len,
                      rk_err *err)
{
    const char *m = req->method ? req->method : "GET";
    if (!is_token(m)) {
        rk_fail(err, RK_ERR_INVALID, "bad method");
        return NULL;
    }
    int has_host = 0;
    size_t n = head_size(t, req, m, &has_host, err);
    if (!n) return NULL;
    int with_len = req->body || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    char *out = malloc(n + req->body_len), *p = out;
    if (!out) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    p = put(p, m, strlen(m));
    p = put(p, " ", 1);
    p = put(p, t->path, t->path_len);
    p = put(p, " HTTP/1.1\r\n", 11);
    if (!has_host) {
        p = put(p, "Host: ", 6);
        p = put(p, t->authority, t->authority_len);
        p = put(p, "\r\n", 2);
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        const rk_http_header *h = &req->headers[i];
        if (header_skipped(h)) continue;
        p = put(p, h->name, strlen(h->name));
        p = put(p, ": ", 2);
        p = put(p, h->value, strlen(h->value));
        p = put(p, "\r\n", 2);
    }
    if (with_len) { /* fits in head_size's 64 spare bytes */
        p = put(p, "Content-Length: ", 16);
        p = put_size(p, req->body ? req->body_len : 0);
        p = put(p, "\r\n", 2);
    }
    p = put(p, "\r\n", 2);
    if (req->body && req->body_len) p = put(p, req->body, req->body_len);
    *len = (size_t)(p - out);
    return out;
}

/* ---- responses ---------------------------------------------------------- */

/* Length of the header block at p through its blank line; 0 while it is
 * incomplete. */
size_t httpmsg_head_end(const char *p, size_t n)
{
    const char *s = p, *end = p + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) return 0;
        if (s != p && (nl == s || (nl == s + 1 && *s == '\r'))) return (size_t)(nl + 1 - p);
        s = nl + 1;
    }
    return 0;
}

static int status_line(const char *s, size_t n, int *minor)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    if (n > 12 && s[12] != ' ') return -1;
    *minor = s[7] - '0';
    return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

/* tok is one of the comma-separated elements of v (case-insensitive). */
static int has_token(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        size_t n = strcspn(v, ","), m = n;
        while (m && (v[m - 1] == ' ' || v[m - 1] == '\t')) m--;
        if (m == tl && strncasecmp(v, tok, tl) == 0) return 1;
        v += n;
    }
    return 0;
}

static int frame_header(httpmsg_head *f, const char *name, const char *v)
{
    if (strcasecmp(name, "content-length") == 0) {
        char *end;
        errno = 0;
        if (*v < '0' || *v > '9') return -1;
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || errno || x > INT64_MAX / 2) return -1;
        if (f->clen >= 0 && f->clen != (int64_t)x) return -1; /* two lengths */
        f->clen = (int64_t)x;
    } else if (strcasecmp(name, "transfer-encoding") == 0) {
        f->te = 1;
        f->chunked = has_token(v, "chunked");
    } else if (strcasecmp(name, "connection") == 0) {
        f->close |= has_token(v, "close");
        f->keep |= has_token(v, "keep-alive");
    }
    return 0;
}

/* Split the header lines of [s, end) in place into f: 0, or an
 * HTTPMSG_* error. */
static int split_headers(httpmsg_fields *fl, char *s, char *end, httpmsg_head *f)
{
    size_t n = 0;
    for (char *nl; s < end && (nl = memchr(s, '\n', (size_t)(end - s))); s = nl + 1) {
        char *e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
        char *colon = memchr(s, ':', (size_t)(e - s));
        /* obsolete line folding and junk lines are dropped, not fatal */
        if (e == s || !colon || colon == s || *s == ' ' || *s == '\t') continue;
        char *v = colon + 1, *ve = e;
        while (v < e && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        *colon = '\0';
        *ve = '\0';
        if (n == fl->cap) {
            size_t cap = fl->cap ? fl->cap * 2 : 32;
            rk_http_header *hv = realloc(fl->v, cap * sizeof *hv);
            if (!hv) return HTTPMSG_NOMEM;
            fl->v = hv;
            fl->cap = cap;
        }
        fl->v[n++] = (rk_http_header){.name = s, .value = v};
        if (frame_header(f, s, v) < 0) return HTTPMSG_BAD_FRAMING;
    }
    f->nfields = n;
    return 0;
}


int httpmsg_head_parse(char *p, size_t len, httpmsg_head *h, httpmsg_fields *fl)
{
    char *nl = memchr(p, '\n', len);
    size_t sl = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
    *h = (httpmsg_head){.clen = -1};
    h->status = status_line(p, sl, &h->minor);
    if (h->status < 100) return HTTPMSG_BAD_STATUS;
    if (h->status < 200) return 0; /* an interim block: no fields wanted */
    return split_headers(fl, nl + 1, p + len, h);
}

int64_t httpmsg_chunk_size(const char *s, size_t n)
{
    int64_t v = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) break;
        if (v > (INT64_MAX >> 5)) return -1;
        v = v * 16 + d;
    }
    if (i == 0) return -1;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    return i == n || s[i] == ';' ? v : -1; /* chunk extensions are ignored */
}
