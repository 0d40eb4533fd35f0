/*
 * http_info — owns the small synchronous endpoints. They call host services
 * that are documented as callable from any thread and quick (ready,
 * render_metrics, list_models), so they answer directly on the MHD thread
 * without suspending.
 */
#include "http_info.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "http_resp.h"
#include "http_server.h"

enum MHD_Result info_health(http_req *r)
{
    return hr_send_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

enum MHD_Result info_ready(http_req *r)
{
    char why[256] = "";
    if (r->srv->status->ready(why, sizeof why))
        return hr_send_json(r, 200, json_pack("{s:s}", "status", "ready"),
                            NULL);
    if (!why[0])
        snprintf(why, sizeof why, "not ready");
    /* the error object too, so the 503 reads like every other error */
    hr_error e = {.status = 503, .message = why};
    json_t *j = hr_error_json(&e);
    if (j) {
        json_object_set_new(j, "status", json_string("not ready"));
        json_object_set_new(j, "reason", hj_str(why));
    }
    return hr_send_json(r, 503, j, NULL);
}

static void metrics_write(void *ud, const char *data, size_t len)
{
    hbuf_append(ud, data, len);
}

enum MHD_Result info_metrics(http_req *r)
{
    hbuf b = {0};
    r->srv->status->render_metrics(metrics_write, &b);
    if (b.oom) {
        hbuf_free(&b);
        return hr_fail(r, 500, NULL, "out of memory rendering metrics");
    }
    size_t len;
    char *body = hbuf_take(&b, &len);
    return hr_send_buf(r, 200, CT_PROM, body, len, NULL);
}

typedef struct models_acc {
    json_t *data;
    int oom;
} models_acc;

static void model_add(void *ud, const char *id, const char *owner)
{
    models_acc *a = ud;
    if (!id || a->oom)
        return;
    size_t i;
    json_t *m;
    json_array_foreach(a->data, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0)
            return; /* the same id from two providers: list it once */
    }
    m = json_pack("{s:o,s:s,s:i,s:o}", "id", hj_str(id), "object", "model",
                  "created", 0, "owned_by",
                  hj_str(owner && owner[0] ? owner : "ragkernel"));
    if (!m || json_array_append_new(a->data, m) < 0)
        a->oom = 1;
}

enum MHD_Result info_models(http_req *r)
{
    models_acc a = {json_array(), 0};
    if (!a.data)
        return hr_fail(r, 500, NULL, "out of memory");
    r->srv->chat->list_models(model_add, &a);
    if (a.oom) {
        json_decref(a.data);
        return hr_fail(r, 500, NULL, "out of memory listing models");
    }
    return hr_send_json(r, 200,
                        json_pack("{s:s,s:o}", "object", "list", "data",
                                  a.data),
                        NULL);
}
