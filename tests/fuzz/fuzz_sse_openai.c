/*
 * fuzz_sse_openai — OpenAI-style upstream answers (llm_openai): the SSE
 * parser (llm_sse.c) under the chat.completions stream reader, the
 * non-streamed JSON answer and the /embeddings result (openai_stream.c).
 * The first byte picks which.
 */
/* llm_call.c is compiled in for the layout of struct rk_llm_call */
#include "../../plugins/lib/llm/llm_client.c"
#include "../../plugins/lib/llm/llm_call.c"
#include "openai_stream.h"
#include "llm_drive.h"

/* The reader promised: every vector has an index below the inputs sent. */
static void on_vector(void *ud, const rk_embedding *e)
{
    float *sum = ud;
    if (e->index >= 3 || e->dim == 0)
        abort();
    *sum += e->values[e->dim - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    switch (fz_mode(&data, &size, 3)) {
    case 0:
        fz_llm_run(&oai_chat_stream_proto, oai_chat_state_new(), data, size);
        break;
    case 1:
        fz_llm_run(&oai_chat_json_proto, NULL, data, size);
        break;
    default: {
        static rk_embed_sink sink;
        sink.struct_size = sizeof sink;
        sink.on_vector = on_vector;
        static float sum;
        fz_llm_run(&oai_embed_proto, oai_embed_state_new(&sink, &sum, 3), data, size);
        break;
    }
    }
    return 0;
}
