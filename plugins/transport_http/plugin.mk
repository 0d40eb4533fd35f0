PLUGIN_PKGS_transport_http := libmicrohttpd jansson
PLUGIN_LIBS_transport_http := -lpthread
PLUGIN_SRCS_transport_http := common/oj.c
