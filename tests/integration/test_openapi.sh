#!/usr/bin/env bash
# GET /openapi.json (tests/integration/configs/openapi.yaml, API keys on):
# served without a key while /v1/models needs one, as application/json with
# X-Request-Id, info.version = the binary's version, HEAD too, POST a 405;
# validated by a real validator (npm @apidevtools/swagger-parser,
# tests/node/openapi_check.mjs), which also sends every documented
# operation to the running server (a real document uploaded for {id}, a
# conversation a /chat started for /v1/conversations/{id}, a key created
# with POST /admin/keys for /admin/keys/{id}, the operation's
# example as the body, the DELETEs last): none may be the router's 404 or a 405,
# each status must be documented for it and each JSON body must match the
# documented schema (ajv); the validator itself fails on a document with a
# dangling $ref. An asynchronous upload's 202 and its status, polled until
# indexed, are checked against the document too. The other
# direction (every route of the router's table is documented) is the unit
# test test_http_openapi, which also names what is missing.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
KEY="rk-ops-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
VERSION=$("$RK_BIN" --version | awk '{print $2}')

rk_start tests/integration/configs/openapi.yaml OPENAPI_KEY="$KEY" >/dev/null || { echo "ragkernel did not start"; exit 1; }

echo "== GET /openapi.json, no key"
req doc GET /openapi.json
check "200 without a key" code_is doc 200
check "Content-Type application/json" bash -c "[[ '$(header doc Content-Type)' == application/json* ]]"
check "X-Request-Id" test -n "$(header doc X-Request-Id)"
check "OpenAPI 3.1" jq_py "$T/doc.b" "d['openapi'].startswith('3.1.')"
check "info.version is the server's ($VERSION)" jq_py "$T/doc.b" "d['info']['version']=='$VERSION'"
check "documents its own path" jq_py "$T/doc.b" "'get' in d['paths']['/openapi.json']"
req models GET /v1/models
check "while /v1/models without a key is 401" code_is models 401
req head HEAD /openapi.json
check "HEAD: 200" code_is head 200
req post POST /openapi.json -H 'Content-Type: application/json' -d '{}'
check "POST: 405 with Allow: GET, HEAD" bash -c "[ '$(cat "$T/post.code")' = 405 ] && [ '$(header post Allow)' = 'GET, HEAD' ]"
req metrics GET /metrics -H "Authorization: Bearer $KEY"
check "counted under route=\"/openapi.json\" in /metrics" \
    grep -q 'route="/openapi.json",code="200"' "$T/metrics.b"

echo "== swagger-parser, and every documented operation probed"
(cd tests/node && node openapi_check.mjs "$RK_URL" "$VERSION" "$KEY") >"$T/check.out" 2>&1
rc=$?; cat "$T/check.out"
check "openapi_check.mjs passes" test "$rc" = 0
check "it probed every operation (at least 20)" \
    bash -c "n=\$(sed -n 's/.*probed \([0-9]*\) documented.*/\1/p' '$T/check.out'); [ \"\${n:-0}\" -ge 20 ]"
check "answers checked against their schemas (chat 200 and its stream, upload 201, errors)" \
    bash -c "grep -q 'POST /v1/chat/completions -> 200, as documented' '$T/check.out' &&
             grep -q 'DELETE /documents/{id} -> 204, as documented' '$T/check.out' &&
             grep -q 'POST /documents -> 400, as documented' '$T/check.out' &&
             grep -q 'ChatCompletionChunk events and \[DONE\]' '$T/check.out'"
check "status, re-index and the 202 of an asynchronous upload, as documented" \
    bash -c "grep -q 'GET /documents/{id}/status -> 200, as documented' '$T/check.out' &&
             grep -q 'POST /documents/{id}/reindex -> 200, as documented' '$T/check.out' &&
             grep -q 'POST /documents?async=1 -> 202, as documented' '$T/check.out' &&
             grep -q 'from pending to indexed' '$T/check.out'"
check "conversations listed, read, exported and deleted, as documented" \
    bash -c "grep -q 'GET /v1/conversations -> 200, as documented' '$T/check.out' &&
             grep -q 'GET /v1/conversations/{id} -> 200, as documented' '$T/check.out' &&
             grep -q 'GET /v1/conversations/{id}/export -> 200, as documented' '$T/check.out' &&
             grep -q 'DELETE /v1/conversations/{id} -> 204, as documented' '$T/check.out'"

check "API keys created, listed, rotated and revoked, as documented" \
    bash -c "grep -q 'GET /admin/keys -> 200, as documented' '$T/check.out' &&
             grep -q 'POST /admin/keys -> 201, as documented' '$T/check.out' &&
             grep -q 'POST /admin/keys/{id}/rotate -> 200, as documented' '$T/check.out' &&
             grep -q 'DELETE /admin/keys/{id} -> 204, as documented' '$T/check.out'"

echo "== the validator fails on a broken document"
python3 - "$T/doc.b" "$T/broken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = \
    {"$ref": "#/components/schemas/NoSuchSchema"}
json.dump(d, open(sys.argv[2], "w"))
PY
(cd tests/node && node openapi_check.mjs --file "$T/broken.json") >"$T/broken.out" 2>&1
rc=$?
check "dangling \$ref: exit 1 naming it" bash -c "[ $rc = 1 ] && grep -q NoSuchSchema '$T/broken.out'"

rk_stop
rk_summary
