/*
 * ragkernel SDK — transport plugins (kind RK_KIND_TRANSPORT).
 *
 * A transport owns its sockets and threads: it starts them in start() and
 * stops them in stop(). It turns client requests into host calls
 * (host->chat_start, host->list_models, host->render_metrics, ...) and
 * results back into its protocol. Host chat callbacks arrive on a host loop
 * thread; hand them to your own threads (e.g. queue + resume a suspended
 * connection).
 */
#ifndef RAGKERNEL_TRANSPORT_H
#define RAGKERNEL_TRANSPORT_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_transport_vtable {
    RK_VTABLE_HEAD;
    /* Optional. Write the addresses the instance listens on (e.g.
     * "127.0.0.1:8080"), comma separated, into buf. Main thread, after
     * start(). Lets tests and operators find an ephemeral port. */
    int (*listening)(void *ctx, char *buf, size_t cap);
} rk_transport_vtable;

#ifdef __cplusplus
}
#endif
#endif
