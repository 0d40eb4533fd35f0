/*
 * docver — owns the "docver:<tenant>" cache entries. A random value (not a
 * counter) needs no read-modify-write, so two hosts bumping at once cannot
 * lose an update that matters: any new value invalidates. The entry lives
 * 30 days; if it expires the version reads as "" and the old keys come back
 * only for entries whose own TTL (minutes) outlived it — none in practice.
 */
#define _GNU_SOURCE
#include "docver.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "gate.h"
#include "log.h"
#include "registry.h"

#define DOCVER_TTL_MS (30LL * 24 * 3600 * 1000)

static void key_of(const char *tenant, char *key, size_t cap)
{
    snprintf(key, cap, "docver:%s", tenant ? tenant : "default");
}

typedef struct docver_out { char *out; } docver_out;

static void on_value(void *ud, const void *data, size_t len)
{
    docver_out *o = ud;
    if (len >= DOCVER_LEN) len = DOCVER_LEN - 1;
    memcpy(o->out, data, len);
    o->out[len] = '\0';
}

void docver_read(rk_instance *cache, const char *tenant, char out[DOCVER_LEN])
{
    out[0] = '\0';
    if (!cache) return;
    char key[96];
    key_of(tenant, key, sizeof key);
    rk_err err = {{0}};
    docver_out o = {out};
    int rc = GATE_CALL(cache, rk_cache_vtable, get, RK_ERR_UNSUPPORTED, key, strlen(key), on_value,
                       &o, &err);
    if (rc != RK_OK) out[0] = '\0';
}

void docver_bump(rk_instance *cache, const char *tenant)
{
    if (!cache) return;
    unsigned char rnd[16];
    char val[DOCVER_LEN], key[96];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return;
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(val + 2 * i, 3, "%02x", rnd[i]);
    key_of(tenant, key, sizeof key);
    rk_err err = {{0}};
    int rc = GATE_CALL(cache, rk_cache_vtable, set, RK_ERR_UNSUPPORTED, key, strlen(key), val,
                       strlen(val), DOCVER_TTL_MS, &err);
    if (rc != RK_OK)
        log_warn(cache->name, "could not record a document change for tenant %s: %s; cached "
                 "answers may cite old documents until their TTL", tenant, err.msg);
}
