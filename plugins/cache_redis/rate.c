/*
 * rate — owns the token-bucket script and the way it is run. The bucket is
 * a hash {t = tokens, ts = last refill in ms} read, refilled, charged and
 * written back inside one script, which Redis runs without interleaving
 * any other command: that is what makes a take atomic across hosts. The
 * clock is the server's own (TIME): hosts with skewed clocks then agree on
 * how much a bucket has refilled. A bucket that has refilled completely is
 * indistinguishable from one that does not exist, so each write sets the
 * key to expire then (plus a second of slack) and idle buckets cost no
 * memory. The script is sent once (SCRIPT LOAD) and run by its SHA1; a
 * server that has forgotten it (restart, SCRIPT FLUSH) answers NOSCRIPT
 * and the call is repeated with EVAL, which also caches it again.
 * The arithmetic is the one cache_memory and the core's own limiter use.
 */
#include "rate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Retry hints and expiries are capped: a bucket so slow it would need
 * longer than a year is as good as closed, and the numbers stay exact
 * integers on both sides of the script boundary. */
#define RATE_MAX_MS 31622400000.0 /* 366 days */

/* KEYS[1] bucket; ARGV: rate_per_min, burst, cost, force ("1"/"0"), cap ms.
 * Returns {allowed (1/0), retry_after_ms}. replicate_commands lets a
 * Redis before 5 accept TIME in a script that writes; from 7 on it is a
 * no-op kept for compatibility. */
static const char script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local rate = tonumber(ARGV[1]) / 60000\n"
    "local burst = tonumber(ARGV[2])\n"
    "local cost = tonumber(ARGV[3])\n"
    "local cap = tonumber(ARGV[5])\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local tokens, ts = tonumber(b[1]), tonumber(b[2])\n"
    "if not tokens or not ts then tokens, ts = burst, now end\n"
    "if now > ts then\n"
    "  tokens = tokens + (now - ts) * rate\n"
    "  ts = now\n"
    "end\n"
    "tokens = math.min(burst, tokens)\n"
    "local allowed, retry = 0, 0\n"
    "if ARGV[4] == '1' or tokens >= cost then\n"
    "  tokens = tokens - cost\n"
    "  allowed = 1\n"
    "else\n"
    "  retry = math.min(cap, math.ceil((cost - tokens) / rate))\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens),\n"
    "           'ts', string.format('%.17g', ts))\n"
    "local full = math.min(cap, math.ceil(math.max(0, burst - tokens) / rate))\n"
    "redis.call('PEXPIRE', KEYS[1], full + 1000)\n"
    "return {allowed, retry}\n";

int rrate_init(rrate *r)
{
    r->sha[0] = '\0';
    return pthread_mutex_init(&r->mu, NULL) == 0 ? 0 : -1;
}

void rrate_destroy(rrate *r)
{
    pthread_mutex_destroy(&r->mu);
}

static int cached_sha(rrate *r, char sha[41])
{
    pthread_mutex_lock(&r->mu);
    memcpy(sha, r->sha, 41);
    pthread_mutex_unlock(&r->mu);
    return sha[0] != '\0';
}

static void remember_sha(rrate *r, const char *sha)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->sha, sizeof r->sha, "%s", sha);
    pthread_mutex_unlock(&r->mu);
}

/* RK_OK with sha; RK_ERR_UPSTREAM when the server will not load it (the
 * caller then sends the whole script); pool errors pass through. */
static int load_sha(rrate *r, rpool *p, char sha[41], rk_err *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", script};
    size_t lens[] = {6, 4, sizeof script - 1};
    redisReply *rep = NULL;
    int rc = rpool_command(p, 3, argv, lens, &rep, err);
    if (rc != RK_OK)
        return rc;
    rc = RK_ERR_UPSTREAM;
    if (rep->type == REDIS_REPLY_STRING && rep->len == 40) {
        memcpy(sha, rep->str, 40);
        sha[40] = '\0';
        remember_sha(r, sha);
        rc = RK_OK;
    }
    freeReplyObject(rep);
    return rc;
}

static int parse_reply(rpool *p, const redisReply *rep, int64_t *retry_after_ms, rk_err *err)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return rpool_reply_error(p, rep, err);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER ||
        rep->element[1]->type != REDIS_REPLY_INTEGER)
        return rk_fail(err, RK_ERR_UPSTREAM, "rate script: unexpected reply (type %d)",
                       rep->type);
    if (rep->element[0]->integer == 1)
        return RK_OK;
    *retry_after_ms = rep->element[1]->integer;
    return RK_ERR_RATE_LIMITED;
}

static int is_noscript(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR && rep->len >= 8 &&
           strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

int rrate_take(rrate *r, rpool *p, const char *key, size_t klen, double rate_per_min,
               double burst, double cost, int force, int64_t *retry_after_ms, rk_err *err)
{
    if (!isfinite(rate_per_min) || !isfinite(burst) || !isfinite(cost) || rate_per_min <= 0 ||
        burst < 0 || cost < 0)
        return rk_fail(err, RK_ERR_INVALID,
                       "rate_take: need rate_per_min > 0, burst >= 0, cost >= 0");
    char a_rate[32], a_burst[32], a_cost[32], a_cap[32], sha[41];
    snprintf(a_rate, sizeof a_rate, "%.17g", rate_per_min);
    snprintf(a_burst, sizeof a_burst, "%.17g", burst);
    snprintf(a_cost, sizeof a_cost, "%.17g", cost);
    snprintf(a_cap, sizeof a_cap, "%.0f", RATE_MAX_MS);
    const char *argv[] = {"EVALSHA", sha, "1", key, a_rate, a_burst, a_cost,
                          force ? "1" : "0", a_cap};
    size_t lens[9];
    int rc = cached_sha(r, sha) ? RK_OK : load_sha(r, p, sha, err);
    if (rc != RK_OK && rc != RK_ERR_UPSTREAM)
        return rc;
    redisReply *rep = NULL;
    for (int attempt = rc == RK_OK ? 0 : 1; attempt < 2 && !rep; attempt++) {
        if (attempt == 1) {
            argv[0] = "EVAL";
            argv[1] = script;
        }
        for (size_t i = 0; i < 9; i++)
            lens[i] = i == 3 ? klen : strlen(argv[i]);
        rc = rpool_command(p, 9, argv, lens, &rep, err);
        if (rc != RK_OK)
            return rc;
        if (attempt == 0 && is_noscript(rep)) {
            freeReplyObject(rep);
            rep = NULL;
        }
    }
    rc = parse_reply(p, rep, retry_after_ms, err);
    freeReplyObject(rep);
    return rc;
}
