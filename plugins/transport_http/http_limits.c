/*
 * http_limits — owns the limits that keep one client from taking what
 * others need. Connections: MHD_OPTION_PER_IP_CONNECTION_LIMIT, by default
 * half of max_connections, so one address can never hold every slot and
 * the rest stay a reserve for everyone else (a /health probe included).
 * Time: a connection that has not sent a request's headers within
 * header_timeout is closed, while one that has gets the much longer idle
 * timeout. MHD's daemon-wide timeout stays the idle one and only new
 * connections are given the short one (MHD_set_connection_option on
 * MHD_CONNECTION_NOTIFY_STARTED, which MHD 0.9.75 calls after putting the
 * connection on its timeout lists), because MHD keeps connections with a
 * timeout of their own on a list it walks in full on every run: only the
 * few connections still sending headers should be there, not every
 * keep-alive connection. The first access-handler call of a request puts
 * its connection back on the daemon-wide timeout. MHD's timeouts count
 * from the last byte received, so a client that trickles a byte at a time
 * keeps its connection; the per-address limit bounds how many it can keep.
 * Chat requests: the sizes http_chat_parse checks while it walks a body.
 */
#include "http_limits.h"

#include "http_server.h"

/* cfg_int of key within lo..hi, else a config error naming it. */
static int cfg_range(http_server *s, const char *key, int64_t lo, int64_t hi,
                     int64_t *out, rk_err *err)
{
    char where[160];
    *out = s->host->cfg_int(s->self, key);
    if (*out >= lo && *out <= hi)
        return RK_OK;
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s must be %lld..%lld",
                   s->host->cfg_where(s->self, key, where, sizeof where), key,
                   (long long)lo, (long long)hi);
}

static int read_client_limits(http_server *s, rk_err *err)
{
    int64_t per_ip, hdr;
    int rc = cfg_range(s, "max_connections_per_ip", 0, s->max_connections,
                       &per_ip, err);
    if (rc == RK_OK)
        rc = cfg_range(s, "header_timeout", 1000, 86400000, &hdr, err);
    if (rc != RK_OK)
        return rc;
    s->max_per_ip = per_ip ? (unsigned)per_ip : (s->max_connections + 1) / 2;
    s->header_timeout_s = (unsigned)((hdr + 999) / 1000);
    /* never longer than the idle timeout it stands in for */
    if (s->timeout_s && s->header_timeout_s > s->timeout_s)
        s->header_timeout_s = s->timeout_s;
    return RK_OK;
}

int limits_read_config(http_server *s, rk_err *err)
{
    int64_t msgs, parts, text;
    int rc = read_client_limits(s, err);
    if (rc == RK_OK)
        rc = cfg_range(s, "max_messages", 1, 1000000, &msgs, err);
    if (rc == RK_OK)
        rc = cfg_range(s, "max_content_parts", 1, 1000000, &parts, err);
    if (rc == RK_OK)
        rc = cfg_range(s, "max_text_bytes", 1, (int64_t)1 << 32, &text, err);
    if (rc != RK_OK)
        return rc;
    s->chat_limits = (chat_limits){(size_t)msgs, (size_t)parts, (size_t)text};
    return RK_OK;
}

unsigned limits_per_ip(const http_server *s, unsigned n)
{
    /* the kernel spreads one address's connections over the daemons */
    if (!n)
        n = 1;
    return (s->max_per_ip + n - 1) / n;
}

void limits_on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED &&
        s->header_timeout_s != s->timeout_s)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  s->header_timeout_s);
}

void limits_headers_in(http_server *s, struct MHD_Connection *c)
{
    /* a keep-alive connection's later requests find it raised already:
     * one cheap read, no MHD list moves */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
    if (ci && ci->connection_timeout != s->timeout_s)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  s->timeout_s);
}
