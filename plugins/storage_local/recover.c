/*
 * recover — owns storage_local's start-up repair. A put writes dot-files
 * (staging files ".<id>.XXXXXX", and during commit the backups
 * ".<id>.blob.previous" and ".<id>.meta.previous") that a crash can leave
 * behind; no call ever reports them, but they hold disk space for ever
 * (a 2 MB staging file survived restarts). A crash between the two
 * renames of a replacement leaves the new blob under the old meta: the
 * meta backup tells which side of the meta rename the crash fell on (the
 * same inode as the meta: not renamed yet, so the old blob goes back).
 * A blob without a meta (a first put cut before its meta) is invisible
 * and removed. Storage is the source of truth the index is rebuilt from,
 * so after this pass every visible object is whole and nothing else is
 * left. Files are judged by ctime against the first create() of this
 * plugin in the process (the kernel's coarse clock, the one file times
 * come from): anything newer may belong to a live put of a generation
 * still running during a reload, and is never touched. A root is repaired
 * once per process (a reload does not repeat it), so a wall clock set
 * back while running cannot make a live file look old either.
 */
#define _GNU_SOURCE
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

#define MAX_ROOTS 32

static pthread_once_t first_once = PTHREAD_ONCE_INIT;
static struct timespec first_create;
static pthread_mutex_t roots_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t roots_done[MAX_ROOTS]; /* FNV-1a of the roots repaired */
static size_t n_roots_done;

static void note_first_create(void) { clock_gettime(CLOCK_REALTIME_COARSE, &first_create); }

/* 1 the first time root is seen in this process (or when the table is
 * full: the ctime rule alone then keeps live files safe). */
static int first_time(const char *root)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *p = root; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    int first = 1;
    pthread_mutex_lock(&roots_mu);
    for (size_t i = 0; i < n_roots_done && first; i++)
        first = roots_done[i] != h;
    if (first && n_roots_done < MAX_ROOTS)
        roots_done[n_roots_done++] = h;
    pthread_mutex_unlock(&roots_mu);
    return first;
}

typedef struct rec_counts {
    size_t leftovers, restored, orphans, failed;
} rec_counts;

/* A regular file last changed before this process's first create(). */
static int stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return st.st_ctim.tv_sec < first_create.tv_sec ||
           (st.st_ctim.tv_sec == first_create.tv_sec &&
            st.st_ctim.tv_nsec < first_create.tv_nsec);
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static void drop(const char *path, size_t *count, rec_counts *n)
{
    if (unlink(path) == 0)
        (*count)++;
    else if (errno != ENOENT)
        n->failed++;
}

/* ".<id>.blob.previous": a replacement of <id> was cut during commit. */
static void finish_commit(const char *dir, const char *name, rec_counts *n)
{
    char id[FILES_NAME_MAX + 1], bprev[PATH_MAX], mprev[PATH_MAX], blob[PATH_MAX],
        meta[PATH_MAX];
    size_t len = strlen(name) - 1 - strlen(RECOVER_BLOB_PREV);
    rk_err err;
    if (len == 0 || len > FILES_NAME_MAX)
        return;
    memcpy(id, name + 1, len);
    id[len] = '\0';
    if (!files_name_ok(id) ||
        files_path(bprev, sizeof bprev, &err, "%s/%s", dir, name) != RK_OK ||
        files_path(mprev, sizeof mprev, &err, "%s/.%s" RECOVER_META_PREV, dir, id) != RK_OK ||
        files_path(blob, sizeof blob, &err, "%s/%s.blob", dir, id) != RK_OK ||
        files_path(meta, sizeof meta, &err, "%s/%s.meta.json", dir, id) != RK_OK ||
        !stale(bprev))
        return;
    if (same_file(mprev, meta)) { /* the meta is still the old one */
        if (rename(bprev, blob) == 0)
            n->restored++;
        else
            n->failed++;
    } else {
        drop(bprev, &n->leftovers, n);
    }
}

/* <id>.blob whose <id>.meta.json does not exist. */
static void drop_orphan(const char *dir, const char *name, rec_counts *n)
{
    char blob[PATH_MAX], meta[PATH_MAX];
    size_t len = strlen(name) - strlen(".blob");
    rk_err err;
    if (len > FILES_NAME_MAX || !files_name_ok_n(name, len) ||
        files_path(blob, sizeof blob, &err, "%s/%s", dir, name) != RK_OK ||
        files_path(meta, sizeof meta, &err, "%s/%.*s.meta.json", dir, (int)len, name) != RK_OK)
        return;
    if (access(meta, F_OK) != 0 && errno == ENOENT && stale(blob))
        drop(blob, &n->orphans, n);
}

static int keep_file(char *name, int is_dir)
{
    return !is_dir && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static void recover_dir(const char *dir, rec_counts *n)
{
    char **names = NULL, path[PATH_MAX];
    size_t k = 0;
    rk_err err;
    rec_counts before = *n;
    if (files_list_names(dir, keep_file, &names, &k, &err) != RK_OK) {
        n->failed++;
        return;
    }
    for (size_t i = 0; i < k; i++) /* first: they need the meta backups */
        if (names[i][0] == '.' && ends_with(names[i], RECOVER_BLOB_PREV))
            finish_commit(dir, names[i], n);
    for (size_t i = 0; i < k; i++) {
        if (names[i][0] == '.') {
            if (files_path(path, sizeof path, &err, "%s/%s", dir, names[i]) == RK_OK &&
                stale(path))
                drop(path, &n->leftovers, n);
        } else if (ends_with(names[i], ".blob")) {
            drop_orphan(dir, names[i], n);
        }
    }
    files_names_free(names, k);
    if (memcmp(&before, n, sizeof before) != 0)
        files_fsync_dir(dir, &err);
}

static int keep_tenant(char *name, int is_dir) { return is_dir && files_name_ok(name); }

void recover_root(const rk_host *host, rk_instance *self, const char *root)
{
    char **tenants = NULL, dir[PATH_MAX];
    size_t k = 0;
    rk_err err = {{0}};
    rec_counts n = {0};
    pthread_once(&first_once, note_first_create);
    if (!first_time(root))
        return;
    if (files_list_names(root, keep_tenant, &tenants, &k, &err) != RK_OK) {
        host->log(self, RK_LOG_WARN, "start-up repair of %s skipped: %s", root, err.msg);
        return;
    }
    for (size_t i = 0; i < k; i++)
        if (files_path(dir, sizeof dir, &err, "%s/%s", root, tenants[i]) == RK_OK)
            recover_dir(dir, &n);
    files_names_free(tenants, k);
    if (n.leftovers || n.restored || n.orphans)
        host->log(self, RK_LOG_INFO,
                  "repaired %s after an interrupted run: removed %zu staging or backup "
                  "files and %zu blobs without metadata, put back %zu replaced blobs whose "
                  "replacement never committed",
                  root, n.leftovers, n.orphans, n.restored);
    if (n.failed)
        host->log(self, RK_LOG_WARN,
                  "start-up repair of %s: %zu leftover files could not be handled", root,
                  n.failed);
}
