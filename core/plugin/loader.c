/*
 * loader — owns the trust boundary between the core and a plugin file: it
 * dlopens the .so, calls its single entry symbol and decides, before any
 * other plugin code runs, whether the descriptor can be used by this host.
 * Every check reads only what the plugin's own struct_size says exists, so
 * a descriptor built against older or newer headers is judged without
 * reading past its end. Refusals are one line naming the file, the plugin
 * and both ABI versions, because that line is all an operator sees when a
 * deployment fails to start.
 */
#define _GNU_SOURCE
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "loader_image.h"

/* Longest schema table we walk: a table without its NULL terminator would
 * otherwise send us through the plugin's whole data segment. */
#define SCHEMA_MAX_KEYS 1024
#define NAME_MAX_LEN 64

/* Field ends inside rk_plugin, to know what a short descriptor still holds. */
#define DESC_END(field) (offsetof(rk_plugin, field) + sizeof(((rk_plugin *)0)->field))

const char *loader_kind_name(rk_kind k)
{
    switch (k) {
    case RK_KIND_TRANSPORT: return "transport";
    case RK_KIND_LLM: return "llm";
    case RK_KIND_RETRIEVER: return "retriever";
    case RK_KIND_CACHE: return "cache";
    case RK_KIND_STORAGE: return "storage";
    case RK_KIND_HISTORY: return "history";
    case RK_KIND_EXTRACTOR: return "extractor";
    }
    return "?";
}

static int name_ok(const char *s)
{
    if (!s || !*s) return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
        if (n >= NAME_MAX_LEN) return 0;
    }
    return 1;
}

/* The name as it may appear in a message: a bad name could hold newlines or
 * be huge, and the refusal must stay one readable line. */
static void printable_name(const rk_plugin *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    if (!d || d->struct_size < DESC_END(name) || !d->name) return;
    size_t i = 0;
    for (; d->name[i] && i + 1 < cap && i < NAME_MAX_LEN; i++) {
        unsigned char c = (unsigned char)d->name[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[i] = '\0';
    if (i == 0) snprintf(buf, cap, "?");
}

/* One refusal line: "<file>: plugin <name>: <what> (host ABI 1.0, plugin ABI X.Y)". */
__attribute__((format(printf, 4, 5)))
static int refuse(rk_err *err, const char *path, const rk_plugin *d,
                  const char *fmt, ...)
{
    char what[160], name[NAME_MAX_LEN + 1], abi[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    printable_name(d, name, sizeof name);
    if (d && d->struct_size >= DESC_END(abi_minor))
        snprintf(abi, sizeof abi, "%u.%u", (unsigned)d->abi_major,
                 (unsigned)d->abi_minor);
    else
        snprintf(abi, sizeof abi, "?");
    return rk_fail(err, RK_ERR_ABI, "%s: plugin %s: %s (host ABI %d.%d, plugin ABI %s)",
                   path ? path : "?", name, what, RK_ABI_MAJOR, RK_ABI_MINOR, abi);
}

/* Size of the 1.0 vtable of a kind and the names/offsets of its required
 * slots. Offsets come from the 1.0 headers, which is what we compare to. */
typedef struct slot_req {
    const char *name;
    size_t off;
} slot_req;

#define SLOT(type, f) {#f, offsetof(type, f)}
static const slot_req llm_slots[] = {SLOT(rk_llm_vtable, complete),
                                     SLOT(rk_llm_vtable, cancel),
                                     SLOT(rk_llm_vtable, models), {NULL, 0}};
static const slot_req retriever_slots[] = {
    SLOT(rk_retriever_vtable, index), SLOT(rk_retriever_vtable, remove),
    SLOT(rk_retriever_vtable, search), SLOT(rk_retriever_vtable, doc_chunks),
    {NULL, 0}};
static const slot_req cache_slots[] = {SLOT(rk_cache_vtable, get),
                                       SLOT(rk_cache_vtable, set),
                                       SLOT(rk_cache_vtable, del), {NULL, 0}};
static const slot_req storage_slots[] = {
    SLOT(rk_storage_vtable, put), SLOT(rk_storage_vtable, get),
    SLOT(rk_storage_vtable, stat), SLOT(rk_storage_vtable, list),
    SLOT(rk_storage_vtable, remove), {NULL, 0}};
static const slot_req history_slots[] = {
    SLOT(rk_history_vtable, append), SLOT(rk_history_vtable, load),
    SLOT(rk_history_vtable, replace), SLOT(rk_history_vtable, expire),
    {NULL, 0}};
static const slot_req extractor_slots[] = {
    SLOT(rk_extractor_vtable, formats), SLOT(rk_extractor_vtable, extract), {NULL, 0}};
static const slot_req no_slots[] = {{NULL, 0}};
#undef SLOT

/* The 1.0 size of each vtable, pinned to its last 1.0 slot: slots added
 * later (e.g. the cache's optional rate_take, since 1.1) must not make
 * older plugins look short. The host checks RK_HAS_FIELD before calling a
 * newer slot. */
#define END(type, f) (offsetof(type, f) + sizeof(((type *)0)->f))
static size_t vtable_size_1_0(rk_kind k, const slot_req **req)
{
    switch (k) {
    case RK_KIND_TRANSPORT: *req = no_slots; return END(rk_transport_vtable, listening);
    case RK_KIND_LLM: *req = llm_slots; return END(rk_llm_vtable, embed);
    case RK_KIND_RETRIEVER: *req = retriever_slots; return END(rk_retriever_vtable, doc_chunks);
    case RK_KIND_CACHE: *req = cache_slots; return END(rk_cache_vtable, del);
    case RK_KIND_STORAGE: *req = storage_slots; return END(rk_storage_vtable, remove);
    case RK_KIND_HISTORY: *req = history_slots; return END(rk_history_vtable, expire);
    /* since 1.1: its first vtable is its smallest */
    case RK_KIND_EXTRACTOR: *req = extractor_slots; return END(rk_extractor_vtable, extract);
    }
    *req = no_slots;
    return 0;
}
#undef END

static int validate_vtable(const rk_plugin *d, const char *path, rk_err *err)
{
    const slot_req *req;
    size_t need = vtable_size_1_0(d->kind, &req);
    uint32_t have = *(const uint32_t *)d->vtable;
    const char *kind = loader_kind_name(d->kind);
    if (have < need)
        return refuse(err, path, d,
                      "%s vtable struct_size %u is smaller than the ABI 1.0 %s vtable (%zu bytes)",
                      kind, (unsigned)have, kind, need);
    for (; req->name; req++) {
        void *slot;
        memcpy(&slot, (const char *)d->vtable + req->off, sizeof slot);
        if (!slot)
            return refuse(err, path, d, "%s vtable slot '%s' is NULL", kind,
                          req->name);
    }
    return RK_OK;
}

static int default_ok(rk_cfg_type t, const char *v)
{
    int64_t i;
    double x;
    int b;
    switch (t) {
    case RK_CFG_INT: return cfg_parse_int(v, &i) == 0;
    case RK_CFG_DOUBLE: return cfg_parse_double(v, &x) == 0;
    case RK_CFG_BOOL: return cfg_parse_bool(v, &b) == 0;
    case RK_CFG_DURATION: return cfg_parse_duration(v, &i) == 0;
    case RK_CFG_SIZE: return cfg_parse_size(v, &i) == 0;
    default: return 1;
    }
}

/* The schema drives validation and docs for every instance, so a broken
 * table is a broken plugin: refuse it here rather than at first use. */
static int validate_schema(const rk_plugin *d, const char *path, rk_err *err)
{
    const rk_config_key *k = d->config;
    if (!k) return RK_OK;
    for (size_t i = 0; k[i].name; i++) {
        if (i >= SCHEMA_MAX_KEYS)
            return refuse(err, path, d, "config schema has no terminator within %d keys",
                          SCHEMA_MAX_KEYS);
        if (!k[i].name[0])
            return refuse(err, path, d, "config key #%zu has an empty name", i);
        if (k[i].type < RK_CFG_STRING || k[i].type > RK_CFG_MAP)
            return refuse(err, path, d, "config key '%.64s' has unknown type %d",
                          k[i].name, (int)k[i].type);
        for (size_t j = 0; j < i; j++)
            if (strcmp(k[j].name, k[i].name) == 0)
                return refuse(err, path, d, "config key '%.64s' is declared twice",
                              k[i].name);
        if (k[i].default_value && !default_ok(k[i].type, k[i].default_value))
            return refuse(err, path, d, "config key '%.64s': default '%.64s' does not parse",
                          k[i].name, k[i].default_value);
    }
    return RK_OK;
}

/* "dir/foo.so" -> "foo": the file name a plugin must be named after. */
static void file_stem(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0) n -= 3;
    if (n >= cap) n = cap - 1;
    memcpy(buf, base, n);
    buf[n] = '\0';
}

static int validate_identity(const rk_plugin *d, const char *path,
                             rk_kind expect_kind, rk_err *err)
{
    if (!name_ok(d->name))
        return refuse(err, path, d, "bad name (must be [a-z0-9_]+, at most %d bytes)",
                      NAME_MAX_LEN);
    if (path) {
        char stem[256];
        file_stem(path, stem, sizeof stem);
        if (strcmp(stem, d->name) != 0)
            return refuse(err, path, d, "name does not match the file name (expected '%s')",
                          stem);
    }
    if (strcmp(loader_kind_name(d->kind), "?") == 0)
        return refuse(err, path, d, "unknown kind %d", (int)d->kind);
    if (expect_kind && d->kind != expect_kind)
        return refuse(err, path, d, "is a %s plugin, expected %s",
                      loader_kind_name(d->kind), loader_kind_name(expect_kind));
    /* a 1.0 host does not know the kind: the descriptor must say so */
    if (d->kind == RK_KIND_EXTRACTOR && d->abi_minor < 1)
        return refuse(err, path, d, "is an extractor, a kind of ABI 1.1, but declares it "
                                    "needs only 1.%u", (unsigned)d->abi_minor);
    return RK_OK;
}

/* Requirements are the bits a host must understand to run the plugin: an
 * unknown one is a refusal, not a hint. A descriptor that claims to need
 * only 1.0 cannot carry any, since a 1.0 host never reads the field. */
static int validate_requirements(const rk_plugin *d, const char *path, rk_err *err)
{
    if (d->struct_size < DESC_END(requirements) || !d->requirements) return RK_OK;
    if (d->abi_minor < 1)
        return refuse(err, path, d,
                      "sets requirement bits 0x%x but declares ABI 1.0, which has no requirements",
                      (unsigned)d->requirements);
    uint32_t unknown = d->requirements & ~(uint32_t)RK_REQUIRE_KNOWN;
    if (unknown)
        return refuse(err, path, d, "requires feature bits 0x%x that this host does not know",
                      (unsigned)unknown);
    return RK_OK;
}

uint32_t loader_caps(const rk_plugin *d)
{
    return d && d->struct_size >= DESC_END(caps) ? d->caps : 0;
}

int loader_validate(const rk_plugin *d, const char *path, rk_kind expect_kind,
                    rk_err *err)
{
    if (!d) return refuse(err, path, NULL, "entry returned NULL");
    if (d->struct_size < DESC_END(abi_minor))
        return refuse(err, path, d, "descriptor struct_size %u is too small to hold the ABI version",
                      (unsigned)d->struct_size);
    /* The version fields are the only ones whose place every ABI shares;
     * compare them before trusting anything else in the struct. */
    if (d->abi_major != RK_ABI_MAJOR)
        return refuse(err, path, d, "ABI major version differs from the host's");
    if (d->abi_minor > RK_ABI_MINOR)
        return refuse(err, path, d, "needs ABI %u.%u, newer than the host's",
                      (unsigned)d->abi_major, (unsigned)d->abi_minor);
    if (d->struct_size < DESC_END(vtable))
        return refuse(err, path, d,
                      "descriptor struct_size %u is smaller than the ABI 1.0 descriptor (%zu bytes)",
                      (unsigned)d->struct_size, DESC_END(vtable));
    int rc = validate_requirements(d, path, err);
    if (rc) return rc;
    rc = validate_identity(d, path, expect_kind, err);
    if (rc) return rc;
    if (!d->create) return refuse(err, path, d, "create is NULL");
    if (!d->destroy) return refuse(err, path, d, "destroy is NULL");
    if (!d->vtable) return refuse(err, path, d, "vtable is NULL");
    rc = validate_vtable(d, path, err);
    if (rc) return rc;
    return validate_schema(d, path, err);
}

loader_plugin *loader_open(const char *path, rk_kind expect_kind, rk_err *err)
{
    loader_plugin *p = NULL;
    ldimg img;
    char why[256];
    if (ldimg_open(path, &img, why, sizeof why) != 0) {
        refuse(err, path, NULL, "cannot load: %s", why);
        return NULL;
    }
    void *sym = dlsym(img.dl, RK_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        refuse(err, path, NULL, "no %s symbol", RK_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    rk_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */
    const rk_plugin *d = entry();
    if (loader_validate(d, path, expect_kind, err) != RK_OK) goto fail;
    p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        rk_fail(err, RK_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    p->dl = img.dl;
    p->image_fd = img.fd;
    p->desc = d;
    return p;
fail:
    if (p) free(p->path);
    free(p);
    ldimg_close(&img);
    return NULL;
}

void loader_close(loader_plugin *p)
{
    if (!p) return;
    ldimg img = {.dl = p->dl, .fd = p->image_fd};
    ldimg_close(&img);
    free(p->path);
    free(p);
}

static char *join_path(const char *dir, const char *file)
{
    char *out = NULL;
    if (asprintf(&out, "%s/%s", *dir ? dir : ".", file) < 0) return NULL;
    return out;
}

loader_plugin *loader_find(const char *const *dirs, size_t n_dirs,
                           const char *name, rk_kind expect_kind, rk_err *err)
{
    /* The name becomes part of a path: keep "../x" and friends out. */
    if (!name_ok(name)) {
        rk_fail(err, RK_ERR_CONFIG, "plugin '%.64s': bad name (must be [a-z0-9_]+)",
                name ? name : "(null)");
        return NULL;
    }
    char file[NAME_MAX_LEN + 8];
    snprintf(file, sizeof file, "%s.so", name);
    for (size_t i = 0; i < n_dirs; i++) {
        char *path = join_path(dirs[i], file);
        if (!path) {
            rk_fail(err, RK_ERR_NOMEM, "out of memory");
            return NULL;
        }
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            loader_plugin *p = loader_open(path, expect_kind, err);
            free(path);
            return p;
        }
        free(path);
    }
    char list[768];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n_dirs && used < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ":" : "", dirs[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    rk_fail(err, RK_ERR_NOT_FOUND, "plugin '%s' not found in %s", name,
            n_dirs ? list : "(empty plugin path)");
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.so names of one directory, sorted so listings are stable. */
static char **list_so(const char *dir, size_t *n)
{
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    DIR *dh = opendir(*dir ? dir : ".");
    if (!dh) return NULL;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".so") != 0) continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) break;
            names = nn;
            cap = ncap;
        }
        if (!(names[*n] = strdup(e->d_name))) break;
        (*n)++;
    }
    closedir(dh);
    if (*n) qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

void loader_scan(const char *const *dirs, size_t n_dirs,
                 void (*fn)(void *ud, const char *path, const loader_plugin *p,
                            const char *error),
                 void *ud)
{
    for (size_t i = 0; i < n_dirs; i++) {
        DIR *probe = opendir(*dirs[i] ? dirs[i] : ".");
        if (!probe) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s: cannot read directory: %s", dirs[i],
                     strerror(errno));
            fn(ud, dirs[i], NULL, msg);
            continue;
        }
        closedir(probe);
        size_t n;
        char **names = list_so(dirs[i], &n);
        for (size_t j = 0; j < n; j++) {
            char *path = join_path(dirs[i], names[j]);
            rk_err err = {{0}};
            loader_plugin *p = path ? loader_open(path, 0, &err) : NULL;
            if (!path) snprintf(err.msg, sizeof err.msg, "out of memory");
            fn(ud, path ? path : names[j], p, p ? NULL : err.msg);
            loader_close(p);
            free(path);
            free(names[j]);
        }
        free(names);
    }
}
