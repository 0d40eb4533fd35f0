#!/usr/bin/env bash
# llm_openai through the whole server against tests/mock_llm.py: plain and
# streamed answers, an upstream slower than its timeout (the backup answers
# within the deadline), Retry-After honoured, a stream cut mid-answer (with
# and without a backup), every provider failing or slow, a malformed
# upstream, embeddings, model aliases and the upstream metrics. The backup
# reads whole JSON answers (stream: false), the primary SSE streams.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
export MOCK_KEY=sk-mock-test


# body CONTENT [STREAM 0/1] [MODEL]
body() {
    python3 -c 'import json,sys; print(json.dumps({"model": sys.argv[3], "stream": sys.argv[2] == "1",
        "messages": [{"role": "user", "content": sys.argv[1]}]}))' "$1" "${2:-0}" "${3:-mock}"
}
# chat CONTENT [STREAM] [MODEL]: sets CODE, OUT, ELAPSED (ms)
chat() {
    local t0; t0=$(ms)
    CODE=$(curl -sN -o "$SVC_TMP/out" -w '%{http_code}' --max-time 15 "$RK_URL/v1/chat/completions" \
        -H 'Content-Type: application/json' -d "$(body "$@")")
    ELAPSED=$(( $(ms) - t0 ))
    OUT=$(cat "$SVC_TMP/out")
    echo "  -> HTTP $CODE in ${ELAPSED} ms: $(head -c 300 <<<"$OUT" | tr '\n' ' ')"
}
answer() { python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])' <<<"$OUT" 2>/dev/null; }
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
error_message() { python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["message"])' <<<"$OUT" 2>/dev/null; }
mock_count() { # PATH -> requests the mock saw on it since the last reset
    curl -s "$MOCK_URL/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1], 0))' "$1"
}
mock_last() { # PATH PYTHON-EXPR(over d = {"headers", "body"})
    curl -s "$MOCK_URL/__stats" | python3 -c 'import json,sys; d=json.load(sys.stdin)["last"][sys.argv[1]]; print(eval(sys.argv[2]))' "$1" "$2"
}
mock_reset() { curl -s -X POST "$MOCK_URL/__reset" >/dev/null; }
contains() { grep -qF -- "$2" <<<"$1"; }
lt() { [ "$1" -lt "$2" ]; }
ge() { [ "$1" -ge "$2" ]; }
not() { ! "$@"; }

start_mock --api-key "$MOCK_KEY" || exit 1
rk_start tests/integration/configs/llm_faults.yaml MOCK_PORT="$MOCK_PORT" MOCK_KEY="$MOCK_KEY" || exit 1
if [ "${RK_HTTP_CLIENT:-}" = libcurl ]; then
    check "every upstream call goes through libcurl" grep -q "upstream http client: libcurl for every call" "$RK_LOG"
fi

echo "== plain answer"
chat "What is the capital of Peru"
check "plain: HTTP 200" test "$CODE" = 200
check "plain: answered by the primary through the mock" contains "$(answer)" "primary: What is the capital of Peru"
check "plain: Bearer key sent" test "$(mock_last /v1/chat/completions 'd["headers"].get("authorization")')" = "Bearer $MOCK_KEY"
check "plain: upstream asked to stream with usage" test "$(mock_last /v1/chat/completions 'd["body"]["stream"] and d["body"]["stream_options"]["include_usage"]')" = True

echo "== model alias"
chat "Alias question" 0 smart
check "alias: HTTP 200" test "$CODE" = 200
check "alias: upstream got the mapped model" test "$(mock_last /v1/chat/completions 'd["body"]["model"]')" = mock-smart

echo "== streamed answer"
chat "Tell me about llamas [gap:50]" 1
check "stream: deltas add up to the answer" contains "$(stream_text)" "primary: Tell me about llamas"
check "stream: more than one delta" ge "$(grep -c '"content"' <<<"$OUT")" 3
check "stream: finish_reason stop" contains "$OUT" '"finish_reason":"stop"'
check "stream: ends with [DONE]" contains "$OUT" 'data: [DONE]'

echo "== primary slower than llm_timeout -> backup within the deadline"
mock_reset
chat "Slow question [latency:2000@primary]"
check "slow: HTTP 200" test "$CODE" = 200
check "slow: the backup answered" contains "$(answer)" "backup: Slow question"
check "slow: the backup asked for whole JSON" test "$(mock_last /v1/chat/completions '"stream" in d["body"]')" = False
check "slow: waited for the primary's 1 s timeout" ge "$ELAPSED" 900
check "slow: within the 3 s total deadline" lt "$ELAPSED" $((3000 + SLACK_MS))

echo "== stream cut mid-answer, with a backup"
chat "Cut question [cut:2@primary]" 1
text=$(stream_text)
check "cut+backup: the primary's start was streamed" contains "$text" "primary:"
check "cut+backup: the backup continued it" contains "$text" "backup:"
check "cut+backup: finish_reason stop" contains "$OUT" '"finish_reason":"stop"'
check "cut+backup: ends with [DONE]" contains "$OUT" 'data: [DONE]'
check "cut+backup: no error event" not contains "$OUT" '"error"'

echo "== every provider answers 500"
mock_reset
chat "Broken question [status:500]"
check "all 500: HTTP 502" test "$CODE" = 502
check "all 500: JSON error body" test -n "$(error_message)"
check "all 500: within the total deadline" lt "$ELAPSED" $((3000 + SLACK_MS))
check "all 500: primary retried once, then the backup (3 calls)" test "$(mock_count /v1/chat/completions)" = 3

echo "== every provider slower than its timeout"
chat "Very slow question [latency:5000]"
check "all slow: HTTP 504" test "$CODE" = 504
check "all slow: JSON error body" test -n "$(error_message)"
check "all slow: within the total deadline" lt "$ELAPSED" $((3000 + SLACK_MS))

echo "== malformed upstream"
chat "Garbage question [malformed]"
check "malformed: HTTP 502" test "$CODE" = 502
check "malformed: says so" contains "$(error_message)" "malformed upstream response"

echo "== embeddings"
t0=$(ms)
CODE=$(curl -s -o "$SVC_TMP/out" -w '%{http_code}' --max-time 10 "$RK_URL/v1/embeddings" \
    -H 'Content-Type: application/json' -d '{"model":"text-embedding-3-small","input":["alpha","beta"]}')
OUT=$(cat "$SVC_TMP/out"); echo "  -> HTTP $CODE: $(head -c 200 <<<"$OUT")"
check "embeddings: HTTP 200" test "$CODE" = 200
check "embeddings: two vectors of the mock's 8 dimensions" test "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d), len(d[0]["embedding"]), len(d[1]["embedding"]))' <<<"$OUT" 2>/dev/null)" = "2 8 8"

echo "== metrics"
metrics=$(curl -s --max-time 5 "$RK_URL/metrics")
check "metrics: upstream 500s counted" grep -q 'ragkernel_llm_upstream_requests_total{provider="primary",code="500"} [1-9]' <<<"$metrics"
check "metrics: upstream 200s counted" grep -q 'ragkernel_llm_upstream_requests_total{provider="backup",code="200"} [1-9]' <<<"$metrics"
check "metrics: retries counted" grep -q 'ragkernel_llm_upstream_retries_total{provider="primary"} [1-9]' <<<"$metrics"
check "metrics: upstream latency histogram" grep -q 'ragkernel_llm_upstream_seconds_count{provider="primary"} [1-9]' <<<"$metrics"
rk_stop

echo "== single provider (no fallback)"
rk_start tests/integration/configs/llm_single.yaml MOCK_PORT="$MOCK_PORT" MOCK_KEY="$MOCK_KEY" || exit 1

mock_reset
chat "Busy question [fail-first:1:status=429:retry-after=1]"
check "429: HTTP 200 after the retry" test "$CODE" = 200
check "429: answered" contains "$(answer)" "primary: Busy question"
check "429: Retry-After of 1 s honoured" ge "$ELAPSED" 1000
check "429: the mock saw the retry (2 calls)" test "$(mock_count /v1/chat/completions)" = 2

chat "Cut alone [cut:2]" 1
check "cut alone: the start was streamed" contains "$(stream_text)" "primary:"
check "cut alone: an error event" contains "$OUT" '"error"'
check "cut alone: no [DONE]" not contains "$OUT" '[DONE]'

chat "Always limited [status:429:retry-after=30]"
check "429 for longer than the deadline: HTTP 429" test "$CODE" = 429
check "429: fails fast instead of sleeping" lt "$ELAPSED" $((3000 + SLACK_MS))

echo "== upstream down"
kill -TERM "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null
chat "Anyone there"
check "down: HTTP 502" test "$CODE" = 502
check "down: JSON error body" test -n "$(error_message)"
check "down: fails fast" lt "$ELAPSED" $((3000 + SLACK_MS))

rk_summary
