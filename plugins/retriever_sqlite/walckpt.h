/*
 * walckpt — checkpoints a WAL-mode SQLite database from a background
 * thread instead of inside the committing writer.
 *
 * Threads: walckpt_start/walckpt_stop from the thread that owns the writer
 * connection; the hook it installs runs in that writer's commits.
 */
#ifndef RK_RETRIEVER_SQLITE_WALCKPT_H
#define RK_RETRIEVER_SQLITE_WALCKPT_H

#include <sqlite3.h>

typedef struct walckpt walckpt;

/* Take over checkpointing for writer (a connection to path). NULL if the
 * thread or its connection cannot be had: SQLite's automatic checkpoints
 * then stay in charge, which is correct, only slower. */
walckpt *walckpt_start(sqlite3 *writer, const char *path, int busy_ms);
/* Stop and join the thread; call before closing the writer. */
void walckpt_stop(walckpt *k);

#endif
