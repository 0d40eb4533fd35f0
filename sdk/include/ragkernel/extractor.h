/*
 * ragkernel SDK — document extractors (kind RK_KIND_EXTRACTOR, since 1.1):
 * an uploaded file's bytes to the text that is chunked and indexed.
 *
 * The host decides which extractor reads an upload, in this order: the
 * upload's content type (parameters and case ignored; text/plain loses to
 * a more specific text/ type named by the filename's extension, since many
 * clients send text/plain for any text file), then the filename's
 * extension, then sniff() of the first bytes, then "valid UTF-8 without an
 * extension is text/plain". Candidates are the instances named by
 * pipeline.extractors (absent: every extractor instance, in the order they
 * are declared); the first that declares a match wins. No match: the
 * upload gets 415 naming its type.
 *
 * The host then calls extract(), which pushes the text through the sink.
 * What the host does with it, so an extractor need not: replaces invalid
 * UTF-8 with U+FFFD and drops control bytes but TAB, LF and FF; trims the
 * end of lines; squeezes blank-line runs into one paragraph break ("\n\n");
 * takes the title (trimmed, cut to 200 bytes) from title(), else from the
 * first line, else from the filename; refuses an empty result with 422
 * ("no text could be extracted"); cuts the text into chunks.
 *
 * Threads: sniff() and extract() are called on host worker threads,
 * concurrently for one instance unless the plugin sets RK_PLUGIN_SERIALIZE
 * (then never two at once). They block: extract() may run a child process
 * or wait for a slot. Neither may call back into loop-only host slots.
 */
#ifndef RAGKERNEL_EXTRACTOR_H
#define RAGKERNEL_EXTRACTOR_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* since 1.1. The most bytes sniff() is shown. */
#define RK_EXTRACT_SNIFF_MAX 4096

/* since 1.1. FROZEN: one format an extractor reads, walked in arrays with
 * the 1.1 stride for the whole major. Strings are static, lower case. */
typedef struct rk_extract_format {
    const char *content_type; /* canonical: "text/markdown"; NULL ends the table.
                               * What the document is stored as. */
    const char *extensions;   /* with dots, space-separated: ".md .markdown";
                               * NULL = none */
    const char *aliases;      /* other content types meaning the same,
                               * space-separated: "text/x-markdown"; NULL = none */
} rk_extract_format;
RK_FROZEN(rk_extract_format, aliases, 24);

/* since 1.1. Where extract() writes. Host-owned, valid during extract()
 * only; call it from the thread extract() runs on. */
typedef struct rk_extract_sink {
    uint32_t struct_size;
    void *ud; /* pass back as the first argument */
    /* Append text (UTF-8; any number of calls, pieces joined as given).
     * Paragraphs are separated by a blank line ("\n\n"). Returns RK_OK, or
     * an rk_status (RK_ERR_TOO_LARGE over the host's text limit,
     * RK_ERR_NOMEM) that extract() should stop and return. */
    int (*text)(void *ud, const char *s, size_t len);
    /* Optional to call: the document's own title (a <title>, a first
     * heading, PDF metadata). The last call wins. Returns as text() does. */
    int (*title)(void *ud, const char *s, size_t len);
} rk_extract_sink;

/* since 1.1. One document to read. Host-owned, valid during extract(). */
typedef struct rk_extract_request {
    uint32_t struct_size;
    const char *content_type; /* the canonical type of the format chosen
                               * (one of this extractor's formats) */
    const char *filename;     /* as uploaded, directory part dropped; may be NULL */
    const void *data;         /* the upload's bytes (len may be 0) */
    size_t len;
    int64_t deadline_ms;      /* host->now_ms clock: stop by then with
                               * RK_ERR_TIMEOUT (checking every few hundred
                               * lines, or killing a child) */
} rk_extract_request;

typedef struct rk_extractor_vtable {
    RK_VTABLE_HEAD;
    /* Required, non-empty: the formats this extractor reads. Static. */
    const rk_extract_format *formats;
    /* Optional (NULL = never claims by content). Worker, concurrently.
     * head is the start of an upload whose type and extension matched no
     * extractor (len <= RK_EXTRACT_SNIFF_MAX). Return the canonical type
     * of one of formats when the bytes are clearly that format ("%PDF-",
     * "<!doctype html"), else NULL. Cheap: no I/O, no allocation. */
    const char *(*sniff)(void *ctx, const void *head, size_t len);
    /* Required. Worker, blocking, concurrently (see the top). Read rq and
     * push its text into out. RK_OK, or with err filled:
     *   RK_ERR_INVALID      not this format / not text / broken (422)
     *   RK_ERR_TIMEOUT      rq->deadline_ms passed (422)
     *   RK_ERR_UNAVAILABLE  busy (e.g. all child slots taken for a bounded
     *                       wait): 503 with Retry-After, try again later
     *   RK_ERR_UNSUPPORTED  a tool this format needs is missing (415)
     *   RK_ERR_TOO_LARGE    over a limit (413); RK_ERR_NOMEM; RK_ERR_IO
     * On failure whatever reached the sink is discarded. */
    int (*extract)(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                   rk_err *err);
} rk_extractor_vtable;

#ifdef __cplusplus
}
#endif
#endif
