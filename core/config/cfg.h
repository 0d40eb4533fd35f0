/*
 * cfg — YAML documents as a tree of nodes that remember file:line:col,
 * `${VAR}` / `${VAR:-default}` interpolation, diagnostics, and validation of
 * a mapping against an rk_config_key schema (cfg_values: the typed view the
 * host's cfg_* getters read).
 */
#ifndef RK_CORE_CFG_H
#define RK_CORE_CFG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ragkernel/plugin.h>

typedef enum cfg_kind { CFG_SCALAR = 1, CFG_SEQ = 2, CFG_MAP = 3 } cfg_kind;

typedef struct cfg_node cfg_node;
struct cfg_node {
    cfg_kind kind;
    const char *file; /* owned by the cfg_doc */
    int line, col;    /* 1-based, where the node starts */
    char *str;        /* CFG_SCALAR: value after interpolation */
    size_t n;         /* CFG_SEQ: items; CFG_MAP: pairs */
    cfg_node **items; /* CFG_SEQ: items; CFG_MAP: values */
    cfg_node **keys;  /* CFG_MAP: keys (scalars) */
};

/* Diagnostics: each line is "file:line:col: message". */
typedef struct cfg_diag {
    char **lines;
    size_t n;
} cfg_diag;

void cfg_diag_add(cfg_diag *d, const char *file, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cfg_diag_at(cfg_diag *d, const cfg_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds "<where>: <message>", where `where` is an already formatted
 * "file:line:col" such as cfg_values_where returns (NULL or "" reads as
 * "<config>"). */
void cfg_diag_loc(cfg_diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_diag_vadd(cfg_diag *d, const char *file, int line, int col, const char *fmt,
                   va_list ap) __attribute__((format(printf, 5, 0)));
/* A message from a plugin or a stage (rk_err.msg) that already starts with
 * a location in `file` ("file:L:C: rest") is added as "file:L:C: prefix
 * rest" and 0 returned; otherwise nothing is added and -1 returned, and
 * the caller names the place itself (so no line carries two locations). */
/* Length of the "file:L:C" that msg starts with, 0 if it does not. */
size_t cfg_location_len(const char *msg, const char *file);
int cfg_diag_located(cfg_diag *d, const char *file, const char *prefix, const char *msg);
/* Stable sort by line, then column; lines without a position first. */
void cfg_diag_sort(cfg_diag *d);
void cfg_diag_free(cfg_diag *d);

typedef struct cfg_doc cfg_doc;

/* Parse a file / a string (name used in diagnostics). NULL on error with
 * diagnostics in d. Limits: 1 MiB of text, 100k nodes in total after alias
 * expansion, depth 64; aliases count every expansion against the limit. */
cfg_doc *cfg_load_file(const char *path, cfg_diag *d);
cfg_doc *cfg_load_string(const char *text, size_t len, const char *name,
                         cfg_diag *d);
void cfg_free(cfg_doc *doc);
const cfg_node *cfg_root(const cfg_doc *doc);
const char *cfg_file(const cfg_doc *doc);

/* Map lookup; NULL if map is NULL, not a map, or has no such key. */
const cfg_node *cfg_map_get(const cfg_node *map, const char *key);

/* Scalar parsers; 0 on success, -1 if malformed. */
int cfg_parse_bool(const char *s, int *out);
int cfg_parse_int(const char *s, int64_t *out);
int cfg_parse_double(const char *s, double *out);
int cfg_parse_duration(const char *s, int64_t *ms);   /* "250ms" "30s" "2m" "1h" "1500" */
int cfg_parse_size(const char *s, int64_t *bytes);    /* "512" "64k" "10MB" "1GiB" */

/* A mapping validated against a schema: unknown keys, wrong types, missing
 * required keys are reported at the offending node. map may be NULL (all
 * defaults). at = node to blame for a missing key (the instance entry).
 * Returns NULL if there were errors. Keeps pointers into the doc: free the
 * values before the doc. */
typedef struct cfg_values cfg_values;
cfg_values *cfg_values_build(const cfg_node *map, const rk_config_key *schema,
                             const cfg_node *at, cfg_diag *d);
void cfg_values_free(cfg_values *v);
const char *cfg_values_string(const cfg_values *v, const char *key);
int64_t cfg_values_int(const cfg_values *v, const char *key);
double cfg_values_double(const cfg_values *v, const char *key);
int cfg_values_bool(const cfg_values *v, const char *key);
size_t cfg_values_count(const cfg_values *v, const char *key);
const char *cfg_values_item(const cfg_values *v, const char *key, size_t i);
const char *cfg_values_item_key(const cfg_values *v, const char *key, size_t i);
/* "file:line:col" of key's value, or of `at` when key is NULL/absent. */
const char *cfg_values_where(const cfg_values *v, const char *key, char *buf,
                             size_t cap);

#endif
