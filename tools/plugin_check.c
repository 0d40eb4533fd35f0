/*
 * ragkernel-plugin-check — the conformance checker a plugin author runs on
 * a built .so before shipping it. It goes through exactly the host's path
 * (loader validation, schema-driven config, create/start/stop/destroy with
 * the real rk_host on a running loop and worker pool) and then hands the
 * started instance to plugin_check_contracts.c, which exercises the kind's
 * contract as the headers state it. This file owns the command line, the
 * config built from --set, the runtime and the lifecycle. One line per
 * check, "ok NAME" or "FAIL NAME: why", and the exit status says whether
 * everything passed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "hostapi.h"
#include "loader.h"
#include "loop.h"
#include "upstream.h"
#include "plugin_check.h"
#include "pool.h"
#include "registry.h"

/* Names of the bits set in v (table of {bit, name}), unknown ones in hex:
 * "serialize nonblocking 0x80(unknown)", or "none". */
typedef struct bit_name {
    uint32_t bit;
    const char *name;
} bit_name;

static void print_bits(const char *label, uint32_t v, const bit_name *names, size_t n)
{
    const char *sep = "";
    printf("%-12s%s", label, v ? "" : "none");
    for (size_t i = 0; i < n; i++)
        if (v & names[i].bit) printf("%s%s", sep, names[i].name), v &= ~names[i].bit, sep = " ";
    if (v) printf("%s0x%x(unknown)", sep, (unsigned)v);
    printf("\n");
}

static void print_bit_fields(const rk_plugin *d)
{
    static const bit_name flags[] = {{RK_PLUGIN_SERIALIZE, "serialize"},
                                     {RK_PLUGIN_NONBLOCKING, "nonblocking"}};
    static const bit_name caps[] = {{RK_CAP_READ_ONLY, "read_only"}, {RK_CAP_PROXY, "proxy"}};
    print_bits("flags", d->flags, flags, sizeof flags / sizeof flags[0]);
    /* a 1.0 descriptor ends before these; the loader refused unknown requirements */
    int has = d->struct_size >= offsetof(rk_plugin, caps) + sizeof d->caps;
    print_bits("requires", has ? d->requirements : 0, NULL, 0);
    print_bits("caps", loader_caps(d), caps, sizeof caps / sizeof caps[0]);
}

static const char *type_name(rk_cfg_type t)
{
    static const char *n[] = {"?", "string", "int", "double", "bool",
                              "duration", "size", "list", "map"};
    return t >= RK_CFG_STRING && t <= RK_CFG_MAP ? n[t] : "?";
}

static void print_info(const loader_plugin *lp)
{
    const rk_plugin *d = lp->desc;
    printf("file        %s\nkind        %s\nname        %s\nversion     %s\n", lp->path,
           loader_kind_name(d->kind), d->name, d->version ? d->version : "?");
    printf("abi         %u.%u needed (host %d.%d)\ndescription %s\n", (unsigned)d->abi_major,
           (unsigned)d->abi_minor, RK_ABI_MAJOR, RK_ABI_MINOR,
           d->description ? d->description : "");
    print_bit_fields(d);
    printf("config:%s\n", d->config && d->config[0].name ? "" : " (no keys)");
    for (const rk_config_key *k = d->config; k && k->name; k++)
        printf("  %-20s %-8s %-22s %s\n", k->name, type_name(k->type),
               k->required ? "(required)" : k->default_value ? k->default_value : "(no default)",
               k->description ? k->description : "");
    fflush(stdout);
}

/* ---- config: --set pairs as a small YAML mapping ------------------------ */

static const rk_config_key *schema_key(const rk_plugin *d, const char *name, size_t len)
{
    for (const rk_config_key *k = d->config; k && k->name; k++)
        if (strlen(k->name) == len && strncmp(k->name, name, len) == 0) return k;
    return NULL;
}

/* Scalars are double-quoted so any text survives; LIST and MAP values are
 * written as given ("[a, b]", "{k: v}") since they are YAML structure. */
static char *sets_to_yaml(const rk_plugin *d, char **sets, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    if (!n) fputs("{}\n", f); /* all defaults */
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(sets[i], '=');
        const rk_config_key *k = schema_key(d, sets[i], (size_t)(eq - sets[i]));
        fprintf(f, "%.*s: ", (int)(eq - sets[i]), sets[i]);
        if (k && (k->type == RK_CFG_LIST || k->type == RK_CFG_MAP)) {
            fprintf(f, "%s\n", eq + 1);
            continue;
        }
        fputc('"', f);
        for (const char *c = eq + 1; *c; c++) {
            if (*c == '\n') {
                fputs("\\n", f);
                continue;
            }
            if (*c == '"' || *c == '\\') fputc('\\', f);
            fputc(*c, f);
        }
        fputs("\"\n", f);
    }
    fclose(f);
    return text;
}

/* ---- driver -------------------------------------------------------------- */

typedef struct runtime {
    loop *lp;
    pool *pl;
} runtime;

static int runtime_up(runtime *rt)
{
    rk_err err = {{0}};
    rt->lp = upstream_loop_new(&err);
    if (!rt->lp || loop_start(rt->lp, &err) != RK_OK || !(rt->pl = pool_new(2, &err))) {
        fprintf(stderr, "ragkernel-plugin-check: runtime: %s\n", err.msg);
        return -1;
    }
    hostapi_set_runtime(rt->lp, rt->pl);
    return 0;
}

static void runtime_down(runtime *rt)
{
    if (rt->lp) loop_stop(rt->lp);
    if (rt->pl) pool_free(rt->pl);
    if (rt->lp) loop_free(rt->lp);
}

static void lifecycle(checker *ck, rk_instance *in, loop *lp)
{
    const rk_plugin *d = in->plugin;
    rk_err err = {{0}};
    int rc = d->create(hostapi_table(), in, &in->ctx, &err);
    if (!pc_check(ck, rc == RK_OK, "create", "%s (%s): %s", rk_status_name(rc), rk_strerror(rc),
                  err.msg))
        return;
    in->created = 1;
    rc = d->start ? d->start(in->ctx, &err) : RK_OK;
    if (pc_check(ck, rc == RK_OK, "start", "%s (%s): %s", rk_status_name(rc), rk_strerror(rc),
                 err.msg)) {
        in->started = 1;
        pc_run_contract(ck, in, lp);
        int64_t t0 = clock_now_ms();
        if (d->stop) d->stop(in->ctx, t0 + 5000);
        int64_t took = clock_now_ms() - t0;
        pc_check(ck, took <= 6000, "stop by its deadline", "stop took %lld ms", (long long)took);
    }
    d->destroy(in->ctx);
    in->created = 0;
    pc_check(ck, 1, "destroy", " ");
}

static cfg_values *build_config(const rk_plugin *d, char **sets, int n, cfg_doc **doc)
{
    cfg_diag diag = {0};
    cfg_values *v = NULL;
    char *text = sets_to_yaml(d, sets, n);
    *doc = text ? cfg_load_string(text, strlen(text), "--set", &diag) : NULL;
    if (*doc) v = cfg_values_build(cfg_root(*doc), d->config, cfg_root(*doc), &diag);
    for (size_t i = 0; i < diag.n; i++) printf("config: %s\n", diag.lines[i]);
    cfg_diag_free(&diag);
    free(text);
    return v;
}

/* "key=value" with a plain key: anything else could break the YAML text. */
static int set_ok(const char *s)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s) return 0;
    for (const char *c = s; c < eq; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: ragkernel-plugin-check [--set key=value ...] FILE.so\n"
                    "Loads, validates and exercises one plugin. Point it at scratch\n"
                    "backends: the checks write and delete data, and the history check\n"
                    "expires every conversation of the instance.\n");
    return 2;
}

int main(int argc, char **argv)
{
    char **sets = calloc((size_t)argc, sizeof *sets);
    const char *file = NULL;
    int n_sets = 0, status = 1;
    for (int i = 1; sets && i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            sets[n_sets] = argv[++i];
            if (!set_ok(sets[n_sets])) return free(sets), usage();
            n_sets++;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            return free(sets), usage();
        }
    }
    if (!file) return free(sets), usage();
    checker ck = {0};
    snprintf(ck.tag, sizeof ck.tag, "%ld%lld", (long)getpid(), (long long)clock_wall_ms());
    rk_err err = {{0}};
    runtime rt = {0};
    cfg_doc *doc = NULL;
    rk_instance in = {0};
    char name[] = "check";
    pthread_mutex_init(&in.serial, NULL);
    loader_plugin *lp = loader_open(file, 0, &err);
    if (!lp) {
        printf("%s\n", err.msg);
        goto out;
    }
    print_info(lp);
    in.name = name;
    in.plugin = lp->desc;
    in.lp = lp;
    in.cfg = build_config(lp->desc, sets, n_sets, &doc);
    if (!pc_check(&ck, in.cfg != NULL, "config", "the config above does not validate"))
        goto summary;
    if (runtime_up(&rt) != 0) goto out;
    lifecycle(&ck, &in, rt.lp);
summary:
    printf("%d passed, %d failed\n", ck.pass, ck.fail);
    status = ck.fail ? 1 : 0;
out:
    runtime_down(&rt);
    cfg_values_free(in.cfg);
    cfg_free(doc);
    loader_close(lp);
    pthread_mutex_destroy(&in.serial);
    free(sets);
    return status;
}
