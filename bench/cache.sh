#!/usr/bin/env bash
# Cache benchmark: the same ragkernel (cache_memory in front of llm_openai ->
# fake upstream) measured in one run on the cache-hit path (one repeated
# question) and on the uncached proxy path (every question different).
#
#   bench/cache.sh [DURATION_S] [CONNS]     (defaults 10, 32; ROUNDS=3)
set -u   # not -e: stop_all (the EXIT trap) must run to the end
cd "$(dirname "$0")/.."
export RK_ROOT=$PWD BUILD=${BUILD:-build}
. tests/lib/services.sh
. tests/lib/rk.sh
trap stop_all EXIT; trap 'exit 143' TERM INT
DUR=${1:-10}; CONNS=${2:-32}; ROUNDS=${ROUNDS:-3}
mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/fake_upstream" bench/fake_upstream.c || exit 1
_svc_init
UP=$(free_port)
"$BUILD/bench/fake_upstream" "$UP" 0 json >"$SVC_TMP/fake.log" 2>&1 &
pid=$!; _svc_record fake_upstream "$pid" TERM
_svc_wait fake_upstream "$pid" "$SVC_TMP/fake.log" _svc_http_up "http://127.0.0.1:$UP/" || exit 1
rk_start bench/configs/cache.yaml UPSTREAM_PORT="$UP" >/dev/null || exit 1
URL=$RK_URL/v1/chat/completions
curl -sf -o /dev/null "$URL" -H 'Content-Type: application/json' -d @- <<<"$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)" \
    || { echo "ragkernel did not answer"; exit 1; }

run() { # LUA → "req/s p50 p99"
    local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$1" "$URL" 2>&1)
    awk '/Requests\/sec/{r=$2} $1=="50%"{p50=$2} $1=="99%"{p99=$2} /Non-2xx/{e=$0} END{print r, p50, p99, (e?e:"")}' <<<"$out"
}
echo "== cache: wrk -t2 -c$CONNS -d${DUR}s, $ROUNDS interleaved rounds ($(date -u +%F), $(nproc) cores)"
# As in gateway.sh: both paths measured back to back in every round, the
# ratio taken within a round, medians reported.
median() { sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
printf "%-6s %-18s %10s %9s %9s %s\n" round path req/s p50 p99 errors
hits="" misses="" ratios=""
for ((r = 1; r <= ROUNDS; r++)); do
    read -r hit_rps hit_p50 hit_p99 hit_err <<<"$(run bench/post.lua)"
    read -r miss_rps miss_p50 miss_p99 miss_err <<<"$(run bench/post_unique.lua)"
    printf "%-6s %-18s %10s %9s %9s %s\n" "$r" "cache hit" "$hit_rps" "$hit_p50" "$hit_p99" "${hit_err:-none}"
    printf "%-6s %-18s %10s %9s %9s %s\n" "$r" "uncached (proxy)" "$miss_rps" "$miss_p50" "$miss_p99" "${miss_err:-none}"
    hits+="$hit_rps "; misses+="$miss_rps "
    ratios+="$(awk -v a="$hit_rps" -v b="$miss_rps" 'BEGIN{printf "%.2f", a/b}') "
done
echo "median: cache hit $(tr ' ' '\n' <<<"$hits" | grep . | median) req/s," \
     "uncached $(tr ' ' '\n' <<<"$misses" | grep . | median) req/s," \
     "hit / uncached $(tr ' ' '\n' <<<"$ratios" | grep . | median)x (rounds: ${ratios% })"
grep -E '^ragkernel_cache_(hits|misses)_total ' <(curl -s "$RK_URL/metrics")
