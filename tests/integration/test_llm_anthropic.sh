#!/usr/bin/env bash
# llm_anthropic through the whole server against tests/mock_llm.py's
# /v1/messages (which rejects what the real API rejects: a missing key or
# anthropic-version, no max_tokens, roles that do not alternate): plain and
# streamed answers, system and same-role messages folded, model aliases, a
# 529 "overloaded" retried, failures mapped to 502/504 within the deadline.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
export MOCK_KEY=anthropic-mock-key


# chat JSON-BODY: sets CODE, OUT, ELAPSED (ms)
chat() {
    local t0; t0=$(ms)
    CODE=$(curl -sN -o "$SVC_TMP/out" -w '%{http_code}' --max-time 15 "$RK_URL/v1/chat/completions" \
        -H 'Content-Type: application/json' -d "$1")
    ELAPSED=$(( $(ms) - t0 ))
    OUT=$(cat "$SVC_TMP/out")
    echo "  -> HTTP $CODE in ${ELAPSED} ms: $(head -c 300 <<<"$OUT" | tr '\n' ' ')"
}
ask() { # CONTENT [STREAM 0/1] [MODEL]
    chat "$(python3 -c 'import json,sys; print(json.dumps({"model": sys.argv[3], "stream": sys.argv[2] == "1",
        "messages": [{"role": "user", "content": sys.argv[1]}]}))' "$1" "${2:-0}" "${3:-claude-mock}")"
}
answer() { python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])' <<<"$OUT" 2>/dev/null; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$OUT" 2>/dev/null; }
stream_text() {
    python3 -c '
import json, sys
text = ""
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: ") and line != "data: [DONE]":
        try:
            d = json.loads(line[6:])
        except ValueError:
            continue
        for c in d.get("choices") or []:
            text += (c.get("delta") or {}).get("content") or ""
print(text)' <<<"$OUT"
}
mock_count() { curl -s "$MOCK_URL/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1], 0))' "$1"; }
mock_last() { # PYTHON-EXPR over d = {"headers", "body"} of the last /v1/messages request
    curl -s "$MOCK_URL/__stats" | python3 -c 'import json,sys; d=json.load(sys.stdin)["last"]["/v1/messages"]; print(eval(sys.argv[1]))' "$1"
}
mock_reset() { curl -s -X POST "$MOCK_URL/__reset" >/dev/null; }
contains() { grep -qF -- "$2" <<<"$1"; }
lt() { [ "$1" -lt "$2" ]; }
not() { ! "$@"; }

start_mock --api-key "$MOCK_KEY" || exit 1
rk_start tests/integration/configs/llm_anthropic.yaml MOCK_PORT="$MOCK_PORT" MOCK_KEY="$MOCK_KEY" || exit 1
if [ "${RK_HTTP_CLIENT:-}" = libcurl ]; then
    check "every upstream call goes through libcurl" grep -q "upstream http client: libcurl for every call" "$RK_LOG"
fi

echo "== plain answer"
ask "What is the capital of Chile"
check "plain: HTTP 200" test "$CODE" = 200
check "plain: answered through /v1/messages" contains "$(answer)" "mock: What is the capital of Chile"
check "plain: finish_reason stop (from end_turn)" test "$(field 'd["choices"][0]["finish_reason"]')" = stop
check "plain: usage from message_start/message_delta" test "$(field 'd["usage"]["prompt_tokens"] > 0 and d["usage"]["completion_tokens"] > 0')" = True
check "plain: x-api-key sent" test "$(mock_last 'd["headers"].get("x-api-key")')" = "$MOCK_KEY"
check "plain: anthropic-version 2023-06-01" test "$(mock_last 'd["headers"].get("anthropic-version")')" = 2023-06-01
check "plain: max_tokens defaults to 1024" test "$(mock_last 'd["body"]["max_tokens"]')" = 1024
check "plain: streamed upstream" test "$(mock_last 'd["body"]["stream"]')" = True
check "plain: system prompt moved to system" test "$(mock_last '"system" in d["body"] and all(m["role"] != "system" for m in d["body"]["messages"])')" = True

echo "== system and same-role messages folded"
chat '{"model":"claude-mock","max_tokens":77,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"first part"},{"role":"user","content":"second part"}]}'
check "fold: HTTP 200 (the mock rejects non-alternating roles)" test "$CODE" = 200
check "fold: one user turn with both parts" test "$(mock_last '[m["role"] for m in d["body"]["messages"]] == ["user"] and "first part" in d["body"]["messages"][0]["content"] and "second part" in d["body"]["messages"][0]["content"]')" = True
check "fold: client system text in system" test "$(mock_last '"Be brief." in d["body"]["system"]')" = True
check "fold: max_tokens from the request" test "$(mock_last 'd["body"]["max_tokens"]')" = 77

echo "== model alias"
ask "Alias question" 0 fast
check "alias: HTTP 200" test "$CODE" = 200
check "alias: upstream got the mapped model" test "$(mock_last 'd["body"]["model"]')" = claude-mock-fast
models=$(curl -s --max-time 5 "$RK_URL/v1/models")
check "models: lists the default and the alias" test "$(python3 -c 'import json,sys; ids={m["id"] for m in json.load(sys.stdin)["data"]}; print("claude-mock" in ids and "fast" in ids)' <<<"$models")" = True

echo "== streamed answer"
ask "Tell me about condors [gap:50]" 1
check "stream: deltas add up to the answer" contains "$(stream_text)" "mock: Tell me about condors"
check "stream: finish_reason stop" contains "$OUT" '"finish_reason":"stop"'
check "stream: ends with [DONE]" contains "$OUT" 'data: [DONE]'

echo "== 529 overloaded, then fine"
mock_reset
ask "Overloaded question [fail-first:1:status=529]"
check "529: HTTP 200 after the retry" test "$CODE" = 200
check "529: answered" contains "$(answer)" "mock: Overloaded question"
check "529: the mock saw the retry (2 calls)" test "$(mock_count /v1/messages)" = 2

echo "== failures"
mock_reset
ask "Always overloaded [status:529]"
check "529 always: HTTP 502" test "$CODE" = 502
check "529 always: retried once (2 calls)" test "$(mock_count /v1/messages)" = 2
check "529 always: names the upstream error" contains "$OUT" "529"
ask "Slow question [latency:5000]"
check "slow: HTTP 504" test "$CODE" = 504
check "slow: within the 5 s total deadline" lt "$ELAPSED" $((5000 + SLACK_MS))
ask "Garbage question [malformed]" 1
check "malformed: reported as a malformed upstream" contains "$OUT" "malformed upstream response"
check "malformed: no [DONE]" not contains "$OUT" '[DONE]'
ask "Cut question [cut:2]" 1
check "cut: the start was streamed" contains "$(stream_text)" "mock:"
check "cut: error event, no [DONE]" test "$(contains "$OUT" '"error"' && ! contains "$OUT" '[DONE]' && echo y)" = y

metrics=$(curl -s --max-time 5 "$RK_URL/metrics")
check "metrics: 529s counted" grep -q 'ragkernel_llm_upstream_requests_total{provider="claude",code="529"} [1-9]' <<<"$metrics"
check "metrics: retries counted" grep -q 'ragkernel_llm_upstream_retries_total{provider="claude"} [1-9]' <<<"$metrics"

rk_summary
