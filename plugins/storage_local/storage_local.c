/*
 * storage_local — documents as files: <root>/<tenant>/<id>.blob holds the
 * bytes and <id>.meta.json the metadata. The meta file is what makes an
 * object exist: put publishes it last and remove deletes it first, so a
 * crash in between leaves at worst an orphan blob that no call reports.
 * A put stages both files completely (written and fsynced) before touching
 * the visible names, and keeps a hard link to the previous blob until the
 * meta is in place, so any failure restores the old object. Commits and
 * removals of one (tenant, id) are serialised by a striped mutex; reads
 * take no lock, since every visible name is always a complete file. What a
 * crash leaves behind (staging files, backups of a replacement in
 * progress, orphan blobs) is repaired at create by recover.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

#include "files.h"
#include "meta.h"
#include "recover.h"

#define N_STRIPES 64
#define IO_CHUNK (64 * 1024)
#define ROOT_MAX (PATH_MAX - 3 * FILES_NAME_MAX - 32)

typedef struct local_ctx {
    const rk_host *host;
    rk_instance *self;
    char root[PATH_MAX];
    pthread_mutex_t stripes[N_STRIPES];
} local_ctx;

static const rk_config_key local_keys[] = {
    {"root", RK_CFG_STRING, "./data/documents", 0,
     "directory holding <tenant>/<id>.blob and <id>.meta.json; created if missing"},
    {NULL, 0, NULL, 0, NULL}};

static pthread_mutex_t *stripe_of(local_ctx *c, const char *tenant, const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = tenant; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &c->stripes[h % N_STRIPES];
}

static int check_names(const char *tenant, const char *id, rk_err *err)
{
    if (!files_name_ok(tenant))
        return rk_fail(err, RK_ERR_INVALID, "invalid tenant (want [A-Za-z0-9_-]{1,64})");
    if (id && !files_name_ok(id))
        return rk_fail(err, RK_ERR_INVALID, "invalid document id (want [A-Za-z0-9_-]{1,64})");
    return RK_OK;
}

/* The paths of one object. */
typedef struct obj_paths {
    char dir[PATH_MAX], blob[PATH_MAX], meta[PATH_MAX], backup[PATH_MAX], meta_backup[PATH_MAX];
} obj_paths;

/* Validates the names, then builds the paths (which always fit: the root
 * is bounded at create and names are at most 64 bytes). */
static int obj_paths_make(const local_ctx *c, const char *tenant, const char *id,
                          obj_paths *p, rk_err *err)
{
    int rc = check_names(tenant, id, err);
    if (rc == RK_OK)
        rc = files_path(p->dir, sizeof p->dir, err, "%s/%s", c->root, tenant);
    if (rc == RK_OK)
        rc = files_path(p->blob, sizeof p->blob, err, "%s/%s.blob", p->dir, id);
    if (rc == RK_OK)
        rc = files_path(p->meta, sizeof p->meta, err, "%s/%s.meta.json", p->dir, id);
    if (rc == RK_OK)
        rc = files_path(p->backup, sizeof p->backup, err, "%s/.%s" RECOVER_BLOB_PREV, p->dir, id);
    if (rc == RK_OK)
        rc = files_path(p->meta_backup, sizeof p->meta_backup, err, "%s/.%s" RECOVER_META_PREV,
                        p->dir, id);
    return rc;
}

/* Publish the two staged files. Caller holds the object's stripe. The old
 * blob stays reachable as a hard link until the new meta is in place, and
 * so does the old meta: after a crash, recover.c tells "the meta was not
 * replaced yet" (its backup is still the same file as the meta: put the
 * old blob back) from "it was" (keep the new blob). */
static int commit(obj_paths *p, files_staged *blob, files_staged *meta, rk_err *err)
{
    unlink(p->backup); /* left over from a crash, if any */
    unlink(p->meta_backup);
    if (link(p->meta, p->meta_backup) != 0 && errno != ENOENT)
        return rk_fail(err, RK_ERR_IO, "link %s: %s", p->meta_backup, strerror(errno));
    int had_old = link(p->blob, p->backup) == 0;
    if (!had_old && errno != ENOENT) {
        unlink(p->meta_backup);
        return rk_fail(err, RK_ERR_IO, "link %s: %s", p->backup, strerror(errno));
    }
    int rc = files_staged_publish(blob, p->blob, err);
    if (rc == RK_OK) {
        rc = files_staged_publish(meta, p->meta, err);
        if (rc != RK_OK) {
            if (had_old)
                rename(p->backup, p->blob);
            else
                unlink(p->blob);
        }
    }
    unlink(p->backup); /* first: a meta backup alone means nothing (recover.c) */
    unlink(p->meta_backup);
    rk_err ignored;
    files_fsync_dir(p->dir, rc == RK_OK ? err : &ignored);
    return rc;
}

static int local_put(void *ctxp, const rk_doc_meta *meta, rk_read_fn read,
                     void *rud, rk_err *err)
{
    local_ctx *c = ctxp;
    if (!meta || !read)
        return rk_fail(err, RK_ERR_INVALID, "put without metadata or body");
    obj_paths p;
    int rc = obj_paths_make(c, meta->tenant, meta->id, &p, err);
    if (rc != RK_OK)
        return rc;
    if (access(p.dir, F_OK) != 0) {
        if ((rc = files_mkdirs(p.dir, err)) != RK_OK ||
            (rc = files_fsync_dir(c->root, err)) != RK_OK)
            return rc;
    }
    rk_doc_meta m = *meta;
    if (m.created_ms == 0)
        m.created_ms = c->host->wall_ms();
    char *mtext = NULL;
    size_t mlen = 0;
    files_staged sblob = {.active = 0}, smeta = {.active = 0};
    if ((rc = meta_encode(&m, &mtext, &mlen, err)) != RK_OK)
        goto out;
    if ((rc = files_stage_stream(&sblob, p.dir, meta->id, meta->size, read, rud, err)) != RK_OK)
        goto out;
    if ((rc = files_stage_bytes(&smeta, p.dir, meta->id, mtext, mlen, err)) != RK_OK)
        goto out;
    pthread_mutex_t *mu = stripe_of(c, meta->tenant, meta->id);
    pthread_mutex_lock(mu);
    rc = commit(&p, &sblob, &smeta, err);
    pthread_mutex_unlock(mu);
out:
    files_staged_discard(&sblob);
    files_staged_discard(&smeta);
    free(mtext);
    return rc;
}

/* Stream [off, end) of fd to write() in IO_CHUNK pieces. */
static int stream_range(int fd, uint64_t off, uint64_t end, rk_write_fn write,
                        void *wud, rk_err *err)
{
    char *buf = malloc(IO_CHUNK);
    if (!buf)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int rc = RK_OK;
    while (off < end) {
        size_t want = end - off < IO_CHUNK ? (size_t)(end - off) : IO_CHUNK;
        ssize_t r = pread(fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = rk_fail(err, RK_ERR_IO, "read: %s", r < 0 ? strerror(errno) : "file shrank");
            break;
        }
        if (write(wud, buf, (size_t)r) < 0) {
            rc = rk_fail(err, RK_ERR_CANCELLED, "the receiver aborted the transfer");
            break;
        }
        off += (uint64_t)r;
    }
    free(buf);
    return rc;
}

static int local_get(void *ctxp, const char *tenant, const char *id,
                     uint64_t offset, uint64_t length, rk_write_fn write,
                     void *wud, rk_err *err)
{
    local_ctx *c = ctxp;
    obj_paths p;
    int rc = obj_paths_make(c, tenant, id, &p, err);
    if (rc != RK_OK)
        return rc;
    if (!write)
        return rk_fail(err, RK_ERR_INVALID, "get without a write callback");
    int fd = open(p.blob, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id)
                               : rk_fail(err, RK_ERR_IO, "open: %s", strerror(errno));
    struct stat st;
    if (access(p.meta, F_OK) != 0) {
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id);
    } else if (fstat(fd, &st) != 0) {
        rc = rk_fail(err, RK_ERR_IO, "stat: %s", strerror(errno));
    } else if (offset > (uint64_t)st.st_size) {
        rc = rk_fail(err, RK_ERR_INVALID, "offset %llu is past the end (%llu bytes)",
                     (unsigned long long)offset, (unsigned long long)st.st_size);
    } else {
        uint64_t size = (uint64_t)st.st_size;
        uint64_t end = length == 0 || length > size - offset ? size : offset + length;
        rc = stream_range(fd, offset, end, write, wud, err);
    }
    close(fd);
    return rc;
}

static int local_stat(void *ctxp, const char *tenant, const char *id,
                      void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud,
                      rk_err *err)
{
    local_ctx *c = ctxp;
    obj_paths p;
    int rc = obj_paths_make(c, tenant, id, &p, err);
    if (rc != RK_OK)
        return rc;
    meta_doc doc;
    rc = meta_load(p.meta, tenant, id, &doc, err);
    if (rc == RK_ERR_NOT_FOUND)
        return rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id);
    if (rc != RK_OK)
        return rc;
    if (on_meta)
        on_meta(ud, &doc.m);
    meta_doc_free(&doc);
    return RK_OK;
}

static int keep_meta(char *name, int is_dir)
{
    static const char suffix[] = ".meta.json";
    size_t n = strlen(name), s = sizeof suffix - 1;
    if (is_dir || n <= s || strcmp(name + n - s, suffix) != 0 ||
        !files_name_ok_n(name, n - s))
        return 0;
    name[n - s] = '\0'; /* keep the id only: ids sort, file names would not */
    return 1;
}

static int keep_tenant(char *name, int is_dir)
{
    return is_dir && files_name_ok(name);
}

/* One tenant's objects after `after`, until *listed reaches limit (0 = no
 * limit). */
static int list_tenant(local_ctx *c, const char *tenant, const char *after,
                       size_t limit, size_t *listed,
                       void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud,
                       rk_err *err)
{
    char dir[PATH_MAX];
    char **ids = NULL;
    size_t n = 0;
    int rc = files_path(dir, sizeof dir, err, "%s/%s", c->root, tenant);
    if (rc == RK_OK)
        rc = files_list_names(dir, keep_meta, &ids, &n, err);
    for (size_t i = 0; rc == RK_OK && i < n && (limit == 0 || *listed < limit); i++) {
        if (after && strcmp(ids[i], after) <= 0)
            continue;
        char path[PATH_MAX];
        meta_doc doc;
        int r = files_path(path, sizeof path, err, "%s/%s.meta.json", dir, ids[i]);
        if (r == RK_OK)
            r = meta_load(path, tenant, ids[i], &doc, err);
        if (r == RK_ERR_NOT_FOUND)
            continue; /* removed while we were listing */
        if (r != RK_OK) {
            rc = r;
            break;
        }
        if (on_meta)
            on_meta(ud, &doc.m);
        meta_doc_free(&doc);
        (*listed)++;
    }
    files_names_free(ids, n);
    return rc;
}

/* Every tenant, in (tenant, id) order. The cursor is "<tenant>/<id>" of the
 * last object seen, since ids are only unique within a tenant. */
static int list_all(local_ctx *c, const char *after, size_t limit, size_t *listed,
                    void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud,
                    rk_err *err)
{
    char cur_tenant[FILES_NAME_MAX + 1] = "";
    const char *cur_id = NULL;
    if (after) {
        const char *slash = strchr(after, '/');
        if (!slash || !files_name_ok_n(after, (size_t)(slash - after)) ||
            !files_name_ok(slash + 1))
            return rk_fail(err, RK_ERR_INVALID,
                           "cursor across tenants must be \"<tenant>/<id>\"");
        memcpy(cur_tenant, after, (size_t)(slash - after));
        cur_tenant[slash - after] = '\0';
        cur_id = slash + 1;
    }
    char **tenants = NULL;
    size_t n = 0;
    int rc = files_list_names(c->root, keep_tenant, &tenants, &n, err);
    for (size_t i = 0; rc == RK_OK && i < n && (limit == 0 || *listed < limit); i++) {
        int cmp = cur_id ? strcmp(tenants[i], cur_tenant) : 1;
        if (cmp < 0)
            continue;
        rc = list_tenant(c, tenants[i], cmp == 0 ? cur_id : NULL, limit, listed,
                         on_meta, ud, err);
    }
    files_names_free(tenants, n);
    return rc;
}

static int local_list(void *ctxp, const char *tenant, const char *after,
                      size_t limit, void (*on_meta)(void *ud, const rk_doc_meta *m),
                      void *ud, rk_err *err)
{
    local_ctx *c = ctxp;
    size_t listed = 0;
    int rc;
    if (tenant) {
        if ((rc = check_names(tenant, NULL, err)) != RK_OK)
            return rc;
        rc = list_tenant(c, tenant, after, limit, &listed, on_meta, ud, err);
    } else {
        rc = list_all(c, after, limit, &listed, on_meta, ud, err);
    }
    if (rc != RK_OK)
        return rc;
    return listed > (size_t)INT32_MAX ? INT32_MAX : (int)listed;
}

static int local_remove(void *ctxp, const char *tenant, const char *id, rk_err *err)
{
    local_ctx *c = ctxp;
    obj_paths p;
    int rc = obj_paths_make(c, tenant, id, &p, err);
    if (rc != RK_OK)
        return rc;
    pthread_mutex_t *mu = stripe_of(c, tenant, id);
    pthread_mutex_lock(mu);
    if (unlink(p.meta) != 0) {
        rc = errno == ENOENT ? rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id)
                             : rk_fail(err, RK_ERR_IO, "unlink: %s", strerror(errno));
    } else {
        unlink(p.blob); /* the object is already gone; an orphan blob is harmless */
        rc = files_fsync_dir(p.dir, err);
    }
    pthread_mutex_unlock(mu);
    return rc;
}

static void local_destroy(void *ctxp)
{
    local_ctx *c = ctxp;
    if (!c)
        return;
    for (int i = 0; i < N_STRIPES; i++)
        pthread_mutex_destroy(&c->stripes[i]);
    free(c);
}

static int local_create(const rk_host *host, rk_instance *self, void **ctx,
                        rk_err *err)
{
    const char *root = host->cfg_string(self, "root");
    char where[128];
    if (!root || !*root || strlen(root) >= ROOT_MAX)
        return rk_fail(err, RK_ERR_CONFIG, "%s: root must be a directory path",
                       host->cfg_where(self, "root", where, sizeof where));
    /* one process per document tree (the host keeps it across reloads) */
    int rc = RK_HAS_FIELD(host, rk_host, lock_path) && host->lock_path
                 ? host->lock_path(self, root, err)
                 : RK_OK;
    if (rc == RK_OK)
        rc = files_mkdirs(root, err);
    if (rc != RK_OK)
        return rc;
    local_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->self = self;
    snprintf(c->root, sizeof c->root, "%s", root);
    size_t n = strlen(c->root);
    while (n > 1 && c->root[n - 1] == '/')
        c->root[--n] = '\0';
    for (int i = 0; i < N_STRIPES; i++)
        pthread_mutex_init(&c->stripes[i], NULL);
    recover_root(host, self, c->root);
    *ctx = c;
    return RK_OK;
}

static const rk_storage_vtable local_vtable = {
    .struct_size = sizeof(rk_storage_vtable),
    .put = local_put,
    .get = local_get,
    .stat = local_stat,
    .list = local_list,
    .remove = local_remove,
};

static const rk_plugin storage_local_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_STORAGE,
    .name = "storage_local",
    .version = "1.0.0",
    .description = "documents as files under a local directory, written atomically",
    .flags = 0,
    .config = local_keys,
    .create = local_create,
    .destroy = local_destroy,
    .vtable = &local_vtable,
};

RK_PLUGIN_DEFINE(storage_local_plugin)
