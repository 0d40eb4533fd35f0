/*
 * tmpdir — fresh temporary directories for tests, all under one base
 * directory per test binary that is removed with everything in it.
 */
#ifndef RK_TESTS_TMPDIR_H
#define RK_TESTS_TMPDIR_H

#include <stddef.h>

/* Makes a fresh, empty directory (mode 0700) and writes its path to out.
 * It lives under the run's base directory: ph_run_suite creates the base
 * before the first case and removes it after the last; without
 * ph_run_suite the base is made on first use and removed at exit. Aborts
 * the test if the directory cannot be made or the path does not fit. */
void ph_tmpdir(char *out, size_t cap);

/* Removes path and everything below it, never following symbolic links
 * (rm -rf). 0 also when path does not exist; -1 (errno set) when something
 * could not be removed. */
int ph_rmtree(const char *path);

/* For ph_run_suite: create the base now, in the process that forks the
 * cases, so that a case that dies (a failed assertion leaves with _exit,
 * a timeout with SIGKILL) cannot take its directories with it or leave
 * them behind. 0, or -1 with errno. */
int ph_tmpbase_open(void);
/* Removes the base this process created, with everything in it. */
void ph_tmpbase_close(void);

#endif
