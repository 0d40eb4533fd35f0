#!/usr/bin/env bash
# What an operator watches: /metrics has ragkernel_build_info, the standard
# process metrics, a breaker state gauge and an open counter per provider
# and a method label on request counts; /ready turns 503 when no LLM can
# answer and as soon as SIGTERM arrives, while the listener keeps serving
# for server.shutdown_delay; /health stays liveness; auth_by_proxy lets a
# listener beyond loopback run without keys, with a warning.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
export DOWN_PORT; DOWN_PORT=$(free_port) # nothing listens there: "down" always fails

# write_cfg FILE LLM-LIST [SHUTDOWN_DELAY] [LISTEN] [AUTH_BY_PROXY]
write_cfg() {
    cat >"$1" <<YAML
server:
  plugin_path: ["$RK_PLUGIN_DIR"]
  shutdown_grace: 5s
  shutdown_delay: ${3:-0s}
pipeline:
  llm: $2
  breaker_failures: 1
  breaker_cooldown: 60s
  llm_timeout: 3s
  total_timeout: 5s
instances:
  http:
    plugin: transport_http
    config: {listen: "${4:-127.0.0.1:\${RK_PORT\}}", auth_by_proxy: ${5:-false}}
  down:
    plugin: llm_openai
    config: {base_url: "http://127.0.0.1:$DOWN_PORT/v1", api_key: unused, model: down,
             max_retries: 0, connect_timeout: 500ms}
  extractive:
    plugin: llm_extractive
YAML
}
code() { # [-o FILE] URL: the status code
    local out=/dev/null
    if [ "$1" = -o ]; then out=$2; shift 2; fi
    curl -s -o "$out" -w '%{http_code}' --max-time 5 "$@"
}
metric() { # NAME-WITH-LABELS: its value in $T/m
    awk -v k="$1" '$1 == k {print $2}' "$T/m"
}
scrape() { curl -s --max-time 5 "$RK_URL/metrics" >"$T/m"; }
chat() { curl -s -o "$T/chat.b" -w '%{http_code}' --max-time 10 "$RK_URL/chat" -d '{"message": "hello there"}'; }

echo "== metrics, with an offline answerer behind a provider that is down"
write_cfg "$T/a.yaml" "[down, extractive]"
rk_start "$T/a.yaml" || exit 1
scrape
check "ragkernel_build_info names version and ABI" \
    test "$(metric "ragkernel_build_info{version=\"$("$RK_BIN" --version | awk '{print $2}')\",abi=\"1.1\"}")" = 1
rss=$(metric process_resident_memory_bytes); fds=$(metric process_open_fds)
start=$(metric process_start_time_seconds); cpu=$(metric process_cpu_seconds_total)
echo "    rss=$rss fds=$fds start=$start cpu=$cpu"
check "process_resident_memory_bytes is 1-1000 MB" python3 -c "import sys; sys.exit(not 1e6 < float('$rss') < 1e9)"
check "process_open_fds is the fds under /proc" python3 -c "import sys; sys.exit(not 3 < float('$fds') < 10000)"
check "process_start_time_seconds is when it started (within 10 min)" \
    python3 -c "import sys,time; sys.exit(not abs(time.time()-float('$start')) < 600)"
check "process_cpu_seconds_total is a counter" bash -c \
    'grep -q "^# TYPE process_cpu_seconds_total counter" "$1" && [ -n "$2" ]' _ "$T/m" "$cpu"
check "process_max_fds present" test -n "$(metric process_max_fds)"
check "breaker of 'down' closed at first" test "$(metric 'ragkernel_llm_breaker_state{provider="down"}')" = 0
check "no opens yet" test "$(metric 'ragkernel_llm_breaker_opens_total{provider="down"}')" = 0
check "a chat is answered by the fallback" test "$(chat)" = 200
scrape
check "breaker of 'down' open after its failure" test "$(metric 'ragkernel_llm_breaker_state{provider="down"}')" = 1
check "one open counted" test "$(metric 'ragkernel_llm_breaker_opens_total{provider="down"}')" = 1
check "breaker of 'extractive' closed" test "$(metric 'ragkernel_llm_breaker_state{provider="extractive"}')" = 0
check "/ready 200: the offline answerer can answer" test "$(code "$RK_URL/ready")" = 200
check "requests counted with method POST" \
    test "$(metric 'ragkernel_http_requests_total{route="/chat",code="200",method="POST"}')" = 1
scrape
check "... and GET" test "$(metric 'ragkernel_http_requests_total{route="/metrics",code="200",method="GET"}')" -ge 1
rk_stop

echo "== no LLM can answer"
write_cfg "$T/b.yaml" "[down]"
rk_start "$T/b.yaml" || exit 1
check "/ready 200 while the circuit is closed" test "$(code "$RK_URL/ready")" = 200
check "a chat fails (the only provider is down)" test "$(chat)" != 200
check "/ready 503 once every circuit is open" test "$(code -o "$T/ready.b" "$RK_URL/ready")" = 503
check "... saying why" grep -q "no LLM can answer" "$T/ready.b"
check "/health stays 200 (liveness)" test "$(code "$RK_URL/health")" = 200
rk_stop

echo "== SIGTERM with shutdown_delay 3s"
write_cfg "$T/c.yaml" "[extractive]" 3s
rk_start "$T/c.yaml" || exit 1
check "/ready 200 before" test "$(code "$RK_URL/ready")" = 200
t0=$(_svc_ms)
kill -TERM "$RK_PID"
r=0; for _ in $(seq 40); do r=$(code -o "$T/ready.b" "$RK_URL/ready"); [ "$r" = 503 ] && break; sleep 0.05; done
t_ready=$(( $(_svc_ms) - t0 ))
check "/ready 503 right after SIGTERM (${t_ready} ms, under 2 s)" bash -c '[ "$1" = 503 ] && [ "$2" -lt 2000 ]' _ "$r" "$t_ready"
check "... saying shutting down" grep -q "shutting down" "$T/ready.b"
check "the listener still serves chats during the delay" test "$(chat)" = 200
check "/health still 200 during the delay" test "$(code "$RK_URL/health")" = 200
sleep 1
check "still running 1 s into the 3 s delay" kill -0 "$RK_PID"
deadline=$((SECONDS + 20)); while kill -0 "$RK_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
t_exit=$(( $(_svc_ms) - t0 ))
wait "$RK_PID"; rc=$?
echo "    exited $rc after ${t_exit} ms"
check "exits 0 after the delay (${t_exit} ms: 2.5-15 s)" bash -c '[ "$1" = 0 ] && [ "$2" -ge 2500 ] && [ "$2" -lt 15000 ]' _ "$rc" "$t_exit"
check "the log says so" grep -q "shutdown_delay" "$RK_LOG"

echo "== a second SIGTERM skips the delay"
write_cfg "$T/d.yaml" "[extractive]" 60s
rk_start "$T/d.yaml" || exit 1
t0=$(_svc_ms); kill -TERM "$RK_PID"; sleep 0.3; kill -TERM "$RK_PID"
deadline=$((SECONDS + 20)); while kill -0 "$RK_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
t_exit=$(( $(_svc_ms) - t0 )); wait "$RK_PID"
check "stopped in ${t_exit} ms, not 60 s" test "$t_exit" -lt 15000

echo "== auth_by_proxy: beyond loopback without keys"
port=$(free_port)
write_cfg "$T/e.yaml" "[extractive]" 0s "0.0.0.0:$port" true
check "--check-config passes it" "$RK_BIN" --check-config "$T/e.yaml"
write_cfg "$T/f.yaml" "[extractive]" 0s "0.0.0.0:$port" false
check "without the switch --check-config refuses it" bash -c '! "$1" --check-config "$2" >/dev/null 2>&1' _ "$RK_BIN" "$T/f.yaml"
"$RK_BIN" -c "$T/e.yaml" >"$T/proxy.log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$T/proxy.log" _svc_http_up "http://127.0.0.1:$port/health"
check "it serves (on 127.0.0.1:$port too)" test "$(code "http://127.0.0.1:$port/health")" = 200
check "with a loud warning naming the key" grep -Eq 'level=warn.*WITHOUT API KEYS \(auth_by_proxy: true\)' "$T/proxy.log"
kill -TERM "$pid"; wait "$pid"
check "no sanitizer report" bash -c '! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$@"' _ "$T"/*.log
rk_summary
