/*
 * rpool — owns the plugin's Redis connections and its view of the server's
 * health. Connections are synchronous hiredis contexts, one per slot, lent
 * to one thread per command behind a mutex and a condition variable; a slot
 * whose context failed is emptied and reconnected lazily by the next user.
 * The health view is what keeps a cache outage cheap: after any failure the
 * pool is "down" and answers RK_ERR_UNAVAILABLE without touching the network
 * until retry_interval has passed; then exactly one caller probes (the
 * others keep failing fast) and its success brings the pool back up. A
 * connection that failed after sitting idle is retried once on a fresh
 * connection, unless it timed out: a server that closed an idle client is
 * routine, a server that does not answer is not, and a second wait would
 * double the cost of the outage.
 */
#include "rpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

typedef enum pool_state { ST_UNKNOWN = 0, ST_UP = 1, ST_DOWN = 2 } pool_state;

struct rpool {
    rpool_conf cf;
    char *host, *password;  /* owned copies behind cf.host / cf.password */
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a slot was released */
    redisContext **idle;    /* stack of free slots; NULL = not connected */
    size_t n_idle;
    pool_state state;
    int64_t next_try_ms;    /* while down: no attempt before this */
    char last_why[160];     /* the failure that took the pool down */
};

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

rpool *rpool_new(const rpool_conf *cf, rk_err *err)
{
    if (!cf->now_ms || !cf->host || cf->size == 0) {
        rk_fail(err, RK_ERR_INVALID, "rpool: bad configuration");
        return NULL;
    }
    int have_cv = 0;
    pthread_condattr_t ca;
    rpool *p = calloc(1, sizeof *p);
    if (!p)
        goto fail;
    p->cf = *cf;
    p->host = strdup(cf->host);
    p->password = dup_or_null(cf->password);
    p->idle = calloc(cf->size, sizeof *p->idle);
    if (!p->host || (cf->password && *cf->password && !p->password) || !p->idle ||
        pthread_condattr_init(&ca) != 0)
        goto fail;
    /* waits are bounded on the monotonic clock, immune to wall-clock jumps */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    have_cv = pthread_cond_init(&p->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!have_cv || pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    p->cf.host = p->host;
    p->cf.password = p->password;
    p->n_idle = cf->size; /* all slots free, none connected yet */
    return p;
fail:
    if (p) {
        if (have_cv)
            pthread_cond_destroy(&p->cv);
        free(p->host);
        free(p->password);
        free(p->idle);
        free(p);
    }
    rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return NULL;
}

void rpool_free(rpool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        if (p->idle[i])
            redisFree(p->idle[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p->host);
    free(p->password);
    free(p);
}

int rpool_is_up(rpool *p)
{
    pthread_mutex_lock(&p->mu);
    int up = p->state == ST_UP;
    pthread_mutex_unlock(&p->mu);
    return up;
}

/* ---- health (pool lock held) --------------------------------------------- */

static void note_failure(rpool *p, const char *why)
{
    p->next_try_ms = p->cf.now_ms() + p->cf.retry_interval_ms;
    snprintf(p->last_why, sizeof p->last_why, "%s", why);
    rpool_event ev = p->state == ST_DOWN ? RPOOL_STILL_DOWN : RPOOL_DOWN;
    p->state = ST_DOWN;
    /* idle connections lead to the same dead server: drop them now rather
     * than have each one fail in turn once the pool is retried */
    for (size_t i = 0; i < p->n_idle; i++) {
        if (p->idle[i])
            redisFree(p->idle[i]);
        p->idle[i] = NULL;
    }
    if (p->cf.on_event)
        p->cf.on_event(p->cf.ud, ev, why);
}

static void note_success(rpool *p)
{
    if (p->state == ST_UP)
        return;
    p->state = ST_UP;
    if (p->cf.on_event)
        p->cf.on_event(p->cf.ud, RPOOL_UP, NULL);
}

/* While down and inside the window: fill err and return 1. */
static int fail_fast(rpool *p, rk_err *err)
{
    if (p->state != ST_DOWN)
        return 0;
    int64_t now = p->cf.now_ms();
    if (now >= p->next_try_ms)
        return 0;
    rk_fail(err, RK_ERR_UNAVAILABLE, "redis %s:%d unavailable (%s); next attempt in %lld ms",
            p->host, p->cf.port, p->last_why, (long long)(p->next_try_ms - now));
    return 1;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Take a slot (its context may be NULL: connect first). A caller waits for
 * a busy pool no longer than one connect plus one command would take. */
static int acquire(rpool *p, redisContext **slot, rk_err *err)
{
    struct timespec until;
    deadline_in(&until, p->cf.connect_timeout_ms + p->cf.timeout_ms);
    int rc = RK_OK;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (fail_fast(p, err)) {
            rc = RK_ERR_UNAVAILABLE;
            break;
        }
        if (p->n_idle > 0) {
            /* down, past the window: this caller is the probe, and the
             * window moves on so the others keep failing fast meanwhile */
            if (p->state == ST_DOWN)
                p->next_try_ms = p->cf.now_ms() + p->cf.retry_interval_ms;
            *slot = p->idle[--p->n_idle];
            break;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT && p->n_idle == 0) {
            rc = rk_fail(err, RK_ERR_UNAVAILABLE, "redis %s:%d: all %zu connections busy",
                         p->host, p->cf.port, p->cf.size);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void release(rpool *p, redisContext *c, int ok, const char *why)
{
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    if (ok)
        note_success(p);
    else
        note_failure(p, why);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- one connection -------------------------------------------------------- */

/* hiredis writes with write(2): a peer that reset the connection raises
 * SIGPIPE, which kills any process that has not ignored it (the conformance
 * checker, a test, an embedding application). Hold it blocked on this
 * thread for the call and swallow one it caused. */
static int sigpipe_hold(sigset_t *old)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, old);
    return was_pending;
}

static void sigpipe_release(const sigset_t *old, int was_pending)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    if (!was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* One round trip. NULL on a connection-level failure, with why filled and
 * *timed_out set when the server did not answer in time. */
static redisReply *exec(rpool *p, redisContext *c, int argc, const char **argv,
                        const size_t *lens, char *why, size_t cap, int *timed_out)
{
    sigset_t old;
    int was_pending = sigpipe_hold(&old);
    errno = 0;
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    int e = errno;
    sigpipe_release(&old, was_pending);
    *timed_out = 0;
    if (r)
        return r;
    /* hiredis 0.14 reports a socket timeout as an I/O error with EAGAIN;
     * later versions have a code of their own */
    *timed_out = c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK);
#ifdef REDIS_ERR_TIMEOUT
    *timed_out = *timed_out || c->err == REDIS_ERR_TIMEOUT;
#endif
    if (*timed_out) {
        snprintf(why, cap, "no answer within %lld ms", (long long)p->cf.timeout_ms);
    } else {
        snprintf(why, cap, "%s", c->err ? c->errstr : "no reply");
    }
    return NULL;
}

/* Commands run while connecting; an error reply fails the connection. */
static int handshake(rpool *p, redisContext *c, int argc, const char **argv,
                     char *why, size_t cap)
{
    int timed_out;
    redisReply *r = exec(p, c, argc, argv, NULL, why, cap, &timed_out);
    if (!r)
        return -1;
    int ok = r->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(why, cap, "%s: %.*s", argv[0], (int)r->len, r->str ? r->str : "");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static struct timeval tv_of(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static redisContext *dial(rpool *p, char *why, size_t cap)
{
    redisContext *c = redisConnectWithTimeout(p->host, p->cf.port,
                                              tv_of(p->cf.connect_timeout_ms));
    if (!c) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    if (c->err) {
        snprintf(why, cap, "connect: %s", c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, tv_of(p->cf.timeout_ms)) != REDIS_OK) {
        snprintf(why, cap, "setting the timeout: %s", c->errstr);
        goto fail;
    }
    redisEnableKeepAlive(c); /* best effort: notices a vanished peer while idle */
    if (p->password) {
        const char *auth[] = {"AUTH", p->password};
        if (handshake(p, c, 2, auth, why, cap) != 0)
            goto fail;
    }
    if (p->cf.db) {
        char db[24];
        snprintf(db, sizeof db, "%lld", (long long)p->cf.db);
        const char *sel[] = {"SELECT", db};
        if (handshake(p, c, 2, sel, why, cap) != 0)
            goto fail;
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}

int rpool_command(rpool *p, int argc, const char **argv, const size_t *lens,
                  redisReply **out, rk_err *err)
{
    redisContext *c = NULL;
    int rc = acquire(p, &c, err);
    if (rc != RK_OK)
        return rc;
    char why[160] = "";
    int pooled = c != NULL; /* may have gone stale while idle */
    redisReply *r = NULL;
    for (;;) {
        if (!c && !(c = dial(p, why, sizeof why)))
            break;
        int timed_out;
        r = exec(p, c, argc, argv, lens, why, sizeof why, &timed_out);
        if (r)
            break;
        redisFree(c);
        c = NULL;
        if (!pooled || timed_out)
            break;
        pooled = 0; /* one more try, on a fresh connection */
    }
    release(p, c, r != NULL, why);
    if (!r)
        return rk_fail(err, RK_ERR_UNAVAILABLE, "redis %s:%d: %s", p->host, p->cf.port, why);
    *out = r;
    return RK_OK;
}

int rpool_reply_error(rpool *p, const redisReply *r, rk_err *err)
{
    static const char *const passing[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"};
    const char *msg = r->str ? r->str : "";
    int status = RK_ERR_UPSTREAM;
    for (size_t i = 0; i < sizeof passing / sizeof passing[0]; i++) {
        size_t n = strlen(passing[i]);
        if (r->len >= n && strncmp(msg, passing[i], n) == 0)
            status = RK_ERR_UNAVAILABLE;
    }
    return rk_fail(err, status, "redis %s:%d: %.*s", p->host, p->cf.port, (int)r->len, msg);
}
