PLUGIN_PKGS_history_sqlite := sqlite3
