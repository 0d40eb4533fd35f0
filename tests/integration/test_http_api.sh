#!/usr/bin/env bash
# transport_http with curl as the client: health/ready/metrics/models, /chat
# and /v1/chat/completions (plain and streamed; any Content-Type whose body
# is a JSON object), OpenAI-shaped errors (400/404/405/413/415), request
# ids, keep-alive, concurrency, a client that hangs up mid-stream, and an
# answer that fails after its stream started. Runs config/test-http.yaml
# (echo test LLM).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
J='Content-Type: application/json'
CFG=config/test-http.yaml

REQ_TIMEOUT=15 # each req here gives up after 15 s (http.sh's default is 30)
# OpenAI error body: {"error":{"message":str,"type":str,"param":..,"code":..}}
openai_error() { jq_py "$T/$1.b" 'isinstance(d["error"]["message"],str) and d["error"]["message"]!="" and isinstance(d["error"]["type"],str) and "param" in d["error"] and "code" in d["error"]'; }
# sse FILE EXPR: parse "data:" events; `ev` = JSON events, `done` = saw [DONE] last
sse_py() { python3 -c 'import json,sys
raw=open(sys.argv[1]).read()
datas=[l[6:] for l in raw.split("\n") if l.startswith("data: ")]
done=bool(datas) and datas[-1]=="[DONE]"
ev=[json.loads(x) for x in datas if x!="[DONE]"]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }

rk_start "$CFG" || exit 1

echo "== health, ready, models"
req health GET /health
check "/health 200" code_is health 200
check "/health body status ok" jq_py "$T/health.b" 'd=={"status":"ok"}'
check "/health Content-Type json" grep -qi '^content-type: application/json' "$T/health.h"
check "/health has a generated X-Request-Id" test -n "$(header health X-Request-Id)"
req ready GET /ready
check "/ready 200 ready" jq_py "$T/ready.b" 'd["status"]=="ready"'
req models GET /v1/models
check "/v1/models 200" code_is models 200
check "/v1/models lists echo-model" jq_py "$T/models.b" 'd["object"]=="list" and any(m["id"]=="echo-model" and m["object"]=="model" and "owned_by" in m and m["created"]==0 for m in d["data"])'
req head HEAD /health
check "HEAD /health 200" code_is head 200

echo "== request id"
req rid GET /health -H 'X-Request-Id: test-abc.123'
check "client X-Request-Id echoed" test "$(header rid X-Request-Id)" = test-abc.123
req rid2 GET /health -H 'X-Request-Id: bad id <script>'
check "unsafe X-Request-Id replaced" bash -c '[ -n "$1" ] && [ "$1" != "bad id <script>" ]' _ "$(header rid2 X-Request-Id)"

echo "== /chat"
req chat POST /chat -H "$J" -d '{"message":"hello there"}'
check "/chat 200" code_is chat 200
check "/chat answer is the echo" jq_py "$T/chat.b" 'd["answer"]=="echo: hello there"'
check "/chat has sources list and conversation_id" jq_py "$T/chat.b" 'isinstance(d["sources"],list) and "conversation_id" in d'
check "/chat X-Cache header" grep -Eqi '^x-cache: (hit|miss)' "$T/chat.h"
curl -sN --max-time 15 -H "$J" -d '{"message":"stream me","stream":true}' "$RK_URL/chat" >"$T/chats.sse"
check "/chat stream: deltas then final answer then [DONE]" sse_py "$T/chats.sse" 'done and "".join(e["delta"] for e in ev if "delta" in e)=="echo: stream me" and ev[-1]["answer"]=="echo: stream me" and isinstance(ev[-1]["sources"],list) and "conversation_id" in ev[-1]'
check "/chat stream had several delta events" sse_py "$T/chats.sse" 'sum(1 for e in ev if "delta" in e)>=2'
req chatbad POST /chat -H "$J" -d '{"message":""}'
check "/chat empty message 400" code_is chatbad 400
check "/chat empty message error names param" jq_py "$T/chatbad.b" 'd["error"]["param"]=="message"'

echo "== /v1/chat/completions"
BODY='{"model":"echo-model","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"what is ragkernel?"}],"temperature":0.2,"max_tokens":50,"unknown_field":{"x":1}}'
req cc POST /v1/chat/completions -H "$J" -d "$BODY"
check "completion 200" code_is cc 200
check "completion shape" jq_py "$T/cc.b" 'd["object"]=="chat.completion" and d["id"].startswith("chatcmpl-") and isinstance(d["created"],int) and d["model"]=="echo-model" and d["choices"][0]["index"]==0 and d["choices"][0]["message"]["role"]=="assistant" and d["choices"][0]["finish_reason"]=="stop"'
check "completion content is the echo" jq_py "$T/cc.b" 'd["choices"][0]["message"]["content"]=="echo: what is ragkernel?"'
check "completion usage adds up" jq_py "$T/cc.b" 'd["usage"]["total_tokens"]==d["usage"]["prompt_tokens"]+d["usage"]["completion_tokens"]'
check "completion has sources list" jq_py "$T/cc.b" 'isinstance(d["sources"],list)'
check "completion X-Cache header" grep -Eqi '^x-cache: (hit|miss)' "$T/cc.h"
req ccparts POST /v1/chat/completions -H 'Content-Type: application/json; charset=utf-8' \
    -d '{"messages":[{"role":"developer","content":"sys"},{"role":"user","content":[{"type":"text","text":"part one"},{"type":"text","text":"part two"}]}]}'
check "content parts + developer role + charset param accepted" jq_py "$T/ccparts.b" '"part one" in d["choices"][0]["message"]["content"] and "part two" in d["choices"][0]["message"]["content"]'
req nocty POST /v1/chat/completions -H 'Content-Type:' -d '{"messages":[{"role":"user","content":"no type"}]}'
check "missing Content-Type accepted" code_is nocty 200

curl -sN --max-time 15 -H "$J" -d '{"messages":[{"role":"user","content":"what is ragkernel?"}],"stream":true,"stream_options":{"include_usage":true}}' \
    -D "$T/ccs.h" "$RK_URL/v1/chat/completions" >"$T/ccs.sse"
check "stream Content-Type text/event-stream" grep -qi '^content-type: text/event-stream' "$T/ccs.h"
check "stream ends with [DONE]" sse_py "$T/ccs.sse" 'done'
check "stream first chunk carries the role" sse_py "$T/ccs.sse" 'ev[0]["object"]=="chat.completion.chunk" and ev[0]["choices"][0]["delta"]["role"]=="assistant" and ev[0]["choices"][0]["finish_reason"] is None'
check "stream deltas concatenate to the plain answer" sse_py "$T/ccs.sse" '"".join(c["choices"][0]["delta"].get("content","") for c in ev if c.get("choices"))=="echo: what is ragkernel?"'
check "stream has a finish chunk with empty delta" sse_py "$T/ccs.sse" 'any(c["choices"] and c["choices"][0]["delta"]=={} and c["choices"][0]["finish_reason"]=="stop" for c in ev)'
check "stream usage chunk (include_usage)" sse_py "$T/ccs.sse" 'ev[-1]["choices"]==[] and ev[-1]["usage"]["total_tokens"]>=0'
check "stream chunks share one id" sse_py "$T/ccs.sse" 'len(set(c["id"] for c in ev))==1 and ev[0]["id"].startswith("chatcmpl-")'

echo "== errors in OpenAI's format"
req e404 GET /v1/nope
check "unknown route 404" code_is e404 404
check "404 body is an OpenAI error" openai_error e404
req e405 GET /v1/chat/completions
check "GET on completions 405" code_is e405 405
check "405 has Allow: POST" test "$(header e405 Allow)" = POST
check "405 body is an OpenAI error" openai_error e405
req e405b DELETE /health
check "DELETE /health 405 with Allow GET" bash -c '[ "$1" = 405 ] && grep -qi "^allow: GET" "$2"' _ "$(cat "$T/e405b.code")" "$T/e405b.h"
req ctplain POST /v1/chat/completions -H 'Content-Type: text/plain' -d '{"messages":[{"role":"user","content":"typed as text"}]}'
check "chat JSON labelled text/plain accepted" jq_py "$T/ctplain.b" 'd["choices"][0]["message"]["content"]=="echo: typed as text"'
req ctform POST /chat -d '{"message":"plain curl -d"}'
check "/chat from plain curl -d (form Content-Type) accepted" jq_py "$T/ctform.b" 'd["answer"]=="echo: plain curl -d"'
req ctbad POST /chat -H 'Content-Type: text/plain' -d 'message=hello'
check "non-JSON /chat body: 400 naming line and column, not 415" bash -c '[ "$1" = 400 ] && grep -q "line 1, column" "$2"' _ "$(cat "$T/ctbad.code")" "$T/ctbad.b"
req e415 POST /v1/embeddings -H 'Content-Type: text/plain' -d '{"input":"x"}'
check "embeddings with text/plain: 415" code_is e415 415
check "415 body is an OpenAI error" openai_error e415
req e400 POST /v1/chat/completions -H "$J" --data-binary $'{\n  "messages": [\n    {"role": "user", "content": "x"},\n  ]\n}'
check "malformed JSON 400" code_is e400 400
check "400 body is an OpenAI error" openai_error e400
check "400 message names line and column" jq_py "$T/e400.b" '"line 4" in d["error"]["message"] and "column" in d["error"]["message"]'
check "400 type invalid_request_error" jq_py "$T/e400.b" 'd["error"]["type"]=="invalid_request_error"'
req eempty POST /v1/chat/completions -H "$J" -d '{"model":"echo-model","messages":[]}'
check "empty messages 400 with param" bash -c '[ "$1" = 400 ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d[\"error\"][\"param\"]!=\"messages\")" "$2"' _ "$(cat "$T/eempty.code")" "$T/eempty.b"
req etool POST /v1/chat/completions -H "$J" -d '{"messages":[{"role":"tool","content":"x"}]}'
check "tool role 400" code_is etool 400
req etype POST /v1/chat/completions -H "$J" -d '{"messages":[{"role":"user","content":42}]}'
check "non-string content 400" code_is etype 400
check "non-string content error names messages[0].content" jq_py "$T/etype.b" 'd["error"]["param"]=="messages[0].content"'
req earr POST /v1/chat/completions -H "$J" -d '[1,2]'
check "non-object body 400" code_is earr 400
head -c 100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"message":"/; s/$/"}/' >"$T/big.json"
req e413 POST /chat -H "$J" --data-binary @"$T/big.json"
check "body over max_body 413" code_is e413 413
check "413 body is an OpenAI error" openai_error e413
req e413c POST /chat -H "$J" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json"
check "chunked body over max_body 413" code_is e413c 413
req eemb POST /v1/embeddings -H "$J" -d '{"model":"echo-model","input":"hello"}'
check "embeddings without an embedding model: 4xx OpenAI error" bash -c '[ "${1:0:1}" = 4 ]' _ "$(cat "$T/eemb.code")"
check "embeddings error body is an OpenAI error" openai_error eemb
for n in e404 e405 e415 e400 e413 etool; do
    check "$n carries X-Request-Id and JSON Content-Type" bash -c \
        'grep -qi "^x-request-id: ." "$1" && grep -qi "^content-type: application/json" "$1"' _ "$T/$n.h"
done

echo "== keep-alive and concurrency"
out=$(curl -sv --max-time 10 "$RK_URL/health" "$RK_URL/v1/models" 2>&1)
check "two GETs reuse one connection" grep -q 'Re-using existing connection' <<<"$out"
pids=()
for i in $(seq 40); do
    curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' -H "$J" \
        -d "{\"messages\":[{\"role\":\"user\",\"content\":\"parallel $i\"}]}" \
        "$RK_URL/v1/chat/completions" >>"$T/par.codes" &
    pids+=($!)
done
wait "${pids[@]}" # not a bare wait: ragkernel is our child too
check "40 parallel completions all 200" bash -c '[ "$(grep -c "^200$" "$1")" = 40 ]' _ "$T/par.codes"

echo "== /metrics"
req metrics GET /metrics
check "/metrics 200 Prometheus text" grep -qi '^content-type: text/plain; version=0.0.4' "$T/metrics.h"
check "requests_total counts completions 200" grep -Eq '^ragkernel_http_requests_total\{route="/v1/chat/completions",code="200",method="POST"\} [1-9]' "$T/metrics.b"
check "requests_total counts the 404" grep -Eq '^ragkernel_http_requests_total\{route="other",code="404",method="[A-Za-z]+"\} [1-9]' "$T/metrics.b"
check "request_seconds histogram present" grep -q '^ragkernel_http_request_seconds' "$T/metrics.b"
check "active_streams gauge present" grep -q '^ragkernel_http_active_streams' "$T/metrics.b"
rk_stop

echo "== client hangs up mid-stream (slow deltas)"
rk_start "$CFG" ECHO_DELAY=400ms || exit 1
curl -sN --max-time 1 -H "$J" -d '{"messages":[{"role":"user","content":"one two three four five six seven eight nine ten"}],"stream":true}' \
    "$RK_URL/v1/chat/completions" >"$T/cut.sse" 2>/dev/null
check "the cut stream had started" sse_py "$T/cut.sse" 'len(ev)>=1 and not done'
curl -s --max-time 1 -H "$J" -d '{"messages":[{"role":"user","content":"nobody waits for this answer"}]}' \
    "$RK_URL/v1/chat/completions" >/dev/null 2>&1
sleep 1
check "server still running" kill -0 "$RK_PID"
req after GET /health
check "server answers after the disconnects" code_is after 200
curl -sN --max-time 15 -H "$J" -d '{"messages":[{"role":"user","content":"still here"}],"stream":true}' "$RK_URL/v1/chat/completions" >"$T/after.sse"
check "a full stream works after the disconnects" sse_py "$T/after.sse" 'done and "".join(c["choices"][0]["delta"].get("content","") for c in ev if c.get("choices"))=="echo: still here"'
for _ in $(seq 50); do
    curl -s --max-time 5 "$RK_URL/metrics" | grep -Eq '^ragkernel_http_active_streams(\{\})? 0$' && break
    sleep 0.1
done
check "active_streams back to 0" grep -Eq '^ragkernel_http_active_streams(\{\})? 0$' <(curl -s --max-time 5 "$RK_URL/metrics")
rk_stop

echo "== the answer fails after the stream started (deadline between deltas)"
rk_start "$CFG" ECHO_DELAY=1s TOTAL_TIMEOUT=1500ms LLM_TIMEOUT=1500ms || exit 1
curl -sN --max-time 15 -H "$J" -d '{"messages":[{"role":"user","content":"a b c d e f g h"}],"stream":true}' \
    "$RK_URL/v1/chat/completions" >"$T/fail.sse"
check "failed stream: some content, then an error event, no [DONE]" sse_py "$T/fail.sse" 'not done and any(c.get("choices") and c["choices"][0]["delta"].get("content") for c in ev) and isinstance(ev[-1]["error"]["message"],str) and isinstance(ev[-1]["error"]["type"],str)'
curl -sN --max-time 15 -H "$J" -d '{"message":"a b c d e f g h","stream":true}' "$RK_URL/chat" >"$T/fail2.sse"
check "failed /chat stream ends with an error event, no [DONE]" sse_py "$T/fail2.sse" 'not done and "error" in ev[-1]'
req failjson POST /v1/chat/completions -H "$J" -d '{"messages":[{"role":"user","content":"a b c d e f g h"}]}'
check "the same failure unstreamed: 5xx with an OpenAI error body" bash -c '[ "${1:0:1}" = 5 ]' _ "$(cat "$T/failjson.code")"
check "5xx error body is an OpenAI error" openai_error failjson
rk_stop
check "no crash or sanitizer report in the server logs" bash -c \
    '! grep -Eq "AddressSanitizer|runtime error|Fatal error in GNU libmicrohttpd" "$@"' _ "$SVC_TMP"/ragkernel.*.log

rk_summary
