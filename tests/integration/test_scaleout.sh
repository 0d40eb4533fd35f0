#!/usr/bin/env bash
# Scale-out: two ragkernel hosts running config/multi-host.yaml behind nginx,
# sharing Redis (cache, rate limits), PostgreSQL (history, retrieval index)
# and an S3-compatible server (documents), with the mock LLM upstream. Shows
# a conversation continuing across hosts, a document uploaded through A
# cited by B, a rate limit enforced across both, a cache hit on B for an
# answer computed on A, and tenant isolation on the shared engines.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"; . "$RK_ROOT/tests/lib/mock.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init

start_redis || exit 1
start_postgres rkdb rk rk_pw || exit 1
start_s3 || exit 1
start_mock --label gpt || exit 1

export DATABASE_URL=$PG_URL S3_ENDPOINT S3_BUCKET=rk-scale S3_PATH_STYLE=true \
       S3_CREATE_BUCKET=true AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
       REDIS_PORT OPENAI_BASE_URL=$MOCK_URL/v1 OPENAI_API_KEY=sk-mock OPENAI_MODEL=mock \
       RK_KEY_ACME=acme-key-0123456789 RK_KEY_OPS=ops-key-0123456789 \
       RK_KEY_TRIAL=trial-key-0123456789 RK_TRIAL_RPM=4 RAGKERNEL_LOG_FORMAT=logfmt
ACME=(-H "Authorization: Bearer $RK_KEY_ACME")
OPS=(-H "Authorization: Bearer $RK_KEY_OPS")
TRIAL=(-H "Authorization: Bearer $RK_KEY_TRIAL")

rk_start config/multi-host.yaml || exit 1; A=$RK_URL; A_PORT=$RK_PORT
rk_start config/multi-host.yaml || exit 1; B=$RK_URL; B_PORT=$RK_PORT
NGINX_SERVER_OPTS="max_fails=0" start_nginx "127.0.0.1:$A_PORT" "127.0.0.1:$B_PORT" || exit 1
LB=http://127.0.0.1:$NGINX_PORT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
stats() { curl -s --max-time 5 "$MOCK_URL/__stats"; }

echo "== a conversation continues across hosts"
conv=$(curl -s --max-time 10 "${ACME[@]}" "$A/chat" -d '{"message": "Remember the codeword Zorro42."}' | json 'd["conversation_id"]')
check "host A started a conversation" test -n "$conv"
code=$(curl -s -o "$SVC_TMP/b.json" -w '%{http_code}' --max-time 10 "${ACME[@]}" "$B/chat" \
       -d "{\"message\": \"What was the codeword?\", \"conversation_id\": \"$conv\"}")
check "host B answered in the same conversation" test "$code" = 200
check "host B sent A's earlier message upstream" grep -q 'Zorro42' <(stats | json 'json.dumps(d["last"]["/v1/chat/completions"]["body"])')

echo "== a document uploaded through A is cited by B"
printf 'Okapi facts.\n\nThe okapi is a giraffid that lives in the Ituri rainforest of Congo; its striped legs look like a zebra.\n' >"$SVC_TMP/okapi.txt"
doc=$(curl -s --max-time 10 "${ACME[@]}" "$A/documents?filename=okapi.txt" -H 'Content-Type: text/plain' \
      --data-binary @"$SVC_TMP/okapi.txt" | json 'd["id"]')
check "upload through A" test -n "$doc"
cited=$(curl -s --max-time 10 "${ACME[@]}" "$B/chat" -d '{"message": "Where does the okapi live?"}' | json '" ".join(s["doc_id"] for s in d["sources"])')
check "B cites the document" grep -qw "$doc" <<<"$cited"
check "B downloads it byte-identical" cmp -s "$SVC_TMP/okapi.txt" <(curl -s --max-time 10 "${ACME[@]}" "$B/documents/$doc")
check "another tenant gets 404 for it on B" test "$(curl -s -o /dev/null -w '%{http_code}' "${OPS[@]}" "$B/documents/$doc")" = 404

echo "== an answer computed on A is a cache hit on B"
q='{"model": "mock", "messages": [{"role": "user", "content": "cache me across hosts 7"}]}'
curl -s -D "$SVC_TMP/ha" -o /dev/null --max-time 10 "${ACME[@]}" "$A/v1/chat/completions" -H 'Content-Type: application/json' -d "$q"
before=$(stats | json 'd["total"]')
curl -s -D "$SVC_TMP/hb" -o "$SVC_TMP/cb.json" --max-time 10 "${ACME[@]}" "$B/v1/chat/completions" -H 'Content-Type: application/json' -d "$q"
after=$(stats | json 'd["total"]')
check "A computed it (X-Cache: miss)" grep -qi '^x-cache: miss' "$SVC_TMP/ha"
check "B served it from the shared cache (X-Cache: hit)" grep -qi '^x-cache: hit' "$SVC_TMP/hb"
check "no upstream call for B's answer" test "$before" = "$after"

echo "== a rate limit is enforced across both hosts (4 requests/min)"
codes=""
for h in "$A" "$B" "$A" "$B" "$A"; do
    codes+=" $(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${TRIAL[@]}" "$h/chat" -d '{"message":"hi"}')"
done
echo "  codes:$codes"
check "first four pass" test "$(echo $codes | cut -d' ' -f1-4)" = "200 200 200 200"
check "fifth is 429 on the other host" test "$(echo $codes | cut -d' ' -f5)" = 429

echo "== through the balancer"
check "/chat through nginx" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${ACME[@]}" "$LB/chat" -d '{"message":"hello"}')" = 200
check "no key through nginx: 401" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$LB/chat" -d '{"message":"hello"}')" = 401
rk_summary
