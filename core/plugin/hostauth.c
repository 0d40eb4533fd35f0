/*
 * hostauth — the host's auth and limits slots (rk_host.auth_required,
 * authenticate, rate_limit) and the key lookups the key service needs.
 * Keys and limits belong to the configuration generation, so a reload can
 * add or revoke keys; the in-process buckets outlive reloads (ratelimit.c).
 */
#include "hostauth.h"

#include <stdio.h>

#include "auth.h"
#include "hostgen.h"
#include "ratelimit.h"

/* A generation being started already answers with its own keys: its
 * transport may take requests before the swap. */
static const auth *current_auth(void)
{
    const registry *r = hostgen_keys_registry();
    return r ? r->conf->auth : NULL;
}

/* A starting generation is asked by its transports whether they may
 * listen beyond loopback: only its config keys count then, as in
 * --check-config (the store may be unreachable at start-up). */
int hostauth_required(void)
{
    const generation *g = hostgen_read();
    int r = hostgen_starting() ? auth_required(current_auth())
                               : auth_required_with(current_auth(), g->keys);
    hostgen_done();
    return r;
}

int hostauth_authenticate(const char *api_key, rk_principal *who, rk_err *err)
{
    const generation *g = hostgen_read();
    int rc = auth_check_with(current_auth(), g->keys, api_key, who, err);
    hostgen_done();
    return rc;
}

/* One bucket per key and budget: "rl:req:<key>" and "rl:tok:<key>". */
int hostauth_rate_limit(const rk_principal *who, int64_t requests, int64_t tokens, int force,
                        int64_t *retry_after_ms, rk_err *err)
{
    int64_t rpm = 0, tpm = 0, retry = 0;
    char name[96];
    int rc = RK_OK;
    const generation *g = hostgen_read();
    if (auth_limits(current_auth(), who->key_id, &rpm, &tpm) < 0)
        keystore_limits(g->keys, who->key_id, &rpm, &tpm);
    if (requests > 0 && rpm > 0) {
        snprintf(name, sizeof name, "rl:req:%s", who->key_id);
        rc = ratelimit_take(g->limiter, name, (double)rpm, (double)requests, force, &retry);
    }
    if (rc == RK_OK && tokens > 0 && tpm > 0) {
        snprintf(name, sizeof name, "rl:tok:%s", who->key_id);
        rc = ratelimit_take(g->limiter, name, (double)tpm, (double)tokens, force, &retry);
    }
    hostgen_done();
    if (retry_after_ms) *retry_after_ms = retry;
    if (rc == RK_ERR_RATE_LIMITED)
        rk_fail(err, rc, "rate limit exceeded for key '%s': retry in %lld ms", who->key_id,
                (long long)retry);
    return rc;
}

keystore *hostauth_keys_ref(const char *config_id, int *is_config)
{
    const generation *g = hostgen_read();
    if (is_config) *is_config = auth_has_key(current_auth(), config_id);
    keystore *ks = keystore_ref(g->keys);
    hostgen_done();
    return ks;
}

void hostauth_config_keys(const char *tenant, void (*fn)(void *ud, const rk_api_key *k),
                          void *ud)
{
    (void)hostgen_read();
    auth_each(current_auth(), tenant, fn, ud);
    hostgen_done();
}
