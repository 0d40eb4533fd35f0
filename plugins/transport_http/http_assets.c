/*
 * http_assets — owns the web UI's files in memory. They are few and small
 * (a page, a script, a style sheet), so reading them all when the instance
 * is created costs little and means a request is a lookup in a short list:
 * no disk access on a loop thread, no open file per request, and no path
 * from a URL ever reaches the file system. The rules that keep a URL or a
 * file in the directory from reaching anything else are here, in one place:
 * names are a short, plain alphabet (no '/', "..", '%' or NUL), only the
 * directory's own regular files are read, and a symlink is followed only
 * when its target is in the same directory.
 */
#define _GNU_SOURCE /* O_CLOEXEC, realpath */
#include "http_assets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int assets_name_ok(const char *name)
{
    size_t n = 0;
    if (!name || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (; name[n]; n++) {
        unsigned char c = (unsigned char)name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok || n >= ASSETS_NAME_MAX)
            return 0;
    }
    return n > 0;
}

const char *assets_ctype(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
    };
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

/* FNV-1a 64: an ETag only has to change when the bytes do. */
static void etag_of(asset *f)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < f->len; i++)
        h = (h ^ (unsigned char)f->data[i]) * 0x100000001b3ULL;
    snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
}

/* The whole of path (a regular file of at most max bytes) into f. */
static int read_file(const char *path, asset *f, size_t max, char *msg,
                     size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(msg, cap, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = -1;
    if (!S_ISREG(st.st_mode))
        snprintf(msg, cap, "%s is not a regular file", path);
    else if ((uint64_t)st.st_size > max)
        snprintf(msg, cap, "%s is %lld bytes, over the %zu a web UI file "
                 "(or all of them) may have", path, (long long)st.st_size, max);
    else if (!(f->data = malloc((size_t)st.st_size + 1)))
        snprintf(msg, cap, "out of memory reading %s", path);
    else {
        size_t got = 0, want = (size_t)st.st_size;
        ssize_t k = 1;
        while (got < want && (k = read(fd, f->data + got, want - got)) > 0)
            got += (size_t)k;
        if (k < 0 || got != want)
            snprintf(msg, cap, "cannot read %s: %s", path,
                     k < 0 ? strerror(errno) : "it changed while read");
        else {
            f->len = got;
            etag_of(f);
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

/* dir/name resolved: it must be dir/<something> (symlinks included). */
static int inside(const char *root, const char *name, char *real, char *msg,
                  size_t cap)
{
    char path[PATH_MAX];
    int w = snprintf(path, sizeof path, "%s/%s", root, name);
    if (w < 0 || (size_t)w >= sizeof path || !realpath(path, real)) {
        snprintf(msg, cap, "cannot resolve %s/%s: %s", root, name,
                 w < 0 || (size_t)w >= sizeof path ? "path too long"
                                                   : strerror(errno));
        return -1;
    }
    size_t n = strlen(root);
    const char *slash = strrchr(real, '/');
    if (strncmp(real, root, n) != 0 || slash != real + n) {
        snprintf(msg, cap, "%s/%s resolves to %s, outside the directory",
                 root, name, real);
        return -1;
    }
    return 0;
}

static int add_file(http_assets *a, const char *root, const char *name,
                    size_t *total, char *msg, size_t cap)
{
    char real[PATH_MAX];
    if (inside(root, name, real, msg, cap) < 0)
        return -1;
    struct stat st;
    if (stat(real, &st) != 0 || S_ISDIR(st.st_mode))
        return 0; /* a subdirectory (or gone): not served */
    if (a->n >= ASSETS_FILES_MAX) {
        snprintf(msg, cap, "%s holds more than %d files to serve", root,
                 ASSETS_FILES_MAX);
        return -1;
    }
    asset *f = &a->files[a->n];
    memset(f, 0, sizeof *f);
    size_t room = ASSETS_TOTAL_MAX - *total;
    if (read_file(real, f, room < ASSETS_FILE_MAX ? room : ASSETS_FILE_MAX,
                  msg, cap) < 0)
        return -1;
    memcpy(f->name, name, strlen(name) + 1);
    f->ctype = assets_ctype(name);
    *total += f->len;
    a->n++;
    return 0;
}

int assets_load(const char *dir, http_assets **out, char *msg, size_t cap)
{
    char root[PATH_MAX];
    *out = NULL;
    if (!realpath(dir, root)) {
        snprintf(msg, cap, "cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    DIR *d = opendir(root);
    http_assets *a = calloc(1, sizeof *a);
    if (a)
        a->files = calloc(ASSETS_FILES_MAX, sizeof *a->files);
    if (!d || !a || !a->files) {
        snprintf(msg, cap, "cannot read %s: %s", root,
                 d ? "out of memory" : strerror(errno));
        if (d)
            closedir(d);
        assets_free(a);
        return -1;
    }
    size_t total = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (assets_name_ok(e->d_name) && assets_ctype(e->d_name))
            rc = add_file(a, root, e->d_name, &total, msg, cap);
    closedir(d);
    if (rc < 0) {
        assets_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

const asset *assets_find(const http_assets *a, const char *path)
{
    if (!a || !path || path[0] != '/')
        return NULL;
    const char *name = path[1] ? path + 1 : "index.html";
    if (!assets_name_ok(name))
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->files[i].name, name) == 0)
            return &a->files[i];
    return NULL;
}

void assets_free(http_assets *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->files && i < a->n; i++)
        free(a->files[i].data);
    free(a->files);
    free(a);
}

int assets_path_has_nul(const char *target)
{
    for (const char *p = target; p && *p && *p != '?' && *p != '#'; p++)
        if (p[0] == '%' && p[1] == '0' && p[2] == '0')
            return 1;
    return 0;
}
