#!/usr/bin/env bash
# bench/retrieval/scale.sh — retrieval latency against corpus size: SciFact
# (../shared/data/ir, RK_IR_DATA overrides) replicated 1, 2, 5, 10 and 20
# times (5,183 to 103,660 chunks; RK_SCALE_COPIES overrides), through
# retriever_sqlite and through the plain FTS5 reference table, measured as
# in run.sh: top 10, one thread, warm. FTS5 gets the first 100 queries only
# (at 100k chunks it takes ~50 ms a query), the plugin all 300; the whole
# run takes about two minutes on 2 cores.
#
#   bench/retrieval/scale.sh            # prints the table, writes $BUILD/bench/retrieval/scale.tsv
#   bench/retrieval/scale.sh --record   # also bench/results/retrieval_scale.tsv (make bench-plots)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
DATA=${RK_IR_DATA:-$ROOT/../shared/data/ir}
COPIES=${RK_SCALE_COPIES:-1 2 5 10 20}
OUT=$BUILD/bench/retrieval
[ -f "$DATA/scifact/corpus.jsonl" ] || { echo "no IR data in $DATA (set RK_IR_DATA)" >&2; exit 2; }
mkdir -p "$OUT"
make -s "$BUILD/plugins/retriever_sqlite.so"
bench/retrieval/build_rbench.sh "$OUT"

val() { grep -o "$2=[0-9.]*" "$1" | head -1 | cut -d= -f2; }
TSV=$OUT/scale.tsv
{
    echo "# retrieval latency vs corpus size: SciFact x copies, top 10, 1 thread, warm ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg))"
    printf 'engine\tcopies\tchunks\tindex_s\tp50_ms\tp99_ms\n'
} >"$TSV"
printf '%-8s %6s %8s %8s %8s %8s\n' engine copies chunks index_s p50_ms p99_ms
for c in $COPIES; do
    for engine in plugin fts5; do
        tag=scale-$engine-x$c
        args=(--corpus "$DATA/scifact/corpus.jsonl" --queries "$DATA/scifact/queries.jsonl"
              --db "$OUT/$tag.sqlite" --run "$OUT/$tag.run" --copies "$c" --k 10)
        if [ "$engine" = plugin ]; then
            "$OUT/rbench" plugin --plugin "$BUILD/plugins/retriever_sqlite.so" "${args[@]}" >"$OUT/$tag.txt" 2>"$OUT/$tag.log"
        else
            "$OUT/rbench" fts5 --max-queries 100 "${args[@]}" >"$OUT/$tag.txt" 2>"$OUT/$tag.log"
        fi
        row=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$engine" "$c" "$(val "$OUT/$tag.txt" chunks)" \
              "$(val "$OUT/$tag.txt" index_s)" "$(val "$OUT/$tag.txt" query_p50_ms)" "$(val "$OUT/$tag.txt" query_p99_ms)")
        echo "$row" >>"$TSV"
        # shellcheck disable=SC2086
        printf '%-8s %6s %8s %8s %8s %8s\n' $row
        rm -f "$OUT/$tag.sqlite" "$OUT/$tag.sqlite-wal" "$OUT/$tag.sqlite-shm" "$OUT/$tag.run"
    done
done
[ "${1:-}" = "--record" ] && cp "$TSV" bench/results/retrieval_scale.tsv
exit 0
