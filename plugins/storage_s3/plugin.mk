PLUGIN_PKGS_storage_s3 := libcurl
PLUGIN_SRCS_storage_s3 := common/sha256.c
