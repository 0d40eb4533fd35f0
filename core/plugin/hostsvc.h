/*
 * hostsvc — the role services of the SDK's services.h ("chat", "documents",
 * "auth", "limits", "status", "listen", "conversations"), as rk_host.service
 * hands them out.
 */
#ifndef RK_CORE_HOSTSVC_H
#define RK_CORE_HOSTSVC_H

#include <ragkernel/ragkernel.h>

/* The table `name` for self, built from the host table h (the same h on
 * every call), or NULL: unknown name, a table shorter than min_size, or a
 * service not offered to self's kind. */
const void *hostsvc_lookup(const rk_host *h, const rk_instance *self, const char *name,
                           size_t min_size);

#endif
