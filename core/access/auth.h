/*
 * auth — API keys from the `auth:` section: each key has a name, a secret
 * (kept only as its SHA-256), a tenant, scopes and per-minute limits.
 *
 *   auth:
 *     limiter: shared            # cache instance with rate_take; absent = in memory
 *     keys:
 *       alice:
 *         key: ${ALICE_KEY}      # or key_sha256: <64 hex digits>
 *         tenant: acme
 *         scopes: [chat, documents:read, documents:write]
 *         requests_per_min: 600  # 0 = unlimited
 *         tokens_per_min: 0
 *     refresh: 2s                # how often keys created over HTTP are reloaded
 *
 * Keys created over HTTP live in the history store (keystore.h); a check
 * consults both. Config keys cannot be changed over HTTP.
 */
#ifndef RK_CORE_AUTH_H
#define RK_CORE_AUTH_H

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "keystore.h"

typedef struct auth auth;

/* Parse and validate the section (NULL = no keys: auth off). Plaintext
 * secrets are hashed and wiped from the config tree (sec is modified). NULL
 * with diagnostics on error. */
auth *auth_new(cfg_node *sec, cfg_diag *d);
void auth_free(auth *a);

int auth_required(const auth *a);
/* RK_OK + *who, or RK_ERR_AUTH. a may be NULL (auth off). */
int auth_check(const auth *a, const char *key, rk_principal *who, rk_err *err);
/* Keys required: config keys, or any record in the store, revoked or
 * expired ones too (a server without config keys locks itself once a key
 * is created over HTTP, and revoking the last one must not open it). */
int auth_required_with(const auth *a, keystore *ks);
/* auth_check, also against the stored keys of ks (may be NULL). */
int auth_check_with(const auth *a, keystore *ks, const char *key, rk_principal *who,
                    rk_err *err);
/* auth.refresh in ms (KEYSTORE_REFRESH_MS when not set; a may be NULL). */
int64_t auth_refresh_ms(const auth *a);
/* 1 if name is a config key (auth.keys). */
int auth_has_key(const auth *a, const char *name);

/* [A-Za-z0-9_-]{1,64}: key names, tenants and stored key ids. */
int auth_ident_ok(const char *s);
/* Each config key as the management slots show it (no digest); tenant
 * NULL = all. */
void auth_each(const auth *a, const char *tenant, void (*fn)(void *ud, const rk_api_key *k),
               void *ud);
/* The limiter instance name, or NULL. */
const char *auth_limiter(const auth *a);
/* Limits of a key (0 = unlimited); 0 if found, -1 if not. */
int auth_limits(const auth *a, const char *key_id, int64_t *rpm, int64_t *tpm);
/* "chat" -> RK_SCOPE_CHAT, ...; 0 if unknown. */
uint32_t auth_scope_parse(const char *s);
/* The keys of the auth: section and of one auth.keys entry, for the
 * generated config reference (confdoc.h); static tables. */
const rk_config_key *auth_schema(void);
const rk_config_key *auth_key_schema(void);

#endif
