PLUGIN_LIBS_history_postgres := $(shell pkg-config --libs libpq) -lpthread
PLUGIN_CFLAGS_history_postgres := $(shell pkg-config --cflags libpq) -Iplugins/lib/pg
PLUGIN_SRCS_history_postgres := plugins/lib/pg/pgpool.c
