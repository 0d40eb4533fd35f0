#!/usr/bin/env bash
# services.sh - start real services on 127.0.0.1 for integration tests, stop them by PID.
#
# Usage (source it from a bash test script, do NOT call start_* inside $(...)):
#     . shared/testing/services.sh
#     trap stop_all EXIT
#     start_s3        # exports S3_PORT S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
#     start_redis     # exports REDIS_PORT
#     start_postgres  # exports PG_PORT PG_SOCKDIR PG_DB PG_USER PG_PASSWORD PG_URL
#     start_http_backend DIR   # exports HTTP_BACKEND_PORT (python3 http.server, for LB tests)
#     start_nginx 127.0.0.1:P1 127.0.0.1:P2   # exports NGINX_PORT
#     ...tests...
#     stop_all        # signals only the PIDs recorded by start_*; removes the temp dir
#
# Self-test:  bash shared/testing/services.sh selftest
#
# Every start_* picks a free loopback port, prints "NAME port=... pid=... ready_ms=...",
# records the PID in $SVC_TMP/pids, and waits for readiness for at most SVC_TIMEOUT seconds
# (default 30). On a timeout or early exit it prints the service log tail and returns 1.
# Requires: bash, curl, python3 (free-port helper; falls back to bash /dev/tcp if absent).

SVC_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${SVC_TIMEOUT:=30}"
: "${S3RVER_BIN:=$SVC_HERE/../node/node_modules/.bin/s3rver}"
: "${PG_BIN:=/usr/lib/postgresql/15/bin}"
: "${PG_OS_USER:=postgres}"   # unprivileged OS user that owns the cluster (postgres refuses root)

_svc_ms() { echo $(( $(date +%s%N) / 1000000 )); }
_svc_log() { echo "services.sh: $*" >&2; }

# One temp dir per test run; 0755 so the unprivileged postgres user can traverse it.
_svc_init() {
    if [ -z "${SVC_TMP:-}" ] || [ ! -d "$SVC_TMP" ]; then
        SVC_TMP="$(mktemp -d /tmp/svc.XXXXXX)" || return 1
        chmod 755 "$SVC_TMP"
        : > "$SVC_TMP/pids"
        export SVC_TMP
    fi
}

# Ask the kernel for a free port on 127.0.0.1 (tiny race until the service binds it;
# a start_* whose service dies on bind fails fast and can simply be called again).
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for _ in $(seq 100); do
        p=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

# _svc_record NAME PID STOPSIGNAL
_svc_record() { echo "$1 $2 $3" >> "$SVC_TMP/pids"; }

# _svc_wait NAME PID LOG CHECK-COMMAND... : poll CHECK every 0.1 s until it succeeds,
# the PID dies (fail fast) or SVC_TIMEOUT seconds pass.
_svc_wait() {
    local name=$1 pid=$2 log=$3; shift 3
    local deadline=$(( $(_svc_ms) + SVC_TIMEOUT * 1000 ))
    while ! "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            _svc_log "$name (pid $pid) exited before becoming ready; log tail:"
            tail -n 20 "$log" >&2; return 1
        fi
        if [ "$(_svc_ms)" -ge "$deadline" ]; then
            _svc_log "$name (pid $pid) not ready after ${SVC_TIMEOUT}s; log tail:"
            tail -n 20 "$log" >&2; return 1
        fi
        sleep 0.1
    done
}

_svc_http_up() { curl -s -o /dev/null --max-time 2 "$1"; }   # any HTTP answer counts

# ---------------------------------------------------------------- S3 (s3rver, npm)
# s3rver accepts any request whose access key is S3RVER; it does NOT verify SigV4 signatures
# or payload hashes, and anonymous requests are allowed. SigV4 requests must carry an
# x-amz-content-sha256 header (curl 7.88 does not add it: pass -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD').
start_s3() {
    _svc_init || return 1
    [ -x "$S3RVER_BIN" ] || { _svc_log "s3rver not found at $S3RVER_BIN (make deps: npm ci --prefix tests/node)"; return 1; }
    local port dir t0 pid
    port=$(free_port) || return 1
    dir="$SVC_TMP/s3-$port"; mkdir -p "$dir/data"
    t0=$(_svc_ms)
    # s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which
    # Node 20 only offers from its legacy provider (else every truncated
    # listing answers 500).
    NODE_OPTIONS="--openssl-legacy-provider${NODE_OPTIONS:+ $NODE_OPTIONS}" \
        "$S3RVER_BIN" -d "$dir/data" -a 127.0.0.1 -p "$port" --no-vhost-buckets >"$dir/s3rver.log" 2>&1 &
    pid=$!
    _svc_record s3 "$pid" TERM
    _svc_wait s3 "$pid" "$dir/s3rver.log" _svc_http_up "http://127.0.0.1:$port/" || return 1
    export S3_PORT=$port S3_ENDPOINT="http://127.0.0.1:$port" S3_ACCESS_KEY=S3RVER S3_SECRET_KEY=S3RVER
    echo "s3 port=$port pid=$pid ready_ms=$(( $(_svc_ms) - t0 ))"
}

# ---------------------------------------------------------------- Redis (Debian redis-server)
start_redis() {
    _svc_init || return 1
    local port dir t0 pid
    port=$(free_port) || return 1
    dir="$SVC_TMP/redis-$port"; mkdir -p "$dir"
    t0=$(_svc_ms)
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --daemonize no --dir "$dir" --logfile "$dir/redis.log" >"$dir/stdout.log" 2>&1 &
    pid=$!
    _svc_record redis "$pid" TERM
    _svc_wait redis "$pid" "$dir/redis.log" _svc_redis_ping "$port" || return 1
    export REDIS_PORT=$port
    echo "redis port=$port pid=$pid ready_ms=$(( $(_svc_ms) - t0 ))"
}
_svc_redis_ping() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }  # timeout: redis-cli waits forever on a silent listener

# ---------------------------------------------------------------- PostgreSQL 15 (Debian)
# start_postgres [DB] [USER] [PASSWORD]  (defaults: appdb app app_pw)
# initdb/postgres refuse root: both run via setpriv (execs in place, so $! IS the postmaster;
# runuser/su fork and turn every signal into SIGTERM + SIGKILL after 2 s).
start_postgres() {
    _svc_init || return 1
    local db=${1:-appdb} user=${2:-app} pw=${3:-app_pw}
    local port dir t0 pid
    local asuser=(setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups)
    port=$(free_port) || return 1
    dir="$SVC_TMP/pg-$port"; mkdir -p "$dir/sock"; chown -R "$PG_OS_USER:" "$dir"
    t0=$(_svc_ms)
    # cd: the postgres user cannot read root's cwd (/root); --no-sync: throwaway cluster
    if ! (cd "$dir" && "${asuser[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1); then
        _svc_log "initdb failed:"; tail -n 20 "$dir/initdb.log" >&2; return 1
    fi
    (cd "$dir" && exec "${asuser[@]}" "$PG_BIN/postgres" -D "$dir/data" -k "$dir/sock" \
        -p "$port" -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        >"$dir/postgres.log" 2>&1) &
    pid=$!
    _svc_record postgres "$pid" INT        # SIGINT = fast shutdown
    _svc_wait postgres "$pid" "$dir/postgres.log" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" || return 1
    # superuser over the Unix socket (trust); the app role uses TCP + password (scram)
    if ! psql -h "$dir/sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
            -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$pw'" -c "CREATE DATABASE \"$db\" OWNER \"$user\"" >&2; then
        _svc_log "postgres: creating role/db failed"; return 1
    fi
    export PG_PORT=$port PG_SOCKDIR="$dir/sock" PG_DB=$db PG_USER=$user PG_PASSWORD=$pw
    export PG_URL="postgresql://$user:$pw@127.0.0.1:$port/$db"
    echo "postgres port=$port pid=$pid ready_ms=$(( $(_svc_ms) - t0 )) (incl. initdb)"
}

# ---------------------------------------------------------------- tiny HTTP backend (for LB tests)
# start_http_backend DIR : python3 -m http.server serving DIR on a free loopback port
start_http_backend() {
    _svc_init || return 1
    local root=$1 port t0 pid
    port=$(free_port) || return 1
    t0=$(_svc_ms)
    python3 -m http.server --bind 127.0.0.1 --directory "$root" "$port" >"$SVC_TMP/http-$port.log" 2>&1 &
    pid=$!
    _svc_record http "$pid" TERM
    _svc_wait http "$pid" "$SVC_TMP/http-$port.log" _svc_http_up "http://127.0.0.1:$port/" || return 1
    export HTTP_BACKEND_PORT=$port
    echo "http-backend port=$port pid=$pid ready_ms=$(( $(_svc_ms) - t0 ))"
}

# ---------------------------------------------------------------- nginx load balancer (Debian)
# start_nginx HOST:PORT HOST:PORT... : round-robin upstream over the given backends.
# Start the backends FIRST: a refused connection marks a backend down for fail_timeout (10 s
# by default) and nginx answers 502. Extra per-server options: NGINX_SERVER_OPTS="max_fails=0".
start_nginx() {
    _svc_init || return 1
    [ $# -ge 1 ] || { _svc_log "start_nginx needs backend HOST:PORT arguments"; return 1; }
    local port dir t0 pid b servers=""
    port=$(free_port) || return 1
    dir="$SVC_TMP/nginx-$port"; mkdir -p "$dir"
    for b in "$@"; do servers+="    server $b ${NGINX_SERVER_OPTS:-};"$'\n'; done
    cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream backends {
$servers  }
  server {
    listen 127.0.0.1:$port;
    location / { proxy_pass http://backends; proxy_set_header Host \$host; }
  }
}
EOF
    t0=$(_svc_ms)
    # -e: startup error log (else nginx first tries /var/log/nginx/error.log); -p: prefix
    nginx -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" \
        -g "daemon off; pid $dir/nginx.pid;" >"$dir/stdout.log" 2>&1 &
    pid=$!
    _svc_record nginx "$pid" QUIT          # QUIT = graceful; TERM = fast
    _svc_wait nginx "$pid" "$dir/error.log" _svc_http_up "http://127.0.0.1:$port/" || return 1
    export NGINX_PORT=$port
    echo "nginx port=$port pid=$pid ready_ms=$(( $(_svc_ms) - t0 ))"
}

# ---------------------------------------------------------------- stop
# Signals only PIDs recorded above (newest first), waits up to SVC_STOP_TIMEOUT s (default 10)
# each, then SIGKILL. Removes $SVC_TMP unless SVC_KEEP=1.
stop_all() {
    [ -n "${SVC_TMP:-}" ] && [ -f "$SVC_TMP/pids" ] || return 0
    local name pid sig deadline t0 rc=0
    while read -r name pid sig; do
        [ -n "$pid" ] || continue
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; continue; }
        t0=$(_svc_ms); deadline=$(( t0 + ${SVC_STOP_TIMEOUT:-10} * 1000 ))
        kill -s "$sig" "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null && [ "$(_svc_ms)" -lt "$deadline" ]; do sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then
            _svc_log "$name pid $pid ignored SIG$sig, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null; rc=1
        fi
        wait "$pid" 2>/dev/null     # reap if it is our child
        echo "stopped $name pid=$pid stop_ms=$(( $(_svc_ms) - t0 ))"
    done < <(tac "$SVC_TMP/pids")
    : > "$SVC_TMP/pids"
    if [ "${SVC_KEEP:-0}" != 1 ]; then rm -rf "$SVC_TMP"; unset SVC_TMP; fi
    return $rc
}

# ---------------------------------------------------------------- self-test
_svc_selftest() {
    set -u
    local fail=0
    t=$(mktemp -d /tmp/svc-selftest.XXXXXX)   # global: the EXIT trap runs after return
    trap 'stop_all; rm -rf "$t"' EXIT
    trap 'exit 130' INT TERM
    not() { ! "$@"; }
    check() { if "$@"; then echo "  ok: ${CHECK_NAME}"; else echo "  FAIL: ${CHECK_NAME}"; fail=1; fi; }

    start_s3 || return 1
    start_redis || return 1
    start_postgres appdb app app_pw || return 1
    mkdir -p "$t/b1" "$t/b2"; echo backend1 > "$t/b1/id"; echo backend2 > "$t/b2/id"
    start_http_backend "$t/b1" || return 1; local B1=$HTTP_BACKEND_PORT
    start_http_backend "$t/b2" || return 1; local B2=$HTTP_BACKEND_PORT
    start_nginx "127.0.0.1:$B1" "127.0.0.1:$B2" || return 1

    echo "== S3 ($S3_ENDPOINT)"
    local A=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
    local E=$S3_ENDPOINT
    head -c 300000 /dev/urandom > "$t/obj"
    CHECK_NAME="create bucket"; check test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -X PUT "$E/bkt")" = 200
    CHECK_NAME="put object"; check test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -T "$t/obj" "$E/bkt/a/obj")" = 200
    curl -s -o "$t/obj.back" "${A[@]}" "$E/bkt/a/obj"
    CHECK_NAME="get object byte-identical"; check cmp -s "$t/obj" "$t/obj.back"
    CHECK_NAME="list-type=2 shows key"; check grep -q '<Key>a/obj</Key>' <(curl -s "${A[@]}" "$E/bkt?list-type=2&prefix=a/")
    CHECK_NAME="delete object 204"; check test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -X DELETE "$E/bkt/a/obj")" = 204
    CHECK_NAME="get after delete 404"; check test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$E/bkt/a/obj")" = 404
    head -c 5242880 /dev/urandom > "$t/p1"; head -c 12345 /dev/urandom > "$t/p2"; cat "$t/p1" "$t/p2" > "$t/whole"
    local up e1 e2
    up=$(curl -s "${A[@]}" -X POST "$E/bkt/big?uploads" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
    e1=$(curl -s -D - -o /dev/null "${A[@]}" -T "$t/p1" "$E/bkt/big?partNumber=1&uploadId=$up" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
    e2=$(curl -s -D - -o /dev/null "${A[@]}" -T "$t/p2" "$E/bkt/big?partNumber=2&uploadId=$up" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
    curl -s -o /dev/null "${A[@]}" -X POST -H 'Content-Type: application/xml' --data-binary \
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$e1</ETag></Part><Part><PartNumber>2</PartNumber><ETag>$e2</ETag></Part></CompleteMultipartUpload>" \
        "$E/bkt/big?uploadId=$up"
    curl -s -o "$t/big.back" "${A[@]}" "$E/bkt/big"
    CHECK_NAME="multipart upload (2 parts) byte-identical"; check cmp -s "$t/whole" "$t/big.back"
    CHECK_NAME="unknown access key -> 403"; check test "$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user NOPE:x -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$E/bkt/big")" = 403
    echo "  note: wrong secret -> HTTP $(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:wrong -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$E/bkt/big") (s3rver does not verify SigV4 signatures)"

    echo "== redis (port $REDIS_PORT)"
    CHECK_NAME="ping"; check _svc_redis_ping "$REDIS_PORT"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" set k v >/dev/null
    CHECK_NAME="set/get"; check test "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" get k)" = v

    echo "== postgres (port $PG_PORT)"
    CHECK_NAME="TCP login with password, DDL+DML"; check test "$(PGPASSWORD=$PG_PASSWORD psql "host=127.0.0.1 port=$PG_PORT user=$PG_USER dbname=$PG_DB" -v ON_ERROR_STOP=1 -Atq -c 'create table t(x int)' -c 'insert into t values (42)' -c 'select x from t')" = 42
    CHECK_NAME="URL form"; check test "$(psql "$PG_URL" -Atc 'select current_user')" = "$PG_USER"
    CHECK_NAME="wrong password rejected"; check not env PGPASSWORD=bad psql "host=127.0.0.1 port=$PG_PORT user=$PG_USER dbname=$PG_DB" -Atc 'select 1' 2>/dev/null

    echo "== nginx (port $NGINX_PORT -> $B1, $B2)"
    local seen; seen=$(for i in 1 2 3 4; do curl -s "http://127.0.0.1:$NGINX_PORT/id"; done | sort | uniq -c | tr -s ' \n' ' ')
    echo "  responses: $seen"
    CHECK_NAME="round-robin hits both backends"; check test "$(for i in 1 2 3 4; do curl -s "http://127.0.0.1:$NGINX_PORT/id"; done | sort -u | wc -l)" = 2

    echo "== stop_all"
    local pids; pids=$(awk '{print $2}' "$SVC_TMP/pids")
    stop_all
    local alive=0 p; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    CHECK_NAME="all recorded PIDs gone"; check test $alive = 0
    trap - EXIT; rm -rf "$t"
    [ $fail = 0 ] && echo "SELFTEST PASSED" || { echo "SELFTEST FAILED"; return 1; }
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        selftest) _svc_selftest; exit $? ;;
        *) echo "usage: bash $0 selftest   (or source it and call start_*/stop_all)"; exit 2 ;;
    esac
fi
