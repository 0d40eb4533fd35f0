/*
 * confdoc — the configuration reference written from the schema tables
 * themselves, as Markdown (docs/config.md, docs/plugins.md) or as man(7)
 * troff (the key sections of ragkernel.yaml(5)).
 *
 * All output goes to the FILE given; every string is the caller's and is
 * only read. Not thread-safe (stdio), meant for the command line.
 */
#ifndef RK_CORE_CONFDOC_H
#define RK_CORE_CONFDOC_H

#include <stdio.h>

#include <ragkernel/ragkernel.h>

typedef enum { CONFDOC_MD, CONFDOC_MAN } confdoc_fmt;

/* "md" or "man" -> *out, 0; -1 for anything else. */
int confdoc_parse_fmt(const char *s, confdoc_fmt *out);
/* "string", "int", ... for a schema type; "?" if unknown. */
const char *confdoc_type_name(rk_cfg_type t);
/* The core's own sections (server, pipeline, auth, auth.keys.NAME), each
 * a heading and its keys. */
void confdoc_core(FILE *f, confdoc_fmt fmt);
/* A top-level part (Markdown "##", man ".SH" upper-cased) and its intro. */
void confdoc_part(FILE *f, confdoc_fmt fmt, const char *title, const char *intro);
/* One plugin: a heading "name (kind)", its description, its keys (or a
 * line saying it has none). keys may be NULL. */
void confdoc_plugin(FILE *f, confdoc_fmt fmt, const char *name, const char *kind,
                    const char *description, const rk_config_key *keys);

#endif
