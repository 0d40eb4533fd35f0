/*
 * fuzz_sse_anthropic — Anthropic Messages streams (llm_anthropic): the
 * shared SSE parser under the plugin's event reader (anthropic.c, compiled
 * in whole so its static proto is reachable; its jansson event parsing is
 * what the bytes reach).
 */
/* compiled in: the layout of struct rk_llm_call, the plugin's static proto */
#include "../../plugins/lib/llm/llm_client.c"
#include "../../plugins/lib/llm/llm_call.c"
#include "../../plugins/llm_anthropic/anthropic.c"
#include "llm_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astate *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    llm_sse_init(&s->sse, 1 << 16); /* the plugin's 4 MiB, scaled to fuzz inputs */
    fz_llm_run(&anth_proto, s, data, size);
    return 0;
}
