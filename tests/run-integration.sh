#!/usr/bin/env bash
# Run every tests/integration/test_*.sh (or those named) with a time limit,
# RK_TEST_JOBS at a time (default 3: the tests mostly wait on their
# services, sockets and deadlines); print a summary. Each script starts what
# it needs on 127.0.0.1 and stops it by PID.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} RK_ROOT=$PWD
jobs=${RK_TEST_JOBS:-3}
logs=$BUILD/test-logs; mkdir -p "$logs"
# Sanitizer builds: every report of every instrumented process (servers,
# tools, unit binaries run by scripts) lands in a file; any file fails the run.
if [ "${SAN:-0}" = 1 ]; then
    rm -f "$logs"/asan.* "$logs"/ubsan.*
    export ASAN_OPTIONS="log_path=$PWD/$logs/asan:detect_leaks=1:abort_on_error=0"
    export UBSAN_OPTIONS="log_path=$PWD/$logs/ubsan:print_stacktrace=1:halt_on_error=1"
elif [ "${SAN:-0}" = thread ]; then
    rm -f "$logs"/tsan.*
    export TSAN_OPTIONS="log_path=$PWD/$logs/tsan:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
fi
tests=("$@"); [ ${#tests[@]} -gt 0 ] || tests=(tests/integration/test_*.sh)

run_one() { # SCRIPT: writes $logs/NAME.log and $logs/NAME.status ("rc seconds")
    local name; name=$(basename "$1" .sh)
    local start=$SECONDS
    timeout -k 10 300 bash "$1" >"$logs/$name.log" 2>&1
    echo "$? $((SECONDS - start))" >"$logs/$name.status"
}

running=0
for t in "${tests[@]}"; do
    rm -f "$logs/$(basename "$t" .sh).status"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

pass=0; fail=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    read -r rc secs <"$logs/$name.status" 2>/dev/null || { rc=1; secs=?; }
    if [ "$rc" = 0 ]; then
        pass=$((pass+1)); echo "ok   $name (${secs}s): $(tail -n 20 "$logs/$name.log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)"
    else
        fail=$((fail+1)); echo "FAIL $name (${secs}s, exit $rc) — last lines of $logs/$name.log:"
        tail -n 40 "$logs/$name.log" | sed 's/^/    /'
    fi
done
if [ "${SAN:-0}" != 0 ] && ls "$logs"/asan.* "$logs"/ubsan.* "$logs"/tsan.* >/dev/null 2>&1; then
    echo "FAIL sanitizer reports:"
    for f in "$logs"/asan.* "$logs"/ubsan.* "$logs"/tsan.*; do [ -e "$f" ] && { echo "--- $f"; head -n 60 "$f"; }; done
    fail=$((fail+1))
fi
echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
