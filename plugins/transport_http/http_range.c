/*
 * http_range — owns the download headers' grammar. Parsing is strict where
 * a mistake would send the wrong bytes (numbers must be plain digits and
 * fit in 64 bits, last >= first) and lenient where RFC 9110 allows (an
 * unusable Range is ignored rather than refused). Multi-range requests
 * are ignored on purpose: multipart/byteranges answers are rarely wanted
 * and a whole document is always a correct answer. Dates are formatted
 * by hand because strftime follows the process locale, and HTTP dates are
 * always English. range_decide puts the conditionals together into the
 * status of a download, so that order (If-Range, then If-None-Match, then
 * the range) is stated once, next to the grammar it depends on.
 */
#include "http_range.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Plain digits at *p into *v; advances *p. -1 on none or overflow. */
static int digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *p = s;
    *v = n;
    return 0;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

void range_parse(const char *h, byte_range *out)
{
    memset(out, 0, sizeof *out);
    if (!h)
        return;
    const char *p = skip_ws(h);
    if (strncasecmp(p, "bytes", 5) != 0)
        return;
    p = skip_ws(p + 5);
    if (*p != '=')
        return;
    p = skip_ws(p + 1);
    byte_range br = {RANGE_FROM, 0, UINT64_MAX};
    if (*p == '-') {
        p++;
        br.kind = RANGE_SUFFIX;
        if (digits(&p, &br.last) < 0)
            return;
    } else {
        if (digits(&p, &br.first) < 0 || *p++ != '-')
            return;
        if (*p >= '0' && *p <= '9' &&
            (digits(&p, &br.last) < 0 || br.last < br.first))
            return;
    }
    if (*skip_ws(p) != '\0')
        return; /* a second range, or trailing garbage */
    *out = br;
}

int range_resolve(const byte_range *br, uint64_t size, uint64_t *off,
                  uint64_t *len)
{
    if (br->kind == RANGE_NONE) {
        *off = 0;
        *len = size;
        return 0;
    }
    if (size == 0)
        return -1;
    if (br->kind == RANGE_SUFFIX) {
        if (br->last == 0)
            return -1;
        *off = br->last >= size ? 0 : size - br->last;
        *len = size - *off;
        return 0;
    }
    if (br->first >= size)
        return -1;
    uint64_t last = br->last < size ? br->last : size - 1;
    *off = br->first;
    *len = last - br->first + 1;
    return 0;
}

int etag_listed(const char *list, const char *sha)
{
    size_t sl = strlen(sha);
    const char *p = list;
    while (p && *p) {
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"') {
            p = strchr(p, ','); /* not an entity tag: skip it */
            continue;
        }
        const char *q = strchr(p + 1, '"');
        if (!q)
            return 0;
        if ((size_t)(q - p - 1) == sl && strncmp(p + 1, sha, sl) == 0)
            return 1;
        p = q + 1;
    }
    return 0;
}

int if_range_matches(const char *value, const char *etag,
                     const char *last_modified)
{
    const char *v = skip_ws(value);
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return (n == strlen(etag) && strncmp(v, etag, n) == 0) ||
           (n == strlen(last_modified) && strncmp(v, last_modified, n) == 0);
}

void http_date(int64_t unix_ms, char out[HTTP_DATE_LEN])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    snprintf(out, HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 5987 attr-char: everything else is percent-encoded. */
static int attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$&+-.^_`|~", c));
}

void content_disposition(const char *filename, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char head[] = "attachment; filename*=UTF-8''";
    size_t o = (size_t)snprintf(out, cap, "%s", head);
    if (o >= cap)
        return;
    for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
        int enc = !attr_char(*p);
        size_t need = enc ? 3 : 1;
        /* do not cut a UTF-8 sequence: stop before any lead byte whose
         * whole character will not fit (4 bytes, 12 encoded, is enough) */
        if (o + need + (*p >= 0xC0 ? 9 : 0) >= cap)
            break;
        if (enc) {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

int range_decide(const byte_range *range, const char *if_none_match,
                 const char *if_range, const char *sha256, int64_t created_ms,
                 uint64_t size, uint64_t *off, uint64_t *len)
{
    char etag[68], lm[HTTP_DATE_LEN];
    snprintf(etag, sizeof etag, "\"%s\"", sha256);
    http_date(created_ms, lm);
    byte_range br = *range;
    if (if_range && !if_range_matches(if_range, etag, lm))
        br.kind = RANGE_NONE;
    int status;
    if (if_none_match && etag_listed(if_none_match, sha256))
        status = 304;
    else if (range_resolve(&br, size, off, len) < 0)
        status = 416;
    else
        status = br.kind == RANGE_NONE ? 200 : 206;
    if (status == 304 || status == 416)
        *len = 0;
    return status;
}
