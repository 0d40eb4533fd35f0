#!/usr/bin/env bash
# The SDK as a plugin author meets it: `make install` into a temp prefix,
# build sdk/examples/hello_cache out of tree with nothing but the installed
# headers and ragkernel.pc, run the installed conformance checker on it, and
# list it with the installed ragkernel. Also proves the checker can fail: a
# plugin that breaks the cache contract and one with a wrong ABI must not
# pass.
set -u
. "$RK_ROOT/tests/lib/services.sh"; . "$RK_ROOT/tests/lib/rk.sh"
trap stop_all EXIT; trap 'exit 143' TERM INT
cd "$RK_ROOT"
_svc_init

tmp=$SVC_TMP/sdk
# the host's ABI as the headers state it, e.g. 1.1
ABI=$(sed -n 's/^#define RK_ABI_MAJOR \([0-9]*\).*/\1/p' sdk/include/ragkernel/plugin.h).$(sed -n 's/^#define RK_ABI_MINOR \([0-9]*\).*/\1/p' sdk/include/ragkernel/plugin.h)
prefix=$tmp/prefix
mkdir -p "$tmp"
TP=$RK_ROOT/$BUILD/test-plugins
has() { grep -Eq -- "$1" <<<"$2"; }        # has REGEX TEXT
lines() { printf '%s\n' "$1" | wc -l; }    # lines TEXT

rk_build_copy "$tmp/build" # never relink $BUILD/ragkernel under other tests
check "make install into a temp prefix" make -s BUILD="$tmp/build" SAN="${SAN:-0}" install PREFIX="$prefix"
check "installed: ragkernel, checker, headers, ragkernel.pc" test -x "$prefix/bin/ragkernel" \
    -a -x "$prefix/bin/ragkernel-plugin-check" -a -f "$prefix/include/ragkernel/ragkernel.h" \
    -a -f "$prefix/lib/pkgconfig/ragkernel.pc"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
check "pkg-config --cflags points at the prefix" \
    has "^-I$prefix/include *\$" "$(pkg-config --cflags ragkernel)"
check "pkg-config plugindir variable" \
    test "$(pkg-config --variable=plugindir ragkernel)" = "$prefix/lib/ragkernel/plugins"
check "pkg-config version matches --version" \
    has "^ragkernel $(pkg-config --modversion ragkernel) " "$("$prefix/bin/ragkernel" --version)"

# Out of tree: a copy of the example, far from the source tree's sdk/include.
src=$tmp/hello_cache
cp -r "$RK_ROOT/sdk/examples/hello_cache" "$src"
rm -f "$src/hello_cache.so"
make -C "$src" >"$tmp/build.log" 2>&1; rc=$?
sed 's/^/    /' "$tmp/build.log"
check "example builds out of tree" test "$rc" = 0 -a -f "$src/hello_cache.so"
check "example build used the installed headers only" \
    bash -c "grep -qF -- '-I$prefix/include' '$tmp/build.log' && ! grep -q 'sdk/include' '$tmp/build.log'"
exports=$(nm -D --defined-only "$src/hello_cache.so" 2>/dev/null | awk '$3 !~ /^_/ {print $3}')
check "example exports only rk_plugin_entry (got: $(echo $exports))" test "$exports" = rk_plugin_entry

out=$("$prefix/bin/ragkernel-plugin-check" "$src/hello_cache.so" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "plugin-check passes hello_cache" test "$rc" = 0
check "plugin-check ran the cache contract" has '^ok cache binary keys and values$' "$out"
check "plugin-check summary has 0 failed" has '^[1-9][0-9]* passed, 0 failed$' "$out"
out=$("$prefix/bin/ragkernel-plugin-check" --set max_entries=0 "$src/hello_cache.so" 2>&1); rc=$?
check "plugin-check --set reaches create() (exit 1)" test "$rc" = 1
check "plugin-check reports create's error" has '^FAIL create: .*max_entries' "$out"
check "example 'make check' passes" make -s -C "$src" check >/dev/null

out=$("$prefix/bin/ragkernel" --list-plugins "$src" 2>&1)
echo "$out" | sed 's/^/    /'
# hello_cache states it needs ABI 1.0 (RK_PLUGIN_HEADER_NEEDS(0))
check "--list-plugins lists hello_cache" has "^cache +hello_cache +1\\.0\\.0 +1\\.0 " "$out"

check "example 'make install' puts it in plugindir" \
    bash -c "make -s -C '$src' install && test -f '$prefix/lib/ragkernel/plugins/hello_cache.so'"

# The checker must be able to fail.
check "test plugins build" make -s BUILD="$BUILD" SAN="${SAN:-0}" \
    $(for p in bad_cache_contract bad_abi_major good_llm good_storage good_retriever \
      good_history good_transport retriever_readonly bad_readonly retriever_fixed \
      extract_csv bad_extractor; do
      echo "$BUILD/test-plugins/$p.so"; done)
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/bad_cache_contract.so" 2>&1); rc=$?
echo "$out" | grep FAIL | sed 's/^/    /'
check "plugin-check fails a broken cache (exit 1)" test "$rc" = 1
check "plugin-check names the broken check" has '^FAIL cache del then miss: ' "$out"
check "plugin-check names statuses, not numbers" \
    has '^FAIL cache del then miss: del RK_OK, then get RK_OK ' "$out"
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/bad_abi_major.so" 2>&1); rc=$?
check "plugin-check refuses ABI 2.0 (exit 1)" test "$rc" = 1
check "plugin-check refusal is one line naming both ABIs" \
    test "$(lines "$out")" = 1 -a -n "$(has "host ABI ${ABI//./\\.}, plugin ABI 2\\.0" "$out" && echo y)"

# Every contract the checker knows, on the reference test plugins.
for p in good_llm good_storage good_retriever good_history good_transport extract_csv; do
    out=$("$prefix/bin/ragkernel-plugin-check" "$TP/$p.so" 2>&1); rc=$?
    [ "$rc" = 0 ] || echo "$out" | sed 's/^/    /'
    check "plugin-check passes $p" test "$rc" = 0
done
check "plugin-check runs the extractor contract" \
    has '^ok extractor reads a text/csv sample$' "$out"
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/bad_extractor.so" 2>&1); rc=$?
check "plugin-check fails an extractor that accepts junk (exit 1)" test "$rc" = 1
check "plugin-check names the broken extractor checks" \
    has "^FAIL extractor refuses binary junk as text/x-bad: RK_OK" "$out"

# Declared capabilities change the contract: a read-only retriever passes
# on refusing writes; one whose declaration is a lie fails, by name.
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/retriever_readonly.so" 2>&1); rc=$?
[ "$rc" = 0 ] || echo "$out" | sed 's/^/    /'
check "plugin-check passes a read-only retriever" test "$rc" = 0
check "plugin-check prints its capabilities" has '^caps +read_only$' "$out"
check "plugin-check runs the read-only contract" \
    has '^ok retriever read_only: index is UNSUPPORTED$' "$out"
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/bad_readonly.so" 2>&1); rc=$?
check "plugin-check fails a retriever that is not read-only as declared" test "$rc" = 1
check "plugin-check names the broken promise" \
    has '^FAIL retriever read_only: index is UNSUPPORTED: returned RK_OK' "$out"
out=$("$prefix/bin/ragkernel-plugin-check" "$TP/retriever_fixed.so" 2>&1)
check "plugin-check prints every flag by name" has '^flags +serialize$' "$out"

rk_summary
