/*
 * files — durable file primitives for storage_local. Everything that makes
 * a put crash-safe lives here: content is written to a temporary file in the
 * destination directory (a rename across directories could cross file
 * systems and would not be atomic), fsynced before it is renamed, and the
 * directory is fsynced after the rename so the new name survives a power
 * loss. Temporary names start with '.', which no valid id does, so readers
 * never mistake a half-written file for an object. Names are checked
 * against a strict alphabet instead of being sanitised: a name that needs
 * sanitising is a bug or an attack upstream.
 */
#define _GNU_SOURCE /* mkostemp */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CHUNK (64 * 1024)

int files_name_ok_n(const char *s, size_t n)
{
    if (!s || n == 0 || n > FILES_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int files_name_ok(const char *s)
{
    return s && files_name_ok_n(s, strnlen(s, FILES_NAME_MAX + 1));
}

int files_path(char *buf, size_t cap, rk_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return rk_fail(err, RK_ERR_INVALID, "path too long");
    return RK_OK;
}

int files_mkdirs(const char *path, rk_err *err)
{
    char tmp[PATH_MAX];
    int rc = files_path(tmp, sizeof tmp, err, "%s", path);
    if (rc != RK_OK)
        return rc;
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return rk_fail(err, RK_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return rk_fail(err, RK_ERR_IO, "%s is not a directory", path);
    return RK_OK;
}

int files_fsync_dir(const char *dir, rk_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rk_fail(err, RK_ERR_IO, "open %s: %s", dir, strerror(errno));
    int rc = RK_OK;
    if (fsync(fd) != 0)
        rc = rk_fail(err, RK_ERR_IO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int stage_open(files_staged *st, const char *dir, const char *stem,
                      rk_err *err)
{
    st->active = 0;
    int rc = files_path(st->path, sizeof st->path, err, "%s/.%s.XXXXXX", dir, stem);
    if (rc != RK_OK)
        return -1;
    int fd = mkostemp(st->path, O_CLOEXEC);
    if (fd < 0) {
        rk_fail(err, RK_ERR_IO, "create temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    st->active = 1;
    return fd;
}

/* fsync + close; on failure the staged file is removed. */
static int stage_finish(files_staged *st, int fd, int rc, rk_err *err)
{
    if (rc == RK_OK && fsync(fd) != 0)
        rc = rk_fail(err, RK_ERR_IO, "fsync %s: %s", st->path, strerror(errno));
    if (close(fd) != 0 && rc == RK_OK)
        rc = rk_fail(err, RK_ERR_IO, "close %s: %s", st->path, strerror(errno));
    if (rc != RK_OK)
        files_staged_discard(st);
    return rc;
}

/* Pull the body through buf into fd; exactly `expect` bytes or an error. */
static int pump(int fd, char *buf, uint64_t expect, rk_read_fn read, void *rud,
                rk_err *err)
{
    uint64_t total = 0;
    for (;;) {
        int64_t r = read(rud, buf, IO_CHUNK);
        if (r < 0)
            return rk_fail(err, (int)r, "reading the body failed: %s", rk_strerror((int)r));
        if (r == 0)
            break;
        if ((uint64_t)r > IO_CHUNK)
            return rk_fail(err, RK_ERR_INTERNAL, "read callback overran its buffer");
        total += (uint64_t)r;
        if (total > expect)
            return rk_fail(err, RK_ERR_INVALID, "body is longer than the declared %llu bytes",
                           (unsigned long long)expect);
        if (write_all(fd, buf, (size_t)r) != 0)
            return rk_fail(err, RK_ERR_IO, "write: %s", strerror(errno));
    }
    if (total != expect)
        return rk_fail(err, RK_ERR_INVALID, "body has %llu bytes, declared %llu",
                       (unsigned long long)total, (unsigned long long)expect);
    return RK_OK;
}

int files_stage_stream(files_staged *st, const char *dir, const char *stem,
                       uint64_t expect, rk_read_fn read, void *rud, rk_err *err)
{
    char *buf = malloc(IO_CHUNK);
    if (!buf)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int rc = RK_ERR_IO;
    int fd = stage_open(st, dir, stem, err);
    if (fd >= 0)
        rc = stage_finish(st, fd, pump(fd, buf, expect, read, rud, err), err);
    free(buf);
    return rc;
}

int files_stage_bytes(files_staged *st, const char *dir, const char *stem,
                      const void *data, size_t len, rk_err *err)
{
    int fd = stage_open(st, dir, stem, err);
    if (fd < 0)
        return RK_ERR_IO;
    int rc = RK_OK;
    if (write_all(fd, data, len) != 0)
        rc = rk_fail(err, RK_ERR_IO, "write %s: %s", st->path, strerror(errno));
    return stage_finish(st, fd, rc, err);
}

int files_staged_publish(files_staged *st, const char *dest, rk_err *err)
{
    if (!st->active)
        return rk_fail(err, RK_ERR_INTERNAL, "nothing staged for %s", dest);
    if (rename(st->path, dest) != 0)
        return rk_fail(err, RK_ERR_IO, "rename to %s: %s", dest, strerror(errno));
    st->active = 0;
    return RK_OK;
}

void files_staged_discard(files_staged *st)
{
    if (st->active)
        unlink(st->path);
    st->active = 0;
}

int files_read_small(const char *path, size_t max, char **out, size_t *len,
                     rk_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? RK_ERR_NOT_FOUND
                               : rk_fail(err, RK_ERR_IO, "open %s: %s", path, strerror(errno));
    int rc = RK_OK;
    size_t n = 0;
    char *buf = malloc(max + 1);
    if (!buf) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = rk_fail(err, RK_ERR_IO, "read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = rk_fail(err, RK_ERR_IO, "%s is larger than %zu bytes", path, max);
            goto out;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int entry_is_dir(DIR *d, const struct dirent *de)
{
    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_DIR;
    struct stat st;
    return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
}

int files_list_names(const char *dir, int (*keep)(char *name, int is_dir),
                     char ***names, size_t *n, rk_err *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? RK_OK
                               : rk_fail(err, RK_ERR_IO, "opendir %s: %s", dir, strerror(errno));
    int rc = RK_OK;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char name[sizeof de->d_name];
        snprintf(name, sizeof name, "%s", de->d_name);
        if (!keep(name, entry_is_dir(d, de)))
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                goto nomem;
            v = nv;
            cap = ncap;
        }
        if (!(v[cnt] = strdup(name)))
            goto nomem;
        cnt++;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, cmp_names);
    *names = v;
    *n = cnt;
    closedir(d);
    return rc;
nomem:
    files_names_free(v, cnt);
    closedir(d);
    return rk_fail(err, RK_ERR_NOMEM, "out of memory listing %s", dir);
}

void files_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
