/*
 * convadmin — the "conversations" service behind transports: list a
 * tenant's stored conversations, read one, delete one, through the
 * history instance's load and its 1.1 list/remove slots. Each call copies
 * its arguments, pins the registry that owns the instance (registry_ref)
 * and runs as a job on the worker pool, where the sink is called; see
 * rk_conv_service in services.h for the contract.
 */
#ifndef RK_CORE_CONVADMIN_H
#define RK_CORE_CONVADMIN_H

#include <ragkernel/ragkernel.h>

#include "pool.h"
#include "registry.h"

typedef enum convadmin_op { CONV_LIST, CONV_GET, CONV_DELETE } convadmin_op;

/* hist: the generation's history instance, or NULL (then on_done says
 * 501: no history configured). arg: the cursor (list, may be NULL) or the
 * conversation id. RK_OK: one on_done will come; else none (RK_ERR_INVALID
 * for a missing sink or on_done, RK_ERR_NOMEM, RK_ERR_UNAVAILABLE when the
 * pool refuses). */
int convadmin_start(registry *reg, rk_instance *hist, pool *p, convadmin_op op,
                    const char *tenant, const char *arg, size_t limit,
                    const rk_conv_sink *sink, void *ud, rk_err *err);

/* 1..RK_CONV_ID_MAX bytes with no control character: conversation ids
 * and cursors (what a chat accepts as conversation_id, less controls). */
int convadmin_id_ok(const char *s);

#endif
