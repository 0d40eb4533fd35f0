#!/usr/bin/env bash
# A source install into a scratch prefix, run from there: the binary knows
# its plugin dir, config and state dir (compiled in from PREFIX, SYSCONFDIR,
# LOCALSTATEDIR); `ragkernel` without -c serves the installed config; data
# files are 0600 under umask 022; `make uninstall` removes what install
# put there. Also: relative paths in a config resolve against its directory,
# and --list-plugins with nothing loadable exits 1.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP
umask 022

rk_build_copy "$T/build" # $BUILD is left alone (see rk.sh)
P=$T/prefix
make -s BUILD="$T/build" PREFIX="$P" SAN="${SAN:-0}" install >"$T/install.log" 2>&1; rc=$?
tail -5 "$T/install.log" | sed 's/^/    /'
check "make install PREFIX=scratch" test "$rc" = 0
BIN=$P/bin/ragkernel
check "installed config at SYSCONFDIR/ragkernel/ragkernel.yaml" test -f "$P/etc/ragkernel/ragkernel.yaml"
check "man pages in PREFIX/share/man (ragkernel.1, ragkernel.yaml.5)" \
    test -f "$P/share/man/man1/ragkernel.1" -a -f "$P/share/man/man5/ragkernel.yaml.5"
check "state dir LOCALSTATEDIR/lib/ragkernel is 0700" test "$(stat -c %a "$P/var/lib/ragkernel")" = 700
check "--help names the compiled-in paths" grep -q "$P/etc/ragkernel/ragkernel.yaml" <("$BIN" --help)
check "--list-plugins finds the installed plugins" \
    grep -Eq '^transport +transport_http ' <(cd / && env -u RK_PLUGIN_DIR "$BIN" --list-plugins)
check "-t with no -c checks the installed config" bash -c 'cd / && env -u RK_PLUGIN_DIR "$1" -t' _ "$BIN"

# serve the installed config (no -c, no plugin_path, started from /)
port=$(free_port)
(cd / && exec env -u RK_PLUGIN_DIR RAGKERNEL_LISTEN="127.0.0.1:$port" "$BIN") >"$T/served.log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$T/served.log" _svc_http_up "http://127.0.0.1:$port/health"
U=http://127.0.0.1:$port
check "ragkernel without -c serves the installed config" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$U/ready")" = 200
printf 'The lighthouse keeper paints the railings teal every spring.\n' >"$T/doc.txt"
check "a document is stored" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
    -X POST "$U/documents?filename=doc.txt" --data-binary @"$T/doc.txt")" = 201
check "a conversation is stored" grep -q conversation_id \
    <(curl -s --max-time 30 "$U/chat" -d '{"message": "What colour are the railings?"}')
S=$P/var/lib/ragkernel
ls -la "$S" "$S"/documents 2>&1 | sed 's/^/    /'
for f in history.sqlite history.sqlite-wal history.sqlite-shm retriever.sqlite \
         retriever.sqlite-wal retriever.sqlite-shm; do
    check "$f is 0600" test "$(stat -c %a "$S/$f" 2>/dev/null)" = 600
done
locks=$(find "$S" -name '*.lock' | wc -l)
check "lock files exist ($locks) and are all 0600" bash -c \
    '[ "$2" -gt 0 ] && [ -z "$(find "$1" -name "*.lock" ! -perm 600)" ]' _ "$S" "$locks"
docs=$(find "$S/documents" -type f | wc -l)
check "stored documents ($docs files) are all 0600" bash -c \
    '[ "$2" -gt 0 ] && [ -z "$(find "$1" -type f ! -perm 600)" ]' _ "$S/documents" "$docs"
check "nothing in the state dir is readable by others" \
    test -z "$(find "$S" -perm /044 ! -type l)"
kill -TERM "$pid"; wait "$pid"

# relative paths in a config: against its directory, not the working one
R=$T/rel; mkdir -p "$R" "$T/elsewhere"
cat >"$R/c.yaml" <<YAML
server:
  plugin_path: ["$RK_ROOT/$BUILD/plugins"]
pipeline:
  llm: [x]
  history: h
instances:
  http: {plugin: transport_http, config: {listen: "127.0.0.1:\${RK_PORT}"}}
  x: {plugin: llm_extractive}
  h: {plugin: history_sqlite, config: {path: state/history.sqlite}}
YAML
port=$(free_port)
(cd "$T/elsewhere" && exec env RK_PORT="$port" "$RK_ROOT/$BUILD/ragkernel" -c ../rel/c.yaml) \
    >"$T/rel.log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$T/rel.log" _svc_http_up "http://127.0.0.1:$port/health"
check "a relative data path lands beside the config" test -f "$R/state/history.sqlite"
check "... not in the working directory" test ! -e "$T/elsewhere/state"
kill -HUP "$pid"; sleep 1
check "a reload still finds the config" grep -q "configuration reloaded" "$T/rel.log"
kill -TERM "$pid"; wait "$pid"

# $RK_PLUGIN_DIR is relative to where ragkernel starts, not to the config
mkdir -p "$T/elsewhere/deeper"
ln -s "$RK_ROOT/$BUILD/test-plugins" "$T/elsewhere/deeper/tp"; rel=tp
printf 'server: {plugin_path: [/nonexistent]}\npipeline: {llm: [e]}\ninstances: {e: {plugin: good_llm}}\n' \
    >"$R/testplug.yaml"
check "a relative RK_PLUGIN_DIR is read from the starting directory" \
    bash -c 'cd "$1" && RK_PLUGIN_DIR="$2" "$3" --check-config ../../rel/testplug.yaml' _ \
    "$T/elsewhere/deeper" "$rel" "$RK_ROOT/$BUILD/ragkernel"

mkdir -p "$T/empty"
check "--list-plugins with nothing loadable exits 1" bash -c '! "$1" --list-plugins "$2" >/dev/null 2>&1' \
    _ "$RK_BIN" "$T/empty"

make -s BUILD="$T/build" PREFIX="$P" uninstall >"$T/uninstall.log" 2>&1
check "make uninstall removes the binaries" test ! -e "$BIN" -a ! -e "$P/bin/ragkernel-plugin-check"
check "... the plugins and headers" test ! -e "$P/lib/ragkernel" -a ! -e "$P/include/ragkernel"
check "... the man pages" test ! -e "$P/share/man/man1/ragkernel.1" -a ! -e "$P/share/man/man5/ragkernel.yaml.5"
check "... the unedited config" test ! -e "$P/etc/ragkernel/ragkernel.yaml"
check "... but not the data" test -f "$S/history.sqlite"
rk_summary
