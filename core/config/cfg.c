/*
 * cfg — owns the YAML tree every other config reader works from. libyaml's
 * event API feeds a small recursive builder so each node can keep the
 * file:line:col it came from (the document API loses the file name and makes
 * bounding alias expansion awkward). Aliases are deep copies whose size and
 * depth are checked before copying, so a billion-laughs document costs at
 * most CFG_MAX_NODES allocations before it is refused. Scalar values are
 * interpolated from the environment once, here, so no later reader can
 * forget to (cfg_env.c). Diagnostics are cfg_diag.c; the typed, schema-checked view of
 * a mapping is cfg_values.c.
 */
#define _GNU_SOURCE
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "cfg_env.h"

#define CFG_MAX_TEXT (1024 * 1024)
#define CFG_MAX_NODES 100000
#define CFG_MAX_DEPTH 64

struct cfg_doc {
    char *file;
    cfg_node *root;
};

/* ---- nodes -------------------------------------------------------------- */
static void node_free(cfg_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys) node_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->str);
    free(n);
}

/* Arrays grow to the next power of two, so no capacity field is needed. */
static int node_append(cfg_node *n, cfg_node *key, cfg_node *item)
{
    if (n->n == 0 || (n->n & (n->n - 1)) == 0) {
        size_t cap = n->n ? n->n * 2 : 4;
        cfg_node **items = realloc(n->items, cap * sizeof *items);
        if (!items) return -1;
        n->items = items;
        if (n->kind == CFG_MAP) {
            cfg_node **keys = realloc(n->keys, cap * sizeof *keys);
            if (!keys) return -1;
            n->keys = keys;
        }
    }
    if (n->kind == CFG_MAP) n->keys[n->n] = key;
    n->items[n->n++] = item;
    return 0;
}

/* Depth is bounded by CFG_MAX_DEPTH, so the recursion is too. */
static cfg_node *node_copy(const cfg_node *src)
{
    cfg_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    *n = (cfg_node){.kind = src->kind, .file = src->file, .line = src->line,
                    .col = src->col};
    if (src->str && !(n->str = strdup(src->str))) goto fail;
    for (size_t i = 0; i < src->n; i++) {
        /* keys exist on maps only, and node_append keeps k on maps only */
        int map = src->kind == CFG_MAP;
        cfg_node *k = map ? node_copy(src->keys[i]) : NULL;
        cfg_node *v = node_copy(src->items[i]);
        if (!v || (map && !k) || node_append(n, k, v)) {
            node_free(k);
            node_free(v);
            goto fail;
        }
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

const cfg_node *cfg_map_get(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP || !key) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

/* ---- building the tree from libyaml events ------------------------------ */
typedef struct anchor {
    char *name;
    const cfg_node *node; /* inside the tree being built */
    size_t count;         /* nodes in its subtree */
    int height;
} anchor;

typedef struct builder {
    yaml_parser_t p;
    const char *file, *text;
    size_t len; /* of text, which need not end in a NUL */
    cfg_diag *d;
    int errors, fatal;
    size_t nodes;
    anchor *anchors;
    size_t n_anchors;
} builder;

__attribute__((format(printf, 4, 5))) static void
b_err(builder *b, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_diag_vadd(b->d, b->file, line, col, fmt, ap);
    va_end(ap);
    b->errors++;
}

static void b_fatal(builder *b, const yaml_mark_t *m, const char *what)
{
    b_err(b, (int)m->line + 1, (int)m->column + 1, "%s", what);
    b->fatal = 1;
}

/* A tab on the 0-based line or the one before it (libyaml marks some tab
 * errors where the next token starts): the usual cause of a YAML error in a
 * file typed in an editor that inserts tabs. */
static int tab_near(const char *text, size_t len, size_t line)
{
    size_t cur = 0;
    for (const char *t = text, *end = text ? text + len : NULL; t < end; t++) {
        if (*t == '\n') {
            if (++cur > line) return 0;
        } else if (*t == '\t' && cur + 1 >= line) {
            return 1;
        }
    }
    return 0;
}

/* Reader errors (bad encoding) carry only a byte offset: derive line:col. */
static void syntax_error(builder *b)
{
    const yaml_parser_t *p = &b->p;
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
            if (b->text[i] == '\n') m.line++, m.column = 0;
            else m.column++;
        }
    }
    const char *prob = p->problem ? p->problem : "invalid YAML";
    const char *hint = tab_near(b->text, b->len, m.line)
                           ? "; the line has a tab: YAML indents with spaces only" : "";
    if (p->context)
        b_err(b, (int)m.line + 1, (int)m.column + 1, "%s (%s)%s", prob, p->context, hint);
    else
        b_err(b, (int)m.line + 1, (int)m.column + 1, "%s%s", prob, hint);
    b->fatal = 1;
}

static int next_event(builder *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->p, ev)) return 0;
    syntax_error(b);
    return -1;
}

static cfg_node *node_new(builder *b, cfg_kind kind, const yaml_mark_t *m)
{
    cfg_node *n;
    if (++b->nodes > CFG_MAX_NODES) {
        b_fatal(b, m, "document has more than 100000 nodes");
        return NULL;
    }
    if (!(n = calloc(1, sizeof *n))) {
        b_fatal(b, m, "out of memory");
        return NULL;
    }
    *n = (cfg_node){.kind = kind, .file = b->file, .line = (int)m->line + 1,
                    .col = (int)m->column + 1};
    return n;
}

static cfg_node *build_scalar(builder *b, const yaml_event_t *ev, int is_key)
{
    const char *v = (const char *)ev->data.scalar.value;
    cfg_node *n = node_new(b, CFG_SCALAR, &ev->start_mark);
    if (!n) return NULL;
    if (memchr(v, '\0', ev->data.scalar.length))
        b_err(b, n->line, n->col, "NUL characters are not allowed in values");
    n->str = is_key ? strdup(v) : cfg_env_expand(v, b->d, b->file, n->line, n->col, &b->errors);
    if (!n->str) {
        b_fatal(b, &ev->start_mark, "out of memory");
        node_free(n);
        return NULL;
    }
    return n;
}

static cfg_node *build_alias(builder *b, const yaml_event_t *ev, int depth,
                             int *height)
{
    const char *name = (const char *)ev->data.alias.anchor;
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    const anchor *a = NULL;
    for (size_t i = b->n_anchors; i-- > 0 && !a;) /* latest definition wins */
        if (strcmp(b->anchors[i].name, name) == 0) a = &b->anchors[i];
    if (!a) {
        b_err(b, line, col, "alias '*%s' does not refer to an anchor defined earlier",
              name);
    } else if (b->nodes + a->count > CFG_MAX_NODES) {
        b_err(b, line, col,
              "alias '*%s' would expand the document beyond %d nodes; refused",
              name, CFG_MAX_NODES);
    } else if (depth + a->height - 1 > CFG_MAX_DEPTH) {
        b_err(b, line, col, "alias '*%s' would nest deeper than %d levels",
              name, CFG_MAX_DEPTH);
    } else {
        cfg_node *n = node_copy(a->node);
        if (n) {
            b->nodes += a->count;
            *height = a->height;
            return n;
        }
        b_err(b, line, col, "out of memory");
    }
    b->fatal = 1;
    return NULL;
}

static int key_cmp(const void *x, const void *y, void *ctx)
{
    cfg_node *const *keys = ctx;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int c = strcmp(keys[i]->str, keys[j]->str);
    return c ? c : (i > j) - (i < j);
}

/* Sorting keeps a 50k-key mapping from costing n^2 comparisons. */
static void check_dups(builder *b, const cfg_node *map)
{
    size_t *idx = malloc((map->n + 1) * sizeof *idx), m = 0;
    if (!idx) {
        b_err(b, map->line, map->col, "out of memory");
        return;
    }
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->kind == CFG_SCALAR) idx[m++] = i;
    qsort_r(idx, m, sizeof *idx, key_cmp, map->keys);
    for (size_t i = 1; i < m; i++) {
        const cfg_node *first = map->keys[idx[i - 1]], *k = map->keys[idx[i]];
        if (strcmp(first->str, k->str) != 0) continue;
        while (i < m && strcmp(first->str, map->keys[idx[i]]->str) == 0) {
            k = map->keys[idx[i++]];
            b_err(b, k->line, k->col, "duplicate key '%s' (first at line %d, column %d)",
                  k->str, first->line, first->col);
        }
    }
    free(idx);
}

static cfg_node *build(builder *b, const yaml_event_t *ev, int depth,
                       int is_key, int *height);

/* Consumes events up to the matching end event. */
static cfg_node *build_container(builder *b, const yaml_event_t *ev, int depth,
                                 int *height)
{
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    cfg_node *n = node_new(b, is_map ? CFG_MAP : CFG_SEQ, &ev->start_mark);
    cfg_node *key = NULL;
    *height = 1;
    while (n) {
        yaml_event_t e;
        if (next_event(b, &e)) break;
        if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&e);
            if (is_map) check_dups(b, n);
            return n;
        }
        int h = 0;
        cfg_node *c = build(b, &e, depth + 1, is_map && !key, &h);
        yaml_event_delete(&e);
        if (!c) break;
        if (h + 1 > *height) *height = h + 1;
        if (is_map && !key) {
            if (c->kind != CFG_SCALAR)
                b_err(b, c->line, c->col, "mapping keys must be scalars");
            key = c;
            continue;
        }
        if (node_append(n, key, c)) {
            node_free(c);
            b_fatal(b, &ev->start_mark, "out of memory");
            break;
        }
        key = NULL;
    }
    node_free(key);
    node_free(n);
    return NULL;
}

static void add_anchor(builder *b, const yaml_char_t *name, const cfg_node *n,
                       size_t count, int height)
{
    anchor *a = realloc(b->anchors, (b->n_anchors + 1) * sizeof *a);
    char *copy = strdup((const char *)name);
    if (a) b->anchors = a;
    if (!a || !copy) {
        free(copy);
        b_err(b, n->line, n->col, "out of memory");
        b->fatal = 1;
        return;
    }
    b->anchors[b->n_anchors++] = (anchor){copy, n, count, height};
}

/* NULL only after a fatal error: the caller then stops reading events. */
static cfg_node *build(builder *b, const yaml_event_t *ev, int depth,
                       int is_key, int *height)
{
    const yaml_char_t *anchor_name = NULL;
    size_t before = b->nodes;
    cfg_node *n = NULL;
    *height = 1;
    if (depth > CFG_MAX_DEPTH && ev->type != YAML_ALIAS_EVENT) {
        b_fatal(b, &ev->start_mark, "nesting deeper than 64 levels");
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor_name = ev->data.scalar.anchor;
        n = build_scalar(b, ev, is_key);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor_name = ev->data.sequence_start.anchor;
        n = build_container(b, ev, depth, height);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor_name = ev->data.mapping_start.anchor;
        n = build_container(b, ev, depth, height);
        break;
    case YAML_ALIAS_EVENT:
        return build_alias(b, ev, depth, height);
    default:
        b_fatal(b, &ev->start_mark, "unexpected YAML event");
        return NULL;
    }
    if (n && anchor_name) add_anchor(b, anchor_name, n, b->nodes - before, *height);
    if (n && b->fatal) {
        node_free(n);
        n = NULL;
    }
    return n;
}

/* Exactly one document; an empty stream leaves *root NULL. */
static void build_stream(builder *b, cfg_node **root)
{
    for (int done = 0; !done && !b->fatal;) {
        yaml_event_t e;
        int h;
        if (next_event(b, &e)) return;
        if (e.type == YAML_STREAM_END_EVENT) done = 1;
        else if (e.type == YAML_DOCUMENT_START_EVENT && *root)
            b_fatal(b, &e.start_mark, "expected a single YAML document, found another");
        else if (e.type != YAML_STREAM_START_EVENT &&
                 e.type != YAML_DOCUMENT_START_EVENT &&
                 e.type != YAML_DOCUMENT_END_EVENT)
            *root = build(b, &e, 1, 0, &h);
        yaml_event_delete(&e);
    }
}

cfg_doc *cfg_load_string(const char *text, size_t len, const char *name,
                         cfg_diag *d)
{
    name = name ? name : "<string>";
    if (len > CFG_MAX_TEXT) {
        cfg_diag_add(d, name, 1, 1, "file is larger than 1 MiB (%zu bytes)", len);
        return NULL;
    }
    cfg_doc *doc = calloc(1, sizeof *doc);
    builder b = {.text = text, .len = len, .d = d};
    if (!doc || !(doc->file = strdup(name)) || !yaml_parser_initialize(&b.p)) {
        cfg_diag_add(d, name, 1, 1, "out of memory");
        cfg_free(doc);
        return NULL;
    }
    b.file = doc->file;
    yaml_parser_set_input_string(&b.p, (const unsigned char *)text, len);
    build_stream(&b, &doc->root);
    yaml_parser_delete(&b.p);
    for (size_t i = 0; i < b.n_anchors; i++) free(b.anchors[i].name);
    free(b.anchors);
    if (b.errors) {
        cfg_free(doc);
        return NULL;
    }
    return doc;
}

cfg_doc *cfg_load_file(const char *path, cfg_diag *d)
{
    cfg_doc *doc = NULL;
    size_t len = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cfg_diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(CFG_MAX_TEXT + 1))) {
        cfg_diag_add(d, path, 0, 0, "out of memory");
        goto out;
    }
    while (len <= CFG_MAX_TEXT) {
        ssize_t r = read(fd, buf + len, CFG_MAX_TEXT + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            cfg_diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    if (len > CFG_MAX_TEXT)
        cfg_diag_add(d, path, 1, 1, "file is larger than 1 MiB");
    else
        doc = cfg_load_string(buf, len, path, d);
out:
    free(buf);
    close(fd);
    return doc;
}

void cfg_free(cfg_doc *doc)
{
    if (!doc) return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

const cfg_node *cfg_root(const cfg_doc *doc) { return doc ? doc->root : NULL; }
const char *cfg_file(const cfg_doc *doc) { return doc ? doc->file : NULL; }
