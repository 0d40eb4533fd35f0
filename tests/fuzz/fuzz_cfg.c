/*
 * fuzz_cfg — YAML configuration (core/config/cfg.c over libyaml): parse from a
 * buffer with its aliases, ${VAR} interpolation and limits, walk the tree,
 * and validate the root mapping against a schema with every key type
 * (cfg_values.c). Config is trusted, but a parser that crashes on a typo
 * is still a bug, and `--check-config` runs on files being edited.
 */
#include "fuzz.h"

#include "cfg.h"

static const rk_config_key schema[] = {
    {"s", RK_CFG_STRING, "x", 0, "string"},
    {"i", RK_CFG_INT, "1", 0, "int"},
    {"d", RK_CFG_DOUBLE, "0.5", 0, "double"},
    {"b", RK_CFG_BOOL, "true", 0, "bool"},
    {"t", RK_CFG_DURATION, "30s", 0, "duration"},
    {"z", RK_CFG_SIZE, "64k", 0, "size"},
    {"l", RK_CFG_LIST, NULL, 0, "list"},
    {"m", RK_CFG_MAP, NULL, 0, "map"},
    {NULL, 0, NULL, 0, NULL}};

static size_t walk(const cfg_node *n, int depth)
{
    if (!n || depth > 200)
        return 0;
    size_t sum = 1;
    if (n->kind == CFG_SCALAR)
        return sum + strlen(n->str);
    for (size_t i = 0; i < n->n; i++) {
        sum += walk(n->items[i], depth + 1);
        if (n->kind == CFG_MAP)
            sum += walk(n->keys[i], depth + 1);
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_dup(data, size, 0);
    cfg_diag d = {0};
    cfg_doc *doc = cfg_load_string(text, size, "fuzz.yaml", &d);
    free(text); /* the tree must own its strings */
    if (doc) {
        const cfg_node *root = cfg_root(doc);
        (void)walk(root, 0);
        cfg_values *v = cfg_values_build(root && root->kind == CFG_MAP ? root : NULL,
                                         schema, root, &d);
        if (v) {
            char where[128];
            (void)cfg_values_string(v, "s");
            (void)cfg_values_int(v, "t");
            for (size_t i = 0; i < cfg_values_count(v, "m"); i++)
                (void)cfg_values_item_key(v, "m", i);
            (void)cfg_values_where(v, "l", where, sizeof where);
            cfg_values_free(v);
        }
        cfg_free(doc);
    }
    for (size_t i = 0; i < d.n; i++)
        (void)strlen(d.lines[i]);
    cfg_diag_free(&d);
    return 0;
}
