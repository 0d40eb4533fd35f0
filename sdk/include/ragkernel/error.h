/*
 * ragkernel SDK — status codes and the error message buffer.
 *
 * Every call that can fail returns an int: RK_OK (0) or one of the negative
 * rk_status values below. The human-readable reason goes into an rk_err the
 * caller provides (never NULL unless a header says so). rk_strerror() and
 * rk_status_retryable() are header-only so plugins need no core symbols.
 */
#ifndef RAGKERNEL_ERROR_H
#define RAGKERNEL_ERROR_H

#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rk_status {
    RK_OK = 0,
    RK_ERR_NOMEM = -1,        /* allocation failed */
    RK_ERR_INVALID = -2,      /* bad argument or malformed input */
    RK_ERR_NOT_FOUND = -3,    /* no such document, key, conversation, ... */
    RK_ERR_TIMEOUT = -4,      /* a deadline passed (retryable) */
    RK_ERR_UNAVAILABLE = -5,  /* backend unreachable or refusing (retryable) */
    RK_ERR_UPSTREAM = -6,     /* upstream answered, but with an error or garbage */
    RK_ERR_TOO_LARGE = -7,    /* input over a configured limit */
    RK_ERR_ABI = -8,          /* plugin/host ABI mismatch */
    RK_ERR_CONFIG = -9,       /* configuration error */
    RK_ERR_IO = -10,          /* local I/O error */
    RK_ERR_CANCELLED = -11,   /* the caller cancelled the operation */
    RK_ERR_RATE_LIMITED = -12,/* upstream or local rate limit (retryable) */
    RK_ERR_UNSUPPORTED = -13, /* the instance does not implement this */
    RK_ERR_AUTH = -14,        /* credentials missing or rejected */
    RK_ERR_EXISTS = -15,      /* already exists */
    RK_ERR_INTERNAL = -16     /* a bug: an invariant did not hold */
} rk_status;

#define RK_ERR_MSG_MAX 256

/* Human text for the last failure. Owned by whoever declared it (usually
 * on the stack of the caller); the callee only writes into msg. */
typedef struct rk_err {
    char msg[RK_ERR_MSG_MAX];
} rk_err;

static inline const char *rk_strerror(int status)
{
    switch (status) {
    case RK_OK: return "ok";
    case RK_ERR_NOMEM: return "out of memory";
    case RK_ERR_INVALID: return "invalid input";
    case RK_ERR_NOT_FOUND: return "not found";
    case RK_ERR_TIMEOUT: return "timed out";
    case RK_ERR_UNAVAILABLE: return "unavailable";
    case RK_ERR_UPSTREAM: return "upstream error";
    case RK_ERR_TOO_LARGE: return "too large";
    case RK_ERR_ABI: return "ABI mismatch";
    case RK_ERR_CONFIG: return "configuration error";
    case RK_ERR_IO: return "I/O error";
    case RK_ERR_CANCELLED: return "cancelled";
    case RK_ERR_RATE_LIMITED: return "rate limited";
    case RK_ERR_UNSUPPORTED: return "unsupported";
    case RK_ERR_AUTH: return "authentication failed";
    case RK_ERR_EXISTS: return "already exists";
    case RK_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

/* since 1.1. The constant's name ("RK_ERR_UNSUPPORTED"), for logs and
 * tools where a number means nothing; "RK_ERR_?" for an unknown status. */
static inline const char *rk_status_name(int status)
{
    static const char *const names[] = {
        "RK_OK", "RK_ERR_NOMEM", "RK_ERR_INVALID", "RK_ERR_NOT_FOUND",
        "RK_ERR_TIMEOUT", "RK_ERR_UNAVAILABLE", "RK_ERR_UPSTREAM",
        "RK_ERR_TOO_LARGE", "RK_ERR_ABI", "RK_ERR_CONFIG", "RK_ERR_IO",
        "RK_ERR_CANCELLED", "RK_ERR_RATE_LIMITED", "RK_ERR_UNSUPPORTED",
        "RK_ERR_AUTH", "RK_ERR_EXISTS", "RK_ERR_INTERNAL"};
    if (status > 0 || status < -(int)(sizeof names / sizeof names[0]) + 1)
        return "RK_ERR_?";
    return names[-status];
}

/* Network-ish faults worth another attempt (possibly on another backend). */
static inline int rk_status_retryable(int status)
{
    return status == RK_ERR_TIMEOUT || status == RK_ERR_UNAVAILABLE ||
           status == RK_ERR_RATE_LIMITED;
}

/* Fill err (if not NULL) and return status: `return rk_fail(err, RK_ERR_IO, "...")`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int rk_fail(rk_err *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

#ifdef __clang_analyzer__
/* The static analyzer does not step into variadic functions, so it would
 * take rk_fail's result as unknown (RK_OK included) and report paths where
 * a failure "succeeds". Spelled out for it: the call, then `status`. */
#define rk_fail(err, status, ...) (rk_fail((err), (status), __VA_ARGS__), (status))
#endif

#ifdef __cplusplus
}
#endif
#endif
