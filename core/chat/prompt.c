/*
 * prompt — owns every piece of text the core itself puts in front of an LLM,
 * so wording and layout live in one place: the grounded system message
 * (numbered passages the model cites as [n]), the continuation request that
 * lets a fallback provider pick up a stream cut mid-answer, and the cheap
 * summary that replaces old turns when a conversation is compacted. It also
 * holds the heuristic that sends short single-clause questions to fast
 * retrieval; it errs towards "not simple", the safe side (full top_k and the
 * long timeout cost time, never answer quality).
 */
#include "prompt.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* ---- simple-question test ------------------------------------------------ */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* Lowercase ASCII and basic Cyrillic (А-Я) into out; 0 if it does not fit. */
static int lower_token(const char *s, size_t n, char *out, size_t cap)
{
    if (n + 1 > cap) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        out[i] = (char)c;
        if (c != 0xD0 || i + 1 >= n) continue;
        /* UTF-8 Cyrillic capitals: D0 90..9F -> D0 B0..BF, D0 A0..AF -> D1 80..8F */
        unsigned char d = (unsigned char)s[i + 1];
        if (d >= 0x90 && d <= 0x9F) {
            out[++i] = (char)(d + 0x20);
        } else if (d >= 0xA0 && d <= 0xAF) {
            out[i] = (char)0xD1;
            out[++i] = (char)(d - 0x20);
        }
    }
    out[n] = '\0';
    return 1;
}

static int is_conjunction(const char *s, size_t n)
{
    static const char *const words[] = {"and", "or", "\xD0\xB8",
                                        "\xD0\xB8\xD0\xBB\xD0\xB8", NULL};
    char low[16];
    if (!lower_token(s, n, low, sizeof low)) return 0;
    for (int i = 0; words[i]; i++)
        if (strcmp(low, words[i]) == 0) return 1;
    return 0;
}

/* Punctuation inside [start, end) that starts a second clause or sentence. */
static int breaks_clause(const char *q, size_t i, size_t end)
{
    char c = q[i];
    if (c == '\n' || c == ';' || c == '?') return 1;
    return (c == '.' || c == '!') && i + 1 < end && is_space((unsigned char)q[i + 1]);
}

int prompt_is_simple(const char *q, int max_words)
{
    if (!q || max_words <= 0) return 0;
    size_t start = 0, end = strlen(q);
    while (end > 0 && is_space((unsigned char)q[end - 1])) end--;
    while (start < end && is_space((unsigned char)q[start])) start++;
    /* trailing "?", "!", "." (and runs like "?!") end the one sentence */
    while (end > start && strchr("?!.", q[end - 1])) end--;

    int words = 0;
    size_t i = start;
    while (i < end) {
        if (is_space((unsigned char)q[i])) {
            i++;
            continue;
        }
        size_t w = i;
        while (i < end && !is_space((unsigned char)q[i])) {
            if (breaks_clause(q, i, end)) return 0;
            i++;
        }
        if (++words > max_words) return 0;
        /* a conjunction between two words joins two clauses (or at least
         * two things to look up): not simple */
        if (w > start && i < end && is_conjunction(q + w, i - w)) return 0;
    }
    return 1;
}

/* ---- the grounded prompt ---------------------------------------------- */

static void context_block(strbuf *b, const rk_passage *pass, size_t n)
{
    sb_puts(b, "\n\nContext:");
    for (size_t i = 0; i < n; i++) {
        const char *title = pass[i].title && *pass[i].title ? pass[i].title
                            : pass[i].doc_id ? pass[i].doc_id : "";
        sb_printf(b, "\n[%zu] %s: %s", i + 1, title,
                  pass[i].text ? pass[i].text : "");
    }
}

int prompt_build(const char *system_prompt, const rk_passage *pass,
                 size_t n_pass, const rk_message *hist, size_t n_hist,
                 const rk_message *client, size_t n_client, rk_message **out,
                 size_t *n_out, char **system_text)
{
    strbuf b = {0};
    sb_puts(&b, system_prompt ? system_prompt : "");
    if (n_pass > 0) context_block(&b, pass, n_pass);
    char *sys = sb_take(&b);
    size_t n = 1 + n_hist + n_client;
    rk_message *m = sys ? calloc(n, sizeof *m) : NULL;
    if (!m) {
        free(sys);
        return -1;
    }
    m[0].role = "system";
    m[0].content = sys;
    if (n_hist) memcpy(m + 1, hist, n_hist * sizeof *m);
    if (n_client) memcpy(m + 1 + n_hist, client, n_client * sizeof *m);
    *out = m;
    *n_out = n;
    *system_text = sys;
    return 0;
}

rk_message *prompt_continuation(const rk_message *base, size_t n,
                                const char *partial, size_t *n_out)
{
    rk_message *m = calloc(n + 2, sizeof *m);
    if (!m) return NULL;
    if (n) memcpy(m, base, n * sizeof *m);
    m[n].role = "assistant";
    m[n].content = partial;
    m[n + 1].role = "user";
    m[n + 1].content = PROMPT_CONTINUE;
    *n_out = n + 2;
    return m;
}

/* ---- compaction summary ------------------------------------------------ */

/* Length of the first sentence of s (up to and including its '.', '!' or
 * '?' when followed by a space or the end; else up to the first newline). */
static size_t first_sentence(const char *s)
{
    size_t i = 0;
    for (; s[i] && s[i] != '\n'; i++)
        if (strchr(".!?", s[i]) && (s[i + 1] == '\0' || is_space((unsigned char)s[i + 1])))
            return i + 1;
    return i;
}

/* Largest length <= n that does not split a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

/* Where a kept tail of an earlier summary may start: its next "role: "
 * piece, else its next word; NULL when there is none. */
static const char *summary_resume(const char *s)
{
    const char *u = strstr(s, " user: "), *a = strstr(s, " assistant: ");
    const char *p = !u ? a : !a ? u : u < a ? u : a;
    if (!p) p = strchr(s, ' ');
    return p ? p + 1 : NULL;
}

typedef struct sum_piece {
    const char *role; /* NULL: the body of an earlier summary, already "role: ..." */
    const char *text;
    size_t len;
} sum_piece;

/* The piece message i contributes: an earlier summary gives its body
 * (never wrapped in another "system: "), any other message its first
 * sentence, at most cap bytes. */
static sum_piece summary_piece(const rk_message *m, size_t cap)
{
    const size_t plen = strlen(PROMPT_SUMMARY_PREFIX);
    const char *c = m->content ? m->content : "";
    while (is_space((unsigned char)*c)) c++;
    if (strncmp(c, PROMPT_SUMMARY_PREFIX, plen) == 0)
        return (sum_piece){NULL, c + plen, strlen(c + plen)};
    size_t len = first_sentence(c);
    if (len > cap) len = utf8_cut(c, cap);
    return (sum_piece){m->role ? m->role : "user", c, len};
}

static size_t piece_size(const sum_piece *p)
{
    return 1 + (p->role ? strlen(p->role) + 2 : 0) + p->len; /* " role: text" */
}

/* Newest first: the pieces that fit in budget are kept whole; the newest
 * that does not fit keeps only its tail when it is an earlier summary.
 * What is lost when space runs out is always the oldest content. */
char *prompt_summary(const rk_message *msgs, size_t n, size_t max_bytes)
{
    const size_t plen = strlen(PROMPT_SUMMARY_PREFIX);
    size_t budget = max_bytes > plen ? max_bytes - plen : 0, used = 0, first = n;
    size_t cap = budget / 4 > 32 ? budget / 4 : 32;
    sum_piece *pc = calloc(n ? n : 1, sizeof *pc);
    if (!pc) return NULL;
    for (size_t i = n; i-- > 0;) {
        pc[i] = summary_piece(&msgs[i], cap);
        if (pc[i].len == 0) continue;
        size_t sz = piece_size(&pc[i]);
        if (used + sz <= budget) {
            used += sz;
            first = i;
            continue;
        }
        if (!pc[i].role && used + 2 < budget) { /* tail of an earlier summary */
            size_t room = budget - used - 1;
            /* ASCII markers never match inside a UTF-8 sequence */
            const char *t = summary_resume(pc[i].text + pc[i].len - room);
            if (t) {
                pc[i].len -= (size_t)(t - pc[i].text);
                pc[i].text = t;
                first = i;
            }
        }
        break;
    }
    strbuf b = {0};
    sb_puts(&b, PROMPT_SUMMARY_PREFIX);
    for (size_t i = first; i < n; i++) {
        if (pc[i].len == 0) continue;
        if (b.len > plen) sb_puts(&b, " ");
        if (pc[i].role) sb_printf(&b, "%s: ", pc[i].role);
        sb_append(&b, pc[i].text, pc[i].len);
    }
    free(pc);
    return sb_take(&b);
}
