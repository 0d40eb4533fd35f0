/*
 * hostauth — the host's auth and limits slots, over the keys of the
 * generation answering requests (hostgen.h): config keys and stored keys.
 */
#ifndef RK_CORE_HOSTAUTH_H
#define RK_CORE_HOSTAUTH_H

#include <ragkernel/host.h>
#include <ragkernel/services.h>

#include "keystore.h"

/* rk_host.auth_required, authenticate and rate_limit. */
int hostauth_required(void);
int hostauth_authenticate(const char *api_key, rk_principal *who, rk_err *err);
int hostauth_rate_limit(const rk_principal *who, int64_t requests, int64_t tokens, int force,
                        int64_t *retry_after_ms, rk_err *err);

/* A reference to the current generation's stored keys (NULL: none; the
 * caller keystore_unref's it), and whether config_id names a config key
 * of the generation answering requests (is_config may be NULL). */
keystore *hostauth_keys_ref(const char *config_id, int *is_config);
/* The config keys of the generation answering requests, to fn. */
void hostauth_config_keys(const char *tenant, void (*fn)(void *ud, const rk_api_key *k),
                          void *ud);

#endif
