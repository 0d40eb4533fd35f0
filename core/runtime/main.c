/*
 * main — the command line: serve a config, check one, list plugins, print
 * versions. Everything else lives in server.c and below; this file only
 * parses arguments and maps results to exit codes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "conf.h"
#include "confdoc.h"
#include "hostapi.h"
#include "loader.h"
#include "log.h"
#include "paths.h"
#include "registry.h"
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ragkernel [-c FILE]          serve with the config FILE (default:\n"
            "                                    %s)\n"
            "       ragkernel --check-config FILE validate FILE and its plugins as a start\n"
            "                                    would, short of binding and connecting;\n"
            "                                    every mistake listed; exit 0/1\n"
            "       ragkernel -t [-c FILE]       the same (as nginx -t)\n"
            "       ragkernel --list-plugins [-v] [DIR...]\n"
            "                                    list the plugins found (default: the\n"
            "                                    plugin_path of -c FILE, or the build\n"
            "                                    tree's and %s);\n"
            "                                    -v: every plugin's config keys (Markdown);\n"
            "                                    exit 1 if none loads\n"
            "       ragkernel --config-reference=md|man [-c FILE] [DIR...]\n"
            "                                    every key of the core's sections and,\n"
            "                                    given -c or DIRs, of the plugins found\n"
            "                                    there; as Markdown or man(7)\n"
            "       ragkernel --version          core and plugin ABI versions\n"
            "       ragkernel --help\n"
            "Relative paths in FILE are relative to FILE's directory. State (data files)\n"
            "of the installed config: %s ($RAGKERNEL_STATE_DIR).\n"
            "Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the config.\n",
            paths_default_config(), paths_plugin_dir(), paths_state_dir());
}

/* Relative paths in a config mean the same wherever we start: from its
 * directory (paths.h). abs gets the file's absolute path. */
static int enter_config_dir(const char *path, char *abs, size_t cap)
{
    if (paths_enter_config_dir(path, abs, cap) == 0) return 0;
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
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
    char abs[4096];
    rk_conf *c = conf_load_all(path, &d, &errs);
    /* its plugin_path is relative to it, as for a start */
    if (c && paths_enter_config_dir(path, abs, sizeof abs) != 0) {
        cfg_diag_add(&d, path, 0, 0, "%s", strerror(errno));
        errs++;
    } else if (c && registry_check(c, hostapi_table(), hostgen_set_starting, &d) != 0) {
        errs++;
    }
    cfg_diag_sort(&d);
    print_diag(&d);
    int ok = c && !errs && d.n == 0;
    if (ok) printf("%s: ok (%zu instances)\n", path, c->n_instances);
    cfg_diag_free(&d);
    conf_free(c);
    return ok ? 0 : 1;
}

typedef struct listing {
    int verbose;
    confdoc_fmt fmt; /* of -v and --config-reference */
    size_t loaded;
} listing;

static void list_one(void *ud, const char *path, const loader_plugin *p, const char *error)
{
    listing *l = ud;
    if (p) l->loaded++;
    if (l->verbose && p) {
        const rk_plugin *d = p->desc;
        confdoc_plugin(stdout, l->fmt, d->name, loader_kind_name(d->kind), d->description,
                       d->config);
        return;
    }
    if (l->verbose) return;
    if (!p) {
        printf("%-10s %-20s %-8s %-5s %s (refused: %s)\n", "-", "-", "-", "-", path, error);
        return;
    }
    const rk_plugin *d = p->desc;
    printf("%-10s %-20s %-8s %u.%-3u %s\n", loader_kind_name(d->kind), d->name,
           d->version ? d->version : "?", d->abi_major, d->abi_minor,
           d->description ? d->description : "");
}

/* The directories --list-plugins reads: those named, else the config's
 * plugin_path (relative to it), else the binary's own. */
static size_t list_dirs(int argc, char **argv, rk_conf *c, const char **out, size_t cap,
                        char *beside, size_t bcap)
{
    size_t n = 0;
    if (argc > 0) {
        for (int i = 0; i < argc && n < cap; i++) out[n++] = argv[i];
        return n;
    }
    if (c) {
        n = cfg_values_count(c->server, "plugin_path");
        if (n > cap) n = cap;
        for (size_t i = 0; i < n; i++) out[i] = cfg_values_item(c->server, "plugin_path", i);
        if (n) return n;
    }
    if (paths_beside_binary(beside, bcap)) out[n++] = beside;
    out[n++] = paths_plugin_dir();
    return n;
}

/* verbose: every plugin's keys in fmt (-v: Markdown) instead of a table. */
static int list_plugins(int argc, char **argv, const char *config, int verbose,
                        confdoc_fmt fmt)
{
    rk_conf *c = NULL;
    const char *dirs[64];
    char beside[4096], abs[4096];
    if (argc == 0 && config) {
        cfg_diag d = {0};
        c = conf_load(config, &d);
        print_diag(&d);
        cfg_diag_free(&d);
        if (!c || enter_config_dir(config, abs, sizeof abs) != 0) {
            conf_free(c);
            return 1;
        }
    }
    size_t n = list_dirs(argc, argv, c, dirs, 64, beside, sizeof beside);
    if (!verbose)
        printf("%-10s %-20s %-8s %-5s %s\n", "KIND", "NAME", "VERSION", "ABI", "DESCRIPTION");
    listing l = {.verbose = verbose, .fmt = fmt};
    loader_scan(dirs, n, list_one, &l);
    if (!l.loaded) {
        fprintf(stderr, "ragkernel: no plugin could be loaded from");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %s", dirs[i]);
        fprintf(stderr, "\n");
    }
    conf_free(c);
    return l.loaded ? 0 : 1;
}

/* --config-reference: the core's sections, then the plugins found in the
 * DIRs or in -c FILE's plugin_path when either is given. */
static int reference(int argc, char **argv, const char *config, confdoc_fmt fmt)
{
    confdoc_core(stdout, fmt);
    if (argc == 0 && !config) return 0;
    confdoc_part(stdout, fmt, "Plugins",
                 "The keys of each plugin go under config: of an instance of it.");
    return list_plugins(argc, argv, config, 1, fmt);
}

static int serve(const char *path)
{
    cfg_diag d = {0};
    char abs[4096];
    if (enter_config_dir(path, abs, sizeof abs) != 0) return 1;
    server_block_signals();
    server *s = server_new(abs, &d);
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
    enum { OPT_CHECK = 256, OPT_LIST, OPT_VERSION, OPT_REFERENCE };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, OPT_CHECK},
        {"list-plugins", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"config-reference", required_argument, NULL, OPT_REFERENCE},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    /* nothing we create is anyone else's to read: conversations, documents,
     * indexes, lock files (0600; directories 0700) */
    umask(077);
    setenv("RAGKERNEL_STATE_DIR", paths_state_dir(), 0);
    paths_absolute_plugin_env(); /* before any chdir to a config's directory */
    int list = 0, verbose = 0, test = 0, c;
    confdoc_fmt fmt = CONFDOC_MD;
    while ((c = getopt_long(argc, argv, "c:htv", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 't': test = 1; break;
        case OPT_CHECK: return check_config(optarg);
        case OPT_LIST: list = 1; break;
        case OPT_REFERENCE:
            if (confdoc_parse_fmt(optarg, &fmt) != 0) {
                fprintf(stderr, "ragkernel: --config-reference=%s: unknown format (md or man)\n",
                        optarg);
                return 2;
            }
            list = 2;
            break;
        case OPT_VERSION:
            printf("ragkernel %s (plugin ABI %d.%d)\n", RK_VERSION, RK_ABI_MAJOR, RK_ABI_MINOR);
            return 0;
        case 'h': usage(stdout); return 0;
        case 'v': verbose = 1; break;
        default: usage(stderr); return 2;
        }
    }
    if (list == 2) return reference(argc - optind, argv + optind, config, fmt);
    if (list) return list_plugins(argc - optind, argv + optind, config, verbose, CONFDOC_MD);
    if (test && !config && optind + 1 == argc) config = argv[optind++];
    if (test && optind == argc) return check_config(config ? config : paths_default_config());
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return serve(config ? config : paths_default_config());
}
