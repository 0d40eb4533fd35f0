#!/usr/bin/env bash
# Run each Check unit-test binary (each in its own process); print a summary.
# Under SAN=thread every ThreadSanitizer report lands in a file and fails
# the run (a report in a forked Check child would otherwise only show as an
# exit code).
set -u
logs=${BUILD:-build}/test-logs; mkdir -p "$logs"
if [ "${SAN:-0}" = thread ]; then
  rm -f "$logs"/tsan-unit.*
  export TSAN_OPTIONS="log_path=$PWD/$logs/tsan-unit:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
fi
pass=0; fail=0
for t in "$@"; do
  if timeout 300 "$t"; then pass=$((pass+1)); else echo "FAILED: $t"; fail=$((fail+1)); fi
done
if [ "${SAN:-0}" = thread ] && ls "$logs"/tsan-unit.* >/dev/null 2>&1; then
  echo "FAILED: ThreadSanitizer reports:"; head -n 60 "$logs"/tsan-unit.*; fail=$((fail+1))
fi
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
