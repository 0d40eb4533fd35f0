/*
 * hostkeys — owns the step from the transport's key management calls to
 * the generation that answers them: the current generation's keystore is
 * taken with a reference (a reload may retire the generation while a
 * database call is in flight; the reference keeps its store and history
 * instance alive until the call returns), and config keys are refused
 * with RK_ERR_EXISTS, because a key that a file defines would come back
 * with the next reload: the file is where it changes.
 */
#include "hostkeys.h"

#include "hostauth.h"
#include "hostgen.h"
#include "keyadmin.h"

static int config_key(const char *id, rk_err *err)
{
    return rk_fail(err, RK_ERR_EXISTS, "API key '%s' is defined in the configuration "
                   "(auth.keys): change or remove it there and reload; only keys created "
                   "over HTTP can be rotated or revoked here", id);
}

int hostkeys_create(const rk_api_key_spec *spec, rk_api_key_secret_fn fn, void *ud,
                    rk_err *err)
{
    keystore *ks = hostauth_keys_ref(NULL, NULL);
    int rc = keyadmin_create(ks, spec, fn, ud, err);
    keystore_unref(ks);
    return rc;
}

int hostkeys_list(const char *tenant, void (*fn)(void *ud, const rk_api_key *k), void *ud,
                  rk_err *err)
{
    if (!fn) return rk_fail(err, RK_ERR_INVALID, "key_list: no callback");
    keystore *ks = hostauth_keys_ref(NULL, NULL);
    hostauth_config_keys(tenant, fn, ud);
    /* no store, or one that cannot keep keys: the config keys are the
     * whole answer (creating one says why there are no others) */
    rk_err why = {{0}};
    int rc = keystore_supported(ks, &why) == RK_OK ? keyadmin_list(ks, tenant, fn, ud, err)
                                                   : RK_OK;
    keystore_unref(ks);
    return rc;
}

int hostkeys_rotate(const char *id, int64_t grace_ms, rk_api_key_secret_fn fn, void *ud,
                    rk_err *err)
{
    int is_config = 0;
    keystore *ks = hostauth_keys_ref(id, &is_config);
    int rc = is_config ? config_key(id, err) : keyadmin_rotate(ks, id, grace_ms, fn, ud, err);
    keystore_unref(ks);
    return rc;
}

int hostkeys_revoke(const char *id, rk_err *err)
{
    int is_config = 0;
    keystore *ks = hostauth_keys_ref(id, &is_config);
    int rc = is_config ? config_key(id, err) : keyadmin_revoke(ks, id, err);
    keystore_unref(ks);
    return rc;
}
