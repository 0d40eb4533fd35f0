#!/usr/bin/env bash
# history_postgres and retriever_postgres against a real PostgreSQL 15: the
# unit suites (contract, two instances, concurrency, schema race), the
# conformance checker on both .so files, then faults — the server stopped
# by its PID (calls fail fast with RK_ERR_UNAVAILABLE and name the server,
# never the password; instances still start), restarted on the same data
# directory and port (data intact), and a stop/start under running
# instances that must recover without being re-created.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
B=$RK_ROOT/$BUILD
for f in plugins/history_postgres.so plugins/retriever_postgres.so ragkernel-plugin-check \
         tests/test_history_postgres tests/test_retriever_postgres; do
    [ -e "$B/$f" ] || { echo "missing $B/$f (make test-build)"; exit 1; }
done
has() { grep -Eq -- "$1" <<<"$2"; }   # has REGEX TEXT

start_postgres rkdb rk rk_pw || exit 1
PG_DIR=$SVC_TMP/pg-$PG_PORT
export PG_URL

# The restart helpers are files: the unit binary runs them through system()
# in the outage mode. pg_start.sh starts the cluster exactly as
# start_postgres did and records the new PID so stop_all stops it too.
cat >"$SVC_TMP/pg_stop.sh" <<EOF
#!/bin/sh
# stop the newest recorded postgres by its PID and wait until it is gone
pid=\$(awk '\$1=="postgres"{p=\$2} END{print p}' "$SVC_TMP/pids")
[ -n "\$pid" ] && kill -INT "\$pid" || exit 1
for i in \$(seq 150); do
    # the lock file goes last; a stopped child may linger as a zombie
    [ -e "$PG_DIR/data/postmaster.pid" ] && kill -0 "\$pid" 2>/dev/null || exit 0
    sleep 0.1
done
exit 1
EOF
cat >"$SVC_TMP/pg_start.sh" <<EOF
#!/bin/sh
# start the cluster again on the same data directory and port, in a session
# of its own: the unit runner kills its test's process group when the test
# ends, and this server must outlive it. The PID comes from postmaster.pid.
cd "$PG_DIR" || exit 1
setsid setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups "$PG_BIN/postgres" \\
    -D "$PG_DIR/data" -k "$PG_DIR/sock" -p "$PG_PORT" -h 127.0.0.1 -c fsync=off \\
    -c synchronous_commit=off -c full_page_writes=off </dev/null >>"$PG_DIR/postgres.log" 2>&1 &
for i in \$(seq 300); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        echo "postgres \$(head -n 1 "$PG_DIR/data/postmaster.pid") INT" >>"$SVC_TMP/pids"
        exit 0
    fi
    sleep 0.1
done
exit 1
EOF
chmod +x "$SVC_TMP/pg_stop.sh" "$SVC_TMP/pg_start.sh"

echo "== unit suites against the server"
check "unit: history_postgres" "$B/tests/test_history_postgres"
check "unit: retriever_postgres" "$B/tests/test_retriever_postgres"

echo "== conformance checker"
for p in history_postgres retriever_postgres; do
    out=$("$B/ragkernel-plugin-check" --set "url=$PG_URL" "$B/plugins/$p.so" 2>&1); rc=$?
    echo "$out" | sed 's/^/    /'
    check "plugin-check $p passes" test "$rc" = 0
    check "plugin-check $p ran its contract" has '^ok (history expire removes|retriever remove of an absent)' "$out"
    check "plugin-check $p: 0 failed" has '^[1-9][0-9]* passed, 0 failed$' "$out"
    check "plugin-check $p: password not printed" bash -c '! grep -q rk_pw <<<"$1"' _ "$out"
done
schema=$(psql "$PG_URL" -Atc "SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1" \
    -c "SELECT indexdef FROM pg_indexes WHERE indexname='rk_chunks_tsv'" 2>&1)
echo "$schema" | sed 's/^/    /'
check "schema: rk_api_keys, rk_chunks, rk_conversations, rk_messages" \
    has 'rk_api_keys.*rk_chunks.*rk_conversations.*rk_messages' "$(tr '\n' ' ' <<<"$schema")"
check "schema: GIN index on rk_chunks.tsv" has 'USING gin \(tsv\)' "$schema"

echo "== server down"
check "postgres stopped by its PID" "$SVC_TMP/pg_stop.sh"
check "server really down" bash -c "! '$PG_BIN/pg_isready' -q -h 127.0.0.1 -p $PG_PORT"
t0=$SECONDS
check "down: history create succeeds, calls UNAVAILABLE within connect_timeout + margin" \
    env RK_PG_DOWN=1 "$B/tests/test_history_postgres"
check "down: retriever create succeeds, calls UNAVAILABLE within connect_timeout + margin" \
    env RK_PG_DOWN=1 "$B/tests/test_retriever_postgres"
check "down: both fault runs took under 30 s" test $((SECONDS - t0)) -lt 30
out=$("$B/ragkernel-plugin-check" --set "url=$PG_URL" --set connect_timeout=2s \
      "$B/plugins/history_postgres.so" 2>&1)
echo "$out" | sed 's/^/    /'
check "down: plugin-check create ok (lazy), first call fails naming the server" \
    bash -c 'grep -q "^ok create$" <<<"$1" && grep -q "^FAIL history append 3: RK_ERR_UNAVAILABLE postgres rk@127.0.0.1:$2/rkdb" <<<"$1"' _ "$out" "$PG_PORT"
check "down: warning says it will retry on first use" has 'will retry on first use' "$out"
check "down: password not printed" bash -c '! grep -q rk_pw <<<"$1"' _ "$out"

echo "== restart on the same data directory and port"
check "postgres restarted" "$SVC_TMP/pg_start.sh"
out=$("$B/ragkernel-plugin-check" --set "url=$PG_URL" "$B/plugins/retriever_postgres.so" 2>&1)
check "after restart: retriever contract passes" has '^[1-9][0-9]* passed, 0 failed$' "$out"
# history: conversations, messages, api_keys; retriever: chunks, doc_versions
check "after restart: tables survived" \
    test "$(psql "$PG_URL" -Atc "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'rk\_%'")" = 5

echo "== outage under running instances (stop and start from inside the test)"
export RK_PG_STOP_CMD=$SVC_TMP/pg_stop.sh RK_PG_START_CMD=$SVC_TMP/pg_start.sh
check "outage: history instance recovers without re-create" \
    env RK_PG_OUTAGE=1 "$B/tests/test_history_postgres"
check "outage: retriever instance recovers without re-create" \
    env RK_PG_OUTAGE=1 "$B/tests/test_retriever_postgres"
check "server up at the end" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"

rk_summary
