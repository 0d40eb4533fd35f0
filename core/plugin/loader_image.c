/*
 * loader_image — owns the identity of every plugin image this process
 * dlopened: the (dev, inode, size, mtime) of the file it was read from.
 * dlopen returns the image it already has for a path, so while an old
 * generation still holds a plugin, a .so rebuilt in place would silently
 * be the old code after SIGHUP. When the file under a loaded path is no
 * longer the file that image came from, the new one is copied into a
 * memfd and opened by its /proc/self/fd path: a name and an inode the
 * dynamic linker has never seen, so it maps the new code beside the old.
 * The memfd stays open while its image is loaded so the fd number (and so
 * the name) cannot be reused for another copy meanwhile. Old images go
 * when their generation drains (registry_unref -> loader_close).
 */
#define _GNU_SOURCE
#include "loader_image.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

typedef struct ident {
    void *dl;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int opens; /* our dlopen calls on dl not yet closed */
    struct ident *next;
} ident;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static ident *g_images;

static int same_file(const ident *id, const struct stat *st)
{
    return id->dev == st->st_dev && id->ino == st->st_ino && id->size == st->st_size &&
           id->mtime.tv_sec == st->st_mtim.tv_sec && id->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static ident *find(void *dl)
{
    for (ident *id = g_images; id; id = id->next)
        if (id->dl == dl) return id;
    return NULL;
}

/* Remembers one more open of dl; the first one records the file. */
static void remember(void *dl, const struct stat *st)
{
    ident *id = find(dl);
    if (!id && (id = calloc(1, sizeof *id))) {
        *id = (ident){.dl = dl, .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
                      .mtime = st->st_mtim, .next = g_images};
        g_images = id;
    }
    if (id) id->opens++;
}

/* The file's bytes in a fresh memfd, or -1 with why. */
static int copy_to_memfd(const char *path, off_t size, char *why, size_t cap)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : memfd_create("rk-plugin", MFD_CLOEXEC);
    off_t done = 0;
    while (out >= 0 && done < size) {
        ssize_t n = sendfile(out, in, NULL, (size_t)(size - done));
        if (n <= 0) break;
        done += n;
    }
    if (out < 0 || done != size) {
        snprintf(why, cap, "cannot copy the changed file: %s", strerror(errno ? errno : EIO));
        if (out >= 0) close(out);
        out = -1;
    }
    if (in >= 0) close(in);
    return out;
}

/* Caller holds g_mu. An image of path is loaded and the file changed. */
static int open_copy(const char *path, const struct stat *st, ldimg *out, char *why, size_t cap)
{
    int fd = copy_to_memfd(path, st->st_size, why, cap);
    if (fd < 0) return -1;
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    void *dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(why, cap, "%s", e ? e : "dlopen failed");
        close(fd);
        return -1;
    }
    log_info("core", "%s changed on disk since it was loaded: loading the new image beside the "
                     "old one, which goes when its generation drains", path);
    remember(dl, st);
    *out = (ldimg){.dl = dl, .fd = fd};
    return 0;
}

int ldimg_open(const char *path, ldimg *out, char *why, size_t cap)
{
    struct stat st;
    int have = stat(path, &st) == 0;
    pthread_mutex_lock(&g_mu);
    void *old = have ? dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) : NULL;
    const ident *id = old ? find(old) : NULL;
    int changed = id && !same_file(id, &st);
    if (old) dlclose(old); /* NOLOAD took a reference */
    int rc = 0;
    if (changed) {
        rc = open_copy(path, &st, out, why, cap);
    } else {
        void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
            const char *e = dlerror();
            snprintf(why, cap, "%s", e ? e : "dlopen failed");
            rc = -1;
        } else {
            if (have) remember(dl, &st);
            *out = (ldimg){.dl = dl, .fd = -1};
        }
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void ldimg_close(ldimg *img)
{
    if (!img || !img->dl) return;
    pthread_mutex_lock(&g_mu);
    ident *id = find(img->dl);
    if (id && --id->opens == 0) {
        ident **pp = &g_images;
        while (*pp != id) pp = &(*pp)->next;
        *pp = id->next;
        free(id);
    }
    dlclose(img->dl);
    pthread_mutex_unlock(&g_mu);
    if (img->fd >= 0) close(img->fd);
    *img = (ldimg){.dl = NULL, .fd = -1};
}
