#!/usr/bin/env bash
# storage_s3 against a real S3-compatible server (s3rver on 127.0.0.1):
# the conformance checker's storage contract (single PUT, and the multipart
# path with a 1-byte threshold), credentials S3 rejects (RK_ERR_AUTH with
# S3's code), an endpoint nobody listens on (RK_ERR_UNAVAILABLE, fast), then
# build/tests/test_storage_s3 with S3_ENDPOINT set: 12 MiB multipart round
# trip, ranges, list pagination, remove, failed puts; then
# build/tests/test_storage_s3_outage: an s3rver of its own killed mid-put and
# restarted on the same data directory and port.
set -u
: "${RK_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"

CHECKER=$BUILD/ragkernel-plugin-check
SO=$BUILD/plugins/storage_s3.so
DRIVER=$BUILD/tests/test_storage_s3
OUTAGE=$BUILD/tests/test_storage_s3_outage
for f in "$CHECKER" "$SO" "$DRIVER" "$OUTAGE"; do
    [ -e "$f" ] || { echo "missing $f (make test-build)"; exit 1; }
done
has() { grep -Eq -- "$1" <<<"$2"; }   # has REGEX TEXT

# s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which
# Node 20's OpenSSL 3 offers only in its legacy provider: without it every
# truncated listing is a 500.
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--openssl-legacy-provider"
export S3RVER_BIN
start_s3 || exit 1
S3LOG=$SVC_TMP/s3-$S3_PORT/s3rver.log
CONN=(--set "endpoint=$S3_ENDPOINT" --set path_style=true --set "secret_key=$S3_SECRET_KEY")
CREDS=("${CONN[@]}" --set "access_key=$S3_ACCESS_KEY")

echo "== conformance checker"
out=$(timeout 120 "$CHECKER" "${CREDS[@]}" --set bucket=rk-test --set create_bucket=true "$SO" 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
check "checker passes (exit 0)" test "$rc" = 0
check "checker ran the storage contract" has '^ok storage get after remove is NOT_FOUND$' "$out"
check "checker summary: 0 failed" has '^[1-9][0-9]* passed, 0 failed$' "$out"
check "start created the missing bucket" has 'created bucket on http://127\.0\.0\.1' "$out"

uploads_before=$(grep -c 'uploads=' "$S3LOG")
out=$(timeout 120 "$CHECKER" "${CREDS[@]}" --set bucket=rk-test --set multipart_threshold=1 \
      "$SO" 2>&1)
rc=$?
check "checker passes with every put multipart (exit $rc)" test "$rc" = 0
check "those puts went through CreateMultipartUpload" \
    test "$(grep -c 'uploads=' "$S3LOG")" -gt "$uploads_before"

echo "== rejected credentials"
out=$(timeout 60 "$CHECKER" "${CONN[@]}" --set bucket=rk-test --set access_key=NOBODY "$SO" 2>&1)
rc=$?
echo "$out" | grep -E '^(FAIL|ok) storage put' | sed 's/^/    /'
check "checker fails (exit 1)" test "$rc" = 1
check "put is RK_ERR_AUTH with S3's code and message" \
    has '^FAIL storage put: RK_ERR_AUTH S3 PUT rk-test/.*HTTP 403 InvalidAccessKeyId: ' "$out"

echo "== unreachable endpoint"
port=$(free_port)
t0=$(_svc_ms)
out=$(timeout 60 "$CHECKER" --set "endpoint=http://127.0.0.1:$port" --set bucket=rk-test \
      --set path_style=true --set max_retries=2 "$SO" 2>&1)
took=$(( $(_svc_ms) - t0 ))
echo "$out" | grep -E '^FAIL storage put' | sed 's/^/    /'
check "put is RK_ERR_UNAVAILABLE naming the endpoint" \
    has "^FAIL storage put: RK_ERR_UNAVAILABLE S3 endpoint http://127\.0\.0\.1:$port unreachable: " "$out"
check "and fails fast (${took} ms)" test "$took" -lt 10000

echo "== driver: multipart, ranges, pagination"
log=$SVC_TMP/test_storage_s3.log
S3_ENDPOINT=$S3_ENDPOINT timeout 240 "$DRIVER" >"$log" 2>&1
rc=$?
grep -Ev 'level=(warn|info)' "$log" | sed 's/^/    /'
check "test_storage_s3 passes (exit $rc)" test "$rc" = 0
check "all 7 of its checks ran (none skipped)" has '100%: Checks: 7, Failures: 0' "$(cat "$log")"

echo "== driver: outage"
olog=$SVC_TMP/test_storage_s3_outage.log
S3_ENDPOINT=$S3_ENDPOINT timeout 240 "$OUTAGE" >"$olog" 2>&1
rc=$?
grep -Ev 'level=(warn|info)' "$olog" | sed 's/^/    /'
check "test_storage_s3_outage passes (exit $rc)" test "$rc" = 0
check "its check ran" has '100%: Checks: 1, Failures: 0' "$(cat "$olog")"
check "the outage test ran" bash -c "! grep -q 'outage test skipped' '$olog'"
check "s3rver answered no 5xx" bash -c "! grep -Eq ' 5[0-9][0-9] [0-9]+ms' '$S3LOG'"

rk_summary
