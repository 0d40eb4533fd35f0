/*
 * cfg_values — the typed view of one config mapping: the scalar parsers
 * (bool, int, double, duration, size) and validation of a mapping against an
 * rk_config_key schema, which is what the host's cfg_* getters and every
 * "file:line:col: key 'x': expected ..." message read. Kept apart from the
 * YAML builder because it depends only on cfg_node, never on libyaml. It
 * copies key names and defaults so it never points into a plugin's memory,
 * only into the doc it was built from.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"

/* ---- scalar parsers ----------------------------------------------------- */
int cfg_parse_bool(const char *s, int *out)
{
    static const char *const words[] = {"false", "no", "off", "true", "yes", "on"};
    for (int i = 0; s && i < 6; i++)
        if (strcasecmp(s, words[i]) == 0) {
            *out = i >= 3;
            return 0;
        }
    return -1;
}

int cfg_parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+')) return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int cfg_parse_double(const char *s, double *out)
{
    char *end;
    const char *p = s && (*s == '-' || *s == '+') ? s + 1 : s;
    if (!p || !(isdigit((unsigned char)*p) || *p == '.')) return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || (errno && fabs(v) > 1)) return -1;
    *out = v;
    return 0;
}

/* "<digits>[.<digits>]<unit>" scaled by the unit; integers stay exact and
 * a bare number (no unit) must be an integer. */
static int parse_scaled(const char *s, const char *const *units,
                        const int64_t *mult, int64_t *out)
{
    const char *p = s;
    char num[32];
    if (!s || !isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) p++;
    int frac = *p == '.';
    if (frac && !isdigit((unsigned char)*++p)) return -1;
    while (isdigit((unsigned char)*p)) p++;
    if ((size_t)(p - s) >= sizeof num) return -1;
    memcpy(num, s, (size_t)(p - s));
    num[p - s] = '\0';
    for (int i = 0; units[i]; i++) {
        if (strcasecmp(p, units[i]) != 0 || (frac && !*p)) continue;
        int64_t v;
        if (frac) {
            double x = strtod(num, NULL) * (double)mult[i];
            if (!(x < 9.2e18)) return -1;
            *out = llround(x);
        } else if (cfg_parse_int(num, &v) || v > INT64_MAX / mult[i]) {
            return -1;
        } else {
            *out = v * mult[i];
        }
        return 0;
    }
    return -1;
}

int cfg_parse_duration(const char *s, int64_t *ms)
{
    static const char *const units[] = {"", "ms", "s", "m", "h", NULL};
    static const int64_t mult[] = {1, 1, 1000, 60000, 3600000};
    if (s && strpbrk(s, "MSH")) return -1; /* "M" would read as mega, not minutes */
    return parse_scaled(s, units, mult, ms);
}

int cfg_parse_size(const char *s, int64_t *bytes)
{
    static const char *const units[] = {"", "b", "k", "kb", "kib", "m", "mb", "mib",
                                        "g", "gb", "gib", "t", "tb", "tib", NULL};
    static const int64_t mult[] = {1, 1, 1LL << 10, 1LL << 10, 1LL << 10,
                                   1LL << 20, 1LL << 20, 1LL << 20,
                                   1LL << 30, 1LL << 30, 1LL << 30,
                                   1LL << 40, 1LL << 40, 1LL << 40};
    return parse_scaled(s, units, mult, bytes);
}

/* ---- values validated against a schema ---------------------------------- */
typedef struct cfg_entry {
    char *name;
    rk_cfg_type type;
    const cfg_node *val; /* NULL: default (or absent) */
    const char *text;    /* scalar types: the value's text */
    int64_t i;
    double d;
    size_t n;
    const char **items, **ikeys; /* LIST and MAP */
    char *dflt;                  /* owned copy of the default */
} cfg_entry;

struct cfg_values {
    const cfg_node *at;
    size_t n;
    cfg_entry *e;
};

static const char *kind_name(const cfg_node *n)
{
    return n->kind == CFG_MAP ? "a mapping" : n->kind == CFG_SEQ ? "a list" : "a scalar";
}

static const char *expected(rk_cfg_type t)
{
    switch (t) {
    case RK_CFG_INT: return "an integer";
    case RK_CFG_DOUBLE: return "a number";
    case RK_CFG_BOOL: return "true or false";
    case RK_CFG_DURATION: return "a duration like 30s or 250ms";
    case RK_CFG_SIZE: return "a size like 512, 64k or 10MB";
    case RK_CFG_LIST: return "a list of scalars";
    case RK_CFG_MAP: return "a mapping of scalars";
    default: return "a string";
    }
}

static int parse_scalar(cfg_entry *e, const char *s)
{
    int r = 0, b = 0;
    e->text = s;
    switch (e->type) {
    case RK_CFG_INT: r = cfg_parse_int(s, &e->i); break;
    case RK_CFG_DURATION: r = cfg_parse_duration(s, &e->i); break;
    case RK_CFG_SIZE: r = cfg_parse_size(s, &e->i); break;
    case RK_CFG_DOUBLE:
        r = cfg_parse_double(s, &e->d);
        e->i = r == 0 && fabs(e->d) < 9.2e18 ? (int64_t)e->d : 0;
        return r;
    case RK_CFG_BOOL:
        r = cfg_parse_bool(s, &b);
        e->i = b;
        break;
    default: break;
    }
    e->d = (double)e->i;
    return r;
}

static int set_items(cfg_entry *e, const cfg_node *v, cfg_diag *d)
{
    int errs = 0;
    size_t n = v->kind == CFG_SCALAR ? (*v->str != '\0') : v->n;
    e->items = calloc(n + 1, sizeof *e->items);
    e->ikeys = v->kind == CFG_MAP ? calloc(n + 1, sizeof *e->ikeys) : NULL;
    if (!e->items || (v->kind == CFG_MAP && !e->ikeys)) {
        cfg_diag_at(d, v, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const cfg_node *it = v->kind == CFG_SCALAR ? v : v->items[i];
        if (it->kind != CFG_SCALAR) {
            cfg_diag_at(d, it, "key '%s': expected a scalar here, got %s",
                        e->name, kind_name(it));
            errs++;
            continue;
        }
        e->items[i] = it->str;
        if (e->ikeys) e->ikeys[i] = v->keys[i]->str;
    }
    e->n = n;
    return errs;
}

/* A LIST also takes a single scalar (one item; "" = none). */
static int set_value(cfg_entry *e, const cfg_node *v, cfg_diag *d)
{
    e->val = v;
    if (e->type == RK_CFG_LIST && v->kind != CFG_MAP) return set_items(e, v, d);
    if (e->type == RK_CFG_MAP && v->kind == CFG_MAP) return set_items(e, v, d);
    if (e->type == RK_CFG_MAP && v->kind == CFG_SCALAR && !*v->str) return 0;
    if (e->type == RK_CFG_LIST || e->type == RK_CFG_MAP || v->kind != CFG_SCALAR) {
        cfg_diag_at(d, v, "key '%s': expected %s, got %s", e->name,
                    expected(e->type), kind_name(v));
        return 1;
    }
    if (parse_scalar(e, v->str) == 0) return 0;
    cfg_diag_at(d, v, "key '%s': expected %s, got '%s'", e->name,
                expected(e->type), v->str);
    return 1;
}

/* LIST defaults are comma-separated: split a private copy in place. */
static int set_default(cfg_entry *e, const char *dflt, const cfg_node *at,
                       cfg_diag *d)
{
    if (!dflt || e->type == RK_CFG_MAP) return 0;
    if (!(e->dflt = strdup(dflt))) goto oom;
    if (e->type != RK_CFG_LIST) {
        if (parse_scalar(e, e->dflt) == 0) return 0;
        cfg_diag_at(d, at, "key '%s': schema default '%s' is not %s", e->name,
                    dflt, expected(e->type));
        return 1;
    }
    e->items = calloc(strlen(dflt) / 2 + 2, sizeof *e->items);
    if (!e->items) goto oom;
    for (char *save = NULL, *t = strtok_r(e->dflt, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t)) t++;
        char *z = t + strlen(t);
        while (z > t && isspace((unsigned char)z[-1])) *--z = '\0';
        if (*t) e->items[e->n++] = t;
    }
    return 0;
oom:
    cfg_diag_at(d, at, "out of memory");
    return 1;
}

static int unknown_key(const cfg_node *k, const rk_config_key *schema, cfg_diag *d)
{
    strbuf b = {0};
    for (size_t i = 0; schema && schema[i].name; i++) {
        sb_puts(&b, i ? ", " : "");
        sb_puts(&b, schema[i].name);
    }
    if (b.len)
        cfg_diag_at(d, k, "unknown key '%s' (known keys: %s)", k->str, sb_str(&b));
    else
        cfg_diag_at(d, k, "unknown key '%s' (no keys are accepted here)", k->str);
    sb_free(&b);
    return 1;
}

static cfg_entry *entry_mut(const cfg_values *v, const char *key)
{
    for (size_t i = 0; v && key && i < v->n; i++)
        if (strcmp(v->e[i].name, key) == 0) return &v->e[i];
    return NULL;
}

static int fill_from_map(cfg_values *v, const cfg_node *map,
                         const rk_config_key *schema, cfg_diag *d)
{
    int errs = 0;
    for (size_t j = 0; j < map->n; j++) {
        cfg_entry *e = entry_mut(v, map->keys[j]->str);
        errs += e ? set_value(e, map->items[j], d) : unknown_key(map->keys[j], schema, d);
    }
    return errs;
}

cfg_values *cfg_values_build(const cfg_node *map, const rk_config_key *schema,
                             const cfg_node *at, cfg_diag *d)
{
    size_t n = 0, errs = 0;
    while (schema && schema[n].name) n++;
    cfg_values *v = calloc(1, sizeof *v);
    if (!v || !(v->e = calloc(n + 1, sizeof *v->e))) {
        cfg_diag_at(d, at ? at : map, "out of memory");
        goto fail;
    }
    v->at = at ? at : map;
    for (; v->n < n; v->n++) {
        v->e[v->n].type = schema[v->n].type;
        if (!(v->e[v->n].name = strdup(schema[v->n].name))) errs++;
    }
    if (map && map->kind == CFG_SCALAR && !*map->str) map = NULL; /* "key:" alone */
    if (map && map->kind != CFG_MAP) {
        cfg_diag_at(d, map, "expected a mapping, got %s", kind_name(map));
        errs++;
    } else if (map) {
        errs += (size_t)fill_from_map(v, map, schema, d);
    }
    for (size_t i = 0; i < n; i++) {
        if (v->e[i].val) continue;
        if (schema[i].required) {
            cfg_diag_at(d, v->at, "missing required key '%s'", schema[i].name);
            errs++;
        } else {
            errs += (size_t)set_default(&v->e[i], schema[i].default_value, v->at, d);
        }
    }
    if (!errs) return v;
fail:
    cfg_values_free(v);
    return NULL;
}

void cfg_values_free(cfg_values *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        free(v->e[i].name);
        free(v->e[i].items);
        free(v->e[i].ikeys);
        free(v->e[i].dflt);
    }
    free(v->e);
    free(v);
}

static int scalar_type(rk_cfg_type t) { return t != RK_CFG_LIST && t != RK_CFG_MAP; }

const char *cfg_values_string(const cfg_values *v, const char *key)
{
    const cfg_entry *e = entry_mut(v, key);
    return e && scalar_type(e->type) ? e->text : NULL;
}

int64_t cfg_values_int(const cfg_values *v, const char *key)
{
    const cfg_entry *e = entry_mut(v, key);
    return e ? e->i : 0;
}

double cfg_values_double(const cfg_values *v, const char *key)
{
    const cfg_entry *e = entry_mut(v, key);
    return e ? e->d : 0;
}

int cfg_values_bool(const cfg_values *v, const char *key)
{
    const cfg_entry *e = entry_mut(v, key);
    return e ? e->i != 0 : 0;
}

size_t cfg_values_count(const cfg_values *v, const char *key)
{
    const cfg_entry *e = entry_mut(v, key);
    return e ? e->n : 0;
}

const char *cfg_values_item(const cfg_values *v, const char *key, size_t i)
{
    const cfg_entry *e = entry_mut(v, key);
    return e && e->items && i < e->n ? e->items[i] : NULL;
}

const char *cfg_values_item_key(const cfg_values *v, const char *key, size_t i)
{
    const cfg_entry *e = entry_mut(v, key);
    return e && e->ikeys && i < e->n ? e->ikeys[i] : NULL;
}

const char *cfg_values_where(const cfg_values *v, const char *key, char *buf,
                             size_t cap)
{
    const cfg_entry *e = entry_mut(v, key);
    const cfg_node *n = e && e->val ? e->val : v ? v->at : NULL;
    if (!buf || cap == 0) return "";
    if (n)
        snprintf(buf, cap, "%s:%d:%d", n->file ? n->file : "<config>", n->line, n->col);
    else
        snprintf(buf, cap, "<config>");
    return buf;
}
