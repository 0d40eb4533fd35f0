/*
 * http_resp — building and queueing responses: the headers every response
 * carries (request id, Content-Type), JSON bodies, and errors in OpenAI's
 * format {"error":{"message","type","param","code"}}.
 *
 * All hr_send* functions run on the MHD thread inside the access handler,
 * record the status on the request for metrics, and return what the access
 * handler should return.
 */
#ifndef RK_HTTP_RESP_H
#define RK_HTTP_RESP_H

#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http_req.h"

#define CT_JSON "application/json"
#define CT_SSE "text/event-stream"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Optional extra headers: name/value pairs, NULL-terminated. */
typedef const char *const hr_headers[];

/* Lock order: MHD takes a response's own mutex around a content reader
 * (which takes r->mu), and MHD_queue_response takes it too; so no response
 * is queued while r->mu is held. A resume handler brackets its locked part
 * with these: hr_hold_locked (r->mu held) makes hr_queue keep the response;
 * hr_release (r->mu released) queues it. MHD thread. */
void hr_hold_locked(http_req *r);
enum MHD_Result hr_release(http_req *r, enum MHD_Result rc);

/* Add the request id and Content-Type (and extra) headers. */
int hr_headers_add(http_req *r, struct MHD_Response *resp, const char *ctype,
                   const char *const *extra);
/* Queue resp with status; destroys our reference to resp. */
enum MHD_Result hr_queue(http_req *r, int status, struct MHD_Response *resp);

/* body is malloc'ed and owned by the call (freed even on failure). */
enum MHD_Result hr_send_buf(http_req *r, int status, const char *ctype,
                            char *body, size_t len, const char *const *extra);
/* A response without a body or Content-Type (204, 304). */
enum MHD_Result hr_send_empty(http_req *r, int status,
                              const char *const *extra);
/* A 304 whose Content-Length is the length of the representation a 200
 * would carry (RFC 9110 8.6), without a body. */
enum MHD_Result hr_send_not_modified(http_req *r, uint64_t length,
                                     const char *const *extra);
/* Takes the reference to j. */
enum MHD_Result hr_send_json(http_req *r, int status, json_t *j,
                             const char *const *extra);

typedef struct hr_error {
    int status;           /* HTTP status */
    const char *type;     /* NULL: derived from status */
    const char *code;     /* may be NULL */
    const char *param;    /* may be NULL */
    const char *message;  /* never NULL when sent */
    int64_t retry_after_ms;
    const char *allow;    /* 405: the Allow header */
    const char *const *headers; /* more name/value pairs, NULL-terminated */
} hr_error;

enum MHD_Result hr_send_error(http_req *r, const hr_error *e);
/* Shorthand with a formatted message. */
enum MHD_Result hr_fail(http_req *r, int status, const char *param,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The error object {"error":{...}} (for SSE error events too). */
json_t *hr_error_json(const hr_error *e);
/* OpenAI-ish error type for an HTTP status. */
const char *hr_default_type(int status);
/* HTTP status for an rk_status when the host suggested none. */
int hr_status_for(int rk_status);

/* A JSON string from possibly invalid UTF-8; NULL s gives JSON null. */
json_t *hj_str(const char *s);
json_t *hj_strn(const char *s, size_t n);

#endif
