PLUGIN_SRCS_cache_memory := common/tbucket.c
