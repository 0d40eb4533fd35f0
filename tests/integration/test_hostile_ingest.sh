#!/usr/bin/env bash
# Hostile document uploads against a real server (issue 13, findings 1 and
# 3; config tests/integration/configs/hostile_ingest.yaml):
#  - pathological Markdown/HTML (150 KB and 1 MB of '[', nested tags, an
#    unclosed comment) is answered in seconds (was 18 s and ~12 min);
#  - the per-document budget (pipeline.ingest_timeout, applied on reload)
#    ends a slow upload in 422 naming the key, with nothing stored;
#  - a real PDF bomb (a FlateDecode stream of zeros) ends at the budget;
#  - pdftotext stand-ins (scripts configured by absolute path) that eat
#    memory or CPU are stopped by the child's limits and deadline, with the
#    child's peak RSS and the server's RSS measured and no child left over;
#  - a PDF upload over pdftotext_max_parallel waits, then gets 503 with
#    Retry-After; the real pdftotext still reads a real PDF under the limits;
#  - a relative extract_pdf program is refused by --check-config, and so
#    are the pipeline.pdftotext* keys of old configs, naming where they went.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
export RAGKERNEL_DATA=$T/data
CFG=$T/hostile_ingest.yaml
cp tests/integration/configs/hostile_ingest.yaml "$CFG"

# up NAME FILE CTYPE: POST the file as document NAME -> $T/NAME.{res,h,b}
# (res = "code seconds")
up() {
    curl -s --max-time 120 -D "$T/$1.h" -o "$T/$1.b" -w '%{http_code} %{time_total}' \
        -H "Content-Type: $3" --data-binary @"$2" "$RK_URL/documents?filename=$1" \
        >"$T/$1.res" 2>/dev/null
}
code() { cut -d' ' -f1 "$T/$1.res"; }
secs() { cut -d' ' -f2 "$T/$1.res"; }
under() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
said() { grep -q -- "$2" "$T/$1.b"; }
stored() { curl -s --max-time 10 "$RK_URL/documents?limit=1000" | python3 -c '
import json, sys
sys.exit(0 if any(d["filename"] == sys.argv[1] for d in json.load(sys.stdin)["data"]) else 1)' "$1"; }
# listed, but not NAME: the listing works and does not hold NAME
not_stored() { stored "$2" && ! stored "$1"; }
hwm_mb() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$1/status"; }
# children PID: processes (zombies included) whose parent is PID
children() { ps -o pid= --ppid "$1" | wc -l; }
reload_with() { # SED-EXPR: edit the config, SIGHUP, wait for the reload line
    local before; before=$(grep -c 'configuration reloaded' "$RK_LOG")
    sed -i "$1" "$CFG"
    kill -HUP "$RK_PID"
    local deadline=$((SECONDS + 20))
    while [ "$(grep -c 'configuration reloaded' "$RK_LOG")" = "$before" ]; do
        [ $SECONDS -lt $deadline ] || { echo "no reload"; tail -5 "$RK_LOG"; return 1; }
        sleep 0.1
    done
}
report() { echo "  $1: $(code "$1") in $(secs "$1") s: $(head -c 300 "$T/$1.b")"; }

python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
kb = 1024
files = {
    "open150.md": "[" * (150 * kb),
    "open1m.md": "[" * (1024 * kb),
    "links1m.md": "[a](" * (256 * kb),
    "ticks1m.md": "`a``b```c````d" * (75 * kb),
    "nested1m.html": "<div><span><b>" * (75 * kb),
    "comment1m.html": "<p>words</p><!--" + "-" * (1024 * kb),
    "many_lines.md": "Words about [tides](http://x) and *moons*, line after line.\n" * 50000,
    "fake.pdf": "%PDF-1.4\n% not a real PDF: the stand-ins ignore it\n",
}
for name, body in files.items():
    open(f"{t}/{name}", "w").write(body)

# A PDF bomb for the real pdftotext: one page whose FlateDecode content
# stream inflates to 512 MB of zeros (NUL is PDF whitespace) from ~0.5 MB.
import zlib
c = zlib.compressobj(9)
mb = b"\0" * (1 << 20)
stream = b"".join(c.compress(mb) for _ in range(512)) + c.flush()
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
pdf, offs = bytearray(b"%PDF-1.4\n"), []
for i, o in enumerate(objs):
    offs.append(len(pdf))
    pdf += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
pdf += b"".join(b"%010d 00000 n \n" % o for o in offs)
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(f"{t}/bomb.pdf", "wb").write(pdf)
EOF
mkdir -p "$T/bin"
# stand-ins for pdftotext; the child gets PATH alone, so paths are absolute
cat >"$T/bin/hog" <<EOF
#!/bin/sh
exec /usr/bin/python3 -c '
import resource
l = []
try:
    for i in range(1024):
        l.append(b"x" * (1 << 20))
finally:
    open("$T/hog.rss", "w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
'
EOF
printf '#!/bin/sh\nwhile :; do :; done\n' >"$T/bin/spin"
printf '#!/bin/sh\nsleep 3\necho "Slow tides and slow moons."\n' >"$T/bin/slow"
chmod 755 "$T/bin/hog" "$T/bin/spin" "$T/bin/slow"

echo "== pathological text is linear: each upload in seconds"
rk_start "$CFG" || exit 1
for f in open150.md open1m.md links1m.md ticks1m.md nested1m.html comment1m.html; do
    case $f in *.md) ct=text/markdown ;; *) ct=text/html ;; esac
    up "$f" "$T/$f" "$ct"
    report "$f"
    check "$f answered (201 or 422) in under 5 s" \
        bash -c '[[ "$1" =~ ^(201|422)$ ]] && awk -v s="$2" "BEGIN { exit !(s < 5) }"' _ \
        "$(code "$f")" "$(secs "$f")"
done
check "150 KB of '[' stored" test "$(code open150.md)" = 201
check "the server still answers /health" \
    curl -s -f --max-time 5 -o /dev/null "$RK_URL/health"

echo "== the real pdftotext reads a real PDF under the limits"
up sample.pdf tests/fixtures/docs/sample.pdf application/pdf
report sample.pdf
check "sample.pdf: 201" test "$(code sample.pdf)" = 201

echo "== the ingest budget (pipeline.ingest_timeout, changed by a reload)"
reload_with 's/^  ingest_timeout: .*/  ingest_timeout: 1ms/' || exit 1
up many_lines.md "$T/many_lines.md" text/markdown
report many_lines.md
check "over the budget: 422" test "$(code many_lines.md)" = 422
check "the message names the budget" said many_lines.md 'pipeline.ingest_timeout (1 ms)'
check "nothing stored" not_stored many_lines.md open150.md
reload_with 's/^  ingest_timeout: .*/  ingest_timeout: 30s/' || exit 1
up many_lines.md "$T/many_lines.md" text/markdown
report many_lines.md
check "the same upload within 30 s: 201" test "$(code many_lines.md)" = 201
rk_stop
cp tests/integration/configs/hostile_ingest.yaml "$CFG" # the limits from the environment again

echo "== a PDF bomb (512 MB of zeros in a ~0.5 MB file) meets the budget"
INGEST_TIMEOUT=1s rk_start "$CFG" || exit 1
up bomb.pdf "$T/bomb.pdf" application/pdf &
upload=$!
peak=0
while kill -0 "$upload" 2>/dev/null; do # the pdftotext child's RSS, sampled
    r=$(ps -o rss= --ppid "$RK_PID" | sort -n | tail -1)
    [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.05
done
wait "$upload"
report bomb.pdf
echo "  $(stat -c %s "$T/bomb.pdf") bytes; pdftotext peak RSS seen: $((peak / 1024)) MB"
check "refused with 422" test "$(code bomb.pdf)" = 422
check "in under 6 s (budget 1 s)" under "$(secs bomb.pdf)" 6
check "the message names the budget" said bomb.pdf 'pipeline.ingest_timeout (1000 ms)'
check "pdftotext stayed under its 512 MB" test "$((peak / 1024))" -lt 512
sleep 0.5
check "no child process left (zombie or not)" test "$(children "$RK_PID")" = 0
check "nothing stored" not_stored bomb.pdf open150.md
rk_stop

echo "== a pdftotext that eats memory meets RLIMIT_AS (128MB)"
PDFTOTEXT=$T/bin/hog PDF_MAX_MEMORY=128MB rk_start "$CFG" || exit 1
base=$(hwm_mb "$RK_PID")
up hog.pdf "$T/fake.pdf" application/pdf
report hog.pdf
child_mb=$(( $(cat "$T/hog.rss" 2>/dev/null || echo 999999) / 1024 ))
echo "  pdftotext stand-in peak RSS: $child_mb MB (unlimited: ~1 GB); server peak RSS: $base -> $(hwm_mb "$RK_PID") MB"
check "refused with 422" test "$(code hog.pdf)" = 422
check "the message says why (MemoryError)" said hog.pdf 'MemoryError'
check "the child's peak RSS stayed under 160 MB" test "$child_mb" -lt 160
check "the server's peak RSS stayed under 256 MB" test "$(hwm_mb "$RK_PID")" -lt 256
check "nothing stored" not_stored hog.pdf open150.md
rk_stop

echo "== a pdftotext that spins is killed at the budget and reaped"
PDFTOTEXT=$T/bin/spin INGEST_TIMEOUT=2s rk_start "$CFG" || exit 1
up spin.pdf "$T/fake.pdf" application/pdf
report spin.pdf
check "refused with 422" test "$(code spin.pdf)" = 422
check "in under 8 s (budget 2 s)" under "$(secs spin.pdf)" 8
check "the message names the budget" said spin.pdf 'pipeline.ingest_timeout (2000 ms)'
sleep 0.5
check "no child process left (zombie or not)" test "$(children "$RK_PID")" = 0
rk_stop

echo "== over pdftotext_max_parallel: a bounded wait, then 503 + Retry-After"
PDFTOTEXT=$T/bin/slow PDF_MAX_PARALLEL=1 PDF_QUEUE_TIMEOUT=500ms rk_start "$CFG" || exit 1
up first.pdf "$T/fake.pdf" application/pdf &
first=$!
sleep 1
up second.pdf "$T/fake.pdf" application/pdf
report second.pdf
wait "$first"
report first.pdf
check "the second upload: 503" test "$(code second.pdf)" = 503
check "after about the queue timeout (under 2.5 s)" under "$(secs second.pdf)" 2.5
check "with Retry-After" test -n "$(header second.pdf Retry-After)"
check "the message says to try again" said second.pdf 'try again later'
check "the first upload: 201" test "$(code first.pdf)" = 201
rk_stop

echo "== extract_pdf's program must be an absolute path"
out=$(PDFTOTEXT=pdftotext RK_PORT=1 "$RK_BIN" --check-config "$CFG" 2>&1); rc=$?
echo "  $out" | head -3
check "--check-config exits 1" test "$rc" = 1
check "naming the key and the rule" grep -q 'program: must be an absolute path' <<<"$out"

echo "== the old pipeline.pdftotext keys are refused, naming where they moved"
old=$SVC_TMP/old_keys.yaml
sed 's/^  extractors: \[text, pdf\]$/  pdftotext: \/usr\/bin\/pdftotext\n  pdftotext_max_parallel: 2/' "$CFG" >"$old"
out=$(RK_PORT=1 "$RK_BIN" --check-config "$old" 2>&1); rc=$?
echo "$out" | head -3 | sed 's/^/  /'
check "--check-config exits 1" test "$rc" = 1
check "pipeline.pdftotext at its line, pointing to program" \
    grep -q "old_keys.yaml:[0-9]*:3: pipeline.pdftotext moved: set \`program\` in an extract_pdf instance" <<<"$out"
check "pipeline.pdftotext_max_parallel, pointing to max_parallel" \
    grep -q "pipeline.pdftotext_max_parallel moved: set \`max_parallel\`" <<<"$out"

rk_summary
