#!/usr/bin/env bash
# transport_http against hostile clients (issue 13, findings 2, 5, 6, 8,
# 10), each case on a real server over raw sockets where curl would tidy
# the request up:
#   chat bodies built to be slow to parse (150,000 content parts, 16 MB of
#     parts, messages, keys, nesting): refused or answered in seconds while
#     /health keeps answering;
#   ambiguous framing (two Content-Lengths, "Transfer-Encoding : chunked",
#     both headers, "xchunked"): one clean 400 with Connection: close and
#     nothing smuggled behind it;
#   a body on a route that takes none: refused before it is read, RSS flat
#     with 100 such 3.9 MB uploads;
#   300 sockets that never send a request (from 127.0.0.2) against
#     max_connections 200: /health from 127.0.0.1 still answers and the
#     server closes them after header_timeout;
#   filenames with %00 or bidi controls: 400, nothing stored.
# Loopback only; every wait is bounded.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
CFG=tests/integration/configs/hostile_http.yaml

# raw NAME BYTES: send BYTES (Python escapes: \r\n, \x00) on one connection
# and read the reply until the server closes it (5 s at most) into
# $T/NAME.raw; the last line is "<closed>" or "<open>".
raw() {
    python3 - "$RK_PORT" "$2" >"$T/$1.raw" <<'EOF'
import socket, sys, time
data = sys.argv[2].encode().decode('unicode_escape').encode('latin-1')
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
try:
    s.sendall(data)
except OSError:
    pass
out, state, end = b"", "<open>", time.time() + 5
try:
    while time.time() < end:
        b = s.recv(65536)
        if not b:
            state = "<closed>"
            break
        out += b
except socket.timeout:
    pass
except OSError:
    state = "<closed>"
sys.stdout.buffer.write(out + b"\n" + state.encode() + b"\n")
EOF
}
# status lines anywhere (an answer to a smuggled request would follow the
# first body on the same line)
status_lines() { grep -ao 'HTTP/1\.[01] [0-9][0-9][0-9] ' "$T/$1.raw" | wc -l; }
# one_400 NAME: exactly one status line, a 400, Connection: close, closed
one_400() {
    [ "$(status_lines "$1")" = 1 ] && grep -aq '^HTTP/1\.1 400 ' "$T/$1.raw" &&
        grep -aqi '^Connection: close' "$T/$1.raw" && [ "$(tail -n1 "$T/$1.raw")" = "<closed>" ]
}
says() { grep -aq "$2" "$T/$1.raw"; }
rss_mb() { awk '/^VmRSS/{print int($2/1024)}' "/proc/$RK_PID/status"; }
ms_now() { date +%s%3N; }

rk_start "$CFG" || exit 1

echo "== ambiguous framing: one 400, Connection: close, nothing smuggled"
SMUG='GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
raw cl2 "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\nContent-Length: 50\r\n\r\n{\"message\":\"hi\"}$SMUG"
check "two Content-Lengths: one clean 400" one_400 cl2
check "two Content-Lengths: the message names it" says cl2 'more than one Content-Length header'
raw tesp "POST /chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 16\r\n\r\n{\"message\":\"hi\"}$SMUG"
check "'Transfer-Encoding : chunked': one clean 400" one_400 tesp
check "'Transfer-Encoding : chunked': names the header" says tesp "header name 'Transfer-Encoding ' is not a token"
raw clte "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n$SMUG"
check "Content-Length with Transfer-Encoding: one clean 400" one_400 clte
check "Content-Length with Transfer-Encoding: says both" says clte 'both Content-Length and Transfer-Encoding'
raw xch "POST /chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n10\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n"
check "Transfer-Encoding: xchunked: one clean 400 at once (not read to EOF)" one_400 xch
check "xchunked: names the encoding" says xch "Unsupported Transfer-Encoding 'xchunked'"
raw te2 "POST /chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
check "two Transfer-Encodings: one clean 400" one_400 te2
# MHD 0.9.75 answers a Content-Length that is not a number itself, before
# the application sees the request (and writes its header block twice):
# what must hold is that the request behind it is never answered
raw clbad "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n$SMUG"
check "Content-Length '1x': refused, connection closed, nothing behind it answered" \
    bash -c '! grep -aq "HTTP/1.1 200" "$1" && grep -aq "^HTTP/1.1 400" "$1" && [ "$(tail -n1 "$1")" = "<closed>" ]' _ "$T/clbad.raw"
raw ok2 "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
check "well-formed pipelined requests still get two answers" bash -c '[ "$(grep -ao "HTTP/1.1 200" "$1" | wc -l)" = 2 ]' _ "$T/ok2.raw"
raw chunked "POST /chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n"
check "a plain chunked POST still works" grep -aq '^HTTP/1.1 200' "$T/chunked.raw"

echo "== a body on a route that takes none"
raw getbody 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3900000\r\n\r\nabc'
check "GET /health with a 3.9 MB Content-Length: 400 before the body" one_400 getbody
check "GET /health with a body: says it takes none" says getbody 'GET /health takes no request body'
raw delbody 'DELETE /documents/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
check "DELETE with a chunked body: 400" one_400 delbody
RSS0=$(rss_mb)
python3 - "$RK_PORT" "$RK_PID" >"$T/flood.out" <<'EOF'
import socket, sys, time
port, pid, size = int(sys.argv[1]), sys.argv[2], 3900000
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
socks, chunk = [], b"x" * 65536
for i in range(100):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
    s.setblocking(False)
    socks.append([s, 0, b""])
peak, end = rss(), time.time() + 10
while time.time() < end and any(e[1] < size for e in socks):
    for e in socks:
        if e[1] >= size: continue
        try:
            e[1] += e[0].send(chunk[:size - e[1]])
        except BlockingIOError:
            pass
        except OSError:
            e[1] = size  # the server closed it
        try:
            e[2] += e[0].recv(4096)
        except (BlockingIOError, OSError):
            pass
    peak = max(peak, rss())
time.sleep(0.3)
peak = max(peak, rss())
answered = sum(1 for e in socks if e[2].startswith(b"HTTP/1.1 400"))
print(peak, answered)
EOF
read -r PEAK ANSWERED <"$T/flood.out"
echo "  100 x GET /health with a 3.9 MB body: RSS ${RSS0} -> peak ${PEAK} MB, ${ANSWERED} answered 400"
check "100 bodies on /health: RSS grows < 40 MB (was +400 MB)" test "$((PEAK - RSS0))" -lt 40
check "100 bodies on /health: 400s seen" test "$ANSWERED" -gt 0

echo "== chat bodies built to be slow"
python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
part = '{"type":"text","text":"a"}'
def w(name, s): open(f"{d}/{name}.json", "w").write(s)
w("parts150k", '{"messages":[{"role":"user","content":[' + ','.join([part] * 150000) + ']}]}')
w("parts16m", '{"messages":[{"role":"user","content":[' + ','.join([part] * 570000) + ']}]}')
w("msgs16m", '{"messages":[' + ','.join(['{"role":"user","content":"a"}'] * 500000) + ']}')
w("keys16m", '{' + ','.join('"k%d":1' % i for i in range(1200000)) + ',"messages":[{"role":"user","content":"hi"}]}')
w("deep", '{"messages":[{"role":"user","content":"hi"}],"x":' + '[' * 100000 + ']' * 100000 + '}')
EOF
# post NAME: POST /v1/chat/completions with $T/NAME.json while /health is
# probed every 0.1 s; $T/NAME.{code,b,ms,probe} (probe: slowest /health ms)
post() {
    local t0; t0=$(ms_now)
    curl -s --max-time 120 -o "$T/$1.b" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$T/$1.json" "$RK_URL/v1/chat/completions" >"$T/$1.code" &
    local cpid=$! worst=0
    while kill -0 "$cpid" 2>/dev/null; do
        local p; p=$(curl -s -o /dev/null --max-time 30 -w '%{time_total}' "$RK_URL/health")
        p=$(awk -v t="$p" 'BEGIN{print int(t*1000)}')
        [ "$p" -gt "$worst" ] && worst=$p
        sleep 0.1
    done
    wait "$cpid"
    echo $(($(ms_now) - t0)) >"$T/$1.ms"; echo "$worst" >"$T/$1.probe"
    echo "  $1 ($(stat -c %s "$T/$1.json") bytes): HTTP $(cat "$T/$1.code") in $(cat "$T/$1.ms") ms, slowest /health ${worst} ms: $(head -c 160 "$T/$1.b")"
}
fast() { [ "$(cat "$T/$1.ms")" -lt 5000 ] && [ "$(cat "$T/$1.probe")" -lt 2000 ]; }
post parts150k
check "150,000 content parts: 413 naming max_content_parts" \
    bash -c '[ "$(cat "$1.code")" = 413 ] && grep -q "max_content_parts" "$1.b"' _ "$T/parts150k"
check "150,000 content parts: under 5 s, /health under 2 s meanwhile (was 40 s)" fast parts150k
post parts16m
check "16 MB of content parts: 413 naming max_content_parts" \
    bash -c '[ "$(cat "$1.code")" = 413 ] && grep -q "max_content_parts" "$1.b"' _ "$T/parts16m"
check "16 MB of content parts: under 5 s, /health under 2 s" fast parts16m
post msgs16m
check "500,000 messages: 413 naming max_messages" \
    bash -c '[ "$(cat "$1.code")" = 413 ] && grep -q "max_messages" "$1.b"' _ "$T/msgs16m"
check "500,000 messages: under 5 s, /health under 2 s" fast msgs16m
post keys16m
check "1,200,000 unknown keys: answered (ignored), under 5 s" \
    bash -c '[ "$(cat "$1.code")" = 200 ]' _ "$T/keys16m"
check "1,200,000 unknown keys: /health under 2 s" fast keys16m
post deep
check "nesting 100,000 deep: 400 at once" \
    bash -c '[ "$(cat "$1.code")" = 400 ] && grep -q "nested too deeply" "$1.b"' _ "$T/deep"

echo "== filenames"
# up NAME QUERY CURL-ARGS...: POST /documents?QUERY, $T/NAME.{code,b}
up() {
    local name=$1 q=$2; shift 2
    curl -s -g --max-time 15 -o "$T/$name.b" -w '%{http_code}' "$@" "$RK_URL/documents$q" >"$T/$name.code"
}
code400() { [ "$(cat "$T/$1.code")" = 400 ] && grep -q "$2" "$T/$1.b"; }
up nulq '?filename=a%00.txt' --data-binary 'Some words.'
check "?filename=a%00.txt: 400 naming the NUL" code400 nulq 'NUL byte'
up nulh '' --data-binary 'Some words.' -H 'X-Filename: a%00.txt'
check "X-Filename: a%00.txt: 400 naming the NUL" code400 nulh 'NUL byte'
printf -- '--B\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8'"''"'a%%00.txt\r\n\r\nSome words.\r\n--B--\r\n' >"$T/mp1"
up nulmp '' -H 'Content-Type: multipart/form-data; boundary=B' --data-binary "@$T/mp1"
check "multipart filename*=UTF-8''a%00.txt: 400 naming the NUL" code400 nulmp 'NUL byte'
printf -- '--B\r\nContent-Disposition: form-data; name="file"; filename="a\0.txt"\r\n\r\nSome words.\r\n--B--\r\n' >"$T/mp2"
up nulraw '' -H 'Content-Type: multipart/form-data; boundary=B' --data-binary "@$T/mp2"
check "multipart filename with a raw NUL byte: 400" code400 nulraw 'NUL byte'
up bidi '' --data-binary 'Some words.' -H 'X-Filename: report%E2%80%AEfdp.exe'
check "U+202E in X-Filename: 400 naming it" code400 bidi 'bidirectional control character (U+202E)'
up bidi2 '?filename=a%E2%81%A7b.txt' --data-binary 'Some words.'
check "U+2067 in ?filename=: 400" code400 bidi2 'U+2067'
printf -- '--B\r\nContent-Disposition: form-data; name="file"; filename="a\xe2\x80\xabb.txt"\r\n\r\nSome words.\r\n--B--\r\n' >"$T/mp3"
up bidimp '' -H 'Content-Type: multipart/form-data; boundary=B' --data-binary "@$T/mp3"
check "U+202B in a multipart filename: 400" code400 bidimp 'U+202B'
up c1 '' --data-binary 'Some words.' -H 'X-Filename: a%C2%9B.txt'
check "a C1 control (U+009B) in a filename: 400" code400 c1 'control characters (U+009B)'
curl -s --max-time 10 -o "$T/list.b" "$RK_URL/documents"
check "nothing of the above was stored" bash -c 'python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"data\"]==[] else 1)" "$1"' _ "$T/list.b"
up fine '' --data-binary 'Some words.' -H 'X-Filename: caf%C3%A9 notes.txt'
check "an ordinary UTF-8 name is stored (201)" test "$(cat "$T/fine.code")" = 201

echo "== sockets that never send a request"
rk_stop
RK_LOG_LEVEL=warn rk_start "$CFG" || exit 1
python3 - "$RK_PORT" >"$T/slow.out" <<'EOF'
import socket, subprocess, sys, time
port = int(sys.argv[1])
socks = []
for i in range(300):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(0.3)
t0 = time.time()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                    "--max-time", "20", f"http://127.0.0.1:{port}/health"],
                   capture_output=True, text=True)
code, secs = r.stdout.split()
def closed(s):
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
done, first_open, all_closed = set(), None, None
while time.time() - t0 < 15:
    for i, s in enumerate(socks):
        if i not in done and closed(s):
            done.add(i)
    if first_open is None:
        first_open = 300 - len(done)  # held after the per-address limit
    if len(done) == 300:
        all_closed = time.time() - t0
        break
    time.sleep(0.2)
print(code, int(float(secs) * 1000), first_open,
      int(all_closed * 1000) if all_closed is not None else -1)
EOF
read -r HCODE HMS HELD CLOSED_MS <"$T/slow.out"
echo "  300 idle sockets from 127.0.0.2: /health $HCODE in $HMS ms; $HELD held past the per-address limit, all closed after $CLOSED_MS ms"
check "300 idle sockets: /health from 127.0.0.1 answers 200 within 5 s" \
    bash -c '[ "$1" = 200 ] && [ "$2" -lt 5000 ]' _ "$HCODE" "$HMS"
check "300 idle sockets: one address holds at most half of max_connections" \
    bash -c '[ "$1" -gt 0 ] && [ "$1" -le 100 ]' _ "$HELD"
check "300 idle sockets: all closed by the server within header_timeout + 8 s" \
    bash -c '[ "$1" -ge 0 ] && [ "$1" -lt 10000 ]' _ "$CLOSED_MS"
# after a request, a kept-alive connection has the idle timeout, not the
# header timeout
python3 - "$RK_PORT" >"$T/ka.out" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
s.sendall(req)
a = s.recv(4096)
time.sleep(4)  # twice header_timeout
try:
    s.sendall(req)
    b = s.recv(4096)
except OSError:
    b = b""
print("ok" if a.startswith(b"HTTP/1.1 200") and b.startswith(b"HTTP/1.1 200") else "closed")
EOF
check "a kept-alive connection outlives header_timeout once it sent a request" grep -q '^ok$' "$T/ka.out"
check "the server is still up" kill -0 "$RK_PID"

rk_summary
