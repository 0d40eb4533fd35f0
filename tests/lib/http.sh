#!/usr/bin/env bash
# http.sh — the curl helpers of the HTTP integration tests, one copy. Source
# it after rk.sh; the helpers read $T (the script's temporary directory) and
# $RK_URL (the ragkernel last started) when they are called:
#
#   . "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
#   . "$RK_ROOT/tests/lib/http.sh"
#   req NAME METHOD PATH [curl args...]  # -> $T/NAME.{code,h,b}; HEAD as curl -I
#   code_is NAME CODE                    # NAME answered CODE
#   header NAME HEADER                   # one response header's value
#   jq_py FILE EXPR                      # EXPR (python, d = FILE's JSON) is true
#
# REQ_TIMEOUT (seconds, default 30) bounds every req: a server that stops
# answering fails the check instead of hanging the script.

# req NAME METHOD PATH [curl args...]: status, headers and body of one request
# in $T/NAME.{code,h,b}. HEAD goes as -I: with -X HEAD curl would wait for the
# body the Content-Length announces until the time limit.
req() {
    local name=$1 method=$2 path=$3; shift 3
    local how=(-X "$method"); [ "$method" = HEAD ] && how=(-I)
    curl -s --max-time "${REQ_TIMEOUT:-30}" "${how[@]}" -D "$T/$name.h" -o "$T/$name.b" \
        -w '%{http_code}' "$@" "$RK_URL$path" >"$T/$name.code" 2>/dev/null
}

code_is() { [ "$(cat "$T/$1.code")" = "$2" ]; }

# header NAME HEADER: the value (case-insensitive name, CR stripped), first one
header() { tr -d '\r' <"$T/$1.h" | awk -v h="$(tr 'A-Z' 'a-z' <<<"$2")" \
    'BEGIN{FS=": "} tolower($1)==h {sub(/^[^:]*: /,""); print; exit}'; }

# jq_py FILE EXPR: EXPR (python, `d` = the parsed JSON) must be true; false
# when FILE is not JSON
jq_py() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }
