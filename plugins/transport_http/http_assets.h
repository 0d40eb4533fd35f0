/*
 * http_assets — the web UI's files, read into memory once when the
 * instance is created (a reload creates a new instance, so it reads them
 * again): serving them never touches the disk on a loop thread. Pure: no
 * MHD, no host, so the path rules are unit-tested on their own.
 */
#ifndef RK_HTTP_ASSETS_H
#define RK_HTTP_ASSETS_H

#include <stddef.h>

#define ASSETS_NAME_MAX 64            /* bytes of one file name */
#define ASSETS_FILE_MAX (1u << 20)    /* bytes of one file */
#define ASSETS_TOTAL_MAX (8u << 20)   /* bytes of all of them */
#define ASSETS_FILES_MAX 64           /* files served from one directory */

typedef struct asset {
    char name[ASSETS_NAME_MAX + 1];
    const char *ctype; /* static */
    char etag[24];     /* "\"<16 hex>\"", of the content */
    char *data;        /* owned */
    size_t len;
} asset;

typedef struct http_assets {
    asset *files; /* owned; n of them */
    size_t n;
} http_assets;

/* 1 when name may name a served file: 1..ASSETS_NAME_MAX bytes of
 * A-Z a-z 0-9 '.' '_' '-', not starting with '.', no "..". So no '/',
 * '\', '%', control byte or NUL can reach a lookup. */
int assets_name_ok(const char *name);

/* The Content-Type for name's extension; NULL for a kind we do not serve
 * (such files are left out of the directory's listing). */
const char *assets_ctype(const char *name);

/* Reads every servable regular file directly in dir (not below it): each
 * must resolve (symlinks followed) to a file inside dir itself and be at
 * most ASSETS_FILE_MAX bytes, all together ASSETS_TOTAL_MAX. Names that
 * fail assets_name_ok or assets_ctype and subdirectories are skipped.
 * 0 with *out (free with assets_free); -1 with msg naming the file and the
 * reason. */
int assets_load(const char *dir, http_assets **out, char *msg, size_t cap);

/* The file for a request path ("/" is "/index.html"); NULL when the path
 * is not "/" + a name assets_name_ok accepts, or no such file was read.
 * a may be NULL (the UI is off). */
const asset *assets_find(const http_assets *a, const char *path);

void assets_free(http_assets *a);

/* 1 when the path of a raw request target (before '?') holds "%00":
 * decoded, that NUL would cut the path short, and "/app.js%00.png" (or
 * "/documents/<id>%00x") would name another file than the one asked for.
 * Query arguments are http_frame's (it names the parameter). */
int assets_path_has_nul(const char *target);

#endif
