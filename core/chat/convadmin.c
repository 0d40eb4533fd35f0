/*
 * convadmin — stored conversations for administration: list, read,
 * delete. The history plugin does the work; this module only checks
 * input, maps outcomes to HTTP statuses, and keeps the instance alive:
 * a job pins the registry of the generation it was started in, so a
 * reload that retires that generation waits for it rather than
 * destroying the instance under it. A plugin without the 1.1 list or
 * remove slot gets a 501 that names the plugin and the instance, so the
 * operator knows which backend lacks what (reading one conversation
 * needs only load, which every history plugin has).
 */
#define _GNU_SOURCE
#include "convadmin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "log.h"

#define CONV_LIST_DEFAULT 100

typedef struct conv_job {
    registry *reg; /* pinned */
    rk_instance *hist;
    convadmin_op op;
    rk_conv_sink sink;
    void *ud;
    char *tenant, *arg;
    size_t limit;
    /* list: the last id seen, for the next cursor */
    char last[RK_CONV_ID_MAX + 1];
    size_t count;
} conv_job;

int convadmin_id_ok(const char *s)
{
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++)
        if (n >= RK_CONV_ID_MAX || (unsigned char)s[n] < 0x20 || s[n] == 0x7f) return 0;
    return n > 0;
}

static void job_free(conv_job *j)
{
    if (j->reg) registry_unref(j->reg);
    free(j->tenant);
    free(j->arg);
    free(j);
}

static const char *slot_name(convadmin_op op)
{
    return op == CONV_LIST ? "list" : op == CONV_GET ? "load" : "remove";
}

/* 1 when the history plugin has the slot op needs. */
static int has_slot(const rk_instance *h, convadmin_op op)
{
    const rk_history_vtable *vt = h->plugin->vtable;
    if (op == CONV_GET) return vt->load != NULL;
    if (op == CONV_LIST) return RK_HAS_FIELD(vt, rk_history_vtable, list) && vt->list;
    return RK_HAS_FIELD(vt, rk_history_vtable, remove) && vt->remove;
}

static void on_conv(void *ud, const rk_conv_info *c)
{
    conv_job *j = ud;
    if (!c || !c->id) return;
    snprintf(j->last, sizeof j->last, "%s", c->id);
    j->count++;
    if (j->sink.on_conv) j->sink.on_conv(j->ud, c);
}

static void on_msg(void *ud, const rk_history_entry *e)
{
    conv_job *j = ud;
    if (j->sink.on_message) j->sink.on_message(j->ud, e);
}

/* The call itself; RK_OK or an error in err. */
static int run_call(conv_job *j, rk_err *err)
{
    rk_instance *h = j->hist;
    if (j->op == CONV_LIST) {
        int64_t n = GATE_CALL(h, rk_history_vtable, list, (int64_t)RK_ERR_UNSUPPORTED, j->tenant,
                              j->arg, j->limit, on_conv, j, err);
        return n < 0 ? (int)n : RK_OK;
    }
    if (j->op == CONV_GET)
        return GATE_CALL(h, rk_history_vtable, load, RK_ERR_UNSUPPORTED, j->tenant, j->arg, 0,
                         on_msg, j, err);
    return GATE_CALL(h, rk_history_vtable, remove, RK_ERR_UNSUPPORTED, j->tenant, j->arg, err);
}

/* Input and backend checks: 0, or the HTTP status with msg filled. */
static int precheck(conv_job *j, char *msg, size_t cap)
{
    if (!j->hist) {
        snprintf(msg, cap, "conversations are not stored on this server: set "
                           "pipeline.history in the config");
        return 501;
    }
    if (!has_slot(j->hist, j->op)) {
        snprintf(msg, cap, "the history plugin '%s' (instance '%s') cannot %s conversations: "
                 "it lacks the '%s' slot of ABI 1.1", j->hist->plugin->name, j->hist->name,
                 j->op == CONV_LIST ? "list" : "delete", slot_name(j->op));
        return 501;
    }
    if (j->op == CONV_LIST ? j->arg && !convadmin_id_ok(j->arg) : !convadmin_id_ok(j->arg)) {
        snprintf(msg, cap, "invalid %s: want 1..%d bytes without control characters",
                 j->op == CONV_LIST ? "cursor 'after'" : "conversation id", RK_CONV_ID_MAX);
        return 400;
    }
    return 0;
}

static void job_run(void *ud)
{
    conv_job *j = ud;
    char msg[RK_ERR_MSG_MAX + 128];
    int http = precheck(j, msg, sizeof msg);
    if (http) {
        j->sink.on_done(j->ud, http == 400 ? RK_ERR_INVALID : RK_ERR_UNSUPPORTED, http, msg,
                        NULL);
        job_free(j);
        return;
    }
    rk_err err = {{0}};
    int rc = run_call(j, &err);
    if (rc == RK_ERR_NOT_FOUND) {
        snprintf(msg, sizeof msg, "no conversation '%s'", j->arg);
        j->sink.on_done(j->ud, rc, 404, msg, NULL);
    } else if (rc != RK_OK) {
        log_warn("conversations", "%s tenant=%s: %s", slot_name(j->op), j->tenant, err.msg);
        snprintf(msg, sizeof msg, "history unavailable (%s; details in the server log)",
                 rk_strerror(rc));
        j->sink.on_done(j->ud, rc, rc == RK_ERR_INVALID ? 400 : 503, msg, NULL);
    } else if (j->op == CONV_LIST) {
        j->sink.on_done(j->ud, RK_OK, 200, NULL, j->count == j->limit ? j->last : NULL);
    } else {
        j->sink.on_done(j->ud, RK_OK, j->op == CONV_GET ? 200 : 204, NULL, NULL);
    }
    job_free(j);
}

int convadmin_start(registry *reg, rk_instance *hist, pool *p, convadmin_op op,
                    const char *tenant, const char *arg, size_t limit,
                    const rk_conv_sink *sink, void *ud, rk_err *err)
{
    if (!reg || !p || !sink || !RK_HAS_FIELD(sink, rk_conv_sink, on_done) || !sink->on_done)
        return rk_fail(err, RK_ERR_INVALID, "conversations: missing registry, pool or sink");
    conv_job *j = calloc(1, sizeof *j);
    if (!j) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    size_t n = sink->struct_size < sizeof j->sink ? sink->struct_size : sizeof j->sink;
    memcpy(&j->sink, sink, n);
    j->sink.struct_size = (uint32_t)n;
    j->hist = hist;
    j->op = op;
    j->ud = ud;
    j->limit = limit == 0 ? CONV_LIST_DEFAULT : limit > RK_CONV_LIST_MAX ? RK_CONV_LIST_MAX : limit;
    j->tenant = strdup(tenant ? tenant : "default");
    if (!j->tenant || (arg && !(j->arg = strdup(arg)))) {
        job_free(j);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    registry_ref(reg);
    j->reg = reg;
    if (pool_submit(p, job_run, j) != RK_OK) {
        job_free(j);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "the worker pool is shutting down");
    }
    return RK_OK;
}
