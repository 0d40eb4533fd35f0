#!/usr/bin/env bash
# API keys managed over HTTP (POST/GET /admin/keys, POST /admin/keys/{id}/rotate,
# DELETE /admin/keys/{id}), kept as SHA-256 digests in the history store:
# two hosts A and B sharing PostgreSQL (a key created on A works on B within
# auth.refresh = 1 s; a rotation and a revocation made on one host take effect
# on the other), one host C on SQLite, one host D whose history plugin lacks
# the key slots (501 naming it). Also: the secret is shown once and stored
# nowhere (grepped in pg_dump and in the SQLite dump), a non-admin key gets
# 403, config keys keep working and cannot be revoked over HTTP (409), input
# limits (400 naming the field), expiry.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
CFG=tests/integration/configs/admin_keys.yaml
WAIT_S=10 # bound on "every host sees it": refresh is 1 s, 10x slack

key() { echo "cfg-$1-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
export ADMIN_KEY=$(key admin) USER_KEY=$(key user)

start_postgres rkdb rk rk_pw || exit 1
export DATABASE_URL=$PG_URL
rk_start "$CFG" RK_HISTORY=hist_pg || exit 1; A=$RK_URL
rk_start "$CFG" RK_HISTORY=hist_pg || exit 1; B=$RK_URL
rk_start "$CFG" RK_HISTORY=hist_sqlite || exit 1; C=$RK_URL; C_PORT=$RK_PORT
rk_start "$CFG" RK_HISTORY=hist_old || exit 1; D=$RK_URL

# call NAME KEY METHOD URL [curl args]: body in $T/NAME.b, status echoed
call() {
    local name=$1 k=$2 method=$3 url=$4; shift 4
    curl -s --max-time 10 -X "$method" -o "$T/$name.b" -w '%{http_code}' \
        -H "Authorization: Bearer $k" "$@" "$url"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.b" "$2"; }
models() { call models "$1" GET "$2/v1/models"; }
# until_code KEY HOST CODE: poll /v1/models until it answers CODE (<= WAIT_S);
# prints the milliseconds it took, fails on timeout
until_code() {
    local t0=$(date +%s%N) end=$((SECONDS + WAIT_S))
    while [ "$(models "$1" "$2")" != "$3" ]; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

echo "== create on A, use on B"
code=$(call created "$ADMIN_KEY" POST "$A/admin/keys" \
       -d '{"name": "ci-bot", "tenant": "acme", "scopes": ["chat"], "requests_per_min": 100}')
check "POST /admin/keys: 201" test "$code" = 201
S1=$(field created secret); ID=$(field created id)
check "the secret has the rk_ prefix and 48 hex digits" grep -qE '^rk_[0-9a-f]{48}$' <<<"$S1"
check "the answer names no digest" bash -c '! grep -qi sha256 "$1"' _ "$T/created.b"
check "A accepts it at once" test "$(models "$S1" "$A")" = 200
ms=$(until_code "$S1" "$B" 200); rc=$?
check "B accepts it within ${WAIT_S}s (took ${ms:-?} ms)" test $rc = 0
code=$(call listB "$ADMIN_KEY" GET "$B/admin/keys?tenant=acme")
check "GET /admin/keys on B: 200, lists it with its tenant and scopes" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))["data"]
k=[x for x in d if x["id"]==sys.argv[2]]
sys.exit(0 if k and k[0]["tenant"]=="acme" and k[0]["scopes"]==["chat"] and k[0]["source"]=="stored" else 1)' "$T/listB.b" "$ID"
check "the listing holds no secret and no digest" bash -c \
    '! grep -qF "$2" "$1" && ! grep -qE "secret|sha256|[0-9a-f]{64}" "$1"' _ "$T/listB.b" "$S1"
check "the listing shows config keys as source config" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))["data"]
sys.exit(0 if any(x["id"]=="user" and x["source"]=="config" for x in d) else 1)' "$T/listB.b"

echo "== rotate on A: the old secret fails on both hosts"
code=$(call rot1 "$ADMIN_KEY" POST "$A/admin/keys/$ID/rotate")
check "rotate: 200 with a new secret" test "$code" = 200
S2=$(field rot1 secret)
check "the new secret differs" test "$S2" != "$S1"
check "A: old secret 401 at once" test "$(models "$S1" "$A")" = 401
check "A: new secret 200" test "$(models "$S2" "$A")" = 200
ms=$(until_code "$S1" "$B" 401); rc=$?
check "B: old secret 401 within ${WAIT_S}s (took ${ms:-?} ms)" test $rc = 0
check "B: new secret 200" test "$(models "$S2" "$B")" = 200

echo "== rotate with a grace: both secrets work until it ends"
code=$(call rot2 "$ADMIN_KEY" POST "$A/admin/keys/$ID/rotate" -d '{"grace": 3}')
S3=$(field rot2 secret)
check "rotate with grace: 200, grace_until set" bash -c '[ "$1" = 200 ] && [ "$2" != None ]' _ "$code" "$(field rot2 grace_until)"
check "A: previous secret still 200 during the grace" test "$(models "$S2" "$A")" = 200
check "A: new secret 200" test "$(models "$S3" "$A")" = 200
ms=$(until_code "$S3" "$B" 200); rc=$?
check "B: new secret 200 within ${WAIT_S}s (took ${ms:-?} ms)" test $rc = 0
ms=$(until_code "$S2" "$A" 401); rc=$?
check "A: previous secret 401 once the 3 s grace ended (after ${ms:-?} ms)" test $rc = 0

echo "== revoke on B: fails on both"
code=$(call rev "$ADMIN_KEY" DELETE "$B/admin/keys/$ID")
check "DELETE /admin/keys/{id}: 204" test "$code" = 204
check "B: 401 at once" test "$(models "$S3" "$B")" = 401
ms=$(until_code "$S3" "$A" 401); rc=$?
check "A: 401 within ${WAIT_S}s (took ${ms:-?} ms)" test $rc = 0
code=$(call revrot "$ADMIN_KEY" POST "$A/admin/keys/$ID/rotate")
check "rotating a revoked key: 409" test "$code" = 409
code=$(call listA "$ADMIN_KEY" GET "$A/admin/keys")
check "the listing shows when it was revoked" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))["data"]
sys.exit(0 if any(x["id"]==sys.argv[2] and x["revoked_at"] for x in d) else 1)' "$T/listA.b" "$ID"
code=$(call rev404 "$ADMIN_KEY" DELETE "$A/admin/keys/key_0000000000000000")
check "revoking an unknown id: 404" test "$code" = 404

echo "== scopes and config keys"
check "config key user still works on A, B, C" bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$2/v1/models")$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$3/v1/models")$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$4/v1/models")" = 200200200 ]' _ "$USER_KEY" "$A" "$B" "$C"
check "a non-admin config key: GET /admin/keys 403" test "$(call na1 "$USER_KEY" GET "$A/admin/keys")" = 403
check "a non-admin config key: POST /admin/keys 403" \
    test "$(call na2 "$USER_KEY" POST "$A/admin/keys" -d '{"name":"x"}')" = 403
call chatkey "$ADMIN_KEY" POST "$A/admin/keys" -d '{"name": "chat-only", "scopes": ["chat"]}' >/dev/null
SC=$(field chatkey secret)
check "a stored chat-only key: GET /admin/keys 403" test "$(call na3 "$SC" GET "$A/admin/keys")" = 403
code=$(call cfgrev "$ADMIN_KEY" DELETE "$A/admin/keys/user")
check "revoking a config key: 409 naming auth.keys" bash -c '[ "$1" = 409 ] && grep -q "auth.keys" "$2"' _ "$code" "$T/cfgrev.b"
code=$(call cfgrot "$ADMIN_KEY" POST "$A/admin/keys/admin/rotate")
check "rotating a config key: 409" test "$code" = 409

echo "== input limits"
bad() { # bad WHAT BODY WORD: 400 whose message names WORD
    local code; code=$(call bad "$ADMIN_KEY" POST "$A/admin/keys" -d "$2")
    check "$1: 400 naming $3" bash -c '[ "$1" = 400 ] && grep -q "$2" "$3"' _ "$code" "$3" "$T/bad.b"
}
bad "no name" '{"scopes": ["chat"]}' name
bad "a 65-character name" "{\"name\": \"$(printf 'n%.0s' {1..65})\"}" name
bad "a name with a space" '{"name": "a b"}' name
bad "an unknown scope" '{"name": "x", "scopes": ["root"]}' scopes
bad "an empty scope list" '{"name": "x", "scopes": []}' scopes
bad "a negative expires_in" '{"name": "x", "expires_in": -1}' expires_in
bad "a string limit" '{"name": "x", "requests_per_min": "10"}' requests_per_min
bad "an unknown field" '{"name": "x", "scope": ["chat"]}' "Unknown field 'scope'"
bad "a bad tenant" '{"name": "x", "tenant": "../etc"}' tenant
code=$(call badg "$ADMIN_KEY" POST "$A/admin/keys/key_x/rotate" -d '{"grace": 999999999}')
check "a grace over a week: 400 naming grace" bash -c '[ "$1" = 400 ] && grep -q grace "$2"' _ "$code" "$T/badg.b"
code=$(call badid "$ADMIN_KEY" DELETE "$A/admin/keys/a%20b")
check "a bad id in the path: 400" test "$code" = 400
check "POST /admin/keys/{id} without /rotate: 405 (DELETE only)" \
    test "$(call norot "$ADMIN_KEY" POST "$A/admin/keys/key_x")" = 405
check "DELETE /admin/keys/{id}/rotate: 405 (POST only)" \
    test "$(call delrot "$ADMIN_KEY" DELETE "$A/admin/keys/key_x/rotate")" = 405
check "GET /admin/keys/{id}: 405" test "$(call getid "$ADMIN_KEY" GET "$A/admin/keys/key_x")" = 405
check "a bad tenant filter: 400" test "$(call badt "$ADMIN_KEY" GET "$A/admin/keys?tenant=a/b")" = 400
check "no key at all: 401 before the path is looked at" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$A/admin/keys/a%20b")" = 401

echo "== expiry"
call exp "$ADMIN_KEY" POST "$A/admin/keys" -d '{"name": "short", "scopes": ["chat"], "expires_in": 3}' >/dev/null
SE=$(field exp secret)
check "an expiring key works before its time" test "$(models "$SE" "$A")" = 200
ms=$(until_code "$SE" "$A" 401); rc=$?
check "... and is refused after it (after ${ms:-?} ms)" test $rc = 0

echo "== the PostgreSQL store holds digests, never secrets"
"$PG_BIN/pg_dump" -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d rkdb >"$T/pg.dump" 2>"$T/pg_dump.err"
check "pg_dump has the api_keys table" grep -q 'rk_api_keys' "$T/pg.dump"
check "... with the digest of the last secret" grep -q "$(printf %s "$S3" | sha256sum | cut -c1-64)" "$T/pg.dump"
check "... and none of the secrets" bash -c 'for s in "${@:2}"; do grep -qF "$s" "$1" && exit 1; done; exit 0' \
    _ "$T/pg.dump" "$S1" "$S2" "$S3" "$SC" "$SE"

echo "== host C on SQLite"
code=$(call cc "$ADMIN_KEY" POST "$C/admin/keys" -d '{"name": "local", "scopes": ["chat", "documents:read"]}')
SL=$(field cc secret); IDL=$(field cc id)
check "C: create 201, the key works" bash -c '[ "$1" = 201 ] && [ "$2" = 200 ]' _ "$code" "$(models "$SL" "$C")"
check "A and B do not know C's key (another store)" bash -c '[ "$1$2" = 401401 ]' _ "$(models "$SL" "$A")" "$(models "$SL" "$B")"
check "C: revoke 204, then 401" bash -c '[ "$1" = 204 ] && [ "$2" = 401 ]' _ \
    "$(call cr "$ADMIN_KEY" DELETE "$C/admin/keys/$IDL")" "$(models "$SL" "$C")"
sqlite3 "$T/data.$C_PORT/history.sqlite" .dump >"$T/sqlite.dump" 2>&1
check "the SQLite dump has the record but not the secret" bash -c \
    'grep -q "$2" "$1" && ! grep -qF "$3" "$1"' _ "$T/sqlite.dump" "$IDL" "$SL"

echo "== a history plugin without the key slots"
code=$(call old "$ADMIN_KEY" POST "$D/admin/keys" -d '{"name": "x"}')
check "D: POST /admin/keys 501 naming the plugin" bash -c '[ "$1" = 501 ] && grep -q good_history "$2"' _ "$code" "$T/old.b"
check "D: GET /admin/keys still lists config keys" test "$(call oldl "$ADMIN_KEY" GET "$D/admin/keys")" = 200
check "D: config keys work" test "$(models "$USER_KEY" "$D")" = 200

check "no secret reached any log" bash -c 'for s in "${@:2}"; do grep -qF "$s" "$1"/ragkernel.*.log && exit 1; done; exit 0' \
    _ "$T" "$S1" "$S2" "$S3" "$SC" "$SE" "$SL"
rk_summary
