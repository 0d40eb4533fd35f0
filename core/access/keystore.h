/*
 * keystore — API keys kept in the history store (created over HTTP), as
 * an immutable snapshot in memory that a background thread reloads every
 * `auth.refresh` (2 s by default), so a key created, rotated or revoked on
 * one host takes effect on every host sharing the store within that time.
 *
 *   keystore_new(history, refresh_ms)  -> one per generation (server.c)
 *   keystore_match(ks, digest, ...)    -> any thread, never waits on I/O
 *
 * Counted references: the generation holds one; a management call
 * (keyadmin.h) takes one for its duration so a reload cannot free the
 * store under it. The last keystore_unref stops the thread.
 */
#ifndef RK_CORE_KEYSTORE_H
#define RK_CORE_KEYSTORE_H

#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "sha256.h"

#define KEYSTORE_REFRESH_MS 2000 /* auth.refresh default */

typedef struct keystore keystore;

/* history may be NULL (then NULL: nothing stored, nothing to refresh). A
 * history plugin without the key slots gives a store that holds nothing
 * and answers management calls with RK_ERR_UNSUPPORTED naming the plugin.
 * Waits up to about a second for the first load, so stored keys work as
 * soon as a generation is swapped in when the store answers quickly. */
/* What keeps history alive while the store has references (its
 * registry, pinned by the caller): released once, when the last
 * reference goes, or at once when keystore_new returns NULL. */
typedef struct keystore_pin {
    void (*release)(void *ud);
    void *ud;
} keystore_pin;

/* pin may be NULL when the caller keeps history alive longer than every
 * reference. */
keystore *keystore_new(rk_instance *history, int64_t refresh_ms, const keystore_pin *pin);
keystore *keystore_ref(keystore *ks);  /* NULL ok */
void keystore_unref(keystore *ks);     /* NULL ok; the last one joins the thread */

/* RK_OK, or RK_ERR_UNSUPPORTED with a message naming the history
 * instance and plugin that lack the key slots. */
int keystore_supported(const keystore *ks, rk_err *err);
rk_instance *keystore_history(const keystore *ks);

/* Records in the snapshot, revoked and expired ones included: a store
 * that ever held a key keeps authentication on. */
size_t keystore_records(keystore *ks);
/* Keys in the snapshot that can authenticate now (live, not expired). */
size_t keystore_live(keystore *ks, int64_t now_ms);
/* Look digest up in the snapshot (O(log n)); 1 and *who filled (key_id =
 * the stored id) on a match that is neither revoked nor expired (a rotated
 * key's previous digest matches until its grace ends), else 0. NULL ks: 0. */
int keystore_match(keystore *ks, const uint8_t digest[SHA256_DIGEST_LEN], int64_t now_ms,
                   rk_principal *who);
/* Limits of a stored key by id: 0 found, -1 not. */
int keystore_limits(keystore *ks, const char *key_id, int64_t *rpm, int64_t *tpm);
/* Reload the snapshot now, on the calling thread (the refresh thread does
 * this every interval; management calls after a change, so the host that
 * made it sees it at once). On failure the old snapshot stays. */
int keystore_refresh(keystore *ks, rk_err *err);

#endif
