#!/usr/bin/env bash
# Answer cache and single flight, through the whole server against the mock
# upstream: a repeated question is a cache hit (X-Cache, metrics, no second
# upstream call); 50 identical questions arriving together cost exactly one
# upstream call and all 50 get the same answer.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
start_mock --label cached || exit 1
rk_start tests/integration/configs/cache_singleflight.yaml MOCK_PORT="$MOCK_PORT" || exit 1
calls() { curl -s --max-time 5 "$MOCK_URL/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("/v1/chat/completions", 0))'; }
ask() { # CONTENT OUTFILE
    curl -s -D "$2.h" -o "$2" --max-time 20 "$RK_URL/v1/chat/completions" -H 'Content-Type: application/json' \
        -d "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}"
}
content() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"])' "$1"; }

echo "== a repeated question is served from the cache"
ask "what is a cache" "$SVC_TMP/a1"; n1=$(calls)
ask "what is a cache" "$SVC_TMP/a2"; n2=$(calls)
check "first answer: X-Cache miss" grep -qi '^x-cache: miss' "$SVC_TMP/a1.h"
check "second answer: X-Cache hit" grep -qi '^x-cache: hit' "$SVC_TMP/a2.h"
check "no upstream call for the hit" test "$n1" = "$n2"
check "same answer" test "$(content "$SVC_TMP/a1")" = "$(content "$SVC_TMP/a2")"
check "hit counted in metrics" grep -Eq '^ragkernel_cache_hits_total [1-9]' <(curl -s "$RK_URL/metrics")

echo "== 50 identical concurrent questions -> one upstream call"
before=$(calls)
pids=()
for i in $(seq 50); do ask "[latency:800] single flight question" "$SVC_TMP/sf.$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
after=$(calls)
echo "  upstream calls: $((after - before))"
check "exactly one upstream call" test $((after - before)) = 1
ok=0; first=$(content "$SVC_TMP/sf.1")
for i in $(seq 50); do [ "$(content "$SVC_TMP/sf.$i" 2>/dev/null)" = "$first" ] && ok=$((ok+1)); done
check "all 50 got the same answer ($ok/50)" test "$ok" = 50
check "the answer is the upstream's" grep -q 'single flight question' <<<"$first"
echo "== a deleted document is no longer cited by cached answers"
rk_stop
rk_start tests/integration/configs/docs_cache.yaml || exit 1
printf 'The narwhal is a whale with a long tusk that lives in Arctic waters.\n' >"$SVC_TMP/narwhal.txt"
doc=$(curl -s --max-time 10 "$RK_URL/documents?filename=narwhal.txt" -H 'Content-Type: text/plain' \
      --data-binary @"$SVC_TMP/narwhal.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
chat() { curl -s -D "$2.h" -o "$2" --max-time 10 "$RK_URL/chat" -d '{"message": "Where does the narwhal live?"}'; }
cites() { python3 -c 'import json,sys; sys.exit(0 if any(s["doc_id"]==sys.argv[2] for s in json.load(open(sys.argv[1]))["sources"]) else 1)' "$1" "$2"; }
chat x "$SVC_TMP/d1"; chat x "$SVC_TMP/d2"
check "the document is cited" cites "$SVC_TMP/d1" "$doc"
check "the repeated question is a cache hit" grep -qi '^x-cache: hit' "$SVC_TMP/d2.h"
check "delete answers 204" test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$RK_URL/documents/$doc")" = 204
chat x "$SVC_TMP/d3"
check "after the delete: a cache miss" grep -qi '^x-cache: miss' "$SVC_TMP/d3.h"
not_cited() { ! cites "$@"; }
check "after the delete: not cited" not_cited "$SVC_TMP/d3" "$doc"
rk_summary
