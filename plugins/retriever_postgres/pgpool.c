#include "../history_postgres/pgpool.c" /* shared with history_postgres: one source, two .so files */
