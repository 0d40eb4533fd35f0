#!/usr/bin/env bash
# Documents with storage_s3 against an S3-compatible server (s3rver): the
# whole of test_documents.sh again with the documents in S3 (upload, list,
# byte-identical download, citations in English and Russian, delete, and a
# restart with an empty index re-indexed from S3), then the S3 outage: with
# the server stopped an upload answers 503 and nothing of it is indexed or
# listed once S3 is back.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
start_s3 || exit 1
export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET=rk-docs-$$ DOCS_CFG=tests/integration/configs/docs_s3.yaml

echo "== the documents suite with storage_s3"
env -u SVC_TMP bash tests/integration/test_documents.sh >"$SVC_TMP/documents.log" 2>&1; rc=$?
grep -E '^  (ok|FAIL):|passed, .* failed' "$SVC_TMP/documents.log"
check "test_documents.sh passes with storage_s3" test "$rc" = 0

echo "== S3 outage during uploads"
export RAGKERNEL_DATA=$SVC_TMP/outage S3_BUCKET=rk-outage-$$
rk_start "$DOCS_CFG" || exit 1
s3pid=$(awk '$1=="s3"{print $2}' "$SVC_TMP/pids" | tail -1)
kill -TERM "$s3pid"; wait "$s3pid" 2>/dev/null
printf 'The quokka is a small marsupial from Rottnest Island.\n' >"$SVC_TMP/quokka.txt"
t0=$(date +%s%N)
code=$(curl -s -o "$SVC_TMP/up.json" -w '%{http_code}' --max-time 30 \
       "$RK_URL/documents?filename=quokka.txt" -H 'Content-Type: text/plain' --data-binary @"$SVC_TMP/quokka.txt")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "  upload with S3 down: HTTP $code in ${ms} ms: $(head -c 200 "$SVC_TMP/up.json")"
check "upload answers 503" test "$code" = 503
check "the error names the storage" grep -q 'storage unavailable' "$SVC_TMP/up.json"
check "the answer came within 10 s" test "$ms" -lt 10000
cited=$(curl -s --max-time 10 "$RK_URL/chat" -d '{"message": "Where does the quokka live?"}')
check "nothing of it was indexed" python3 -c 'import json,sys; sys.exit(1 if json.loads(sys.argv[1])["sources"] else 0)' "$cited"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$RK_URL/documents")
check "listing with S3 down answers 503" test "$code" = 503
rk_summary
