#!/usr/bin/env bash
# cache_redis against a real redis-server on 127.0.0.1: the Check suite
# (cache contract, token buckets shared by two instances, threads, refused
# and silent servers, a connection cut and restored), the conformance
# checker, then the outage itself: redis is killed by the PID start_redis
# recorded and every call must fail with RK_ERR_UNAVAILABLE within the
# timeout, 100 calls in under 2 s (test_cache_redis_outage with
# RK_REDIS_DOWN=1).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init

UNIT=$BUILD/tests/test_cache_redis
OUTAGE=$BUILD/tests/test_cache_redis_outage
CHECKER=$BUILD/ragkernel-plugin-check
SO=$BUILD/plugins/cache_redis.so
for f in "$UNIT" "$OUTAGE" "$CHECKER" "$SO"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f (make $f)"; exit 1; }
done

start_redis || exit 1

echo "== unit suite against redis on $REDIS_PORT"
check "test_cache_redis (live)" env REDIS_PORT="$REDIS_PORT" BUILD="$BUILD" "$UNIT"
check "test_cache_redis_outage (live)" env REDIS_PORT="$REDIS_PORT" BUILD="$BUILD" "$OUTAGE"

echo "== conformance checker"
out=$SVC_TMP/plugin-check.out
"$CHECKER" --set port="$REDIS_PORT" --set prefix="rk-check:" "$SO" >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out"
check "ragkernel-plugin-check passes" test "$rc" = 0
check "ragkernel-plugin-check ran the cache contract" grep -q '^ok cache binary keys and values' "$out"

echo "== outage: kill redis"
pid=$(awk '$1 == "redis" { p = $2 } END { print p }' "$SVC_TMP/pids")
check "start_redis recorded a PID" test -n "$pid"
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null   # our child: wait reaps it
dead() { ! kill -0 "$1" 2>/dev/null && ! timeout 2 redis-cli -h 127.0.0.1 -p "$2" ping >/dev/null 2>&1; }
check "nothing answers on $REDIS_PORT any more" dead "$pid" "$REDIS_PORT"
check "test_cache_redis_outage (down): UNAVAILABLE fast, 100 calls < 2 s" \
    env RK_REDIS_DOWN=1 REDIS_PORT="$REDIS_PORT" BUILD="$BUILD" "$OUTAGE"

rk_summary
