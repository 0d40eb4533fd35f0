#!/usr/bin/env bash
# Conversation history survives a restart with history_sqlite: a
# conversation started before SIGTERM continues after the host starts again
# on the same data directory (the upstream request carries the earlier turn).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
start_mock --label hist || exit 1
export RAGKERNEL_DATA=$SVC_TMP/data MOCK_PORT
last_body() { curl -s --max-time 5 "$MOCK_URL/__stats" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["last"]["/v1/chat/completions"]["body"]))'; }

rk_start tests/integration/configs/history_restart.yaml || exit 1
conv=$(curl -s --max-time 10 "$RK_URL/chat" -d '{"message": "My favourite colour is vermilion."}' \
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation_id"])')
check "a conversation was started" test -n "$conv"
rk_stop
check "the host stopped" bash -c '! kill -0 "$1" 2>/dev/null' _ "$RK_PID"

rk_start tests/integration/configs/history_restart.yaml || exit 1
code=$(curl -s -o "$SVC_TMP/r.json" -w '%{http_code}' --max-time 10 "$RK_URL/chat" \
       -d "{\"message\": \"Which colour did I name?\", \"conversation_id\": \"$conv\"}")
check "the restarted host answers in the same conversation" test "$code" = 200
check "the same conversation id" grep -q "\"conversation_id\":\"$conv\"" "$SVC_TMP/r.json"
body=$(last_body)
check "the earlier turn reached the upstream after the restart" grep -q 'vermilion' <<<"$body"
check "and the new question too" grep -q 'Which colour did I name' <<<"$body"
rk_summary
