#!/usr/bin/env bash
# make deb, then the packages unpacked into a scratch root (dpkg -x: no
# root, nothing installed on this machine) and the packaged binary run from
# there with its installed config: --version, --check-config, a start on a
# loopback port with a scratch state dir, /health, an upload and a /chat
# answer citing it; a plugin replaced in place and reloaded under the
# seccomp filters the unit sets (MemoryDenyWriteExecute, SystemCallFilter). Also: lintian (no errors),
# systemd-analyze verify on the unit, the man pages render without a
# warning and document the core keys.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init
T=$SVC_TMP

if ! command -v dpkg-deb >/dev/null || ! command -v dpkg-gencontrol >/dev/null; then
    echo "SKIP test_deb: dpkg-deb/dpkg-gencontrol not installed (apt-get install dpkg-dev)"
    exit 0
fi

start=$SECONDS
# the package is never a sanitizer build: build.sh refuses SAN, and the
# packaged binaries are built in $BUILD/pkg/build with Debian's flags
make -s BUILD="$BUILD" SAN=0 deb >"$T/deb.log" 2>&1; rc=$?
sed 's/^/    /' "$T/deb.log" | tail -5
check "make deb ($((SECONDS - start)) s)" test "$rc" = 0
ver=$(sed -n 's/^VERSION *:= *//p' Makefile)
arch=$(dpkg --print-architecture)
debver=$(dpkg-parsechangelog -l packaging/deb/changelog -S Version)
DEB=$BUILD/pkg/ragkernel_${debver}_$arch.deb
DEV=$BUILD/pkg/ragkernel-dev_${debver}_$arch.deb
check "ragkernel_${debver}_$arch.deb and the -dev one exist" test -f "$DEB" -a -f "$DEV"
check "the Debian version is the Makefile's VERSION ($ver)" test "${debver%-*}" = "$ver"

X=$T/root
mkdir -p "$X"
dpkg-deb -x "$DEB" "$X" && dpkg-deb -x "$DEV" "$X"
for f in usr/bin/ragkernel usr/lib/ragkernel/plugins/transport_http.so \
         etc/ragkernel/ragkernel.yaml lib/systemd/system/ragkernel.service \
         usr/share/man/man1/ragkernel.1.gz usr/share/man/man5/ragkernel.yaml.5.gz \
         usr/share/doc/ragkernel/copyright usr/share/doc/ragkernel/changelog.Debian.gz \
         usr/include/ragkernel/ragkernel.h usr/share/pkgconfig/ragkernel.pc \
         usr/bin/ragkernel-plugin-check usr/share/man/man1/ragkernel-plugin-check.1.gz; do
    check "packaged: /$f" test -e "$X/$f"
done
check "the config is a conffile" \
    grep -qx /etc/ragkernel/ragkernel.yaml <(dpkg-deb -I "$DEB" conffiles)
check "the SDK is only in ragkernel-dev" bash -c '! dpkg-deb -c "$1" | grep -q "include/ragkernel"' _ "$DEB"
check "no state dir in the package (postinst makes it, for the ragkernel user)" \
    bash -c '! dpkg-deb -c "$1" | grep -q "/var/"' _ "$DEB"
check "postinst creates a system user ragkernel" \
    grep -q 'adduser --system .*ragkernel' <(dpkg-deb -I "$DEB" postinst)
for s in postinst prerm postrm; do
    check "$s is valid sh" bash -c 'dpkg-deb -I "$1" "$2" | sh -n' _ "$DEB" "$s"
done

# the packaged binary, its compiled-in paths remapped into the scratch root
B=$X/usr/bin/ragkernel
export RK_PLUGIN_DIR=$X/usr/lib/ragkernel/plugins RAGKERNEL_STATE_DIR=$T/state
mkdir -m 700 "$T/state"
check "--version says $ver" grep -q "^ragkernel $ver " <("$B" --version)
check "--help names /etc/ragkernel/ragkernel.yaml and /var/lib/ragkernel" bash -c \
    'h=$("$1" --help); grep -q /etc/ragkernel/ragkernel.yaml <<<"$h" && grep -q /var/lib/ragkernel <<<"$h"' _ "$B"
"$B" --check-config "$X/etc/ragkernel/ragkernel.yaml" >"$T/check.log" 2>&1; rc=$?
sed 's/^/    /' "$T/check.log"
check "--check-config on the installed config" test "$rc" = 0

# served under the seccomp filters of the unit: MemoryDenyWriteExecute=yes
# and SystemCallFilter=@system-service (EPERM for the rest), the group's
# system calls as this machine's systemd-analyze lists them
check "tests/tools/unit_seccomp.c builds" \
    cc -std=gnu11 -Wall -Wextra -Werror -O2 -o "$T/unit_seccomp" tests/tools/unit_seccomp.c
SANDBOX=("$T/unit_seccomp")
syscalls() { # GROUP: its system call names, nested groups expanded
    systemd-analyze syscall-filter "$1" | sed -n 's/^    \([^# ].*\)$/\1/p' |
    while read -r s; do case $s in @*) syscalls "$s" ;; *) echo "$s" ;; esac; done
}
if command -v systemd-analyze >/dev/null; then
    allow=$(awk 'NR == FNR { want[$1] = 1; next }
                 /^#define __NR_/ && want[substr($2, 6)] { printf "%s%s", sep, $3; sep = "," }' \
            <(syscalls @system-service) /usr/include/x86_64-linux-gnu/asm/unistd_64.h)
    echo "    @system-service: $(tr , '\n' <<<"$allow" | wc -l) system calls allowed"
    SANDBOX+=(--allow "$allow")
    check "the SystemCallFilter emulation refuses mount(2) (not in @system-service)" bash -c \
        '"$@" python3 -c "import ctypes, sys; c = ctypes.CDLL(None, use_errno=True);
c.mount(b\"none\", b\"/nonexistent-rk\", b\"tmpfs\", 0, None); sys.exit(ctypes.get_errno() != 1)"' \
        _ "${SANDBOX[@]}"
else
    echo "SKIP SystemCallFilter emulation: systemd-analyze not installed"
fi
check "the MDWE filter refuses a writable+executable mapping" bash -c \
    '"$@" python3 -c "import mmap, sys
try: mmap.mmap(-1, 4096, prot=7)
except PermissionError: sys.exit(0)
sys.exit(3)"' _ "${SANDBOX[@]}"
port=$(free_port)
(cd / && exec env RAGKERNEL_LISTEN="127.0.0.1:$port" "${SANDBOX[@]}" "$B" \
     -c "$X/etc/ragkernel/ragkernel.yaml") >"$T/served.log" 2>&1 &
pid=$!
_svc_record ragkernel "$pid" TERM
_svc_wait ragkernel "$pid" "$T/served.log" _svc_http_up "http://127.0.0.1:$port/health"
U=http://127.0.0.1:$port
check "/health answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$U/health")" = 200
printf 'The lighthouse keeper paints the railings teal every spring.\n' >"$T/keeper.txt"
check "a document is stored" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
    -X POST "$U/documents?filename=keeper.txt" --data-binary @"$T/keeper.txt")" = 201
ask() { curl -s --max-time 30 "$U/chat" -d '{"message": "What colour are the railings?"}'; }
check "/chat answers from it, citing keeper.txt" grep -q 'keeper.txt' <(ask)
check "the data is in the scratch state dir, 0600" \
    test "$(stat -c %a "$T/state/retriever.sqlite" 2>/dev/null)" = 600

# hot upgrade: a plugin replaced in place (new inode) is loaded from a memfd
P=$X/usr/lib/ragkernel/plugins
cp "$P/llm_extractive.so" "$P/.new" && mv "$P/.new" "$P/llm_extractive.so"
kill -HUP "$pid"
for _ in $(seq 100); do grep -q 'generation 2' "$T/served.log" && break; sleep 0.1; done
check "SIGHUP reloads a replaced plugin under the unit's filters" \
    grep -q 'llm_extractive.so changed on disk since it was loaded' "$T/served.log"
check "... and the new generation answers" bash -c \
    'grep -q "configuration reloaded" "$1" && grep -q keeper.txt <<<"$2"' _ "$T/served.log" "$(ask)"
kill -TERM "$pid"; wait "$pid"; rc=$?
check "it stops on SIGTERM (exit $rc)" test "$rc" = 0
grep -E 'level=(warn|error)' "$T/served.log" | sed 's/^/    /'

# man pages: rendered without a warning, every core key there
for m in "$X"/usr/share/man/man1/*.gz "$X"/usr/share/man/man5/*.gz; do
    check "$(basename "$m") renders without warnings (groff -ww)" \
        test -z "$(zcat "$m" | LC_ALL=C.UTF-8 groff -ww -man -z 2>&1)"
done
page=$(MANWIDTH=200 man -l "$X/usr/share/man/man5/ragkernel.yaml.5.gz" 2>/dev/null | col -b)
missing=
for k in $("$B" --config-reference=md | sed -n 's/^| `\([a-z_]*\)`.*/\1/p'); do
    grep -q "^ *$k (" <<<"$page" || missing+=" $k"
done
check "ragkernel.yaml(5) documents every core key (missing:${missing:- none})" test -z "$missing"
check "... seed_dir, history_expire_interval, history_expire_batch among them" bash -c \
    'for k in seed_dir history_expire_interval history_expire_batch; do grep -q "^ *$k (" <<<"$1" || exit 1; done' _ "$page"
check "... and the plugins' keys (transport_http max_body)" grep -q '^ *max_body (' <<<"$page"
check "ragkernel(1) names the pagination parameters" bash -c \
    'p=$(MANWIDTH=200 man -l "$1" 2>/dev/null | col -b); grep -q "?limit=N" <<<"$p" && grep -q "?after=CURSOR" <<<"$p"' _ "$X/usr/share/man/man1/ragkernel.1.gz"

if command -v lintian >/dev/null; then
    lintian --fail-on error -I "$DEB" "$DEV" >"$T/lintian.log" 2>&1; rc=$?
    grep -v 'running with root privileges' "$T/lintian.log" | sed 's/^/    /'
    check "lintian: no errors (exit $rc)" test "$rc" = 0 -a -z "$(grep '^E:' "$T/lintian.log")"
else
    echo "SKIP lintian: not installed (tools/deps.sh TEST_PKGS has it)"
fi

if command -v systemd-analyze >/dev/null; then
    # verify checks ExecStart= exists and Documentation= man pages resolve:
    # point both at the scratch root
    sed "s|/usr/bin/ragkernel|$X/usr/bin/ragkernel|g" "$X/lib/systemd/system/ragkernel.service" \
        >"$T/ragkernel.service"
    MANPATH=$X/usr/share/man systemd-analyze verify "$T/ragkernel.service" >"$T/verify.log" 2>&1; rc=$?
    sed 's/^/    /' "$T/verify.log"
    check "systemd-analyze verify ragkernel.service (exit $rc)" test "$rc" = 0 -a ! -s "$T/verify.log"
    for k in 'User=ragkernel' 'StateDirectory=ragkernel' 'ExecReload=/bin/kill -HUP $MAINPID' \
             'NoNewPrivileges=yes' 'ProtectSystem=strict' 'MemoryDenyWriteExecute=yes' \
             'SystemCallFilter=@system-service' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
        check "unit: $k" grep -qxF "$k" "$T/ragkernel.service"
    done
    systemd-analyze security --offline=yes "$T/ragkernel.service" 2>/dev/null | tail -1 | sed 's/^/    /'
else
    echo "SKIP systemd-analyze verify: systemd-analyze not installed"
fi
rk_summary
