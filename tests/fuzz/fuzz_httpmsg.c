/*
 * fuzz_httpmsg — the upstream HTTP/1.1 response reader of the loop's own
 * client (core/net/httpmsg.c): header blocks as httpc finds and parses them,
 * chunk-size lines, URL targets, and whole responses through the framing
 * decoder (core/net/httprd.c) fed in pieces. The first byte picks which.
 */
#include "fuzz.h"

#include "httpmsg.h"
#include "httprd.h"

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

/* A whole response, fed to httprd as a connection would: in pieces whose
 * size the input's own bytes pick, used bytes dropped, then the close. */
static void response(const uint8_t *data, size_t size)
{
    static httpmsg_fields fields;
    char *buf = malloc(size + 1);
    httprd rd;
    httprd_init(&rd, size && (data[0] & 1));
    size_t fed = 0, len = 0, pos = 0;
    int over = 0;
    while (!over && fed < size) {
        size_t n = 1 + data[fed] % 64;
        if (n > size - fed) n = size - fed;
        memcpy(buf + len, data + fed, n);
        len += n;
        fed += n;
        httprd_ev ev;
        httprd_kind k;
        while (!over && (k = httprd_next(&rd, buf, len, &pos, &fields, 1, &ev)) != HTTPRD_MORE) {
            if (pos > len) abort();
            if (k == HTTPRD_DATA && (ev.data < buf || ev.data + ev.len > buf + len)) abort();
            if (k == HTTPRD_DONE || k == HTTPRD_ERROR) over = 1;
        }
        memmove(buf, buf + pos, len - pos);
        len -= pos;
        pos = 0;
    }
    if (!over) (void)httprd_eof(&rd);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    switch (fz_mode(&data, &size, 4)) {
    case 0: head(data, size); break;
    case 1: chunk_lines(data, size); break;
    case 2: target(data, size); break;
    default: response(data, size); break;
    }
    return 0;
}
