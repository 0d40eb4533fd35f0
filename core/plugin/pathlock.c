/*
 * pathlock — owns the lock files of on-disk state. The core does not know
 * which directories hold data (plugins do), so plugins ask through
 * rk_host.lock_path and the host keeps one flock per path for the whole
 * process. A reload builds the new generation while the old one still
 * holds its files, so the lock is counted per generation (group) rather
 * than taken again: flock locks belong to an open file description, and a
 * second open in the same process would conflict with the first. The pid
 * in the file is only for the message of the process that is refused;
 * the flock is what counts, so a file left by a crashed process (kernel
 * released its lock) is taken over silently.
 */
#define _GNU_SOURCE
#include "pathlock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct plock {
    struct plock *next;
    char *key; /* canonical lock file path */
    int fd;
    const void **groups;
    size_t n, cap;
} plock;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static plock *g_locks; /* under g_mu */

/* mkdir -p dir (0750); RK_OK or RK_ERR_IO. dir is modified and restored. */
static int mkdirs(char *dir, rk_err *err)
{
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        int bad = mkdir(dir, 0750) != 0 && errno != EEXIST;
        *p = c;
        if (bad)
            return rk_fail(err, RK_ERR_IO, "cannot create directory %s: %s", dir,
                           strerror(errno));
        if (c == '\0') return RK_OK;
    }
}

/* "<realpath(dir of path)>/<base of path>.lock" into out. */
static int lock_key(const char *path, char *out, size_t cap, rk_err *err)
{
    char buf[PATH_MAX], buf2[PATH_MAX], canon[PATH_MAX];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    if (n == 0 || n >= sizeof buf)
        return rk_fail(err, RK_ERR_INVALID, "lock_path: bad path '%s'", path);
    memcpy(buf, path, n);
    buf[n] = '\0';
    memcpy(buf2, buf, n + 1);
    char *dir = dirname(buf), *base = basename(buf2);
    int rc = mkdirs(dir, err);
    if (rc != RK_OK) return rc;
    if (!realpath(dir, canon))
        return rk_fail(err, RK_ERR_IO, "%s: %s", dir, strerror(errno));
    int w = snprintf(out, cap, "%s/%s.lock", strcmp(canon, "/") ? canon : "", base);
    if (w < 0 || (size_t)w >= cap)
        return rk_fail(err, RK_ERR_INVALID, "lock_path: path too long: %s", path);
    return RK_OK;
}

/* flock the file at key; the new fd, or <0 with err naming path. */
static int lock_file(const char *key, const char *path, rk_err *err)
{
    int fd = open(key, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return rk_fail(err, RK_ERR_IO, "cannot open %s: %s", key, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char txt[32] = "";
        ssize_t got = pread(fd, txt, sizeof txt - 1, 0);
        long pid = got > 0 ? strtol(txt, NULL, 10) : 0;
        close(fd);
        if (e != EWOULDBLOCK)
            return rk_fail(err, RK_ERR_IO, "cannot lock %s: %s", key, strerror(e));
        if (pid > 0)
            return rk_fail(err, RK_ERR_UNAVAILABLE,
                           "%s is in use by another ragkernel (pid %ld)", path, pid);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "%s is in use by another process (lock %s)",
                       path, key);
    }
    char txt[32];
    int len = snprintf(txt, sizeof txt, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, txt, (size_t)len, 0) != len) {
        int e = errno;
        close(fd);
        return rk_fail(err, RK_ERR_IO, "cannot write %s: %s", key, strerror(e));
    }
    return fd;
}

static void pathlock_release_locked(const void *group);

static int add_group(plock *l, const void *group)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->groups[i] == group) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 2;
        const void **g = realloc(l->groups, cap * sizeof *g);
        if (!g) return -1;
        l->groups = g;
        l->cap = cap;
    }
    l->groups[l->n++] = group;
    return 0;
}

static void plock_free(plock *l)
{
    if (l->fd >= 0) close(l->fd); /* releases the flock */
    free(l->groups);
    free(l->key);
    free(l);
}

/* *out = the lock at key, taken now if this process does not hold it yet
 * (g_mu held). RK_OK or the failure's status. */
static int find_or_take(const char *key, const char *path, plock **out, rk_err *err)
{
    for (plock *l = g_locks; l; l = l->next)
        if (strcmp(l->key, key) == 0) {
            *out = l;
            return RK_OK;
        }
    plock *l = calloc(1, sizeof *l);
    if (!l || !(l->key = strdup(key))) {
        free(l);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    l->fd = lock_file(key, path, err);
    if (l->fd < 0) {
        int rc = l->fd;
        l->fd = -1;
        plock_free(l);
        return rc;
    }
    l->next = g_locks;
    g_locks = l;
    *out = l;
    return RK_OK;
}

int pathlock_acquire(const void *group, const char *path, rk_err *err)
{
    if (!path) return rk_fail(err, RK_ERR_INVALID, "lock_path: no path");
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file::memory:", 13) == 0) return RK_OK;
    char key[PATH_MAX];
    int rc = lock_key(path, key, sizeof key, err);
    if (rc != RK_OK) return rc;
    pthread_mutex_lock(&g_mu);
    plock *l = NULL;
    rc = find_or_take(key, path, &l, err);
    if (rc == RK_OK && add_group(l, group) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        pathlock_release_locked(NULL); /* drops l if it was just taken */
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

/* Drop group's references and the locks nobody holds (g_mu held); NULL
 * drops only the locks nobody holds. */
static void pathlock_release_locked(const void *group)
{
    for (plock **p = &g_locks; *p;) {
        plock *l = *p;
        size_t i = 0;
        while (i < l->n) {
            if (l->groups[i] == group)
                l->groups[i] = l->groups[--l->n];
            else
                i++;
        }
        if (l->n == 0) {
            *p = l->next;
            plock_free(l);
        } else {
            p = &l->next;
        }
    }
}

void pathlock_release(const void *group)
{
    pthread_mutex_lock(&g_mu);
    pathlock_release_locked(group);
    pthread_mutex_unlock(&g_mu);
}
