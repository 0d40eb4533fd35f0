#!/usr/bin/env bash
# Write the man pages ragkernel(1), ragkernel.yaml(5) and
# ragkernel-plugin-check(1) into OUTDIR from docs/man/*.in and what the
# built binaries say about themselves: their --help text and the config
# reference generated from the schema tables (ragkernel --config-reference
# =man over the built plugins). So the pages cannot drift from the binary.
#   tools/man.sh OUTDIR BUILD        (make man; BUILD holds the binaries)
# Environment: VERSION, SYSCONFDIR, LOCALSTATEDIR, PLUGINDIR (the paths
# compiled into the binary, for FILES), SOURCE_DATE_EPOCH (page date).
set -euo pipefail
out=$1 build=$2
cd "$(dirname "$0")/.."
: "${VERSION:?}" "${SYSCONFDIR:?}" "${LOCALSTATEDIR:?}" "${PLUGINDIR:?}"
mkdir -p "$out"
tmp=$(mktemp -d "$out/.man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the date of the last commit, so a rebuild of the same tree is identical
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

# plain text as troff reads it literally
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }

# TEMPLATE OUT: @WORD@ lines replaced by the file $tmp/WORD, @VAR@ by values
fill() {
    awk -v dir="$tmp" '/^@[A-Z]+@$/ { f = dir "/" substr($0, 2, length($0) - 2);
        while ((getline l < f) > 0) print l; close(f); next } { print }' "$1" |
    sed -e "s|@VERSION@|$VERSION|g" -e "s|@DATE@|$date|g" \
        -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" -e "s|@LOCALSTATEDIR@|$LOCALSTATEDIR|g" \
        -e "s|@PLUGINDIR@|$PLUGINDIR|g" >"$2.tmp"
    mv "$2.tmp" "$2"
}

"$build/ragkernel" --help | roff >"$tmp/HELP"
fill docs/man/ragkernel.1.in "$out/ragkernel.1"

"$build/ragkernel" --config-reference=man "$build/plugins" >"$tmp/REFERENCE"
grep -v '^#' config/installed.yaml | sed '/./,$!d' | roff >"$tmp/EXAMPLE"
fill docs/man/ragkernel.yaml.5.in "$out/ragkernel.yaml.5"

# its usage goes to stderr with exit 2
{ "$build/ragkernel-plugin-check" --help 2>&1 || true; } | roff >"$tmp/HELP"
fill docs/man/ragkernel-plugin-check.1.in "$out/ragkernel-plugin-check.1"
