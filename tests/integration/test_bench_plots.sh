#!/usr/bin/env bash
# make bench-plots (bench/plots.sh, gnuplot): from the recorded results in
# bench/results/ it writes the three PNGs the README shows (checked by
# their PNG signature and size, into a scratch PLOTS_DIR so the committed
# ones are untouched); with one results file missing it fails, naming it.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP

is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
    && [ "$(stat -c %s "$1")" -gt 10000 ]; }

echo "== make bench-plots from bench/results/"
make -s --no-print-directory bench-plots PLOTS_DIR="$T/plots" >"$T/out" 2>&1; rc=$?
cat "$T/out"
check "make bench-plots exits 0" test "$rc" = 0
for p in gateway streams retrieval_scale; do
    check "$p.png: a PNG of more than 10 kB" is_png "$T/plots/$p.png"
    check "README shows bench/plots/$p.png" grep -q "bench/plots/$p.png" README.md
done

echo "== a missing results file is named"
mkdir -p "$T/res"; cp bench/results/*.tsv "$T/res/"; rm "$T/res/streams_timeline.tsv"
RESULTS_DIR="$T/res" bench/plots.sh "$T/plots2" >"$T/out2" 2>&1; rc=$?
cat "$T/out2"
check "exit 1 naming streams_timeline.tsv" bash -c "[ $rc = 1 ] && grep -q 'streams_timeline.tsv is missing' '$T/out2'"
check "and no PNG written" test ! -e "$T/plots2/gateway.png"

rk_summary
