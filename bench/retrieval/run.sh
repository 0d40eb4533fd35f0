#!/usr/bin/env bash
# bench/retrieval/run.sh — quality and speed of retriever_sqlite against the
# IR collections in ../shared/data/ir (override with RK_IR_DATA), and the
# same measurements for a plain SQLite FTS5 table as the reference.
#
#   bench/retrieval/run.sh            # print the tables
#   bench/retrieval/run.sh --record   # also update bench/retrieval/RESULTS.md
#
# Per collection: index through the plugin (2 indexing threads), write a
# TREC run (top 100), score it with eval.py, then time every query at top
# 10, warm (one untimed pass first). The scale run replicates SciFact into
# RK_BENCH_COPIES copies (default 20, 103,660 chunks) with new ids; its
# nDCG@10 maps each copy back to its original id (first occurrence wins).
# Exits 1 if an acceptance target is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
DATA=${RK_IR_DATA:-$ROOT/../shared/data/ir}
COPIES=${RK_BENCH_COPIES:-20}
OUT=$BUILD/bench/retrieval
RECORD=0
[ "${1:-}" = "--record" ] && RECORD=1

[ -f "$DATA/eval.py" ] || { echo "no IR data in $DATA (set RK_IR_DATA)" >&2; exit 2; }
mkdir -p "$OUT"
make -s "$BUILD/plugins/retriever_sqlite.so"
bench/retrieval/build_rbench.sh "$OUT"
PLUGIN=$BUILD/plugins/retriever_sqlite.so

# key=value lines of a run -> shell variables R_<key>
parse() { eval "$(grep -o '[a-z_0-9]*=[0-9.]*' "$1" | sed 's/^/R_/')"; }
metric() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }

ROWS=()
target() { # name value op limit
    if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'
    then echo "  ok      $1: $2 $3 $4"
    else echo "  MISSED  $1: $2 $3 $4"; fi
}

# one measurement: engine dataset copies k [--collapse]
measure() {
    local engine=$1 ds=$2 copies=$3 k=$4; shift 4
    local tag=$engine-$ds-x$copies
    local args=(--corpus "$DATA/$ds/corpus.jsonl" --queries "$DATA/$ds/queries.jsonl"
                --db "$OUT/$tag.sqlite" --run "$OUT/$tag.run" --copies "$copies" --k "$k" "$@")
    if [ "$engine" = plugin ]; then
        "$OUT/rbench" plugin --plugin "$PLUGIN" "${args[@]}" >"$OUT/$tag.txt" 2>"$OUT/$tag.log"
    else
        "$OUT/rbench" fts5 "${args[@]}" >"$OUT/$tag.txt" 2>"$OUT/$tag.log"
    fi
    python3 "$DATA/eval.py" --qrels "$DATA/$ds/qrels.tsv" --run "$OUT/$tag.run" >"$OUT/$tag.eval"
    R_chunks=0 R_index_s=0 R_query_p50_ms=0 R_query_p99_ms=0 R_reopen_s=0 R_rss_index_mb=0
    parse "$OUT/$tag.txt"
    NDCG=$(metric "$OUT/$tag.eval" nDCG@10)
    RECALL=$(metric "$OUT/$tag.eval" Recall@100)
    local name=$ds; [ "$copies" -gt 1 ] && name="$ds x$copies"
    [ "$engine" = fts5 ] && name="$name (FTS5)"
    ROWS+=("$(printf '| %-22s | %7s | %7s | %6s | %7s | %7s | %7s |' "$name" "$R_chunks" \
        "$NDCG" "$RECALL" "$R_index_s" "$R_query_p50_ms" "$R_query_p99_ms")")
}

report() {
    echo "retriever_sqlite benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
    echo
    echo "| dataset                |  chunks | nDCG@10 |  R@100 | index s |  p50 ms |  p99 ms |"
    echo "|------------------------|--------:|--------:|-------:|--------:|--------:|--------:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Scale run (plugin): reopen (load from SQLite) ${SCALE_REOPEN}s, index memory +${SCALE_RSS} MB RSS,"
    echo "query p50/p99 after reopen ${SCALE_RP50}/${SCALE_RP99} ms. Plain FTS5 at the same size is ${RATIO50}x slower at p50, ${RATIO99}x at p99."
    echo
    echo "Targets:"
    printf '%s\n' "${TARGETS[@]}"
}

for ds in scifact xquad-en xquad-ru; do
    measure plugin "$ds" 1 100
    eval "NDCG_${ds//-/_}=$NDCG"
    measure fts5 "$ds" 1 100
done
measure plugin scifact "$COPIES" $((100 * COPIES)) --collapse
S_NDCG=$NDCG S_CHUNKS=$R_chunks S_INDEX=$R_index_s S_P50=$R_query_p50_ms S_P99=$R_query_p99_ms
SCALE_REOPEN=$R_reopen_s SCALE_RSS=$R_rss_index_mb
SCALE_RP50=$R_reopen_query_p50_ms SCALE_RP99=$R_reopen_query_p99_ms
measure fts5 scifact "$COPIES" $((100 * COPIES)) --collapse
RATIO50=$(awk -v a="$R_query_p50_ms" -v b="$S_P50" 'BEGIN { printf "%.0f", a / b }')
RATIO99=$(awk -v a="$R_query_p99_ms" -v b="$S_P99" 'BEGIN { printf "%.0f", a / b }')

mapfile -t TARGETS < <(
    target "scifact nDCG@10" "$NDCG_scifact" ">=" 0.68
    target "xquad-en nDCG@10" "$NDCG_xquad_en" ">=" 0.965
    target "xquad-ru nDCG@10" "$NDCG_xquad_ru" ">=" 0.95
    target "scale chunks" "$S_CHUNKS" ">=" 100000
    target "scale index seconds" "$S_INDEX" "<=" 30
    target "scale query p50 ms" "$S_P50" "<=" 5
    target "scale query p99 ms" "$S_P99" "<=" 30
    target "scale nDCG@10 (vs 1 copy)" "$S_NDCG" ">=" "$(awk -v x="$NDCG_scifact" 'BEGIN { print x - 0.005 }')"
)

report | tee "$OUT/report.txt"
# --record: replace the block between the markers in RESULTS.md (the notes
# around it are written by hand and kept)
if [ "$RECORD" = 1 ]; then
    RES=bench/retrieval/RESULTS.md
    BLOCK=$OUT/results-block.md
    {
        echo '<!-- run.sh: begin -->'
        echo "Command: \`bench/retrieval/run.sh --record\` ($(date -u '+%Y-%m-%d'))"
        echo
        echo '```'
        cat "$OUT/report.txt"
        echo '```'
        echo '<!-- run.sh: end -->'
    } >"$BLOCK"
    if grep -q '<!-- run.sh: begin -->' "$RES" 2>/dev/null; then
        awk -v block="$BLOCK" '
            /<!-- run.sh: begin -->/ { while ((getline l < block) > 0) print l; skip = 1; next }
            /<!-- run.sh: end -->/ { skip = 0; next }
            !skip' "$RES" >"$RES.tmp" && mv "$RES.tmp" "$RES"
    else
        { echo "# Retrieval benchmark results"; echo; cat "$BLOCK"; } >"$RES"
    fi
fi
! grep -q MISSED "$OUT/report.txt"
