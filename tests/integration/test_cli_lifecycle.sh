#!/usr/bin/env bash
# CLI and process lifecycle: --version/--help/--check-config/--list-plugins,
# SIGHUP reload (valid and invalid), SIGTERM draining an in-flight stream.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init

check "--version names core and ABI" grep -Eq '^ragkernel [0-9.]+ \(plugin ABI 1\.1\)$' <("$RK_BIN" --version)
check "--help exits 0" "$RK_BIN" --help >/dev/null
out=$("$RK_BIN" --check-config config/broken-example.yaml 2>&1); rc=$?
check "--check-config broken exits 1" test "$rc" = 1
check "--check-config prints file:line:col" grep -Eq '^config/broken-example.yaml:[0-9]+:[0-9]+: ' <<<"$out"
echo "$out" | sed 's/^/    /'
check "--check-config default exits 0" env RAGKERNEL_PLUGINS="$RK_PLUGIN_DIR" "$RK_BIN" --check-config config/default.yaml
check "--list-plugins lists transport_http" grep -Eq '^transport +transport_http ' <("$RK_BIN" --list-plugins "$RK_PLUGIN_DIR")
check "--list-plugins shows refused plugins" grep -q 'refused' <("$RK_BIN" --list-plugins "$RK_ROOT/$BUILD/test-plugins")

cfg=$SVC_TMP/lifecycle.yaml
write_cfg() { # MODEL [EXTRA-PIPELINE-LINE]
    cat >"$cfg" <<EOF
server:
  plugin_path: ["$RK_PLUGIN_DIR", "$RK_ROOT/$BUILD/test-plugins"]
  shutdown_grace: 10s
pipeline:
  llm: [echo]
${2:-}
instances:
  http:
    plugin: transport_http
    config: {listen: "127.0.0.1:\${RK_PORT}"}
  echo:
    plugin: good_llm
    config: {model: $1, delta_delay: 300ms}
EOF
}
write_cfg alpha
rk_start "$cfg" || exit 1
models() { curl -s --max-time 5 "$RK_URL/v1/models"; }
check "serves model alpha" grep -q '"alpha"' <(models)

write_cfg beta; kill -HUP "$RK_PID"
for _ in $(seq 50); do models | grep -q '"beta"' && break; sleep 0.1; done
check "SIGHUP reload: model beta" grep -q '"beta"' <(models)

write_cfg gamma "  no_such_key: 1"; kill -HUP "$RK_PID"; sleep 1
check "invalid reload reported with file:line:col" grep -Eq "$cfg:6:3: unknown key 'no_such_key'" "$RK_LOG"
check "invalid reload keeps old config" grep -q '"beta"' <(models)

# SIGTERM while a stream is in flight: the stream completes, the process exits 0
curl -sN --max-time 20 "$RK_URL/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"beta","stream":true,"messages":[{"role":"user","content":"drain me please"}]}' \
  >"$SVC_TMP/stream.out" 2>&1 &
cpid=$!
sleep 0.4
kill -TERM "$RK_PID"
wait "$cpid"
check "in-flight stream finished with [DONE]" grep -q 'data: \[DONE\]' "$SVC_TMP/stream.out"
answer=$(python3 -c '
import json, sys
out = ""
for line in open(sys.argv[1]):
    if line.startswith("data: {"):
        out += json.loads(line[6:])["choices"][0]["delta"].get("content", "")
print(out)' "$SVC_TMP/stream.out")
check "in-flight stream has the whole answer" test "$answer" = "echo: drain me please"
wait "$RK_PID"; rc=$?
check "exit status 0 after SIGTERM" test "$rc" = 0
check "log says stopped" grep -q 'msg="stopped"' "$RK_LOG"
rk_summary
