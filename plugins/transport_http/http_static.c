/*
 * http_static — owns the web UI's place in the transport: which directory
 * (the ui_dir key; by default the share directory compiled in from the
 * Makefile's DATADIR, so an installed binary finds the installed page), the
 * files read from it (http_assets, once, at create: never the disk on a
 * loop thread), and how they are answered. The files are public: the page
 * holds nothing secret, and it must load before anyone has typed a key.
 * Every answer carries a Content-Security-Policy that lets the page load
 * and call only its own origin and never be framed, and nosniff so a file
 * is only ever read as the type we name.
 */
#include "http_static.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "http_assets.h"
#include "http_range.h"
#include "http_resp.h"
#include "http_server.h"
#include "rk_paths.h" /* RK_UI_DIR */

#define CSP "default-src 'self'; base-uri 'none'; form-action 'self'; " \
            "frame-ancestors 'none'"

/* The configured directory; NULL when the UI is off. *is_default: it is
 * the compiled-in one (whose absence only turns the UI off). */
static const char *ui_dir(const http_server *s, int *is_default)
{
    const char *d = s->host->cfg_string(s->self, "ui_dir");
    *is_default = d && strcmp(d, RK_UI_DIR) == 0;
    return d && d[0] ? d : NULL;
}

static int default_missing(const char *dir, int is_default)
{
    struct stat st;
    return is_default && stat(dir, &st) != 0;
}

int static_check(http_server *s, rk_err *err)
{
    int is_default;
    const char *dir = ui_dir(s, &is_default);
    struct stat st;
    if (!dir || default_missing(dir, is_default))
        return RK_OK;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return RK_OK;
    char where[160];
    return rk_fail(err, RK_ERR_CONFIG,
                   "%s: ui_dir: %s is not a directory (empty turns the web UI "
                   "off)",
                   s->host->cfg_where(s->self, "ui_dir", where, sizeof where),
                   dir);
}

int static_open(http_server *s, rk_err *err)
{
    int is_default;
    const char *dir = ui_dir(s, &is_default);
    char where[160], msg[PATH_MAX + 256];
    s->ui = NULL;
    if (!dir)
        return RK_OK;
    if (default_missing(dir, is_default)) {
        s->host->log(s->self, RK_LOG_INFO,
                     "web UI off: %s does not exist (set ui_dir)", dir);
        return RK_OK;
    }
    if (assets_load(dir, &s->ui, msg, sizeof msg) < 0)
        return rk_fail(err, RK_ERR_CONFIG, "%s: ui_dir: %s (empty turns the "
                       "web UI off)",
                       s->host->cfg_where(s->self, "ui_dir", where,
                                          sizeof where),
                       msg);
    if (!assets_find(s->ui, "/"))
        s->host->log(s->self, RK_LOG_WARN, "%s: ui_dir: %s has no index.html",
                     s->host->cfg_where(s->self, "ui_dir", where,
                                        sizeof where),
                     dir);
    s->host->log(s->self, RK_LOG_INFO, "web UI at / from %s (%zu files)", dir,
                 s->ui->n);
    return RK_OK;
}

const asset *static_find(const http_server *s, const char *url)
{
    return assets_find(s->ui, url);
}

enum MHD_Result static_handle(http_req *r)
{
    const asset *f = r->asset;
    const char *inm = MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    /* no-cache: kept, but revalidated (a 304) before each use, so a new
     * version is picked up at the next load */
    const char *const hdrs[] = {
        MHD_HTTP_HEADER_ETAG, f->etag,
        MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache",
        "Content-Security-Policy", CSP,
        "X-Content-Type-Options", "nosniff",
        "X-Frame-Options", "DENY",
        "Referrer-Policy", "no-referrer",
        NULL};
    char tag[sizeof f->etag];
    size_t n = strlen(f->etag);
    memcpy(tag, f->etag + 1, n - 2); /* the tag without its quotes */
    tag[n - 2] = '\0';
    if (inm && etag_listed(inm, tag))
        return hr_send_empty(r, 304, hdrs);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        f->len, f->data, MHD_RESPMEM_PERSISTENT); /* lives as long as s */
    if (!resp)
        return MHD_NO;
    if (hr_headers_add(r, resp, f->ctype, hdrs) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return hr_queue(r, 200, resp);
}

const char static_nul_path = 0;

void *static_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    return assets_path_has_nul(uri) ? STATIC_NUL_PATH : NULL;
}
