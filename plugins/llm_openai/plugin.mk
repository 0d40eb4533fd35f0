PLUGIN_LIBS_llm_openai := $(shell pkg-config --libs jansson)
PLUGIN_CFLAGS_llm_openai := $(shell pkg-config --cflags jansson)
