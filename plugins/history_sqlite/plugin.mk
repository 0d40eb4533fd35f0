PLUGIN_LIBS_history_sqlite := $(shell pkg-config --libs sqlite3)
PLUGIN_CFLAGS_history_sqlite := $(shell pkg-config --cflags sqlite3)
