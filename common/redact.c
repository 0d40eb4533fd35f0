/*
 * redact — see redact.h. One left-to-right pass: at each byte it tries,
 * in order, a configured secret, an S3 signing element, a bearer token and
 * a credential name; anything else is copied. A name only counts at a word
 * start and when ':' or '=' follows it (after quotes and spaces), so words
 * like "SignatureDoesNotMatch" or "max_tokens" are left alone. Masking
 * more than needed is the safe failure: a value runs to the end of its
 * line or quoted string (to '&', ',', ';' or a space as well when it came
 * after '=').
 */
#include "redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct wbuf {
    char *p;
    size_t len, cap;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (w->len + 1 >= w->cap) return;
    if (n > w->cap - 1 - w->len) n = w->cap - 1 - w->len;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static const char *const NAMES[] = {
    "proxy-authorization", "authorization", "set-cookie", "cookie", "x-goog-api-key",
    "x-api-key", "api-key", "api_key", "apikey", "credential", "signature",
    "secret_key", "secret", "access_key", "password", NULL};

static const char *const XML[] = {"StringToSignBytes", "StringToSign",
                                  "CanonicalRequestBytes", "CanonicalRequest",
                                  "SignatureProvided", "AWSAccessKeyId", NULL};

static int word_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_'; }

/* Length of a credential name at s (a word start), or 0. */
static size_t name_at(const char *s)
{
    if (strncasecmp(s, "x-amz-", 6) == 0) {
        size_t n = 6;
        while (word_char(s[n])) n++;
        return n;
    }
    for (const char *const *k = NAMES; *k; k++) {
        size_t n = strlen(*k);
        if (strncasecmp(s, *k, n) == 0 && !word_char(s[n])) return n;
    }
    return 0;
}

/* After a name: quotes, spaces and backslashes around one ':' or '='.
 * Returns how many bytes, or 0 when no ':'/'=' is there; *eq says '='. */
static size_t sep_at(const char *s, int *eq)
{
    size_t n = 0;
    int seen = 0;
    for (;; n++) {
        char c = s[n];
        if ((c == ':' || c == '=') && !seen) {
            seen = 1;
            *eq = c == '=';
        } else if (c != ' ' && c != '\t' && c != '"' && c != '\'' && c != '\\') {
            break;
        }
    }
    return seen ? n : 0;
}

static size_t value_len(const char *s, int eq)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (c == '\r' || c == '\n' || c == '"' || c == '\'' || c == '\\' || c == '<') break;
        if (eq && (c == '&' || c == ',' || c == ';' || c == ' ')) break;
    }
    return n;
}

/* <Name>...</Name>: copy the tag, mask the contents. */
static size_t xml_at(wbuf *w, const char *s)
{
    if (s[0] != '<') return 0;
    for (const char *const *k = XML; *k; k++) {
        size_t n = strlen(*k);
        if (strncmp(s + 1, *k, n) != 0 || s[n + 1] != '>') continue;
        const char *end = strstr(s + n + 2, "</");
        size_t open = n + 2, body = end ? (size_t)(end - (s + open)) : strlen(s + open);
        put(w, s, open);
        put(w, REDACT_MASK, sizeof REDACT_MASK - 1);
        return open + body;
    }
    return 0;
}

static size_t secret_at(const char *s, const char *const *secrets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = secrets[i] ? strlen(secrets[i]) : 0;
        if (len >= 4 && s[0] == secrets[i][0] && strncmp(s, secrets[i], len) == 0) return len;
    }
    return 0;
}

/* A credential at s: mask it and say how much of in it covered. */
static size_t cred_at(wbuf *w, const char *in, const char *s)
{
    if (s > in && word_char(s[-1])) return 0;
    if (strncasecmp(s, "bearer ", 7) == 0) {
        size_t v = value_len(s + 7, 1);
        if (!v) return 0;
        put(w, s, 7);
        put(w, REDACT_MASK, sizeof REDACT_MASK - 1);
        return 7 + v;
    }
    size_t name = name_at(s);
    int eq = 0;
    size_t sep = name ? sep_at(s + name, &eq) : 0;
    if (!sep) return 0;
    size_t v = value_len(s + name + sep, eq);
    put(w, s, name + sep);
    if (v) put(w, REDACT_MASK, sizeof REDACT_MASK - 1);
    return name + sep + v;
}

size_t redact(const char *in, char *out, size_t cap, const char *const *secrets,
              size_t n_secrets)
{
    wbuf w = {out, 0, cap};
    if (!cap) return 0;
    for (const char *s = in ? in : ""; *s && w.len + 1 < cap;) {
        size_t n = secret_at(s, secrets, n_secrets);
        if (n) {
            put(&w, REDACT_MASK, sizeof REDACT_MASK - 1);
        } else if (!(n = xml_at(&w, s)) && !(n = cred_at(&w, in, s))) {
            put(&w, s, 1);
            n = 1;
        }
        s += n;
    }
    out[w.len] = '\0';
    return w.len;
}
