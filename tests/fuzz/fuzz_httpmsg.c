/*
 * fuzz_httpmsg — the upstream HTTP/1.1 response reader of the loop's own
 * client (core/net/httpmsg.c): header blocks as httpc finds and parses them,
 * chunk-size lines, and URL targets. The first byte picks which.
 */
#include "fuzz.h"

#include "httpmsg.h"

static void head(const uint8_t *data, size_t size)
{
    static httpmsg_fields fields; /* grows as httpc's does, kept across runs */
    char *p = fz_dup(data, size, 0);
    size_t len = httpmsg_head_end(p, size);
    if (len > size)
        abort();
    httpmsg_head h;
    if (len && httpmsg_head_parse(p, len, &h, &fields) == 0) {
        if (h.nfields > fields.cap)
            abort();
        for (size_t i = 0; i < h.nfields; i++)
            (void)(strlen(fields.v[i].name) + strlen(fields.v[i].value));
    }
    free(p);
}

static void chunk_lines(const uint8_t *data, size_t size)
{
    char *line;
    while ((line = fz_line(&data, &size)) != NULL) {
        char *exact = fz_dup((const uint8_t *)line, strlen(line), 0);
        (void)httpmsg_chunk_size(exact, strlen(line));
        free(exact);
        free(line);
    }
}

static void target(const uint8_t *data, size_t size)
{
    char *url = fz_dup(data, size, 1);
    httpmsg_target t;
    if (httpmsg_target_parse(url, &t)) {
        rk_http_header hd[] = {{"X-A", "b"}, {"Content-Length", "5"}};
        rk_http_request req = {.struct_size = sizeof req, .method = "POST", .url = url, .headers = hd,
                               .n_headers = 2, .body = "hello", .body_len = 5};
        size_t len;
        rk_err err;
        char *msg = httpmsg_request(&t, &req, &len, &err);
        free(msg);
    }
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    switch (fz_mode(&data, &size, 3)) {
    case 0: head(data, size); break;
    case 1: chunk_lines(data, size); break;
    default: target(data, size); break;
    }
    return 0;
}
