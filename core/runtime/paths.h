/*
 * paths — where an installed ragkernel looks for things, fixed at build
 * time from the Makefile's PREFIX, SYSCONFDIR and LOCALSTATEDIR, and the
 * one rule for relative paths in a config file.
 */
#ifndef RK_CORE_PATHS_H
#define RK_CORE_PATHS_H

#include <stddef.h>

/* $(PREFIX)/lib/ragkernel/plugins */
const char *paths_plugin_dir(void);
/* $(SYSCONFDIR)/ragkernel/ragkernel.yaml: what `ragkernel` without -c serves */
const char *paths_default_config(void);
/* $(LOCALSTATEDIR)/lib/ragkernel: the installed config's data directory */
const char *paths_state_dir(void);
/* <directory of the running binary>/plugins, where a build tree keeps
 * them (build/ragkernel -> build/plugins); into buf, NULL if there is none. */
const char *paths_beside_binary(char *buf, size_t cap);

/* $RK_PLUGIN_DIR names directories relative to where ragkernel was
 * started: made absolute before the working directory changes. */
void paths_absolute_plugin_env(void);

/* Make the config file's directory the working directory, so relative
 * paths in it (plugin_path, seed_dir, data files, written after ${VAR}
 * substitution) mean the same wherever ragkernel is started from. Into
 * abs: the file's absolute path (for reloads). 0, or -1 with errno. */
int paths_enter_config_dir(const char *config, char *abs, size_t cap);

#endif
