/*
 * fuzz_range — the download headers' grammar (http_range.c): Range
 * (resolved against sizes near the edges), If-None-Match, If-Range and the
 * Content-Disposition writer. Each line of the input is one header value.
 */
#include "fuzz.h"

#include "http_range.h"

#define ETAG "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\""
#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {0, 1, 100, UINT64_MAX - 1, UINT64_MAX};
    char date[HTTP_DATE_LEN];
    http_date(1700000000000, date);
    char *v;
    while ((v = fz_line(&data, &size)) != NULL) {
        byte_range br;
        range_parse(v, &br);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            uint64_t off, len;
            if (range_resolve(&br, sizes[i], &off, &len) == 0 &&
                ((len == 0 && br.kind != RANGE_NONE) || off + len < off ||
                 off + len > sizes[i]))
                abort(); /* a resolved range is inside the document, not empty */
        }
        (void)etag_listed(v, SHA);
        (void)if_range_matches(v, ETAG, date);
        char cd[256];
        content_disposition(v, cd, sizeof cd);
        if (strlen(cd) >= sizeof cd)
            abort();
        free(v);
    }
    return 0;
}
