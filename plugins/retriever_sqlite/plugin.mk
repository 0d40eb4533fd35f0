PLUGIN_PKGS_retriever_sqlite := sqlite3
PLUGIN_LIBS_retriever_sqlite := -lstemmer -lpthread -lm
PLUGIN_CFLAGS_retriever_sqlite := -Iplugins/lib/text
PLUGIN_SRCS_retriever_sqlite := plugins/lib/text/tp_token.c plugins/lib/text/tp_lang.c plugins/lib/text/tp_stem.c
