PLUGIN_LIBS_history_postgres := $(shell pkg-config --libs libpq) -lpthread
PLUGIN_CFLAGS_history_postgres := $(shell pkg-config --cflags libpq)
