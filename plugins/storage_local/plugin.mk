PLUGIN_PKGS_storage_local := jansson
