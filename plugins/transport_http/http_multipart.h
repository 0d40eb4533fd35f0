/*
 * http_multipart — multipart/form-data (RFC 7578) over a body that is
 * already complete in memory: the `file` part (its bytes, filename and
 * Content-Type) and an optional `id` field. Pure: no MHD, no host.
 *
 * Ownership: mp_form points into the body it was parsed from (data) or
 * holds bounded copies (the strings); the body must outlive it.
 */
#ifndef RK_HTTP_MULTIPART_H
#define RK_HTTP_MULTIPART_H

#include <stddef.h>

#define MP_BOUNDARY_MAX 70 /* RFC 2046 */
#define MP_FILENAME_MAX 1024
#define MP_VALUE_MAX 256

typedef struct mp_form {
    int has_file;
    const char *data;  /* the file part's bytes, inside the body */
    size_t len;
    char filename[MP_FILENAME_MAX];  /* decoded; "" when none was given */
    char content_type[MP_VALUE_MAX]; /* "" when the part had none */
    int has_id;
    char id[MP_VALUE_MAX];           /* the `id` field, trimmed */
} mp_form;

/* 1 when content_type is multipart/form-data: boundary is then filled
 * (unquoted, "" if absent or longer than MP_BOUNDARY_MAX); 0 otherwise. */
int mp_form_boundary(const char *content_type, char *boundary, size_t cap);

/* 0, or -1 with a message for a 400 in err. A body without a `file` part
 * parses (has_file = 0); two `file` parts do not. */
int mp_parse(const char *body, size_t len, const char *boundary,
             mp_form *out, char *err, size_t errcap);

/* Percent-decode s[0..n) into out (NUL-terminated). -1 when out is too
 * small or a '%' is not followed by two hex digits; MP_NUL when it
 * decodes to a NUL byte (%00), which a C string would silently end at. */
#define MP_NUL (-2)
int mp_pct_decode(const char *s, size_t n, char *out, size_t cap);

#endif
