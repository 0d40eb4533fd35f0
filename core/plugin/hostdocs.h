/*
 * hostdocs — the "documents" service slots added in 1.1 (doc_status,
 * doc_reindex, doc_put_async), as hostsvc hands them to transports.
 */
#ifndef RK_CORE_HOSTDOCS_H
#define RK_CORE_HOSTDOCS_H

#include <ragkernel/ragkernel.h>

int hostdocs_status(const rk_instance *self, const char *tenant, const char *id,
                    const rk_doc_sink *sink, void *ud, rk_err *err);
int hostdocs_reindex(const rk_instance *self, const char *tenant, const char *id,
                     const rk_doc_sink *sink, void *ud, rk_err *err);
int hostdocs_put_async(const rk_instance *self, const rk_doc_upload *up,
                       const rk_doc_sink *sink, void *ud, rk_err *err);

#endif
