/*
 * auth — owns the table of API keys. Secrets never stay in memory in clear:
 * a `key:` value is hashed at load and its text in the config tree is wiped
 * (explicit_bzero), so a core dump or a reload diff holds only digests.
 * A presented key is hashed and compared with every entry in constant time
 * (no early exit), so timing tells nothing about which key nearly matched.
 * Keys created over HTTP belong to the keystore (keystore.c); a check
 * consults both, and a config key wins when a secret were in both.
 */
#define _GNU_SOURCE
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "sha256.h"

typedef struct auth_key {
    char name[65];
    char tenant[65];
    uint8_t digest[SHA256_DIGEST_LEN];
    uint32_t scopes;
    int64_t rpm, tpm;
} auth_key;

struct auth {
    auth_key *keys;
    size_t n;
    char *limiter;
    int64_t refresh_ms; /* auth.refresh: how often stored keys are reloaded */
};

static const rk_config_key key_schema[] = {
    {"key", RK_CFG_STRING, NULL, 0, "the secret (hashed at load, then wiped)"},
    {"key_sha256", RK_CFG_STRING, NULL, 0, "or its SHA-256 in hex"},
    {"tenant", RK_CFG_STRING, "default", 0, "tenant the key belongs to"},
    {"scopes", RK_CFG_LIST, "chat,documents:read,documents:write", 0,
     "chat, documents:read, documents:write, admin"},
    {"requests_per_min", RK_CFG_INT, "0", 0, "request budget per minute; 0 = unlimited"},
    {"tokens_per_min", RK_CFG_INT, "0", 0, "token budget per minute; 0 = unlimited"},
    {NULL, 0, NULL, 0, NULL}};

static const rk_config_key auth_schema_keys[] = {
    {"keys", RK_CFG_MAP, NULL, 0,
     "API keys by name (letters, digits, _ and -; up to 64), each with the settings "
     "under auth.keys.NAME; none = no authentication, which a non-loopback listener refuses"},
    {"limiter", RK_CFG_STRING, NULL, 0, "cache instance that keeps shared rate limits"},
    {"refresh", RK_CFG_DURATION, "2s", 0,
     "how often keys created over HTTP are reloaded from the history store"},
    {NULL, 0, NULL, 0, NULL}};

uint32_t auth_scope_parse(const char *s)
{
    static const struct { const char *name; uint32_t bit; } t[] = {
        {"chat", RK_SCOPE_CHAT}, {"documents:read", RK_SCOPE_DOCS_READ},
        {"documents:write", RK_SCOPE_DOCS_WRITE}, {"admin", RK_SCOPE_ADMIN}};
    for (size_t i = 0; s && i < sizeof t / sizeof *t; i++)
        if (strcmp(s, t[i].name) == 0) return t[i].bit;
    return 0;
}

int auth_ident_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int hex_digest(const char *hex, uint8_t out[SHA256_DIGEST_LEN])
{
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void digest_of(const char *s, uint8_t out[SHA256_DIGEST_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, s, strlen(s));
    sha256_final(&c, out);
}

/* The secret: hash `key` (then wipe it in the tree) or parse key_sha256. */
static int load_secret(auth_key *k, const cfg_node *map, const cfg_values *v, cfg_diag *d)
{
    const cfg_node *plain = cfg_map_get(map, "key");
    const char *hex = cfg_values_string(v, "key_sha256");
    if ((plain != NULL) == (hex != NULL)) {
        cfg_diag_at(d, map, "auth key '%s': give exactly one of key or key_sha256", k->name);
        return -1;
    }
    if (hex) {
        if (hex_digest(hex, k->digest) == 0) return 0;
        cfg_diag_at(d, cfg_map_get(map, "key_sha256"), "auth key '%s': key_sha256 must be 64 hex digits", k->name);
        return -1;
    }
    if (plain->kind != CFG_SCALAR || strlen(plain->str) < 8) {
        cfg_diag_at(d, plain, "auth key '%s': the key must be at least 8 characters", k->name);
        return -1;
    }
    digest_of(plain->str, k->digest);
    explicit_bzero(plain->str, strlen(plain->str));
    return 0;
}

static int load_scopes(auth_key *k, const cfg_values *v, const cfg_node *map, cfg_diag *d)
{
    size_t n = cfg_values_count(v, "scopes");
    for (size_t i = 0; i < n; i++) {
        const char *s = cfg_values_item(v, "scopes", i);
        uint32_t bit = auth_scope_parse(s);
        if (!bit) {
            cfg_diag_at(d, map, "auth key '%s': unknown scope '%s' (known: chat, "
                        "documents:read, documents:write, admin)", k->name, s);
            return -1;
        }
        k->scopes |= bit;
    }
    return 0;
}

static int load_key(auth_key *k, const cfg_node *name, const cfg_node *map, cfg_diag *d)
{
    if (!auth_ident_ok(name->str)) {
        cfg_diag_at(d, name, "auth key name '%s' must match [A-Za-z0-9_-]{1,64}", name->str);
        return -1;
    }
    snprintf(k->name, sizeof k->name, "%s", name->str);
    if (!map || map->kind != CFG_MAP) {
        cfg_diag_at(d, map ? map : name, "auth key '%s': expected a mapping", k->name);
        return -1;
    }
    cfg_values *v = cfg_values_build(map, key_schema, name, d);
    if (!v) return -1;
    int rc = -1;
    const char *tenant = cfg_values_string(v, "tenant");
    if (!auth_ident_ok(tenant)) {
        cfg_diag_at(d, map, "auth key '%s': tenant must match [A-Za-z0-9_-]{1,64}", k->name);
        goto done;
    }
    snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
    k->rpm = cfg_values_int(v, "requests_per_min");
    k->tpm = cfg_values_int(v, "tokens_per_min");
    if (load_scopes(k, v, map, d) == 0 && load_secret(k, map, v, d) == 0) rc = 0;
done:
    cfg_values_free(v);
    return rc;
}

static int load_refresh(auth *a, const cfg_node *sec, cfg_diag *d)
{
    const cfg_node *n = cfg_map_get(sec, "refresh");
    a->refresh_ms = KEYSTORE_REFRESH_MS;
    if (!n) return 0;
    int64_t ms = 0;
    if (n->kind != CFG_SCALAR || cfg_parse_duration(n->str, &ms) != 0 || ms < 100 ||
        ms > 3600000) {
        cfg_diag_at(d, n, "auth.refresh: expected a duration from 100ms to 1h (how often "
                    "keys created over HTTP are reloaded from the history store)");
        return 1;
    }
    a->refresh_ms = ms;
    return 0;
}

/* The section minus `keys` is validated by schema; `keys` is a map of maps. */
static int load_section(auth *a, cfg_node *sec, cfg_diag *d)
{
    int errs = 0;
    for (size_t i = 0; i < sec->n; i++) {
        const char *k = sec->keys[i]->str;
        if (strcmp(k, "keys") == 0) continue;
        if (strcmp(k, "limiter") != 0 && strcmp(k, "refresh") != 0) {
            cfg_diag_at(d, sec->keys[i], "auth: unknown key '%s' (known: keys, limiter, "
                        "refresh)", k);
            errs++;
        }
    }
    errs += load_refresh(a, sec, d);
    const cfg_node *lim = cfg_map_get(sec, "limiter");
    if (lim && lim->kind == CFG_SCALAR && lim->str[0]) a->limiter = strdup(lim->str);
    const cfg_node *keys = cfg_map_get(sec, "keys");
    if (!keys) return errs;
    if (keys->kind != CFG_MAP) {
        cfg_diag_at(d, keys, "auth.keys: expected a mapping of key name -> settings");
        return errs + 1;
    }
    if (!(a->keys = calloc(keys->n + 1, sizeof *a->keys))) return errs + 1;
    for (size_t i = 0; i < keys->n; i++)
        errs += load_key(&a->keys[a->n++], keys->keys[i], keys->items[i], d) != 0;
    return errs;
}

auth *auth_new(cfg_node *sec, cfg_diag *d)
{
    auth *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->refresh_ms = KEYSTORE_REFRESH_MS;
    if (!sec) return a;
    if (sec->kind != CFG_MAP) {
        cfg_diag_at(d, sec, "auth: expected a mapping with keys and limiter");
        auth_free(a);
        return NULL;
    }
    if (load_section(a, sec, d) != 0) {
        auth_free(a);
        return NULL;
    }
    return a;
}

void auth_free(auth *a)
{
    if (!a) return;
    if (a->keys) explicit_bzero(a->keys, a->n * sizeof *a->keys);
    free(a->keys);
    free(a->limiter);
    free(a);
}

int auth_required(const auth *a) { return a && a->n > 0; }

int auth_required_with(const auth *a, keystore *ks)
{
    return auth_required(a) || keystore_records(ks) > 0;
}

const char *auth_limiter(const auth *a) { return a ? a->limiter : NULL; }

int64_t auth_refresh_ms(const auth *a) { return a ? a->refresh_ms : KEYSTORE_REFRESH_MS; }

int auth_check(const auth *a, const char *key, rk_principal *who, rk_err *err)
{
    return auth_check_with(a, NULL, key, who, err);
}

/* Config keys first, then the stored ones; both scans run in full
 * whatever matched, so the time taken says nothing about which did. */
int auth_check_with(const auth *a, keystore *ks, const char *key, rk_principal *who,
                    rk_err *err)
{
    memset(who, 0, sizeof *who);
    who->struct_size = sizeof *who;
    if (!auth_required_with(a, ks)) {
        snprintf(who->tenant, sizeof who->tenant, "default");
        snprintf(who->key_id, sizeof who->key_id, "anonymous");
        who->scopes = RK_SCOPE_ALL;
        return RK_OK;
    }
    if (!key || !*key) return rk_fail(err, RK_ERR_AUTH, "missing API key: send Authorization: Bearer <key>");
    uint8_t dg[SHA256_DIGEST_LEN];
    digest_of(key, dg);
    const auth_key *hit = NULL;
    for (size_t i = 0; a && i < a->n; i++) {
        uint8_t diff = 0;
        for (int j = 0; j < SHA256_DIGEST_LEN; j++) diff |= (uint8_t)(dg[j] ^ a->keys[i].digest[j]);
        if (diff == 0 && !hit) hit = &a->keys[i];
    }
    rk_principal stored = {.struct_size = sizeof stored};
    int in_store = keystore_match(ks, dg, clock_wall_ms(), &stored);
    explicit_bzero(dg, sizeof dg);
    if (!hit && !in_store) return rk_fail(err, RK_ERR_AUTH, "invalid API key");
    if (!hit) {
        *who = stored;
        return RK_OK;
    }
    snprintf(who->tenant, sizeof who->tenant, "%s", hit->tenant);
    snprintf(who->key_id, sizeof who->key_id, "%s", hit->name);
    who->scopes = hit->scopes;
    return RK_OK;
}

int auth_limits(const auth *a, const char *key_id, int64_t *rpm, int64_t *tpm)
{
    for (size_t i = 0; a && key_id && i < a->n; i++)
        if (strcmp(a->keys[i].name, key_id) == 0) {
            *rpm = a->keys[i].rpm;
            *tpm = a->keys[i].tpm;
            return 0;
        }
    *rpm = *tpm = 0;
    return -1;
}

const rk_config_key *auth_schema(void) { return auth_schema_keys; }
const rk_config_key *auth_key_schema(void) { return key_schema; }

int auth_has_key(const auth *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->n; i++)
        if (strcmp(a->keys[i].name, name) == 0) return 1;
    return 0;
}

void auth_each(const auth *a, const char *tenant, void (*fn)(void *ud, const rk_api_key *k),
               void *ud)
{
    for (size_t i = 0; a && i < a->n; i++) {
        const auth_key *k = &a->keys[i];
        if (tenant && strcmp(tenant, k->tenant) != 0) continue;
        rk_api_key pub = {.struct_size = sizeof pub, .id = k->name, .name = k->name,
                          .tenant = k->tenant, .source = "config", .scopes = k->scopes,
                          .requests_per_min = k->rpm, .tokens_per_min = k->tpm};
        fn(ud, &pub);
    }
}
