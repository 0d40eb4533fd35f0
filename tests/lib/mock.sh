#!/usr/bin/env bash
# mock.sh — start tests/mock_llm.py (an OpenAI- and Anthropic-style fake
# upstream) for integration tests. Source after services.sh.
#
#   start_mock [ARGS...]   # free port; exports MOCK_PORT MOCK_URL MOCK_PID
#   ms                     # milliseconds, for elapsed-time checks

ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_mock() {
    _svc_init || return 1
    local out=$SVC_TMP/mock.$$.$RANDOM.out log
    log=${out%.out}.log
    python3 "$RK_ROOT/tests/mock_llm.py" --port 0 "$@" >"$out" 2>"$log" &
    MOCK_PID=$!
    _svc_record mock "$MOCK_PID" TERM
    local i
    for i in $(seq 100); do grep -q '^PORT=' "$out" && break; sleep 0.05; done
    MOCK_PORT=$(sed -n 's/^PORT=//p' "$out")
    [ -n "$MOCK_PORT" ] || { echo "mock did not report a port"; cat "$log"; return 1; }
    MOCK_URL=http://127.0.0.1:$MOCK_PORT
    _svc_wait mock "$MOCK_PID" "$log" _svc_http_up "$MOCK_URL/health" || return 1
    export MOCK_PORT MOCK_URL MOCK_PID
    echo "mock port=$MOCK_PORT pid=$MOCK_PID"
}
