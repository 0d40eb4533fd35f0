/*
 * passages — the core keeps retrieved passages past the retriever's
 * callback (they feed the prompt, the meta event and the answer cache), so
 * it needs owned copies with one clear free, plus one JSON shape for them
 * in cache entries. Both live here so retrieval, the cache codec and the
 * chat object agree on ownership and on the wire format.
 */
#include "passages.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void passage_clear(rk_passage *p)
{
    free((char *)p->doc_id);
    free((char *)p->title);
    free((char *)p->text);
    free((char *)p->snippet);
}

int passvec_push(passvec *pv, const rk_passage *p)
{
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 8;
        rk_passage *v = realloc(pv->v, cap * sizeof *v);
        if (!v) return -1;
        pv->v = v;
        pv->cap = cap;
    }
    rk_passage c = {.struct_size = sizeof c,
                    .doc_id = dup_or_empty(p->doc_id),
                    .title = dup_or_empty(p->title),
                    .text = dup_or_empty(p->text),
                    .snippet = p->snippet ? strdup(p->snippet) : NULL,
                    .score = p->score,
                    .chunk_index = p->chunk_index};
    if (!c.doc_id || !c.title || !c.text || (p->snippet && !c.snippet)) {
        passage_clear(&c);
        return -1;
    }
    pv->v[pv->n++] = c;
    return 0;
}

void passvec_free(passvec *pv)
{
    for (size_t i = 0; i < pv->n; i++) passage_clear(&pv->v[i]);
    free(pv->v);
    pv->v = NULL;
    pv->n = pv->cap = 0;
}

/* ---- the JSON shape in cache entries ------------------------------------- */

/* One passage as a JSON object: 0, -1 when a string is not UTF-8. */
static int passage_write(strbuf *b, const rk_passage *p, int with_text)
{
    char num[64];
    double score = isfinite(p->score) ? p->score : 0.0; /* JSON has no NaN */
    const char *id = p->doc_id ? p->doc_id : "", *title = p->title ? p->title : "";
    int bad = 0;
    sb_puts(b, "{\"doc_id\":");
    bad |= sb_json_str(b, id, strlen(id));
    sb_puts(b, ",\"title\":");
    bad |= sb_json_str(b, title, strlen(title));
    snprintf(num, sizeof num, ",\"score\":%.17g,\"chunk_index\":", score);
    sb_puts(b, num);
    snprintf(num, sizeof num, "%u", (unsigned)p->chunk_index);
    sb_puts(b, num);
    if (p->snippet) {
        sb_puts(b, ",\"snippet\":");
        bad |= sb_json_str(b, p->snippet, strlen(p->snippet));
    }
    if (with_text) {
        const char *t = p->text ? p->text : "";
        sb_puts(b, ",\"text\":");
        bad |= sb_json_str(b, t, strlen(t));
    }
    sb_puts(b, "}");
    return bad ? -1 : 0;
}

int passages_write_json(strbuf *b, const rk_passage *p, size_t n, int with_text)
{
    sb_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_puts(b, ",");
        if (passage_write(b, &p[i], with_text) < 0) return -1;
    }
    sb_puts(b, "]");
    return 0;
}

/* String member `key` of object o, decoded into the scratch at *at (room
 * enough: decoding never grows a string): the string, or NULL. */
static const char *scratch_str(const oj_doc *d, int o, const char *key, char **at)
{
    int i = oj_get(d, o, key);
    if (oj_kind(d, i) != OJ_STR) return NULL;
    char *s = *at;
    *at += oj_copy(d, i, s, d->t[i].len + 1) + 1;
    return s;
}

int passages_read_json(const oj_doc *d, int arr, char *scratch, passvec *out)
{
    size_t n = oj_count(d, arr);
    if (oj_kind(d, arr) != OJ_ARR) return -1;
    int o = arr + 1;
    for (size_t i = 0; i < n; i++, o = (int)d->t[o].end) {
        char *at = scratch;
        int64_t idx = 0;
        double score = 0;
        const char *doc_id = scratch_str(d, o, "doc_id", &at);
        const char *title = scratch_str(d, o, "title", &at);
        const char *snippet = scratch_str(d, o, "snippet", &at);
        const char *text = scratch_str(d, o, "text", &at);
        if (!doc_id || !title || !oj_double(d, oj_get(d, o, "score"), &score) ||
            !oj_int(d, oj_get(d, o, "chunk_index"), &idx) || idx < 0 || idx > UINT32_MAX)
            return -1;
        rk_passage p = {.struct_size = sizeof p, .doc_id = doc_id, .title = title,
                        .text = text ? text : snippet, .snippet = snippet, .score = score,
                        .chunk_index = (uint32_t)idx};
        if (passvec_push(out, &p) < 0) return -1;
    }
    return 0;
}
