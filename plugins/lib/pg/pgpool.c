/*
 * pgpool — owns the libpq connections of one PostgreSQL-backed instance
 * and everything about talking to the server that both PostgreSQL plugins
 * share. Connections are opened lazily up to pool_size and lent to one
 * worker thread at a time (a PGconn is not safe to share); a caller waits
 * on a condition variable, never longer than its deadline, when all are
 * out. A connection found broken is closed on release and a new one is
 * opened on demand, so a restarted server costs at most one failed call
 * per connection — and usually none, because the first statement of a
 * call is retried once on a fresh connection when the pooled one turns
 * out to be dead (every call that writes starts with BEGIN, so nothing can
 * have run twice). The schema is created on the first connection that
 * succeeds, inside a transaction holding an advisory lock, because two
 * hosts running CREATE TABLE IF NOT EXISTS at the same moment can still
 * collide in the catalog. A server that is down at create() is only a
 * warning: hosts in a fleet start in any order. Error messages name the
 * server as user@host:port/db taken apart from the URL, so the password
 * never reaches a log line or an HTTP answer.
 */
#include "pgpool.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGPOOL_MAX_SIZE 64
#define PGPOOL_WHERE_MAX 160

struct pgconn {
    PGconn *pg;
    pgpool *pool;
    int used; /* a statement ran since pgpool_get: no transparent retry */
    struct pgconn *next;
};

struct pgpool {
    const rk_host *host;
    rk_instance *self;
    char *url;
    char where[PGPOOL_WHERE_MAX]; /* user@host:port/db, for messages */
    char connect_s[24];           /* connect_timeout in whole seconds */
    char stmt_ms[24];             /* statement_timeout, "" = leave as is */
    int64_t wait_ms;              /* default wait for a free connection */
    char user_timeout_ms[24];     /* tcp_user_timeout: wait_ms */
    char **schema;
    size_t n_schema;
    char lock_key[24];            /* advisory lock id as text */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pgconn *idle;
    size_t n_open, size; /* lent + idle + being opened */

    pthread_mutex_t schema_mu;
    atomic_int schema_ok;
};

/* ---- messages --------------------------------------------------------- */

static int status_of(PGconn *pg, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!pg || PQstatus(pg) != CONNECTION_OK || !state)
        return RK_ERR_UNAVAILABLE;
    if (strcmp(state, "57014") == 0) /* statement_timeout */
        return RK_ERR_TIMEOUT;
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        return RK_ERR_INVALID; /* data exception, constraint violation */
    if (strncmp(state, "54", 2) == 0)
        return RK_ERR_TOO_LARGE; /* program limit, e.g. a 1 MB tsvector */
    return RK_ERR_UNAVAILABLE;
}

/* The server's reason, first line only (libpq adds hint lines). */
static int pg_fail(const pgpool *p, PGconn *pg, PGresult *res, rk_err *err)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if ((!msg || !*msg) && res)
        msg = PQresultErrorMessage(res);
    if ((!msg || !*msg) && pg)
        msg = PQerrorMessage(pg);
    if (!msg || !*msg)
        msg = "no connection";
    int n = (int)strcspn(msg, "\n");
    return rk_fail(err, status_of(pg, res), "postgres %s: %.*s", p->where, n, msg);
}

static void on_notice(void *arg, const char *message)
{
    const pgpool *p = arg;
    p->host->log(p->self, RK_LOG_DEBUG, "postgres: %.*s", (int)strcspn(message, "\n"),
                 message);
}

/* ---- connections ------------------------------------------------------ */

static int conn_open(pgpool *p, pgconn *c, rk_err *err)
{
    /* dbname is expanded as a URI/conninfo: what comes before it is a
     * default the URL may change — TCP keepalives and a limit on
     * unacknowledged data, so a server that vanished from the network
     * fails a call instead of hanging a worker for the kernel's 15 min —
     * and what comes after it wins over the URL: the configured
     * connect_timeout, and UTF-8, which is what every string crossing the
     * ABI is whatever the database uses */
    const char *keys[] = {"keepalives_idle", "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "dbname", "connect_timeout", "client_encoding",
                          "fallback_application_name", NULL};
    const char *vals[] = {"10", "5", "3", p->user_timeout_ms, p->url, p->connect_s, "UTF8",
                          "ragkernel", NULL};
    if (c->pg)
        PQfinish(c->pg);
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory connecting to postgres");
    if (PQstatus(c->pg) != CONNECTION_OK)
        return pg_fail(p, c->pg, NULL, err);
    PQsetNoticeProcessor(c->pg, on_notice, p);
    if (!p->stmt_ms[0])
        return RK_OK;
    const char *v[] = {p->stmt_ms};
    PGresult *r = PQexecParams(c->pg, "SELECT set_config('statement_timeout', $1, false)",
                               1, NULL, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? RK_OK : pg_fail(p, c->pg, r, err);
    PQclear(r);
    return rc;
}

int pgc_exec(pgconn *c, const char *sql, int n, const char *const *params,
             PGresult **res, rk_err *err)
{
    if (res)
        *res = NULL;
    for (int attempt = 0;; attempt++) {
        PGresult *r = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            c->used = 1;
            if (res)
                *res = r;
            else
                PQclear(r);
            return RK_OK;
        }
        int retry = !c->used && attempt == 0 && PQstatus(c->pg) != CONNECTION_OK;
        int rc = retry ? RK_OK : pg_fail(c->pool, c->pg, r, err);
        PQclear(r);
        c->used = 1;
        if (rc != RK_OK)
            return rc;
        if ((rc = conn_open(c->pool, c, err)) != RK_OK)
            return rc;
    }
}

int pgc_begin(pgconn *c, rk_err *err) { return pgc_exec(c, "BEGIN", 0, NULL, NULL, err); }

int pgc_commit(pgconn *c, rk_err *err) { return pgc_exec(c, "COMMIT", 0, NULL, NULL, err); }

int pgc_local_timeout(pgconn *c, int64_t ms, rk_err *err)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)(ms < 1 ? 1 : ms));
    const char *params[] = {v};
    return pgc_exec(c, "SELECT set_config('statement_timeout', $1, true)", 1, params, NULL,
                    err);
}

int64_t pg_affected(PGresult *res)
{
    const char *n = res ? PQcmdTuples(res) : "";
    return *n ? strtoll(n, NULL, 10) : 0;
}

/* ---- the pool --------------------------------------------------------- */

static void abs_deadline(const pgpool *p, int64_t deadline_ms, struct timespec *ts)
{
    int64_t left = deadline_ms - p->host->now_ms();
    if (left < 0)
        left = 0;
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(left / 1000);
    ts->tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* An idle connection in *c, or *c = NULL and a reserved slot for a new one. */
static int take_slot(pgpool *p, int64_t deadline_ms, pgconn **c, rk_err *err)
{
    struct timespec ts;
    int timed_out = 0;
    abs_deadline(p, deadline_ms, &ts);
    pthread_mutex_lock(&p->mu);
    while (!p->idle && p->n_open >= p->size && !timed_out)
        timed_out = pthread_cond_timedwait(&p->cv, &p->mu, &ts) != 0;
    if (p->idle) {
        *c = p->idle;
        p->idle = (*c)->next;
    } else if (p->n_open < p->size) {
        *c = NULL;
        p->n_open++;
    } else {
        pthread_mutex_unlock(&p->mu);
        return rk_fail(err, RK_ERR_TIMEOUT, "postgres %s: all %zu connections busy",
                       p->where, p->size);
    }
    pthread_mutex_unlock(&p->mu);
    return RK_OK;
}

void pgpool_put(pgpool *p, pgconn *c)
{
    if (!c)
        return;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
    int healthy = c->pg && PQstatus(c->pg) == CONNECTION_OK &&
                  PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    if (!healthy) {
        if (c->pg)
            PQfinish(c->pg);
        free(c);
    }
    pthread_mutex_lock(&p->mu);
    if (healthy) {
        c->next = p->idle;
        p->idle = c;
    } else {
        p->n_open--;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int ensure_schema(pgpool *p, pgconn *c, rk_err *err)
{
    int rc = RK_OK;
    pthread_mutex_lock(&p->schema_mu);
    if (!atomic_load(&p->schema_ok)) {
        const char *key[] = {p->lock_key};
        rc = pgc_begin(c, err);
        if (rc == RK_OK)
            rc = pgc_exec(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, key, NULL, err);
        for (size_t i = 0; rc == RK_OK && i < p->n_schema; i++)
            rc = pgc_exec(c, p->schema[i], 0, NULL, NULL, err);
        if (rc == RK_OK)
            rc = pgc_commit(c, err);
        if (rc == RK_OK)
            atomic_store(&p->schema_ok, 1);
    }
    pthread_mutex_unlock(&p->schema_mu);
    return rc;
}

int pgpool_get(pgpool *p, int64_t deadline_ms, pgconn **out, rk_err *err)
{
    pgconn *c = NULL;
    *out = NULL;
    if (deadline_ms == 0)
        deadline_ms = p->host->now_ms() + p->wait_ms;
    int rc = take_slot(p, deadline_ms, &c, err);
    if (rc != RK_OK)
        return rc;
    if (!c && !(c = calloc(1, sizeof *c))) {
        pthread_mutex_lock(&p->mu); /* give the reserved slot back */
        p->n_open--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    c->pool = p;
    c->used = 0;
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
        rc = conn_open(p, c, err);
    if (rc == RK_OK && !atomic_load(&p->schema_ok))
        rc = ensure_schema(p, c, err);
    if (rc != RK_OK) {
        pgpool_put(p, c);
        return rc;
    }
    c->used = 0;
    *out = c;
    return RK_OK;
}

/* ---- set-up ----------------------------------------------------------- */

/* user@host:port/db from the parsed URL; the password is never copied. */
static void describe(pgpool *p, PQconninfoOption *opts)
{
    const char *user = NULL, *host = NULL, *addr = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        const char *v = o->val && *o->val ? o->val : NULL;
        if (strcmp(o->keyword, "user") == 0)
            user = v;
        else if (strcmp(o->keyword, "host") == 0)
            host = v;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            addr = v;
        else if (strcmp(o->keyword, "port") == 0)
            port = v;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = v;
    }
    snprintf(p->where, sizeof p->where, "%s%s%s:%s/%s", user ? user : "", user ? "@" : "",
             host ? host : addr ? addr : "localhost", port ? port : "5432", db ? db : "");
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int copy_opts(pgpool *p, const pgpool_opts *o, rk_err *err)
{
    int64_t secs = (o->connect_timeout_ms + 999) / 1000;
    snprintf(p->connect_s, sizeof p->connect_s, "%lld", (long long)(secs < 1 ? 1 : secs));
    if (o->statement_timeout_ms > 0)
        snprintf(p->stmt_ms, sizeof p->stmt_ms, "%lld", (long long)o->statement_timeout_ms);
    /* libpq raises connect_timeout to 2 s; a statement may then run its
     * full limit (30 s assumed when there is none) */
    p->wait_ms = (secs < 2 ? 2 : secs) * 1000 +
                 (o->statement_timeout_ms > 0 ? o->statement_timeout_ms : 30000);
    snprintf(p->user_timeout_ms, sizeof p->user_timeout_ms, "%lld", (long long)p->wait_ms);
    snprintf(p->lock_key, sizeof p->lock_key, "%lld",
             (long long)(int64_t)fnv1a(o->lock_name ? o->lock_name : "ragkernel"));
    p->url = strdup(o->url);
    p->schema = o->n_schema ? calloc(o->n_schema, sizeof *p->schema) : NULL;
    if (!p->url || (o->n_schema && !p->schema))
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->n_schema; i++, p->n_schema++)
        if (!(p->schema[i] = strdup(o->schema[i])))
            return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return RK_OK;
}

static void try_connect(pgpool *p)
{
    rk_err err = {{0}};
    pgconn *c = NULL;
    if (pgpool_get(p, 0, &c, &err) == RK_OK) {
        pgpool_put(p, c);
        p->host->log(p->self, RK_LOG_INFO, "connected to postgres %s", p->where);
        return;
    }
    p->host->log(p->self, RK_LOG_WARN, "%s; will retry on first use", err.msg);
}

int pgpool_open(const pgpool_opts *o, pgpool **out, rk_err *err)
{
    *out = NULL;
    char *perr = NULL;
    PQconninfoOption *parsed = o->url ? PQconninfoParse(o->url, &perr) : NULL;
    if (!parsed) {
        /* libpq's reason may quote part of the URL, password included */
        PQfreemem(perr);
        return rk_fail(err, RK_ERR_CONFIG, "url is not a valid libpq URI or conninfo");
    }
    pgpool *p = calloc(1, sizeof *p);
    if (!p) {
        PQconninfoFree(parsed);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    p->host = o->host;
    p->self = o->self;
    p->size = o->size;
    describe(p, parsed);
    PQconninfoFree(parsed);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->schema_mu, NULL);
    int rc = copy_opts(p, o, err);
    if (rc != RK_OK) {
        pgpool_close(p);
        return rc;
    }
    try_connect(p);
    *out = p;
    return RK_OK;
}

void pgpool_close(pgpool *p)
{
    if (!p)
        return;
    while (p->idle) {
        pgconn *c = p->idle;
        p->idle = c->next;
        PQfinish(c->pg);
        free(c);
    }
    for (size_t i = 0; p->schema && i < p->n_schema; i++) /* NULL when copy_opts failed early */
        free(p->schema[i]);
    free(p->schema);
    free(p->url);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->schema_mu);
    free(p);
}

/* ---- config ----------------------------------------------------------- */

static int prefix_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > PGPOOL_PREFIX_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int bad_key(const rk_host *h, rk_instance *self, const char *key, const char *why,
                   rk_err *err)
{
    char where[128];
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s %s",
                   h->cfg_where(self, key, where, sizeof where), key, why);
}

int pgpool_read_config(const rk_host *h, rk_instance *self, pgpool_opts *o, char *prefix,
                       rk_err *err)
{
    memset(o, 0, sizeof *o);
    o->host = h;
    o->self = self;
    o->url = h->cfg_string(self, "url");
    int64_t size = h->cfg_int(self, "pool_size");
    o->connect_timeout_ms = h->cfg_int(self, "connect_timeout");
    o->statement_timeout_ms = h->cfg_int(self, "statement_timeout");
    const char *pre = h->cfg_string(self, "table_prefix");
    if (!o->url || !*o->url)
        return bad_key(h, self, "url", "must not be empty", err);
    if (size < 1 || size > PGPOOL_MAX_SIZE)
        return bad_key(h, self, "pool_size", "must be in 1..64", err);
    if (o->connect_timeout_ms < 1)
        return bad_key(h, self, "connect_timeout", "must be positive", err);
    if (o->statement_timeout_ms < 0)
        return bad_key(h, self, "statement_timeout", "must not be negative", err);
    if (!prefix_ok(pre))
        return bad_key(h, self, "table_prefix", "must match [a-z_][a-z0-9_]* (1..32 chars)",
                       err);
    o->size = (size_t)size;
    snprintf(prefix, PGPOOL_PREFIX_MAX + 1, "%s", pre);
    return RK_OK;
}

/* ---- statement text --------------------------------------------------- */

void pgsql_add(pgsql *s, const char *fmt, ...)
{
    va_list ap;
    if (s->nomem)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->nomem = 1;
        return;
    }
    if (s->len + (size_t)n + 1 > s->cap) {
        size_t cap = (s->cap ? s->cap * 2 : 256) + (size_t)n;
        char *q = realloc(s->p, cap);
        if (!q) {
            s->nomem = 1;
            return;
        }
        s->p = q;
        s->cap = cap;
        va_start(ap, fmt);
        vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
    }
    s->len += (size_t)n;
}

void pgsql_free(pgsql *s)
{
    free(s->p);
    *s = (pgsql){0};
}
