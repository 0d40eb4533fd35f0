/*
 * fuzz_oj — the JSON reader (common/oj.c) every chat request and every
 * upstream answer goes through: parse, then walk the whole token index
 * with the lookups callers use, and the string writer over the same bytes.
 */
#include "fuzz.h"

#include "oj.h"

static void walk(const oj_doc *d)
{
    char small[64];
    for (size_t i = 0; i < d->n; i++) {
        int k = (int)i;
        int64_t iv;
        double dv;
        size_t rl;
        (void)oj_int(d, k, &iv);
        (void)oj_double(d, k, &dv);
        (void)oj_copy(d, k, small, sizeof small);
        (void)oj_raw(d, k, &rl);
        if (oj_kind(d, k) == OJ_ARR) {
            size_t c = oj_count(d, k);
            (void)oj_at(d, k, c ? c - 1 : 0);
        }
        if (oj_kind(d, k) == OJ_OBJ) {
            (void)oj_get(d, k, "content");
            (void)oj_get(d, k, "");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_dup(data, size, 0);
    oj_tok stack[16];
    oj_doc d;
    oj_init_with(&d, stack, 16);
    if (oj_parse(&d, s, size) == 0)
        walk(&d);
    oj_free(&d);

    char *out = malloc(OJ_ESCAPE_MAX(size));
    if (out) {
        (void)oj_escape(s, size, out, 0);
        (void)oj_escape(s, size, out, 1);
        free(out);
    }
    free(s);
    return 0;
}
