/*
 * http_frame — owns the request-smuggling defence. libmicrohttpd 0.9.75
 * frames a body from the first Content-Length it finds, keeps a header
 * name with a space before its colon as a different header ("Transfer-
 * Encoding " is not Transfer-Encoding to it, but is to some proxies),
 * prefers Transfer-Encoding over Content-Length silently, and reads a
 * Transfer-Encoding it does not know ("xchunked") as "until the client
 * closes". A proxy in front that frames the same bytes differently would
 * let a client hide a second request inside the first. So on the first
 * access-handler call, when MHD has parsed the headers but read nothing
 * of the body, every header is walked once (no allocation: a handful of
 * compares per request) and anything that two parsers could read two
 * ways is refused. What MHD refuses itself before calling us (a
 * Content-Length that is not a number) never reaches this module. The
 * query string gets the same treatment for one thing: MHD decodes "%00"
 * into a NUL inside a C string, so "?filename=a%00.txt" would be read as
 * "a" by everything after it.
 */
#include "http_frame.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct frame_walk {
    frame_info *out;
    int n_length, n_te;
    char *msg;
    size_t cap;
    int bad;
} frame_walk;

/* RFC 9110 tchar, what a header name is made of, as a bitmap of the 128
 * ASCII codes (a table: this runs for every byte of every header name). */
static const uint32_t tchar_bits[4] = {
    0x00000000u,                 /* 0x00-0x1f: controls */
    0x03ff6cfau,                 /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
    0xc7fffffeu,                 /* 0x40-0x5f: A-Z ^ _ */
    0x57ffffffu,                 /* 0x60-0x7f: ` a-z | ~ */
};

static int is_tchar(unsigned char c)
{
    return c < 128 && (tchar_bits[c >> 5] >> (c & 31) & 1u);
}

/* s for a message: at most 40 bytes, anything unprintable as '?'. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap && n < 40; n++) {
        unsigned char c = (unsigned char)s[n];
        buf[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[n] = '\0';
    return buf;
}

/* fmt has one %s, for a (shown safely). */
static enum MHD_Result refuse(frame_walk *w, const char *fmt, const char *a)
{
    char tmp[48];
    snprintf(w->msg, w->cap, fmt, shown(a, tmp, sizeof tmp));
    w->bad = 1;
    return MHD_NO; /* stops the walk */
}

/* Plain digits that fit uint64_t: 0 and *out; else -1. */
static int parse_length(const char *v, uint64_t *out)
{
    uint64_t n = 0;
    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*v - '0');
    }
    *out = n;
    return 0;
}

/* A query argument: its name and value must not hold a NUL (%00). */
static enum MHD_Result one_arg(frame_walk *w, const char *key, size_t key_size,
                               const char *value, size_t value_size)
{
    if (strlen(key) == key_size && (!value || strlen(value) == value_size))
        return MHD_YES;
    return refuse(w, "Query parameter '%s' contains a NUL byte (%%00)", key);
}

static enum MHD_Result one_value(void *cls, enum MHD_ValueKind kind,
                                 const char *key, size_t key_size,
                                 const char *value, size_t value_size)
{
    frame_walk *w = cls;
    if (kind == MHD_GET_ARGUMENT_KIND)
        return one_arg(w, key ? key : "", key_size, value, value_size);
    if (!key || !*key)
        return refuse(w, "Malformed request: a header has no name%s", "");
    size_t n = 0;
    (void)key_size; /* a header name is a C string: MHD cut it at a NUL */
    for (; key[n]; n++)
        if (!is_tchar((unsigned char)key[n]))
            return refuse(w, "Malformed request: the header name '%s' is "
                             "not a token (no spaces before the colon)",
                          key);
    if (n == sizeof MHD_HTTP_HEADER_CONTENT_LENGTH - 1 &&
        strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (++w->n_length > 1)
            return refuse(w, "Ambiguous request framing: more than one "
                             "%s header", key);
        if (parse_length(value ? value : "", &w->out->length) < 0)
            return refuse(w, "Malformed request: Content-Length '%s' is not "
                             "a number of bytes",
                          value ? value : "");
    } else if (n == sizeof MHD_HTTP_HEADER_TRANSFER_ENCODING - 1 &&
               strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        if (++w->n_te > 1)
            return refuse(w, "Ambiguous request framing: more than one "
                             "%s header", key);
        if (!value || strcasecmp(value, "chunked") != 0)
            return refuse(w, "Unsupported Transfer-Encoding '%s': send "
                             "'chunked' or a Content-Length",
                          value ? value : "");
        w->out->chunked = 1;
    }
    return MHD_YES;
}

int frame_check(struct MHD_Connection *c, frame_info *out, char *msg,
                size_t cap)
{
    frame_walk w = {.out = out, .msg = msg, .cap = cap};
    *out = (frame_info){0};
    /* one walk: MHD keeps headers and arguments on one list */
    MHD_get_connection_values_n(c, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND,
                                one_value, &w);
    if (w.bad)
        return -1;
    if (w.n_length && w.n_te) {
        snprintf(msg, cap, "Ambiguous request framing: both Content-Length "
                           "and Transfer-Encoding");
        return -1;
    }
    return 0;
}

