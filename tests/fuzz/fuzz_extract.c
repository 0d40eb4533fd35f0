/*
 * fuzz_extract — text extraction of uploaded documents (the extract_text
 * plugin's extract.c, extract_md.c, extract_html.c): the first byte picks plain text, Markdown or HTML. The
 * output must be valid UTF-8 without NUL whatever came in; `make fuzz`
 * runs it with a timeout, as ingestion must stay linear.
 */
#include "fuzz.h"

#include "extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fz_mode(&data, &size, 3);
    char *in = fz_dup(data, size, 0);
    extract_out out = {0};
    rk_err err;
    int rc = mode == 0   ? extract_plain(in, size, &out, &err)
             : mode == 1 ? extract_markdown(in, size, &out, &err)
                         : extract_html(in, size, &out, &err);
    if (rc == RK_OK) {
        if (!out.text || !tn_utf8_valid(out.text, strlen(out.text)))
            abort();
        if (out.title && (!tn_utf8_valid(out.title, strlen(out.title)) ||
                          strlen(out.title) > TN_TITLE_MAX))
            abort();
        char *first = tn_first_line(out.text);
        free(first);
    }
    extract_out_free(&out);
    free(in);
    return 0;
}
