/*
 * pathlock — process-wide locks on the files and directories that plugins
 * own on disk, so a second ragkernel started with the same data refuses
 * to start instead of sharing SQLite files and document trees with us.
 *
 * Threads: any (one mutex).
 */
#ifndef RK_CORE_PATHLOCK_H
#define RK_CORE_PATHLOCK_H

#include <ragkernel/error.h>

/* Hold "<path>.lock" (trailing slashes of path dropped; the directory is
 * created if missing) for group: flock(LOCK_EX) once per process, with the
 * pid written into the file; a group that already holds it, or another
 * group of this process (a reload), only adds a reference. RK_OK, or
 * RK_ERR_UNAVAILABLE with "<path> is in use by another ragkernel (pid N)",
 * or RK_ERR_IO naming the path. ":memory:" (SQLite) needs no lock. */
int pathlock_acquire(const void *group, const char *path, rk_err *err);
/* Drop group's references; locks nobody holds any more are released (the
 * file stays: unlinking it would race with a process about to lock it). */
void pathlock_release(const void *group);

#endif
