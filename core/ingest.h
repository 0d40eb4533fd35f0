/*
 * ingest — an uploaded file's bytes to indexable text: decide the content
 * type, extract the text (extract.h; PDF through poppler's pdftotext), pick
 * a title, and cut the text into chunks (chunk.h). Blocking (a PDF runs a
 * child process): call it on a worker thread.
 *
 * Supported types: text/plain, text/markdown, text/html, application/pdf.
 * Invalid UTF-8 in text formats is replaced with U+FFFD; input that is
 * mostly invalid is refused (extract.h, EXTRACT_BAD_RATIO).
 */
#ifndef RK_CORE_INGEST_H
#define RK_CORE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/error.h>

#include "chunk.h"
#include "strbuf.h"

#define INGEST_PDF_TIMEOUT_MS 30000          /* pdftotext gets this long */
#define INGEST_MAX_TEXT (64u * 1024 * 1024)  /* extracted text, bytes */
#define INGEST_PDFTOTEXT "pdftotext"         /* looked up in PATH */

typedef struct ingest_doc {
    const char *content_type; /* static string: the resolved type */
    char *title;              /* owned, never NULL after success */
    char *text;               /* owned: the whole extracted text */
    chunk_list chunks;        /* at least one after success */
} ingest_doc;

/* The content type to use: `given` (parameters such as "; charset=" and
 * case ignored) unless it is NULL, empty or application/octet-stream; then
 * the filename extension (.txt .md .markdown .html .htm .pdf), then the
 * bytes ("%PDF-" in the first KiB, a leading "<!DOCTYPE html" or "<html");
 * then text/plain when there is no extension and the bytes are valid UTF-8
 * text. Returns a static canonical type, or NULL when unsupported. Aliases
 * accepted for `given`: text/x-markdown, application/xhtml+xml,
 * application/x-pdf. */
const char *ingest_content_type(const char *given, const char *filename,
                                const void *data, size_t len);

/* Extract, title and chunk. On failure returns an rk_status with err set
 * and out empty: RK_ERR_UNSUPPORTED (type, named in the message),
 * RK_ERR_INVALID (not UTF-8 text, broken PDF, "no text could be
 * extracted"), RK_ERR_TIMEOUT (pdftotext ran too long), RK_ERR_TOO_LARGE,
 * RK_ERR_NOMEM, RK_ERR_IO. filename may be NULL (then the title falls back
 * to "untitled"). */
int ingest_run(const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err);
void ingest_doc_free(ingest_doc *d);

/* The HTTP status that fits an ingest_run status: 415 unsupported, 422
 * invalid or timed out, 413 too large, 500 otherwise. */
int ingest_http_status(int status);

/* Run `prog` (pdftotext, or a stand-in in tests) as
 * "prog -layout -enc UTF-8 FILE -" on a private temp copy of the bytes,
 * without a shell; its stdout is appended to out. Killed after timeout_ms.
 * RK_OK, RK_ERR_UNSUPPORTED (prog not installed), RK_ERR_INVALID (it
 * failed; its stderr is in the message), RK_ERR_TIMEOUT, RK_ERR_TOO_LARGE
 * (output over INGEST_MAX_TEXT), RK_ERR_IO. */
int ingest_pdftotext(const char *prog, const void *data, size_t len,
                     int64_t timeout_ms, strbuf *out, rk_err *err);

#endif
