PLUGIN_LIBS_llm_anthropic := $(shell pkg-config --libs jansson)
PLUGIN_CFLAGS_llm_anthropic := $(shell pkg-config --cflags jansson)
