/*
 * plugin_check_cache — the cache contract of ragkernel-plugin-check (the
 * default one; a cache declaring RK_CAP_PROXY gets plugin_check_caps.c's):
 * misses, round trips, overwrites, deletes, binary keys and values, and
 * the token buckets of rate_take when the plugin has that slot.
 */
#include <stdio.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "plugin_check.h"

typedef struct value {
    char buf[256];
    size_t len;
    int calls;
} value;

static void on_value(void *ud, const void *data, size_t len)
{
    value *v = ud;
    v->calls++;
    v->len = len;
    memcpy(v->buf, data, len < sizeof v->buf ? len : sizeof v->buf);
}

static int cache_get(const rk_cache_vtable *vt, void *ctx, const void *k, size_t kl, value *v)
{
    rk_err err = {{0}};
    memset(v, 0, sizeof *v);
    return vt->get(ctx, k, kl, on_value, v, &err);
}

static int same(const value *v, const void *data, size_t len)
{
    return v->calls == 1 && v->len == len && memcmp(v->buf, data, len) == 0;
}

/* The optional token bucket (cache.h): a fresh bucket starts full, refuses
 * once the burst is spent without taking anything and says how long to
 * wait, always takes when forced, and refuses a rate of zero. At 60 a
 * minute one token takes a second, so the wait is at most 1000 ms. */
static void rate_contract(checker *ck, const rk_cache_vtable *vt, void *ctx)
{
    rk_err err = {{0}};
    char key[128];
    size_t kl = (size_t)snprintf(key, sizeof key, "rk-check:%s:bucket", ck->tag);
    int64_t retry = -1;
    int rc = RK_OK, taken = 0;
    while (taken < 3 && (rc = vt->rate_take(ctx, key, kl, 60, 3, 1, 0, &retry, &err)) == RK_OK)
        taken++;
    pc_check(ck, taken == 3, "cache rate_take allows the burst of a fresh bucket",
             "take %d of 3 returned %s (%s): %s", taken + 1, rk_status_name(rc), rk_strerror(rc),
             err.msg);
    retry = -1;
    rc = vt->rate_take(ctx, key, kl, 60, 3, 1, 0, &retry, &err);
    pc_check(ck, rc == RK_ERR_RATE_LIMITED && retry > 0 && retry <= 1000,
             "cache rate_take refuses past the burst with retry_after",
             "4th take returned %s (%s), retry_after %lld ms (want RATE_LIMITED, 1..1000 ms)",
             rk_status_name(rc), rk_strerror(rc), (long long)retry);
    rc = vt->rate_take(ctx, key, kl, 60, 3, 1, 1, &retry, &err);
    pc_check(ck, rc == RK_OK, "cache rate_take force always takes", "returned %s (%s): %s",
             rk_status_name(rc), rk_strerror(rc), err.msg);
    rc = vt->rate_take(ctx, key, kl, 0, 3, 1, 0, &retry, &err);
    pc_check(ck, rc == RK_ERR_INVALID, "cache rate_take refuses rate_per_min 0 as INVALID",
          "returned %s (%s)", rk_status_name(rc), rk_strerror(rc));
}

void pc_cache_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_cache_vtable *vt = d->vtable;
    rk_err err = {{0}};
    value v;
    char key[128];
    size_t kl = (size_t)snprintf(key, sizeof key, "rk-check:%s:key", ck->tag);
    int rc = cache_get(vt, ctx, key, kl, &v);
    pc_check(ck, rc == RK_ERR_NOT_FOUND && !v.calls, "cache miss is NOT_FOUND",
          "get returned %s (%s), %d callbacks", rk_status_name(rc), rk_strerror(rc), v.calls);
    rc = vt->set(ctx, key, kl, "value-1", 7, 60000, &err);
    int rc2 = cache_get(vt, ctx, key, kl, &v);
    pc_check(ck, rc == RK_OK && rc2 == RK_OK && same(&v, "value-1", 7), "cache set/get round trip",
             "set %s, get %s, %d callbacks, %zu bytes: %s", rk_status_name(rc), rk_status_name(rc2),
             v.calls, v.len, err.msg);
    rc = vt->set(ctx, key, kl, "value-number-two", 16, 60000, &err);
    rc2 = cache_get(vt, ctx, key, kl, &v);
    pc_check(ck, rc == RK_OK && rc2 == RK_OK && same(&v, "value-number-two", 16), "cache overwrite",
             "set %s, get %s, got %zu bytes", rk_status_name(rc), rk_status_name(rc2), v.len);
    rc = vt->del(ctx, key, kl, &err);
    rc2 = cache_get(vt, ctx, key, kl, &v);
    pc_check(ck, rc == RK_OK && rc2 == RK_ERR_NOT_FOUND, "cache del then miss",
             "del %s, then get %s (%s)", rk_status_name(rc), rk_status_name(rc2), rk_strerror(rc2));
    rc = vt->del(ctx, key, kl, &err);
    pc_check(ck, rc == RK_OK, "cache del of an absent key is OK", "del returned %s",
             rk_status_name(rc));

    /* Keys differ only after a NUL; values hold NULs: lengths, not strlen. */
    char k1[160], k2[160];
    size_t n1 = (size_t)snprintf(k1, sizeof k1, "rk-check:%s:bin", ck->tag) + 3, n2 = n1;
    memcpy(k2, k1, n1);
    k1[n1 - 3] = '\0', k1[n1 - 2] = 'a', k1[n1 - 1] = '\0';
    k2[n2 - 3] = '\0', k2[n2 - 2] = 'b', k2[n2 - 1] = '\0';
    static const char v1[] = {0, 1, 2, 0, 'x'}, v2[] = {'y', 0, 0, 0};
    int ok = vt->set(ctx, k1, n1, v1, sizeof v1, 60000, &err) == RK_OK &&
             vt->set(ctx, k2, n2, v2, sizeof v2, 60000, &err) == RK_OK;
    ok = ok && cache_get(vt, ctx, k1, n1, &v) == RK_OK && same(&v, v1, sizeof v1);
    ok = ok && cache_get(vt, ctx, k2, n2, &v) == RK_OK && same(&v, v2, sizeof v2);
    pc_check(ck, ok, "cache binary keys and values", "values with NULs did not round trip: %s",
          err.msg);
    vt->del(ctx, k1, n1, &err);
    vt->del(ctx, k2, n2, &err);
    if (RK_HAS_FIELD(vt, rk_cache_vtable, rate_take) && vt->rate_take)
        rate_contract(ck, vt, ctx);
}

