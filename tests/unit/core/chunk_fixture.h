/*
 * chunk_fixture — the bounds every chunk must keep, checked the same way
 * by the extraction tests (test_ingest: a document's chunks) and the
 * chunker's own (test_chunk): not empty, at most the target size, whole
 * UTF-8 characters. Header-only: each test program compiles its own copy.
 */
#ifndef RK_TEST_CHUNK_FIXTURE_H
#define RK_TEST_CHUNK_FIXTURE_H

#include <check.h>
#include <string.h>

#include "chunk.h"
#include "textnorm.h"

static inline void check_chunk_bounds(const chunk_list *l, size_t target)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->text[i]);
        ck_assert_msg(n > 0 && n <= target, "chunk %zu has %zu bytes", i, n);
        ck_assert_msg(tn_utf8_valid(l->text[i], n), "chunk %zu is not valid UTF-8", i);
    }
}

#endif
