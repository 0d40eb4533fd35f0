#!/usr/bin/env bash
# Build the retrieval benchmark driver into OUT/rbench (run.sh, scale.sh):
# rbench.c and rbench_fts5.c with the retrievers' text analysis
# (plugins/lib/text), compiled as its own sources, as the plugins do.
#   bench/retrieval/build_rbench.sh OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
T=plugins/lib/text
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
   -Isdk/include -Icommon -I$T bench/retrieval/rbench.c bench/retrieval/rbench_fts5.c \
   $T/tp_token.c $T/tp_lang.c $T/tp_stem.c -o "$1/rbench" \
   $(pkg-config --libs jansson sqlite3) -lstemmer -lpthread -ldl
