PLUGIN_LIBS_transport_http := $(shell pkg-config --libs libmicrohttpd jansson) -lpthread
PLUGIN_CFLAGS_transport_http := $(shell pkg-config --cflags libmicrohttpd jansson)
