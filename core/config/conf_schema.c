/*
 * conf_schema — the keys of the core's own config sections. Kept apart from
 * conf.c so the tables read as documentation; the README's config reference
 * mirrors them. LIST defaults are comma-separated.
 */
#include "conf.h"

const rk_config_key conf_server_schema[] = {
    {"plugin_path", RK_CFG_LIST, NULL, 0,
     "directories searched for <plugin>.so, in order (after $RK_PLUGIN_DIR); absent = "
     "build/plugins beside a build tree's binary, then the installed plugin directory "
     "(PREFIX/lib/ragkernel/plugins)"},
    {"log_level", RK_CFG_STRING, "info", 0, "debug, info, warn or error"},
    {"log_format", RK_CFG_STRING, "logfmt", 0, "logfmt or json"},
    {"workers", RK_CFG_INT, "4", 0, "threads for blocking plugin calls"},
    {"loops", RK_CFG_INT, "0", 0, "event-loop threads; 0 = one per CPU (at most 64)"},
    {"http_client", RK_CFG_STRING, "builtin", 0,
     "client for plain-http upstreams at a numeric address or localhost: builtin "
     "(the loops' own HTTP/1.1 client) or libcurl; https and host names always use libcurl"},
    {"shutdown_grace", RK_CFG_DURATION, "10s", 0,
     "how long SIGTERM waits for in-flight requests"},
    {"shutdown_delay", RK_CFG_DURATION, "0s", 0,
     "after SIGTERM, /ready answers 503 while the listener keeps serving this long, "
     "then the drain starts; behind a load balancer set it to the time the balancer "
     "needs to see an unready host (interval x unhealthy threshold). SIGINT and a "
     "second SIGTERM skip it"},
    {NULL, 0, NULL, 0, NULL}};

const rk_config_key conf_pipeline_schema[] = {
    {"llm", RK_CFG_LIST, NULL, 0,
     "LLM instances in fallback order (first = primary)"},
    {"retriever", RK_CFG_STRING, NULL, 0, "retriever instance; absent = no retrieval"},
    {"cache", RK_CFG_STRING, NULL, 0, "cache instance for answers and retrieval; absent = none"},
    {"history", RK_CFG_STRING, NULL, 0, "history instance; absent = stateless"},
    {"storage", RK_CFG_STRING, NULL, 0, "document storage instance; absent = no documents"},
    {"seed_dir", RK_CFG_STRING, NULL, 0,
     "documents uploaded on first run, when the storage holds none"},
    {"extractors", RK_CFG_LIST, NULL, 0,
     "extractor instances that read uploads, in the order they are asked (first match "
     "wins); absent = every extractor instance, in declaration order"},
    {"llm_timeout", RK_CFG_DURATION, "60s", 0, "deadline of one LLM call"},
    {"total_timeout", RK_CFG_DURATION, "120s", 0, "deadline of the whole answer"},
    {"retrieval_timeout", RK_CFG_DURATION, "60s", 0, "deadline of retrieval"},
    {"fast_retrieval_timeout", RK_CFG_DURATION, "20s", 0,
     "deadline of retrieval for simple queries"},
    {"first_token_timeout", RK_CFG_DURATION, "30s", 0,
     "an LLM stream must yield its first token within this"},
    {"inter_chunk_timeout", RK_CFG_DURATION, "30s", 0,
     "longest allowed gap between two chunks of an LLM stream"},
    {"top_k", RK_CFG_INT, "5", 0, "passages retrieved per question"},
    {"fast_top_k", RK_CFG_INT, "3", 0, "passages retrieved per simple question"},
    {"fast_max_words", RK_CFG_INT, "12", 0,
     "a question of at most this many words, with one sentence, is simple"},
    {"cache_ttl", RK_CFG_DURATION, "300s", 0, "TTL of cached answers and retrieval results"},
    {"history_max_messages", RK_CFG_INT, "20", 0,
     "conversations longer than this are compacted in the background"},
    {"history_summarizer", RK_CFG_STRING, NULL, 0,
     "LLM instance that summarizes compacted history; absent = keep the first "
     "sentence of each older message"},
    {"history_ttl", RK_CFG_DURATION, "720h", 0,
     "conversations idle this long are deleted (0 = keep forever)"},
    {"history_expire_interval", RK_CFG_DURATION, "10m", 0,
     "how often idle conversations are looked for"},
    {"history_expire_batch", RK_CFG_INT, "500", 0, "conversations deleted per batch"},
    {"breaker_failures", RK_CFG_INT, "3", 0,
     "consecutive failures that open an LLM instance's circuit"},
    {"breaker_cooldown", RK_CFG_DURATION, "30s", 0,
     "how long an open circuit skips the instance"},
    {"max_messages", RK_CFG_INT, "256", 0, "most messages accepted in one request"},
    {"max_input_bytes", RK_CFG_SIZE, "256k", 0, "most message bytes accepted in one request"},
    {"ingest_timeout", RK_CFG_DURATION, "30s", 0,
     "time budget of one document upload (text extraction by its extractor and "
     "chunking); over it the upload gets 422 and nothing is stored"},
    {"max_answer_bytes", RK_CFG_SIZE, "4m", 0,
     "longest answer; an upstream that writes more is cut off with an error"},
    {"system_prompt", RK_CFG_STRING,
     "You are a helpful assistant. Answer from the numbered context passages "
     "when they are relevant and cite them as [n].",
     0, "system prompt placed before the context passages"},
    {NULL, 0, NULL, 0, NULL}};
