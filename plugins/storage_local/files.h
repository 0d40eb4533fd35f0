/*
 * files — the durable-file primitives storage_local is built from: safe
 * names, directories, and "staged" temporary files that are written and
 * fsynced next to their final name so that a rename publishes them whole.
 */
#ifndef RK_STORAGE_LOCAL_FILES_H
#define RK_STORAGE_LOCAL_FILES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <ragkernel/storage.h>

#define FILES_NAME_MAX 64

/* 1 if s matches [A-Za-z0-9_-]{1,64}: such a name can never leave its
 * directory ("..", "/", NUL and dot-files are impossible). */
int files_name_ok(const char *s);
/* Same test on the first n bytes of s. */
int files_name_ok_n(const char *s, size_t n);

/* snprintf that reports truncation as RK_ERR_INVALID. */
int files_path(char *buf, size_t cap, rk_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* mkdir -p with mode 0750 for the missing components. */
int files_mkdirs(const char *path, rk_err *err);
/* Make a directory's entries (creations, renames, unlinks) durable. */
int files_fsync_dir(const char *dir, rk_err *err);

/* A temporary file in a directory, not yet renamed into place. The caller
 * owns it: on every path it ends in files_staged_publish or
 * files_staged_discard. */
typedef struct files_staged {
    char path[PATH_MAX];
    int active;
} files_staged;

/* Create "<dir>/.<stem>.XXXXXX" and fill it with exactly `expect` bytes
 * pulled from read(); fsync and close it. A read error, a short or long
 * body, or an I/O error removes the file and returns an rk_status. */
int files_stage_stream(files_staged *st, const char *dir, const char *stem,
                       uint64_t expect, rk_read_fn read, void *rud, rk_err *err);
/* Same with a buffer as the content. */
int files_stage_bytes(files_staged *st, const char *dir, const char *stem,
                      const void *data, size_t len, rk_err *err);
/* rename() the staged file onto dest. */
int files_staged_publish(files_staged *st, const char *dest, rk_err *err);
/* Remove it if it still exists (no-op after publish). */
void files_staged_discard(files_staged *st);

/* Whole small file into a malloc'd buffer (NUL-terminated), at most max
 * bytes. RK_ERR_NOT_FOUND if absent. */
int files_read_small(const char *path, size_t max, char **out, size_t *len,
                     rk_err *err);

/* Sorted (strcmp) names in dir that pass keep(); *names is owned by the
 * caller (files_names_free). keep may rewrite the name in place (e.g. strip
 * a suffix) and returns nonzero to keep it. */
int files_list_names(const char *dir, int (*keep)(char *name, int is_dir),
                     char ***names, size_t *n, rk_err *err);
void files_names_free(char **names, size_t n);

#endif
