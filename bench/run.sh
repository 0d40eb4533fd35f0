#!/usr/bin/env bash
# make bench: every benchmark, one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/gateway.sh "$@"
bench/cache.sh
bench/rag.sh
[ -x bench/retrieval/run.sh ] && bench/retrieval/run.sh
