#!/usr/bin/env bash
# Hostile cases for conversation history (history_sqlite):
#  1. a full disk (a 3 MB tmpfs as the data directory): every answer says
#     whether its turn was stored (X-History-Saved and "history_saved"),
#     and what it says is true: the turns claimed saved are exactly the
#     turns in the database; failures are counted in
#     ragkernel_history_write_errors_total and turn /ready 503 until the
#     store works again (found by a background probe, without traffic); a
#     /chat stream says it in its last event.
#  2. a history.sqlite with garbage on page 2: the server refuses to start,
#     naming the file and the remedy, and leaves the file as it was.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
MNT=""
cleanup() { stop_all; [ -n "$MNT" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; rmdir "$MNT"; }; }
trap cleanup EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
CFG=tests/integration/configs/hostile_history.yaml
T=$SVC_TMP

# chat CONV MSG -> "$T/h" headers, "$T/b" body; prints the status code
chat() {
    python3 -c 'import json,sys; print(json.dumps({"message": sys.argv[2] + " " + "x" * 60000, "conversation_id": sys.argv[1]}))' \
        "$1" "$2" >"$T/req.json"
    curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' --max-time 30 "$RK_URL/chat" \
         -H 'Content-Type: application/json' --data-binary @"$T/req.json"
}
hdr() { tr -d '\r' <"$T/h" | awk -v n="$(echo "$1" | tr A-Z a-z)" 'tolower($1)==n":"{print $2}'; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d.get(sys.argv[2]); print("none" if v is None else str(v).lower())' "$T/b" "$1"; }
stored_turns() { python3 -c 'import sqlite3,sys
c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True)
print(c.execute("select count(*) from messages where conv_id=? and role=?", (sys.argv[2],"user")).fetchone()[0])' "$1" "$2"; }
metric() { curl -s --max-time 5 "$RK_URL/metrics" | awk -v m="$1" '$1==m{print $2; f=1} END{if(!f) print 0}'; }

echo "== 1. disk full"
if MNT=$(mktemp -d /tmp/rkfull.XXXXXX) && mount -t tmpfs -o size=3m tmpfs "$MNT"; then
    export RAGKERNEL_DATA=$MNT
    rk_start "$CFG" || exit 1
    conv=hostile-full-1
    check "ragkernel_history_write_errors_total exposed at 0" \
        bash -c 'curl -s --max-time 5 "$1/metrics" | grep -qx "ragkernel_history_write_errors_total 0"' _ "$RK_URL"
    code=$(chat "$conv" "first")
    check "a turn with room on the disk: 200" test "$code" = 200
    check "  X-History-Saved: true" test "$(hdr X-History-Saved)" = true
    check "  history_saved true in the body" test "$(field history_saved)" = true
    dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
    claimed=1 unsaved=0 consistent=1 t0=$SECONDS
    for i in $(seq 1 30); do
        code=$(chat "$conv" "turn $i")
        h=$(hdr X-History-Saved) f=$(field history_saved)
        [ "$code" = 200 ] && [ "$h" = "$f" ] || { consistent=0; echo "  turn $i: $code header=$h body=$f"; }
        if [ "$h" = true ]; then claimed=$((claimed+1)); else unsaved=$((unsaved+1)); fi
    done
    echo "  disk full: 30 chats in $((SECONDS-t0)) s, $unsaved marked unsaved, $((30-unsaved)) saved"
    check "every answer 200 with header and body agreeing" test "$consistent" = 1
    check "turns that could not be stored are marked unsaved" test "$unsaved" -gt 0
    code=$(curl -s -o "$T/ready" -w '%{http_code}' --max-time 5 "$RK_URL/ready")
    check "/ready 503 while history writes fail" test "$code" = 503
    check "  naming the history instance" grep -q conversations "$T/ready"
    check "ragkernel_history_write_errors_total counts them" \
        test "$(metric ragkernel_history_write_errors_total)" = "$unsaved"
    python3 -c 'import json; print(json.dumps({"message": "streamed turn " + "y" * 60000, "stream": True, "conversation_id": "hostile-full-1"}))' >"$T/s.json"
    curl -s -N --max-time 30 "$RK_URL/chat" -H 'Content-Type: application/json' \
         --data-binary @"$T/s.json" >"$T/stream"
    check "a stream says so in its last event" grep -q '"history_saved": *false' "$T/stream"
    check "  and still ends with [DONE]" grep -q '^data: \[DONE\]' "$T/stream"
    grep -q '"history_saved": *true' "$T/stream" && claimed=$((claimed+1))
    check "the log says why" grep -q 'appending to conversation hostile-full-1 failed' "$RK_LOG"
    sleep 5 # two probes or more, on a disk still full
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RK_URL/ready")
    check "/ready still 503 5 s later: the probe fails too while the disk is full" test "$code" = 503
    rm -f "$MNT/fill"
    # no traffic: the background probe finds the store writable again
    t0=$SECONDS code=
    while [ $((SECONDS-t0)) -lt 20 ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$RK_URL/ready")
        [ "$code" = 200 ] && break; sleep 0.2
    done
    echo "  /ready $code $((SECONDS-t0)) s after the disk had room again"
    check "/ready 200 again without any request (probe), within 20 s" test "$code" = 200
    code=$(chat "$conv" "after")
    check "room again: the next turn is stored" test "$code $(hdr X-History-Saved)" = "200 true"
    claimed=$((claimed+1))
    rk_stop
    n=$(stored_turns "$MNT/history.sqlite" "$conv")
    echo "  turns claimed saved: $claimed, stored: $n"
    check "the turns claimed saved are exactly those stored" test "$n" = "$claimed"
    unset RAGKERNEL_DATA
else
    MNT=""
    check "mount a 3 MB tmpfs (needs root)" false
fi

echo "== 2. history.sqlite damaged on page 2"
export RAGKERNEL_DATA=$T/damaged
rk_start "$CFG" || exit 1
code=$(chat keep-me "remember this")
check "a conversation stored before the damage" test "$code $(hdr X-History-Saved)" = "200 true"
rk_stop
db=$RAGKERNEL_DATA/history.sqlite
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(4096); f.write(b"\x5a"*4096)' "$db"
sum=$(sha256sum "$db" | cut -d' ' -f1)
port=$(free_port)
t0=$SECONDS
RK_PORT=$port RAGKERNEL_LISTEN=127.0.0.1:$port timeout 30 "$RK_BIN" -c "$CFG" >"$T/damaged.log" 2>&1
rc=$?
echo "  exit $rc after $((SECONDS-t0)) s"
check "refuses to start (non-zero exit, not killed by the timeout)" test "$rc" != 0 -a "$rc" != 124
check "  within 10 s" test $((SECONDS-t0)) -le 10
check "  naming the file and saying it is damaged" grep -q "history database $db is damaged" "$T/damaged.log"
check "  and the remedy" grep -q 'restore it from a backup, or move it and its -wal and -shm files aside' "$T/damaged.log"
check "the file is left exactly as it was" test "$(sha256sum "$db" | cut -d' ' -f1)" = "$sum"
rk_summary
