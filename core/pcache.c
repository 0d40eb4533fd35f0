/*
 * pcache — the key scheme and entry format of the pipeline's cache use.
 * Keys are hashes so they have a fixed, small size whatever the prompt
 * length, and so two tenants can never collide (the tenant is hashed in).
 * Content is whitespace-trimmed before hashing: clients that differ only in
 * a trailing newline share an entry. Entries are JSON (jansson) so they stay
 * readable in redis-cli and tolerant of added fields; anything that does not
 * decode is treated as a miss, never as an error for the request.
 */
#include "pcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void put_bytes(sha256_ctx *c, const char *s, size_t n)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)n >> (8 * i));
    sha256_update(c, len, sizeof len);
    sha256_update(c, s, n);
}

static void put_str(sha256_ctx *c, const char *s)
{
    put_bytes(c, s ? s : "", s ? strlen(s) : 0);
}

static void put_trimmed(sha256_ctx *c, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1])) n--;
    while (n > 0 && strchr(" \t\r\n\v\f", *s)) s++, n--;
    put_bytes(c, s, n);
}

static void finish_key(sha256_ctx *c, const char *prefix, char key[PCACHE_KEY_MAX])
{
    char hex[SHA256_HEX_LEN];
    sha256_final_hex(c, hex);
    snprintf(key, PCACHE_KEY_MAX, "%s%s", prefix, hex);
}

void pcache_answer_key(char key[PCACHE_KEY_MAX], const char *tenant,
                       const char *model, const rk_message *msgs, size_t n,
                       double temperature, int64_t max_tokens, int retrieve,
                       const char *docver)
{
    sha256_ctx c;
    char num[64];
    sha256_init(&c);
    put_str(&c, tenant);
    put_str(&c, model);
    snprintf(num, sizeof num, "%zu", n);
    put_str(&c, num);
    for (size_t i = 0; i < n; i++) {
        put_str(&c, msgs[i].role);
        put_trimmed(&c, msgs[i].content);
    }
    if (temperature < 0)
        snprintf(num, sizeof num, "unset");
    else
        snprintf(num, sizeof num, "%.17g", temperature);
    put_str(&c, num);
    snprintf(num, sizeof num, "%lld", (long long)(max_tokens > 0 ? max_tokens : 0));
    put_str(&c, num);
    put_str(&c, retrieve ? "1" : "0");
    put_str(&c, docver ? docver : "");
    finish_key(&c, "answer:", key);
}

void pcache_retrieve_key(char key[PCACHE_KEY_MAX], const char *tenant,
                         const char *query, size_t k, int fast, const char *docver)
{
    sha256_ctx c;
    char num[32];
    sha256_init(&c);
    put_str(&c, tenant);
    put_trimmed(&c, query);
    snprintf(num, sizeof num, "%zu/%d", k, fast ? 1 : 0);
    put_str(&c, num);
    put_str(&c, docver ? docver : "");
    finish_key(&c, "retrieve:", key);
}

static char *dump(json_t *root, size_t *len)
{
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (s) *len = strlen(s);
    return s;
}

char *pcache_answer_encode(const char *answer, const char *model,
                           const char *finish_reason, const rk_passage *src,
                           size_t n, size_t *len)
{
    json_t *sources = passages_to_json(src, n, 0);
    if (!sources) return NULL;
    json_t *root = json_pack("{s:s, s:s, s:s, s:o}", "answer", answer ? answer : "",
                             "model", model ? model : "", "finish_reason",
                             finish_reason ? finish_reason : "stop", "sources",
                             sources);
    return dump(root, len);
}

int pcache_answer_decode(const void *data, size_t len, pcache_answer *out)
{
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(data, len, 0, NULL);
    const char *answer, *model, *finish;
    json_t *sources;
    int rc = -1;
    if (!root || json_unpack(root, "{s:s, s:s, s:s, s:o}", "answer", &answer,
                             "model", &model, "finish_reason", &finish,
                             "sources", &sources) < 0)
        goto done;
    out->answer = strdup(answer);
    out->model = strdup(model);
    out->finish_reason = strdup(finish);
    if (!out->answer || !out->model || !out->finish_reason ||
        passages_from_json(sources, &out->sources) < 0) {
        pcache_answer_free(out);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

void pcache_answer_free(pcache_answer *a)
{
    free(a->answer);
    free(a->model);
    free(a->finish_reason);
    passvec_free(&a->sources);
    memset(a, 0, sizeof *a);
}

char *pcache_passages_encode(const rk_passage *p, size_t n, size_t *len)
{
    json_t *arr = passages_to_json(p, n, 1);
    return arr ? dump(json_pack("{s:o}", "passages", arr), len) : NULL;
}

int pcache_passages_decode(const void *data, size_t len, passvec *out)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    int rc = root ? passages_from_json(json_object_get(root, "passages"), out) : -1;
    if (rc < 0) passvec_free(out);
    json_decref(root);
    return rc;
}
