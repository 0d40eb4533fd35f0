#!/usr/bin/env bash
# The web UI at /: transport_http serving www/ (ui_dir) without a key,
# with its headers, ETags and path rules, and the page itself in Debian's
# headless Chromium driven by puppeteer-core (tests/node/web_ui.mjs):
# key, upload with progress, a streamed answer citing the upload, its
# passage, delete, status; then config/default.yaml (make run's, no keys):
# the page works without one. Screenshots go to $SVC_TMP/shots, or to
# RK_UI_SHOTS (docs/img refreshes the README's).
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
CHROME_PID=
stop_chrome() { # by the PID web_ui.mjs recorded, if it is still there
    [ -n "$CHROME_PID" ] && kill -0 "$CHROME_PID" 2>/dev/null && kill -KILL "$CHROME_PID"
    return 0
}
trap 'stop_chrome; stop_all' EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
CFG=tests/integration/configs/web_ui.yaml
KEY=ui-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
WWW=$RK_ROOT/www

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "$@"; }
hdr() { # hdr NAME URL...: the value of one response header
    local name=$1; shift
    curl -s -D - -o /dev/null --max-time 5 "$@" | tr -d '\r' |
        awk -v n="$(echo "$name" | tr A-Z a-z)" 'tolower($1)==n":" {sub(/^[^:]*: /,""); print}'
}

rk_start "$CFG" UI_KEY="$KEY" UI_DIR="$WWW" || exit 1
U=$RK_URL

# ---- the files, over plain HTTP ----------------------------------------
check "GET / is the page, without a key" test "$(code "$U/")" = 200
check "its Content-Type is text/html" test "$(hdr Content-Type "$U/")" = "text/html; charset=utf-8"
check "app.js is served as JavaScript" test "$(hdr Content-Type "$U/app.js")" = "text/javascript; charset=utf-8"
check "app.css as CSS" test "$(hdr Content-Type "$U/app.css")" = "text/css; charset=utf-8"
check "the body is the file's" bash -c 'cmp -s <(curl -s --max-time 5 "$1/app.js") "$2/app.js"' _ "$U" "$WWW"
csp=$(hdr Content-Security-Policy "$U/")
check "Content-Security-Policy: default-src 'self', frame-ancestors 'none'" \
    bash -c '[[ $1 == *"default-src '"'"'self'"'"'"* && $1 == *"frame-ancestors '"'"'none'"'"'"* ]]' _ "$csp"
check "X-Content-Type-Options: nosniff" test "$(hdr X-Content-Type-Options "$U/app.js")" = nosniff
etag=$(hdr ETag "$U/app.js")
check "an ETag" bash -c '[[ $1 == \"*\" ]]' _ "$etag"
check "If-None-Match with it: 304" test "$(code -H "If-None-Match: $etag" "$U/app.js")" = 304
check "another ETag: 200" test "$(code -H 'If-None-Match: "0000"' "$U/app.js")" = 200
check "HEAD / is 200" test "$(code -I "$U/")" = 200
check "POST / is 405" test "$(code -X POST -d x "$U/")" = 405
for p in /../Makefile /%2e%2e/Makefile /..%2fMakefile /%2e%2e%2fREADME.md //app.js /./app.js \
         /app.js/ /.hidden /README.md /www/app.js /nope.js; do
    check "$p is 404" test "$(code "$U$p")" = 404
done
# %00 in a path is refused before MHD decodes it into a NUL that cuts the
# path short (it was not: /health%00x answered as /health, and
# /documents/<id>%00x named document <id>)
for p in /app.js%00.png /index.html%00 /health%00x /v1/models%00; do
    check "$p is 400" test "$(code "$U$p")" = 400
done
check "... saying why" bash -c 'curl -s --max-time 5 "$1/health%00x" | grep -q "NUL byte (%00)"' _ "$U"
check "a %00 in the query is still the frame check's (naming the parameter)" bash -c \
    'curl -s --max-time 5 -H "Authorization: Bearer $2" "$1/documents?after=a%00b" | grep -q "Query parameter .after. contains a NUL"' _ "$U" "$KEY"
check "the API still wants the key (/v1/models 401)" test "$(code "$U/v1/models")" = 401
check "and takes it" test "$(code -H "Authorization: Bearer $KEY" "$U/v1/models")" = 200

# ---- the page in Chromium ----------------------------------------------
check "node is installed" bash -c 'command -v node >/dev/null'
check "chromium is installed (tools/deps.sh)" test -x "${CHROMIUM:-/usr/bin/chromium}"
check "puppeteer-core is installed (tests/node)" test -d tests/node/node_modules/puppeteer-core
SENT="Quartermaster Wilhelmina Okonkwo-Tanaka catalogues 4711 lighthouse lenses every winter in Vilnius."
FILE=$SVC_TMP/lighthouse-notes-$$.md
printf '# Lighthouse notes\n\n%s\n\nThe lenses are kept in the old harbour office.\n' "$SENT" >"$FILE"
SHOTS=${RK_UI_SHOTS:-$SVC_TMP/shots}
case $SHOTS in /*) ;; *) SHOTS=$RK_ROOT/$SHOTS ;; esac
(cd tests/node && RK_URL=$U RK_KEY=$KEY RK_FILE=$FILE RK_SENTENCE="$SENT" \
    RK_QUESTION="How many lighthouse lenses does the quartermaster catalogue in Vilnius?" \
    RK_SHOTS=$SHOTS RK_PIDFILE=$SVC_TMP/chromium.pid timeout 180 node web_ui.mjs) \
    >"$SVC_TMP/web_ui.out" 2>&1
rc=$?
CHROME_PID=$(cat "$SVC_TMP/chromium.pid" 2>/dev/null)
stop_chrome
sed 's/^/  /' "$SVC_TMP/web_ui.out"
check "web_ui.mjs: every check passed" test "$rc" = 0
check "web_ui.mjs ran to the status view" grep -q 'ok: the status view lists the models' "$SVC_TMP/web_ui.out"
for v in documents chat passage status; do
    check "screenshot ui-$v.png" test -s "$SHOTS/ui-$v.png"
done
rk_stop

# ---- make run's config (config/default.yaml): no keys, the page works --
rk_start config/default.yaml RAGKERNEL_PLUGINS="$RK_ROOT/$BUILD/plugins" || exit 1
check "config/default.yaml serves the page" test "$(code "$RK_URL/")" = 200
(cd tests/node && RK_MODE=nokey RK_URL=$RK_URL RK_QUESTION="How do I upload a document?" \
    RK_PIDFILE=$SVC_TMP/chromium2.pid timeout 120 node web_ui.mjs) >"$SVC_TMP/web_ui2.out" 2>&1
rc=$?
CHROME_PID=$(cat "$SVC_TMP/chromium2.pid" 2>/dev/null)
stop_chrome
sed 's/^/  /' "$SVC_TMP/web_ui2.out"
check "web_ui.mjs without a key: every check passed" test "$rc" = 0
rk_stop

# ---- ui_dir: off, missing, unsafe --------------------------------------
rk_start "$CFG" UI_KEY="$KEY" UI_DIR= || exit 1
check "ui_dir empty: / is 404" test "$(code "$RK_URL/")" = 404
check "ui_dir empty: /app.js is 404" test "$(code "$RK_URL/app.js")" = 404
rk_stop
refused() { # refused DIR PATTERN: start fails, saying PATTERN
    local out
    out=$(env RK_PORT="$(free_port)" RAGKERNEL_DATA="$SVC_TMP/data-x" UI_KEY="$KEY" UI_DIR="$1" \
        timeout 20 "$RK_BIN" -c "$CFG" 2>&1)
    local rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q -- "$2" <<<"$out" ||
        { echo "  rc=$rc: $out" | tail -3; return 1; }
}
check "a missing ui_dir refuses to start, naming the key" refused /nonexistent/www 'web_ui.yaml:[0-9]*:[0-9]*: .*ui_dir: cannot open /nonexistent/www'
EVIL=$SVC_TMP/evil-www; mkdir -p "$EVIL"; echo '<!doctype html>' >"$EVIL/index.html"
ln -s /etc/passwd "$EVIL/passwd.txt"
check "a symlink out of ui_dir refuses to start, naming it" refused "$EVIL" 'passwd.txt resolves to /etc/passwd, outside the directory'
# ---- installed: the compiled-in ui_dir finds the installed page --------
rk_build_copy "$SVC_TMP/build" # $BUILD is left alone (see rk.sh)
P=$SVC_TMP/prefix
make -s BUILD="$SVC_TMP/build" PREFIX="$P" SAN="${SAN:-0}" install >"$SVC_TMP/install.log" 2>&1
check "make install PREFIX=scratch" test $? = 0
check "... puts www/ in PREFIX/share/ragkernel/www" \
    bash -c 'for f in "$1"/*.html "$1"/*.js "$1"/*.css; do cmp -s "$f" "$2/share/ragkernel/www/${f##*/}" || exit 1; done' _ "$WWW" "$P"
port=$(free_port)
(cd / && exec env -u RK_PLUGIN_DIR RAGKERNEL_LISTEN="127.0.0.1:$port" "$P/bin/ragkernel") >"$SVC_TMP/installed.$port.log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$SVC_TMP/installed.$port.log" _svc_http_up "http://127.0.0.1:$port/health"
check "the installed server (no ui_dir in its config) serves the page" \
    bash -c 'cmp -s <(curl -s --max-time 5 "$1/") "$2/index.html"' _ "http://127.0.0.1:$port" "$WWW"
rk_stop "$pid"
make -s BUILD="$SVC_TMP/build" PREFIX="$P" uninstall >"$SVC_TMP/uninstall.log" 2>&1
check "make uninstall removes the page and its directory" test ! -e "$P/share/ragkernel"

check "no crash or sanitizer report in the server logs" bash -c \
    '! grep -Eq "AddressSanitizer|runtime error|Fatal error in GNU libmicrohttpd" "$@"' _ "$SVC_TMP"/ragkernel.*.log
rk_summary
