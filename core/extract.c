/*
 * extract — turns uploaded text formats into the plain UTF-8 text that is
 * chunked and indexed. Retrieval only needs the words a reader would see,
 * so markup is removed rather than rendered: Markdown loses its heading
 * hashes, emphasis markers, link URLs and fences (but keeps link text and
 * code), HTML loses tags, scripts, styles and comments (and gains paragraph
 * breaks at block elements). Bytes that are not UTF-8 are replaced with
 * U+FFFD instead of failing the upload, because one stray Latin-1 byte in a
 * long document should not cost the whole document; only input that is
 * mostly invalid (more than 1 byte in EXTRACT_BAD_RATIO) is refused as "not
 * UTF-8 text". All scanners are linear and bounded, since the input comes
 * straight from clients. HTML has its own file (extract_html.c) on top of
 * the UTF-8 and normalisation helpers here.
 */
#include "extract.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MD_MAX_DEPTH 8 /* nested link labels processed recursively */

void extract_out_free(extract_out *o)
{
    if (!o) return;
    free(o->text);
    free(o->title);
    o->text = o->title = NULL;
}

/* ---- UTF-8 ---------------------------------------------------------- */

/* Length of the valid sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) k = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

static size_t utf8_put(char out[4], uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void extract_put_cp(strbuf *b, unsigned long cp)
{
    char u[4];
    sb_append(b, u, utf8_put(u, cp > 0x10FFFF ? 0xFFFD : (uint32_t)cp));
}

void extract_utf8_clean(const char *in, size_t len, strbuf *out, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, nbad = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x7F) run++;
        if (run > i) {
            sb_append(out, in + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        size_t k;
        if (c == '\r') {
            sb_append(out, "\n", 1);
            i += (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
        } else if (c == '\n' || c == '\t' || c == '\f') {
            sb_append(out, in + i++, 1);
        } else if (c < 0x20 || c == 0x7F) {
            i++; /* control bytes carry no text */
        } else if ((k = utf8_seq(s + i, len - i)) == 0) {
            sb_append(out, "\xEF\xBF\xBD", 3);
            nbad++;
            i++;
        } else {
            sb_append(out, in + i, k);
            i += k;
        }
    }
    if (bad) *bad = nbad;
}

int extract_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = u[i] ? utf8_seq(u + i, len - i) : 0;
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

size_t extract_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t p = max;
    while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
    return p;
}

/* ---- normalisation and titles ---------------------------------------- */

static int is_hspace(char c) { return c == ' ' || c == '\t'; }
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* One line into b; a blank line turns the next separator into "\n\n". */
static void norm_line(strbuf *b, const char *s, size_t n, int collapse, int *pending)
{
    while (n > 0 && is_hspace(s[n - 1])) n--;
    if (collapse)
        while (n > 0 && is_hspace(*s)) s++, n--;
    if (n == 0) {
        if (*pending) *pending = 2;
        return;
    }
    if (*pending) sb_append(b, *pending == 2 ? "\n\n" : "\n", (size_t)*pending);
    *pending = 1;
    if (!collapse) {
        sb_append(b, s, n);
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !is_hspace(s[j])) j++;
        sb_append(b, s + i, j - i);
        if (j == n) break;
        sb_append(b, " ", 1);
        while (j < n && is_hspace(s[j])) j++;
        i = j;
    }
}

char *extract_normalize(const char *s, size_t len, int collapse)
{
    strbuf b = {0};
    int pending = 0; /* 0 nothing emitted yet, 1 line break, 2 paragraph break */
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && s[e] != '\n' && s[e] != '\f') e++;
        norm_line(&b, s + i, e - i, collapse, &pending);
        if (e < len && s[e] == '\f' && pending) pending = 2;
        i = e + 1;
    }
    return sb_take(&b);
}

char *extract_title_dup(const char *s, size_t len)
{
    while (len > 0 && is_ws(*s)) s++, len--;
    while (len > 0 && is_ws(s[len - 1])) len--;
    len = extract_utf8_cut(s, len, EXTRACT_TITLE_MAX);
    if (len == 0) return NULL;
    char *t = strndup(s, len);
    if (!t) return NULL;
    for (char *p = t; *p; p++)
        if (is_ws(*p)) *p = ' ';
    return t;
}

char *extract_first_line(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *t = extract_title_dup(p, n);
        if (t || !e) return t;
        p = e + 1;
    }
    return NULL;
}

int extract_clean_checked(const char *data, size_t len, strbuf *b, rk_err *err)
{
    size_t bad = 0;
    extract_utf8_clean(data, len, b, &bad);
    if (b->oom) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (bad > 0 && bad * EXTRACT_BAD_RATIO > len)
        return rk_fail(err, RK_ERR_INVALID, "not UTF-8 text (%zu of %zu bytes invalid)",
                       bad, len);
    return RK_OK;
}

int extract_finish(const strbuf *raw, int collapse, extract_out *out, rk_err *err)
{
    if (raw->oom || !(out->text = extract_normalize(sb_str(raw), raw->len, collapse))) {
        extract_out_free(out);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    return RK_OK;
}

int extract_plain(const char *data, size_t len, extract_out *out, rk_err *err)
{
    strbuf b = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &b, err);
    if (rc == RK_OK) rc = extract_finish(&b, 0, out, err);
    sb_free(&b);
    return rc;
}

/* ---- Markdown -------------------------------------------------------- */

typedef struct md_state {
    strbuf out;
    char *title;
    int in_fence;
    char fence_ch;
    size_t fence_len;
    size_t prev_off, prev_len; /* last paragraph line in out (setext title) */
    int prev_text;
} md_state;

static void md_inline(strbuf *o, const char *s, size_t n, int depth);

/* `code` -> code; an unmatched run of backticks stays as it is. */
static size_t md_code_span(strbuf *o, const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && s[k] == '`') k++;
    for (size_t q = k; q < n;) {
        if (s[q] != '`') {
            q++;
            continue;
        }
        size_t r = q;
        while (r < n && s[r] == '`') r++;
        if (r - q == k) {
            const char *in = s + k;
            size_t len = q - k;
            if (len >= 2 && in[0] == ' ' && in[len - 1] == ' ') in++, len -= 2;
            sb_append(o, in, len);
            return r;
        }
        q = r;
    }
    sb_append(o, s, k);
    return k;
}

/* Index of the bracket closing s[open] (open char o, close char c), or 0. */
static size_t md_match(const char *s, size_t n, size_t open, char oc, char cc)
{
    int depth = 0;
    for (size_t i = open; i < n; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == oc) {
            depth++;
        } else if (s[i] == cc && --depth == 0) {
            return i;
        }
    }
    return 0;
}

/* [text](url), ![alt](url), [text][ref] -> text; 0 when not a link. */
static size_t md_link(strbuf *o, const char *s, size_t n, int depth)
{
    size_t open = s[0] == '!' ? 1 : 0;
    size_t close = md_match(s, n, open, '[', ']');
    if (close == 0 || close + 1 >= n) return 0;
    size_t end;
    if (s[close + 1] == '(')
        end = md_match(s, n, close + 1, '(', ')');
    else if (s[close + 1] == '[')
        end = md_match(s, n, close + 1, '[', ']');
    else
        return 0;
    if (end == 0) return 0;
    md_inline(o, s + open + 1, close - open - 1, depth + 1);
    return end + 1;
}

/* <https://...> -> the address, which is the visible text. */
static size_t md_autolink(strbuf *o, const char *s, size_t n)
{
    static const char *const schemes[] = {"http://", "https://", "mailto:", "ftp://"};
    int ok = 0;
    for (size_t k = 0; k < sizeof schemes / sizeof *schemes; k++) {
        size_t l = strlen(schemes[k]);
        if (n > l + 1 && strncasecmp(s + 1, schemes[k], l) == 0) ok = 1;
    }
    if (!ok) return 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '>') {
            sb_append(o, s + 1, i - 1);
            return i + 1;
        }
        if (s[i] == ' ' || s[i] == '<') return 0;
    }
    return 0;
}

static int word_byte(char c) { return isalnum((unsigned char)c) || (unsigned char)c >= 0x80; }

/* Emphasis markers (*, _, ~~) touching text on one side are dropped
 * without pairing: cheap, linear, and right for prose. A marker with
 * spaces on both sides ("2 * 3") is kept, and so is an underscore inside
 * a word (snake_case). */
static size_t md_emphasis(strbuf *o, const char *s, size_t n, size_t i)
{
    char c = s[i];
    size_t j = i;
    while (j < n && s[j] == c) j++;
    char prev = i > 0 ? s[i - 1] : ' ', next = j < n ? s[j] : ' ';
    int flanking = !(is_ws(prev) && is_ws(next));
    int drop = flanking;
    if (c == '~') drop = flanking && j - i >= 2;
    if (c == '_') drop = flanking && !(word_byte(prev) && word_byte(next));
    if (!drop) sb_append(o, s + i, j - i);
    return j - i;
}

static void md_inline(strbuf *o, const char *s, size_t n, int depth)
{
    for (size_t i = 0; i < n;) {
        char c = s[i];
        size_t used = 0;
        if (c == '\\' && i + 1 < n && ispunct((unsigned char)s[i + 1])) {
            sb_append(o, s + i + 1, 1);
            used = 2;
        } else if (c == '`') {
            used = md_code_span(o, s + i, n - i);
        } else if ((c == '[' || (c == '!' && i + 1 < n && s[i + 1] == '[')) &&
                   depth < MD_MAX_DEPTH) {
            used = md_link(o, s + i, n - i, depth);
        } else if (c == '<') {
            used = md_autolink(o, s + i, n - i);
        } else if (c == '*' || c == '_' || c == '~') {
            used = md_emphasis(o, s, n, i);
        }
        if (used == 0) {
            sb_append(o, s + i, 1);
            used = 1;
        }
        i += used;
    }
}

/* A line made of one of - = * _ (spaces allowed): a rule or a setext
 * underline. Returns that char, or 0. */
static char md_rule(const char *l, size_t n)
{
    char c = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_hspace(l[i])) continue;
        if (!strchr("-=*_", l[i]) || (c && l[i] != c)) return 0;
        c = l[i];
        count++;
    }
    if (c == '=' ? count >= 1 : count >= 3) return c;
    if (c == '-' && count >= 1) return c; /* setext "--" under a paragraph */
    return 0;
}

/* "[ref]: url" definitions and table separators "|---|:--|" carry no text. */
static int md_noise(const char *l, size_t n)
{
    if (n > 0 && l[0] == '[') {
        const char *e = memchr(l, ']', n);
        if (e && (size_t)(e - l) + 1 < n && e[1] == ':') return 1;
    }
    int pipe = 0, dash = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] == '|') pipe = 1;
        else if (l[i] == '-') dash = 1;
        else if (l[i] != ':' && !is_hspace(l[i])) return 0;
    }
    return pipe && dash;
}

static int md_fence(const char *l, size_t n, char *ch, size_t *len)
{
    if (n < 3 || (l[0] != '`' && l[0] != '~')) return 0;
    size_t k = 0;
    while (k < n && l[k] == l[0]) k++;
    if (k < 3) return 0;
    if (ch) *ch = l[0];
    if (len) *len = k;
    return 1;
}

static void md_heading(md_state *st, const char *l, size_t n)
{
    size_t h = 0;
    while (h < n && l[h] == '#') h++;
    while (n > h && (is_hspace(l[n - 1]) || l[n - 1] == '#')) n--;
    while (h < n && is_hspace(l[h])) h++;
    size_t start = st->out.len;
    sb_append(&st->out, "\n\n", 2);
    md_inline(&st->out, l + h, n - h, 0);
    if (!st->title && !st->out.oom)
        st->title = extract_title_dup(st->out.s + start, st->out.len - start);
    sb_append(&st->out, "\n\n", 2);
    st->prev_text = 0;
}

/* Handles fences, rules, setext underlines and blank lines; 1 if done. */
static int md_block(md_state *st, const char *l, size_t n)
{
    char ch;
    size_t flen;
    if (st->in_fence) {
        if (md_fence(l, n, &ch, &flen) && ch == st->fence_ch && flen >= st->fence_len) {
            st->in_fence = 0;
            sb_append(&st->out, "\n\n", 2);
        }
        return 0;
    }
    if (n == 0) {
        sb_append(&st->out, "\n", 1);
        st->prev_text = 0;
        return 1;
    }
    if (md_fence(l, n, &st->fence_ch, &st->fence_len)) {
        st->in_fence = 1;
        sb_append(&st->out, "\n\n", 2);
        st->prev_text = 0;
        return 1;
    }
    if ((ch = md_rule(l, n)) != 0) {
        if (st->prev_text && (ch == '=' || ch == '-') && !st->title && !st->out.oom)
            st->title = extract_title_dup(st->out.s + st->prev_off, st->prev_len);
        if (st->prev_text || ch != '=') {
            sb_append(&st->out, "\n\n", 2);
            st->prev_text = 0;
            return 1;
        }
    }
    return md_noise(l, n);
}

static void md_line(md_state *st, const char *l, size_t n)
{
    if (st->in_fence) {
        const char *t = l;
        size_t tn = n;
        while (tn > 0 && is_hspace(*t)) t++, tn--;
        if (md_block(st, t, tn) == 0 && st->in_fence) {
            sb_append(&st->out, l, n);
            sb_append(&st->out, "\n", 1);
        }
        return;
    }
    while (n > 0 && is_hspace(*l)) l++, n--;
    if (md_block(st, l, n)) return;
    while (n > 0 && *l == '>') {
        l++, n--;
        while (n > 0 && is_hspace(*l)) l++, n--;
    }
    size_t h = 0;
    while (h < n && h < 7 && l[h] == '#') h++;
    if (h >= 1 && h <= 6 && (h == n || is_hspace(l[h]))) {
        md_heading(st, l, n);
        return;
    }
    if (n >= 2 && strchr("-*+", l[0]) && is_hspace(l[1])) {
        l += 2, n -= 2;
        if (n >= 4 && l[0] == '[' && strchr(" xX", l[1]) && l[2] == ']' && l[3] == ' ')
            l += 4, n -= 4; /* task list box */
    }
    st->prev_off = st->out.len;
    md_inline(&st->out, l, n, 0);
    st->prev_len = st->out.len - st->prev_off;
    sb_append(&st->out, "\n", 1);
    st->prev_text = 1;
}

/* YAML front matter ("---" ... "---") is metadata; its `title:` is the
 * document's title. Returns the offset where the body starts. */
static size_t md_front_matter(const char *s, size_t len, char **title)
{
    if (len < 4 || strncmp(s, "---\n", 4) != 0) return 0;
    for (size_t i = 4; i < len;) {
        const char *e = memchr(s + i, '\n', len - i);
        size_t n = e ? (size_t)(e - (s + i)) : len - i;
        if ((n == 3 && (strncmp(s + i, "---", 3) == 0 || strncmp(s + i, "...", 3) == 0)))
            return e ? i + n + 1 : len;
        if (!*title && n > 6 && strncmp(s + i, "title:", 6) == 0) {
            const char *v = s + i + 6;
            size_t vn = n - 6;
            while (vn > 0 && is_hspace(*v)) v++, vn--;
            if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) v++, vn -= 2;
            *title = extract_title_dup(v, vn);
        }
        i += n + 1;
    }
    free(*title); /* no closing line: not front matter */
    *title = NULL;
    return 0;
}

int extract_markdown(const char *data, size_t len, extract_out *out, rk_err *err)
{
    strbuf clean = {0};
    md_state st = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &clean, err);
    if (rc != RK_OK) goto done;
    const char *s = sb_str(&clean);
    size_t i = md_front_matter(s, clean.len, &st.title);
    while (i < clean.len) {
        const char *e = memchr(s + i, '\n', clean.len - i);
        size_t n = e ? (size_t)(e - (s + i)) : clean.len - i;
        md_line(&st, s + i, n);
        i += n + 1;
    }
    out->title = st.title;
    st.title = NULL;
    rc = extract_finish(&st.out, 0, out, err);
done:
    free(st.title);
    sb_free(&st.out);
    sb_free(&clean);
    return rc;
}
