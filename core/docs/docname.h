/*
 * docname — which characters a document's filename may hold, for every
 * transport that uploads documents (the document service checks each
 * name here before anything is stored).
 */
#ifndef RK_DOCNAME_H
#define RK_DOCNAME_H

#include <stddef.h>

#include <ragkernel/ragkernel.h>

/* name[0..n) (NUL-terminated at n): RK_OK when it is UTF-8 without C0 or
 * C1 controls, DEL or bidirectional controls; else RK_ERR_INVALID with a
 * message naming the first offending character. */
int docname_chars_ok(const char *name, size_t n, rk_err *err);

#endif
