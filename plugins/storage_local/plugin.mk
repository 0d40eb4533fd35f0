PLUGIN_LIBS_storage_local := $(shell pkg-config --libs jansson)
PLUGIN_CFLAGS_storage_local := $(shell pkg-config --cflags jansson)
