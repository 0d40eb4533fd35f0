/*
 * listeners — the process's listening TCP sockets, kept by the host so a
 * reload hands them from one generation's transport to the next instead of
 * closing them (closing a listener resets every connection queued on it).
 *
 * A socket is identified by its address and an index (a transport that
 * listens once per loop asks for index 0..n-1). The caller gets its own
 * dup of the host's socket; the host closes its copy when no group (a
 * generation's registry) uses it any more.
 *
 * Threads: any (one mutex).
 */
#ifndef RK_CORE_LISTENERS_H
#define RK_CORE_LISTENERS_H

#include <sys/socket.h>

#include <ragkernel/error.h>

/* A listening socket for addr (SO_REUSEPORT, non-blocking, close-on-exec,
 * listen(backlog)) as a new fd the caller owns, or -1 with err. Reuses the
 * socket of another group with the same address and index (a port-0
 * address only for the same instance name: each such instance has its
 * own port); otherwise binds a new one, first refusing an address that a
 * socket of another process listens on ("address A is in use by another
 * process"). A group never gets the same socket twice. */
int listeners_get(const void *group, const char *name, const struct sockaddr *addr,
                  socklen_t len, int index, int backlog, rk_err *err);
/* group uses none of its sockets any more; those no other group uses close. */
void listeners_release(const void *group);
/* "a.b.c.d:port" or "[v6]:port" */
void listeners_format(const struct sockaddr *addr, char *out, size_t cap);

#endif
