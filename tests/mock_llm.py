#!/usr/bin/env python3
"""mock_llm.py - a scriptable fake LLM upstream for ragkernel's tests.

Speaks OpenAI's API (POST /v1/chat/completions streamed or not, GET /v1/models,
POST /v1/embeddings; Azure's /openai/deployments/<d>/... paths too) and
Anthropic's (POST /v1/messages), on 127.0.0.1 only. Python stdlib only.

    python3 tests/mock_llm.py --port 0 [--label mock] [--mode ok] \
        [--latency-ms 0] [--chunk-gap-ms 0] [--api-key KEY]

With --port 0 the first line on stdout is PORT=<n>. SIGTERM stops it.

The answer is "<label>: <last user message without markers>" in ~4 chunks.
The label is --label, or the X-Mock-Label request header when present, so one
mock can stand in for several providers.

Behaviour per request, from markers in the last user message (the embeddings
inputs for /v1/embeddings); --mode gives defaults (ok, error = [status:500],
ratelimit = [status:429:retry-after=1], overloaded = [status:529], malformed,
or any marker text):
    [status:500]                    answer with that HTTP status and an error body
    [status:429:retry-after=1]      ... plus Retry-After (also retry-after-ms=N)
    [latency:2000]                  wait 2000 ms before the response headers
    [gap:300]                       wait 300 ms between chunks
    [cut:3]                         close the connection after 3 chunks, no end
    [malformed]                     invalid JSON body / SSE data (the first
                                    content chunk: nothing usable arrives)
    [big:N]                         a fast answer of N bytes (64 KiB pieces when
                                    streamed), for size caps and backpressure
    [echo]                          a hostile upstream: answer 400 with the
                                    request's headers and body in the message
                                    (API keys included), as some proxies do
    [fail-first:N]                  the first N requests carrying this exact
                                    marker get 500 (or :status=529, and
                                    :retry-after=S), later ones succeed
    [...@label]                     a marker with @label applies only to
                                    requests answered under that label

With --s3-bucket NAME every request under /NAME (path-style S3) gets a
hostile S3 error: 403 SignatureDoesNotMatch whose Message repeats the
request's Authorization header, the bucket, an internal host name and the
string to sign, as some S3-compatible servers do.

Test helpers: GET /__stats -> {"total", "requests": {path: n},
"statuses": {code: n}, "last": {path: {"headers", "body"}}};
POST /__reset clears every counter; GET /health -> "ok".
Each request is logged to stderr: time, method, path, label, markers.
"""

import argparse
import hashlib
import json
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKER_RE = re.compile(
    r"\[(status|latency|gap|cut|malformed|fail-first|big|echo)(?::([^\]@]*))?(?:@([A-Za-z0-9_.-]+))?\]")
MODES = {
    "ok": "",
    "error": "[status:500]",
    "ratelimit": "[status:429:retry-after=1]",
    "overloaded": "[status:529]",
    "malformed": "[malformed]",
}
ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error",
                    403: "permission_error", 404: "not_found_error",
                    429: "rate_limit_error", 529: "overloaded_error"}


class Stats:
    """Counters shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.total = 0
        self.requests = {}
        self.statuses = {}
        self.fail_first = {}
        self.last = {}

    def count(self, path, headers, body):
        with self.lock:
            self.total += 1
            self.requests[path] = self.requests.get(path, 0) + 1
            self.last[path] = {"headers": headers, "body": body}

    def status(self, code):
        with self.lock:
            self.statuses[str(code)] = self.statuses.get(str(code), 0) + 1

    def bump(self, key):
        with self.lock:
            self.fail_first[key] = self.fail_first.get(key, 0) + 1
            return self.fail_first[key]

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "requests": dict(self.requests),
                    "statuses": dict(self.statuses),
                    "fail_first": dict(self.fail_first), "last": dict(self.last)}


def parse_kv(parts, beh):
    for p in parts:
        k, _, v = p.partition("=")
        k = k.strip()
        if k in ("retry-after", "retry-after-ms"):
            beh[k] = v.strip()
        elif k == "status":
            beh["fail_status"] = int(v)


def parse_markers(text, label):
    """Behaviour dict from the markers in text that apply under label."""
    beh = {"markers": []}
    for m in MARKER_RE.finditer(text or ""):
        kind, arg, scope = m.group(1), m.group(2) or "", m.group(3)
        if scope and scope != label:
            continue
        beh["markers"].append(m.group(0))
        parts = arg.split(":") if arg else []
        try:
            if kind == "status":
                beh["status"] = int(parts[0])
                parse_kv(parts[1:], beh)
            elif kind in ("latency", "gap", "cut", "big"):
                beh[kind] = int(parts[0])
            elif kind == "malformed":
                beh["malformed"] = True
            elif kind == "echo":
                beh["echo"] = True
            elif kind == "fail-first":
                beh["fail_first"] = (int(parts[0]), m.group(0))
                parse_kv(parts[1:], beh)
        except (ValueError, IndexError):
            pass
    return beh


def strip_markers(text):
    return " ".join(MARKER_RE.sub(" ", text or "").split())


def content_text(content):
    """A message's text: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages):
    for m in reversed(messages if isinstance(messages, list) else []):
        if isinstance(m, dict) and m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def split_chunks(text, n=4):
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def words(s):
    return len((s or "").split())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm/1.0"

    def log_message(self, fmt, *args):  # our own log line per request instead
        pass

    def opts(self):
        return self.server.opts

    def log_request_line(self, label, beh):
        sys.stderr.write("%s %s %s label=%s markers=%s\n" % (
            time.strftime("%H:%M:%S"), self.command, self.path, label,
            "".join(beh.get("markers", [])) or "-"))
        sys.stderr.flush()

    # ---------------------------------------------------------------- output
    def send_json(self, code, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.server.stats.status(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self):
        self.server.stats.status(200)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self):
        """Drop the connection mid-body: the client must see an error."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def error_body(self, style, code, message):
        if style == "anthropic":
            return {"type": "error", "error": {
                "type": ANTHROPIC_ERRORS.get(code, "api_error"), "message": message}}
        kind = ("server_error" if code >= 500 else "rate_limit_error" if code == 429
                else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "code": str(code)}}

    # ---------------------------------------------------------------- routing
    def s3_hostile(self):
        """403 SignatureDoesNotMatch echoing what a tenant must never see."""
        auth = self.headers.get("Authorization", "")
        sts = "AWS4-HMAC-SHA256\n%s\n20260101/us-east-1/s3/aws4_request\n%s" % (
            self.headers.get("x-amz-date", ""), hashlib.sha256(auth.encode()).hexdigest())
        msg = ("The request signature we calculated does not match the signature you "
               "provided. Check your key and signing method. Authorization: %s; "
               "Host: s3-internal.corp.example:9000; Bucket: %s; StringToSign: %s"
               % (auth, self.opts().s3_bucket, sts.replace("\n", " ")))
        xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch"
               "</Code><Message>%s</Message><StringToSign>%s</StringToSign>"
               "<HostId>s3-internal.corp.example</HostId></Error>" % (msg, sts)).encode()
        self.server.stats.count("s3", {"authorization": auth}, None)
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(n)
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(xml)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(xml)

    def is_s3(self):
        b = self.opts().s3_bucket
        return bool(b) and (self.path == "/" + b or self.path.startswith("/" + b + "/")
                            or self.path.startswith("/" + b + "?"))

    def do_PUT(self):
        return self.s3_hostile() if self.is_s3() else self.send_json(404, {})

    def do_DELETE(self):
        return self.s3_hostile() if self.is_s3() else self.send_json(404, {})

    def do_HEAD(self):
        return self.s3_hostile() if self.is_s3() else self.send_json(404, {})

    def do_GET(self):
        if self.is_s3():
            return self.s3_hostile()
        path = self.path.split("?")[0]
        if path == "/__stats":
            return self.send_json(200, self.server.stats.snapshot())
        if path == "/health":
            return self.send_json(200, None, raw=b'"ok"')
        if path.endswith("/models"):
            return self.send_json(200, {"object": "list", "data": [
                {"id": self.opts().label, "object": "model", "owned_by": "mock"}]})
        return self.send_json(404, {"error": {"message": "no route " + path}})

    def do_POST(self):
        if self.is_s3():
            return self.s3_hostile()
        path = self.path.split("?")[0]
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if path == "/__reset":
            self.server.stats.reset()
            return self.send_json(200, {"ok": True})
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        keep = {k.lower(): v for k, v in self.headers.items() if k.lower() in (
            "authorization", "api-key", "x-api-key", "anthropic-version",
            "x-mock-label", "openai-organization", "openai-project", "content-type")}
        self.server.stats.count(path, keep, body)
        if path.endswith("/chat/completions"):
            return self.serve("openai", body)
        if path.endswith("/messages"):
            return self.serve("anthropic", body)
        if path.endswith("/embeddings"):
            return self.serve("embeddings", body)
        return self.send_json(404, {"error": {"message": "no route " + path}})

    # ---------------------------------------------------------------- checks
    def auth_ok(self, style):
        key = self.opts().api_key
        if not key:
            return True
        if style == "anthropic":
            return self.headers.get("x-api-key") == key
        return (self.headers.get("Authorization") == "Bearer " + key
                or self.headers.get("api-key") == key)

    def invalid(self, style, body):
        """What a real API would reject with 400, or None."""
        if not isinstance(body, dict):
            return "body is not a JSON object"
        if style == "embeddings":
            return None if body.get("input") else "input is required"
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return "messages must be a non-empty array"
        if not body.get("model"):
            return "model is required"
        if style != "anthropic":
            return None
        if not self.headers.get("anthropic-version"):
            return "anthropic-version header is required"
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens is required"
        roles = [m.get("role") for m in msgs]
        if roles[0] != "user" or any(r not in ("user", "assistant") for r in roles):
            return "messages must start with user and hold only user/assistant"
        if any(a == b for a, b in zip(roles, roles[1:])):
            return "roles must alternate"
        return None

    # ---------------------------------------------------------------- answers
    def behaviour(self, style, body):
        label = self.headers.get("X-Mock-Label") or self.opts().label
        if style == "embeddings":
            inp = body.get("input") if isinstance(body, dict) else None
            text = " ".join(inp) if isinstance(inp, list) else str(inp or "")
        else:
            text = last_user_text(body.get("messages") if isinstance(body, dict) else None)
        beh = parse_markers(MODES.get(self.opts().mode, self.opts().mode), label)
        marks = parse_markers(text, label)
        beh["markers"] += marks.pop("markers")
        beh.update(marks)
        beh.setdefault("latency", self.opts().latency_ms)
        beh.setdefault("gap", self.opts().chunk_gap_ms)
        return label, text, beh

    def serve(self, style, body):
        label, text, beh = self.behaviour(style, body)
        self.log_request_line(label, beh)
        if beh["latency"] > 0:
            time.sleep(beh["latency"] / 1000.0)
        if beh.get("echo"):
            seen = "; ".join("%s: %s" % kv for kv in self.headers.items())
            return self.send_json(400, self.error_body(
                style, 400, "cannot parse request (headers: %s) body: %s"
                % (seen, json.dumps(body)[:2000])))
        if not self.auth_ok(style):
            return self.send_json(401, self.error_body(style, 401, "invalid api key"))
        why = self.invalid(style, body)
        if why:
            return self.send_json(400, self.error_body(style, 400, why))
        status = beh.get("status")
        if "fail_first" in beh:
            limit, key = beh["fail_first"]
            if self.server.stats.bump(key) <= limit:
                status = beh.get("fail_status", 500)
        if status and status != 200:
            hdrs = {}
            if "retry-after" in beh:
                hdrs["Retry-After"] = beh["retry-after"]
            if "retry-after-ms" in beh:
                hdrs["retry-after-ms"] = beh["retry-after-ms"]
            msg = "mock status %d" % status
            return self.send_json(status, self.error_body(style, status, msg), hdrs)
        if style == "embeddings":
            return self.embeddings(body, beh)
        answer = "%s: %s" % (label, strip_markers(text))
        if beh.get("big"):
            answer = (answer + " ") + "lorem ipsum " * (beh["big"] // 12 + 1)
            answer = answer[: beh["big"]]
            if body.get("stream"):
                return self.stream_big(style, body, answer)
        if body.get("stream"):
            return self.stream(style, body, answer, beh)
        return self.whole(style, body, answer, beh)

    def whole(self, style, body, answer, beh):
        model = body.get("model")
        usage_in = sum(words(content_text(m.get("content"))) for m in body["messages"])
        if style == "anthropic":
            obj = {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": usage_in, "output_tokens": words(answer)}}
        else:
            obj = {"id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
                   "model": model, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                       "role": "assistant", "content": answer}}],
                   "usage": {"prompt_tokens": usage_in, "completion_tokens": words(answer),
                             "total_tokens": usage_in + words(answer)}}
        data = json.dumps(obj).encode()
        if beh.get("malformed"):
            data = data[: len(data) // 2]
        if beh.get("cut") is not None:  # promise the whole body, send half
            self.server.stats.status(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self.cut()
        return self.send_json(200, None, raw=data)

    def stream(self, style, body, answer, beh):
        model = body.get("model")
        events = (anthropic_events if style == "anthropic" else openai_events)(body, model, answer)
        self.start_stream()
        sent = 0
        for kind, ev in events:
            if kind == "chunk":
                if beh.get("cut") is not None and sent >= beh["cut"]:
                    return self.cut()
                if sent > 0 and beh["gap"] > 0:
                    time.sleep(beh["gap"] / 1000.0)
                if beh.get("malformed") and sent == 0:
                    ev = ev.replace("{", "{broken ", 1)
                sent += 1
            self.chunk(ev)
        self.end_stream()

    def stream_big(self, style, body, answer):
        """As fast as the client takes it: the whole event stream is built
        once per (style, size) and written in large pieces."""
        key = (style, len(answer), bool((body.get("stream_options") or {}).get("include_usage")))
        data = self.server.big.get(key)
        if data is None:
            events = (anthropic_events if style == "anthropic" else openai_events)(
                body, body.get("model"), answer, 65536)
            data = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in
                            (ev.encode() for _, ev in events)) + b"0\r\n\r\n"
            self.server.big[key] = data
        self.start_stream()
        try:
            view = memoryview(data)
            for i in range(0, len(data), 1 << 20):
                self.wfile.write(view[i:i + (1 << 20)])
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def embeddings(self, body, beh):
        inp = body.get("input")
        inputs = inp if isinstance(inp, list) else [inp]
        data = []
        for i, s in enumerate(inputs):
            h = hashlib.sha256(str(s).encode()).digest()
            data.append({"object": "embedding", "index": i,
                         "embedding": [round((b - 128) / 128.0, 4) for b in h[:8]]})
        obj = {"object": "list", "data": data, "model": body.get("model"),
               "usage": {"prompt_tokens": sum(words(str(s)) for s in inputs),
                         "total_tokens": sum(words(str(s)) for s in inputs)}}
        if beh.get("malformed"):
            return self.send_json(200, None, raw=json.dumps(obj).encode()[:20])
        return self.send_json(200, obj)


def sse(data, event=None):
    head = "event: %s\n" % event if event else ""
    return head + "data: %s\n\n" % (data if isinstance(data, str) else json.dumps(data))


def openai_events(body, model, answer, piece=None):
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta, finish=None):
        return sse(dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}]))

    yield "meta", ": mock keep-alive\n\n" + chunk({"role": "assistant", "content": ""})
    pieces = ([answer[i:i + piece] for i in range(0, len(answer), piece)]
              if piece else split_chunks(answer))
    for p in pieces:
        yield "chunk", chunk({"content": p})
    yield "meta", chunk({}, "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        n_in = sum(words(content_text(m.get("content"))) for m in body["messages"])
        yield "meta", sse(dict(base, choices=[], usage={
            "prompt_tokens": n_in, "completion_tokens": words(answer),
            "total_tokens": n_in + words(answer)}))
    yield "meta", sse("[DONE]")


def anthropic_events(body, model, answer, piece=None):
    n_in = sum(words(content_text(m.get("content"))) for m in body["messages"])
    yield "meta", sse({"type": "message_start", "message": {
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None,
        "usage": {"input_tokens": n_in, "output_tokens": 1}}}, "message_start")
    yield "meta", sse({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}, "content_block_start")
    yield "meta", sse({"type": "ping"}, "ping")
    pieces = ([answer[i:i + piece] for i in range(0, len(answer), piece)]
              if piece else split_chunks(answer))
    for p in pieces:
        yield "chunk", sse({"type": "content_block_delta", "index": 0,
                            "delta": {"type": "text_delta", "text": p}}, "content_block_delta")
    yield "meta", sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield "meta", sse({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                       "stop_sequence": None}, "usage": {"output_tokens": words(answer)}},
                      "message_delta")
    yield "meta", sse({"type": "message_stop"}, "message_stop")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # hostile tests open a hundred streams at once

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (timeouts are what the tests provoke)
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--chunk-gap-ms", type=int, default=0)
    ap.add_argument("--label", default="mock")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--s3-bucket", default="")
    opts = ap.parse_args()
    srv = Server(("127.0.0.1", opts.port), Handler)
    srv.opts = opts
    srv.stats = Stats()
    srv.big = {}  # [big:N] event streams, built once
    print("PORT=%d" % srv.server_address[1], flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
