/*
 * fuzz_tokenize — the retriever's text analysis (plugins/lib/text:
 * tokenizer, language detection and stemming; retriever_sqlite's
 * analyze.c bags and queries). Every chunk of every document and every question goes
 * through it. Input: title, a newline, the text.
 */
#include "fuzz.h"

#include "analyze.h"

static tp_analyzer *analyzer;
static an_bagger *bagger;

static void tokens(const char *text, size_t len)
{
    size_t pos = 0, prev = 0;
    tp_token t;
    while (tp_next_token(text, len, &pos, &t)) {
        if (pos <= prev || t.off + t.len > len || t.nlen > TP_MAX_TOKEN ||
            strlen(t.norm) != t.nlen)
            abort(); /* progress, inside the text, bounded */
        prev = pos;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!analyzer) {
        analyzer = tp_analyzer_new(tp_langset_all());
        bagger = an_bagger_new();
        if (!analyzer || !bagger)
            abort();
    }
    char *title = fz_line(&data, &size);
    char *text = fz_dup(data, size, 1);
    tokens(text, size);
    tp_langinfo li;
    tp_detect(text, size, tp_langset_all(), tp_lang_english(), &li);

    an_opts o = {tp_langset_all(), tp_lang_english(), 2};
    an_chunk_info info;
    an_buf bag = {0};
    if (an_chunk(analyzer, bagger, &o, title ? title : "", text, NULL, -1, &info, &bag) == 0 &&
        bag.p) {
        an_iter it = {bag.p, bag.p + bag.len};
        const char *term;
        uint32_t tl, tf;
        while (an_next(&it, &term, &tl, &tf) == 1)
            if (tl > TP_MAX_TOKEN || tf == 0)
                abort();
    }
    an_buf_free(&bag);
    an_qterm q[32];
    (void)an_query(analyzer, text, li.latin, q, 32);
    free(text);
    free(title);
    return 0;
}
