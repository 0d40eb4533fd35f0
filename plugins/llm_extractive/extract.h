/*
 * extract — choose the sentences of the retrieved passages that best answer
 * a question and render them with [n] citations.
 */
#ifndef RK_LLM_EXTRACTIVE_EXTRACT_H
#define RK_LLM_EXTRACTIVE_EXTRACT_H

#include <stddef.h>

#include <ragkernel/chat.h>

#include "terms.h"

/* The answer when nothing in the passages matches. */
#define EXTRACT_NONE_EN "I could not find this in the uploaded documents."
#define EXTRACT_NONE_RU "Не нашёл этого в загруженных документах."

/* Build the answer to `question` from passages (in rank order) into a
 * malloc'd string *out (caller frees): up to max_sentences sentences in
 * document order, each cited as [n], n = 1-based passage index; or the
 * fixed message in the question's language. Returns 1 if the answer came
 * from the passages, 0 for the fixed message, -1 when out of memory. */
int extract_answer(terms *t, const char *question, const rk_passage *passages,
                   size_t n_passages, size_t max_sentences, char **out);

#endif
