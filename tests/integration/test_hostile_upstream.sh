#!/usr/bin/env bash
# Hostile upstreams (issue 13, findings 4 and 7) against a real server and
# tests/mock_llm.py:
#  - an answer larger than pipeline.max_answer_bytes ends in a clear error
#    (streamed: an error event after the text; whole: HTTP 502), logged;
#  - 100 clients that never read while a fast upstream streams answers of
#    several MB: the server stops reading those upstreams (backpressure), its
#    RSS stays flat, and a normal client still gets its answer;
#  - an upstream whose error body echoes the request (API key included):
#    the key reaches neither the client nor the server log; the client gets
#    the host's words ("upstream HTTP 400") and the request id.
# RK_HTTP_CLIENT=libcurl runs it with libcurl taking every upstream call.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap 'kill_hogs; stop_all' EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
export MOCK_KEY=sk-hostile-4f9c2e7a1b8d6035
HOGS=()
kill_hogs() { local p; for p in "${HOGS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; HOGS=(); }

body() { # CONTENT STREAM(0/1)
    python3 -c 'import json,sys; print(json.dumps({"model": "mock", "stream": sys.argv[2] == "1",
        "messages": [{"role": "user", "content": sys.argv[1]}]}))' "$1" "${2:-0}"
}
chat() { # CONTENT STREAM -> CODE OUT ELAPSED
    local t0; t0=$(ms)
    CODE=$(curl -sN -o "$SVC_TMP/out" -w '%{http_code}' --max-time 60 "$RK_URL/v1/chat/completions" \
        -H 'Content-Type: application/json' -d "$(body "$@")")
    ELAPSED=$(( $(ms) - t0 ))
    OUT=$(cat "$SVC_TMP/out")
    echo "  -> HTTP $CODE in ${ELAPSED} ms, $(wc -c <"$SVC_TMP/out") bytes: $(tail -c 300 <<<"$OUT" | tr '\n' ' ')"
}
rss_mb() { echo $(( $(awk '/^VmRSS/{print $2}' "/proc/$RK_PID/status") / 1024 )); }
stream_text_bytes() {
    python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    if line.startswith("data: ") and line != "data: [DONE]":
        try:
            d = json.loads(line[6:])
        except ValueError:
            continue
        for c in d.get("choices") or []:
            n += len(((c.get("delta") or {}).get("content") or "").encode())
print(n)' "$SVC_TMP/out"
}
contains() { grep -qF -- "$2" <<<"$1"; }
# RSS bounds hold for release builds; ASan's quarantine and redzones (and TSan's shadow memory) make
# a sanitizer build's RSS meaningless, so there the numbers are only shown.
rss_check() { # WHAT GROWTH_MB LIMIT_MB
    if [ "${SAN:-0}" != 0 ]; then echo "  (SAN=${SAN}: not checked) $1: +$2 MB"; return; fi
    check "$1" lt "$2" "$3"
}
lt() { [ "$1" -lt "$2" ]; }
le() { [ "$1" -le "$2" ]; }
not() { ! "$@"; }

# N clients that send a chat request and then never read a byte; they hold
# their sockets until killed. Prints nothing; PID recorded in HOGS.
start_hogs() { # N STREAM CONTENT
    python3 - "$RK_PORT" "$1" "$2" "$3" <<'PY' &
import json, socket, sys, time
port, n, stream, content = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
body = json.dumps({"model": "mock", "stream": stream,
                   "messages": [{"role": "user", "content": content}]}).encode()
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
time.sleep(600)
PY
    HOGS+=($!)
}

start_mock --api-key "$MOCK_KEY" || exit 1
rk_start tests/integration/configs/hostile_upstream.yaml MOCK_PORT="$MOCK_PORT" MOCK_KEY="$MOCK_KEY" || exit 1
if [ "${RK_HTTP_CLIENT:-}" = libcurl ]; then
    check "every upstream call goes through libcurl" grep -q "upstream http client: libcurl for every call" "$RK_LOG"
fi

echo "== an answer past max_answer_bytes (4 MiB), streamed"
chat "Tell me everything [big:12000000]" 1
n=$(stream_text_bytes)
echo "  streamed text: $n bytes"
check "cap/stream: HTTP 200 (the stream had started)" test "$CODE" = 200
check "cap/stream: at most 4 MiB of text reached the client" le "$n" 4194304
check "cap/stream: more than 3 MiB did (the cap, not an early cut)" lt 3145728 "$n"
check "cap/stream: ends with an error event naming the cap" contains "$OUT" 'max_answer_bytes'
check "cap/stream: no [DONE]" not contains "$OUT" '[DONE]'
check "cap/stream: within 30 s" lt "$ELAPSED" 30000

echo "== an answer past max_answer_bytes, whole"
chat "Tell me everything [big:12000000]" 0
check "cap/whole: HTTP 502" test "$CODE" = 502
check "cap/whole: OpenAI error with code answer_too_large" contains "$OUT" '"code":"answer_too_large"'
check "cap/whole: the message names the limit" contains "$OUT" 'pipeline.max_answer_bytes (4194304 bytes)'
check "cap: logged with the request id" grep -q 'answer passed pipeline.max_answer_bytes (4194304 bytes); cut off (request ' "$RK_LOG"

echo "== 100 streaming clients that never read, answers of 3.5 MB each"
sleep 1
base=$(rss_mb)
start_hogs 100 1 "Flood me [big:3500000]"
peak=$base
for i in $(seq 16); do sleep 0.5; r=$(rss_mb); [ "$r" -gt "$peak" ] && peak=$r; done
echo "  RSS: ${base} MB before, peak ${peak} MB over 8 s with 100 stalled streams"
rss_check "backpressure/stream: RSS grew less than 100 MB" $((peak - base)) 100
chat "Still there? [big:20000]" 0
check "backpressure: a normal client still gets its answer" test "$CODE" = 200
check "backpressure: within 5 s" lt "$ELAPSED" 5000
kill_hogs

echo "== 100 non-streaming clients that never read, answers past the cap"
sleep 1
base=$(rss_mb)
start_hogs 100 0 "Flood me whole [big:9000000]"
peak=$base
for i in $(seq 16); do sleep 0.5; r=$(rss_mb); [ "$r" -gt "$peak" ] && peak=$r; done
echo "  RSS: ${base} MB before, peak ${peak} MB over 8 s with 100 stalled whole answers"
rss_check "cap/whole x100: RSS bounded by 100 answers of max_answer_bytes (+50%)" $((peak - base)) 600
chat "Still there? [big:20000]" 0
check "cap/whole x100: a normal client still gets its answer" test "$CODE" = 200
check "cap/whole x100: within 20 s" lt "$ELAPSED" 20000
kill_hogs

echo "== an upstream whose error echoes the request, API key included"
mock_reset() { curl -s -X POST "$MOCK_URL/__reset" >/dev/null; }
mock_reset
chat "Repeat after me [echo]" 0
check "echo: the upstream did echo the key (the test can fail)" \
    grep -q "$MOCK_KEY" <<<"$(curl -s "$MOCK_URL/__stats")"
check "echo/whole: HTTP 502" test "$CODE" = 502
check "echo/whole: the client's message says what failed" contains "$OUT" 'primary: upstream HTTP 400'
check "echo/whole: and names the request" contains "$OUT" '(request '
check "echo/whole: not the key" not contains "$OUT" "$MOCK_KEY"
check "echo/whole: nor any header the upstream echoed" not grep -qi 'authorization\|cannot parse request' <<<"$OUT"
chat "Repeat after me [echo]" 1
check "echo/stream: not the key" not contains "$OUT" "$MOCK_KEY"
check "echo: the failure is in the log" grep -q 'upstream HTTP 400: cannot parse request' "$RK_LOG"
check "echo: the key is in no log line" not grep -q "$MOCK_KEY" "$RK_LOG"
check "echo: the upstream's Authorization value is masked in the log" \
    grep -q 'Authorization: \[redacted\]' "$RK_LOG"

rk_stop
check "the key is in no log line after shutdown either" not grep -q "$MOCK_KEY" "$RK_LOG"
check "no crash or sanitizer report in the server log" not grep -Eq "AddressSanitizer|runtime error" "$RK_LOG"

echo "== documents in an S3 whose errors show bucket, host and the signed string"
export S3_BUCKET=tenant-docs-internal S3_ACCESS_KEY=AKIAHOSTILE0123456789 \
    S3_SECRET_KEY=hostile/secret/KEY0123456789abcdef
start_mock --s3-bucket "$S3_BUCKET" || exit 1
rk_start tests/integration/configs/hostile_s3.yaml MOCK_PORT="$MOCK_PORT" || exit 1
printf 'The quokka is a small marsupial.\n' >"$SVC_TMP/quokka.txt"
CODE=$(curl -s -o "$SVC_TMP/up.json" -w '%{http_code}' --max-time 30 \
       "$RK_URL/documents?filename=quokka.txt" -H 'Content-Type: text/plain' \
       --data-binary @"$SVC_TMP/quokka.txt")
OUT=$(cat "$SVC_TMP/up.json"); echo "  -> upload: HTTP $CODE: $OUT"
check "s3: the mock answered with its hostile error (the test can fail)" \
    grep -q '"s3": [1-9]' <<<"$(curl -s "$MOCK_URL/__stats")"
check "s3/upload: HTTP 503" test "$CODE" = 503
check "s3/upload: says the storage failed" contains "$OUT" 'storage unavailable'
for secret in "$S3_BUCKET" s3-internal.corp.example StringToSign AWS4-HMAC-SHA256 \
              SignatureDoesNotMatch "$S3_ACCESS_KEY" "127.0.0.1:$MOCK_PORT"; do
    check "s3/upload: the client does not see '$secret'" not contains "$OUT" "$secret"
done
CODE=$(curl -s -o "$SVC_TMP/list.json" -w '%{http_code}' --max-time 30 "$RK_URL/documents")
OUT=$(cat "$SVC_TMP/list.json"); echo "  -> list: HTTP $CODE: $OUT"
check "s3/list: the client does not see the bucket" not contains "$OUT" "$S3_BUCKET"
check "s3/list: nor the signed string" not contains "$OUT" 'StringToSign'
check "s3: the failure is in the log" grep -q 'SignatureDoesNotMatch' "$RK_LOG"
check "s3: the access key is in no log line" not grep -q "$S3_ACCESS_KEY" "$RK_LOG"
check "s3: the signature is in no log line" not grep -q 'Signature=[0-9a-f]' "$RK_LOG"
rk_stop
rk_summary
