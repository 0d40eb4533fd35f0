PLUGIN_LIBS_cache_redis := $(shell pkg-config --libs hiredis) -lpthread
