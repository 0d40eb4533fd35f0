/*
 * http_docmeta — see http_docmeta.h.
 */
#include "http_docmeta.h"

#include "http_resp.h"

json_t *docmeta_json(const rk_doc_meta *m)
{
    return json_pack(
        "{s:o,s:o,s:o,s:I,s:o,s:I}", "id", hj_str(m->id ? m->id : ""),
        "filename", hj_str(m->filename ? m->filename : ""), "content_type",
        hj_str(m->content_type ? m->content_type : "application/octet-stream"),
        "size", (json_int_t)m->size, "sha256",
        hj_str(m->sha256 ? m->sha256 : ""), "created_at",
        (json_int_t)(m->created_ms / 1000));
}

const char *docmeta_tenant(const http_req *r)
{
    return r->authed ? r->who.tenant : NULL;
}
