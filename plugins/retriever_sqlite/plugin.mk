PLUGIN_LIBS_retriever_sqlite := $(shell pkg-config --libs sqlite3) -lstemmer -lpthread -lm
