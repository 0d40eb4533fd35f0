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

char *prompt_summary(const rk_message *msgs, size_t n, size_t max_bytes)
{
    const size_t plen = strlen(PROMPT_SUMMARY_PREFIX);
    strbuf b = {0};
    sb_puts(&b, PROMPT_SUMMARY_PREFIX);
    for (size_t i = 0; i < n && b.len < max_bytes; i++) {
        const char *c = msgs[i].content ? msgs[i].content : "";
        while (is_space((unsigned char)*c)) c++;
        size_t len;
        if (strncmp(c, PROMPT_SUMMARY_PREFIX, plen) == 0) {
            c += plen; /* an earlier summary: keep its body */
            len = strlen(c);
        } else {
            len = first_sentence(c);
        }
        if (len == 0) continue;
        if (len > max_bytes) len = max_bytes;
        if (b.len > plen) sb_puts(&b, " ");
        sb_printf(&b, "%s: ", msgs[i].role ? msgs[i].role : "user");
        sb_append(&b, c, len);
    }
    if (!b.oom && b.len > max_bytes) {
        b.len = utf8_cut(b.s, max_bytes);
        b.s[b.len] = '\0';
    }
    return sb_take(&b);
}
