/*
 * hostkeys — the key management slots of the "auth" service (services.h,
 * since 1.1), over the current generation's keystore.
 */
#ifndef RK_CORE_HOSTKEYS_H
#define RK_CORE_HOSTKEYS_H

#include <ragkernel/ragkernel.h>

int hostkeys_create(const rk_api_key_spec *spec, rk_api_key_secret_fn fn, void *ud,
                    rk_err *err);
int hostkeys_list(const char *tenant, void (*fn)(void *ud, const rk_api_key *k), void *ud,
                  rk_err *err);
int hostkeys_rotate(const char *id, int64_t grace_ms, rk_api_key_secret_fn fn, void *ud,
                    rk_err *err);
int hostkeys_revoke(const char *id, rk_err *err);

#endif
