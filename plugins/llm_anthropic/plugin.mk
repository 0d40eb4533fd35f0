PLUGIN_PKGS_llm_anthropic := jansson
PLUGIN_CFLAGS_llm_anthropic := -Iplugins/lib/llm
PLUGIN_SRCS_llm_anthropic := plugins/lib/llm/llm_common.c plugins/lib/llm/llm_sse.c plugins/lib/llm/llm_client.c plugins/lib/llm/llm_call.c common/oj.c
