PLUGIN_LIBS_llm_extractive := -lstemmer -lm
