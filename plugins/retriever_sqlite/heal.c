/*
 * heal — a retriever file that SQLite finds damaged (truncated, garbage
 * pages, not a database) is moved aside instead of refusing to start:
 * the index is derived data, storage holds every document, and the host
 * re-indexes whatever the index lacks at start. The damaged file is kept
 * (renamed, never deleted) for whoever wants to look at it, together
 * with its -wal and -shm files, which must not be applied to the new,
 * empty database. A full disk is not damage: it is reported as such and
 * nothing is moved.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rs.h"

/* Rename path+suffix to aside+suffix if it exists; failing that, remove
 * it: a stale WAL must never meet the new file. */
static int move_companion(const char *path, const char *aside, const char *suffix,
                          rk_err *err)
{
    char from[PATH_MAX], to[PATH_MAX];
    if ((size_t)snprintf(from, sizeof from, "%s%s", path, suffix) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s%s", aside, suffix) >= sizeof to)
        return rk_fail(err, RK_ERR_INVALID, "path too long: %s", path);
    if (rename(from, to) == 0 || errno == ENOENT)
        return RK_OK;
    if (remove(from) == 0 || errno == ENOENT)
        return RK_OK;
    return rk_fail(err, RK_ERR_IO, "cannot move or remove %s: %s", from, strerror(errno));
}

int rs_set_aside(rs_ctx *c, const char *why, rk_err *err)
{
    char aside[PATH_MAX], stamp[32], reason[RK_ERR_MSG_MAX];
    time_t now = time(NULL);
    struct tm tm;
    snprintf(reason, sizeof reason, "%s", why); /* why may be err->msg */
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if ((size_t)snprintf(aside, sizeof aside, "%s.corrupt-%s", c->path, stamp) >= sizeof aside)
        return rk_fail(err, RK_ERR_INVALID, "path too long: %s", c->path);
    if (rename(c->path, aside) != 0)
        return rk_fail(err, RK_ERR_IO, "%s is damaged (%s) and cannot be moved aside: %s",
                       c->path, reason, strerror(errno));
    int rc = move_companion(c->path, aside, "-wal", err);
    if (rc == RK_OK)
        rc = move_companion(c->path, aside, "-shm", err);
    if (rc != RK_OK)
        return rc;
    c->host->log(c->self, RK_LOG_WARN,
                 "%s is damaged (%s): moved it to %s and starting with an empty index; "
                 "every stored document is indexed again from storage",
                 c->path, reason, aside);
    return RK_OK;
}
