/*
 * http_req — one HTTP request in flight: its id, body, the response status
 * it got, and the suspend/resume state shared between MHD's threads and the
 * host's loop threads.
 *
 * Lifetime: created at MHD's first access-handler call, freed when BOTH MHD
 * has finished the request (NOTIFY_COMPLETED -> req_completed) and the async
 * host call it started, if any, has delivered its on_done
 * (req_async_end_locked). Whichever comes second frees it.
 */
#ifndef RK_HTTP_REQ_H
#define RK_HTTP_REQ_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include <ragkernel/host.h>

#include "http_buf.h"

typedef struct http_server http_server;
typedef struct http_req http_req;
struct sse_stream;

typedef enum http_route {
    ROUTE_COMPLETIONS = 0,
    ROUTE_CHAT,
    ROUTE_EMBEDDINGS,
    ROUTE_MODELS,
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_METRICS,
    ROUTE_DOCUMENTS, /* /documents */
    ROUTE_DOCUMENT,  /* /documents/{id} */
    ROUTE_OPENAPI,   /* /openapi.json */
    ROUTE_UI,        /* the web UI's files (http_static) */
    ROUTE_DOCUMENT_STATUS,  /* /documents/{id}/status */
    ROUTE_DOCUMENT_REINDEX, /* /documents/{id}/reindex */
    ROUTE_CONVERSATIONS,    /* /v1/conversations */
    ROUTE_CONVERSATION,     /* /v1/conversations/{id} */
    ROUTE_CONVERSATION_EXPORT, /* /v1/conversations/{id}/export */
    ROUTE_ADMIN_KEYS, /* /admin/keys */
    ROUTE_ADMIN_KEY,  /* /admin/keys/{id} */
    ROUTE_ADMIN_KEY_ROTATE, /* /admin/keys/{id}/rotate */
    ROUTE_OTHER,
    ROUTE__COUNT
} http_route;

typedef enum http_method {
    METHOD_GET = 0,
    METHOD_HEAD,
    METHOD_POST,
    METHOD_DELETE,
    METHOD_OTHER
} http_method;

typedef enum http_phase {
    PHASE_NEW = 0,  /* headers in, nothing decided yet */
    PHASE_BODY,     /* accumulating the request body */
    PHASE_ASYNC,    /* a host call runs; the connection is (re)suspended */
    PHASE_ANSWERED  /* a response has been queued */
} http_phase;

/* What an asynchronous request does; set together with r->job. */
typedef struct http_job_ops {
    /* MHD thread, r->mu NOT held: the connection was resumed. Queue a
     * response, or suspend again (req_suspend_locked) if nothing is ready. */
    enum MHD_Result (*resume)(http_req *r);
    /* r->mu held: the client went away or the server is aborting; ask the
     * host to cancel. Must not wait: on_done still follows. */
    void (*cancel)(http_req *r);
    void (*free)(void *job);
    /* r->mu held, any thread; may be NULL: the client's unsent output
     * passed the high-water mark (pause != 0) or drained (0). Must not
     * wait (the host only records it). */
    void (*flow)(http_req *r, int pause);
} http_job_ops;

#define HTTP_REQ_ID_MAX 129
#define HTTP_DOC_ID_MAX 64 /* [A-Za-z0-9_-]{1,64}, as the host requires */
#define HTTP_PATH_ID_MAX 128 /* any id in a path: conversation ids too */

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    http_req *prev, *next; /* srv->reqs, under srv->mu */
    http_route route;
    http_method method;
    int64_t start_ms;
    char id[HTTP_REQ_ID_MAX];
    hbuf body;
    http_phase phase;
    int body_over;    /* body passed max_body: discarded, answer 413 */
    size_t discarded; /* bytes thrown away after body_over */
    int status;       /* HTTP status of the queued response, 0 = none */
    int fd;           /* the client socket, for the disconnect check */
    int64_t peeked_ms;/* last disconnect check */
    int stream;       /* an SSE response was queued (active-streams gauge) */
    int authed;       /* who was established by host->authenticate */
    int holding;      /* hr_queue keeps the response for hr_release */
    struct MHD_Response *held;
    int held_status;
    rk_principal who; /* tenant and scopes; never the key */
    char doc_id[HTTP_PATH_ID_MAX + 1]; /* id routes: the checked id */
    const struct asset *asset; /* ROUTE_UI: the file (the server's) */

    pthread_mutex_t mu; /* guards the fields below and the job's state */
    int suspended;      /* we suspended the connection, nobody resumed it */
    int pending;        /* an async host call is in flight (on_done to come) */
    int completed;      /* MHD is done with the request */
    int stopping;       /* the server aborts: answer now, never suspend */
    const http_job_ops *ops;
    void *job;
    struct sse_stream *sse; /* the job's event stream, if it streams */
    struct http_wake *wake; /* kicks the loop daemon serving it; NULL with
                               MHD's own threads (they wake themselves) */
};

/* MHD thread. Registers the request in the server's list (s->reqs) and
 * records the daemon to kick on resume (wake_current); NULL on OOM. */
http_req *req_new(http_server *s, struct MHD_Connection *conn);

/* r->mu held, MHD thread (access handler or content reader only).
 * 0 = suspended; -1 = refused because the server is aborting. */
int req_suspend_locked(http_req *r);
/* r->mu held, any thread: resume the connection if we suspended it (and
 * make its loop's daemon run). */
void req_wake_locked(http_req *r);
/* r->mu held: the async host call delivered on_done. Returns 1 when the
 * caller must req_free(r) after unlocking (MHD already finished). */
int req_async_end_locked(http_req *r);
/* r->mu held, any thread: 1 if the client has closed a connection we
 * hold suspended. MHD cannot notice that while the connection is
 * suspended, and a non-streamed answer would otherwise run to the end for
 * nobody. Rate-limited; 0 when unsure. */
int req_client_gone_locked(http_req *r);
/* MHD thread: MHD finished the request (NOTIFY_COMPLETED). */
void req_completed(http_req *r, enum MHD_RequestTerminationCode toe);
void req_free(http_req *r);

/* Random lowercase hex into out (2*nbytes chars + NUL). */
void req_random_hex(char *out, size_t nbytes);

#endif
