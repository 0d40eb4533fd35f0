PLUGIN_PKGS_storage_s3 := libcurl
