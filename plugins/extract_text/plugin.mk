PLUGIN_SRCS_extract_text := common/textnorm.c common/strbuf.c common/oj.c
