/*
 * main — the command line: serve a config, check one, list plugins, print
 * versions. Everything else lives in server.c and below; this file only
 * parses arguments and maps results to exit codes.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "conf.h"
#include "hostapi.h"
#include "loader.h"
#include "log.h"
#include "registry.h"
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ragkernel -c FILE            serve with the config FILE\n"
            "       ragkernel --check-config FILE validate FILE and its plugins as a start\n"
            "                                    would, short of binding and connecting;\n"
            "                                    every mistake listed; exit 0/1\n"
            "       ragkernel -t [-c FILE]       the same (as nginx -t)\n"
            "       ragkernel --list-plugins [-v] [DIR...]\n"
            "                                    list the plugins found (default: the\n"
            "                                    plugin_path of -c FILE, or ./build/plugins);\n"
            "                                    -v: every plugin's config keys (Markdown)\n"
            "       ragkernel --version          core and plugin ABI versions\n"
            "       ragkernel --help\n"
            "Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the config.\n");
}

static void print_diag(const cfg_diag *d)
{
    for (size_t i = 0; i < d->n; i++) fprintf(stderr, "%s\n", d->lines[i]);
}

/* Everything a start checks short of create(), binding and connecting,
 * all stages in one run, sorted by position. */
static int check_config(const char *path)
{
    cfg_diag d = {0};
    int errs = 1;
    rk_conf *c = conf_load_all(path, &d, &errs);
    if (c && registry_check(c, hostapi_table(), hostapi_set_starting, &d) != 0) errs++;
    cfg_diag_sort(&d);
    print_diag(&d);
    int ok = c && !errs && d.n == 0;
    if (ok) printf("%s: ok (%zu instances)\n", path, c->n_instances);
    cfg_diag_free(&d);
    conf_free(c);
    return ok ? 0 : 1;
}

static const char *type_name(rk_cfg_type t)
{
    static const char *names[] = {"?", "string", "int", "double", "bool",
                                  "duration", "size", "list", "map"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

/* The config keys of a plugin, from its schema table (Markdown rows). */
static void describe(const rk_plugin *d)
{
    printf("\n### %s (%s)\n\n%s\n\n", d->name, loader_kind_name(d->kind),
           d->description ? d->description : "");
    if (!d->config || !d->config[0].name) {
        printf("No configuration keys.\n");
        return;
    }
    printf("| key | type | default | |\n|---|---|---|---|\n");
    for (const rk_config_key *k = d->config; k->name; k++)
        printf("| `%s` | %s | %s | %s |\n", k->name, type_name(k->type),
               k->required ? "**required**" : k->default_value ? k->default_value : "",
               k->description ? k->description : "");
}

static void list_one(void *ud, const char *path, const loader_plugin *p, const char *error)
{
    if (ud && p) {
        describe(p->desc);
        return;
    }
    if (ud) return;
    if (!p) {
        printf("%-10s %-20s %-8s %-5s %s (refused: %s)\n", "-", "-", "-", "-", path, error);
        return;
    }
    const rk_plugin *d = p->desc;
    printf("%-10s %-20s %-8s %u.%-3u %s\n", loader_kind_name(d->kind), d->name,
           d->version ? d->version : "?", d->abi_major, d->abi_minor,
           d->description ? d->description : "");
}

static int list_plugins(int argc, char **argv, const char *config, int verbose)
{
    const char *defaults[] = {"./build/plugins"};
    rk_conf *c = NULL;
    const char **dirs = defaults;
    size_t n = 1;
    const char *tmp[64];
    if (argc > 0) {
        dirs = (const char **)argv;
        n = (size_t)argc;
    } else if (config) {
        cfg_diag d = {0};
        c = conf_load(config, &d);
        print_diag(&d);
        cfg_diag_free(&d);
        if (!c) return 1;
        n = cfg_values_count(c->server, "plugin_path");
        if (n > 64) n = 64;
        for (size_t i = 0; i < n; i++) tmp[i] = cfg_values_item(c->server, "plugin_path", i);
        dirs = tmp;
    }
    if (!verbose)
        printf("%-10s %-20s %-8s %-5s %s\n", "KIND", "NAME", "VERSION", "ABI", "DESCRIPTION");
    loader_scan(dirs, n, list_one, verbose ? (void *)&verbose : NULL);
    conf_free(c);
    return 0;
}

static int serve(const char *path)
{
    cfg_diag d = {0};
    server_block_signals();
    server *s = server_new(path, &d);
    if (!s) {
        print_diag(&d);
        cfg_diag_free(&d);
        fprintf(stderr, "ragkernel: not started (see above)\n");
        return 1;
    }
    cfg_diag_free(&d);
    server_wait_signals(s);
    server_free(s);
    log_info("core", "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_CHECK = 256, OPT_LIST, OPT_VERSION };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, OPT_CHECK},
        {"list-plugins", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    int list = 0, verbose = 0, test = 0, c;
    while ((c = getopt_long(argc, argv, "c:htv", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 't': test = 1; break;
        case OPT_CHECK: return check_config(optarg);
        case OPT_LIST: list = 1; break;
        case OPT_VERSION:
            printf("ragkernel %s (plugin ABI %d.%d)\n", RK_VERSION, RK_ABI_MAJOR, RK_ABI_MINOR);
            return 0;
        case 'h': usage(stdout); return 0;
        case 'v': verbose = 1; break;
        default: usage(stderr); return 2;
        }
    }
    if (list) return list_plugins(argc - optind, argv + optind, config, verbose);
    if (test && !config && optind + 1 == argc) config = argv[optind++];
    if (test && config && optind == argc) return check_config(config);
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    return serve(config);
}
