PLUGIN_LIBS_storage_s3 := $(shell pkg-config --libs libcurl)
PLUGIN_CFLAGS_storage_s3 := $(shell pkg-config --cflags libcurl)
