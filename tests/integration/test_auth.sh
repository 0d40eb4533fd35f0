#!/usr/bin/env bash
# API keys, tenants, scopes and rate limits in transport_http, with curl
# (tests/integration/configs/auth_keys.yaml; keys made up per run):
# 401 without or with a wrong key (WWW-Authenticate, and the key never
# reaches the log), Bearer and X-API-Key, tenant isolation of documents
# (another tenant's id is a 404: list, download, delete, citations),
# conversations (a conversation id taken from tenant a gives tenant b no
# history: b's answer shows a prompt without a's turns — the id is not
# refused, it simply names nothing of b's), 403 for a missing scope, 429
# with Retry-After after requests_per_min, tokens charged after an answer,
# /health public and /metrics admin-only, and the refusal to listen on
# 0.0.0.0 without keys (auth_open.yaml: the process must exit 1).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
export RAGKERNEL_DATA=$T/data

key() { echo "rk-$1-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
ALICE=$(key alice); BOB=$(key bob); READER=$(key reader)
LIMITED=$(key limited); TOK=$(key tok); ADMIN=$(key admin)
WRONG=$(key wrong)

err_is() { jq_py "$T/$1.b" "d['error']['type']=='$2' and d['error']['code']=='$3' and d['error']['message']!=''"; }
as() { echo "Authorization: Bearer $1"; }
# chat NAME KEY MESSAGE [CONVERSATION]
chat() {
    python3 -c 'import json,sys
d={"message": sys.argv[1]}
if len(sys.argv) > 2: d["conversation_id"] = sys.argv[2]
print(json.dumps(d))' "${@:3}" >"$T/$1.q"
    req "$1" POST /chat -H "$(as "$2")" -H 'Content-Type: application/json' --data-binary @"$T/$1.q"
}

rk_start tests/integration/configs/auth_keys.yaml ALICE_KEY="$ALICE" BOB_KEY="$BOB" \
    READER_KEY="$READER" LIMITED_KEY="$LIMITED" TOK_KEY="$TOK" ADMIN_KEY="$ADMIN" || exit 1

echo "== 401"
for path in /v1/models /documents /documents/some-id; do
    req nokey GET "$path"
    check "no key on $path: 401 authentication_error/invalid_api_key" bash -c \
        '[ "$1" = 401 ] && python3 -c "import json,sys; e=json.load(open(sys.argv[1]))[\"error\"]; sys.exit(0 if e[\"type\"]==\"authentication_error\" and e[\"code\"]==\"invalid_api_key\" else 1)" "$2"' \
        _ "$(cat "$T/nokey.code")" "$T/nokey.b"
done
check "401 carries WWW-Authenticate: Bearer" test "$(header nokey WWW-Authenticate)" = Bearer
req nokeychat POST /chat -H 'Content-Type: application/json' -d '{"message":"hi"}'
check "no key on /chat: 401" code_is nokeychat 401
req wrong GET /v1/models -H "$(as "$WRONG")"
check "wrong Bearer key: 401" bash -c '[ "$1" = 401 ]' _ "$(cat "$T/wrong.code")"
check "wrong key: error type and code" err_is wrong authentication_error invalid_api_key
req wrongx POST "/documents?filename=x.txt" -H "X-API-Key: $WRONG" --data-binary 'x'
check "wrong X-API-Key: 401" code_is wrongx 401
req basic GET /v1/models -u "alice:$ALICE"
check "Basic auth is not a key: 401" code_is basic 401
check "the wrong key is not echoed in the error" bash -c '! grep -qF "$1" "$2"' _ "$WRONG" "$T/wrong.b"

echo "== keys, tenants and documents"
req models GET /v1/models -H "$(as "$ALICE")"
check "Bearer key: /v1/models 200" code_is models 200
req modelsx GET /v1/models -H "X-API-Key: $ALICE"
check "X-API-Key: /v1/models 200" code_is modelsx 200
printf 'Zephyrine marmalade is brewed only on the northern island during the longest night.\n' >"$T/secret.txt"
req up POST "/documents?filename=secret.txt&id=alice-secret" -H "$(as "$ALICE")" --data-binary @"$T/secret.txt"
check "alice uploads: 201" code_is up 201
req alist GET /documents -H "$(as "$ALICE")"
check "alice lists her document" jq_py "$T/alist.b" 'any(x["id"]=="alice-secret" for x in d["data"])'
req blist GET /documents -H "$(as "$BOB")"
check "bob's list does not show it" jq_py "$T/blist.b" 'd["data"]==[] and d["has_more"] is False'
req bget GET /documents/alice-secret -H "$(as "$BOB")"
check "bob downloads alice's id: 404" code_is bget 404
req bhead GET /documents/alice-secret -H "$(as "$BOB")" -H 'Range: bytes=0-3'
check "bob with a Range: still 404" code_is bhead 404
req bdel DELETE /documents/alice-secret -H "$(as "$BOB")"
check "bob deletes alice's id: 404" code_is bdel 404
req aget GET /documents/alice-secret -H "$(as "$ALICE")"
check "alice's document survived bob's delete" bash -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$(cat "$T/aget.code")" "$T/aget.b" "$T/secret.txt"
req rget GET /documents/alice-secret -H "$(as "$READER")"
check "the reader key (tenant a) downloads it" code_is rget 200
chat acite "$ALICE" "Where is zephyrine marmalade brewed?"
check "alice's question cites her document" jq_py "$T/acite.b" 'any(s["doc_id"]=="alice-secret" for s in d["sources"])'
chat bcite "$BOB" "Where is zephyrine marmalade brewed?"
check "bob's same question does not cite it" jq_py "$T/bcite.b" 'all(s["doc_id"]!="alice-secret" for s in d["sources"])'

echo "== conversations stay with their tenant"
chat c1 "$ALICE" "The harbour password is pelican."
CONV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["conversation_id"])' "$T/c1.b" 2>/dev/null)
check "alice gets a conversation id" test -n "$CONV"
chat c2 "$ALICE" "[echo] what was the password?" "$CONV"
check "alice continuing her conversation sees her earlier turn" jq_py "$T/c2.b" '"pelican" in d["answer"]'
chat c3 "$BOB" "[echo] what was the password?" "$CONV"
check "bob with alice's conversation id: 200, no history of alice's" bash -c \
    '[ "$1" = 200 ] && python3 -c "import json,sys; a=json.load(open(sys.argv[1]))[\"answer\"]; sys.exit(0 if a.startswith(\"n=2|\") and \"pelican\" not in a else 1)" "$2"' \
    _ "$(cat "$T/c3.code")" "$T/c3.b"
chat c4 "$ALICE" "[echo] and now?" "$CONV"
check "bob's turn did not enter alice's conversation" jq_py "$T/c4.b" '"pelican" in d["answer"] and "what was the password?|assistant:n=2" not in d["answer"]'

echo "== scopes"
req rup POST "/documents?filename=r.txt" -H "$(as "$READER")" --data-binary 'reader text'
check "reader key uploads: 403 permission_error" bash -c '[ "$1" = 403 ]' _ "$(cat "$T/rup.code")"
check "403 error type and code" err_is rup permission_error missing_scope
req rdel DELETE /documents/alice-secret -H "$(as "$READER")"
check "reader key deletes: 403" code_is rdel 403
chat rchat "$READER" "hello"
check "reader key chats: 403" code_is rchat 403
req adoc GET /documents -H "$(as "$ADMIN")"
check "admin-only key lists documents: 403" code_is adoc 403

echo "== rate limits"
for i in 1 2 3; do req "lim$i" GET /v1/models -H "$(as "$LIMITED")"; done
check "3 requests within the budget: 200" bash -c '[ "$(cat "$1/lim1.code" "$1/lim2.code" "$1/lim3.code" | tr -d "\n")" = 200200200 ]' _ "$T"
req lim4 GET /v1/models -H "$(as "$LIMITED")"
check "4th request within a minute: 429" code_is lim4 429
check "429 error type and code" err_is lim4 rate_limit_error rate_limit_exceeded
check "429 Retry-After in whole seconds, 1..60" bash -c '[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 60 ]' _ "$(header lim4 Retry-After)"
chat lim5 "$LIMITED" "still limited?"
check "the limit covers chats too: 429" code_is lim5 429
req other GET /v1/models -H "$(as "$BOB")"
check "another key is not limited" code_is other 200
# 30 tokens a minute: a 108-byte message costs 27, the answer's completion
# tokens (3, charged afterwards) use up the rest, so even 1 more is refused
chat tok1 "$TOK" "$(head -c 108 /dev/zero | tr '\0' 'q')"
check "token budget: the first chat passes" code_is tok1 200
sleep 0.5
chat tok2 "$TOK" "hey!"
check "completion tokens were charged after the answer: 429" code_is tok2 429

echo "== public and admin endpoints"
req health GET /health
check "/health without a key: 200" code_is health 200
req ready GET /ready
check "/ready without a key: 200" code_is ready 200
req m1 GET /metrics
check "/metrics without a key: 401" code_is m1 401
req m2 GET /metrics -H "$(as "$ALICE")"
check "/metrics with a non-admin key: 403" code_is m2 403
req m3 GET /metrics -H "$(as "$ADMIN")"
check "/metrics with the admin key: 200" bash -c '[ "$1" = 200 ] && grep -q "^ragkernel_http_requests_total" "$2"' _ "$(cat "$T/m3.code")" "$T/m3.b"
check "metrics count the 401s and 429s" bash -c 'grep -Eq "code=\"401\",method=\"[A-Z]+\"\} [1-9]" "$1" && grep -Eq "code=\"429\",method=\"[A-Z]+\"\} [1-9]" "$1"' _ "$T/m3.b"
rk_stop

check "no key (right or wrong) appears in the log" bash -c 'for k in "${@:2}"; do grep -qF "$k" "$1" && exit 1; done; exit 0' \
    _ "$RK_LOG" "$ALICE" "$BOB" "$READER" "$LIMITED" "$TOK" "$ADMIN" "$WRONG"
check "the log records the refusals by key name only" grep -q '401 invalid API key' "$RK_LOG"

echo "== listening beyond loopback without keys"
port=$(free_port)
log=$T/open.log
RK_PORT=$port "$RK_BIN" -c tests/integration/configs/auth_open.yaml >"$log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" # it bound 0.0.0.0: take it down at once
    echo "  (ragkernel $pid was still running on 0.0.0.0:$port; killed)"
fi
wait "$pid" 2>/dev/null
rc=$?
check "0.0.0.0 without keys: exit status 1" test "$rc" = 1
check "0.0.0.0 without keys: the message says why" grep -qF \
    "refusing to listen on 0.0.0.0:$port without API keys: configure auth.keys, listen on 127.0.0.1" "$log"
check "no crash or sanitizer report in the server logs" bash -c \
    '! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error|Fatal error in GNU libmicrohttpd" "$@"' _ "$SVC_TMP"/ragkernel.*.log "$log"

rk_summary
