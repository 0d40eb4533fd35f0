/*
 * fuzz_multipart — upload bodies (http_multipart.c). The first line is the
 * request's Content-Type (its boundary is what the parser splits on), the
 * rest the body; the filename decoder gets the same body as a name.
 */
#include "fuzz.h"

#include "http_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ctype = fz_line(&data, &size);
    if (!ctype)
        return 0;
    char boundary[MP_BOUNDARY_MAX + 1];
    char err[128];
    char *body = fz_dup(data, size, 0);
    static mp_form form; /* 1.5 KB: not on the stack every run */
    if (mp_form_boundary(ctype, boundary, sizeof boundary) && boundary[0]) {
        memset(&form, 0, sizeof form);
        if (mp_parse(body, size, boundary, &form, err, sizeof err) == 0 && form.has_file)
            (void)memchr(form.data, 0, form.len); /* the part lies inside the body */
    }
    char name[MP_FILENAME_MAX];
    (void)mp_pct_decode(body, size < 2048 ? size : 2048, name, sizeof name);
    free(body);
    free(ctype);
    return 0;
}
