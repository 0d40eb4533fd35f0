/*
 * llm_common — small policies every upstream LLM client needs: a growable
 * byte buffer, exponential backoff with full jitter, Retry-After parsing,
 * the mapping from an upstream HTTP status to an rk_status, and pulling a
 * human message out of an upstream error body.
 *
 * Compiled into each provider plugin on its own (PLUGIN_SRCS_<name> in its
 * plugin.mk), so nothing here is shared between .so files at run time.
 */
#ifndef LLM_COMMON_H
#define LLM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

/* Bytes with a length; always NUL-terminated after an append. The owner
 * frees it with llm_buf_free; a zeroed struct is an empty buffer. */
typedef struct llm_buf {
    char *p;
    size_t len, cap;
} llm_buf;

int llm_buf_add(llm_buf *b, const void *data, size_t n); /* RK_OK / RK_ERR_NOMEM */
/* s (n bytes) as a quoted JSON string: 0, -1 (not UTF-8, or a NUL), -2 OOM. */
int llm_buf_json_str(llm_buf *b, const char *s, size_t n);
void llm_buf_reset(llm_buf *b);
void llm_buf_free(llm_buf *b);

/* splitmix64: fast, good enough for jitter, state may start anywhere. */
uint64_t llm_rand_next(uint64_t *state);

/* Delay before retry number `attempt` (0 = the first retry): uniform in
 * [0, min(max_ms, base_ms * 2^attempt)] ("full jitter"). */
int64_t llm_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                       uint64_t *rng);

/* Milliseconds to wait from the Retry-After family of headers: retry_after_ms
 * (a number of ms, preferred when both are present) or retry_after (seconds
 * or an HTTP-date, compared with wall_now_ms). Either may be NULL. Returns -1
 * when absent or unparseable, 0 for a date in the past. */
int64_t llm_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                           int64_t wall_now_ms);

/* The rk_status an HTTP status stands for: RK_OK for 2xx; retryable codes
 * for 408, 429 and 5xx (529 "overloaded" included); RK_ERR_AUTH for 401/403;
 * RK_ERR_INVALID for the other 4xx; RK_ERR_UPSTREAM for anything else. */
int llm_status_from_http(int http_status);

/* Short label for an rk_status, for metric labels ("timeout", ...). */
const char *llm_status_label(int status);

/* The upstream's own words from an error body: error.message (OpenAI,
 * Anthropic, vLLM), error as a string (Ollama), message or detail; else the
 * start of the body as text. Writes "" when there is nothing usable. */
void llm_error_message(const char *body, size_t len, char *out, size_t cap);

/* Cut a UTF-8 sequence left incomplete at the end of s by truncation, so a
 * clipped message still makes valid JSON. */
void llm_utf8_trim(char *s);
/* s into out, cut to cap-1 bytes (cap > 0): what snprintf("%s") does,
 * without its cost on the per-answer path. */
void llm_strlcpy(char *out, size_t cap, const char *s);

/* strdup / asprintf that return NULL on failure (no errno games). */
char *llm_strdup(const char *s);
char *llm_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
