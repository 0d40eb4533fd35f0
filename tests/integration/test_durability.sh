#!/usr/bin/env bash
# Crash consistency of documents (and of acknowledged chat turns) on the
# embedded stack (tests/integration/configs/durability.yaml):
#  1. kill -9 at random points of a mixed upload/replace/delete/chat load
#     from four clients (durability_load.py), DURABILITY_KILLS times (12);
#     after each restart every acknowledged write is there, nothing
#     unacknowledged is half there, the index holds exactly the stored
#     version of every document, and no staging file is left;
#  2. a full disk (a 2 MB tmpfs as the data directory): uploads fail with
#     503 and leave nothing behind, the host stays up, and recovers once
#     space is freed (skipped, saying why, where mounting is not allowed);
#  3. a damaged retriever.sqlite (truncated, garbage on page 2, not a
#     database at all): the host starts, sets the file aside, says so in
#     one line and re-indexes every document from storage.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
MNT=""
cleanup() { stop_all; if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null; rmdir "$MNT"; fi; }
trap cleanup EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
CFG=tests/integration/configs/durability.yaml
LOAD=tests/integration/durability_load.py
KILLS=${DURABILITY_KILLS:-12}
# sanitizer builds are several times slower: the history append may lag
# more, so turns are checked with a wider margin and the load runs longer
EXTRA=0
if [ "${SAN:-0}" != 0 ]; then export HISTORY_GRACE=3; EXTRA=3; fi

# wait_reindexed: the start-up pass of the host just started has finished
wait_reindexed() {
    local deadline=$((SECONDS + 60))
    until grep -q 're-indexed [0-9]* documents from storage' "$RK_LOG"; do
        [ $SECONDS -lt $deadline ] && kill -0 "$RK_PID" 2>/dev/null || return 1
        sleep 0.1
    done
}
now() { date +%s.%N; }

echo "== 1. kill -9 during a mixed load from four clients, $KILLS times"
export RAGKERNEL_DATA=$T/crash
STATE=$T/state.json
violations=0 killed=0 stale=0 staged=0
rk_start "$CFG" || exit 1
for i in $(seq 1 "$KILLS"); do
    python3 "$LOAD" load "$RK_URL" "$STATE" "$i" >"$T/load.$i.log" 2>&1 &
    load_pid=$!
    sleep "$(python3 -c "import random; random.seed($i); print(round($EXTRA + random.uniform(0.5, 3.5), 2))")"
    kill_at=$(now)
    kill -KILL "$RK_PID"; wait "$RK_PID" 2>/dev/null
    killed=$((killed + 1))
    wait "$load_pid"
    rk_start "$CFG" || { echo "restart $i failed"; tail -20 "$RK_LOG"; break; }
    if ! wait_reindexed; then echo "restart $i: no re-index summary"; tail -20 "$RK_LOG"; break; fi
    out=$(python3 "$LOAD" verify "$RK_URL" "$STATE" "$RAGKERNEL_DATA" "$kill_at")
    echo "kill $i: $out"
    n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["violations"])' "$out" 2>/dev/null || echo 1)
    violations=$((violations + n))
    stale=$((stale + $(grep -o 'index [a-z]* version' <<<"$out" | wc -l)))
    staged=$((staged + $(grep -o 'left behind' <<<"$out" | wc -l)))
done
echo "kills survived: $killed, violations: $violations (index out of step: $stale, files left behind: $staged)"
check "$KILLS kills, each restarted and verified" test "$killed" = "$KILLS"
check "no acknowledged write lost, nothing half there, index = storage, no staging file" \
    test "$violations" = 0
rk_stop

echo "== 2. a full disk"
MNT=$(mktemp -d /tmp/rk_full.XXXXXX)
if ! mount -t tmpfs -o size=2m tmpfs "$MNT" 2>"$T/mount.err"; then
    echo "SKIP disk-full cases: cannot mount a tmpfs here ($(cat "$T/mount.err"))"
    rmdir "$MNT"; MNT=""
else
    export RAGKERNEL_DATA=$MNT/data
    rk_start "$CFG" || exit 1
    printf 'The keeper logs qzkeepword every evening.\n\nNothing else.\n' >"$T/keep.txt"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$RK_URL/documents?filename=keep.txt" --data-binary @"$T/keep.txt")
    check "a small upload on the small disk: 201" test "$code" = 201
    python3 -c 'import sys; sys.stdout.write(("fog horn lamp lens harbour ledger " * 12000)[:300000])' >"$T/big.txt"
    first503="" ok=0
    for k in $(seq 1 12); do
        code=$(curl -s -o "$T/full.$k.json" -w '%{http_code}' --max-time 30 "$RK_URL/documents?filename=big$k.txt" --data-binary @"$T/big.txt")
        if [ "$code" = 201 ]; then ok=$((ok + 1)); elif [ -z "$first503" ]; then first503=$k; fi
        [ "$code" = 201 ] || [ "$code" = 503 ] || { echo "upload big$k: $code"; first503=bad; break; }
    done
    echo "disk full after $ok uploads of 300 KB; first refusal: big$first503: $(head -c 300 "$T/full.$first503.json" 2>/dev/null)"
    check "uploads on a full disk fail with 503 (JSON body)" \
        bash -c '[ -n "$1" ] && [ "$1" != bad ] && python3 -c "import json,sys; json.load(open(sys.argv[1]))[\"error\"]" "$2"' _ "$first503" "$T/full.$first503.json"
    check "the host stays up" curl -sf -o /dev/null --max-time 5 "$RK_URL/health"
    curl -s --max-time 10 "$RK_URL/documents?limit=1000" >"$T/full.list"
    check "refused uploads are not listed" python3 -c '
import json,sys
ids=[d["filename"] for d in json.load(open(sys.argv[1]))["data"]]
sys.exit(0 if len(ids)==1+int(sys.argv[2]) and all(("big%d.txt"%k in ids)==(k<=int(sys.argv[2])) for k in range(1,13)) else 1)' "$T/full.list" "$ok"
    check "no staging file, backup or orphan blob on the full disk" \
        bash -c '[ -z "$(find "$1/documents" -name ".*" -type f)" ] && for b in $(find "$1/documents" -name "*.blob"); do [ -e "${b%.blob}.meta.json" ] || exit 1; done' _ "$RAGKERNEL_DATA"
    curl -s --max-time 10 "$RK_URL/chat" -d '{"message": "qzkeepword"}' >"$T/full.chat"
    check "the earlier document is still searchable" grep -q '"doc_id":"keep-txt-' "$T/full.chat"
    big1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/full.1.json" 2>/dev/null)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X DELETE "$RK_URL/documents/$big1")
    code2=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$RK_URL/documents?filename=after.txt" --data-binary @"$T/keep.txt")
    check "space freed by a delete: uploads work again ($code, $code2)" test "$code $code2" = "204 201"
    rk_stop
fi

echo "== 3. a damaged retriever.sqlite heals"
export RAGKERNEL_DATA=$T/damaged
rk_start "$CFG" || exit 1
for w in qzalpha qzbravo qzcharlie; do
    printf 'Notes about %s.\n\n%s is kept in the harbour ledger.\n' "$w" "$w" >"$T/$w.txt"
    curl -s -o /dev/null --max-time 30 "$RK_URL/documents?filename=$w.txt" --data-binary @"$T/$w.txt"
done
python3 -c 'import sys; sys.stdout.write("lamp wick " * 40000)' >"$T/filler.txt"
curl -s -o /dev/null --max-time 30 "$RK_URL/documents?filename=filler.txt" --data-binary @"$T/filler.txt"
rk_stop
damage() { # CASE FILE
    case $1 in
        truncated) truncate -s 6000 "$2" ;;
        garbage)   dd if=/dev/urandom of="$2" bs=4096 seek=1 count=1 conv=notrunc status=none ;;
        notadb)    head -c 20000 /dev/urandom >"$2" ;;
    esac
}
for c in truncated garbage notadb; do
    rm -f "$RAGKERNEL_DATA"/retriever.sqlite.corrupt-*
    damage $c "$RAGKERNEL_DATA/retriever.sqlite"
    if ! rk_start "$CFG"; then check "$c: the host starts" false; continue; fi
    check "$c: one log line says the file was damaged and moved aside" \
        test "$(grep -c 'retriever.sqlite is damaged.*moved it to' "$RK_LOG")" = 1
    check "$c: the damaged file is kept aside" bash -c 'ls "$1"/retriever.sqlite.corrupt-* >/dev/null 2>&1' _ "$RAGKERNEL_DATA"
    wait_reindexed
    found=0
    for w in qzalpha qzbravo qzcharlie; do
        curl -s --max-time 10 "$RK_URL/chat" -d "{\"message\": \"$w\"}" | grep -q "\"doc_id\":\"$w-txt-" && found=$((found + 1))
    done
    check "$c: every document is found again after the re-index ($found/3)" test "$found" = 3
    rk_stop
done
rk_summary
