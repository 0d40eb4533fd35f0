/*
 * pcache — the key scheme and entry format of the pipeline's cache use.
 * Keys are hashes so they have a fixed, small size whatever the prompt
 * length, and so two tenants can never collide (the tenant is hashed in).
 * Content is whitespace-trimmed before hashing: clients that differ only in
 * a trailing newline share an entry. Entries are JSON so they stay readable
 * in redis-cli and tolerant of added fields; they are written straight into
 * a buffer and read with the flat reader (oj.h), since a cache hit is the
 * fast path. Anything that does not decode is a miss, never an error for
 * the request.
 */
#include "pcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "strbuf.h"

/* Key material goes through a batch buffer: a key is a dozen short fields,
 * and hashing each piece as it comes costs more than the hashing itself. */
typedef struct keyb {
    sha256_ctx c;
    size_t n;
    unsigned char buf[512];
} keyb;

static void kb_raw(keyb *k, const void *s, size_t n)
{
    if (k->n + n > sizeof k->buf) {
        sha256_update(&k->c, k->buf, k->n);
        k->n = 0;
        if (n > sizeof k->buf) {
            sha256_update(&k->c, s, n);
            return;
        }
    }
    memcpy(k->buf + k->n, s, n);
    k->n += n;
}

/* Every field is length-prefixed (8 bytes, little-endian) so no two inputs
 * share an encoding. */
static void put_bytes(keyb *k, const char *s, size_t n)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)n >> (8 * i));
    kb_raw(k, len, sizeof len);
    kb_raw(k, s, n);
}

static void put_str(keyb *k, const char *s)
{
    put_bytes(k, s ? s : "", s ? strlen(s) : 0);
}

static void put_uint(keyb *k, uint64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_bytes(k, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_trimmed(keyb *k, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1])) n--;
    while (n > 0 && strchr(" \t\r\n\v\f", *s)) s++, n--;
    put_bytes(k, s, n);
}

static void finish_key(keyb *k, const char *prefix, char key[PCACHE_KEY_MAX])
{
    char hex[SHA256_HEX_LEN];
    sha256_update(&k->c, k->buf, k->n);
    sha256_final_hex(&k->c, hex);
    size_t pl = strlen(prefix);
    memcpy(key, prefix, pl);
    memcpy(key + pl, hex, SHA256_HEX_LEN); /* with its NUL */
}

void pcache_answer_key(char key[PCACHE_KEY_MAX], const char *tenant,
                       const char *model, const rk_message *msgs, size_t n,
                       double temperature, int64_t max_tokens, int retrieve,
                       const char *docver)
{
    keyb k = {.n = 0};
    char num[64];
    sha256_init(&k.c);
    put_str(&k, tenant);
    put_str(&k, model);
    put_uint(&k, n);
    for (size_t i = 0; i < n; i++) {
        put_str(&k, msgs[i].role);
        put_trimmed(&k, msgs[i].content);
    }
    if (temperature < 0) {
        put_str(&k, "unset");
    } else {
        snprintf(num, sizeof num, "%.17g", temperature);
        put_str(&k, num);
    }
    put_uint(&k, (uint64_t)(max_tokens > 0 ? max_tokens : 0));
    put_str(&k, retrieve ? "1" : "0");
    put_str(&k, docver ? docver : "");
    finish_key(&k, "answer:", key);
}

void pcache_retrieve_key(char key[PCACHE_KEY_MAX], const char *tenant,
                         const char *query, size_t k_top, int fast, const char *docver)
{
    keyb k = {.n = 0};
    char num[32];
    sha256_init(&k.c);
    put_str(&k, tenant);
    put_trimmed(&k, query);
    snprintf(num, sizeof num, "%zu/%d", k_top, fast ? 1 : 0);
    put_str(&k, num);
    put_str(&k, docver ? docver : "");
    finish_key(&k, "retrieve:", key);
}

/* ---- entries ---------------------------------------------------------- */

#define TOKS 64 /* tokens on the stack: an entry with a few sources needs no more */

/* The string member `key` of the root object, decoded into a new string. */
static char *member_dup(const oj_doc *d, const char *key)
{
    int i = oj_get(d, 0, key);
    if (oj_kind(d, i) != OJ_STR) return NULL;
    char *s = malloc(d->t[i].len + 1);
    if (s) oj_copy(d, i, s, d->t[i].len + 1);
    return s;
}

static char *finish_entry(strbuf *b, int bad, size_t *len)
{
    if (bad || b->oom) {
        sb_free(b);
        return NULL;
    }
    *len = b->len;
    return sb_take(b);
}

char *pcache_answer_encode(const char *answer, const char *model,
                           const char *finish_reason, const rk_passage *src,
                           size_t n, size_t *len)
{
    strbuf b = {0};
    int bad = 0;
    answer = answer ? answer : "";
    model = model ? model : "";
    finish_reason = finish_reason ? finish_reason : "stop";
    sb_puts(&b, "{\"answer\":");
    bad |= sb_json_str(&b, answer, strlen(answer));
    sb_puts(&b, ",\"model\":");
    bad |= sb_json_str(&b, model, strlen(model));
    sb_puts(&b, ",\"finish_reason\":");
    bad |= sb_json_str(&b, finish_reason, strlen(finish_reason));
    sb_puts(&b, ",\"sources\":");
    bad |= passages_write_json(&b, src, n, 0);
    sb_puts(&b, "}");
    return finish_entry(&b, bad, len);
}

/* Parse an entry (a JSON object) into d, whose token array is toks: the
 * scratch for its passages' strings (the caller frees it and d), or NULL
 * when it is not an entry. */
static char *entry_open(oj_doc *d, oj_tok *toks, const void *data, size_t len)
{
    oj_init_with(d, toks, TOKS);
    if (oj_parse(d, data, len) != 0 || oj_kind(d, 0) != OJ_OBJ) return NULL;
    return malloc(len + 1); /* decoding never makes a string longer */
}

int pcache_answer_decode(const void *data, size_t len, pcache_answer *out)
{
    oj_tok toks[TOKS];
    oj_doc d;
    int rc = -1;
    memset(out, 0, sizeof *out);
    char *scratch = entry_open(&d, toks, data, len);
    if (!scratch) goto done;
    out->answer = member_dup(&d, "answer");
    out->model = member_dup(&d, "model");
    out->finish_reason = member_dup(&d, "finish_reason");
    if (out->answer && out->model && out->finish_reason &&
        passages_read_json(&d, oj_get(&d, 0, "sources"), scratch, &out->sources) == 0)
        rc = 0;
done:
    if (rc) pcache_answer_free(out);
    oj_free(&d);
    free(scratch);
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
    strbuf b = {0};
    sb_puts(&b, "{\"passages\":");
    int bad = passages_write_json(&b, p, n, 1);
    sb_puts(&b, "}");
    return finish_entry(&b, bad, len);
}

int pcache_passages_decode(const void *data, size_t len, passvec *out)
{
    oj_tok toks[TOKS];
    oj_doc d;
    int rc = -1;
    char *scratch = entry_open(&d, toks, data, len);
    if (scratch) rc = passages_read_json(&d, oj_get(&d, 0, "passages"), scratch, out);
    if (rc < 0) passvec_free(out);
    oj_free(&d);
    free(scratch);
    return rc;
}
