/*
 * textproc — text analysis shared by retrieval and extractive answering:
 * a UTF-8 tokenizer with Unicode-aware lower-casing (Latin, Greek,
 * Cyrillic with ё→е, Armenian), per-token script, stopword lists used both
 * to drop query words and to guess the language of Latin-script text, and
 * Snowball stemming (libstemmer) chosen per token by its script.
 *
 * Three modules, all included here: tp_token (tokens), tp_lang (languages,
 * stopwords, detection), tp_stem (stemming). Depends on libc and
 * libstemmer only, so any plugin may compile it in (PLUGIN_SRCS_<name> :=
 * plugins/lib/text/tp_token.c plugins/lib/text/tp_lang.c
 * plugins/lib/text/tp_stem.c in its plugin.mk).
 *
 * Threads: everything is thread-safe except a tp_analyzer, which one thread
 * uses at a time (it owns libstemmer state and a stem cache).
 */
#ifndef RK_RETRIEVER_SQLITE_TEXTPROC_H
#define RK_RETRIEVER_SQLITE_TEXTPROC_H

#include "tp_lang.h"
#include "tp_stem.h"
#include "tp_token.h"

#endif
