/*
 * rpool — a fixed set of blocking hiredis connections to one Redis server,
 * shared by the plugin's worker threads, with the server's health tracked
 * so that a dead or hung Redis fails requests at once instead of costing
 * each of them a connect or command timeout.
 */
#ifndef RK_CACHE_REDIS_RPOOL_H
#define RK_CACHE_REDIS_RPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include <ragkernel/error.h>

typedef enum rpool_event {
    RPOOL_UP = 1,         /* first success, or success after being down */
    RPOOL_DOWN = 2,       /* a failure while up (or never yet connected) */
    RPOOL_STILL_DOWN = 3  /* a reconnect attempt while down failed */
} rpool_event;

typedef struct rpool_conf {
    const char *host;       /* copied */
    int port;
    const char *password;   /* copied; NULL or "" = no AUTH */
    int64_t db;             /* SELECTed on connect when nonzero */
    size_t size;            /* connections, >= 1 */
    int64_t connect_timeout_ms;
    int64_t timeout_ms;     /* per command */
    int64_t retry_interval_ms; /* while down: at most one attempt this often */
    int64_t (*now_ms)(void);   /* monotonic clock */
    /* Health changes, called with the pool lock held (so in order): must
     * not call back into the pool. why is valid during the call only. */
    void (*on_event)(void *ud, rpool_event ev, const char *why);
    void *ud;
} rpool_conf;

typedef struct rpool rpool;

/* NULL with err filled when out of memory or the clock is missing. No
 * connection is opened here. */
rpool *rpool_new(const rpool_conf *cf, rk_err *err);
/* Every connection must have been released (no command in flight). */
void rpool_free(rpool *p);

/* Run one command (argv binary-safe) on a pooled connection. RK_OK with
 * *out set (the caller frees it with freeReplyObject), also when the reply
 * is a Redis error reply; RK_ERR_UNAVAILABLE with err naming host:port when
 * the server cannot be reached, timed out, or was found down less than
 * retry_interval ago (then without any network traffic). */
int rpool_command(rpool *p, int argc, const char **argv, const size_t *lens,
                  redisReply **out, rk_err *err);

/* For a reply of type REDIS_REPLY_ERROR: RK_ERR_UNAVAILABLE for the
 * server's passing refusals (LOADING, BUSY, MASTERDOWN, TRYAGAIN),
 * RK_ERR_UPSTREAM for the rest; err gets host:port and the server's text. */
int rpool_reply_error(rpool *p, const redisReply *r, rk_err *err);

/* 1 while the last contact with the server succeeded. */
int rpool_is_up(rpool *p);

#endif
