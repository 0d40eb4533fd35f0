/*
 * singleflight — owns the table of flights in progress: key -> waiters. A
 * plain list under one mutex: flights live for one upstream call and there
 * are few at a time (one per distinct in-flight question), so a hash table
 * would buy nothing. Callbacks run after the lock is dropped so a waiter
 * may start a new flight from inside its callback.
 */
#include "singleflight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct waiter {
    sflight_fn fn;
    void *ud;
    struct waiter *next;
} waiter;

typedef struct flight {
    char *key;
    waiter *waiters; /* newest first; reversed on leave */
    struct flight *next;
} flight;

struct sflight {
    pthread_mutex_t mu;
    flight *flights;
    size_t n_waiting;
};

sflight *sflight_new(void)
{
    sflight *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->mu, NULL);
    return s;
}

void sflight_free(sflight *s)
{
    if (!s) return;
    while (s->flights) { /* only reached when a leader never left: drop silently */
        flight *f = s->flights;
        s->flights = f->next;
        while (f->waiters) {
            waiter *w = f->waiters;
            f->waiters = w->next;
            free(w);
        }
        free(f->key);
        free(f);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static flight **find(sflight *s, const char *key)
{
    flight **pp = &s->flights;
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    return pp;
}

int sflight_join(sflight *s, const char *key, sflight_fn fn, void *ud)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    flight **pp = find(s, key);
    if (*pp) {
        waiter *w = malloc(sizeof *w);
        if (w) {
            *w = (waiter){fn, ud, (*pp)->waiters};
            (*pp)->waiters = w;
            s->n_waiting++;
            rc = 1;
        }
    } else {
        flight *f = calloc(1, sizeof *f);
        if (f && (f->key = strdup(key))) {
            f->next = s->flights;
            s->flights = f;
            rc = 0;
        } else {
            free(f);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void sflight_leave(sflight *s, const char *key, const void *data, size_t len)
{
    pthread_mutex_lock(&s->mu);
    flight **pp = find(s, key), *f = *pp;
    if (f) *pp = f->next;
    waiter *rev = NULL;
    while (f && f->waiters) { /* arrival order */
        waiter *w = f->waiters;
        f->waiters = w->next;
        w->next = rev;
        rev = w;
        s->n_waiting--;
    }
    pthread_mutex_unlock(&s->mu);
    while (rev) {
        waiter *w = rev;
        rev = w->next;
        w->fn(w->ud, data, len);
        free(w);
    }
    if (f) {
        free(f->key);
        free(f);
    }
}

size_t sflight_waiting(sflight *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_waiting;
    pthread_mutex_unlock(&s->mu);
    return n;
}
