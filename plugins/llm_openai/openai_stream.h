/*
 * openai_stream — reading OpenAI-style responses: Chat Completions as an
 * SSE stream of chunks or as one JSON object, and /embeddings results.
 * Each is an llm_proto for llm_call; the state constructors return the
 * per-call state the proto expects (NULL on out-of-memory).
 */
#ifndef OPENAI_STREAM_H
#define OPENAI_STREAM_H

#include "llm_call.h"

extern const llm_proto oai_chat_stream_proto; /* state: oai_chat_state_new() */
extern const llm_proto oai_chat_json_proto;   /* state: NULL */
extern const llm_proto oai_embed_proto;       /* state: oai_embed_state_new() */

void *oai_chat_state_new(void);
/* sink and ud are kept for the call's life; n = number of inputs sent. */
void *oai_embed_state_new(const rk_embed_sink *sink, void *ud, size_t n);

#endif
