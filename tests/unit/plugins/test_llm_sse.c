/*
 * Unit tests of the LLM plugins' shared client code, compiled in directly
 * (the plugins build with hidden visibility, so there is nothing to link):
 * the SSE parser under every way a stream can be cut into pieces, backoff
 * and Retry-After, status mapping, and the retry engine (llm_call) with the
 * OpenAI response reader, driven through a fake host whose HTTP calls and
 * timers the tests complete by hand.
 */
#define _GNU_SOURCE /* before any libc header: llm_common.c needs strptime */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../../plugins/lib/llm/llm_common.c"
#include "../../../plugins/lib/llm/llm_sse.c"
#include "../../../plugins/lib/llm/llm_client.c"
#include "../../../plugins/lib/llm/llm_call.c"
#include "../../../plugins/llm_openai/openai_stream.c"

/* ---------------------------------------------------------------- SSE */

typedef struct events {
    char text[4096]; /* "event=data|" per event */
    int n;
    int stop_at;     /* return 7 from the stop_at-th event (1-based) */
} events;

static int on_ev(void *ud, const char *event, const char *data, size_t len)
{
    events *e = ud;
    size_t used = strlen(e->text);
    snprintf(e->text + used, sizeof e->text - used, "%s=%.*s|", event, (int)len, data);
    e->n++;
    return e->n == e->stop_at ? 7 : 0;
}

static void parse_pieces(const char *s, size_t piece, events *e)
{
    llm_sse p;
    llm_sse_init(&p, 1024);
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i += piece)
        ck_assert_int_eq(llm_sse_feed(&p, s + i, n - i < piece ? n - i : piece, on_ev, e), 0);
    ck_assert_int_eq(llm_sse_finish(&p, on_ev, e), 0);
    llm_sse_free(&p);
}

static const char *STREAM =
    ": keep-alive\r\n\r\n"
    "data: {\"a\":1}\r\n\r\n"
    "event: content_block_delta\n"
    "data: line1\n"
    "data:line2\n\n"
    "id: 7\rretry: 100\rdata: cr only\r\r"
    "data\n\n"
    "event: ping\n\n"
    "data: [DONE]\n\n";

static const char *EXPECT =
    "message={\"a\":1}|content_block_delta=line1\nline2|message=cr only|message=|"
    "message=[DONE]|";

START_TEST(sse_any_split)
{
    /* every piece size, so lines, CRLF pairs and fields split everywhere */
    for (size_t piece = 1; piece <= strlen(STREAM); piece++) {
        events e = {{0}, 0, 0};
        parse_pieces(STREAM, piece, &e);
        ck_assert_msg(strcmp(e.text, EXPECT) == 0, "piece %zu: %s", piece, e.text);
    }
}
END_TEST

START_TEST(sse_two_cuts)
{
    size_t n = strlen(STREAM);
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            events e = {{0}, 0, 0};
            llm_sse p;
            llm_sse_init(&p, 1024);
            llm_sse_feed(&p, STREAM, a, on_ev, &e);
            llm_sse_feed(&p, STREAM + a, b - a, on_ev, &e);
            llm_sse_feed(&p, STREAM + b, n - b, on_ev, &e);
            llm_sse_finish(&p, on_ev, &e);
            llm_sse_free(&p);
            ck_assert_msg(strcmp(e.text, EXPECT) == 0, "cuts %zu,%zu: %s", a, b, e.text);
        }
}
END_TEST

START_TEST(sse_finish_without_blank_line)
{
    events e = {{0}, 0, 0};
    parse_pieces("data: one\n\ndata: [DONE]", 5, &e);
    ck_assert_str_eq(e.text, "message=one|message=[DONE]|");
    events f = {{0}, 0, 0};
    parse_pieces("data: x\n", 100, &f); /* data line done, blank line missing */
    ck_assert_str_eq(f.text, "message=x|");
}
END_TEST

START_TEST(sse_stop_and_limits)
{
    events e = {{0}, 0, 2};
    llm_sse p;
    llm_sse_init(&p, 16);
    ck_assert_int_eq(llm_sse_feed(&p, "data: a\n\ndata: b\n\ndata: c\n\n", 27, on_ev, &e), 7);
    ck_assert_int_eq(e.n, 2);
    llm_sse_reset(&p);
    ck_assert_int_eq(llm_sse_feed(&p, "data: 0123456789abcdef", 22, on_ev, &e), LLM_SSE_TOO_LARGE);
    llm_sse_reset(&p);
    ck_assert_int_eq(llm_sse_feed(&p, "data: 0123456789\ndata: 0123456789\n", 34, on_ev, &e),
                     LLM_SSE_TOO_LARGE); /* one event's data over the cap */
    llm_sse_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- policies */

START_TEST(backoff_full_jitter)
{
    uint64_t rng = 42;
    int64_t seen_max[6] = {0};
    for (int i = 0; i < 4000; i++)
        for (int a = 0; a < 6; a++) {
            int64_t d = llm_backoff_ms(a, 250, 2000, &rng);
            int64_t cap = 250LL << a > 2000 ? 2000 : 250LL << a;
            ck_assert(d >= 0 && d <= cap);
            if (d > seen_max[a])
                seen_max[a] = d;
        }
    for (int a = 0; a < 6; a++) { /* the whole range is used */
        int64_t cap = 250LL << a > 2000 ? 2000 : 250LL << a;
        ck_assert_msg(seen_max[a] > cap * 9 / 10, "attempt %d max %lld", a, (long long)seen_max[a]);
    }
    ck_assert_int_le(llm_backoff_ms(1000, 250, 8000, &rng), 8000); /* no overflow */
    ck_assert_int_eq(llm_backoff_ms(3, 0, 8000, &rng), 0);
}
END_TEST

START_TEST(retry_after_forms)
{
    int64_t now = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    ck_assert_int_eq(llm_retry_after_ms("1", NULL, now), 1000);
    ck_assert_int_eq(llm_retry_after_ms(" 2.5 ", NULL, now), 2500);
    ck_assert_int_eq(llm_retry_after_ms("3", "250", now), 250);
    ck_assert_int_eq(llm_retry_after_ms("Sun, 06 Nov 1994 08:49:40 GMT", NULL, now), 3000);
    ck_assert_int_eq(llm_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", NULL, now), 0);
    ck_assert_int_eq(llm_retry_after_ms("soon", NULL, now), -1);
    ck_assert_int_eq(llm_retry_after_ms("-1", NULL, now), -1);
    ck_assert_int_eq(llm_retry_after_ms(NULL, "x", now), -1);
    ck_assert_int_eq(llm_retry_after_ms(NULL, NULL, now), -1);
}
END_TEST

START_TEST(status_mapping)
{
    ck_assert_int_eq(llm_status_from_http(200), RK_OK);
    ck_assert_int_eq(llm_status_from_http(429), RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(llm_status_from_http(500), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(503), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(529), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(408), RK_ERR_TIMEOUT);
    ck_assert_int_eq(llm_status_from_http(401), RK_ERR_AUTH);
    ck_assert_int_eq(llm_status_from_http(403), RK_ERR_AUTH);
    ck_assert_int_eq(llm_status_from_http(400), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(404), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(422), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(302), RK_ERR_UPSTREAM);
}
END_TEST

START_TEST(error_messages)
{
    char m[64];
    const char *oa = "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"x\"}}";
    llm_error_message(oa, strlen(oa), m, sizeof m);
    ck_assert_str_eq(m, "Incorrect API key");
    const char *ol = "{\"error\":\"model 'x' not found\"}";
    llm_error_message(ol, strlen(ol), m, sizeof m);
    ck_assert_str_eq(m, "model 'x' not found");
    llm_error_message("bad\ngateway", 11, m, sizeof m);
    ck_assert_str_eq(m, "bad gateway");
    llm_error_message(NULL, 0, m, sizeof m);
    ck_assert_str_eq(m, "");
    char u[8] = "ab\xc3\xa9\xe2\x82"; /* "abé" + a cut 3-byte sequence */
    llm_utf8_trim(u);
    ck_assert_str_eq(u, "ab\xc3\xa9");
}
END_TEST

/* ---------------------------------------------------------------- fake host */

typedef struct ftimer { void (*fn)(void *); void *ud; int64_t delay; int live; } ftimer;
typedef struct fhttp { const rk_http_handler *h; void *ud; int64_t deadline; int live; } fhttp;

static int64_t now_ms_v = 100000;
static ftimer timers[16];
static int n_timers;
static fhttp calls[16];
static int n_calls, n_http_cancel;

static int64_t f_now(void) { return now_ms_v; }
static int64_t f_wall(void) { return 1700000000000LL; }
static void f_log(const rk_instance *s, rk_log_level l, const char *fmt, ...) { (void)s, (void)l, (void)fmt; }
static rk_metric *f_metric(rk_metric_type t, const char *n, const char *h, const char *l)
{
    (void)t, (void)n, (void)h, (void)l;
    return NULL;
}
static rk_timer *f_timer_start(int64_t d, void (*fn)(void *), void *ud)
{
    timers[n_timers] = (ftimer){fn, ud, d, 1};
    return (rk_timer *)&timers[n_timers++];
}
static void f_timer_cancel(rk_timer *t) { ((ftimer *)t)->live = 0; }
static rk_http_call *f_http_start(const rk_http_request *r, const rk_http_handler *h, void *ud,
                                  rk_err *err)
{
    (void)err;
    calls[n_calls] = (fhttp){h, ud, r->deadline_ms, 1};
    return (rk_http_call *)&calls[n_calls++];
}
static void f_http_cancel(rk_http_call *c)
{
    ((fhttp *)c)->live = 0;
    n_http_cancel++;
}

static rk_host fake_host;
static llm_client client;

typedef struct rec {
    char text[512];
    int done, status, cancel_in_delta;
    char msg[RK_ERR_MSG_MAX], finish[32];
    int64_t retry_after, prompt, completion;
    rk_llm_call *call;
} rec;
static rec R;

static void s_delta(void *ud, const char *t, size_t n)
{
    rec *r = ud;
    strncat(r->text, t, n);
    if (r->cancel_in_delta)
        llm_call_cancel(r->call);
}
static void s_done(void *ud, int st, const rk_llm_result *res, const char *m)
{
    rec *r = ud;
    r->done++;
    r->status = st;
    snprintf(r->msg, sizeof r->msg, "%s", m ? m : "");
    snprintf(r->finish, sizeof r->finish, "%s", res->finish_reason ? res->finish_reason : "");
    r->retry_after = res->retry_after_ms;
    r->prompt = res->usage.prompt_tokens;
    r->completion = res->usage.completion_tokens;
}

static void setup(void)
{
    memset(&fake_host, 0, sizeof fake_host);
    fake_host.struct_size = sizeof fake_host;
    fake_host.log = f_log;
    fake_host.now_ms = f_now;
    fake_host.wall_ms = f_wall;
    fake_host.metric = f_metric;
    fake_host.timer_start = f_timer_start;
    fake_host.timer_cancel = f_timer_cancel;
    fake_host.http_start = f_http_start;
    fake_host.http_cancel = f_http_cancel;
    client = (llm_client){.host = &fake_host, .name = "t", .timeout_ms = 60000,
                          .connect_timeout_ms = 5000, .backoff_base_ms = 250,
                          .backoff_max_ms = 8000, .max_retries = 2};
    memset(&R, 0, sizeof R);
    n_timers = n_calls = n_http_cancel = 0;
}

static rk_llm_call *start(int64_t deadline)
{
    llm_call_spec sp = {.url = "http://127.0.0.1:1/v1/chat/completions",
                        .body = llm_strdup("{}"), .body_len = 2, .model = "m",
                        .deadline_ms = deadline, .on_delta = s_delta, .on_done = s_done,
                        .ud = &R, .proto = &oai_chat_stream_proto,
                        .state = oai_chat_state_new()};
    rk_err err;
    ck_assert_int_eq(llm_call_start(&client, &sp, &R.call, &err), RK_OK);
    return R.call;
}

static fhttp *last(void) { return &calls[n_calls - 1]; }
static int respond(int status, const char *retry_after)
{
    rk_http_header h = {"Retry-After", retry_after};
    return last()->h->on_response(last()->ud, status, &h, retry_after ? 1 : 0);
}
static int body(const char *s) { return last()->h->on_body(last()->ud, s, strlen(s)); }
static void done(int st)
{
    fhttp *c = last();
    c->live = 0;
    c->h->on_done(c->ud, st, st ? "connection reset" : NULL);
}
static ftimer *fire(void)
{
    ftimer *t = &timers[n_timers - 1];
    ck_assert(t->live);
    t->live = 0;
    t->fn(t->ud);
    return t;
}

#define CHUNK(s) "data: {\"model\":\"up\",\"choices\":[{\"delta\":{\"content\":\"" s "\"}}]}\n\n"
#define FINISH "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define USAGE "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"

START_TEST(call_stream_ok)
{
    start(0);
    ck_assert_int_eq(respond(200, NULL), 0);
    ck_assert_int_eq(body(": ping\n\n" CHUNK("Hel")), 0);
    ck_assert_int_eq(body(CHUNK("lo") FINISH USAGE "data: [DO"), 0);
    ck_assert_int_eq(R.done, 0); /* nothing final before the transfer ends */
    ck_assert_int_eq(body("NE]\n\n"), 0);
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "Hello");
    ck_assert_str_eq(R.finish, "stop");
    ck_assert_int_eq(R.prompt, 5);
    ck_assert_int_eq(R.completion, 2);
}
END_TEST

START_TEST(call_retry_5xx_then_ok)
{
    start(0);
    respond(500, NULL);
    body("{\"error\":{\"message\":\"boom\"}}");
    done(RK_OK);
    ck_assert_int_eq(R.done, 0);
    ck_assert_int_eq(n_timers, 1);
    ck_assert_int_le(timers[0].delay, 250);
    fire();
    ck_assert_int_eq(n_calls, 2);
    respond(200, NULL);
    body(CHUNK("ok") "data: [DONE]\n\n");
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "ok");
}
END_TEST

START_TEST(call_retries_exhausted)
{
    start(0);
    for (int i = 0; i < 3; i++) {
        respond(503, NULL);
        done(RK_OK);
        if (i < 2)
            fire();
    }
    ck_assert_int_eq(n_calls, 3);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "503") != NULL);
}
END_TEST

START_TEST(call_retry_after_and_deadline)
{
    start(now_ms_v + 5000);
    respond(429, "1");
    done(RK_OK);
    ck_assert_int_eq(timers[0].delay, 1000); /* Retry-After wins over backoff */
    now_ms_v += 1000;
    fire();
    respond(429, "10"); /* would wake after the deadline: give up now */
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(R.retry_after, 10000);
    ck_assert_int_le(calls[1].deadline, 100000 + 5000); /* attempt capped by the deadline */
}
END_TEST

START_TEST(call_no_retry_after_delta)
{
    start(0);
    respond(200, NULL);
    body(CHUNK("par"));
    done(RK_ERR_UNAVAILABLE); /* cut mid-stream */
    ck_assert_int_eq(n_timers, 0);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "connection reset") != NULL); /* the transport's reason */
    ck_assert_str_eq(R.text, "par");
}
END_TEST

START_TEST(call_reset_after_done_marker)
{
    start(0); /* the connection breaks after [DONE]: the answer is whole */
    respond(200, NULL);
    body(CHUNK("all") "data: [DONE]\n\n");
    done(RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "all");
}
END_TEST

START_TEST(call_eof_before_done)
{
    client.max_retries = 0;
    start(0);
    respond(200, NULL);
    body(": only a comment\n\n");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "[DONE]") != NULL);
}
END_TEST

START_TEST(call_plain_json_to_stream)
{
    start(0); /* a server that ignores stream:true */
    respond(200, NULL);
    body("{\"model\":\"up\",\"choices\":[{\"message\":{\"content\":\"whole\"},");
    body("\"finish_reason\":\"length\"}]}");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "whole");
    ck_assert_str_eq(R.finish, "length");
}
END_TEST

START_TEST(call_malformed)
{
    start(0);
    respond(200, NULL);
    ck_assert_int_ne(body("data: {not json\n\n"), 0); /* transfer aborted */
    done(RK_ERR_CANCELLED);
    ck_assert_int_eq(n_timers, 0); /* garbage is not worth a retry */
    ck_assert_int_eq(R.status, RK_ERR_UPSTREAM);
    ck_assert(strncmp(R.msg, "malformed upstream response", 27) == 0);
}
END_TEST

START_TEST(call_auth_error)
{
    start(0);
    respond(401, NULL);
    body("{\"error\":{\"message\":\"Incorrect API key provided\"}}");
    done(RK_OK);
    ck_assert_int_eq(n_timers, 0);
    ck_assert_int_eq(R.status, RK_ERR_AUTH);
    ck_assert(strstr(R.msg, "Incorrect API key provided") != NULL);
}
END_TEST

START_TEST(call_cancel_in_delta)
{
    start(0);
    R.cancel_in_delta = 1;
    respond(200, NULL);
    ck_assert_int_ne(body(CHUNK("a") CHUNK("b")), 0); /* abort, no second delta */
    ck_assert_str_eq(R.text, "a");
    ck_assert_int_eq(n_http_cancel, 0); /* not from inside the transfer */
    done(RK_ERR_CANCELLED);             /* frees; no callback */
    ck_assert_int_eq(R.done, 0);
}
END_TEST

START_TEST(call_cancel_while_waiting)
{
    start(0);
    respond(502, NULL);
    done(RK_OK);
    ck_assert(timers[0].live);
    llm_call_cancel(R.call);
    ck_assert(!timers[0].live);
    ck_assert_int_eq(R.done, 0);
    start(0); /* and while the HTTP call runs */
    llm_call_cancel(R.call);
    ck_assert_int_eq(n_http_cancel, 1);
    ck_assert_int_eq(R.done, 0);
}
END_TEST

START_TEST(call_timeout_retried)
{
    start(now_ms_v + 10000);
    done(RK_ERR_TIMEOUT);
    ck_assert_int_eq(n_timers, 1);
    fire();
    done(RK_ERR_TIMEOUT);
    fire();
    done(RK_ERR_TIMEOUT);
    ck_assert_int_eq(R.status, RK_ERR_TIMEOUT);
}
END_TEST

static void v_on(void *ud, const rk_embedding *e)
{
    rec *r = ud;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%zu:%zu:%.2f|", e->index, e->dim,
             (double)e->values[e->dim - 1]);
}

START_TEST(call_embeddings)
{
    rk_embed_sink sink = {sizeof sink, v_on, s_done};
    llm_call_spec sp = {.url = "http://127.0.0.1:1/v1/embeddings", .body = llm_strdup("{}"),
                        .body_len = 2, .on_done = s_done, .ud = &R, .proto = &oai_embed_proto,
                        .state = oai_embed_state_new(&sink, &R, 2)};
    rk_err err;
    ck_assert_int_eq(llm_call_start(&client, &sp, &R.call, &err), RK_OK);
    respond(200, NULL);
    body("{\"data\":[{\"index\":0,\"embedding\":[0.5,0.25]},");
    body("{\"index\":1,\"embedding\":[1,2]}],\"usage\":{\"prompt_tokens\":3}}");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "0:2:0.25|1:2:2.00|");
    ck_assert_int_eq(R.prompt, 3);
}
END_TEST

/* oj_plain_run against the byte-by-byte definition: every special byte
 * at every offset of every length up to 40, at every alignment. */
static size_t plain_naive(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

START_TEST(plain_run_matches_definition)
{
    static const unsigned char special[] = {0x00, 0x01, 0x1f, '"', '\\', 0x80, 0xd0, 0xff};
    unsigned char buf[64];
    for (size_t align = 0; align < 8; align++)
        for (size_t n = 0; n <= 40; n++)
            for (size_t at = 0; at <= n; at++)
                for (size_t k = 0; k < sizeof special; k++) {
                    unsigned char *b = buf + align;
                    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(0x20 + (i * 7) % 0x5f);
                    for (size_t i = 0; i < n; i++)
                        if (b[i] == '"' || b[i] == '\\') b[i] = 'a';
                    if (at < n) b[at] = special[k];
                    if (at + 2 < n) b[at + 2] = special[(k + 3) % sizeof special];
                    ck_assert_uint_eq(oj_plain_run(b, n), plain_naive(b, n));
                }
}
END_TEST

/* oj_escape: exact escapes, strict and lenient handling of bad input, and
 * a round trip through the reader for every byte value that is valid. */
static const char *esc(const char *s, size_t n, int lenient, char *out)
{
    size_t w = oj_escape(s, n, out, lenient);
    if (w == SIZE_MAX) return NULL;
    out[w] = '\0';
    return out;
}

START_TEST(escape_exact_and_round_trip)
{
    char out[OJ_ESCAPE_MAX(64) + 1];
    ck_assert_str_eq(esc("plain text", 10, 0, out), "\"plain text\"");
    ck_assert_str_eq(esc("a\"b\\c\n\t\x01", 8, 0, out), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    ck_assert_str_eq(esc("\xd0\xbc\xe2\x82\xac", 5, 0, out), "\"\xd0\xbc\xe2\x82\xac\"");
    ck_assert_ptr_null(esc("a\xff" "b", 3, 0, out));
    ck_assert_str_eq(esc("a\xff" "b", 3, 1, out), "\"a\xef\xbf\xbd" "b\"");
    ck_assert_ptr_null(esc("a\0b", 3, 0, out));
    ck_assert_str_eq(esc("a\0b", 3, 1, out), "\"a\\u0000b\"");
    char all[127];
    for (int c = 1; c < 128; c++) all[c - 1] = (char)c;
    for (size_t n = 0; n <= sizeof all; n += 7) {
        char big[OJ_ESCAPE_MAX(sizeof all) + 1];
        size_t w = oj_escape(all, n, big, 0);
        ck_assert_uint_ne(w, SIZE_MAX);
        oj_tok toks[4];
        oj_doc d;
        oj_init_with(&d, toks, 4);
        ck_assert_int_eq(oj_parse(&d, big, w), 0);
        char dec[OJ_ESCAPE_MAX(sizeof all)];
        ck_assert_uint_eq(oj_copy(&d, 0, dec, sizeof dec), n);
        ck_assert_int_eq(memcmp(dec, all, n), 0);
        oj_free(&d);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("llm_sse");
    TCase *p = tcase_create("sse+policy");
    tcase_add_test(p, sse_any_split);
    tcase_add_test(p, plain_run_matches_definition);
    tcase_add_test(p, escape_exact_and_round_trip);
    tcase_add_test(p, sse_two_cuts);
    tcase_add_test(p, sse_finish_without_blank_line);
    tcase_add_test(p, sse_stop_and_limits);
    tcase_add_test(p, backoff_full_jitter);
    tcase_add_test(p, retry_after_forms);
    tcase_add_test(p, status_mapping);
    tcase_add_test(p, error_messages);
    suite_add_tcase(s, p);
    TCase *c = tcase_create("call");
    tcase_add_checked_fixture(c, setup, NULL);
    tcase_add_test(c, call_stream_ok);
    tcase_add_test(c, call_retry_5xx_then_ok);
    tcase_add_test(c, call_retries_exhausted);
    tcase_add_test(c, call_retry_after_and_deadline);
    tcase_add_test(c, call_no_retry_after_delta);
    tcase_add_test(c, call_reset_after_done_marker);
    tcase_add_test(c, call_eof_before_done);
    tcase_add_test(c, call_plain_json_to_stream);
    tcase_add_test(c, call_malformed);
    tcase_add_test(c, call_auth_error);
    tcase_add_test(c, call_cancel_in_delta);
    tcase_add_test(c, call_cancel_while_waiting);
    tcase_add_test(c, call_timeout_retried);
    tcase_add_test(c, call_embeddings);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
