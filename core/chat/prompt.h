/*
 * prompt — the text the pipeline sends to an LLM: the system message with
 * numbered context passages, the continuation request after a cut stream,
 * the trimmed summary used to compact long conversations, and the
 * "simple question" test that picks fast retrieval.
 */
#ifndef RK_CORE_PROMPT_H
#define RK_CORE_PROMPT_H

#include <stddef.h>

#include <ragkernel/chat.h>

#define PROMPT_CONTINUE                                                        \
    "Continue your previous answer exactly where it stopped; do not repeat "  \
    "anything."
#define PROMPT_SUMMARY_PREFIX "Summary of earlier conversation: "

/* See pipeline_is_simple() in pipeline.h. */
int prompt_is_simple(const char *question, int max_words);

/* messages = [system: system_prompt + "\n\nContext:\n[1] title: text\n..."]
 *            + hist + client. On RK_OK *out is a malloc'd array (free it)
 * whose system content is *system_text (malloc'd, free it) and whose other
 * strings point into hist/client, which must outlive *out. */
int prompt_build(const char *system_prompt, const rk_passage *pass,
                 size_t n_pass, const rk_message *hist, size_t n_hist,
                 const rk_message *client, size_t n_client, rk_message **out,
                 size_t *n_out, char **system_text);

/* base + {assistant: partial} + {user: PROMPT_CONTINUE}. malloc'd array
 * (free it) pointing into base and partial; NULL on OOM. */
rk_message *prompt_continuation(const rk_message *base, size_t n,
                                const char *partial, size_t *n_out);

/* PROMPT_SUMMARY_PREFIX + "role: first sentence" of each message (an
 * earlier summary contributes its body, without a role), at most max_bytes
 * in all, on UTF-8 boundaries. When they do not all fit, the oldest are
 * dropped: the newest content is what is kept. malloc'd; NULL on OOM. */
char *prompt_summary(const rk_message *msgs, size_t n, size_t max_bytes);

#endif
