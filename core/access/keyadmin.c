/*
 * keyadmin — owns the life cycle of a stored API key: a random id and a
 * random secret (getrandom, with the recognisable prefix "rk_" so leaked
 * keys are easy to grep for in logs and repositories), of which only the
 * SHA-256 is written to the store; rotation replaces the digest and may
 * keep the previous one valid for a short grace; revocation marks the
 * record (kept, so a listing says when). After each change the local
 * snapshot is reloaded at once, so the host that made the change applies
 * it immediately and the others within their refresh interval. The secret
 * lives in a stack buffer that is wiped before returning.
 */
#define _GNU_SOURCE
#include "keyadmin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "gate.h"
#include "loop.h"
#include "registry.h"

#define SECRET_BYTES 24 /* 192 bits */
#define SECRET_LEN (3 + 2 * SECRET_BYTES + 1)
#define ID_BYTES 8
#define ID_LEN (4 + 2 * ID_BYTES + 1)

static int random_hex(const char *prefix, size_t nbytes, char *out, size_t cap, rk_err *err)
{
    uint8_t raw[32];
    if (nbytes > sizeof raw || strlen(prefix) + 2 * nbytes + 1 > cap)
        return rk_fail(err, RK_ERR_INTERNAL, "random_hex: buffer too small");
    if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
        return rk_fail(err, RK_ERR_IO, "getrandom failed: no secret could be made");
    static const char hx[] = "0123456789abcdef";
    size_t p = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < nbytes; i++) {
        out[p++] = hx[raw[i] >> 4];
        out[p++] = hx[raw[i] & 15];
    }
    out[p] = '\0';
    explicit_bzero(raw, sizeof raw);
    return RK_OK;
}

static void digest_hex(const char *secret, char hex[SHA256_HEX_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, secret, strlen(secret));
    sha256_final_hex(&c, hex);
    explicit_bzero(&c, sizeof c);
}

static rk_api_key public_view(const rk_history_key *k)
{
    return (rk_api_key){.struct_size = sizeof(rk_api_key),
                        .id = k->id,
                        .name = k->name,
                        .tenant = k->tenant,
                        .source = "stored",
                        .scopes = k->scopes,
                        .requests_per_min = k->requests_per_min,
                        .tokens_per_min = k->tokens_per_min,
                        .created_ms = k->created_ms,
                        .expires_ms = k->expires_ms,
                        .revoked_ms = k->revoked_ms,
                        .grace_until_ms = k->prev_sha256 ? k->prev_until_ms : 0};
}

static int check_spec(const rk_api_key_spec *s, rk_err *err)
{
    if (!s) return rk_fail(err, RK_ERR_INVALID, "key_create: no key description");
    if (!auth_ident_ok(s->name))
        return rk_fail(err, RK_ERR_INVALID, "name: use 1 to 64 characters of A-Z, a-z, 0-9, "
                       "'_' and '-'");
    if (!auth_ident_ok(s->tenant))
        return rk_fail(err, RK_ERR_INVALID, "tenant: use 1 to 64 characters of A-Z, a-z, "
                       "0-9, '_' and '-'");
    if (!s->scopes || (s->scopes & ~RK_SCOPE_ALL))
        return rk_fail(err, RK_ERR_INVALID, "scopes: give at least one of chat, "
                       "documents:read, documents:write, admin");
    if (s->requests_per_min < 0 || s->requests_per_min > KEYADMIN_MAX_PER_MIN ||
        s->tokens_per_min < 0 || s->tokens_per_min > KEYADMIN_MAX_PER_MIN)
        return rk_fail(err, RK_ERR_INVALID, "requests_per_min and tokens_per_min must be in "
                       "0..%lld (0 = unlimited)", (long long)KEYADMIN_MAX_PER_MIN);
    if (s->expires_in_ms < 0 || s->expires_in_ms > KEYADMIN_MAX_EXPIRES_MS)
        return rk_fail(err, RK_ERR_INVALID, "expires_in must be between 0 (never) and ten "
                       "years");
    return RK_OK;
}

/* Write k (digest already in it), reload the local snapshot, answer. */
static int put_and_answer(keystore *ks, const rk_history_key *k, const char *secret,
                          rk_api_key_secret_fn fn, void *ud, rk_err *err)
{
    int rc = GATE_CALL(keystore_history(ks), rk_history_vtable, key_put, RK_ERR_UNSUPPORTED,
                       k, err);
    if (rc != RK_OK) return rc;
    rk_err ignored = {{0}};
    keystore_refresh(ks, &ignored); /* the refresh thread retries if this fails */
    rk_api_key pub = public_view(k);
    if (fn) fn(ud, &pub, secret);
    return RK_OK;
}

int keyadmin_create(keystore *ks, const rk_api_key_spec *spec, rk_api_key_secret_fn fn,
                    void *ud, rk_err *err)
{
    int rc = keystore_supported(ks, err);
    if (rc != RK_OK || (rc = check_spec(spec, err)) != RK_OK) return rc;
    char id[ID_LEN], secret[SECRET_LEN], hex[SHA256_HEX_LEN];
    if ((rc = random_hex("key_", ID_BYTES, id, sizeof id, err)) != RK_OK ||
        (rc = random_hex("rk_", SECRET_BYTES, secret, sizeof secret, err)) != RK_OK)
        return rc;
    digest_hex(secret, hex);
    int64_t now = clock_wall_ms();
    rk_history_key k = {.struct_size = sizeof k,
                        .id = id,
                        .name = spec->name,
                        .tenant = spec->tenant,
                        .sha256 = hex,
                        .scopes = spec->scopes,
                        .requests_per_min = spec->requests_per_min,
                        .tokens_per_min = spec->tokens_per_min,
                        .created_ms = now,
                        .expires_ms = spec->expires_in_ms ? now + spec->expires_in_ms : 0,
                        .updated_ms = now};
    rc = put_and_answer(ks, &k, secret, fn, ud, err);
    explicit_bzero(secret, sizeof secret);
    return rc;
}

typedef struct list_ctx {
    void (*fn)(void *ud, const rk_api_key *k);
    void *ud;
} list_ctx;

static void on_listed(void *ud, const rk_history_key *k)
{
    list_ctx *l = ud;
    rk_api_key pub = public_view(k);
    l->fn(l->ud, &pub);
}

int keyadmin_list(keystore *ks, const char *tenant,
                  void (*fn)(void *ud, const rk_api_key *k), void *ud, rk_err *err)
{
    int rc = keystore_supported(ks, err);
    if (rc != RK_OK) return rc;
    list_ctx l = {fn, ud};
    return GATE_CALL(keystore_history(ks), rk_history_vtable, key_list, RK_ERR_UNSUPPORTED,
                     tenant, on_listed, &l, err);
}

/* One record found by id, with its strings copied. */
typedef struct found {
    const char *want;
    int hit;
    rk_history_key k;
    char name[65], tenant[65], sha[SHA256_HEX_LEN];
} found;

static void on_found(void *ud, const rk_history_key *k)
{
    found *f = ud;
    if (f->hit || strcmp(k->id, f->want) != 0) return;
    f->hit = 1;
    f->k = *k;
    snprintf(f->name, sizeof f->name, "%s", k->name);
    snprintf(f->tenant, sizeof f->tenant, "%s", k->tenant);
    snprintf(f->sha, sizeof f->sha, "%s", k->sha256);
    f->k.id = f->want;
    f->k.name = f->name;
    f->k.tenant = f->tenant;
    f->k.sha256 = f->sha;
    f->k.prev_sha256 = NULL;
}

static int find(keystore *ks, const char *id, found *f, rk_err *err)
{
    memset(f, 0, sizeof *f);
    f->want = id;
    int rc = GATE_CALL(keystore_history(ks), rk_history_vtable, key_list, RK_ERR_UNSUPPORTED,
                       NULL, on_found, f, err);
    if (rc == RK_OK && !f->hit) rc = rk_fail(err, RK_ERR_NOT_FOUND, "no API key with id '%s'", id);
    return rc;
}

int keyadmin_rotate(keystore *ks, const char *id, int64_t grace_ms, rk_api_key_secret_fn fn,
                    void *ud, rk_err *err)
{
    int rc = keystore_supported(ks, err);
    if (rc != RK_OK) return rc;
    if (!auth_ident_ok(id)) return rk_fail(err, RK_ERR_INVALID, "id: not a key id");
    if (grace_ms < 0 || grace_ms > KEYADMIN_MAX_GRACE_MS)
        return rk_fail(err, RK_ERR_INVALID, "grace must be between 0 and 604800 seconds");
    found f;
    if ((rc = find(ks, id, &f, err)) != RK_OK) return rc;
    if (f.k.revoked_ms)
        return rk_fail(err, RK_ERR_EXISTS, "API key '%s' was revoked: create a new one", id);
    char secret[SECRET_LEN], hex[SHA256_HEX_LEN];
    if ((rc = random_hex("rk_", SECRET_BYTES, secret, sizeof secret, err)) != RK_OK) return rc;
    digest_hex(secret, hex);
    int64_t now = clock_wall_ms();
    f.k.prev_sha256 = grace_ms > 0 ? f.sha : NULL;
    f.k.prev_until_ms = grace_ms > 0 ? now + grace_ms : 0;
    f.k.sha256 = hex;
    f.k.updated_ms = now;
    rc = put_and_answer(ks, &f.k, secret, fn, ud, err);
    explicit_bzero(secret, sizeof secret);
    return rc;
}

int keyadmin_revoke(keystore *ks, const char *id, rk_err *err)
{
    int rc = keystore_supported(ks, err);
    if (rc != RK_OK) return rc;
    if (!auth_ident_ok(id)) return rk_fail(err, RK_ERR_INVALID, "id: not a key id");
    rc = GATE_CALL(keystore_history(ks), rk_history_vtable, key_revoke, RK_ERR_UNSUPPORTED,
                   id, clock_wall_ms(), err);
    if (rc != RK_OK) return rc;
    rk_err ignored = {{0}};
    keystore_refresh(ks, &ignored);
    return RK_OK;
}
