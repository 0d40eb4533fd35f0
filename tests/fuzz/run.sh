#!/usr/bin/env bash
# Run the fuzz harnesses built by `make fuzz-build` (see tests/fuzz/fuzz.mk).
#   run.sh fuzz TARGET...    each for FUZZ_SECONDS, FUZZ_JOBS at a time, from
#                            a copy of its corpus; crashes, leaks and slow
#                            inputs are saved in $BUILD/fuzz/findings/<target>/
#   run.sh replay TARGET...  every file of tests/fuzz/corpus/<target>/ and the
#                            generated regression inputs (gen-regress.py),
#                            once each, under FUZZ_REPLAY_TIMEOUT seconds each
# Exit status: nonzero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FZ=$BUILD/fuzz
mode=$1
shift

# libFuzzer flags: -timeout catches inputs that hold a loop or worker (the
# parsers must stay linear), -max_len keeps inputs around the size of real
# requests; cfg and extract get longer inputs (documents, config files).
# Where a parser must stay linear (the loop thread, ingestion), inputs start
# at full length (-len_control=0) so that slow ones are reached at all.
flags_for() {
  local len=65536 more=
  case $1 in extract | cfg | tokenize) len=262144 ;; esac
  case $1 in chat | oj | extract | tokenize) more=-len_control=0 ;; esac
  echo "-timeout=${FUZZ_TIMEOUT:-10} -max_len=$len $more -rss_limit_mb=2048 -print_final_stats=1"
}

fuzz_one() {
  local t=$1 work=$FZ/work/$1 out=$FZ/findings/$1
  mkdir -p "$work" "$out"
  local dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  # shellcheck disable=SC2046
  "$FZ/fuzz_$t" $(flags_for "$t") "${dict[@]}" -max_total_time="${FUZZ_SECONDS:-60}" \
    -artifact_prefix="$out/" "$work" "tests/fuzz/corpus/$t" >"$FZ/$t.log" 2>&1
  local rc=$? stats
  stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb):' "$FZ/$t.log" |
    sed 's/stat:://' | tr '\n' ' ')
  if [ $rc -eq 0 ]; then
    echo "fuzz: $t ok ${stats}"
  else
    echo "fuzz: $t FAILED (exit $rc; see $FZ/$t.log, inputs in $out/) ${stats}"
  fi
  return $rc
}

replay_one() {
  local t=$1 files=()
  for f in "tests/fuzz/corpus/$t"/* "$FZ/gen/$t"/*; do [ -f "$f" ] && files+=("$f"); done
  if ((${#files[@]} == 0)); then
    echo "fuzz-replay: $t has no corpus" >&2
    return 1
  fi
  local t0=$SECONDS
  if "$FZ/fuzz_$t" -timeout="${FUZZ_REPLAY_TIMEOUT:-10}" -rss_limit_mb=2048 \
    "${files[@]}" >"$FZ/$t.replay.log" 2>&1; then
    echo "fuzz-replay: $t ok (${#files[@]} inputs, $((SECONDS - t0)) s)"
  else
    echo "fuzz-replay: $t FAILED on one of ${#files[@]} inputs:" >&2
    grep -E 'Running:|ERROR|SUMMARY|timeout|Executed' "$FZ/$t.replay.log" | tail -n 8 >&2
    return 1
  fi
}

case $mode in
fuzz)
  export -f fuzz_one flags_for
  export FZ BUILD
  printf '%s\n' "$@" | xargs -P "${FUZZ_JOBS:-2}" -I{} bash -c 'fuzz_one "$@"' _ {}
  ;;
replay)
  mkdir -p "$FZ/gen"
  python3 tests/fuzz/gen-regress.py "$FZ/gen" || exit 1
  fail=0
  for t in "$@"; do replay_one "$t" || fail=1; done
  exit $fail
  ;;
*)
  echo "usage: run.sh fuzz|replay TARGET..." >&2
  exit 2
  ;;
esac
