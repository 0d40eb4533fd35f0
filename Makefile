# ragkernel — build, test, run, install.
#
#   make            core binary, plugins, tools          -> build/
#   make run        build and serve config/default.yaml
#   make check      deps + build + unit + integration tests, then the same
#                   suite again under ASan+UBSan (build-asan/), then the fuzz
#                   corpora replayed (make fuzz-replay), then make analyze
#   make check-tsan the unit and integration suites under ThreadSanitizer
#                   (clang, build-tsan/)
#   make bench      benchmarks (see bench/README.md)
#   make bench-plots  bench/plots/*.png from the recorded bench/results/*.tsv
#                   (gnuplot; PLOTS_DIR= writes elsewhere)
#   make analyze    clang static analyzer (scan-build) over core, plugins
#                   and tools; fails on any report (HTML in build/analyze/)
#   make fuzz       libFuzzer harnesses (tests/fuzz/fuzz.mk)
#   make install PREFIX=/usr/local   (SYSCONFDIR, LOCALSTATEDIR, DATADIR, DESTDIR too)
#   make uninstall                   the same variables
#   make man        man pages ragkernel(1), ragkernel.yaml(5) -> build/man/
#   make deb        Debian packages -> build/pkg/ (packaging/deb/build.sh)
#   make docs       docs/config.md, docs/plugins.md from the schema tables
#   make deps       install missing Debian/npm packages (idempotent)
#
# Plugins are discovered: every plugins/<name>/ (but plugins/lib/) builds
# build/plugins/<name>.so from its *.c; an optional plugins/<name>/plugin.mk
# sets PLUGIN_PKGS_<name> (pkg-config names: their --cflags and --libs are
# added), PLUGIN_LIBS_<name>, PLUGIN_CFLAGS_<name> and PLUGIN_SRCS_<name>: code
# shared between plugins (plugins/lib/<area>/*.c, common/*.c) compiled into
# that .so on its own, so no symbol is shared between .so files at run time.

VERSION   := 0.1.0
CC        ?= cc
BUILD     ?= build
PREFIX    ?= /usr/local
# compiled into the binary (core/runtime/paths.c): where it finds its plugins, its
# default config ($(SYSCONFDIR)/ragkernel/ragkernel.yaml) and its state
# ($(LOCALSTATEDIR)/lib/ragkernel); /usr gets /etc and /var, as on Debian
SYSCONFDIR    ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
LOCALSTATEDIR ?= $(if $(filter /usr,$(PREFIX)),/var,$(PREFIX)/var)
PLUGINDIR     ?= $(PREFIX)/lib/ragkernel/plugins
# the web UI's files (www/), read by transport_http (its ui_dir default)
DATADIR       ?= $(PREFIX)/share
UIDIR         := $(DATADIR)/ragkernel/www
MANDIR        ?= $(DATADIR)/man
SAN       ?= 0
CONFIG    ?= config/default.yaml

# pkg-config packages: the core binary's, and what unit tests add (plugin
# code compiled into them reads JSON with jansson)
PKG_CORE  := yaml-0.1 libcurl
PKG_TEST  := check jansson
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT       := -O2 -g
ifeq ($(SAN),1)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANLD     := -fsanitize=address,undefined
endif
ifeq ($(SAN),thread)
CC        := clang
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
SANLD     := -fsanitize=thread
endif
CFLAGS    := -std=gnu11 $(WARN) $(OPT) -fPIC -MMD -MP -Isdk/include \
             -DRK_VERSION=\"$(VERSION)\" $(EXTRA_CFLAGS)
PLUGIN_CFLAGS := $(CFLAGS) -fvisibility=hidden -Icommon
# Probed quietly: on a machine without the -dev packages `make` says once
# which .pc is missing (pkgs_ok, below) instead of a warning per probe.
pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)
# shell test run before compiling against pkg-config packages $(1)
pkgs_ok = @for p in $(1); do pkg-config --exists $$p 2>/dev/null || { \
  echo "make: missing library: pkg-config finds no $$p.pc (needed by $(2)); run 'make deps' (tools/deps.sh)" >&2; exit 1; }; done
CORE_LIBS := $(call pkg_libs,$(PKG_CORE)) -ldl -lpthread -lm
# core/<area>/ folders show the architecture; each is on the include path so
# a module includes another's header by its name alone ("loop.h")
CORE_DIRS := $(patsubst %/,%,$(wildcard core/*/))
CORE_CFLAGS := $(CFLAGS) $(CORE_DIRS:%=-I%) -Icommon -I$(BUILD)/gen $(call pkg_cflags,$(PKG_CORE))
CHECK_LIBS := $(call pkg_libs,$(PKG_TEST))

# common/: code the core and plugins both compile in (plugins through a
# one-line .c of their own), never shared at run time
CORE_SRCS := $(filter-out core/runtime/main.c,$(wildcard core/*/*.c)) $(wildcard common/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)

PLUGINS   := $(filter-out lib,$(notdir $(patsubst %/,%,$(wildcard plugins/*/))))
PLUGIN_SOS := $(PLUGINS:%=$(BUILD)/plugins/%.so)
-include $(wildcard plugins/*/plugin.mk)
# Plugins must resolve every symbol at link time (a missing -l fails the
# build, not the dlopen). Not under ThreadSanitizer: clang leaves the TSan
# runtime to the executable, so a .so has its symbols undefined.
PLUGIN_LDFLAGS := $(if $(filter thread,$(SAN)),,-Wl,-z,defs)

TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGIN_SOS  := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/test-plugins/%.so)
# ABI compatibility: plugins and a host stand-in built against the frozen
# 1.0 headers only (tests/abi/README.md)
ABI10_CFLAGS := -std=gnu11 $(WARN) $(OPT) -fPIC -Itests/abi/1.0 $(EXTRA_CFLAGS)
ABI_PLUGIN_SOS := $(patsubst tests/abi/plugins/%.c,$(BUILD)/abi-plugins/%.so,$(wildcard tests/abi/plugins/*.c))
TEST_EXTRA_test_abi := $(BUILD)/obj/tests/abi/host_1_0.o
# unit tests: tests/unit/core/ (core modules) and tests/unit/plugins/ (plugin
# code through the harness); binaries stay flat: $(BUILD)/tests/test_<name>
UNIT_SRCS := $(wildcard tests/unit/core/test_*.c tests/unit/plugins/test_*.c)
# shared test helpers (e.g. a plugin-instance harness), linked into every unit test
TEST_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/support/*.c))
.SECONDARY: $(TEST_SUPPORT_OBJS)
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(UNIT_SRCS))))
TOOLS     := $(BUILD)/ragkernel-plugin-check

.PHONY: all run check check-unit check-integration check-asan check-tsan bench bench-plots install \
        uninstall deps clean test-build docs FORCE fuzz fuzz-build fuzz-replay analyze man deb
all: $(BUILD)/ragkernel $(PLUGIN_SOS) $(TOOLS)

# rewritten only when a directory changed, so only core/runtime/paths.c rebuilds
PATHS_H := $(BUILD)/gen/rk_paths.h
$(PATHS_H): FORCE
	@mkdir -p $(dir $@)
	@printf '#define RK_PLUGINDIR "%s"\n#define RK_SYSCONFDIR "%s"\n#define RK_LOCALSTATEDIR "%s"\n#define RK_UI_DIR "%s"\n' \
	  '$(PLUGINDIR)' '$(SYSCONFDIR)' '$(LOCALSTATEDIR)' '$(UIDIR)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/core/runtime/paths.o: $(PATHS_H)
FORCE:

$(BUILD)/obj/%.o: %.c | $(BUILD)/pkgs/core.ok
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/ragkernel: $(CORE_OBJS) $(BUILD)/obj/core/runtime/main.o
	$(CC) $(SANLD) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/ragkernel-plugin-check: $(CORE_OBJS) $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/plugin_check*.c))
	$(CC) $(SANLD) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# one rule per plugin: every .c in plugins/<name>/ -> build/plugins/<name>.so
define PLUGIN_RULE
PLUGIN_CFLAGS_$(1) += $(call pkg_cflags,$(PLUGIN_PKGS_$(1)))
PLUGIN_LIBS_$(1) := $(call pkg_libs,$(PLUGIN_PKGS_$(1))) $(PLUGIN_LIBS_$(1))
$(BUILD)/plugins/$(1).so: $(patsubst %.c,$(BUILD)/pobj/%.o,$(wildcard plugins/$(1)/*.c)) \
    $(patsubst %.c,$(BUILD)/pobj/shared/$(1)/%.o,$(PLUGIN_SRCS_$(1)))
	@mkdir -p $$(dir $$@)
	$$(CC) $(SANLD) $$(LDFLAGS) -shared $$(PLUGIN_LDFLAGS) -o $$@ $$^ $$(PLUGIN_LIBS_$(1))
$(BUILD)/pobj/plugins/$(1)/%.o: plugins/$(1)/%.c | $(BUILD)/pkgs/plugin-$(1).ok
	@mkdir -p $$(dir $$@)
	$$(CC) $$(PLUGIN_CFLAGS) $$(PLUGIN_CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/pobj/shared/$(1)/%.o: %.c | $(BUILD)/pkgs/plugin-$(1).ok
	@mkdir -p $$(dir $$@)
	$$(CC) $$(PLUGIN_CFLAGS) $$(PLUGIN_CFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/pkgs/plugin-$(1).ok:
	$$(call pkgs_ok,$(PLUGIN_PKGS_$(1)),plugins/$(1))
	@mkdir -p $$(dir $$@) && touch $$@
endef
$(foreach p,$(PLUGINS),$(eval $(call PLUGIN_RULE,$(p))))

$(BUILD)/pkgs/core.ok:
	$(call pkgs_ok,$(PKG_CORE),the core)
	@mkdir -p $(dir $@) && touch $@
$(BUILD)/pkgs/test.ok:
	$(call pkgs_ok,$(PKG_TEST),the unit tests)
	@mkdir -p $(dir $@) && touch $@

# test plugins: one file each, purpose-built (some deliberately broken)
$(BUILD)/test-plugins/%.so: tests/plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) $(SANLD) -shared -o $@ $<

$(BUILD)/abi-plugins/%.so: tests/abi/plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ABI10_CFLAGS) -fvisibility=hidden $(SANLD) -shared -o $@ $<
$(BUILD)/obj/tests/abi/%.o: tests/abi/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ABI10_CFLAGS) -c $< -o $@
$(BUILD)/tests/test_abi: $(TEST_EXTRA_test_abi)
# unit tests that compile plugin sources in find the shared headers here
TEST_CFLAGS_test_llm_sse := -Iplugins/lib/llm
# test_http_openapi links transport_http's own objects (its route table and
# the compiled-in openapi.json, see its plugin.mk); common/ is in CORE_OBJS
HTTP_TEST_OBJS := $(patsubst %.c,$(BUILD)/pobj/%.o,$(wildcard plugins/transport_http/*.c)) \
  $(patsubst %.c,$(BUILD)/pobj/shared/transport_http/%.o,$(filter-out common/%,$(PLUGIN_SRCS_transport_http))) \
  $(OPENAPI_GEN_O)
$(BUILD)/tests/test_http_openapi: $(HTTP_TEST_OBJS)
TEST_EXTRA_test_http_openapi := $(HTTP_TEST_OBJS) $(call pkg_libs,libmicrohttpd jansson) -lpthread
TEST_CFLAGS_test_http_openapi := -Iplugins/transport_http $(call pkg_cflags,libmicrohttpd)
# test_http_job: the shared job outcome, against the same objects
$(BUILD)/tests/test_http_job: $(HTTP_TEST_OBJS)
TEST_EXTRA_test_http_job := $(TEST_EXTRA_test_http_openapi)
TEST_CFLAGS_test_http_job := $(TEST_CFLAGS_test_http_openapi)
TEST_CFLAGS_test_pdftext := -Iplugins/extract_pdf
TEST_CFLAGS_test_llm_call := -Iplugins/lib/llm

define UNIT_RULE
$(BUILD)/tests/%: tests/unit/$(1)/%.c $(CORE_OBJS) $(TEST_SUPPORT_OBJS) | $(BUILD)/pkgs/test.ok
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CORE_CFLAGS) -Itests/support $$(TEST_CFLAGS_$$*) $$(call pkg_cflags,$(PKG_TEST)) $$(SANLD) -o $$@ $$< $$(TEST_EXTRA_$$*) $$(CORE_OBJS) $$(TEST_SUPPORT_OBJS) $$(CORE_LIBS) $$(CHECK_LIBS)
endef
$(foreach d,core plugins,$(eval $(call UNIT_RULE,$(d))))
# unit tests lived in tests/unit/ before tests/unit/{core,plugins}/: a build
# dir from then has .d files naming the old paths, which need no rule of
# their own ($< is the path above)
$(addprefix tests/unit/,$(notdir $(UNIT_SRCS))): ;

test-build: all $(TEST_PLUGIN_SOS) $(ABI_PLUGIN_SOS) $(UNIT_BINS)

run:
	@tools/deps.sh build
	@$(MAKE) --no-print-directory all
	$(BUILD)/ragkernel -c $(CONFIG)

check: deps
	$(MAKE) check-unit check-integration
	$(MAKE) check-asan
	$(MAKE) fuzz-replay
	$(MAKE) analyze

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 check-unit check-integration

# ThreadSanitizer (clang): the unit and integration suites; any report fails
check-tsan:
	$(MAKE) BUILD=build-tsan SAN=thread check-unit check-integration

check-unit: test-build
	@BUILD=$(BUILD) SAN=$(SAN) tests/run-unit.sh $(UNIT_BINS)

check-integration: test-build
	@BUILD=$(BUILD) SAN=$(SAN) tests/run-integration.sh

bench: all
	bench/run.sh

PLOTS_DIR ?= bench/plots
bench-plots:
	bench/plots.sh $(PLOTS_DIR)

# A build of its own (the analyzer compiles everything again), so nothing
# is skipped as up to date; --status-bugs: exit 1 when anything is reported.
analyze:
	@command -v scan-build >/dev/null || { echo "analyze: needs scan-build (clang-tools): make deps" >&2; exit 1; }
	rm -rf $(BUILD)/analyze
	scan-build --status-bugs -o $(BUILD)/analyze/report \
	  $(MAKE) --no-print-directory BUILD=$(BUILD)/analyze all
	@if ls -d $(BUILD)/analyze/report/*/failures >/dev/null 2>&1; then \
	  echo "analyze: the analyzer could not read some files: $(BUILD)/analyze/report/*/failures" >&2; exit 1; fi

# Man pages from docs/man/*.in and what the built binaries print (--help,
# --config-reference=man over the built plugins): tools/man.sh.
MAN_PAGES := $(BUILD)/man/ragkernel.1 $(BUILD)/man/ragkernel.yaml.5 \
             $(BUILD)/man/ragkernel-plugin-check.1
man: $(MAN_PAGES)
$(MAN_PAGES) &: $(BUILD)/ragkernel $(PLUGIN_SOS) $(TOOLS) $(wildcard docs/man/*.in) \
    config/installed.yaml tools/man.sh
	VERSION=$(VERSION) SYSCONFDIR=$(SYSCONFDIR) LOCALSTATEDIR=$(LOCALSTATEDIR) \
	  PLUGINDIR=$(PLUGINDIR) tools/man.sh $(BUILD)/man $(BUILD)

# Debian packages (binary, plugins, man pages, config, systemd unit; and
# -dev: SDK headers, ragkernel.pc, ragkernel-plugin-check) from a staged
# `make install PREFIX=/usr` in a build dir of their own: packaging/deb/build.sh.
deb:
	MAKE="$(MAKE)" BUILD=$(BUILD) VERSION=$(VERSION) SAN=$(SAN) packaging/deb/build.sh

# docs/config.md (the core's sections) and docs/plugins.md (every plugin's
# keys) from the same schema tables the config parser validates with
docs: all
	@{ echo "# Configuration reference"; echo; \
	  echo "Generated from the core's schema tables by \`ragkernel --config-reference=md\` (\`make docs\`); the same tables validate a config and write \`ragkernel.yaml(5)\`. Plugin keys: [plugins.md](plugins.md)."; \
	  $(BUILD)/ragkernel --config-reference=md; } > docs/config.md
	@{ echo "# Plugin reference"; echo; \
	  echo "Generated from each plugin's own config schema by \`ragkernel --list-plugins -v build/plugins\` (\`make docs\`). Keys go under \`config:\` of an instance; durations are \`250ms\`/\`30s\`/\`2m\`/\`1h\`, sizes \`64k\`/\`16MB\`."; \
	  $(BUILD)/ragkernel --list-plugins -v $(BUILD)/plugins; } > docs/plugins.md

deps:
	@tools/deps.sh

# The config is installed once (an operator's edits survive reinstalls);
# the state directory is private (conversations, documents).
INSTALLED_CONFIG := $(DESTDIR)$(SYSCONFDIR)/ragkernel/ragkernel.yaml
UI_FILES := $(wildcard www/*.html www/*.js www/*.css www/*.svg)
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PLUGINDIR) \
	  $(DESTDIR)$(PREFIX)/include/ragkernel $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(SYSCONFDIR)/ragkernel $(DESTDIR)$(UIDIR)
	install -d -m 700 $(DESTDIR)$(LOCALSTATEDIR)/lib/ragkernel
	install -m 755 $(BUILD)/ragkernel $(BUILD)/ragkernel-plugin-check $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/
	install -m 644 sdk/include/ragkernel/*.h $(DESTDIR)$(PREFIX)/include/ragkernel/
	install -m 644 $(UI_FILES) $(DESTDIR)$(UIDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' sdk/ragkernel.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ragkernel.pc
	test -e $(INSTALLED_CONFIG) || install -m 644 config/installed.yaml $(INSTALLED_CONFIG)
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/

# What install put there, but the config if it was edited and the state
# directory if it holds data (both are the operator's).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ragkernel $(DESTDIR)$(PREFIX)/bin/ragkernel-plugin-check \
	  $(addprefix $(DESTDIR)$(PLUGINDIR)/,$(notdir $(PLUGIN_SOS))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/include/ragkernel/,$(notdir $(wildcard sdk/include/ragkernel/*.h))) \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/ragkernel.pc \
	  $(addprefix $(DESTDIR)$(UIDIR)/,$(notdir $(UI_FILES))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MAN_PAGES)))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MAN_PAGES))))
	if cmp -s config/installed.yaml $(INSTALLED_CONFIG); then rm -f $(INSTALLED_CONFIG); fi
	-rmdir $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(PREFIX)/lib/ragkernel \
	  $(DESTDIR)$(PREFIX)/include/ragkernel $(DESTDIR)$(SYSCONFDIR)/ragkernel \
	  $(DESTDIR)$(UIDIR) $(DESTDIR)$(DATADIR)/ragkernel \
	  $(DESTDIR)$(LOCALSTATEDIR)/lib/ragkernel 2>/dev/null

clean:
	rm -rf build build-asan build-tsan

include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
