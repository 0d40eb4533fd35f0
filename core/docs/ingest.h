/*
 * ingest — an uploaded file's bytes to indexable text: decide the content
 * type, extract the text (extract.h; PDF through poppler's pdftotext,
 * pdftext.h), pick a title, and cut the text into chunks (chunk.h), all
 * within a time budget. Blocking (a PDF runs a child process): call it on
 * a worker thread.
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
#include "pdftext.h"
#include "strbuf.h"

#define INGEST_MAX_TEXT PDFTEXT_MAX_TEXT     /* extracted text, bytes */
/* Defaults of the limits below (the pipeline schema has the same ones). */
#define INGEST_TIMEOUT_MS 30000
#define INGEST_PDFTOTEXT "/usr/bin/pdftotext"
#define INGEST_PDF_MAX_MEMORY (512LL * 1024 * 1024)
#define INGEST_PDF_MAX_PARALLEL 2
#define INGEST_PDF_QUEUE_MS 5000

/* The limits every upload runs under (pipeline.ingest_timeout and the
 * pipeline.pdftotext* keys). */
typedef struct ingest_limits {
    int64_t timeout_ms; /* one document, from ingest_run's start to its end:
                         * extraction (pdftotext too) and chunking */
    pdftext_limits pdf; /* its timeout_ms is ignored: the budget's remainder */
} ingest_limits;

/* Replace the process-wide limits (copied, prog too) for the uploads that
 * start from now on; uploads in progress keep theirs. Any thread. RK_OK, or
 * RK_ERR_CONFIG when pdf.prog is not an absolute path or a value is out of
 * range (the previous limits stay). */
int ingest_configure(const ingest_limits *l, rk_err *err);

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

/* Extract, title and chunk, within the ingest budget. On failure returns
 * an rk_status with err set and out empty: RK_ERR_UNSUPPORTED (type, named
 * in the message), RK_ERR_INVALID (not UTF-8 text, broken PDF, pdftotext
 * killed by a limit, "no text could be extracted"), RK_ERR_TIMEOUT (over
 * the budget, named in the message), RK_ERR_UNAVAILABLE (all PDF slots busy
 * for the queue timeout), RK_ERR_TOO_LARGE, RK_ERR_NOMEM, RK_ERR_IO.
 * filename may be NULL (then the title falls back to "untitled"). */
int ingest_run(const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err);
void ingest_doc_free(ingest_doc *d);

/* The HTTP status that fits an ingest_run status: 415 unsupported, 422
 * invalid or over the budget, 413 too large, 503 no PDF slot free (retry
 * later), 500 otherwise. */
int ingest_http_status(int status);

#endif
