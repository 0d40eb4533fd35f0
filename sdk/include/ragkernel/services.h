/*
 * ragkernel SDK — role services (since 1.1), as Janus gives each plugin
 * role its own callback table and Redis hands out functions by name.
 *
 * rk_host carries what every plugin needs. What one role needs is looked up
 * once, in create(), by name and by the size the caller relies on:
 *
 *     const rk_chat_service *chat =
 *         RK_SERVICE(host, self, rk_chat_service, RK_SERVICE_CHAT, embed_start);
 *     if (!chat) return rk_fail(err, RK_ERR_UNSUPPORTED, "host has no chat service");
 *
 * The last argument is the last slot the plugin calls without checking:
 * the lookup fails (NULL) only if the host's table ends before it. Slots
 * past it are probed with RK_HAS_FIELD(chat, rk_chat_service, slot). A NULL
 * answer also comes from a host older than 1.1 (no lookup at all), for an
 * unknown name, and for a role the service is not offered to (every
 * service below is offered to transports only). Tables are host-owned and
 * live until the process exits; every one starts with struct_size and only
 * grows at the end, with "since" markers like every other SDK table.
 */
#ifndef RAGKERNEL_SERVICES_H
#define RAGKERNEL_SERVICES_H

#include "history.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* End of `field` inside `type`: the min_size that covers it. */
#define RK_END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

static inline const void *rk_service_lookup(const rk_host *h, const rk_instance *self,
                                            const char *name, size_t min_size)
{
    return RK_HAS_FIELD(h, rk_host, service) && h->service ? h->service(self, name, min_size)
                                                           : NULL;
}

#define RK_SERVICE(host, self, type, name, last)                               \
    ((const type *)rk_service_lookup((host), (self), (name), RK_END_OF(type, last)))

/* ---- "chat": the chat pipeline (transports) ------------------------------
 * Same contracts as the deprecated rk_host slots of the same names. */
#define RK_SERVICE_CHAT "chat"
typedef struct rk_chat_service {
    uint32_t struct_size;
    int (*chat_start)(const rk_instance *self, const rk_chat_input *in,
                      const rk_chat_sink *sink, void *ud, rk_chat **chat,
                      rk_err *err);
    void (*chat_cancel)(rk_chat *chat);
    void (*list_models)(void (*fn)(void *ud, const char *id, const char *owner),
                        void *ud);
    int (*embed_start)(const rk_instance *self, const char *model,
                       const char *const *inputs, size_t n,
                       const rk_embed_sink *sink, void *ud, rk_chat **call,
                       rk_err *err);
    /* since 1.1 (check RK_HAS_FIELD). any: backpressure. The transport's
     * unsent output for chat passed its high-water mark (pause != 0), or
     * drained below its low-water mark (0): the host stops or resumes
     * reading the chat's upstream, so a client that reads slower than the
     * upstream writes does not make the host buffer the difference.
     * Idempotent; ignored once the chat has finished (call it only before
     * on_done returns). */
    void (*chat_flow)(rk_chat *chat, int pause);
} rk_chat_service;

/* ---- "documents": upload, list, download, delete (transports) -----------
 * Same contracts as the deprecated rk_host doc_* slots. */
#define RK_SERVICE_DOCUMENTS "documents"
typedef struct rk_docs_service {
    uint32_t struct_size;
    int (*doc_put)(const rk_instance *self, const rk_doc_upload *up,
                   const rk_doc_sink *sink, void *ud, rk_err *err);
    int (*doc_list)(const rk_instance *self, const char *tenant,
                    const char *after, size_t limit, const rk_doc_sink *sink,
                    void *ud, rk_err *err);
    int (*doc_get)(const rk_instance *self, const char *tenant, const char *id,
                   uint64_t offset, uint64_t length, const rk_doc_sink *sink,
                   void *ud, rk_err *err);
    int (*doc_delete)(const rk_instance *self, const char *tenant,
                      const char *id, const rk_doc_sink *sink, void *ud,
                      rk_err *err);
    /* since 1.1 (check RK_HAS_FIELD). One document's state: on_status
     * (rk_doc_status), then on_done(RK_OK, 200); 404 when it is neither
     * stored nor being uploaded. */
    int (*doc_status)(const rk_instance *self, const char *tenant,
                      const char *id, const rk_doc_sink *sink, void *ud,
                      rk_err *err);
    /* since 1.1. Re-extract and re-index the stored document from storage,
     * then on_status (the new state) and on_done(RK_OK, 200); 404 unknown,
     * 415/422 when its bytes no longer extract, 503 index unavailable. */
    int (*doc_reindex)(const rk_instance *self, const char *tenant,
                       const char *id, const rk_doc_sink *sink, void *ud,
                       rk_err *err);
    /* since 1.1. doc_put that answers once the upload is accepted: input
     * errors as doc_put; else on_status (state "pending", phase "queued",
     * its id) and on_done(RK_OK, 202). The host goes on extracting,
     * storing and indexing it; doc_status reports progress and outcome. */
    int (*doc_put_async)(const rk_instance *self, const rk_doc_upload *up,
                         const rk_doc_sink *sink, void *ud, rk_err *err);
} rk_docs_service;

/* ---- "auth": API keys (transports) --------------------------------------
 * Same contracts as the deprecated rk_host slots. */
#define RK_SERVICE_AUTH "auth"

/* since 1.1. An API key as the management slots describe it: never its
 * secret, never its digest. Strings valid during the callback only. */
typedef struct rk_api_key {
    uint32_t struct_size;
    const char *id;     /* stored keys: "key_" + 16 hex; config keys: the name */
    const char *name;
    const char *tenant;
    const char *source; /* "config" (auth.keys: cannot be changed over HTTP) or "stored" */
    uint32_t scopes;    /* RK_SCOPE_* */
    int64_t requests_per_min, tokens_per_min; /* 0 = unlimited */
    int64_t created_ms, expires_ms, revoked_ms; /* Unix ms; 0 = unknown / never / live */
    int64_t grace_until_ms; /* after a rotation: the previous secret works until then */
} rk_api_key;

/* since 1.1. What key_create makes. */
typedef struct rk_api_key_spec {
    uint32_t struct_size;
    const char *name;   /* [A-Za-z0-9_-]{1,64} */
    const char *tenant; /* [A-Za-z0-9_-]{1,64} */
    uint32_t scopes;    /* RK_SCOPE_*, at least one */
    int64_t requests_per_min, tokens_per_min; /* >= 0; 0 = unlimited */
    int64_t expires_in_ms; /* 0 = never */
} rk_api_key_spec;

/* since 1.1. The answer of key_create and key_rotate: the key and its new
 * secret, which exists nowhere else (the store holds its SHA-256): show it
 * once, never log it. */
typedef void (*rk_api_key_secret_fn)(void *ud, const rk_api_key *k, const char *secret);

typedef struct rk_auth_service {
    uint32_t struct_size;
    int (*auth_required)(void);
    int (*authenticate)(const char *api_key, rk_principal *who, rk_err *err);
    /* since 1.1 (check RK_HAS_FIELD). Key management, kept in the history
     * store so every host sharing it sees a change within auth.refresh.
     * Blocking (a database round trip): call from a worker (run_blocking),
     * never from a loop. Errors: RK_ERR_INVALID (a field, named),
     * RK_ERR_NOT_FOUND (no such id), RK_ERR_EXISTS (a config key, or a
     * revoked one: cannot be changed), RK_ERR_UNSUPPORTED (no history store,
     * or its plugin lacks the key slots: the message names it), or the
     * store's error. on_key is called once on success, before the return. */
    int (*key_create)(const rk_api_key_spec *spec, rk_api_key_secret_fn on_key, void *ud,
                      rk_err *err);
    /* Every key (config ones first), tenant NULL = all. */
    int (*key_list)(const char *tenant, void (*on_key)(void *ud, const rk_api_key *k),
                    void *ud, rk_err *err);
    /* A new secret for id; the old one stops working now, or after
     * grace_ms (> 0) if given. */
    int (*key_rotate)(const char *id, int64_t grace_ms, rk_api_key_secret_fn on_key,
                      void *ud, rk_err *err);
    /* The key stops working on this host at once, on the others within
     * auth.refresh. Revoking a revoked key is RK_OK. */
    int (*key_revoke)(const char *id, rk_err *err);
} rk_auth_service;

/* ---- "limits": per-key request and token budgets (transports) ----------- */
#define RK_SERVICE_LIMITS "limits"
typedef struct rk_limits_service {
    uint32_t struct_size;
    int (*rate_limit)(const rk_principal *who, int64_t requests, int64_t tokens,
                      int force, int64_t *retry_after_ms, rk_err *err);
} rk_limits_service;

/* ---- "status": readiness and the metrics exposition (transports) -------- */
#define RK_SERVICE_STATUS "status"
typedef struct rk_status_service {
    uint32_t struct_size;
    int (*ready)(char *why, size_t cap);
    void (*render_metrics)(void (*write)(void *ud, const char *data, size_t len),
                           void *ud);
} rk_status_service;

/* ---- "listen": listening sockets that outlive a reload (transports) ----
 * since 1.1. */
#define RK_SERVICE_LISTEN "listen"
struct sockaddr; /* <sys/socket.h> */
typedef struct rk_listen_service {
    uint32_t struct_size;
    /* main: a listening TCP socket on addr (a struct sockaddr_in/_in6 of
     * addrlen bytes; SO_REUSEPORT, non-blocking, listen(backlog)): a new fd
     * the caller owns, or a negative rk_status with err ("address A is in
     * use by another process"). index numbers an instance's sockets (one
     * per loop). The next generation's instance asking for the same address
     * and index after a reload gets the same socket (a dup), so connections
     * queued on it survive the reload; the host closes its own copy when no
     * generation uses it. */
    int (*listen_socket)(const rk_instance *self, const struct sockaddr *addr,
                         uint32_t addrlen, int index, int backlog, rk_err *err);
} rk_listen_service;

/* ---- "conversations": stored conversations per tenant (transports) ------
 * since 1.1. Same threading and sink rules as "documents": a call returns
 * at once; on RK_OK exactly one on_done follows, on a host worker thread,
 * after the items; input errors and a history plugin that lacks a slot
 * come through on_done with an HTTP status (400, 404, 501). tenant NULL is
 * "default", as for chats. */
#define RK_SERVICE_CONVERSATIONS "conversations"
#define RK_CONV_LIST_MAX 1000 /* larger limits are capped; 0 = 100 */
#define RK_CONV_ID_MAX 128    /* bytes, as a chat's conversation_id */

typedef struct rk_conv_sink {
    uint32_t struct_size;
    /* conv_list: one per conversation, in byte order of their ids */
    void (*on_conv)(void *ud, const rk_conv_info *c);
    /* conv_get: the messages, oldest first */
    void (*on_message)(void *ud, const rk_history_entry *e);
    /* as rk_doc_sink.on_done; next: conv_list's cursor when the page is
     * full (more may follow), else NULL */
    void (*on_done)(void *ud, int status, int http_status, const char *message,
                    const char *next);
} rk_conv_sink;

typedef struct rk_conv_service {
    uint32_t struct_size;
    int (*conv_list)(const rk_instance *self, const char *tenant,
                     const char *after, size_t limit, const rk_conv_sink *sink,
                     void *ud, rk_err *err);
    int (*conv_get)(const rk_instance *self, const char *tenant, const char *id,
                    const rk_conv_sink *sink, void *ud, rk_err *err);
    /* on_done(RK_OK, 204); 404 when the tenant has no such conversation */
    int (*conv_delete)(const rk_instance *self, const char *tenant,
                       const char *id, const rk_conv_sink *sink, void *ud,
                       rk_err *err);
} rk_conv_service;

#ifdef __cplusplus
}
#endif
#endif
