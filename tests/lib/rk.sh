#!/usr/bin/env bash
# rk.sh — helpers for integration tests. Source it (after services.sh):
#
#   . "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
#   trap stop_all EXIT; trap 'exit 143' TERM INT
#   rk_start CONFIG [VAR=value ...]  # starts build/ragkernel on a free port;
#                                    # exports RK_PORT, RK_URL, RK_PID, RK_LOG
#   rk_stop                          # SIGTERM the last started ragkernel, wait
#   check "what" cmd args...         # counts a passed/failed check
#   rk_summary                       # prints "N passed, N failed"; exit status
#
# Configs read the port from ${RK_PORT} (listen: "127.0.0.1:${RK_PORT}").
# Everything is on 127.0.0.1 and stopped by recorded PID (stop_all).

: "${RK_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD:=build}"
RK_BIN=$RK_ROOT/$BUILD/ragkernel
export RK_PLUGIN_DIR=$RK_ROOT/$BUILD/plugins
RK_PASS=0; RK_FAIL=0
# Upper time bounds are a deadline plus this much: on a loaded machine (CI,
# sanitizers, make check beside other work) a 3 s deadline is seen by the
# client at 3,0xx ms. Every bound stays well below the failure it guards
# against (an upstream that answers after 5 s, a Retry-After of 30 s).
SLACK_MS=${RK_SLACK_MS:-1500}

check() {
    local what=$1; shift
    if "$@"; then RK_PASS=$((RK_PASS+1)); echo "  ok: $what"
    else RK_FAIL=$((RK_FAIL+1)); echo "  FAIL: $what"; fi
}

rk_summary() {
    echo "$RK_PASS passed, $RK_FAIL failed"
    [ "$RK_FAIL" = 0 ] && [ "$RK_PASS" -gt 0 ]
}

# rk_build_copy DIR: a private build dir for `make install PREFIX=...`.
# The install paths are compiled in (core/runtime/paths.c), so installing
# with another PREFIX relinks the binary: done in $BUILD it would replace
# the ragkernel other tests are starting at that moment. The copy keeps the
# objects, so only paths.c recompiles.
rk_build_copy() {
    mkdir -p "$1"
    local d
    for d in obj pobj plugins gen pkgs ragkernel ragkernel-plugin-check; do
        [ -e "$RK_ROOT/$BUILD/$d" ] && cp -a "$RK_ROOT/$BUILD/$d" "$1/"
    done
    return 0
}

rk_start() {
    local config=$1; shift
    _svc_init || return 1
    local port; port=$(free_port) || return 1
    local log="$SVC_TMP/ragkernel.$port.log"
    env RK_PORT="$port" RAGKERNEL_LISTEN="127.0.0.1:$port" \
        RAGKERNEL_DATA="${RAGKERNEL_DATA:-$SVC_TMP/data.$port}" "$@" \
        "$RK_BIN" -c "$config" >"$log" 2>&1 &
    local pid=$!
    _svc_record ragkernel "$pid" TERM
    _svc_wait ragkernel "$pid" "$log" _svc_http_up "http://127.0.0.1:$port/health" || return 1
    export RK_PORT=$port RK_URL="http://127.0.0.1:$port" RK_PID=$pid RK_LOG=$log
    echo "ragkernel port=$port pid=$pid"
}

rk_stop() {
    local pid=${1:-$RK_PID}
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS+20))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then echo "ragkernel $pid did not stop"; kill -KILL "$pid"; fi
    wait "$pid" 2>/dev/null
    return 0
}
