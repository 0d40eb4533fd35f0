PLUGIN_PKGS_cache_redis := hiredis
PLUGIN_LIBS_cache_redis := -lpthread
