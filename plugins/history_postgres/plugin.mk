PLUGIN_PKGS_history_postgres := libpq
PLUGIN_LIBS_history_postgres := -lpthread
PLUGIN_CFLAGS_history_postgres := -Iplugins/lib/pg
PLUGIN_SRCS_history_postgres := plugins/lib/pg/pgpool.c
