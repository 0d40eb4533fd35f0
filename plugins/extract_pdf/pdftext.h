/*
 * pdftext — the text of a PDF through poppler's pdftotext, run as a
 * confined child process: the program by absolute path (no PATH lookup),
 * no shell, an empty environment but PATH, stdin from /dev/null, nothing
 * else open, default signals, and limits the kernel enforces (address
 * space, CPU seconds, no core file) on top of a wall-clock deadline and a
 * cap on how many such children run at once in the process.
 *
 * Threads: pdftext_run blocks (call it on a worker); any thread may call
 * it at the same time as others.
 */
#ifndef RK_EXTRACT_PDF_PDFTEXT_H
#define RK_EXTRACT_PDF_PDFTEXT_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/error.h>

#include "strbuf.h"

#define PDFTEXT_MAX_TEXT (64u * 1024 * 1024) /* the child's output, bytes */

typedef struct pdftext_limits {
    const char *prog;         /* absolute path of pdftotext (or a stand-in); borrowed */
    int64_t timeout_ms;       /* wall clock from the call; also the child's CPU
                               * limit (RLIMIT_CPU, rounded up to whole seconds) */
    int64_t max_memory;       /* the child's address space (RLIMIT_AS), bytes; 0 = none */
    int max_parallel;         /* children at once in this process; 0 = no cap */
    int64_t queue_timeout_ms; /* wait at most this long (and never past the
                               * deadline) for a free slot */
} pdftext_limits;

/* Run "prog -layout -enc UTF-8 FILE -" on a private 0600 temp copy of the
 * bytes; its stdout is appended to out. The child is killed (SIGKILL) and
 * reaped when the deadline passes or the output goes over PDFTEXT_MAX_TEXT;
 * no child outlives the call. Returns RK_OK, or:
 *   RK_ERR_UNAVAILABLE  max_parallel children already running and none
 *                       finished in time (the caller answers 503, retry later)
 *   RK_ERR_UNSUPPORTED  prog cannot be executed (not installed)
 *   RK_ERR_INVALID      prog failed (exit status and its stderr in the
 *                       message) or was killed by a limit (named)
 *   RK_ERR_TIMEOUT      the deadline passed
 *   RK_ERR_TOO_LARGE    output over PDFTEXT_MAX_TEXT
 *   RK_ERR_IO, RK_ERR_NOMEM */
int pdftext_run(const pdftext_limits *lim, const void *data, size_t len, strbuf *out,
                rk_err *err);

/* Children running now (for tests and diagnostics). */
int pdftext_running(void);

#endif
