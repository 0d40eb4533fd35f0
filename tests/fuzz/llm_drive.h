/*
 * llm_drive — runs an llm_proto of an LLM provider plugin over a fuzzed
 * 2xx body, as llm_call does after the status line: the body in pieces of
 * input-chosen sizes (splitting lines, CRLF pairs and UTF-8 anywhere),
 * then end(). The call is a bare struct rk_llm_call (the harness compiles
 * llm_call.c in), so the provider's callbacks run their real code.
 */
#ifndef RK_FUZZ_LLM_DRIVE_H
#define RK_FUZZ_LLM_DRIVE_H

#include "fuzz.h"

static void fz_on_delta(void *ud, const char *text, size_t len)
{
    size_t *total = ud;
    if (len && !memchr(text, 0, len) && text[len - 1] == '\x7f')
        (*total)++;
    *total += len;
}

/* state: the provider's per-call state (freed here through the proto);
 * collect: the proto wants the whole body in end() (body slot NULL). */
static void fz_llm_run(const llm_proto *proto, void *state, const uint8_t *data,
                       size_t size)
{
    size_t total = 0;
    struct rk_llm_call c;
    memset(&c, 0, sizeof c);
    c.proto = proto;
    c.state = state;
    c.on_delta = fz_on_delta;
    c.ud = &total;
    char *body = fz_dup(data, size, 0);
    if (proto->body) {
        uint32_t seed = (uint32_t)size;
        for (size_t off = 0; off < size && !c.fail_status;) {
            size_t k = fz_piece(&seed, size - off, 64);
            char *piece = fz_dup((const uint8_t *)body + off, k, 0);
            int rc = proto->body(&c, piece, k);
            free(piece);
            if (rc != RK_OK)
                break;
            off += k;
        }
        if (!c.fail_status)
            (void)proto->end(&c, NULL, 0);
        if (proto->reset)
            proto->reset(&c); /* a retry after a partial stream */
    } else {
        (void)proto->end(&c, body, size);
    }
    if (proto->free_state)
        proto->free_state(state);
    free(body);
}

#endif
