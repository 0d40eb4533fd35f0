PLUGIN_PKGS_retriever_postgres := libpq
PLUGIN_LIBS_retriever_postgres := -lstemmer -lpthread
PLUGIN_CFLAGS_retriever_postgres := -Iplugins/lib/pg -Iplugins/lib/text
PLUGIN_SRCS_retriever_postgres := plugins/lib/pg/pgpool.c plugins/lib/text/tp_token.c plugins/lib/text/tp_lang.c plugins/lib/text/tp_stem.c
