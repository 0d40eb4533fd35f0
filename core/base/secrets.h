/*
 * secrets — the credential values of the running configuration (API keys,
 * S3 secrets, passwords: whatever a key named like one holds) and the
 * redaction every log line goes through, so that text an upstream echoes
 * back never puts them in the log. Any thread.
 */
#ifndef RK_CORE_SECRETS_H
#define RK_CORE_SECRETS_H

#include <stddef.h>

#include "cfg.h"

/* Collect the values of keys whose name contains key, secret, password,
 * token or credential (values of 6+ bytes, not all digits) anywhere under
 * root, replacing the previous set (at start and on every reload; the old
 * generation's secrets are kept too, since its requests still log). */
void secrets_from_config(const cfg_node *root);
/* redact() (common/redact.h) with the collected secrets. */
size_t secrets_redact(const char *in, char *out, size_t cap);
/* Forget them all (tests, exit). */
void secrets_clear(void);

#endif
