/*
 * cfg_env — environment interpolation of config values (see cfg_env.c).
 */
#ifndef RK_CORE_CFG_ENV_H
#define RK_CORE_CFG_ENV_H

#include "cfg.h"

/* s with every ${NAME} / ${NAME:-default} replaced ("" for an empty
 * value). An unset variable without a default, a bad name or an
 * unterminated "${" is added to d at file:line:col and counted in
 * *errors; the raw text is kept so the rest of the document can still be
 * checked. NULL only when out of memory. */
char *cfg_env_expand(const char *s, cfg_diag *d, const char *file, int line, int col,
                     int *errors);

#endif
