/*
 * extract_html — the visible text of an HTML page, for indexing. This is a
 * tolerant single-pass scanner, not a parser: real uploads are often
 * broken HTML and all we need is the words and where paragraphs end.
 * Comments, <script>, <style>, <noscript> and <template> contents are
 * dropped; <title> becomes the title; block elements and <br> become
 * paragraph and line breaks; whitespace elsewhere collapses as a browser
 * would (except inside <pre>); character references (named ones in common
 * use, and all numeric ones) are decoded. Input is assumed to be UTF-8,
 * which is what the HTML standard and nearly every page today use.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"

#define TAG_NAME_MAX 16
#define HTML_CHECK_STEPS 256 /* tags and texts between two looks at the clock */

typedef struct html_st {
    strbuf out;
    char *title;
    int pre; /* depth of <pre> */
} html_st;

typedef struct entity {
    const char *name;
    const char *utf8;
} entity;

/* nbsp and the thin spaces become plain spaces: tokenizers and sentence
 * splitters downstream only know ASCII whitespace. */
static const entity entities[] = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
    {"nbsp", " "}, {"ensp", " "}, {"emsp", " "}, {"thinsp", " "}, {"shy", ""},
    {"ndash", "\u2013"}, {"mdash", "\u2014"}, {"hellip", "\u2026"},
    {"laquo", "\u00ab"}, {"raquo", "\u00bb"}, {"lsquo", "\u2018"},
    {"rsquo", "\u2019"}, {"sbquo", "\u201a"}, {"ldquo", "\u201c"},
    {"rdquo", "\u201d"}, {"bdquo", "\u201e"}, {"copy", "\u00a9"},
    {"reg", "\u00ae"}, {"trade", "\u2122"}, {"deg", "\u00b0"},
    {"plusmn", "\u00b1"}, {"times", "\u00d7"}, {"divide", "\u00f7"},
    {"middot", "\u00b7"}, {"bull", "\u2022"}, {"euro", "\u20ac"},
    {"pound", "\u00a3"}, {"yen", "\u00a5"}, {"cent", "\u00a2"},
    {"sect", "\u00a7"}, {"para", "\u00b6"}, {"larr", "\u2190"},
    {"rarr", "\u2192"}, {"uarr", "\u2191"}, {"darr", "\u2193"},
    {"minus", "\u2212"}, {"le", "\u2264"}, {"ge", "\u2265"}, {"ne", "\u2260"},
    {"frac12", "\u00bd"}, {"numero", "\u2116"},
    {"aacute", "\u00e1"}, {"agrave", "\u00e0"}, {"acirc", "\u00e2"},
    {"auml", "\u00e4"}, {"aring", "\u00e5"}, {"ccedil", "\u00e7"},
    {"eacute", "\u00e9"}, {"egrave", "\u00e8"}, {"ecirc", "\u00ea"},
    {"euml", "\u00eb"}, {"iacute", "\u00ed"}, {"icirc", "\u00ee"},
    {"iuml", "\u00ef"}, {"ntilde", "\u00f1"}, {"oacute", "\u00f3"},
    {"ocirc", "\u00f4"}, {"ouml", "\u00f6"}, {"uacute", "\u00fa"},
    {"ugrave", "\u00f9"}, {"ucirc", "\u00fb"}, {"uuml", "\u00fc"},
    {"szlig", "\u00df"}, {"Auml", "\u00c4"}, {"Ouml", "\u00d6"},
    {"Uuml", "\u00dc"}, {"Eacute", "\u00c9"},
};

static const char *const block_tags[] = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd",
    "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hgroup", "hr", "html", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
};

/* Elements whose content is never shown as text. */
static const char *const hidden_tags[] = {"script", "style", "noscript", "template"};

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

/* Case-insensitive search for needle in s[0..n); offset or n if absent. */
static size_t find_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(s + i, needle, m) == 0) return i;
    return n;
}

/* Numeric reference after "&#": decimal or x-hex, ';' optional as in
 * browsers. Returns bytes used (from '&'), 0 if not a reference. */
static size_t entity_numeric(strbuf *o, const char *s, size_t n)
{
    int hex = n > 2 && (s[2] == 'x' || s[2] == 'X');
    size_t i = hex ? 3 : 2, digits = 0;
    unsigned long cp = 0;
    while (i < n && (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))) {
        int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
        if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + (unsigned long)d;
        i++, digits++;
    }
    if (digits == 0) return 0;
    if (i < n && s[i] == ';') i++;
    if (cp == '\t' || cp == '\n') {
        sb_append(o, " ", 1);
    } else if (cp >= 0x20 && !(cp >= 0x7F && cp <= 0x9F)) {
        tn_put_cp(o, cp);
    } else {
        tn_put_cp(o, 0xFFFD);
    }
    return i;
}

/* A character reference at s[0] == '&' -> its text; literal '&' if none. */
static size_t html_entity(strbuf *o, const char *s, size_t n)
{
    if (n > 2 && s[1] == '#') {
        size_t used = entity_numeric(o, s, n);
        if (used) return used;
    }
    size_t i = 1;
    while (i < n && i <= 10 && isalnum((unsigned char)s[i])) i++;
    if (i > 1 && i < n && s[i] == ';') {
        for (size_t k = 0; k < sizeof entities / sizeof *entities; k++) {
            if (strlen(entities[k].name) == i - 1 && strncmp(entities[k].name, s + 1, i - 1) == 0) {
                sb_puts(o, entities[k].utf8);
                return i + 1;
            }
        }
    }
    sb_append(o, "&", 1);
    return 1;
}

/* Text between tags: references decoded, whitespace as spaces (kept as it
 * is inside <pre>; normalisation collapses the rest). */
static void html_text(html_st *st, strbuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (s[i] == '&') {
            i += html_entity(o, s + i, n - i);
        } else if (st && st->pre && s[i] == '\n') {
            sb_append(o, "\n", 1);
            i++;
        } else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\f') {
            sb_append(o, " ", 1);
            i++;
        } else {
            sb_append(o, s + i, 1);
            i++;
        }
    }
}

/* End of the tag that starts at s[0] ('>' outside quotes), or n. A quote
 * only opens an attribute value right after '=', as in browsers, so a
 * stray apostrophe (<img alt=Don't>) cannot swallow the rest of the page. */
static size_t tag_end(const char *s, size_t n)
{
    char q = 0, last = 0;
    for (size_t i = 1; i < n; i++) {
        if (q) {
            if (s[i] == q) q = 0;
        } else if ((s[i] == '"' || s[i] == '\'') && last == '=') {
            q = s[i];
        } else if (s[i] == '>') {
            return i;
        }
        if (!q && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') last = s[i];
    }
    return n;
}

/* <title>, or an element whose content is skipped, starting at body
 * (just after the start tag). Returns bytes used from body. */
static size_t html_raw_element(html_st *st, const char *name, const char *body, size_t n)
{
    char close[TAG_NAME_MAX + 3];
    snprintf(close, sizeof close, "</%s", name);
    size_t end = find_ci(body, n, close);
    if (strcmp(name, "title") == 0 && !st->title) {
        strbuf t = {0};
        html_text(NULL, &t, body, end);
        st->title = t.oom ? NULL : tn_title_dup(sb_str(&t), t.len);
        sb_free(&t);
    }
    if (end == n) return n;
    size_t e = tag_end(body + end, n - end);
    return end + e == n ? n : end + e + 1; /* "</title" cut off: all of it */
}

static void html_tag_effect(html_st *st, const char *name, int closing)
{
    if (strcmp(name, "pre") == 0) {
        if (closing && st->pre > 0) st->pre--;
        else if (!closing) st->pre++;
    }
    if (strcmp(name, "br") == 0)
        sb_append(&st->out, "\n", 1);
    else if (in_list(name, block_tags, sizeof block_tags / sizeof *block_tags))
        sb_append(&st->out, "\n\n", 2);
    else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
        sb_append(&st->out, " ", 1);
}

/* Markup at s[0] == '<'. Returns bytes used. */
static size_t html_markup(html_st *st, const char *s, size_t n)
{
    if (n >= 4 && strncmp(s, "<!--", 4) == 0) {
        size_t e = find_ci(s + 4, n - 4, "-->");
        return e == n - 4 ? n : 4 + e + 3;
    }
    if (n >= 9 && strncmp(s, "<![CDATA[", 9) == 0) {
        size_t e = find_ci(s + 9, n - 9, "]]>");
        sb_append(&st->out, s + 9, e);
        return e == n - 9 ? n : 9 + e + 3;
    }
    int closing = n > 1 && s[1] == '/';
    size_t p = 1 + (size_t)closing;
    if (n > 1 && (s[1] == '!' || s[1] == '?')) {
        size_t e = tag_end(s, n);
        return e == n ? n : e + 1;
    }
    if (p >= n || !isalpha((unsigned char)s[p])) {
        sb_append(&st->out, "<", 1);
        return 1;
    }
    char name[TAG_NAME_MAX + 1];
    size_t k = 0;
    while (p < n && (isalnum((unsigned char)s[p]) || s[p] == '-')) {
        if (k < TAG_NAME_MAX) name[k++] = (char)tolower((unsigned char)s[p]);
        p++;
    }
    name[k] = '\0';
    size_t e = tag_end(s, n);
    if (e == n) return n; /* a tag cut off by the end of the file */
    int self_closing = e > 0 && s[e - 1] == '/';
    if (!closing && !self_closing &&
        (strcmp(name, "title") == 0 ||
         in_list(name, hidden_tags, sizeof hidden_tags / sizeof *hidden_tags)))
        return e + 1 + html_raw_element(st, name, s + e + 1, n - e - 1);
    html_tag_effect(st, name, closing);
    return e + 1;
}

int extract_html_until(const char *data, size_t len, int64_t deadline_ms, extract_out *out,
                       rk_err *err)
{
    strbuf clean = {0};
    html_st st = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &clean, err);
    if (rc != RK_OK) goto done;
    const char *s = sb_str(&clean);
    size_t i = 0;
    for (unsigned step = 0; i < clean.len && !st.out.oom; step++) {
        if (step % HTML_CHECK_STEPS == 0 && (rc = extract_in_time(deadline_ms, err)) != RK_OK)
            goto done;
        if (s[i] == '<') {
            i += html_markup(&st, s + i, clean.len - i);
            continue;
        }
        const char *lt = memchr(s + i, '<', clean.len - i);
        size_t n = lt ? (size_t)(lt - (s + i)) : clean.len - i;
        html_text(&st, &st.out, s + i, n);
        i += n;
    }
    out->title = st.title;
    st.title = NULL;
    rc = extract_finish(&st.out, 1, out, err);
done:
    free(st.title);
    sb_free(&st.out);
    sb_free(&clean);
    return rc;
}

int extract_html(const char *data, size_t len, extract_out *out, rk_err *err)
{
    return extract_html_until(data, len, 0, out, err);
}
