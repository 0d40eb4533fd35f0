/*
 * sigv4 — AWS Signature Version 4, implemented here rather than through
 * CURLOPT_AWS_SIGV4: curl 7.88 signs the query exactly as given (unsorted,
 * unencoded, valueless names without '='), which real S3 rejects, and its
 * output depends on the clock, so it cannot be tested against a fixed
 * vector. Owning the canonical request makes every request the plugin
 * sends reproducible from (method, path, query, headers, payload hash,
 * date), which is exactly what the unit test feeds in.
 */
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "s3_hash.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

void sigv4_encode(s3_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            s3_buf_add(out, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            s3_buf_add(out, e, 3);
        }
    }
}

typedef struct enc_param {
    char *name, *value;
} enc_param;

static int cmp_param(const void *a, const void *b)
{
    const enc_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encoded(const char *s)
{
    s3_buf b = {0};
    sigv4_encode(&b, s, strlen(s), 0);
    return s3_buf_take(&b);
}

char *sigv4_query(const sigv4_param *params, size_t n)
{
    enc_param *e = calloc(n ? n : 1, sizeof *e);
    s3_buf out = {0};
    int ok = e != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        e[i].name = encoded(params[i].name);
        e[i].value = encoded(params[i].value ? params[i].value : "");
        ok = e[i].name && e[i].value;
    }
    if (ok) {
        /* sorting the encoded forms is what AWS specifies */
        qsort(e, n, sizeof *e, cmp_param);
        for (size_t i = 0; i < n; i++)
            s3_buf_printf(&out, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
    }
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    if (!ok)
        out.failed = 1;
    return s3_buf_take(&out);
}

typedef struct canon_header {
    char *name; /* lowercase copy */
    const char *value;
} canon_header;

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const canon_header *)a)->name, ((const canon_header *)b)->name);
}

/* The value trimmed, with runs of spaces inside collapsed to one. */
static void add_trimmed(s3_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            s3_buf_add(b, " ", 1);
        space = 0;
        s3_buf_add(b, v, 1);
    }
}

/* Appends "name:value\n" lines to canon and "a;b;c" to names. */
static int canonical_headers(const sigv4_input *in, s3_buf *canon, s3_buf *names)
{
    size_t n = in->n_headers;
    canon_header *h = calloc(n ? n : 1, sizeof *h);
    int rc = h ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        h[i].name = strdup(in->headers[i].name);
        h[i].value = in->headers[i].value ? in->headers[i].value : "";
        if (!h[i].name)
            rc = -1;
        for (char *p = h[i].name; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    if (rc == 0) {
        qsort(h, n, sizeof *h, cmp_header);
        for (size_t i = 0; i < n; i++) {
            s3_buf_printf(canon, "%s:", h[i].name);
            add_trimmed(canon, h[i].value);
            s3_buf_add(canon, "\n", 1);
            s3_buf_printf(names, "%s%s", i ? ";" : "", h[i].name);
        }
    }
    for (size_t i = 0; h && i < n; i++)
        free(h[i].name);
    free(h);
    return rc;
}

char *sigv4_canonical_request(const sigv4_input *in, char **signed_headers)
{
    s3_buf canon = {0}, names = {0};
    s3_buf_printf(&canon, "%s\n%s\n%s\n", in->method, in->path && *in->path ? in->path : "/",
                  in->query ? in->query : "");
    if (canonical_headers(in, &canon, &names) != 0)
        canon.failed = 1;
    s3_buf_printf(&canon, "\n%s\n%s", names.p ? names.p : "", in->payload_hash);
    char *sh = s3_buf_take(&names);
    char *text = s3_buf_take(&canon);
    if (!text || !sh) {
        free(text);
        free(sh);
        text = sh = NULL;
    }
    if (signed_headers)
        *signed_headers = sh;
    else
        free(sh);
    return text;
}

void sigv4_signing_key(const sigv4_key *k, const char *date8, uint8_t out[32])
{
    s3_buf secret = {0};
    s3_buf_printf(&secret, "AWS4%s", k->secret_key);
    const char *steps[] = {date8, k->region, k->service, "aws4_request"};
    uint8_t cur[SHA256_DIGEST_LEN];
    s3_hmac_sha256(secret.p ? secret.p : "", secret.len, steps[0], strlen(steps[0]), cur);
    for (int i = 1; i < 4; i++)
        s3_hmac_sha256(cur, sizeof cur, steps[i], strlen(steps[i]), cur);
    memcpy(out, cur, sizeof cur);
    if (secret.p) /* the secret should not linger in freed heap memory */
        memset(secret.p, 0, secret.cap);
    s3_buf_free(&secret);
}

char *sigv4_authorization(const sigv4_key *k, const char *amz_date, const sigv4_input *in)
{
    char *signed_headers = NULL, *canon = sigv4_canonical_request(in, &signed_headers);
    char date8[9], canon_hash[SHA256_HEX_LEN], sig_hex[SHA256_HEX_LEN];
    s3_buf sts = {0}, out = {0};
    if (!canon)
        goto out;
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    s3_sha256_hex(canon, strlen(canon), canon_hash);
    s3_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8,
                  k->region, k->service, canon_hash);
    if (sts.failed)
        goto out;
    uint8_t key[SHA256_DIGEST_LEN], sig[SHA256_DIGEST_LEN];
    sigv4_signing_key(k, date8, key);
    s3_hmac_sha256(key, sizeof key, sts.p, sts.len, sig);
    s3_hex(sig, sizeof sig, sig_hex);
    s3_buf_printf(&out,
                  "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                  "SignedHeaders=%s, Signature=%s",
                  k->access_key, date8, k->region, k->service, signed_headers, sig_hex);
out:
    if (!canon)
        out.failed = 1;
    free(canon);
    free(signed_headers);
    s3_buf_free(&sts);
    return s3_buf_take(&out);
}

void sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
