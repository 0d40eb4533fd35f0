/*
 * ragkernel SDK — conversation history plugins (kind RK_KIND_HISTORY).
 *
 * Threading: blocking calls on host worker threads, concurrently unless
 * RK_PLUGIN_SERIALIZE. Conversations belong to a tenant: a call with another
 * tenant must behave as if the conversation did not exist.
 */
#ifndef RAGKERNEL_HISTORY_H
#define RAGKERNEL_HISTORY_H

#include "chat.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_history_entry {
    uint32_t struct_size;
    const char *role;
    const char *content;
    int64_t created_ms; /* Unix time in ms */
} rk_history_entry;

/* since 1.1. One conversation in a listing (rk_history_vtable.list);
 * valid during the callback only. */
typedef struct rk_conv_info {
    uint32_t struct_size;
    const char *id;
    int64_t created_ms, updated_ms; /* Unix ms */
    uint64_t messages;              /* how many it holds */
} rk_conv_info;

/* since 1.1. An API key created over HTTP, as a history store keeps it so
 * that every host sharing the store sees it. Only the SHA-256 of a secret
 * is ever stored, never the secret. Strings are owned by the caller and
 * valid for the duration of the call (key_put) or of the callback
 * (key_list). Times are Unix ms; 0 = never / not revoked. */
typedef struct rk_history_key {
    uint32_t struct_size;
    const char *id;          /* [A-Za-z0-9_-]{1,64}, unique in the store */
    const char *name;        /* [A-Za-z0-9_-]{1,64}, for people */
    const char *tenant;      /* [A-Za-z0-9_-]{1,64} */
    const char *sha256;      /* 64 lowercase hex digits: the secret's digest */
    const char *prev_sha256; /* rotation grace: the previous digest, or NULL */
    int64_t prev_until_ms;   /* ... which stays valid until then */
    uint32_t scopes;         /* RK_SCOPE_* */
    int64_t requests_per_min, tokens_per_min; /* 0 = unlimited */
    int64_t created_ms, expires_ms, revoked_ms, updated_ms;
} rk_history_key;

typedef struct rk_history_vtable {
    RK_VTABLE_HEAD;
    /* Required. Append messages (creating the conversation if needed). */
    int (*append)(void *ctx, const char *tenant, const char *conv_id,
                  const rk_message *msgs, size_t n, rk_err *err);
    /* Required. The last `max` messages (0 = all), oldest first, one call
     * each. RK_ERR_NOT_FOUND if the conversation does not exist. */
    int (*load)(void *ctx, const char *tenant, const char *conv_id, size_t max,
                void (*on_msg)(void *ud, const rk_history_entry *e), void *ud,
                rk_err *err);
    /* Required. Atomically replace the whole conversation (compaction). */
    int (*replace)(void *ctx, const char *tenant, const char *conv_id,
                   const rk_message *msgs, size_t n, rk_err *err);
    /* Required. Delete conversations idle since before idle_before_ms (Unix
     * ms), at most batch of them; returns the number deleted or <0. */
    int64_t (*expire)(void *ctx, int64_t idle_before_ms, size_t batch,
                      rk_err *err);
    /* since 1.1, optional (check RK_HAS_FIELD, may be NULL): a small write
     * that fails when append would (full disk, read-only or damaged store),
     * leaving no conversation behind. While appends fail the host calls it
     * every few seconds on a background thread, to learn when writes work
     * again. RK_OK, or an error with a message. */
    int (*probe)(void *ctx, rk_err *err);
    /* since 1.1, optional (check RK_HAS_FIELD, may be NULL). One page of
     * the tenant's conversations in byte order of their ids, those after
     * `after` (NULL = from the first), at most limit (>= 1), one on_conv
     * each. Returns how many came, or <0. */
    int64_t (*list)(void *ctx, const char *tenant, const char *after,
                    size_t limit,
                    void (*on_conv)(void *ud, const rk_conv_info *c),
                    void *ud, rk_err *err);
    /* since 1.1, optional (check RK_HAS_FIELD, may be NULL). Delete one
     * conversation and its messages; RK_ERR_NOT_FOUND if it does not
     * exist (in this tenant). */
    int (*remove)(void *ctx, const char *tenant, const char *conv_id,
                  rk_err *err);
    /* since 1.1, optional (all three or none; check RK_HAS_FIELD, may be
     * NULL): API keys managed over HTTP (see rk_history_key). The host
     * calls key_list every few seconds from a background thread, so it
     * should be one cheap statement.
     * key_put: insert the record, or replace the one with the same id. */
    int (*key_put)(void *ctx, const rk_history_key *k, rk_err *err);
    /* Every record (revoked ones too), one call each, in no set order;
     * tenant NULL = all tenants, else only that tenant's. */
    int (*key_list)(void *ctx, const char *tenant,
                    void (*on_key)(void *ud, const rk_history_key *k), void *ud,
                    rk_err *err);
    /* Mark the record revoked at revoked_ms (kept, so listings show it);
     * RK_ERR_NOT_FOUND if there is no record with that id. Idempotent. */
    int (*key_revoke)(void *ctx, const char *id, int64_t revoked_ms,
                      rk_err *err);
} rk_history_vtable;

#ifdef __cplusplus
}
#endif
#endif
