PLUGIN_LIBS_retriever_sqlite := $(shell pkg-config --libs sqlite3) -lstemmer -lpthread -lm
PLUGIN_CFLAGS_retriever_sqlite := -Iplugins/lib/text
PLUGIN_SRCS_retriever_sqlite := plugins/lib/text/textproc.c
