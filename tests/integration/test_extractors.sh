#!/usr/bin/env bash
# Extractor plugins chosen by the host (extractor.h), with no core change
# for a new format: a third-party-style extractor built in tests
# (tests/plugins/extract_csv.c, text/csv) reads .csv uploads, by type or by
# extension, beside extract_text, and its words are searchable; a type no
# extractor handles gets 415 naming it and what is supported; a deployment
# with documents but no extractor warns at start and in --check-config, and
# refuses every upload with 415; pipeline.extractors naming an instance of
# another kind is a config error at its line.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
export RAGKERNEL_DATA=$T/data RK_PORT=1 # --check-config reads them; rk_start sets its own port

# config FILE EXTRACTOR-INSTANCES [PIPELINE-EXTRA]: the embedded stack
config() {
    cat >"$1" <<EOF
server:
  plugin_path: ["$RK_PLUGIN_DIR", "$RK_ROOT/$BUILD/test-plugins"]
  shutdown_grace: 5s
pipeline:
  llm: [extractive]
  retriever: index
  storage: files
$3
instances:
  http:
    plugin: transport_http
    config: {listen: "127.0.0.1:\${RK_PORT}"}
  extractive:
    plugin: llm_extractive
  index:
    plugin: retriever_sqlite
    config: {path: "\${RAGKERNEL_DATA}/retriever.sqlite"}
  files:
    plugin: storage_local
    config: {root: "\${RAGKERNEL_DATA}/documents"}
$2
EOF
}
# up NAME FILENAME CONTENT-TYPE BODY: POST /documents, $T/NAME.{code,b}
up() {
    printf '%s' "$4" >"$T/$1.in"
    curl -s --max-time 30 -o "$T/$1.b" -w '%{http_code}' -H "Content-Type: $3" \
        --data-binary @"$T/$1.in" "$RK_URL/documents?filename=$2" >"$T/$1.code" 2>/dev/null
}
said() { grep -q "$2" "$T/$1.b"; }
json_is() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); sys.exit(0 if str(d.get(sys.argv[2]))==sys.argv[3] else 1)' \
    "$T/$1.b" "$2" "$3" 2>/dev/null; }

WITH='  text:
    plugin: extract_text
  csv:
    plugin: extract_csv'
CSV='city,river,note
Zaragoza,Ebro,the quokka festival
Lyon,Rhone,silk weavers'

echo "== a test extractor reads text/csv beside extract_text"
config "$T/with.yaml" "$WITH" "  extractors: [csv, text]"
out=$("$RK_BIN" --check-config "$T/with.yaml" 2>&1); rc=$?
check "--check-config accepts it (exit $rc)" test "$rc" = 0
check "... without the no-extractor warning" bash -c '! grep -q "no extractor" <<<"$1"' _ "$out"
rk_start "$T/with.yaml" || exit 1
up csv rivers.csv text/csv "$CSV"
cat "$T/csv.b"; echo
check "a .csv upload is stored: 201" code_is csv 201
check "as text/csv" json_is csv content_type text/csv
up csvext towns.csv application/octet-stream "$CSV"
check "chosen by the .csv extension alone: 201" code_is csvext 201
check "... as text/csv" json_is csvext content_type text/csv
up txt notes.txt text/plain 'Plain notes about the Garonne river.'
check "text still goes to extract_text: 201" code_is txt 201
body=$(curl -s --max-time 30 -d '{"message": "Which city has the quokka festival?"}' \
    -H 'Content-Type: application/json' "$RK_URL/chat")
check "the CSV's words are searchable (cited in an answer)" grep -q 'Zaragoza' <<<"$body"
up png pic.png image/png $'\x89PNG\r\n'
cat "$T/png.b"; echo
check "a type nobody handles: 415" code_is png 415
check "naming the type" said png 'image/png'
check "saying no extractor handles it, and what is supported" \
    bash -c 'grep -q "no extractor handles it" "$1" && grep -q "supported: text/csv" "$1"' _ "$T/png.b"
rk_stop

echo "== documents without any extractor: a warning, then 415 for everything"
config "$T/none.yaml" "" ""
out=$("$RK_BIN" --check-config "$T/none.yaml" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "--check-config still accepts it (exit $rc)" test "$rc" = 0
check "--check-config warns that no extractor is declared" grep -q 'no extractor instance is declared' <<<"$out"
rk_start "$T/none.yaml" || exit 1
check "the start logs the warning once" test "$(grep -c 'no extractor instance is declared' "$RK_LOG")" = 1
up plain a.txt text/plain 'Some plain words.'
cat "$T/plain.b"; echo
check "even plain text: 415" code_is plain 415
check "saying no extractor is configured" said plain 'no extractor is configured'
rk_stop

echo "== pipeline.extractors must name extractors"
config "$T/kind.yaml" "$WITH" "  extractors: [csv, files]"
out=$("$RK_BIN" --check-config "$T/kind.yaml" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "--check-config exits 1" test "$rc" = 1
check "naming the entry, its line and its kind" \
    grep -q "kind.yaml:8:[0-9]*: pipeline.extractors: instance 'files' is a storage, not a extractor" <<<"$out"

rk_summary
