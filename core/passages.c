/*
 * passages — the core keeps retrieved passages past the retriever's
 * callback (they feed the prompt, the meta event and the answer cache), so
 * it needs owned copies with one clear free, plus one JSON shape for them
 * in cache entries. Both live here so retrieval, the cache codec and the
 * chat object agree on ownership and on the wire format.
 */
#include "passages.h"

#include <math.h>
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

/* One passage as a JSON object; NULL on OOM. */
static json_t *passage_json(const rk_passage *p, int with_text)
{
    double score = isfinite(p->score) ? p->score : 0.0; /* JSON has no NaN */
    json_t *o = json_pack("{s:s, s:s, s:f, s:I}", "doc_id",
                          p->doc_id ? p->doc_id : "", "title",
                          p->title ? p->title : "", "score", score,
                          "chunk_index", (json_int_t)p->chunk_index);
    if (o && p->snippet &&
        json_object_set_new(o, "snippet", json_string(p->snippet)) < 0)
        goto fail;
    if (o && with_text &&
        json_object_set_new(o, "text", json_string(p->text ? p->text : "")) < 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *passages_to_json(const rk_passage *p, size_t n, int with_text)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, passage_json(&p[i], with_text)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int passages_from_json(const json_t *arr, passvec *out)
{
    if (!json_is_array(arr)) return -1;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *doc_id = NULL, *title = NULL, *snippet = NULL, *text = NULL;
        double score = 0;
        json_int_t idx = 0;
        if (json_unpack((json_t *)o, "{s:s, s:s, s?s, s:F, s:I, s?s}", "doc_id",
                        &doc_id, "title", &title, "snippet", &snippet, "score",
                        &score, "chunk_index", &idx, "text", &text) < 0 ||
            idx < 0 || idx > UINT32_MAX)
            return -1;
        rk_passage p = {.struct_size = sizeof p, .doc_id = doc_id,
                        .title = title, .text = text ? text : snippet,
                        .snippet = snippet, .score = score,
                        .chunk_index = (uint32_t)idx};
        if (passvec_push(out, &p) < 0) return -1;
    }
    return 0;
}
