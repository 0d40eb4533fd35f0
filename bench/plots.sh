#!/usr/bin/env bash
# bench/plots.sh — make bench-plots: PNGs from the recorded results in
# bench/results/ (tab-separated, written by the bench scripts with their
# record options; the runs recorded before them were transcribed from
# bench/RESULTS.md) into bench/plots/, with Debian's gnuplot (tools/deps.sh).
#
#   gateway.png          req/s and p99 of direct, nginx (1 and 2 workers) and
#                        ragkernel: medians of each run's rounds (gateway.tsv)
#   streams.png          2,000 simultaneous streams: the server's RSS and open
#                        fds over one run (streams_timeline.tsv), and time and
#                        peak RSS of every recorded run (streams.tsv)
#   retrieval_scale.png  retrieval p50/p99 against corpus size, retriever_sqlite
#                        and plain FTS5 (retrieval_scale.tsv)
#
#   bench/plots.sh [OUT_DIR]        RESULTS_DIR=... reads another directory
set -euo pipefail
cd "$(dirname "$0")/.."
RES=${RESULTS_DIR:-bench/results}
OUT=${1:-bench/plots}
command -v gnuplot >/dev/null || { echo "bench-plots: needs gnuplot (apt-get install gnuplot-nox, or make deps)" >&2; exit 1; }
for f in gateway.tsv streams.tsv streams_timeline.tsv retrieval_scale.tsv; do
    [ -s "$RES/$f" ] || { echo "bench-plots: $RES/$f is missing or empty (see bench/plots.sh for which script records it)" >&2; exit 1; }
done
mkdir -p "$OUT"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
TERM_PNG='set terminal pngcairo noenhanced size 1000,420 font ",10"'

# gateway.tsv -> one row per target, one column of medians per run date
medians() { # COLUMN -> target date1 date2 ...
    awk -F'\t' -v col="$1" 'NR > 1 && $1 !~ /^#/ {
            v[$1 SUBSEP $3] = v[$1 SUBSEP $3] " " $col
            if (!($1 in seen)) { seen[$1]; dates[++nd] = $1 }
            if (!($3 in tseen)) { tseen[$3]; targets[++nt] = $3 } }
        function median(s,   a, n, i, j, t) {
            n = split(s, a, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        END { printf "target"; for (d = 1; d <= nd; d++) printf "\t%s", dates[d]; print ""
              for (t = 1; t <= nt; t++) { printf "%s", targets[t]
                  for (d = 1; d <= nd; d++) { k = dates[d] SUBSEP targets[t]; printf "\t%s", (k in v) ? median(v[k]) : "-" }
                  print "" } }' "$RES/gateway.tsv"
}
medians 4 >"$TMP/rps.tsv"
medians 6 >"$TMP/p99.tsv"
NRUNS=$(($(head -1 "$TMP/rps.tsv" | awk -F'\t' '{print NF}') - 1))
gnuplot <<GP
$TERM_PNG
set output "$OUT/gateway.png"
set datafile separator "\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right autotitle columnhead
set grid ytics
set multiplot layout 1,2 title "Gateway: POST /v1/chat/completions, wrk -t2 -c32, medians of 3 rounds (bench/gateway.sh, 2 cores)"
set title "Throughput (req/s, higher is better)"
set yrange [0:*]
plot for [i=2:$((NRUNS + 1))] "$TMP/rps.tsv" using i:xtic(1)
set title "p99 latency (ms, lower is better)"
plot for [i=2:$((NRUNS + 1))] "$TMP/p99.tsv" using i:xtic(1)
unset multiplot
GP

gnuplot <<GP
set terminal pngcairo noenhanced size 1000,520 font ",10"
set output "$OUT/streams.png"
set datafile separator "\t"
set multiplot layout 1,2 title "2,000 simultaneous streaming requests, upstream answers after 2 s (bench/gateway.sh)"
set title "One run: the server's RSS and open sockets"
set xlabel "seconds (sampled every 0.1 s from the client's start)"
set ylabel "RSS (MB)"
set y2label "open fds"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key below
plot "$RES/streams_timeline.tsv" using 1:2 skip 1 with lines lw 2 title "RSS (MB)", \
     "" using 1:4 skip 1 axes x1y2 with lines lw 2 dt 2 title "open fds (2 per stream)"
set title "Every recorded run: time to complete all, peak RSS"
unset xlabel
set ylabel "peak RSS (MB)"
set y2label "seconds until all 2,000 completed"
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -30 left font ",8"
set key below
set yrange [0:*]
set y2range [0:*]
plot "$RES/streams.tsv" using 0:8:xtic(stringcolumn(1) . " " . stringcolumn(2)) skip 1 with boxes title "peak RSS (MB)", \
     "" using 0:6 skip 1 axes x1y2 with linespoints lw 2 pt 7 title "seconds"
unset multiplot
GP

gnuplot <<GP
$TERM_PNG
set output "$OUT/retrieval_scale.png"
set datafile separator "\t"
set title "Retrieval latency against corpus size: SciFact x1..x20, top 10, one thread, warm (bench/retrieval/scale.sh)"
set xlabel "chunks in the index"
set ylabel "ms per query"
set logscale xy
set xrange [3000:200000]
set grid
set key top left
plot "< awk -F'\t' '\$1==\"plugin\"' $RES/retrieval_scale.tsv" using 3:5 with linespoints lw 2 pt 7 title "retriever_sqlite p50", \
     "" using 3:6 with linespoints lw 2 pt 5 dt 2 title "retriever_sqlite p99", \
     "< awk -F'\t' '\$1==\"fts5\"' $RES/retrieval_scale.tsv" using 3:5 with linespoints lw 2 pt 7 title "SQLite FTS5 p50", \
     "" using 3:6 with linespoints lw 2 pt 5 dt 2 title "SQLite FTS5 p99"
GP

for p in gateway streams retrieval_scale; do
    [ -s "$OUT/$p.png" ] || { echo "bench-plots: gnuplot wrote no $OUT/$p.png" >&2; exit 1; }
    echo "bench-plots: $OUT/$p.png"
done
