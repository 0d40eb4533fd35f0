#!/usr/bin/env bash
# The real `openai` npm package (tests/node) against transport_http:
# plain and streamed completions, models.list, errors raised as APIError
# (also for a failure after the stream started).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init

check "node is installed" bash -c 'command -v node >/dev/null'
check "openai package is installed" test -d tests/node/node_modules/openai

rk_start config/test-http.yaml || exit 1
# node runs from tests/node so `import 'openai'` resolves to its node_modules
(cd tests/node && RK_URL=$RK_URL RK_MODEL=echo-model \
    RK_EXPECT='echo: hello from the openai sdk' \
    timeout 120 node openai_client.mjs) >"$SVC_TMP/sdk.out" 2>&1
rc=$?
sed 's/^/  /' "$SVC_TMP/sdk.out"
check "openai_client.mjs: every check passed" test "$rc" = 0
check "openai_client.mjs ran its checks" grep -q 'ok: models.list' "$SVC_TMP/sdk.out"

# the same client against a slow stream: several chunks, same text
rk_stop
rk_start config/test-http.yaml ECHO_DELAY=50ms || exit 1
(cd tests/node && RK_URL=$RK_URL RK_MODEL=echo-model \
    RK_EXPECT='echo: hello from the openai sdk' \
    timeout 120 node openai_client.mjs) >"$SVC_TMP/sdk-slow.out" 2>&1
rc=$?
[ "$rc" = 0 ] || sed 's/^/  /' "$SVC_TMP/sdk-slow.out"
check "openai_client.mjs with paced deltas: every check passed" test "$rc" = 0
rk_stop

# answers that fail part-way (deadline passes between deltas): the SDK must
# raise, not return a truncated answer as if it were complete
rk_start config/test-http.yaml ECHO_DELAY=1s TOTAL_TIMEOUT=1500ms LLM_TIMEOUT=1500ms || exit 1
(cd tests/node && RK_URL=$RK_URL RK_MODEL=echo-model RK_MODE=stream-error \
    timeout 120 node openai_client.mjs) >"$SVC_TMP/sdk-err.out" 2>&1
rc=$?
sed 's/^/  /' "$SVC_TMP/sdk-err.out"
check "openai_client.mjs stream-error mode: every check passed" test "$rc" = 0
rk_stop
check "no crash or sanitizer report in the server logs" bash -c \
    '! grep -Eq "AddressSanitizer|runtime error|Fatal error in GNU libmicrohttpd" "$@"' _ "$SVC_TMP"/ragkernel.*.log

rk_summary
