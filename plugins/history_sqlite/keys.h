/*
 * keys — the API-key slots of history_sqlite (rk_history_key records in the
 * api_keys table that dbpool creates with the rest of the schema).
 */
#ifndef RK_HISTORY_SQLITE_KEYS_H
#define RK_HISTORY_SQLITE_KEYS_H

#include <ragkernel/ragkernel.h>

#include "dbpool.h"

int hsk_put(dbpool *p, const rk_history_key *k, int64_t now_ms, rk_err *err);
int hsk_list(dbpool *p, const char *tenant,
             void (*on_key)(void *ud, const rk_history_key *k), void *ud,
             rk_err *err);
int hsk_revoke(dbpool *p, const char *id, int64_t revoked_ms, rk_err *err);

#endif
