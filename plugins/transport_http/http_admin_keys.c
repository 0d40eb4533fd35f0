/*
 * http_admin_keys — owns the HTTP side of API key management: strict
 * parsing of what an operator sends (every field checked for type and
 * range, unknown fields refused by name, so a typo such as "scope" is an
 * error rather than a key with default scopes), the answers' JSON (a
 * secret appears in exactly one response: the one that created it), and
 * the hop to a host worker, since every call reaches the history store.
 * Same suspend-before-call pattern as http_docs.c, through http_job.c
 * (which also holds the outcome the worker records): the connection is
 * suspended before run_blocking, the worker records the result under
 * r->mu and resumes, the MHD thread answers.
 */
#include "http_admin_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_job.h"
#include "http_resp.h"
#include "http_server.h"

#define MAX_PER_MIN 1000000000LL
#define MAX_EXPIRES_S (10LL * 366 * 24 * 3600)
#define MAX_GRACE_S (7LL * 24 * 3600)
#define ROTATE_SUFFIX "/rotate"

typedef enum ak_op { AK_CREATE, AK_LIST, AK_ROTATE, AK_REVOKE } ak_op;

typedef struct ak_job {
    hjob out; /* first: r->job is an hjob too (http_job.h) */
    ak_op op;
    rk_api_key_spec spec;
    char name[65], tenant[65];
    int64_t grace_ms;
    json_t *result; /* create/rotate: the key; list: the array */
} ak_job;

static const struct { const char *name; uint32_t bit; } scope_names[] = {
    {"chat", RK_SCOPE_CHAT}, {"documents:read", RK_SCOPE_DOCS_READ},
    {"documents:write", RK_SCOPE_DOCS_WRITE}, {"admin", RK_SCOPE_ADMIN}};
#define N_SCOPES (sizeof scope_names / sizeof scope_names[0])

static int ident_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n > 0 && n <= 64 && s[n] == '\0';
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? json_integer((json_int_t)(ms / 1000)) : json_null();
}

static json_t *key_json(const rk_api_key *k, const char *secret)
{
    json_t *scopes = json_array();
    for (size_t i = 0; scopes && i < N_SCOPES; i++)
        if (k->scopes & scope_names[i].bit)
            json_array_append_new(scopes, json_string(scope_names[i].name));
    json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:I,s:I,s:o,s:o,s:o,s:o}", "object",
                          "api_key", "id", hj_str(k->id), "name", hj_str(k->name), "tenant",
                          hj_str(k->tenant), "source", k->source ? k->source : "stored",
                          "scopes", scopes ? scopes : json_array(), "requests_per_min",
                          (json_int_t)k->requests_per_min, "tokens_per_min",
                          (json_int_t)k->tokens_per_min, "created_at",
                          time_or_null(k->created_ms), "expires_at",
                          time_or_null(k->expires_ms), "revoked_at",
                          time_or_null(k->revoked_ms), "grace_until",
                          time_or_null(k->grace_until_ms));
    if (o && secret && json_object_set_new(o, "secret", json_string(secret)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- on a host worker ----------------------------------------------------- */

static void on_secret(void *ud, const rk_api_key *k, const char *secret)
{
    ak_job *j = ud;
    json_decref(j->result);
    j->result = key_json(k, secret);
    j->out.oom |= j->result == NULL;
}

static void on_listed(void *ud, const rk_api_key *k)
{
    ak_job *j = ud;
    json_t *o = key_json(k, NULL);
    if (!o || json_array_append_new(j->result, o) < 0)
        j->out.oom = 1;
}

/* The job is the worker's until done is set under r->mu. */
static int call_host(http_req *r, ak_job *j, rk_err *err)
{
    const rk_auth_service *a = r->srv->auth;
    switch (j->op) {
    case AK_CREATE: return a->key_create(&j->spec, on_secret, j, err);
    case AK_LIST:
        return a->key_list(j->tenant[0] ? j->tenant : NULL, on_listed, j, err);
    case AK_ROTATE: return a->key_rotate(r->doc_id, j->grace_ms, on_secret, j, err);
    default: return a->key_revoke(r->doc_id, err);
    }
}

static void ak_run(void *ud)
{
    http_req *r = ud;
    ak_job *j = r->job; /* set before run_blocking; not touched by MHD until done */
    rk_err err = {{0}};
    int st = call_host(r, j, &err);
    hjob_on_done(r, st, 0, err.msg[0] ? err.msg : rk_strerror(st), NULL);
}

/* ---- answers (MHD thread) ------------------------------------------------- */

static int status_of(int st)
{
    switch (st) {
    case RK_ERR_UNSUPPORTED: return 501;
    case RK_ERR_EXISTS: return 409;
    default: return hr_status_for(st);
    }
}

static enum MHD_Result answer_locked(http_req *r)
{
    ak_job *j = r->job;
    enum MHD_Result rc;
    if (hjob_waiting_locked(r, &rc))
        return rc;
    if (j->out.rc != RK_OK)
        return hr_fail(r, status_of(j->out.rc), NULL, "%s",
                       j->out.msg ? j->out.msg : rk_strerror(j->out.rc));
    if (j->out.oom)
        return hr_fail(r, 503, NULL, "out of memory");
    json_t *res = j->result;
    j->result = NULL;
    switch (j->op) {
    case AK_CREATE: return hr_send_json(r, 201, res, NULL);
    case AK_ROTATE: return hr_send_json(r, 200, res, NULL);
    case AK_LIST:
        return hr_send_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", res),
                            NULL);
    default: json_decref(res); return hr_send_empty(r, 204, NULL);
    }
}

static enum MHD_Result ak_resume(http_req *r)
{
    return hjob_resume(r, answer_locked);
}

static void ak_free(void *p)
{
    ak_job *j = p;
    if (!j)
        return;
    hjob_clear(&j->out);
    json_decref(j->result);
    free(j);
}

/* one short database call: it ends by itself */
static const http_job_ops ak_ops = {.resume = ak_resume, .cancel = hjob_no_cancel,
                                    .free = ak_free};

static int supported(const http_req *r)
{
    const rk_auth_service *a = r->srv->auth;
    return a && RK_HAS_FIELD(a, rk_auth_service, key_revoke) && a->key_create &&
           a->key_list && a->key_rotate && a->key_revoke;
}

static ak_job *job_new(http_req *r, ak_op op)
{
    ak_job *j = calloc(1, sizeof *j);
    if (j)
        j->op = op;
    return j;
}

/* Takes j. Suspend first, so the worker's resume always finds us. */
static enum MHD_Result start(http_req *r, ak_job *j)
{
    if (j->op == AK_LIST && !(j->result = json_array())) {
        ak_free(j);
        return hr_fail(r, 503, NULL, "out of memory");
    }
    r->ops = &ak_ops; /* req_free frees the job from here on */
    r->job = j;
    r->phase = PHASE_ASYNC;
    enum MHD_Result rc;
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    if (r->srv->host->run_blocking(ak_run, r) != RK_OK)
        return hjob_called(r, RK_ERR_UNAVAILABLE, "no worker thread could take the call");
    return MHD_YES;
}

static enum MHD_Result not_supported(http_req *r)
{
    return hr_fail(r, 501, NULL,
                   "API key management is not available: the host (ABI before 1.1) "
                   "has no key management in its auth service");
}

/* ---- requests (MHD thread) ------------------------------------------------ */

/* An integer field in lo..hi, or absent (then *out is left alone). */
static int int_field(http_req *r, json_t *body, const char *name, int64_t lo, int64_t hi,
                     int64_t *out, enum MHD_Result *rc)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        *rc = hr_fail(r, 400, name, "%s must be an integer from %lld to %lld", name,
                      (long long)lo, (long long)hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int ident_field(http_req *r, json_t *body, const char *name, char *out, size_t cap,
                       enum MHD_Result *rc)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (!s || !ident_ok(s)) {
        *rc = hr_fail(r, 400, name,
                      "%s must be a string of 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
                      name);
        return -1;
    }
    snprintf(out, cap, "%s", s);
    return 0;
}

static int scopes_field(http_req *r, json_t *body, uint32_t *out, enum MHD_Result *rc)
{
    json_t *v = json_object_get(body, "scopes"), *it;
    size_t i;
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > N_SCOPES)
        goto bad;
    *out = 0;
    json_array_foreach(v, i, it) {
        const char *s = json_string_value(it);
        uint32_t bit = 0;
        for (size_t k = 0; s && k < N_SCOPES; k++)
            if (strcmp(s, scope_names[k].name) == 0)
                bit = scope_names[k].bit;
        if (!bit)
            goto bad;
        *out |= bit;
    }
    return 0;
bad:
    *rc = hr_fail(r, 400, "scopes",
                  "scopes must be a list of 1 to 4 of \"chat\", \"documents:read\", "
                  "\"documents:write\", \"admin\"");
    return -1;
}

/* Every member must be one of `known` (NULL-terminated). */
static int only_known(http_req *r, json_t *body, const char *const *known,
                      const char *list, enum MHD_Result *rc)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k) != 0)
            i++;
        if (!known[i]) {
            *rc = hr_fail(r, 400, NULL, "Unknown field '%.64s' (known: %s)", k, list);
            return -1;
        }
    }
    return 0;
}

static int parse_create(http_req *r, json_t *body, ak_job *j, enum MHD_Result *rc)
{
    static const char *const known[] = {"name", "tenant", "scopes", "requests_per_min",
                                        "tokens_per_min", "expires_in", NULL};
    int64_t expires_s = 0;
    j->spec = (rk_api_key_spec){.struct_size = sizeof j->spec,
                                .scopes = RK_SCOPE_CHAT | RK_SCOPE_DOCS_READ |
                                          RK_SCOPE_DOCS_WRITE};
    snprintf(j->tenant, sizeof j->tenant, "%s", r->authed ? r->who.tenant : "default");
    if (only_known(r, body, known, "name, tenant, scopes, requests_per_min, "
                   "tokens_per_min, expires_in", rc) < 0 ||
        ident_field(r, body, "name", j->name, sizeof j->name, rc) < 0 ||
        ident_field(r, body, "tenant", j->tenant, sizeof j->tenant, rc) < 0 ||
        scopes_field(r, body, &j->spec.scopes, rc) < 0 ||
        int_field(r, body, "requests_per_min", 0, MAX_PER_MIN, &j->spec.requests_per_min,
                  rc) < 0 ||
        int_field(r, body, "tokens_per_min", 0, MAX_PER_MIN, &j->spec.tokens_per_min,
                  rc) < 0 ||
        int_field(r, body, "expires_in", 0, MAX_EXPIRES_S, &expires_s, rc) < 0)
        return -1;
    if (!j->name[0]) {
        *rc = hr_fail(r, 400, "name", "name is required: a label for the key "
                      "(1 to 64 characters of A-Z, a-z, 0-9, '_' and '-')");
        return -1;
    }
    j->spec.name = j->name;
    j->spec.tenant = j->tenant;
    j->spec.expires_in_ms = expires_s * 1000;
    return 0;
}

enum MHD_Result admin_keys_create(http_req *r, json_t *body)
{
    if (!supported(r))
        return not_supported(r);
    ak_job *j = job_new(r, AK_CREATE);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    enum MHD_Result rc = MHD_YES;
    if (parse_create(r, body, j, &rc) < 0) {
        ak_free(j);
        return rc;
    }
    return start(r, j);
}

enum MHD_Result admin_keys_list(http_req *r)
{
    if (!supported(r))
        return not_supported(r);
    const char *t = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "tenant");
    if (t && !ident_ok(t))
        return hr_fail(r, 400, "tenant", "tenant must be 1 to 64 characters of A-Z, a-z, "
                       "0-9, '_' and '-'");
    ak_job *j = job_new(r, AK_LIST);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    if (t)
        snprintf(j->tenant, sizeof j->tenant, "%s", t);
    return start(r, j);
}

enum MHD_Result admin_keys_rotate(http_req *r, const char *body, size_t len)
{
    if (!supported(r))
        return not_supported(r);
    int64_t grace_s = 0;
    enum MHD_Result rc = MHD_YES;
    static const char *const known[] = {"grace", NULL};
    if (len > 0) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        if (!root || !json_is_object(root)) {
            json_decref(root);
            return hr_fail(r, 400, NULL, "The body must be empty or a JSON object such as "
                           "{\"grace\": 60}");
        }
        int bad = only_known(r, root, known, "grace", &rc) < 0 ||
                  int_field(r, root, "grace", 0, MAX_GRACE_S, &grace_s, &rc) < 0;
        json_decref(root);
        if (bad)
            return rc;
    }
    ak_job *j = job_new(r, AK_ROTATE);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    j->grace_ms = grace_s * 1000;
    return start(r, j);
}

enum MHD_Result admin_keys_revoke(http_req *r)
{
    if (!supported(r))
        return not_supported(r);
    ak_job *j = job_new(r, AK_REVOKE);
    return j ? start(r, j) : hr_fail(r, 503, NULL, "out of memory");
}

int admin_keys_take_id(http_req *r, const char *rest, enum MHD_Result *rc)
{
    /* the router matched "<id>" (DELETE) or "<id>/rotate" (POST) */
    size_t n = strcspn(rest, "/");
    if (rest[n] != '\0' && strcmp(rest + n, ROTATE_SUFFIX) != 0) {
        *rc = hr_fail(r, 404, NULL, "Unknown request URL: use DELETE %s/{id} or POST "
                      "%s/{id}/rotate", ADMIN_KEYS_PATH, ADMIN_KEYS_PATH);
        return -1;
    }
    if (n == 0 || n > HTTP_DOC_ID_MAX || strspn(rest, "abcdefghijklmnopqrstuvwxyz"
                                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n) {
        *rc = hr_fail(r, 400, "id", "Invalid key id: use 1 to %d characters of A-Z, a-z, "
                      "0-9, '_' and '-'", HTTP_DOC_ID_MAX);
        return -1;
    }
    memcpy(r->doc_id, rest, n);
    r->doc_id[n] = '\0';
    return 0;
}
