/*
 * http_limits — what one client may hold: connections from one address,
 * time to send a request's headers, and the size of a chat request
 * (messages, content parts, text). Read from the instance config with the
 * rest of it; applied through MHD options and the first access-handler
 * call of each request.
 */
#ifndef RK_HTTP_LIMITS_H
#define RK_HTTP_LIMITS_H

#include <microhttpd.h>

#include <ragkernel/ragkernel.h>

typedef struct http_server http_server;

/* server_create: max_messages, max_content_parts, max_text_bytes,
 * max_connections_per_ip, header_timeout into s (after max_connections
 * and the idle timeout are read). RK_OK or a config error naming the key. */
int limits_read_config(http_server *s, rk_err *err);

/* MHD_OPTION_PER_IP_CONNECTION_LIMIT for one of n daemons. */
unsigned limits_per_ip(const http_server *s, unsigned n);

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the server): a new connection gets
 * the header timeout. */
void limits_on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* MHD thread, first access-handler call of a request: its headers are
 * in, so the connection gets the idle timeout from now on. */
void limits_headers_in(http_server *s, struct MHD_Connection *c);

#endif
