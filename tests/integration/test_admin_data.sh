#!/usr/bin/env bash
# Documents administration over HTTP with curl on the embedded stack and API
# keys per tenant (tests/integration/configs/admin_data.yaml):
# GET /documents/{id}/status (state, chunks, size, type, version, indexed_at),
# POST /documents/{id}/reindex (after the index lost the document's chunks),
# asynchronous uploads (?async=1, Prefer: respond-async, a body over
# documents_async_over: 202 + Location, progress, then indexed; a failure
# after acceptance shows in the status), tenants kept apart (404), scopes
# (403), limits on every parameter (400 naming it), 405, and the state
# after a restart; then conversations: GET /v1/conversations (pages with
# limit/after), GET /v1/conversations/{id} (messages), ?format=export and
# /export, DELETE, a key that cannot see or delete another tenant's
# conversation (404), ?tenant= for admin keys only (403 otherwise), and
# every parameter's limit (400 naming it); last, two hosts sharing the
# conversations in a real PostgreSQL (history_postgres): one lists and
# deletes what the other stored.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
. "$RK_ROOT/tests/lib/http.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
F=tests/fixtures/docs
CFG=tests/integration/configs/admin_data.yaml
export RAGKERNEL_DATA=$T/data # kept across the restart below
key() { head -c 18 /dev/urandom | base64 | tr '+/' 'xy'; }
export ALICE_KEY="sk-a-$(key)" BOB_KEY="sk-b-$(key)" READER_KEY="sk-r-$(key)" ADMIN_KEY="sk-o-$(key)"

# req NAME KEY METHOD PATH [curl args...]: $T/NAME.{code,h,b}; every request
# here carries a key, so this req takes it and replaces http.sh's
req() {
    local name=$1 k=$2 method=$3 path=$4; shift 4
    curl -s --max-time 30 -X "$method" -D "$T/$name.h" -o "$T/$name.b" \
        -H "Authorization: Bearer $k" -w '%{http_code}' "$@" "$RK_URL$path" \
        >"$T/$name.code" 2>/dev/null
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# error_names NAME PARAM: an OpenAI-style error whose param is PARAM
error_names() { jq_py "$T/$1.b" "d['error']['param']=='$2' and d['error']['message']!=''"; }
# settle NAME KEY ID: poll the status until it is no longer pending (20 s)
settle() {
    local i
    for i in $(seq 1 200); do
        req "$1" "$2" GET "/documents/$3/status"
        jq_py "$T/$1.b" 'd["state"]!="pending"' && return 0
        sleep 0.1
    done
    return 1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

rk_start "$CFG" || exit 1

echo "== status of an indexed document"
req up "$ALICE_KEY" POST "/documents?filename=en.txt" --data-binary @"$F/en.txt" -H 'Content-Type: text/plain'
check "upload: 201" code_is up 201
ID=$(field "$T/up.b" id)
req st "$ALICE_KEY" GET "/documents/$ID/status"
check "status: 200" code_is st 200
check "status: indexed, chunks, size, type, version = sha256, indexed_at" jq_py "$T/st.b" \
    "d['object']=='document.status' and d['id']=='$ID' and d['state']=='indexed' and d['error'] is None and d['chunks']>=2 and d['size']==$(stat -c %s "$F/en.txt") and d['content_type']=='text/plain' and d['version']=='$(sha "$F/en.txt")' and d['sha256']==d['version'] and d['indexed_at']>1600000000 and d['created_at']>1600000000"
req dl "$ALICE_KEY" GET "/documents/$ID"
check "download still served at /documents/{id}" code_is dl 200
check "download byte-identical" cmp -s "$T/dl.b" "$F/en.txt"

echo "== tenants and scopes"
req st_bob "$BOB_KEY" GET "/documents/$ID/status"
check "another tenant's document: 404" code_is st_bob 404
req rx_bob "$BOB_KEY" POST "/documents/$ID/reindex"
check "another tenant cannot re-index it: 404" code_is rx_bob 404
req st_reader "$READER_KEY" GET "/documents/$ID/status"
check "documents:read may read the status" code_is st_reader 200
req rx_reader "$READER_KEY" POST "/documents/$ID/reindex"
check "documents:read may not re-index: 403" code_is rx_reader 403
req st_nokey "" GET "/documents/$ID/status"
check "no key: 401" code_is st_nokey 401

echo "== re-index after the index lost the document"
rk_stop
python3 - "$RAGKERNEL_DATA/retriever.sqlite" "$ID" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
n = 0
for t in tables:
    cols = [r[1] for r in db.execute(f"pragma table_info('{t}')")]
    if 'doc_id' in cols:
        n += db.execute(f"delete from '{t}' where doc_id=?", (sys.argv[2],)).rowcount
db.commit()
sys.exit(0 if n > 0 else 1)
PY
check "test setup: the document's chunks removed from the index file" test $? = 0
rk_start "$CFG" || exit 1
# the start-up pass re-indexes what the index lacks; wait for it, then
# drop the chunks again through the running server's index to see "failed"
settle st2 "$ALICE_KEY" "$ID"
check "after a restart the start-up pass re-indexed it" jq_py "$T/st2.b" "d['state']=='indexed' and d['chunks']>=2"
req rx "$ALICE_KEY" POST "/documents/$ID/reindex"
check "reindex: 200" code_is rx 200
check "reindex: indexed again, same version, fresh indexed_at" jq_py "$T/rx.b" \
    "d['state']=='indexed' and d['chunks']>=2 and d['version']=='$(sha "$F/en.txt")' and d['progress']['phase']=='done'"
req rx_get "$ALICE_KEY" GET "/documents/$ID/reindex"
check "GET reindex: 405 naming POST" bash -c '[ "$(cat "$1")" = 405 ] && grep -qi "^allow: POST" "$2"' _ "$T/rx_get.code" "$T/rx_get.h"
req st_post "$ALICE_KEY" POST "/documents/$ID/status"
check "POST status: 405" code_is st_post 405
req rx_none "$ALICE_KEY" POST "/documents/no-such-doc/reindex"
check "reindex unknown: 404" code_is rx_none 404
req st_none "$ALICE_KEY" GET "/documents/no-such-doc/status"
check "status unknown: 404 naming the id" bash -c '[ "$(cat "$1")" = 404 ] && grep -q "no-such-doc" "$2"' _ "$T/st_none.code" "$T/st_none.b"

echo "== limits on parameters"
req bad_id "$ALICE_KEY" GET "/documents/bad!id/status"
check "bad id: 400 naming id" bash -c '[ "$(cat "$1")" = 400 ]' _ "$T/bad_id.code"
check "bad id: param id" error_names bad_id id
LONG=$(printf 'x%.0s' $(seq 1 65))
req long_id "$ALICE_KEY" GET "/documents/$LONG/status"
check "65-byte id: 400 naming id" bash -c '[ "$(cat "$1")" = 400 ]' _ "$T/long_id.code"
check "65-byte id: param id" error_names long_id id
req slash_id "$ALICE_KEY" GET "/documents/a/b/status"
check "id with a slash: 400" code_is slash_id 400
req bad_async "$ALICE_KEY" POST "/documents?filename=x.txt&async=maybe" --data-binary 'Words here.'
check "?async=maybe: 400 naming async" bash -c '[ "$(cat "$1")" = 400 ]' _ "$T/bad_async.code"
check "?async=maybe: param async" error_names bad_async async

echo "== asynchronous uploads"
req a1 "$ALICE_KEY" POST "/documents?filename=sample.md&async=1" --data-binary @"$F/sample.md"
check "?async=1: 202" code_is a1 202
A1=$(field "$T/a1.b" id)
check "202: Location is the status URL" test "$(header a1 Location)" = "/documents/$A1/status"
check "202 body: pending, queued, bytes_total" jq_py "$T/a1.b" \
    "d['state']=='pending' and d['progress']['phase']=='queued' and d['progress']['bytes_total']==$(stat -c %s "$F/sample.md")"
settle a1s "$ALICE_KEY" "$A1"
check "async upload ends indexed with its progress complete" jq_py "$T/a1s.b" \
    "d['state']=='indexed' and d['content_type']=='text/markdown' and d['progress']['phase']=='done' and d['progress']['bytes_stored']==d['size'] and d['progress']['chunks_indexed']==d['progress']['chunks_total']==d['chunks']"
req a1_bob "$BOB_KEY" GET "/documents/$A1/status"
check "async upload invisible to another tenant" code_is a1_bob 404
req a2 "$ALICE_KEY" POST "/documents?filename=sample.html" --data-binary @"$F/sample.html" -H 'Prefer: respond-async, wait=5'
check "Prefer: respond-async: 202" code_is a2 202
python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(2000): f.write(f"Paragraph {i}: the keeper winds the clockwork and trims the wick.\n\n")' "$T/big.txt"
req a3 "$ALICE_KEY" POST "/documents?filename=big.txt" --data-binary @"$T/big.txt" -H 'Content-Type: text/plain'
check "over documents_async_over ($(stat -c %s "$T/big.txt") bytes): 202 unasked" code_is a3 202
req a4 "$ALICE_KEY" POST "/documents?filename=big.txt&async=0" --data-binary @"$T/big.txt" -H 'Content-Type: text/plain'
check "?async=0 forces a synchronous 201" code_is a4 201
req a5 "$ALICE_KEY" POST "/documents?filename=blank.txt&async=1" --data-binary '   '
check "async blank file: accepted (202)" code_is a5 202
settle a5s "$ALICE_KEY" "$(field "$T/a5.b" id)"
check "async blank file: failed, with the reason" jq_py "$T/a5s.b" \
    "d['state']=='failed' and d['error']=='no text could be extracted' and 'size' not in d and d['progress']['phase']=='done'"
settle a2s "$ALICE_KEY" "$(field "$T/a2.b" id)"
check "Prefer upload indexed" jq_py "$T/a2s.b" "d['state']=='indexed'"
settle a3s "$ALICE_KEY" big-txt-"$(printf big.txt | sha256sum | cut -c1-8)"
check "large async upload indexed" jq_py "$T/a3s.b" "d['state']=='indexed' and d['chunks']>=2"

echo "== conversations"
# chat NAME KEY CONV MESSAGE: one turn of conversation CONV
chat() {
    python3 -c 'import json,sys; print(json.dumps({"message": sys.argv[1], "conversation_id": sys.argv[2]}))' "$4" "$3" >"$T/$1.q"
    req "$1" "$2" POST /chat --data-binary @"$T/$1.q" -H 'Content-Type: application/json'
}
chat c1 "$ALICE_KEY" conv-a1 "What does the keeper wind?"
chat c2 "$ALICE_KEY" conv-a1 "And the wick?"
chat c3 "$ALICE_KEY" conv-a2 "Hello there"
chat c4 "$ALICE_KEY" "conv a3 (ünïcode)" "Third one"
chat c5 "$BOB_KEY" conv-b1 "Bob's question"
check "chats answered" bash -c 'for c in c1 c2 c3 c4 c5; do [ "$(cat "$1/$c.code")" = 200 ] || exit 1; done' _ "$T"
# the turns are saved off the request path: wait until all four are listed
for i in $(seq 1 100); do
    req cl "$ALICE_KEY" GET "/v1/conversations"
    jq_py "$T/cl.b" 'len(d["data"])==3 and sum(c["messages"] for c in d["data"])==8' && break
    sleep 0.1
done
check "list: alice's three conversations, in id order, with message counts" jq_py "$T/cl.b" \
    "d['object']=='list' and [c['id'] for c in d['data']]==['conv a3 (ünïcode)','conv-a1','conv-a2'] and [c['messages'] for c in d['data']]==[2,4,2] and d['has_more']==False and d['next'] is None and all(c['updated_at']>=c['created_at']>1600000000 for c in d['data'])"
req clp "$ALICE_KEY" GET "/v1/conversations?limit=2"
check "page 1 of 2: has_more, next" jq_py "$T/clp.b" "len(d['data'])==2 and d['has_more'] and d['next']=='conv-a1'"
req clp2 "$ALICE_KEY" GET "/v1/conversations?limit=2&after=conv-a1"
check "page 2 of 2" jq_py "$T/clp2.b" "[c['id'] for c in d['data']]==['conv-a2'] and not d['has_more']"
req cb "$BOB_KEY" GET "/v1/conversations"
check "bob sees only his own" jq_py "$T/cb.b" "[c['id'] for c in d['data']]==['conv-b1']"
req cg "$ALICE_KEY" GET "/v1/conversations/conv-a1"
check "get: the messages, oldest first" jq_py "$T/cg.b" \
    "d['object']=='conversation' and d['id']=='conv-a1' and [m['role'] for m in d['messages']]==['user','assistant','user','assistant'] and d['messages'][0]['content']=='What does the keeper wind?' and d['messages'][2]['content']=='And the wick?'"
req cgu "$ALICE_KEY" GET "/v1/conversations/conv%20a3%20(%C3%BCn%C3%AFcode)"
check "get by a percent-encoded id" jq_py "$T/cgu.b" "d['id']=='conv a3 (ünïcode)' and len(d['messages'])==2"
req ce "$ALICE_KEY" GET "/v1/conversations/conv-a1?format=export"
check "?format=export: the whole conversation as a document" jq_py "$T/ce.b" \
    "d['object']=='conversation.export' and d['id']=='conv-a1' and d['tenant']=='a' and d['message_count']==4 and d['exported_at']>1600000000 and all('created_ms' in m for m in d['messages'])"
check "export: an attachment" bash -c 'grep -qi "^content-disposition: attachment; filename=\"conversation-conv-a1.json\"" "$1"' _ "$T/ce.h"
req ce2 "$ALICE_KEY" GET "/v1/conversations/conv-a1/export"
check "/export: the same document" jq_py "$T/ce2.b" "d['object']=='conversation.export' and d['message_count']==4"
echo "== conversations: tenants and scopes"
req xg "$BOB_KEY" GET "/v1/conversations/conv-a1"
check "bob cannot read alice's conversation: 404" code_is xg 404
req xe "$BOB_KEY" GET "/v1/conversations/conv-a1/export"
check "bob cannot export it: 404" code_is xe 404
req xd "$BOB_KEY" DELETE "/v1/conversations/conv-a1"
check "bob cannot delete it: 404" code_is xd 404
req xt "$BOB_KEY" GET "/v1/conversations?tenant=a"
check "?tenant= without the admin scope: 403 naming tenant" bash -c '[ "$(cat "$1")" = 403 ]' _ "$T/xt.code"
check "403 names tenant" error_names xt tenant
req xr "$READER_KEY" GET "/v1/conversations"
check "documents:read only: 403" code_is xr 403
req at "$ADMIN_KEY" GET "/v1/conversations?tenant=a"
check "admin with ?tenant=a sees alice's" jq_py "$T/at.b" "len(d['data'])==3"
req ag "$ADMIN_KEY" GET "/v1/conversations/conv-b1?tenant=b"
check "admin reads bob's conversation with ?tenant=b" jq_py "$T/ag.b" "d['messages'][0]['content']==\"Bob's question\""
req ao "$ADMIN_KEY" GET "/v1/conversations"
check "admin without ?tenant= sees its own tenant (none)" jq_py "$T/ao.b" "d['data']==[]"
echo "== conversations: limits on parameters"
req pl0 "$ALICE_KEY" GET "/v1/conversations?limit=0"
check "limit=0: 400 naming limit" error_names pl0 limit
req pl1 "$ALICE_KEY" GET "/v1/conversations?limit=1001"
check "limit=1001: 400 naming limit" error_names pl1 limit
req pl2 "$ALICE_KEY" GET "/v1/conversations?limit=99999999999999999999999"
check "limit of 23 digits: 400 naming limit" error_names pl2 limit
req pl3 "$ALICE_KEY" GET "/v1/conversations?limit=1000"
check "limit=1000: 200" code_is pl3 200
LONGC=$(printf 'c%.0s' $(seq 1 129))
req pa "$ALICE_KEY" GET "/v1/conversations?after=$LONGC"
check "a 129-byte cursor: 400 naming after" error_names pa after
req pt "$ADMIN_KEY" GET "/v1/conversations?tenant=bad!tenant"
check "a bad tenant: 400 naming tenant" error_names pt tenant
req pi "$ALICE_KEY" GET "/v1/conversations/$LONGC"
check "a 129-byte id: 400 naming id" error_names pi id
req pc "$ALICE_KEY" GET "/v1/conversations/a%01b"
check "a control character in the id: 400 naming id" error_names pc id
req pf "$ALICE_KEY" GET "/v1/conversations/conv-a1?format=xml"
check "format=xml: 400 naming format" error_names pf format
req pn "$ALICE_KEY" GET "/v1/conversations/no-such-conv"
check "unknown conversation: 404 naming it" bash -c '[ "$(cat "$1")" = 404 ] && grep -q no-such-conv "$2"' _ "$T/pn.code" "$T/pn.b"
req pp "$ALICE_KEY" POST "/v1/conversations" -d '{}'
check "POST /v1/conversations: 405" code_is pp 405
echo "== conversations: delete"
req cd1 "$ALICE_KEY" DELETE "/v1/conversations/conv-a2"
check "delete: 204" code_is cd1 204
req cd2 "$ALICE_KEY" DELETE "/v1/conversations/conv-a2"
check "delete again: 404" code_is cd2 404
req cd3 "$ALICE_KEY" GET "/v1/conversations/conv-a2"
check "deleted: 404 on get" code_is cd3 404
req cl2 "$ALICE_KEY" GET "/v1/conversations"
check "deleted: no longer listed" jq_py "$T/cl2.b" "[c['id'] for c in d['data']]==['conv a3 (ünïcode)','conv-a1']"
req cb2 "$BOB_KEY" GET "/v1/conversations/conv-b1"
check "bob's conversation untouched" code_is cb2 200

echo "== after a restart"
rk_stop
rk_start "$CFG" || exit 1
settle r1 "$ALICE_KEY" "$A1"
check "async upload still indexed after a restart" jq_py "$T/r1.b" "d['state']=='indexed' and d['indexed_at']>1600000000"
req r5 "$ALICE_KEY" GET "/documents/$(field "$T/a5.b" id)/status"
check "a failure before anything was stored is not kept across a restart: 404" code_is r5 404
req rc "$ALICE_KEY" GET "/v1/conversations"
check "conversations persist across a restart" jq_py "$T/rc.b" "[c['id'] for c in d['data']]==['conv a3 (ünïcode)','conv-a1']"

echo "== conversations in PostgreSQL, two hosts"
rk_stop
start_postgres rkadmin rk rk_pw || exit 1
export PG_URL
RAGKERNEL_DATA=$T/pg_a rk_start tests/integration/configs/admin_data_pg.yaml || exit 1
A=$RK_URL; A_PID=$RK_PID
RAGKERNEL_DATA=$T/pg_b rk_start tests/integration/configs/admin_data_pg.yaml || exit 1
B=$RK_URL
RK_URL=$A chat p1 "$ALICE_KEY" pg-conv-1 "Stored through host A"
RK_URL=$A chat p2 "$ALICE_KEY" pg-conv-2 "Also through host A"
RK_URL=$A chat p3 "$BOB_KEY" pg-conv-b "Bob through host A"
for i in $(seq 1 100); do
    req pgl "$ALICE_KEY" GET "/v1/conversations"
    jq_py "$T/pgl.b" 'sum(c["messages"] for c in d["data"])==4' && break
    sleep 0.1
done
check "host B lists alice's conversations stored through A" jq_py "$T/pgl.b" \
    "[c['id'] for c in d['data']]==['pg-conv-1','pg-conv-2'] and all(c['messages']==2 for c in d['data'])"
req pgx "$BOB_KEY" GET "/v1/conversations/pg-conv-1"
check "bob cannot read it on B: 404" code_is pgx 404
req pgxd "$BOB_KEY" DELETE "/v1/conversations/pg-conv-1"
check "bob cannot delete it on B: 404" code_is pgxd 404
req pgd "$ALICE_KEY" DELETE "/v1/conversations/pg-conv-1"
check "host B deletes it: 204" code_is pgd 204
RK_URL=$A req pgg "$ALICE_KEY" GET "/v1/conversations/pg-conv-1"
check "host A no longer has it: 404" code_is pgg 404
RK_URL=$A req pgl2 "$ALICE_KEY" GET "/v1/conversations?limit=1"
check "host A lists the rest, one per page" jq_py "$T/pgl2.b" \
    "[c['id'] for c in d['data']]==['pg-conv-2'] and not d['has_more']"
RK_URL=$A req pgb "$BOB_KEY" GET "/v1/conversations/pg-conv-b/export"
check "bob's conversation untouched (export on A)" jq_py "$T/pgb.b" "d['message_count']==2 and d['tenant']=='b'"
rk_stop "$A_PID"

rk_summary
