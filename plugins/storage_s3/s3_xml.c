/*
 * s3_xml — element lookup and text decoding for the handful of S3 XML
 * documents the plugin reads. S3 documents are machine-written and flat
 * where it matters (a <Key> never contains a <Key>), so a scanner that
 * finds an element by name and decodes its text is enough, and keeps an
 * XML library out of the plugin. Object keys may contain any character,
 * so decoding handles every entity form XML allows for them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen)
        return NULL;
    return memmem(hay, hlen, needle, nlen);
}

int s3_xml_element(const char *xml, size_t len, const char *tag, size_t *pos,
                   size_t *start, size_t *end)
{
    size_t tl = strlen(tag), at = *pos;
    char open[80], close[80];
    if (!xml || tl + 4 > sizeof open || at > len)
        return 0;
    open[0] = '<';
    memcpy(open + 1, tag, tl);
    close[0] = '<', close[1] = '/';
    memcpy(close + 2, tag, tl);
    close[tl + 2] = '>';
    for (;;) {
        const char *o = find(xml + at, len - at, open, tl + 1);
        if (!o)
            return 0;
        size_t after = (size_t)(o - xml) + tl + 1;
        char c = after < len ? xml[after] : '\0';
        if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            at = after; /* <KeyCount> when looking for <Key> */
            continue;
        }
        const char *gt = memchr(xml + after, '>', len - after);
        if (!gt)
            return 0;
        size_t cs = (size_t)(gt - xml) + 1;
        if (gt[-1] == '/') { /* <tag/> */
            *start = *end = cs;
            *pos = cs;
            return 1;
        }
        const char *cl = find(xml + cs, len - cs, close, tl + 3);
        if (!cl)
            return 0;
        *start = cs;
        *end = (size_t)(cl - xml);
        *pos = *end + tl + 3;
        return 1;
    }
}

static void put_utf8(s3_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    s3_buf_add(b, u, n);
}

/* "#123" or "#x1F": the code point, or -1 if not a valid one. */
static long char_ref(const char *s, size_t n)
{
    int hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
    size_t i = hex ? 2 : 1;
    long v = 0;
    if (i >= n || n - i > 8)
        return -1;
    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0)
            return -1;
        v = v * (hex ? 16 : 10) + d;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    return v;
}

/* Decodes the reference at s (s[0] == '&'); returns the bytes consumed,
 * or 0 if it is not a reference (then '&' is copied as is). */
static size_t reference(s3_buf *b, const char *s, size_t n)
{
    static const struct { const char *name; char c; } named[] = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    const char *semi = memchr(s, ';', n < 12 ? n : 12);
    if (!semi)
        return 0;
    size_t nl = (size_t)(semi - s) - 1;
    if (nl > 0 && s[1] == '#') {
        long cp = char_ref(s + 1, nl);
        if (cp < 0)
            return 0;
        put_utf8(b, (uint32_t)cp);
        return nl + 2;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strlen(named[i].name) == nl && memcmp(s + 1, named[i].name, nl) == 0) {
            s3_buf_add(b, &named[i].c, 1);
            return nl + 2;
        }
    return 0;
}

char *s3_xml_decode(const char *s, size_t n)
{
    static const char cdata[] = "<![CDATA[";
    s3_buf b = {0};
    size_t i = 0;
    while (i < n) {
        if (s[i] == '&') {
            size_t used = reference(&b, s + i, n - i);
            if (used) {
                i += used;
                continue;
            }
        } else if (s[i] == '<' && n - i >= sizeof cdata - 1 &&
                   memcmp(s + i, cdata, sizeof cdata - 1) == 0) {
            size_t cs = i + sizeof cdata - 1;
            const char *ce = find(s + cs, n - cs, "]]>", 3);
            size_t cl = ce ? (size_t)(ce - (s + cs)) : n - cs;
            s3_buf_add(&b, s + cs, cl);
            i = cs + cl + (ce ? 3 : 0);
            continue;
        }
        s3_buf_add(&b, s + i, 1);
        i++;
    }
    return s3_buf_take(&b);
}

int s3_xml_text(const char *xml, size_t len, const char *tag, size_t *pos, char **out)
{
    size_t start, end;
    *out = NULL;
    if (!s3_xml_element(xml, len, tag, pos, &start, &end))
        return 0;
    *out = s3_xml_decode(xml + start, end - start);
    return *out ? 1 : -1;
}

void s3_xml_escape(s3_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': s3_buf_str(b, "&amp;"); break;
        case '<': s3_buf_str(b, "&lt;"); break;
        case '>': s3_buf_str(b, "&gt;"); break;
        case '"': s3_buf_str(b, "&quot;"); break;
        case '\'': s3_buf_str(b, "&apos;"); break;
        default: s3_buf_add(b, s, 1);
        }
    }
}
