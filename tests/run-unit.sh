#!/usr/bin/env bash
# Run each Check unit-test binary (each in its own process); print a summary.
set -u
pass=0; fail=0
for t in "$@"; do
  if timeout 300 "$t"; then pass=$((pass+1)); else echo "FAILED: $t"; fail=$((fail+1)); fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
