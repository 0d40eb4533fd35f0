/*
 * s3_list — listing documents with ListObjectsV2. Metadata lives in each
 * object's headers, which a listing does not return, so every listed key
 * costs a HEAD; that keeps put a single atomic write (no sidecar object to
 * keep in step). Keys come back in byte order of "<tenant>/<id>", which is
 * id order within a tenant, and the cursor maps straight onto start-after.
 * Keys under the prefix that are not "<tenant>/<id>" with valid names
 * (written by something else) are skipped, as are objects deleted between
 * the listing and their HEAD.
 */
#include "s3_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_object.h"
#include "s3_xml.h"

#define PAGE_MAX 1000 /* S3's own cap on max-keys */

typedef struct page {
    char *token;  /* NextContinuationToken, owned */
    int truncated;
} page;

/* The (tenant, id) of key, if it is one of ours: 1, else 0. */
static int split_key(const s3_list_args *a, const char *key, char *tenant, char *id)
{
    size_t pl = strlen(a->prefix);
    if (strncmp(key, a->prefix, pl) != 0)
        return 0;
    const char *t = key + pl, *slash = strchr(t, '/');
    if (!slash || !s3_name_ok(t, (size_t)(slash - t)) ||
        !s3_name_ok(slash + 1, strlen(slash + 1)))
        return 0;
    memcpy(tenant, t, (size_t)(slash - t));
    tenant[slash - t] = '\0';
    snprintf(id, S3_NAME_MAX + 1, "%s", slash + 1);
    return !a->tenant || strcmp(tenant, a->tenant) == 0;
}

/* HEAD each key of one page and report it; stops at the limit. */
static int report_page(const s3_list_args *a, const s3_buf *xml, size_t *listed, rk_err *err)
{
    size_t pos = 0, s, e;
    int rc = RK_OK;
    while (rc == RK_OK && (!a->limit || *listed < a->limit) &&
           s3_xml_element(xml->p, xml->len, "Contents", &pos, &s, &e)) {
        size_t kp = s;
        char *key = NULL, tenant[S3_NAME_MAX + 1], id[S3_NAME_MAX + 1];
        int found = s3_xml_text(xml->p, e, "Key", &kp, &key);
        if (found < 0)
            return rk_fail(err, RK_ERR_NOMEM, "out of memory");
        if (found && split_key(a, key, tenant, id)) {
            s3_meta_doc d;
            rc = s3_stat_key(a->c, key, tenant, id, &d, err);
            if (rc == RK_OK) {
                if (a->on_meta)
                    a->on_meta(a->ud, &d.m);
                (*listed)++;
                s3_meta_doc_free(&d);
            } else if (rc == RK_ERR_NOT_FOUND) {
                rc = RK_OK; /* removed since the listing */
            }
        }
        free(key);
    }
    return rc;
}

static int fetch_page(const s3_list_args *a, const char *key_prefix, const char *start_after,
                      size_t want, page *pg, s3_buf *out, rk_err *err)
{
    char max[24];
    snprintf(max, sizeof max, "%zu", want);
    sigv4_param q[4] = {{"list-type", "2"}, {"prefix", key_prefix}, {"max-keys", max}};
    size_t n = 3;
    if (pg->token)
        q[n++] = (sigv4_param){"continuation-token", pg->token};
    else if (start_after)
        q[n++] = (sigv4_param){"start-after", start_after};
    char *query = sigv4_query(q, n);
    if (!query)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request r = {.op = "list", .method = "GET", .query = query};
    s3_response resp;
    int rc = s3_perform(a->c, &r, &resp, err);
    free(query);
    free(pg->token);
    pg->token = NULL;
    pg->truncated = 0;
    if (rc == RK_OK) {
        size_t pos = 0;
        char *trunc = NULL;
        if (s3_xml_text(resp.body.p, resp.body.len, "IsTruncated", &pos, &trunc) == 1)
            pg->truncated = strcmp(trunc, "true") == 0;
        free(trunc);
        pos = 0;
        if (pg->truncated &&
            s3_xml_text(resp.body.p, resp.body.len, "NextContinuationToken", &pos,
                        &pg->token) < 0)
            rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        *out = resp.body; /* hand the XML over */
        resp.body = (s3_buf){0};
    }
    s3_response_free(&resp);
    return rc;
}

/* start-after for the cursor, validated: an id, or "<tenant>/<id>" across
 * tenants. *out stays NULL without a cursor. */
static int start_after_of(const s3_list_args *a, char **out, rk_err *err)
{
    *out = NULL;
    if (!a->after)
        return RK_OK;
    const char *slash = strchr(a->after, '/');
    int ok = a->tenant ? s3_name_ok(a->after, strlen(a->after))
                       : slash && s3_name_ok(a->after, (size_t)(slash - a->after)) &&
                             s3_name_ok(slash + 1, strlen(slash + 1));
    if (!ok)
        return rk_fail(err, RK_ERR_INVALID, a->tenant ? "invalid cursor (want a document id)"
                                                      : "cursor across tenants must be "
                                                        "\"<tenant>/<id>\"");
    s3_buf b = {0};
    s3_buf_printf(&b, "%s%s%s%s", a->prefix, a->tenant ? a->tenant : "", a->tenant ? "/" : "",
                  a->after);
    return (*out = s3_buf_take(&b)) ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

int s3_list(const s3_list_args *a, rk_err *err)
{
    char *start_after = NULL, *key_prefix = NULL;
    size_t listed = 0;
    page pg = {0};
    int rc = a->tenant ? s3_check_names(a->tenant, NULL, err) : RK_OK;
    if (rc == RK_OK)
        rc = start_after_of(a, &start_after, err);
    s3_buf kp = {0};
    s3_buf_printf(&kp, "%s%s%s", a->prefix, a->tenant ? a->tenant : "", a->tenant ? "/" : "");
    if (rc == RK_OK && !(key_prefix = s3_buf_take(&kp)))
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_buf_free(&kp);
    int first = 1;
    while (rc == RK_OK && (first || (pg.truncated && pg.token)) &&
           (!a->limit || listed < a->limit)) {
        size_t want = a->limit && a->limit - listed < PAGE_MAX ? a->limit - listed : PAGE_MAX;
        s3_buf xml = {0};
        first = 0;
        rc = fetch_page(a, key_prefix, start_after, want, &pg, &xml, err);
        if (rc == RK_OK)
            rc = report_page(a, &xml, &listed, err);
        s3_buf_free(&xml);
    }
    free(pg.token);
    free(start_after);
    free(key_prefix);
    if (rc != RK_OK)
        return rc;
    return listed > (size_t)INT32_MAX ? INT32_MAX : (int)listed;
}
