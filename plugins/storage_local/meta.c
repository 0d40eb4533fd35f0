/*
 * meta — encodes and parses the per-document metadata file with jansson.
 * JSON keeps the file readable by an operator and lets a filename carry any
 * UTF-8. Parsing is defensive: the file is size-capped, fields of the wrong
 * type are treated as absent, and tenant/id always come from the path, so a
 * tampered file cannot make a document claim to belong elsewhere.
 */
#include "meta.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "files.h"

#define META_MAX_BYTES (64 * 1024)

int meta_encode(const rk_doc_meta *m, char **out, size_t *len, rk_err *err)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}",
                          "tenant", m->tenant, "id", m->id,
                          "filename", m->filename ? m->filename : "",
                          "content_type", m->content_type ? m->content_type : "",
                          "size", (json_int_t)m->size,
                          "sha256", m->sha256 ? m->sha256 : "",
                          "created_ms", (json_int_t)m->created_ms);
    if (!o)
        return rk_fail(err, RK_ERR_INVALID, "metadata is not valid UTF-8");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory encoding metadata");
    *out = s;
    *len = strlen(s);
    return RK_OK;
}

static const char *str_field(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t int_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int meta_load(const char *path, const char *tenant, const char *id,
              meta_doc *doc, rk_err *err)
{
    memset(doc, 0, sizeof *doc);
    char *text = NULL;
    size_t len = 0;
    int rc = files_read_small(path, META_MAX_BYTES, &text, &len, err);
    if (rc != RK_OK)
        return rc;
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        return rk_fail(err, RK_ERR_IO, "%s: corrupt metadata", path);
    }
    int64_t size = int_field(o, "size");
    doc->m.struct_size = sizeof(rk_doc_meta);
    doc->m.tenant = tenant;
    doc->m.id = id;
    doc->m.filename = str_field(o, "filename");
    doc->m.content_type = str_field(o, "content_type");
    doc->m.size = size > 0 ? (uint64_t)size : 0;
    doc->m.sha256 = str_field(o, "sha256");
    doc->m.created_ms = int_field(o, "created_ms");
    doc->priv = o;
    return RK_OK;
}

void meta_doc_free(meta_doc *doc)
{
    json_decref(doc->priv);
    doc->priv = NULL;
}
