/*
 * http_drain — waiting out the requests and connections of a stopping
 * transport (see http_drain.c). Main thread, from server_stop, after the
 * daemons were quiesced and with srv->draining set; the daemons keep
 * running on their loops meanwhile.
 */
#ifndef RK_HTTP_DRAIN_H
#define RK_HTTP_DRAIN_H

#include <stdint.h>

typedef struct http_server http_server;

/* Returns when no request is in flight and every connection has closed or
 * gone quiet, or, past deadline_ms (host clock), after cancelling and
 * waking the requests left (each host call then gets ABORT_GRACE_MS to
 * deliver its on_done). */
void drain_requests(http_server *s, int64_t deadline_ms);

#endif
