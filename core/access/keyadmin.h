/*
 * keyadmin — creating, listing, rotating and revoking the API keys kept
 * in the history store (keystore.h), for the "auth" service's management
 * slots (services.h). Blocking: worker threads only. Config keys
 * (auth.keys) are not this module's business: the caller refuses them.
 */
#ifndef RK_CORE_KEYADMIN_H
#define RK_CORE_KEYADMIN_H

#include <ragkernel/ragkernel.h>

#include "keystore.h"

#define KEYADMIN_MAX_EXPIRES_MS (10LL * 366 * 24 * 3600 * 1000) /* ten years */
#define KEYADMIN_MAX_GRACE_MS (7LL * 24 * 3600 * 1000)          /* a week */
#define KEYADMIN_MAX_PER_MIN 1000000000LL

/* ks NULL or without the slots: RK_ERR_UNSUPPORTED naming why. */
int keyadmin_create(keystore *ks, const rk_api_key_spec *spec, rk_api_key_secret_fn fn,
                    void *ud, rk_err *err);
int keyadmin_list(keystore *ks, const char *tenant,
                  void (*fn)(void *ud, const rk_api_key *k), void *ud, rk_err *err);
int keyadmin_rotate(keystore *ks, const char *id, int64_t grace_ms, rk_api_key_secret_fn fn,
                    void *ud, rk_err *err);
int keyadmin_revoke(keystore *ks, const char *id, rk_err *err);

#endif
