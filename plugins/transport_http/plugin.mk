PLUGIN_PKGS_transport_http := libmicrohttpd jansson
PLUGIN_LIBS_transport_http := -lpthread
PLUGIN_SRCS_transport_http := common/oj.c

# openapi.json (GET /openapi.json) compiled in as a C string, so the .so
# needs no data file: sed escapes backslashes and quotes and makes each
# line a literal (POSIX tools only; no xxd, no ld -b binary).
OPENAPI_GEN_C := $(BUILD)/gen/transport_http/openapi_json.c
OPENAPI_GEN_O := $(BUILD)/pobj/gen/transport_http/openapi_json.o
$(BUILD)/plugins/transport_http.so: $(OPENAPI_GEN_O)
$(OPENAPI_GEN_O): $(OPENAPI_GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -c $< -o $@
$(OPENAPI_GEN_C): plugins/transport_http/openapi.json plugins/transport_http/plugin.mk
	@mkdir -p $(dir $@)
	@{ echo '/* generated from plugins/transport_http/openapi.json (plugin.mk) */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const char http_openapi_json[];'; \
	  echo 'extern const size_t http_openapi_json_len;'; \
	  echo 'const char http_openapi_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; \
	  echo 'const size_t http_openapi_json_len = sizeof http_openapi_json - 1;'; \
	} >$@.tmp && mv $@.tmp $@

# the web UI's default directory (RK_UI_DIR) comes from the Makefile's
# DATADIR through the generated header the core's paths.c reads too
PLUGIN_CFLAGS_transport_http := -I$(BUILD)/gen
$(BUILD)/pobj/plugins/transport_http/http_main.o \
$(BUILD)/pobj/plugins/transport_http/http_static.o: $(BUILD)/gen/rk_paths.h
