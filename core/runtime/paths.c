/*
 * paths — owns the directories compiled into the binary. They come from a
 * header the Makefile regenerates only when PREFIX, SYSCONFDIR or
 * LOCALSTATEDIR change (build/gen/rk_paths.h), so `make install
 * PREFIX=/usr` rebuilds this file and nothing else. A build tree's binary
 * also finds the plugins beside it, so running build/ragkernel needs no
 * install and no environment.
 */
#define _GNU_SOURCE
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rk_paths.h" /* RK_PLUGINDIR, RK_SYSCONFDIR, RK_LOCALSTATEDIR */

const char *paths_plugin_dir(void) { return RK_PLUGINDIR; }
const char *paths_default_config(void) { return RK_SYSCONFDIR "/ragkernel/ragkernel.yaml"; }
const char *paths_state_dir(void) { return RK_LOCALSTATEDIR "/lib/ragkernel"; }

const char *paths_beside_binary(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    struct stat st;
    int w = snprintf(buf, cap, "%s/plugins", exe);
    if (w < 0 || (size_t)w >= cap || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return buf;
}

int paths_enter_config_dir(const char *config, char *abs, size_t cap)
{
    char *real = realpath(config, NULL);
    if (!real) return -1;
    int w = snprintf(abs, cap, "%s", real);
    char *slash = strrchr(real, '/');
    if (slash) slash[slash == real ? 1 : 0] = '\0';
    int rc = w < 0 || (size_t)w >= cap ? (errno = ENAMETOOLONG, -1) : chdir(real);
    free(real);
    return rc;
}

void paths_absolute_plugin_env(void)
{
    const char *e = getenv("RK_PLUGIN_DIR");
    char cwd[PATH_MAX];
    if (!e || !*e || !getcwd(cwd, sizeof cwd)) return;
    size_t parts = 1;
    for (const char *c = e; *c; c++) parts += *c == ':';
    size_t cap = strlen(e) + parts * (strlen(cwd) + 2) + 1, n = 0;
    char *out = malloc(cap), *copy = strdup(e), *save = NULL;
    if (out && copy) {
        out[0] = '\0';
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
            n += (size_t)snprintf(out + n, cap - n, "%s%s%s%s", n ? ":" : "",
                                  t[0] == '/' ? "" : cwd, t[0] == '/' ? "" : "/", t);
        setenv("RK_PLUGIN_DIR", out, 1);
    }
    free(out);
    free(copy);
}
