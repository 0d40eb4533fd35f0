/*
 * http_sse — owns the event-stream wire format and the MHD content reader.
 * Events are formatted once, when the host delivers a delta, into the
 * request's out buffer; the reader only copies bytes, so MHD's thread does
 * no JSON work. OpenAI chunks share a prefix (id, created, model) built
 * once per stream. A failure after the stream opened becomes a
 * `data: {"error":...}` event with no [DONE], which OpenAI SDKs raise as an
 * APIError instead of silently truncating the answer.
 */
#include "http_sse.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_resp.h"
#include "http_server.h"

/* MHD asks for at most this much per read; keep it well inside the
 * per-connection memory pool. */
#define SSE_BLOCK 4096

void sse_init(sse_stream *s, sse_dialect d)
{
    memset(s, 0, sizeof *s);
    s->dialect = d;
}

void sse_free(sse_stream *s)
{
    hbuf_free(&s->out);
    hbuf_free(&s->carry);
    free(s->base);
    s->base = NULL;
}

static int event_json(sse_stream *s, json_t *j)
{
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!txt)
        return -1;
    hbuf_puts(&s->out, "data: ");
    hbuf_puts(&s->out, txt);
    hbuf_puts(&s->out, "\n\n");
    free(txt);
    return s->out.oom ? -1 : 0;
}

int sse_open(sse_stream *s, const char *id, int64_t created,
             const char *model, json_t *sources)
{
    if (s->open)
        return 0;
    s->open = 1;
    if (s->dialect == SSE_LEGACY)
        return 0; /* /chat streams start with the first delta */
    hbuf b = {0};
    hbuf_puts(&b, "{\"id\":");
    hbuf_json_str(&b, id, strlen(id));
    hbuf_puts(&b, ",\"object\":\"chat.completion.chunk\",\"created\":");
    hbuf_int(&b, (long long)created);
    hbuf_puts(&b, ",\"model\":");
    hbuf_json_str(&b, model, strlen(model));
    if (b.oom) {
        hbuf_free(&b);
        return -1;
    }
    s->base = hbuf_take(&b, NULL);
    hbuf_puts(&s->out, "data: ");
    hbuf_puts(&s->out, s->base);
    hbuf_puts(&s->out, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                       "\"assistant\",\"content\":\"\"},\"finish_reason\":"
                       "null}]");
    char *src = sources ? json_dumps(sources, JSON_COMPACT) : NULL;
    if (src) {
        hbuf_puts(&s->out, ",\"sources\":");
        hbuf_puts(&s->out, src);
        free(src);
    }
    hbuf_puts(&s->out, "}\n\n");
    return s->out.oom ? -1 : 0;
}

/* Write text (already cut at a character boundary) as one delta event. */
static void delta_event(sse_stream *s, const char *text, size_t len)
{
    if (s->dialect == SSE_LEGACY) {
        hbuf_puts(&s->out, "data: {\"delta\":");
        hbuf_json_str(&s->out, text, len);
        hbuf_puts(&s->out, "}\n\n");
    } else {
        hbuf_puts(&s->out, "data: ");
        hbuf_puts(&s->out, s->base);
        hbuf_puts(&s->out, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":");
        hbuf_json_str(&s->out, text, len);
        hbuf_puts(&s->out, "},\"finish_reason\":null}]}\n\n");
    }
}

int sse_delta(sse_stream *s, const char *text, size_t len)
{
    if (!len || s->ended)
        return 0;
    s->text_bytes += len;
    int from_carry = s->carry.len > 0;
    if (from_carry) { /* complete the character the last delta cut */
        hbuf_append(&s->carry, text, len);
        text = s->carry.data;
        len = s->carry.len;
    }
    size_t whole = utf8_complete_prefix(text, len);
    if (whole)
        delta_event(s, text, whole);
    if (from_carry)
        hbuf_consume(&s->carry, whole);
    else if (whole < len)
        hbuf_append(&s->carry, text + whole, len - whole);
    return s->out.oom || s->carry.oom ? -1 : 0;
}

int sse_should_pause(sse_stream *s)
{
    if (s->paused || s->ended || s->out.len < SSE_HIGH_WATER)
        return 0;
    s->paused = 1;
    return 1;
}

/* Whatever is left in carry can never complete: emit it (repaired). */
static void flush_carry(sse_stream *s)
{
    if (s->carry.len) {
        delta_event(s, s->carry.data, s->carry.len);
        hbuf_reset(&s->carry);
    }
}

int sse_finish(sse_stream *s, const char *finish_reason, const rk_usage *usage,
               json_t *final)
{
    if (s->ended)
        return 0;
    flush_carry(s);
    if (s->dialect == SSE_LEGACY) {
        event_json(s, final);
    } else {
        hbuf_puts(&s->out, "data: ");
        hbuf_puts(&s->out, s->base);
        hbuf_puts(&s->out, ",\"choices\":[{\"index\":0,\"delta\":{},"
                           "\"finish_reason\":");
        const char *fr = finish_reason ? finish_reason : "stop";
        hbuf_json_str(&s->out, fr, strlen(fr));
        hbuf_puts(&s->out, "}]}\n\n");
        if (usage) {
            hbuf_puts(&s->out, "data: ");
            hbuf_puts(&s->out, s->base);
            hbuf_printf(&s->out,
                        ",\"choices\":[],\"usage\":{\"prompt_tokens\":%lld,"
                        "\"completion_tokens\":%lld,\"total_tokens\":%lld}}"
                        "\n\n",
                        (long long)usage->prompt_tokens,
                        (long long)usage->completion_tokens,
                        (long long)(usage->prompt_tokens +
                                    usage->completion_tokens));
        }
    }
    hbuf_puts(&s->out, "data: [DONE]\n\n");
    s->ended = 1;
    return s->out.oom ? -1 : 0;
}

int sse_fail(sse_stream *s, json_t *error)
{
    if (s->ended)
        return 0;
    flush_carry(s);
    int rc = event_json(s, error);
    s->ended = 1;
    return rc;
}

/* The server aborts while the answer is still coming: end with an error
 * event rather than a cut connection, so clients report why. */
static ssize_t shutdown_event(sse_stream *s, char *buf, size_t max)
{
    hr_error e = {.status = 503, .message = "The server is shutting down"};
    json_t *err = hr_error_json(&e);
    sse_fail(s, err);
    json_decref(err);
    if (s->out.oom || !s->out.len)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = s->out.len < max ? s->out.len : max;
    memcpy(buf, s->out.data, n);
    hbuf_consume(&s->out, n);
    return (ssize_t)n;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_req *r = cls;
    sse_stream *s = r->sse;
    ssize_t rc;
    pthread_mutex_lock(&r->mu);
    if (s->out.oom) {
        rc = MHD_CONTENT_READER_END_WITH_ERROR; /* events were lost */
    } else if (s->out.len) {
        size_t n = s->out.len < max ? s->out.len : max;
        memcpy(buf, s->out.data, n);
        hbuf_consume(&s->out, n);
        rc = (ssize_t)n;
        if (s->paused && s->out.len <= SSE_LOW_WATER) { /* drained: go on */
            s->paused = 0;
            if (r->ops && r->ops->flow)
                r->ops->flow(r, 0);
        }
    } else if (s->ended) {
        rc = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (req_suspend_locked(r) == 0) {
        rc = 0; /* MHD calls again after the next append resumes us */
    } else {
        rc = shutdown_event(s, buf, max); /* the server is aborting */
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

enum MHD_Result sse_queue(http_req *r, const char *const *extra)
{
    int sndbuf = SSE_SNDBUF; /* see http_sse.h; failure only costs memory */
    if (r->fd >= 0)
        (void)setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK, sse_read, r, NULL);
    if (!resp)
        return MHD_NO;
    if (hr_headers_add(r, resp, CT_SSE, extra) < 0 ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-cache") != MHD_YES ||
        MHD_add_response_header(resp, "X-Accel-Buffering", "no") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = hr_queue(r, 200, resp);
    if (rc == MHD_YES) {
        r->sse->queued = 1;
        r->stream = 1;
        hm_streams(&r->srv->metrics, 1);
    }
    return rc;
}
