#!/usr/bin/env bash
# The LLM-path integration tests once more with `server.http_client:
# libcurl` (their configs read ${RK_HTTP_CLIENT}), so libcurl's multi
# interface on the loop (socket and timer callbacks, pauses, deadlines) is
# exercised end to end and not only by the unit tests.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
cd "$RK_ROOT"
for t in test_llm_faults test_llm_anthropic test_hostile_upstream; do
    echo "== $t with http_client: libcurl"
    RK_HTTP_CLIENT=libcurl bash "tests/integration/$t.sh" >"/tmp/rk-libcurl.$$.$t.log" 2>&1
    rc=$?
    sed 's/^/  /' "/tmp/rk-libcurl.$$.$t.log"
    check "$t passes with libcurl" test "$rc" = 0
    check "$t really used libcurl" grep -q "ok: every upstream call goes through libcurl" "/tmp/rk-libcurl.$$.$t.log"
    rm -f "/tmp/rk-libcurl.$$.$t.log"
done
rk_summary
