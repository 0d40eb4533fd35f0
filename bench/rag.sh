#!/usr/bin/env bash
# RAG-path benchmark: /chat on the embedded stack (retrieval over the
# shipped guide, SQLite history, a cache every question misses, the
# extractive answerer) against the gateway path (transport -> pipeline ->
# llm_openai -> a fake upstream) in the same run, then a CPU profile of the
# /chat path: where its time goes.
#
#   bench/rag.sh [DURATION_S] [CONNS]     (defaults 10, 32; ROUNDS=3)
#   PROFILE=0 bench/rag.sh                (no perf profile)
#
# Every round measures both paths back to back with wrk; the ratio is
# taken within a round and the medians are reported. The profile (perf
# record -g on the /chat server while wrk drives it) is summarised by
# shared object and by symbol into $BUILD/bench/rag_profile.txt.
set -u   # not -e: stop_all (the EXIT trap) must run to the end
cd "$(dirname "$0")/.."
export RK_ROOT=$PWD BUILD=${BUILD:-build}
. tests/lib/services.sh
. tests/lib/rk.sh
trap stop_all EXIT; trap 'exit 143' TERM INT
DUR=${1:-10}; CONNS=${2:-32}; ROUNDS=${ROUNDS:-3}; PROFILE=${PROFILE:-1}
mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/fake_upstream" bench/fake_upstream.c || exit 1
_svc_init
UP=$(free_port)
"$BUILD/bench/fake_upstream" "$UP" 0 json >"$SVC_TMP/fake.log" 2>&1 &
pid=$!; _svc_record fake_upstream "$pid" TERM
_svc_wait fake_upstream "$pid" "$SVC_TMP/fake.log" _svc_http_up "http://127.0.0.1:$UP/" || exit 1

rk_start bench/configs/gateway.yaml UPSTREAM_PORT="$UP" >/dev/null || exit 1
GW=$RK_URL
rk_start bench/configs/rag.yaml >/dev/null || exit 1
RAG=$RK_URL RAG_PID=$RK_PID
# the seed (the shipped guide) is indexed in the background at start
for _ in $(seq 1 100); do
    curl -s "$RAG/documents" | grep -q '"id"' && break
    sleep 0.1
done
ans=$(curl -s "$RAG/chat" -H 'Content-Type: application/json' -d '{"message":"How do I upload a document?"}')
grep -q '"sources":\[{' <<<"$ans" || { echo "rag: /chat gave no sources: $ans"; exit 1; }

run() { # URL LUA → "req/s p50 p99 errors"
    local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$2" "$1" 2>&1)
    awk '/Requests\/sec/{r=$2} $1=="50%"{p50=$2} $1=="99%"{p99=$2} /Non-2xx/{e=$0} END{print r, p50, p99, (e?e:"")}' <<<"$out"
}
median() { sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
echo "== rag: wrk -t2 -c$CONNS -d${DUR}s, $ROUNDS interleaved rounds ($(date -u +%F), $(nproc) cores)"
printf "%-6s %-28s %10s %9s %9s %s\n" round path req/s p50 p99 errors
gws="" rags="" ratios=""
for ((r = 1; r <= ROUNDS; r++)); do
    read -r g_rps g_p50 g_p99 g_err <<<"$(run "$GW/v1/chat/completions" bench/post_unique.lua)"
    read -r c_rps c_p50 c_p99 c_err <<<"$(run "$RAG/chat" bench/chat_unique.lua)"
    printf "%-6s %-28s %10s %9s %9s %s\n" "$r" "gateway (fake upstream)" "$g_rps" "$g_p50" "$g_p99" "${g_err:-none}"
    printf "%-6s %-28s %10s %9s %9s %s\n" "$r" "/chat (retrieval+history)" "$c_rps" "$c_p50" "$c_p99" "${c_err:-none}"
    gws+="$g_rps "; rags+="$c_rps "
    ratios+="$(awk -v a="$c_rps" -v b="$g_rps" 'BEGIN{printf "%.3f", a/b}') "
done
echo "median: gateway $(tr ' ' '\n' <<<"$gws" | grep . | median) req/s," \
     "/chat $(tr ' ' '\n' <<<"$rags" | grep . | median) req/s," \
     "/chat / gateway $(tr ' ' '\n' <<<"$ratios" | grep . | median)x (rounds: ${ratios% })"

[ "$PROFILE" = 1 ] || exit 0
command -v perf >/dev/null || { echo "profile: perf not installed (linux-perf)"; exit 0; }
P=$BUILD/bench/rag_profile
wrk -t2 -c"$CONNS" -d"$((DUR + 2))s" -s bench/chat_unique.lua "$RAG/chat" >/dev/null 2>&1 &
wpid=$!; _svc_record wrk "$wpid" TERM
sleep 1
perf record -q -F 499 -g -p "$RAG_PID" -o "$P.data" -- sleep "$DUR" >/dev/null 2>&1 ||
    { echo "profile: perf record failed (perf_event_paranoid?)"; exit 0; }
wait "$wpid" 2>/dev/null
{
    echo "== /chat profile: perf record -F 499 -g, ${DUR}s under wrk -c$CONNS ($(date -u +%F))"
    echo "-- by shared object (self time)"
    perf report -i "$P.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -15
    echo "-- by symbol (self time)"
    perf report -i "$P.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30
} >"$P.txt"
cat "$P.txt"
