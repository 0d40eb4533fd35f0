/*
 * tmpdir — temporary directories of the unit tests. Check runs each case
 * in a child process that leaves with _exit on a failed assertion and is
 * killed on a timeout, so neither atexit handlers nor teardown code in the
 * child can be relied on to clean up. Every directory is therefore made
 * under one base directory that the parent (ph_run_suite) creates before
 * forking and removes after the last case, whatever happened to the cases.
 * A binary that does not go through ph_run_suite gets a base on first use,
 * removed at exit by the process that made it (never by a forked child
 * that inherited the handler).
 */
#define _GNU_SOURCE
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_base[256]; /* "" until made */
static pid_t g_owner;    /* the process that made g_base */

static int base_make(void)
{
    /* named after the binary so a leftover says where it came from */
    int n = snprintf(g_base, sizeof g_base, "/tmp/rk_%s_XXXXXX", program_invocation_short_name);
    if (n < 0 || (size_t)n >= sizeof g_base || !mkdtemp(g_base)) {
        g_base[0] = '\0';
        return -1;
    }
    g_owner = getpid();
    return 0;
}

int ph_tmpbase_open(void) { return g_base[0] ? 0 : base_make(); }

void ph_tmpbase_close(void)
{
    if (!g_base[0] || g_owner != getpid())
        return;
    ph_rmtree(g_base);
    g_base[0] = '\0';
}

static void base_at_exit(void) { ph_tmpbase_close(); }

void ph_tmpdir(char *out, size_t cap)
{
    if (!g_base[0]) {
        ck_assert_msg(base_make() == 0, "cannot make a directory under /tmp: %s",
                      strerror(errno));
        atexit(base_at_exit);
    }
    int n = snprintf(out, cap, "%s/t_XXXXXX", g_base);
    ck_assert_msg(n > 0 && (size_t)n < cap, "temporary path does not fit in %zu bytes", cap);
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int ph_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
