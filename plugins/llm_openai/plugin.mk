PLUGIN_PKGS_llm_openai := jansson
PLUGIN_CFLAGS_llm_openai := -Iplugins/lib/llm
PLUGIN_SRCS_llm_openai := plugins/lib/llm/llm_common.c plugins/lib/llm/llm_sse.c plugins/lib/llm/llm_client.c plugins/lib/llm/llm_call.c common/oj.c
