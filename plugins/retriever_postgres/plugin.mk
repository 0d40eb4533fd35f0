PLUGIN_LIBS_retriever_postgres := $(shell pkg-config --libs libpq) -lstemmer -lpthread
PLUGIN_CFLAGS_retriever_postgres := $(shell pkg-config --cflags libpq) -Iplugins/lib/pg -Iplugins/lib/text
PLUGIN_SRCS_retriever_postgres := plugins/lib/pg/pgpool.c plugins/lib/text/textproc.c
