#!/usr/bin/env bash
# Install what ragkernel needs to build, run and test, if it is missing.
# Idempotent and quiet when everything is present. Debian 12.
#   tools/deps.sh build   what building and running need (make run)
#   tools/deps.sh         everything, tests and benchmarks too (make deps)
set -euo pipefail
cd "$(dirname "$0")/.."

# build and run: enough for `make run`
APT_PKGS=(
  build-essential pkg-config
  libyaml-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev
  libsqlite3-dev libstemmer-dev libhiredis-dev libpq-dev libssl-dev
  poppler-utils curl
)
# tests and benchmarks: real servers and clients
# clang, clang-tools, libclang-rt-14-dev: make fuzz (libFuzzer), make analyze (scan-build)
# gnuplot-nox: make bench-plots
# chromium: the web UI's test (headless, driven by npm puppeteer-core)
# dpkg-dev, lintian, man-db, systemd: make deb and its test (dpkg-gencontrol,
# lintian, man -l, systemd-analyze verify)
TEST_PKGS=(check libsubunit-dev python3 nodejs npm redis-server redis-tools postgresql-15 nginx wrk
  clang clang-tools libclang-rt-14-dev gnuplot-nox chromium dpkg-dev lintian man-db systemd)
what=${1:-all}
[ "$what" = build ] || APT_PKGS+=("${TEST_PKGS[@]}")

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere (nodesource) and bring its own npm
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node clients/servers for the integration tests (pinned by the lockfile).
[ "$what" = build ] && exit 0
if [ ! -d tests/node/node_modules/openai ] || [ ! -d tests/node/node_modules/s3rver ] ||
   [ ! -d tests/node/node_modules/puppeteer-core ]; then
  echo "deps: installing test clients (npm ci in tests/node)"
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error >/dev/null
fi
