PLUGIN_LIBS_transport_http := $(shell pkg-config --libs libmicrohttpd jansson) -lpthread
PLUGIN_CFLAGS_transport_http := $(shell pkg-config --cflags libmicrohttpd jansson)
PLUGIN_SRCS_transport_http := common/oj.c
