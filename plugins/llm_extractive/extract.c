/*
 * extract — the "model" of llm_extractive. Passages are cut into sentences
 * (terminal punctuation followed by a capital or the end, blank lines, and
 * line breaks that start a heading or a list item), each sentence is scored
 * by how many distinct question terms it contains — with a small bonus for
 * dense, short sentences and a discount for lower-ranked passages — and the
 * best few are printed in document order so the answer reads as prose.
 * Everything is a pure function of its input: equal requests give equal
 * answers, which the answer cache and the tests rely on.
 */
#include "extract.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTENCE_SHOW_MAX 400 /* bytes of one sentence in the answer */
#define KEEP_RATIO 0.6        /* extra sentences must score this much of the best */
#define MAX_PICK 16           /* upper bound of max_sentences */

typedef struct sentence {
    size_t passage, pos; /* passage index, byte offset in its text */
    size_t slot;         /* once picked: its cleaned text's offset in `texts` */
    const char *text;
    size_t len;
    double score;
    int ru;              /* mostly Cyrillic */
} sentence;

typedef struct sent_list {
    sentence *v;
    size_t n, cap;
} sent_list;

typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Does text start with a lower-case letter (then a full stop before it did
 * not end a sentence: "e.g. this", "т. е. это")? */
static int starts_lower(const char *s, size_t n)
{
    unsigned char c0 = (unsigned char)s[0];
    if (c0 >= 'a' && c0 <= 'z')
        return 1;
    if (n >= 2 && (c0 == 0xD0 || c0 == 0xD1)) { /* Cyrillic а..я, ё */
        unsigned cp = ((c0 & 0x1Fu) << 6) | ((unsigned char)s[1] & 0x3Fu);
        return (cp >= 0x430 && cp <= 0x44F) || cp == 0x451;
    }
    return 0;
}

/* A line starting with this begins a new block (heading, list, quote, table). */
static int starts_block(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (strchr("#>*-+|", s[0]))
        return 1;
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i > 0 && i < n && (s[i] == '.' || s[i] == ')');
}

/* A short line standing alone between blank lines, without a sentence's
 * final punctuation: a heading whose markup the ingest step removed. */
static int looks_like_heading(const char *s, size_t n)
{
    if (n == 0 || strchr(".!?:;\")", s[n - 1]) || (n >= 3 && !memcmp(s + n - 3, "\xE2\x80\xA6", 3)))
        return 0;
    size_t words = 0;
    for (size_t i = 0; i < n; i++)
        words += !is_space(s[i]) && (i == 0 || is_space(s[i - 1]));
    return words <= 8;
}

static int sent_add(sent_list *l, size_t passage, const char *base,
                    const char *s, size_t n, int alone)
{
    while (n && is_space(*s))
        s++, n--;
    if (n && *s == '#')
        return 0; /* a heading names a topic; it does not answer anything */
    while (n && (is_space(*s) || strchr(">*-+|", *s))) /* list and quote markers */
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    size_t letters = 0;
    for (size_t i = 0; i < n; i++)
        letters += (unsigned char)s[i] >= 0x80 || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z');
    if (letters == 0)
        return 0; /* "1." of a numbered list, a rule, stray punctuation */
    if (alone && looks_like_heading(s, n))
        return 0; /* like "# ..." above */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        sentence *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (sentence){passage, (size_t)(s - base), 0, s, n, 0.0, 0};
    return 0;
}

/* Where the sentence that contains text[i] (a '.', '!', '?' or '\n') ends,
 * or 0 if it does not end there. *next = where the next one starts; *alone
 * = it ends a paragraph (a blank line or the end follows). */
static size_t boundary(const char *text, size_t len, size_t i, size_t *next, int *alone)
{
    size_t j = i + 1;
    *alone = 0;
    if (text[i] == '\n') {
        size_t k = j;
        while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r'))
            k++;
        *next = k;
        *alone = k >= len || text[k] == '\n';
        return (*alone || starts_block(text + k, len - k)) ? i : 0;
    }
    while (j < len && strchr(".!?\"')]", text[j]))
        j++;
    if (j < len && !is_space(text[j]))
        return 0; /* "3.14", "example.com" */
    size_t k = j;
    while (k < len && is_space(text[k]))
        k++;
    *next = k;
    return (k < len && starts_lower(text + k, len - k)) ? 0 : j;
}

static int split_passage(sent_list *l, size_t passage, const char *text)
{
    size_t len = strlen(text), start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int ellipsis = c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
                       (unsigned char)text[i + 2] == 0xA6;
        if (c != '.' && c != '!' && c != '?' && c != '\n' && !ellipsis)
            continue;
        int alone = 0;
        size_t next = 0, end = boundary(text, len, ellipsis ? i + 2 : i, &next, &alone);
        if (end == 0)
            continue;
        /* a line alone before a blank line, or at the very start */
        alone = alone && (start == 0 || text[start - 1] == '\n');
        if (sent_add(l, passage, text, text + start, end - start, alone) != 0)
            return -1;
        start = next;
        i = next - 1;
    }
    return start < len ? sent_add(l, passage, text, text + start, len - start, 0) : 0;
}

/* Score one sentence against the question's terms q. A sentence in the
 * other script than the question's (Cyrillic / Latin) counts half, and an
 * answer keeps to the script of its best sentence (see pick): when a name
 * matches guides in both languages, the answer is in the question's. */
static int score(terms *t, const term_set *q, int q_ru, sentence *s)
{
    term_set st = {0};
    long words = terms_collect(t, s->text, s->len, &st);
    if (words < 0) {
        term_set_free(&st);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < q->n; i++)
        m += term_set_match(&st, q->v[i]);
    s->score = 0.0;
    if (m > 0) {
        double density = (double)m / sqrt((double)(st.n ? st.n : 1));
        double rank = 1.0 / (1.0 + 0.25 * (double)s->passage);
        s->score = ((double)m + 0.5 * density) / (double)q->n * rank;
        s->ru = terms_is_russian_n(s->text, s->len);
        if (s->ru != q_ru) s->score *= 0.5;
    }
    term_set_free(&st);
    return 0;
}

static int by_score(const void *a, const void *b)
{
    const sentence *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->passage != y->passage)
        return x->passage < y->passage ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int by_position(const void *a, const void *b)
{
    const sentence *x = a, *y = b;
    if (x->passage != y->passage)
        return x->passage < y->passage ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The sentence with white space collapsed and long ones cut at a word. */
static void clean_into(buf *b, const sentence *s)
{
    int space = 0;
    for (size_t i = 0; i < s->len && !b->oom; i++) {
        if (is_space(s->text[i])) {
            space = 1;
            continue;
        }
        if (b->n >= SENTENCE_SHOW_MAX && space) {
            buf_add(b, " …", strlen(" …"));
            return;
        }
        if (space)
            buf_add(b, " ", 1);
        space = 0;
        buf_add(b, s->text + i, 1);
    }
}

/* Append the sentence with " [n]" before its closing punctuation; a line
 * without any (a list item) gets a full stop after the citation. */
static void cite_into(buf *out, const char *text, size_t n, size_t passage)
{
    size_t body = n;
    while (body > 0 && strchr(".!?", text[body - 1]))
        body--;
    if (body == n && n >= 3 && strcmp(text + n - 3, "…") == 0)
        body = n - 3;
    const char *tail = text + body;
    size_t tail_len = n - body;
    if (tail_len == 0) {
        while (body > 0 && strchr(",;:", text[body - 1]))
            body--;
        tail = ".";
        tail_len = 1;
    }
    char cite[32];
    int cn = snprintf(cite, sizeof cite, " [%zu]", passage + 1);
    if (out->n)
        buf_add(out, " ", 1);
    buf_add(out, text, body);
    buf_add(out, cite, (size_t)cn);
    buf_add(out, tail, tail_len);
}

/* Pick from sorted candidates: best first, then close seconds in the same
 * script, no repeats. */
static size_t pick(sentence *cand, size_t n, size_t max, sentence *picked,
                   buf *texts)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < max && cand[i].score > 0; i++) {
        if (k && cand[i].score < KEEP_RATIO * cand[0].score)
            break;
        if (k && cand[i].ru != cand[0].ru)
            continue;
        size_t start = texts->n;
        clean_into(texts, &cand[i]);
        buf_add(texts, "", 1); /* keep the NUL as a separator */
        int dup = 0;
        for (size_t j = 0; j < k && !texts->oom; j++)
            dup |= strcmp(texts->p + picked[j].slot, texts->p + start) == 0;
        if (dup || texts->oom) {
            texts->n = start;
            continue;
        }
        picked[k] = cand[i];
        picked[k++].slot = start;
    }
    return k;
}

/* Render the picked sentences in document order. */
static int render(sentence *picked, size_t k, const buf *texts, char **out)
{
    qsort(picked, k, sizeof *picked, by_position);
    buf answer = {0};
    for (size_t i = 0; i < k; i++) {
        const char *txt = texts->p + picked[i].slot;
        cite_into(&answer, txt, strlen(txt), picked[i].passage);
    }
    if (answer.oom) {
        free(answer.p);
        return -1;
    }
    *out = answer.p;
    return 1;
}

static int choose(terms *t, const term_set *q, int q_ru, sent_list *l, size_t max,
                  char **out)
{
    for (size_t i = 0; i < l->n; i++)
        if (score(t, q, q_ru, &l->v[i]) != 0)
            return -1;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, by_score);
    if (max > MAX_PICK)
        max = MAX_PICK;
    sentence picked[MAX_PICK];
    buf texts = {0};
    size_t k = pick(l->v, l->n, max, picked, &texts);
    int rc = texts.oom ? -1 : k == 0 ? 0 : render(picked, k, &texts, out);
    free(texts.p);
    return rc;
}

int extract_answer(terms *t, const char *question, const rk_passage *passages,
                   size_t n_passages, size_t max_sentences, char **out)
{
    *out = NULL;
    term_set q = {0};
    sent_list l = {0};
    int rc = 0;
    if (!question)
        question = "";
    if (terms_collect(t, question, strlen(question), &q) < 0) {
        rc = -1;
        goto done;
    }
    for (size_t i = 0; q.n && i < n_passages && rc == 0; i++)
        if (passages[i].text && split_passage(&l, i, passages[i].text) != 0)
            rc = -1;
    if (rc == 0 && q.n && l.n)
        rc = choose(t, &q, terms_is_russian(question), &l, max_sentences ? max_sentences : 1,
                    out);
    if (rc == 0) {
        *out = strdup(terms_is_russian(question) ? EXTRACT_NONE_RU : EXTRACT_NONE_EN);
        rc = *out ? 0 : -1;
    }
done:
    term_set_free(&q);
    free(l.v);
    return rc;
}
