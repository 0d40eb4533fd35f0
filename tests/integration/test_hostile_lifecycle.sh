#!/usr/bin/env bash
# Hostile lifecycle cases (issue 13, findings 9 and 14):
#  - 20 SIGHUP reloads under 10-connection keep-alive load (wrk) lose no
#    request: the listening sockets pass from one generation to the next,
#    so no accept queue is closed under a waiting client;
#  - a second ragkernel with the same config, or only the same data files,
#    or only the same address, refuses to start with one clear line, fast,
#    while the first keeps serving; reloads inside one process still work
#    and a restart after a clean stop takes the data back.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
RELOADS=${RELOADS:-20}

cfg=$SVC_TMP/hostile_lifecycle.yaml
cat >"$cfg" <<EOF
server:
  plugin_path: ["$RK_PLUGIN_DIR", "$RK_ROOT/$BUILD/test-plugins"]
  shutdown_grace: 5s
pipeline:
  llm: [echo]
  history: conversations
  retriever: index
  storage: files
instances:
  http:
    plugin: transport_http
    config: {listen: "127.0.0.1:\${RK_PORT}"}
  echo:
    plugin: good_llm
  conversations:
    plugin: history_sqlite
    config: {path: "\${RAGKERNEL_DATA}/history.sqlite"}
  index:
    plugin: retriever_sqlite
    config: {path: "\${RAGKERNEL_DATA}/retriever.sqlite"}
  files:
    plugin: storage_local
    config: {root: "\${RAGKERNEL_DATA}/documents"}
  text:
    plugin: extract_text
EOF
export RAGKERNEL_DATA=$SVC_TMP/data
rk_start "$cfg" || exit 1
FIRST_PID=$RK_PID FIRST_PORT=$RK_PORT FIRST_LOG=$RK_LOG
health() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$FIRST_PORT/health"; }
reloaded() { grep -c 'configuration reloaded' "$FIRST_LOG"; }

# ---- finding 9: reloads under keep-alive load ---------------------------
echo "== $RELOADS reloads under wrk -t2 -c10 (keep-alive)"
wrk -t2 -c10 -d120s --timeout 5s "http://127.0.0.1:$FIRST_PORT/health" >"$SVC_TMP/wrk.out" 2>&1 &
WRK_PID=$!
_svc_record wrk "$WRK_PID" INT
sleep 1
t0=$SECONDS; ok_reloads=0
for i in $(seq "$RELOADS"); do
    kill -HUP "$FIRST_PID"
    deadline=$((SECONDS + 15))
    while [ "$(reloaded)" -lt "$i" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    [ "$(reloaded)" -ge "$i" ] && ok_reloads=$i
    sleep 0.2
done
sleep 0.5
kill -INT "$WRK_PID"; wait "$WRK_PID" 2>/dev/null
sed 's/^/    /' "$SVC_TMP/wrk.out"
requests=$(awk '/requests in/ {print $1}' "$SVC_TMP/wrk.out")
sock_err=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' "$SVC_TMP/wrk.out")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$SVC_TMP/wrk.out")
echo "    reloads=$ok_reloads in $((SECONDS - t0)) s, requests=${requests:-0}," \
     "socket errors=${sock_err:-0}, non-2xx=${non2xx:-0}"
check "$RELOADS reloads completed (log)" test "$ok_reloads" = "$RELOADS"
check "wrk ran requests through the reloads" test "${requests:-0}" -gt 1000
check "zero socket errors across the reloads" test "${sock_err:-0}" = 0
check "zero non-2xx answers across the reloads" test "${non2xx:-0}" = 0
check "still serving after the reloads" test "$(health)" = 200

# ---- finding 14: a second process ---------------------------------------
# second CONFIG-ENV...: start another ragkernel, expect it to exit non-zero
# within 10 s; prints its stderr to $SVC_TMP/second.err
second() {
    local t; t=$(_svc_ms)
    env "$@" "$RK_BIN" -c "$cfg" >"$SVC_TMP/second.out" 2>"$SVC_TMP/second.err" &
    local pid=$!
    _svc_record ragkernel2 "$pid" TERM
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "    second process $pid still running after 10 s"; kill -TERM "$pid"; wait "$pid"
        SECOND_RC=running; return
    fi
    wait "$pid"; SECOND_RC=$?
    SECOND_MS=$(( $(_svc_ms) - t ))
    echo "    exit $SECOND_RC after ${SECOND_MS} ms; stderr:"
    sed 's/^/      /' "$SVC_TMP/second.err"
}
lines_matching() { grep -c -- "$1" "$SVC_TMP/second.err"; }

echo "== same config (same port, same data)"
second RK_PORT="$FIRST_PORT" RAGKERNEL_DATA="$RAGKERNEL_DATA"
check "refused: non-zero exit" test "$SECOND_RC" != running -a "$SECOND_RC" != 0
check "one line names the data file and the holder's pid" \
    test "$(lines_matching "is in use by another ragkernel (pid $FIRST_PID)")" = 1
check "the first keeps serving" test "$(health)" = 200

echo "== same data, another port"
second RK_PORT="$(free_port)" RAGKERNEL_DATA="$RAGKERNEL_DATA"
check "refused: non-zero exit" test "$SECOND_RC" != running -a "$SECOND_RC" != 0
check "one line: data is in use by pid $FIRST_PID" \
    test "$(lines_matching "is in use by another ragkernel (pid $FIRST_PID)")" = 1

echo "== same port, other data"
second RK_PORT="$FIRST_PORT" RAGKERNEL_DATA="$SVC_TMP/data2"
check "refused: non-zero exit" test "$SECOND_RC" != running -a "$SECOND_RC" != 0
check "one line: address 127.0.0.1:$FIRST_PORT is in use by another process" \
    test "$(lines_matching "address 127.0.0.1:$FIRST_PORT is in use by another process")" = 1
check "the first keeps serving" test "$(health)" = 200
bad=0
for _ in $(seq 50); do [ "$(health)" = 200 ] || bad=$((bad + 1)); done
check "50 requests after the refusals all answered by the first (failed: $bad)" test "$bad" = 0

echo "== reload in the same process keeps its locks and address"
n=$(reloaded); kill -HUP "$FIRST_PID"
deadline=$((SECONDS + 15))
while [ "$(reloaded)" -le "$n" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
check "reload succeeded" test "$(reloaded)" -gt "$n"
check "no reload error in the log" bash -c "! grep -q 'reload failed' '$FIRST_LOG'"
second RK_PORT="$(free_port)" RAGKERNEL_DATA="$RAGKERNEL_DATA"
check "after the reload, the data is still refused to another process" \
    test "$(lines_matching "is in use by another ragkernel (pid $FIRST_PID)")" = 1

echo "== reload onto another port: the old port closes at once"
NEW_PORT=$(free_port)
sed -i "s/127\.0\.0\.1:\\\${RK_PORT}/127.0.0.1:$NEW_PORT/" "$cfg"
grep -q "127.0.0.1:$NEW_PORT" "$cfg" || echo "    config not rewritten"
n=$(reloaded); kill -HUP "$FIRST_PID"
deadline=$((SECONDS + 15))
while [ "$(reloaded)" -le "$n" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
check "serves on the new port" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$NEW_PORT/health")" = 200
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$FIRST_PORT/health"; rc=$?
check "the old port refuses connections (curl exit $rc, 7 = refused)" test "$rc" = 7
sed -i "s/127\.0\.0\.1:$NEW_PORT/127.0.0.1:\\\${RK_PORT}/" "$cfg"

echo "== after a clean stop, a new process takes the same data and port"
rk_stop "$FIRST_PID"
# the drains above closed connections from our side: TIME_WAIT on the port
# must not look like another process listening
tw=$(ss -Htan state time-wait "( sport = :$FIRST_PORT )" 2>/dev/null | wc -l)
log=$SVC_TMP/restart.log
env RK_PORT="$FIRST_PORT" "$RK_BIN" -c "$cfg" >"$log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$log" _svc_http_up "http://127.0.0.1:$FIRST_PORT/health"
check "restart on port $FIRST_PORT ($tw connections in TIME_WAIT) with the same data serves" \
    test "$(health)" = 200
rk_summary
