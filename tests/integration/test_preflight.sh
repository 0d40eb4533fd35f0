#!/usr/bin/env bash
# Preflight equals start: `ragkernel --check-config FILE` (and `-t -c FILE`)
# refuses every config a start refuses, with file:line:col, all stages in
# one run sorted by line, one location per line, a hint for tabs; and the
# start refuses the same files (bounded by timeout: none may serve).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
C=tests/integration/configs

# preflight CONFIG EXPECTED-REGEX...: exit 1, each regex a line of the output
preflight() {
    local cfg=$1; shift
    local out rc
    out=$("$RK_BIN" --check-config "$cfg" 2>&1); rc=$?
    echo "$out" | sed 's/^/    /'
    check "$cfg: --check-config exits 1" test "$rc" = 1
    for re in "$@"; do
        check "$cfg: reports /$re/" grep -Eq "^$cfg:$re" <<<"$out"
    done
    check "$cfg: no line with two locations" \
        bash -c '! grep -Eq "yaml:[0-9]+:[0-9]+:.*yaml:[0-9]+:[0-9]+:" <<<"$1"' _ "$out"
}

# starts CONFIG: a start refuses it too, within 10 s, naming the file
refused_at_start() {
    local cfg=$1 out rc
    out=$(timeout -k 2 10 "$RK_BIN" -c "$cfg" 2>&1); rc=$?
    check "$cfg: a start refuses it too (rc=$rc)" test "$rc" = 1
    # a start works from the file's directory, so it names the file absolutely
    check "$cfg: the start names file:line:col" grep -Eq "^$(realpath "$cfg"):[0-9]+:[0-9]+: " <<<"$out"
    check "$cfg: the start has no line with two locations" \
        bash -c '! grep -Eq "yaml:[0-9]+:[0-9]+:.*yaml:[0-9]+:[0-9]+:" <<<"$1"' _ "$out"
}

preflight $C/preflight_kind.yaml \
    "7:10: pipeline.cache: instance 'extractive' is a llm, not a cache" \
    "8:12: pipeline.storage: instance 'extractive' is a llm, not a storage" \
    "9:14: pipeline.retriever: instance 'extractive' is a llm, not a retriever"
refused_at_start $C/preflight_kind.yaml
preflight $C/preflight_topk.yaml "6:10: pipeline.top_k: must be at least 1, got 0" \
    "7:15: pipeline.fast_top_k: must be at least 1, got -2"
refused_at_start $C/preflight_topk.yaml
export LISTEN=18404
preflight $C/preflight_listen.yaml "11:15: instance 'http': listen: expected host:port, got '18404'"
refused_at_start $C/preflight_listen.yaml
export LISTEN=127.0.0.1:99999
preflight $C/preflight_listen.yaml "11:15: instance 'http': listen: bad port in '127.0.0.1:99999'"
refused_at_start $C/preflight_listen.yaml
preflight $C/preflight_open.yaml \
    "11:15: instance 'http': refusing to listen on 0.0.0.0:0 without API keys"
refused_at_start $C/preflight_open.yaml
check "non-loopback with API keys passes --check-config" \
    "$RK_BIN" --check-config $C/preflight_open_keys.yaml
check "-t -c FILE is --check-config FILE" bash -c '! "$1" -t -c "$2" >/dev/null 2>&1' _ \
    "$RK_BIN" $C/preflight_kind.yaml
check "-t -c FILE passes a good file" "$RK_BIN" -t -c $C/preflight_open_keys.yaml

# every stage's mistakes in one run, in line order
out=$("$RK_BIN" --check-config $C/preflight_many.yaml 2>&1)
echo "$out" | sed 's/^/    /'
check "all stages in one run: 3 lines" test "$(wc -l <<<"$out")" = 3
check "sorted by line" test "$(cut -d: -f2 <<<"$out" | tr '\n' ' ')" = "6 7 12 "
check "the plugin's check is among them" grep -q "bad port in '127.0.0.1:99999'" <<<"$out"

preflight $C/preflight_tab.yaml "4:1: .*tab: YAML indents with spaces only"
rk_summary
