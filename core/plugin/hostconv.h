/*
 * hostconv — the "conversations" service (services.h, since 1.1), as
 * hostsvc hands it to transports.
 */
#ifndef RK_CORE_HOSTCONV_H
#define RK_CORE_HOSTCONV_H

#include <ragkernel/ragkernel.h>

int hostconv_list(const rk_instance *self, const char *tenant, const char *after,
                  size_t limit, const rk_conv_sink *sink, void *ud, rk_err *err);
int hostconv_get(const rk_instance *self, const char *tenant, const char *id,
                 const rk_conv_sink *sink, void *ud, rk_err *err);
int hostconv_delete(const rk_instance *self, const char *tenant, const char *id,
                    const rk_conv_sink *sink, void *ud, rk_err *err);

#endif
