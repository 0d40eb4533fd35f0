/*
 * store — owns the SQLite side of the retriever: the schema, connection
 * settings and every SQL statement. WAL with synchronous=NORMAL makes a
 * committed index() durable against a process crash at the cost of one
 * append to the log (no fsync per document; the log is synced at
 * checkpoints), and lets read handles fetch texts while a write runs.
 * busy_timeout covers the rare case of a checkpoint or another process
 * holding the file. Statements are prepared once per handle.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walckpt.h"

enum { Q_OLD, Q_DEL, Q_INS, Q_FETCH, Q_UPD, Q_VSET, Q_VDEL, Q_VGET, Q_COUNT };

static const char *const sql_text[Q_COUNT] = {
    [Q_OLD] = "SELECT id, latin, dl, terms FROM chunks WHERE tenant=?1 AND doc_id=?2",
    [Q_DEL] = "DELETE FROM chunks WHERE tenant=?1 AND doc_id=?2",
    [Q_INS] = "INSERT INTO chunks(tenant, doc_id, idx, title, text, lang, latin, dl, terms)"
              " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_FETCH] = "SELECT doc_id, title, idx, text, lang, latin FROM chunks"
                " WHERE id=?1 AND (?2 IS NULL OR tenant=?2)",
    [Q_UPD] = "UPDATE chunks SET latin=?2, dl=?3, terms=?4 WHERE id=?1",
    [Q_VSET] = "INSERT OR REPLACE INTO doc_versions(tenant, doc_id, version) VALUES(?1, ?2, ?3)",
    [Q_VDEL] = "DELETE FROM doc_versions WHERE tenant=?1 AND doc_id=?2",
    [Q_VGET] = "SELECT version FROM doc_versions WHERE tenant=?1 AND doc_id=?2",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS chunks("
    " id INTEGER PRIMARY KEY,"
    " tenant TEXT NOT NULL,"
    " doc_id TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " title TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " lang TEXT NOT NULL,"
    " latin TEXT NOT NULL,"
    " dl INTEGER NOT NULL,"
    " terms BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(tenant, doc_id);"
    /* the document version each indexed document was made from (1.1) */
    "CREATE TABLE IF NOT EXISTS doc_versions("
    " tenant TEXT NOT NULL,"
    " doc_id TEXT NOT NULL,"
    " version TEXT NOT NULL,"
    " PRIMARY KEY(tenant, doc_id)) WITHOUT ROWID;";

struct st_db {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    int readonly;
    walckpt *ckpt; /* writer only */
};

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

static int fault_of(int code)
{
    code &= 0xff; /* primary code */
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? ST_CORRUPT
           : code == SQLITE_FULL                            ? ST_FULL
                                                            : ST_OTHER;
}

/* Fills err; *fault (if not NULL) gets the kind of failure. */
static int db_fail_kind(st_db *d, rk_err *err, const char *what, int *fault)
{
    int kind = d && d->db ? fault_of(sqlite3_errcode(d->db)) : ST_OTHER;
    if (fault)
        *fault = kind;
    return rk_fail(err, RK_ERR_IO, "sqlite: %s: %s%s", what,
                   d && d->db ? sqlite3_errmsg(d->db) : "cannot open",
                   kind == ST_FULL ? " (disk full)" : "");
}

static int db_fail(st_db *d, rk_err *err, const char *what)
{
    return db_fail_kind(d, err, what, NULL);
}

int st_probe(const char *path, int64_t busy_ms, int *fault, rk_err *err)
{
    struct stat st;
    *fault = ST_OTHER;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? RK_OK
                               : rk_fail(err, RK_ERR_IO, "cannot stat %s: %s", path,
                                         strerror(errno));
    st_db d = {0};
    int rc = RK_OK;
    sqlite3_stmt *s = NULL;
    if (sqlite3_open_v2(path, &d.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        rc = db_fail_kind(&d, err, "open", fault);
    if (rc == RK_OK) {
        sqlite3_busy_timeout(d.db, busy_ms > 0 && busy_ms < INT32_MAX ? (int)busy_ms : 5000);
        if (sqlite3_prepare_v2(d.db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK)
            rc = db_fail_kind(&d, err, "quick_check", fault);
    }
    if (rc == RK_OK) {
        int step = sqlite3_step(s);
        const char *res = step == SQLITE_ROW ? col_text(s, 0) : "";
        if (step != SQLITE_ROW)
            rc = db_fail_kind(&d, err, "quick_check", fault);
        else if (strcmp(res, "ok") != 0) {
            char line[160];
            snprintf(line, sizeof line, "%s", res);
            for (char *p = line; *p; p++) /* "*** in database main ***\nPage 2: ..." */
                if (*p == '\n')
                    *p = ' ';
            *fault = ST_CORRUPT;
            rc = rk_fail(err, RK_ERR_IO, "sqlite: quick_check: %s", line);
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(d.db);
    if (rc == RK_OK)
        *fault = ST_NONE;
    return rc;
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path, rk_err *err)
{
    char *dir = strdup(path);
    int rc = RK_OK;
    if (!dir)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            rc = rk_fail(err, RK_ERR_IO, "cannot create directory %s: %s", dir,
                         strerror(errno));
            break;
        }
        *p = '/';
    }
    free(dir);
    return rc;
}

static int exec(st_db *d, const char *sql, rk_err *err)
{
    return sqlite3_exec(d->db, sql, NULL, NULL, NULL) == SQLITE_OK ? RK_OK
                                                                 : db_fail(d, err, sql);
}

static int setup(st_db *d, int64_t busy_ms, rk_err *err)
{
    sqlite3_busy_timeout(d->db, busy_ms > 0 && busy_ms < INT32_MAX ? (int)busy_ms : 5000);
    int rc = d->readonly ? exec(d, "PRAGMA query_only=1", err)
                         : exec(d, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", err);
    if (rc == RK_OK && !d->readonly)
        rc = exec(d, schema_sql, err);
    for (int i = 0; rc == RK_OK && i < Q_COUNT; i++) {
        if (d->readonly && i != Q_FETCH)
            continue;
        if (sqlite3_prepare_v3(d->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &d->q[i],
                               NULL) != SQLITE_OK)
            rc = db_fail(d, err, "prepare");
    }
    return rc;
}

int st_open(const char *path, int64_t busy_ms, int readonly, st_db **out,
            rk_err *err)
{
    *out = NULL;
    st_db *d = calloc(1, sizeof *d);
    if (!d)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    d->readonly = readonly;
    int rc = readonly ? RK_OK : make_parents(path, err);
    /* created 0600 before SQLite sees it (the -wal and -shm files take its
     * mode): the index holds the documents' text */
    int fd = rc == RK_OK && !readonly ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -2;
    if (fd == -1)
        rc = rk_fail(err, RK_ERR_IO, "create %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (rc == RK_OK && sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK)
        rc = rk_fail(err, RK_ERR_IO, "sqlite: cannot open %s: %s", path,
                     d->db ? sqlite3_errmsg(d->db) : "out of memory");
    if (rc == RK_OK)
        rc = setup(d, busy_ms, err);
    if (rc == RK_OK && !readonly)
        d->ckpt = walckpt_start(d->db, path, busy_ms > 0 && busy_ms < INT32_MAX ? (int)busy_ms : 5000);
    if (rc != RK_OK) {
        st_close(d);
        return rc;
    }
    *out = d;
    return RK_OK;
}

void st_close(st_db *d)
{
    if (!d)
        return;
    walckpt_stop(d->ckpt);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(d->q[i]);
    sqlite3_close(d->db);
    free(d);
}

int st_get_version(st_db *d, int *version, rk_err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return db_fail(d, err, "user_version");
    int rc = sqlite3_step(s);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? RK_OK : db_fail(d, err, "user_version");
}

int st_set_version(st_db *d, int version, rk_err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
    return exec(d, sql, err);
}

int st_begin(st_db *d, rk_err *err) { return exec(d, "BEGIN IMMEDIATE", err); }
int st_commit(st_db *d, rk_err *err) { return exec(d, "COMMIT", err); }
void st_rollback(st_db *d) { sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL); }


static int report_old(st_db *d, const char *tenant, const char *doc_id,
                      void (*on_old)(void *, const st_row *), void *ud,
                      size_t *n_old, rk_err *err)
{
    sqlite3_stmt *s = d->q[Q_OLD];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, doc_id, -1, SQLITE_STATIC);
    int rc;
    *n_old = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        st_row r = {.rowid = sqlite3_column_int64(s, 0), .tenant = tenant,
                    .doc_id = doc_id, .latin = col_text(s, 1),
                    .dl = (uint32_t)sqlite3_column_int64(s, 2),
                    .terms = sqlite3_column_blob(s, 3),
                    .terms_len = (size_t)sqlite3_column_bytes(s, 3)};
        (*n_old)++;
        if (on_old)
            on_old(ud, &r);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? RK_OK : db_fail(d, err, "select old chunks");
}

static int insert_row(st_db *d, const char *tenant, const char *doc_id,
                      st_row *r, rk_err *err)
{
    sqlite3_stmt *s = d->q[Q_INS];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, doc_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, r->idx);
    sqlite3_bind_text(s, 4, r->title ? r->title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->lang, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, r->latin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, r->dl);
    sqlite3_bind_blob(s, 9, r->terms ? (const void *)r->terms : "", (int)r->terms_len,
                      SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return db_fail(d, err, "insert chunk");
    r->rowid = sqlite3_last_insert_rowid(d->db);
    return RK_OK;
}

/* Record version for the document, or drop its record (version NULL). */
static int set_version(st_db *d, const char *tenant, const char *doc_id,
                       const char *version, rk_err *err)
{
    sqlite3_stmt *s = d->q[version ? Q_VSET : Q_VDEL];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, doc_id, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_text(s, 3, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? RK_OK : db_fail(d, err, "record document version");
}

int st_doc_version(st_db *d, const char *tenant, const char *doc_id, char *out,
                   size_t cap, rk_err *err)
{
    sqlite3_stmt *s = d->q[Q_VGET];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, doc_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s), found = rc == SQLITE_ROW;
    if (found && cap)
        snprintf(out, cap, "%s", col_text(s, 0));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (!found && rc != SQLITE_DONE)
        return db_fail(d, err, "read document version");
    return found;
}

int st_replace(st_db *d, const char *tenant, const char *doc_id, st_row *rows,
               size_t n, const char *version, void (*on_old)(void *ud, const st_row *r),
               void *ud, size_t *n_old, rk_err *err)
{
    int rc = st_begin(d, err);
    if (rc != RK_OK)
        return rc;
    rc = report_old(d, tenant, doc_id, on_old, ud, n_old, err);
    if (rc == RK_OK && *n_old > 0) {
        sqlite3_stmt *s = d->q[Q_DEL];
        sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, doc_id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = db_fail(d, err, "delete chunks");
        sqlite3_reset(s);
    }
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        rc = insert_row(d, tenant, doc_id, &rows[i], err);
    if (rc == RK_OK)
        rc = set_version(d, tenant, doc_id, n ? version : NULL, err);
    if (rc == RK_OK)
        rc = st_commit(d, err);
    if (rc != RK_OK)
        st_rollback(d);
    return rc;
}

int st_scan(st_db *d, const char *tenant, int with_text,
            int (*fn)(void *ud, const st_row *r), void *ud, rk_err *err)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, tenant, doc_id, idx, lang, latin, dl, terms, %s FROM chunks%s",
             with_text ? "title, text" : "'', ''", tenant ? " WHERE tenant=?1" : "");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_fail(d, err, "scan");
    if (tenant)
        sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        st_row r = {.rowid = sqlite3_column_int64(s, 0), .tenant = col_text(s, 1),
                    .doc_id = col_text(s, 2), .idx = (uint32_t)sqlite3_column_int64(s, 3),
                    .lang = col_text(s, 4), .latin = col_text(s, 5),
                    .dl = (uint32_t)sqlite3_column_int64(s, 6),
                    .terms = sqlite3_column_blob(s, 7),
                    .terms_len = (size_t)sqlite3_column_bytes(s, 7),
                    .title = col_text(s, 8), .text = col_text(s, 9)};
        stop = fn(ud, &r);
    }
    int ok = stop || rc == SQLITE_DONE;
    if (!ok)
        db_fail(d, err, "scan");
    sqlite3_finalize(s);
    return stop ? stop : ok ? RK_OK : RK_ERR_IO;
}

int st_update_terms(st_db *d, int64_t rowid, const char *latin, uint32_t dl,
                    const uint8_t *terms, size_t len, rk_err *err)
{
    sqlite3_stmt *s = d->q[Q_UPD];
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_text(s, 2, latin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, dl);
    sqlite3_bind_blob(s, 4, terms ? (const void *)terms : "", (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? RK_OK : db_fail(d, err, "update terms");
}

int st_fetch(st_db *d, int64_t rowid, const char *tenant, st_row *out,
             rk_err *err)
{
    sqlite3_stmt *s = d->q[Q_FETCH];
    sqlite3_reset(s); /* releases the previous row's read transaction */
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_text(s, 2, tenant, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        int r = db_fail(d, err, "fetch chunk");
        sqlite3_reset(s);
        return r;
    }
    *out = (st_row){.rowid = rowid, .tenant = tenant, .doc_id = col_text(s, 0),
                    .title = col_text(s, 1), .idx = (uint32_t)sqlite3_column_int64(s, 2),
                    .text = col_text(s, 3), .lang = col_text(s, 4), .latin = col_text(s, 5)};
    return 1;
}

void st_fetch_done(st_db *d)
{
    sqlite3_reset(d->q[Q_FETCH]);
}
