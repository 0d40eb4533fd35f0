/*
 * http_openapi — owns the API description served at /openapi.json. The
 * document is a JSON file beside the code (openapi.json), so it is read
 * and reviewed as what clients get, and compiled into the .so as a string
 * (plugin.mk), so an installed plugin needs no data file. It is parsed and
 * written out again per request rather than patched as text: the host's
 * version goes in as a proper JSON string, and a document that stopped
 * parsing answers a 500 that says so instead of serving broken JSON. Tools
 * fetch it once, so the millisecond that costs does not matter. The test
 * test_http_openapi keeps it in step with the router's table.
 */
#include "http_openapi.h"

#include <jansson.h>

#include "http_resp.h"
#include "http_server.h"

enum MHD_Result openapi_handle(http_req *r)
{
    json_error_t je;
    json_t *doc = json_loadb(http_openapi_json, http_openapi_json_len, 0, &je);
    if (!doc)
        return hr_fail(r, 500, NULL,
                       "The built-in openapi.json does not parse: %s (line "
                       "%d, column %d)",
                       je.text, je.line, je.column);
    json_t *info = json_object_get(doc, "info");
    const char *version = r->srv->host->version;
    if (!json_is_object(info) ||
        json_object_set_new(info, "version",
                            json_string(version ? version : "unknown")) < 0) {
        json_decref(doc);
        return hr_fail(r, 500, NULL,
                       "The built-in openapi.json has no 'info' object");
    }
    return hr_send_json(r, 200, doc, NULL);
}
