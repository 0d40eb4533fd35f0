/*
 * s3_xml — just enough XML for S3 responses (ListObjectsV2, errors,
 * multipart initiate/complete) and request bodies. Not a general parser:
 * elements are found by name, without namespaces, and the elements read
 * never nest inside an element of the same name.
 */
#ifndef RK_S3_XML_H
#define RK_S3_XML_H

#include <stddef.h>

#include "s3_buf.h"

/* Finds the next element <tag ...>content</tag> (or <tag/>) starting at
 * *pos; sets [*start, *end) to the raw content and *pos past the element.
 * Returns 1 if found, 0 if not (*pos unchanged). */
int s3_xml_element(const char *xml, size_t len, const char *tag, size_t *pos,
                   size_t *start, size_t *end);

/* The next element's content, decoded (entities, character references,
 * CDATA), into *out (malloc'd). Returns 1 found, 0 not found, -1 out of
 * memory. */
int s3_xml_text(const char *xml, size_t len, const char *tag, size_t *pos, char **out);

/* Decoded copy of raw XML text (malloc'd; NULL on no memory). Unknown or
 * malformed references are kept as written. */
char *s3_xml_decode(const char *s, size_t n);

/* Append s with & < > " ' escaped. */
void s3_xml_escape(s3_buf *b, const char *s);

#endif
