PLUGIN_LIBS_extract_pdf := -lpthread
PLUGIN_SRCS_extract_pdf := common/textnorm.c common/strbuf.c common/oj.c
