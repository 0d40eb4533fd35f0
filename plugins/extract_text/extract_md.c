/*
 * extract_md — the words of a Markdown document, for indexing: heading
 * hashes, emphasis markers, link URLs, fences, reference definitions and
 * table rules go; link text, code and the rest stay. It is a tolerant
 * line scanner, not a CommonMark parser, and it is linear in the input on
 * purpose, because uploads come from clients: a link's closing bracket is
 * found in a table of bracket pairs built in one pass per line (scanning
 * ahead from every '[' made a line of 150 KB of '[' cost 18 s), and a code
 * span's closing backtick run is looked for at most once to the end of a
 * line per run length (a failed scan remembers the last run of every
 * length it passed). Runs of more than MD_TICKS_MAX backticks never open a
 * code span: no prose uses them, and it keeps that memo small.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"

#define MD_MAX_DEPTH 8     /* nested link labels processed recursively */
#define MD_TICKS_MAX 32    /* longest backtick run that opens a code span */
#define MD_NONE UINT32_MAX /* no closing bracket */
#define MD_CHECK_LINES 256 /* lines between two looks at the clock */

typedef struct md_state {
    strbuf out;
    char *title;
    int in_fence;
    char fence_ch;
    size_t fence_len;
    size_t prev_off, prev_len; /* last paragraph line in out (setext title) */
    int prev_text;
} md_state;

/* One line's inline text: s[0..n), where it goes, and the bracket pairs
 * (built on the first '[' that may start a link; owned, freed by md_inline). */
typedef struct md_in {
    strbuf *o;
    const char *s;
    size_t n;
    uint32_t *pair; /* pair[i]: index closing the '[' or '(' at i, or MD_NONE */
    int paired;     /* pair was built (or could not be: no links then) */
} md_in;

/* Code-span closers seen by a failed scan to the end of a slice: last[k]
 * is where the last run of exactly k backticks starts (0: none). */
typedef struct md_ticks {
    int scanned;
    size_t last[MD_TICKS_MAX + 1];
} md_ticks;

static int is_hspace(char c) { return c == ' ' || c == '\t'; }
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* ---- inline text ------------------------------------------------------ */

/* Stack-matched '[' ']' and '(' ')' over the whole line, a backslash
 * escaping the next byte. The open stacks are threaded through pair[]
 * itself (an open bracket holds the previous open one until matched). */
static uint32_t *md_pairs(const char *s, size_t n)
{
    if (n >= MD_NONE) return NULL;
    uint32_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return NULL;
    uint32_t top[2] = {MD_NONE, MD_NONE}; /* '[' and '(' */
    for (size_t i = 0; i < n; i++) {
        p[i] = MD_NONE;
        int k = s[i] == '[' || s[i] == ']' ? 0 : 1;
        if (s[i] == '\\' && i + 1 < n) {
            p[++i] = MD_NONE;
        } else if (s[i] == '[' || s[i] == '(') {
            p[i] = top[k];
            top[k] = (uint32_t)i;
        } else if ((s[i] == ']' || s[i] == ')') && top[k] != MD_NONE) {
            uint32_t o = top[k];
            top[k] = p[o];
            p[o] = (uint32_t)i;
        }
    }
    for (int k = 0; k < 2; k++) /* still open: closed by nothing */
        for (uint32_t o = top[k], next; o != MD_NONE; o = next) {
            next = p[o];
            p[o] = MD_NONE;
        }
    return p;
}

/* Index of the bracket closing s[open] before `to`, or 0 (never a valid
 * close, which always comes after its open). */
static size_t md_close(md_in *in, size_t open, size_t to)
{
    if (!in->paired) {
        in->paired = 1;
        in->pair = md_pairs(in->s, in->n);
        if (!in->pair) in->o->oom = 1; /* the upload fails as out of memory */
    }
    if (!in->pair || in->pair[open] == MD_NONE || in->pair[open] >= to) return 0;
    return in->pair[open];
}

static void md_inline(md_in *in, size_t from, size_t to, int depth);

/* `code` -> code; an unmatched run of backticks stays as it is. */
static size_t md_code_span(md_in *in, md_ticks *t, size_t at, size_t to)
{
    const char *s = in->s;
    size_t k = 0;
    while (at + k < to && s[at + k] == '`') k++;
    int hopeless = k > MD_TICKS_MAX || (t->scanned && t->last[k] < at + k);
    for (size_t q = at + k; !hopeless && q < to;) {
        if (s[q] != '`') {
            q++;
            continue;
        }
        size_t r = q;
        while (r < to && s[r] == '`') r++;
        if (r - q == k) {
            const char *c = s + at + k;
            size_t len = q - at - k;
            if (len >= 2 && c[0] == ' ' && c[len - 1] == ' ') c++, len -= 2;
            sb_append(in->o, c, len);
            return r - at;
        }
        if (r - q <= MD_TICKS_MAX && q > t->last[r - q]) t->last[r - q] = q;
        q = r;
    }
    t->scanned |= !hopeless; /* t->last now knows every run after here */
    sb_append(in->o, s + at, k);
    return k;
}

/* [text](url), ![alt](url), [text][ref] -> text; 0 when not a link. */
static size_t md_link(md_in *in, size_t at, size_t to, int depth)
{
    size_t open = at + (in->s[at] == '!' ? 1 : 0);
    size_t close = md_close(in, open, to);
    if (close == 0 || close + 1 >= to) return 0;
    char next = in->s[close + 1];
    if (next != '(' && next != '[') return 0;
    size_t end = md_close(in, close + 1, to);
    if (end == 0) return 0;
    md_inline(in, open + 1, close, depth + 1);
    return end + 1 - at;
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
static size_t md_emphasis(md_in *in, size_t from, size_t to, size_t i)
{
    const char *s = in->s;
    char c = s[i];
    size_t j = i;
    while (j < to && s[j] == c) j++;
    char prev = i > from ? s[i - 1] : ' ', next = j < to ? s[j] : ' ';
    int flanking = !(is_ws(prev) && is_ws(next));
    int drop = flanking;
    if (c == '~') drop = flanking && j - i >= 2;
    if (c == '_') drop = flanking && !(word_byte(prev) && word_byte(next));
    if (!drop) sb_append(in->o, s + i, j - i);
    return j - i;
}

/* in->s[from..to): one line, or a link label inside it (depth > 0). */
static void md_inline(md_in *in, size_t from, size_t to, int depth)
{
    const char *s = in->s;
    md_ticks ticks = {0};
    for (size_t i = from; i < to;) {
        char c = s[i];
        size_t used = 0;
        if (c == '\\' && i + 1 < to && ispunct((unsigned char)s[i + 1])) {
            sb_append(in->o, s + i + 1, 1);
            used = 2;
        } else if (c == '`') {
            used = md_code_span(in, &ticks, i, to);
        } else if ((c == '[' || (c == '!' && i + 1 < to && s[i + 1] == '[')) &&
                   depth < MD_MAX_DEPTH) {
            used = md_link(in, i, to, depth);
        } else if (c == '<') {
            used = md_autolink(in->o, s + i, to - i);
        } else if (c == '*' || c == '_' || c == '~') {
            used = md_emphasis(in, from, to, i);
        }
        if (used == 0) {
            sb_append(in->o, s + i, 1);
            used = 1;
        }
        i += used;
    }
}

static void md_text(strbuf *o, const char *s, size_t n)
{
    md_in in = {.o = o, .s = s, .n = n};
    md_inline(&in, 0, n, 0);
    free(in.pair);
}

/* ---- blocks ------------------------------------------------------------ */

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
    md_text(&st->out, l + h, n - h);
    if (!st->title && !st->out.oom)
        st->title = tn_title_dup(st->out.s + start, st->out.len - start);
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
            st->title = tn_title_dup(st->out.s + st->prev_off, st->prev_len);
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
    md_text(&st->out, l, n);
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
            *title = tn_title_dup(v, vn);
        }
        i += n + 1;
    }
    free(*title); /* no closing line: not front matter */
    *title = NULL;
    return 0;
}

int extract_markdown_until(const char *data, size_t len, int64_t deadline_ms,
                           extract_out *out, rk_err *err)
{
    strbuf clean = {0};
    md_state st = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &clean, err);
    if (rc != RK_OK) goto done;
    const char *s = sb_str(&clean);
    size_t i = md_front_matter(s, clean.len, &st.title);
    for (unsigned lines = 0; i < clean.len && !st.out.oom; lines++) {
        if (lines % MD_CHECK_LINES == 0 && (rc = extract_in_time(deadline_ms, err)) != RK_OK)
            goto done;
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

int extract_markdown(const char *data, size_t len, extract_out *out, rk_err *err)
{
    return extract_markdown_until(data, len, 0, out, err);
}
