/*
 * http_multipart — owns the parsing of multipart/form-data uploads. The
 * body is already bounded by max_body and complete in memory, so the
 * parser works on one buffer with memmem instead of MHD's incremental post
 * processor: the file part is returned as a slice of the body (no copy),
 * and the rules are easy to follow. It accepts what browsers, curl -F,
 * Python requests and the OpenAI SDKs send (CRLF line ends, quoted or
 * token parameters, backslash escapes, RFC 5987 filename*=) and refuses
 * anything ambiguous with a message, because a wrong guess would store a
 * different file than the one the client meant. That includes a NUL in a
 * parameter (raw or %00): as a C string the name would silently end there
 * ("a%00.txt" stored as "a"). Which other characters a filename may hold
 * is the host's rule (its document service), not this parser's.
 */
#define _GNU_SOURCE
#include "http_multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CRLF "\r\n"

static int fail(char *err, size_t cap, const char *msg)
{
    snprintf(err, cap, "Malformed multipart/form-data body: %s", msg);
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mp_pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0')
            return MP_NUL;
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* One parameter value at *p (a token or a quoted-string with backslash
 * escapes) into out; advances *p past it. -1 if it does not fit or a
 * quote is not closed; MP_NUL if it holds a NUL byte. */
static int param_value(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t o = 0;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (o + 1 >= cap)
                return -1;
            if (!*s)
                return MP_NUL;
            out[o++] = *s;
        }
        if (s >= end)
            return -1;
        s++; /* the closing quote */
    } else {
        for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++) {
            if (o + 1 >= cap)
                return -1;
            if (!*s)
                return MP_NUL;
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    *p = s;
    return 0;
}

int mp_form_boundary(const char *ct, char *boundary, size_t cap)
{
    static const char want[] = "multipart/form-data";
    boundary[0] = '\0';
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return 0;
    const char *end = ct + strlen(ct);
    for (const char *p = ct + sizeof want - 1; p < end; p++) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        if (end - p > 9 && strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            char b[MP_BOUNDARY_MAX + 2];
            if (param_value(&p, end, b, sizeof b) == 0 &&
                strlen(b) <= MP_BOUNDARY_MAX)
                snprintf(boundary, cap, "%s", b);
            return 1;
        }
        while (p < end && *p != ';')
            p++;
    }
    return 1;
}

/* filename*=charset'lang'pct-encoded (RFC 5987); UTF-8 and ASCII only. */
static int ext_filename(const char *v, char *out, size_t cap)
{
    const char *q1 = strchr(v, '\'');
    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (!q2)
        return -1;
    size_t cl = (size_t)(q1 - v);
    if (!(cl == 5 && strncasecmp(v, "utf-8", 5) == 0) &&
        !(cl == 8 && strncasecmp(v, "us-ascii", 8) == 0))
        return -1;
    return mp_pct_decode(q2 + 1, strlen(q2 + 1), out, cap);
}

typedef struct part_hdr {
    char name[MP_VALUE_MAX];
    int has_filename;
    char filename[MP_FILENAME_MAX];
    char content_type[MP_VALUE_MAX];
} part_hdr;

/* Content-Disposition: form-data; name="..."; filename="..." */
static int disposition(const char *p, const char *end, part_hdr *h)
{
    char ext[MP_FILENAME_MAX * 3] = "";
    int has_ext = 0;
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!eq || (semi && semi < eq)) { /* "form-data" or a bare word */
            p = semi ? semi : end;
            continue;
        }
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1;
        char val[MP_FILENAME_MAX * 3];
        int rc = param_value(&v, end, val, sizeof val);
        if (rc < 0)
            return rc;
        size_t vl = strlen(val);
        if (kl == 4 && strncasecmp(p, "name", 4) == 0) {
            if (vl >= sizeof h->name)
                return -1;
            memcpy(h->name, val, vl + 1);
        } else if (kl == 8 && strncasecmp(p, "filename", 8) == 0) {
            if (vl >= sizeof h->filename)
                return -1;
            memcpy(h->filename, val, vl + 1);
            h->has_filename = 1;
        } else if (kl == 9 && strncasecmp(p, "filename*", 9) == 0) {
            memcpy(ext, val, vl + 1);
            has_ext = 1;
        }
        p = v;
    }
    /* filename* carries the exact UTF-8 name: it wins when both are sent */
    if (has_ext) {
        int rc = ext_filename(ext, h->filename, sizeof h->filename);
        if (rc < 0)
            return rc;
        h->has_filename = 1;
    }
    return 0;
}

/* The header block [p, end) of one part: CRLF-separated lines. 0, -1
 * (unreadable) or MP_NUL. */
static int part_headers(const char *p, const char *end, part_hdr *h)
{
    memset(h, 0, sizeof *h);
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), CRLF, 2);
        if (!eol)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            size_t nl = (size_t)(colon - p);
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (nl == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
                int rc = disposition(v, eol, h);
                if (rc < 0)
                    return rc;
            } else if (nl == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
                size_t vl = (size_t)(eol - v);
                if (vl >= sizeof h->content_type)
                    return -1;
                memcpy(h->content_type, v, vl);
                h->content_type[vl] = '\0';
            }
        }
        p = eol + 2;
    }
    return 0;
}

static void trim_copy(char *out, size_t cap, const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                 s[n - 1] == '\n'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static int take_part(const part_hdr *h, const char *data, size_t len,
                     mp_form *out, char *err, size_t cap)
{
    if (strcmp(h->name, "file") == 0) {
        if (out->has_file)
            return fail(err, cap, "more than one 'file' part");
        out->has_file = 1;
        out->data = data;
        out->len = len;
        snprintf(out->filename, sizeof out->filename, "%s", h->filename);
        snprintf(out->content_type, sizeof out->content_type, "%s",
                 h->content_type);
    } else if (strcmp(h->name, "id") == 0) {
        if (len >= sizeof out->id)
            return fail(err, cap, "the 'id' field is too long");
        if (memchr(data, '\0', len))
            return fail(err, cap, "the 'id' field contains a NUL byte");
        out->has_id = 1;
        trim_copy(out->id, sizeof out->id, data, len);
    }
    return 0; /* other fields (purpose, ...) are ignored */
}

int mp_parse(const char *body, size_t len, const char *boundary,
             mp_form *out, char *err, size_t errcap)
{
    char delim[MP_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
    memset(out, 0, sizeof *out);
    if (!boundary[0])
        return fail(err, errcap, "no boundary in the Content-Type");
    int dl = snprintf(delim, sizeof delim, CRLF "--%s", boundary);
    const char *end = body + len;
    /* the first delimiter may open the body (no CRLF before it) */
    const char *p;
    if (len >= (size_t)dl - 2 && memcmp(body, delim + 2, (size_t)dl - 2) == 0)
        p = body + dl - 2;
    else if ((p = memmem(body, len, delim, (size_t)dl)) != NULL)
        p += dl;
    else
        return fail(err, errcap, "the boundary never occurs");
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the close delimiter */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || memcmp(p, CRLF, 2) != 0)
            return fail(err, errcap, "a delimiter line is not followed by CRLF");
        const char *hdr_end = memmem(p, (size_t)(end - p), CRLF CRLF, 4);
        if (!hdr_end)
            return fail(err, errcap, "a part's headers do not end");
        part_hdr h;
        int rc = part_headers(p + 2, hdr_end, &h);
        if (rc == MP_NUL)
            return fail(err, errcap, "a part's name or filename contains a "
                                     "NUL byte (%00)");
        if (rc < 0)
            return fail(err, errcap, "unreadable part headers");
        const char *data = hdr_end + 4;
        const char *next = memmem(data, (size_t)(end - data), delim, (size_t)dl);
        if (!next)
            return fail(err, errcap, "the closing boundary is missing");
        if (take_part(&h, data, (size_t)(next - data), out, err, errcap) < 0)
            return -1;
        p = next + dl;
    }
}
