/*
 * http_sse — Server-Sent Events for streamed chats: the event formats
 * (OpenAI chat.completion.chunk and the /chat dialect) and the MHD content
 * reader that drains them.
 *
 * Threading: events are appended by host callbacks (loop thread) and read
 * by MHD (its thread); both hold the owning request's r->mu. The reader
 * never blocks: with nothing buffered it suspends the connection and
 * returns 0; the next append resumes it.
 */
#ifndef RK_HTTP_SSE_H
#define RK_HTTP_SSE_H

#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include <ragkernel/chat.h>

#include "http_buf.h"
#include "http_req.h"

typedef enum sse_dialect { SSE_OPENAI = 0, SSE_LEGACY = 1 } sse_dialect;

typedef struct sse_stream {
    sse_dialect dialect;
    hbuf out;      /* event bytes MHD has not taken yet */
    hbuf carry;    /* an unfinished UTF-8 character at the end of a delta */
    char *base;    /* OpenAI: {"id":..,"object":..,"created":..,"model":.. */
    int open;      /* the first event is written: the answer is a 200 stream */
    int queued;    /* the MHD response exists */
    int ended;     /* the last event is written: end after out drains */
    size_t text_bytes; /* delta text received so far */
    int paused;    /* the host was asked to stop reading the upstream */
} sse_stream;

/* Flow control: past SSE_HIGH_WATER unsent bytes the host is asked to stop
 * reading the chat's upstream (http_job_ops.flow), below SSE_LOW_WATER to
 * go on. The stream's socket gets a send buffer of SSE_SNDBUF (the kernel
 * doubles it) instead of one that grows to megabytes, since everything the
 * kernel holds for a client that does not read is also held, as answer
 * text, by the host: a stalled stream costs about the sum of the three. */
#define SSE_HIGH_WATER (64u * 1024)
#define SSE_LOW_WATER (16u * 1024)
#define SSE_SNDBUF (64 * 1024)

/* r->mu held, after appending: 1 when the host must be told to pause. */
int sse_should_pause(sse_stream *s);

void sse_init(sse_stream *s, sse_dialect d);
void sse_free(sse_stream *s);

/* Open the stream (once). OpenAI: the role chunk, carrying `sources`
 * (borrowed, may be NULL) as an extra field. */
int sse_open(sse_stream *s, const char *id, int64_t created,
             const char *model, json_t *sources);
/* One piece of answer text. */
int sse_delta(sse_stream *s, const char *text, size_t len);
/* Success. OpenAI: the finish chunk, the usage chunk if usage != NULL,
 * then [DONE]. Legacy: `final` (borrowed JSON object), then [DONE]. */
int sse_finish(sse_stream *s, const char *finish_reason, const rk_usage *usage,
               json_t *final);
/* Failure after the stream opened: an error event and no [DONE]. */
int sse_fail(sse_stream *s, json_t *error);

/* MHD thread, r->mu held: queue the 200 event-stream response whose reader
 * drains r->sse. */
enum MHD_Result sse_queue(http_req *r, const char *const *extra);

#endif
