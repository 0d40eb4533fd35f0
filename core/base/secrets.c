/*
 * secrets — owns the process-wide list of configured credential values
 * that log.c masks in every line (see secrets.h). The list only grows
 * across reloads (an old generation's requests may still be logging, and
 * a rotated key is still worth hiding); it is replaced wholesale under a
 * rwlock, read-locked for the few microseconds a line takes to redact.
 */
#define _GNU_SOURCE
#include "secrets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define SECRETS_MAX 256

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static char *g_list[SECRETS_MAX];
static size_t g_n;

static int secret_name(const char *k)
{
    static const char *const words[] = {"key", "secret", "password", "token", "credential", NULL};
    for (const char *const *w = words; *w; w++)
        if (k && strcasestr(k, *w)) return 1;
    return 0;
}

static int secret_value(const char *v)
{
    if (!v || strlen(v) < 6) return 0;
    return strspn(v, "0123456789") != strlen(v);
}

/* g_lock held for writing. */
static void add(const char *v)
{
    for (size_t i = 0; i < g_n; i++)
        if (strcmp(g_list[i], v) == 0) return;
    char *d = g_n < SECRETS_MAX ? strdup(v) : NULL;
    if (d) g_list[g_n++] = d;
}

/* g_lock held for writing. secret: the nearest key is named like a
 * credential (a list inherits it, a map does not: under `keys:` the tenant
 * names and scopes are not secrets, each `key:` is). */
static void walk(const cfg_node *n, int secret)
{
    if (!n) return;
    if (n->kind == CFG_SCALAR) {
        if (secret && secret_value(n->str)) add(n->str);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        int s = n->kind == CFG_SEQ ? secret : n->keys[i] && secret_name(n->keys[i]->str);
        walk(n->items[i], s);
    }
}

void secrets_from_config(const cfg_node *root)
{
    pthread_rwlock_wrlock(&g_lock);
    walk(root, 0);
    pthread_rwlock_unlock(&g_lock);
}

size_t secrets_redact(const char *in, char *out, size_t cap)
{
    pthread_rwlock_rdlock(&g_lock);
    size_t n = redact(in, out, cap, (const char *const *)g_list, g_n);
    pthread_rwlock_unlock(&g_lock);
    return n;
}

void secrets_clear(void)
{
    pthread_rwlock_wrlock(&g_lock);
    while (g_n) free(g_list[--g_n]);
    pthread_rwlock_unlock(&g_lock);
}
