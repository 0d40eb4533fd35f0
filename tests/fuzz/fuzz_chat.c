/*
 * fuzz_chat — the chat request parser of the HTTP transport
 * (http_chat_parse.c), both dialects. The first byte picks: bit 0 legacy
 * /chat or chat.completions, bit 1 no limits instead of the server's
 * defaults (so the walk itself must be linear, not only cut short). Runs on
 * the loop thread for every request, so `make fuzz` also runs it with a
 * timeout to catch slow inputs.
 */
#include "fuzz.h"

#include "http_chat_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const chat_limits unlimited = {0, 0, 0};
    unsigned mode = fz_mode(&data, &size, 4);
    int legacy = (int)(mode & 1);
    const chat_limits *lim = mode & 2 ? &unlimited : NULL;
    char *body = fz_dup(data, size, 0);
    chat_req c;
    memset(&c, 0, sizeof c);
    parse_err e;
    memset(&e, 0, sizeof e);
    int rc = chat_parse(body, size, legacy, lim, &c, &e);
    if (rc == -1 && e.status != 400 && e.status != 413)
        abort(); /* a refusal always says which answer it is */
    if (rc == 0) {
        free(body); /* the request must not borrow from the body */
        body = NULL;
        size_t sum = c.in.model ? strlen(c.in.model) : 0;
        if (c.in.conversation_id)
            sum += strlen(c.in.conversation_id);
        for (size_t i = 0; i < c.in.n_messages; i++)
            sum += strlen(c.in.messages[i].role) + strlen(c.in.messages[i].content);
        (void)sum;
    }
    chat_req_free(&c);
    free(body);
    return 0;
}
