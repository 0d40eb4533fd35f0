/*
 * storage_failing — a document storage whose writes always fail, for
 * testing what the host does when storage is down: put() reads a little of
 * the body (so the host's reader is exercised) and then refuses with
 * RK_ERR_UNAVAILABLE; the store stays empty, so list() finds nothing and
 * stat/get/remove answer RK_ERR_NOT_FOUND. Counts the calls it received so
 * a test can see put() was reached.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include <ragkernel/ragkernel.h>

typedef struct sf {
    atomic_int puts;
} sf;

static int sf_put(void *ctx, const rk_doc_meta *m, rk_read_fn read, void *rud, rk_err *err)
{
    sf *s = ctx;
    char buf[16];
    (void)m;
    atomic_fetch_add(&s->puts, 1);
    if (read(rud, buf, sizeof buf) < 0) return rk_fail(err, RK_ERR_IO, "read failed");
    return rk_fail(err, RK_ERR_UNAVAILABLE, "disk is on fire (put #%d)", atomic_load(&s->puts));
}

static int sf_get(void *ctx, const char *tenant, const char *id, uint64_t offset,
                  uint64_t length, rk_write_fn write, void *wud, rk_err *err)
{
    (void)ctx, (void)tenant, (void)offset, (void)length, (void)write, (void)wud;
    return rk_fail(err, RK_ERR_NOT_FOUND, "no document '%s'", id);
}

static int sf_stat(void *ctx, const char *tenant, const char *id,
                   void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    (void)ctx, (void)tenant, (void)on_meta, (void)ud;
    return rk_fail(err, RK_ERR_NOT_FOUND, "no document '%s'", id);
}

static int sf_list(void *ctx, const char *tenant, const char *after, size_t limit,
                   void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    (void)ctx, (void)tenant, (void)after, (void)limit, (void)on_meta, (void)ud, (void)err;
    return 0;
}

static int sf_remove(void *ctx, const char *tenant, const char *id, rk_err *err)
{
    (void)ctx, (void)tenant;
    return rk_fail(err, RK_ERR_NOT_FOUND, "no document '%s'", id);
}

static int sf_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    (void)host, (void)self;
    sf *s = calloc(1, sizeof *s);
    if (!s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    *ctx = s;
    return RK_OK;
}

static void sf_destroy(void *ctx) { free(ctx); }

static const rk_storage_vtable vt = {sizeof vt, sf_put, sf_get, sf_stat, sf_list, sf_remove};

static const rk_plugin desc = {
    RK_PLUGIN_HEADER, .kind = RK_KIND_STORAGE, .name = "storage_failing", .version = "1.0.0",
    .description = "test storage whose every put fails", .create = sf_create,
    .destroy = sf_destroy, .vtable = &vt};

RK_PLUGIN_DEFINE(desc)
