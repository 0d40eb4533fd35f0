PLUGIN_LIBS_retriever_postgres := $(shell pkg-config --libs libpq) -lstemmer -lpthread
PLUGIN_CFLAGS_retriever_postgres := $(shell pkg-config --cflags libpq)
