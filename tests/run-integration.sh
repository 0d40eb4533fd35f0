#!/usr/bin/env bash
# Run every tests/integration/test_*.sh with a time limit; print a summary.
# Each script starts what it needs on loopback and stops it by PID.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} RK_ROOT=$PWD
pass=0; fail=0; failed=()
for t in tests/integration/test_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  log=$BUILD/test-logs/$name.log; mkdir -p "$BUILD/test-logs"
  start=$SECONDS
  if timeout -k 10 300 bash "$t" >"$log" 2>&1; then
    pass=$((pass+1)); echo "ok   $name ($((SECONDS-start))s)"
  else
    fail=$((fail+1)); failed+=("$name"); echo "FAIL $name ($((SECONDS-start))s) — last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
