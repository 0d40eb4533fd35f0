#!/usr/bin/env bash
# Gateway benchmark: the same fake upstream reached three ways in one run —
# directly, through nginx proxy_pass (keep-alive upstream), and through
# ragkernel (transport_http -> pipeline -> llm_openai) — measured with wrk.
# Then the concurrency run: N simultaneous streaming requests with an
# upstream that answers after DELAY ms; completions, threads, peak RSS.
#
#   bench/gateway.sh [DURATION_S] [CONNS]      (defaults 10, 32; ROUNDS=3)
#   STREAMS=2000 DELAY=2000 bench/gateway.sh
#   PARTS=streams bench/gateway.sh             (the concurrency run only)
#
# Besides the text, every run writes tab-separated results to $BUILD/bench/:
# gateway.tsv (one row per round and target), streams.tsv (the concurrency
# run) and streams_timeline.tsv (the server's RSS, threads and open fds
# every 100 ms during it). RECORD=1 appends the first two to
# bench/results/ and replaces the timeline there: make bench-plots draws
# from bench/results/.
set -u   # not -e: stop_all (the EXIT trap) must run to the end
cd "$(dirname "$0")/.."
export RK_ROOT=$PWD BUILD=${BUILD:-build}
. tests/lib/services.sh
. tests/lib/rk.sh
trap stop_all EXIT; trap 'exit 143' TERM INT

DUR=${1:-10}; CONNS=${2:-32}; STREAMS=${STREAMS:-2000}; DELAY=${DELAY:-2000}
ROUNDS=${ROUNDS:-3}; PARTS=${PARTS:-all}; RECORD=${RECORD:-0}
DAY=$(date -u +%F)
ulimit -n 65536 2>/dev/null || true   # 2,000 clients + 2,000 upstream sockets
mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/fake_upstream" bench/fake_upstream.c || exit 1
_svc_init

start_fake() { # PORT DELAY MODE
    "$BUILD/bench/fake_upstream" "$1" "$2" "$3" >"$SVC_TMP/fake.$1.log" 2>&1 &
    local pid=$!; _svc_record fake_upstream "$pid" TERM
    _svc_wait fake_upstream "$pid" "$SVC_TMP/fake.$1.log" _svc_http_up "http://127.0.0.1:$1/" || exit 1
}

start_proxy_nginx() { # LISTEN_PORT UPSTREAM_PORT WORKERS
    local d="$SVC_TMP/nginx.$1"; mkdir -p "$d"
    cat >"$d/nginx.conf" <<NGX
worker_processes $3;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $d/cb; proxy_temp_path $d/px; fastcgi_temp_path $d/fc;
  uwsgi_temp_path $d/uw; scgi_temp_path $d/sc;
  upstream up { server 127.0.0.1:$2; keepalive 64; }
  server { listen 127.0.0.1:$1;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } }
}
NGX
    nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log" -g "daemon off; pid $d/nginx.pid;" &
    local pid=$!; _svc_record nginx "$pid" QUIT
    _svc_wait nginx "$pid" "$d/error.log" _svc_http_up "http://127.0.0.1:$1/" || exit 1
}

# wrk → "req/s p50_ms p99_ms errors"
measure() { # URL CONNS
    local threads=2; [ "$2" -lt 2 ] && threads=1
    local out; out=$(wrk -t"$threads" -c"$2" -d"${DUR}s" --latency -s bench/post.lua "$1" 2>&1)
    local rps p50 p99 errs
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/{printf "%s ", $0}' <<<"$out")
    echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${errs:-none}"
}
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print v }'; }

# the results in tab-separated form, for make bench-plots
TSV_G=$BUILD/bench/gateway.tsv TSV_S=$BUILD/bench/streams.tsv TSV_T=$BUILD/bench/streams_timeline.tsv
printf 'date\tround\ttarget\trps\tp50_ms\tp99_ms\n' >"$TSV_G"
record() { # after a part: RECORD=1 appends its rows to bench/results/
    [ "$RECORD" = 1 ] || return 0
    mkdir -p bench/results
    local f=bench/results/$(basename "$1")
    if [ -s "$f" ]; then tail -n +2 "$1" >>"$f"; else cp "$1" "$f"; fi
}

if [ "$PARTS" != streams ]; then
UP=$(free_port); start_fake "$UP" 0 json
NG1=$(free_port); start_proxy_nginx "$NG1" "$UP" 1
NG2=$(free_port); start_proxy_nginx "$NG2" "$UP" 2
rk_start bench/configs/gateway.yaml UPSTREAM_PORT="$UP" >/dev/null || exit 1
curl -sf -o /dev/null "$RK_URL/v1/chat/completions" -H 'Content-Type: application/json' \
     -d '{"model":"bench","messages":[{"role":"user","content":"hi"}]}' || { echo "ragkernel did not answer"; tail "$RK_LOG"; exit 1; }

echo "== gateway: wrk -t2 -c$CONNS -d${DUR}s POST /v1/chat/completions, $ROUNDS interleaved rounds ($(date -u +%F), $(nproc) cores)"
# The machine's speed drifts (other tenants): every round measures every
# target back to back, ratios are taken within a round, and the medians
# are reported, so a slow minute cannot favour one target.
url_of() {
    case $1 in
        direct) echo "http://127.0.0.1:$UP/v1/chat/completions" ;;
        nginx1) echo "http://127.0.0.1:$NG1/v1/chat/completions" ;;
        nginx2) echo "http://127.0.0.1:$NG2/v1/chat/completions" ;;
        ragkernel) echo "$RK_URL/v1/chat/completions" ;;
    esac
}
median() { sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
declare -A RPS P50 P99 RATIO
printf "%-6s %-12s %10s %9s %9s  %s\n" round target req/s p50_ms p99_ms errors
for ((r = 1; r <= ROUNDS; r++)); do
    for t in direct nginx1 nginx2 ragkernel; do
        read -r rps p50 p99 errs <<<"$(measure "$(url_of $t)" "$CONNS")"
        printf "%-6s %-12s %10s %9s %9s  %s\n" "$r" "$t" "$rps" "$p50" "$p99" "$errs"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$DAY" "$r" "$t" "$rps" "$p50" "$p99" >>"$TSV_G"
        RPS[$t]+="$rps "; P50[$t]+="$p50 "; P99[$t]+="$p99 "
        eval "last_$t=\$rps; last99_$t=\$p99"
    done
    for n in nginx1 nginx2; do
        eval "nr=\$last_$n; n99=\$last99_$n"
        RATIO[$n]+="$(awk -v a="$last_ragkernel" -v b="$nr" 'BEGIN{printf "%.3f", a/b}') "
        RATIO[p99$n]+="$(awk -v a="$last99_ragkernel" -v b="$n99" 'BEGIN{printf "%.3f", a/b}') "
    done
done
echo "== medians of $ROUNDS rounds"
printf "%-28s %10s %9s %9s\n" target req/s p50_ms p99_ms
for t in direct nginx1 nginx2 ragkernel; do
    printf "%-28s %10s %9s %9s\n" "$t" "$(tr ' ' '\n' <<<"${RPS[$t]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${P50[$t]}" | grep . | median)" "$(tr ' ' '\n' <<<"${P99[$t]}" | grep . | median)"
done
for n in nginx1 nginx2; do
    echo "ragkernel / $n: throughput $(tr ' ' '\n' <<<"${RATIO[$n]}" | grep . | median)x" \
         "(rounds: ${RATIO[$n]% }), p99 $(tr ' ' '\n' <<<"${RATIO[p99$n]}" | grep . | median)x"
done
echo "== added latency at c=1 (p50, ms)"
for t in direct nginx1 ragkernel; do
    case $t in
        direct) url="http://127.0.0.1:$UP/v1/chat/completions" ;;
        nginx1) url="http://127.0.0.1:$NG1/v1/chat/completions" ;;
        ragkernel) url="$RK_URL/v1/chat/completions" ;;
    esac
    read -r rps p50 p99 _ <<<"$(measure "$url" 1)"
    printf "%-12s p50 %s ms  p99 %s ms  (%s req/s)\n" "$t" "$p50" "$p99" "$rps"
done
rk_stop
record "$TSV_G"
fi

echo "== concurrency: $STREAMS simultaneous streaming requests, upstream answers after ${DELAY} ms"
SUP=$(free_port); start_fake "$SUP" "$DELAY" stream
rk_start bench/configs/gateway.yaml UPSTREAM_PORT="$SUP" UPSTREAM_STREAM=true >/dev/null || exit 1
# the server's RSS, threads and open fds (a client and an upstream socket
# per stream) every 100 ms while the streams run
sample() {
    local t0=$EPOCHREALTIME
    printf 't_s\trss_mb\tthreads\tfds\n'
    while kill -0 "$RK_PID" 2>/dev/null; do
        local fds; fds=$(ls "/proc/$RK_PID/fd" 2>/dev/null | wc -l)
        awk -v t="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')" -v f="$fds" \
            '/^VmRSS:/{r=$2} /^Threads:/{n=$2} END{printf "%s\t%.1f\t%s\t%s\n", t, r/1024, n, f}' \
            "/proc/$RK_PID/status" 2>/dev/null || break
        sleep 0.1
    done
}
sample >"$TSV_T" &
SAMPLER=$!
res=$(cd tests/node && node ../../bench/streams.mjs "$RK_URL/v1/chat/completions" "$STREAMS" 60000 || true)
sleep 0.5; kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
threads=$(awk '/^Threads:/{print $2}' "/proc/$RK_PID/status")
hwm=$(awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$RK_PID/status")
echo "result: $res"
echo "ragkernel threads: $threads, peak RSS: ${hwm} MB"
rk_stop
{
    printf 'date\trun\tstreams\tcompleted\tfailed\tseconds\tthreads\tpeak_rss_mb\n'
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("\t".join(str(x) for x in
        (sys.argv[2], sys.argv[3], r["requests"], r["completed"], r["failed"], r["seconds"], sys.argv[4], sys.argv[5])))' \
        "$res" "$DAY" "${RUN_LABEL:-$(git rev-parse --short HEAD 2>/dev/null || echo run)}" "$threads" "$hwm" 2>/dev/null
} >"$TSV_S"
record "$TSV_S"
[ "$RECORD" = 1 ] && cp "$TSV_T" bench/results/streams_timeline.tsv
exit 0
