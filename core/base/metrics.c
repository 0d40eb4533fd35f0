/*
 * metrics — the process-wide Prometheus registry. Families (one name, help
 * and type) hold series (one label set each), both in creation order so the
 * exposition is stable from scrape to scrape. Creating or finding a series
 * takes a mutex, but plugins do that once and keep the pointer; updates are
 * lock-free: values are doubles stored as uint64 bit patterns and changed
 * with compare-and-swap, histogram buckets are plain atomic counters. A
 * series is never freed while the process runs (the SDK promises its
 * pointer lives until exit); only tests reset the registry.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define NBUCKETS 16 /* the last one is +Inf */

static const double bounds[NBUCKETS - 1] = {0.001, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,  0.5,  1,     2.5,
                                            5,     10,    30,   60,    120};
static const char *const le_text[NBUCKETS] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
    "1",     "2.5",   "5",    "10",    "30",   "60",  "120",  "+Inf"};

typedef struct family family;

struct rk_metric {
    family *fam;
    char *labels; /* "" when none */
    rk_metric *next;
    _Atomic uint64_t bits; /* the value, or a histogram's sum, as a double */
    _Atomic uint64_t buckets[NBUCKETS]; /* per bucket, not cumulative */
};

struct family {
    char *name, *help;
    rk_metric_type type;
    rk_metric *first, *last;
    family *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static family *g_first, *g_last;

static int valid_name(const char *s, int colon_ok)
{
    if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || (colon_ok && *s == ':')))
            return 0;
    return 1;
}

/* `a="x",b="y\"z"`: anything else would corrupt the exposition. */
static int valid_labels(const char *s, int histogram)
{
    while (*s) {
        const char *eq = strchr(s, '=');
        if (!eq || eq == s || eq[1] != '"' || eq - s > 128) return 0;
        char key[129];
        memcpy(key, s, (size_t)(eq - s));
        key[eq - s] = '\0';
        if (!valid_name(key, 0) || (histogram && strcmp(key, "le") == 0)) return 0;
        for (s = eq + 2; *s != '"'; s++) {
            if (!*s || *s == '\n') return 0;
            if (*s == '\\' && !*++s) return 0;
        }
        s++;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return 1;
}

static family *family_find(const char *name)
{
    for (family *f = g_first; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static family *family_add(rk_metric_type type, const char *name, const char *help)
{
    family *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->type = type;
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    if (g_last) g_last->next = f;
    else g_first = f;
    g_last = f;
    return f;
}

static rk_metric *series_get(family *f, const char *labels)
{
    for (rk_metric *m = f->first; m; m = m->next)
        if (strcmp(m->labels, labels) == 0) return m;
    rk_metric *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->labels = strdup(labels);
    if (!m->labels) {
        free(m);
        return NULL;
    }
    m->fam = f;
    if (f->last) f->last->next = m;
    else f->first = m;
    f->last = m;
    return m;
}

rk_metric *metrics_get(rk_metric_type type, const char *name, const char *help,
                       const char *labels)
{
    if (!labels) labels = "";
    if (type < RK_METRIC_COUNTER || type > RK_METRIC_HISTOGRAM ||
        !valid_name(name, 1) || !valid_labels(labels, type == RK_METRIC_HISTOGRAM)) {
        log_warn("metrics", "invalid metric %s{%s}", name ? name : "(null)", labels);
        return NULL;
    }
    rk_metric *m = NULL;
    pthread_mutex_lock(&g_mu);
    family *f = family_find(name);
    if (f && f->type != type) {
        log_warn("metrics", "metric %s already registered with another type", name);
        goto out;
    }
    if (!f) f = family_add(type, name, help);
    if (f) m = series_get(f, labels);
out:
    pthread_mutex_unlock(&g_mu);
    return m;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        a, &old, double_bits(bits_double(old) + v), memory_order_relaxed,
        memory_order_relaxed)) {
    }
}

void metrics_add(rk_metric *m, double v)
{
    if (!m || isnan(v) || m->fam->type == RK_METRIC_HISTOGRAM) return;
    if (m->fam->type == RK_METRIC_COUNTER && v < 0) return; /* counters only rise */
    atomic_add_double(&m->bits, v);
}

void metrics_set(rk_metric *m, double v)
{
    if (!m || m->fam->type != RK_METRIC_GAUGE) return;
    atomic_store_explicit(&m->bits, double_bits(v), memory_order_relaxed);
}

void metrics_observe(rk_metric *m, double v)
{
    if (!m || isnan(v) || m->fam->type != RK_METRIC_HISTOGRAM) return;
    int i = 0;
    while (i < NBUCKETS - 1 && v > bounds[i]) i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&m->bits, v);
}

static uint64_t hist_count(const rk_metric *m)
{
    uint64_t n = 0;
    for (int i = 0; i < NBUCKETS; i++)
        n += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
    return n;
}

double metrics_value(const rk_metric *m)
{
    if (!m) return 0;
    if (m->fam->type == RK_METRIC_HISTOGRAM) return (double)hist_count(m);
    return bits_double(atomic_load_explicit(&m->bits, memory_order_relaxed));
}

/* ---- rendering ----------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

__attribute__((format(printf, 2, 3))) static void put(buf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->oom; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
        } else if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        } else {
            size_t cap = (b->cap + (size_t)n + 1) * 2;
            char *p = realloc(b->p, cap);
            if (!p) b->oom = 1;
            else b->p = p, b->cap = cap;
        }
    }
}

/* Shortest text that reads back as the same double. */
static void fmt_value(char *out, size_t cap, double v)
{
    if (isnan(v)) snprintf(out, cap, "NaN");
    else if (isinf(v)) snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(out, cap, "%.15g", v);
        if (strtod(out, NULL) != v) snprintf(out, cap, "%.17g", v);
    }
}

static void put_help(buf *b, const family *f)
{
    put(b, "# HELP %s ", f->name);
    for (const char *s = f->help; *s; s++) {
        if (*s == '\\') put(b, "\\\\");
        else if (*s == '\n') put(b, "\\n");
        else put(b, "%c", *s);
    }
    static const char *const types[] = {"", "counter", "gauge", "histogram"};
    put(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
}

static void put_histogram(buf *b, const family *f, const rk_metric *m)
{
    const char *sep = m->labels[0] ? "," : "";
    uint64_t cum = 0;
    char v[40];
    for (int i = 0; i < NBUCKETS; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        put(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, m->labels, sep,
            le_text[i], (unsigned long long)cum);
    }
    fmt_value(v, sizeof v, bits_double(atomic_load(&m->bits)));
    if (m->labels[0]) {
        put(b, "%s_sum{%s} %s\n", f->name, m->labels, v);
        put(b, "%s_count{%s} %llu\n", f->name, m->labels, (unsigned long long)cum);
    } else {
        put(b, "%s_sum %s\n%s_count %llu\n", f->name, v, f->name,
            (unsigned long long)cum);
    }
}

static void render_into(buf *b)
{
    char v[40];
    for (const family *f = g_first; f; f = f->next) {
        put_help(b, f);
        for (const rk_metric *m = f->first; m; m = m->next) {
            if (f->type == RK_METRIC_HISTOGRAM) {
                put_histogram(b, f, m);
                continue;
            }
            fmt_value(v, sizeof v, metrics_value(m));
            if (m->labels[0]) put(b, "%s{%s} %s\n", f->name, m->labels, v);
            else put(b, "%s %s\n", f->name, v);
        }
    }
}

/* Rendered into memory under the lock, written after it: a slow scraper
 * must not hold up metric creation. */
void metrics_render(void (*write)(void *ud, const char *data, size_t len),
                    void *ud)
{
    buf b = {.cap = 4096};
    b.p = malloc(b.cap);
    if (!b.p) b.oom = 1, b.cap = 0;
    pthread_mutex_lock(&g_mu);
    render_into(&b);
    pthread_mutex_unlock(&g_mu);
    if (b.oom) log_error("metrics", "out of memory rendering metrics");
    else if (b.len && write) write(ud, b.p, b.len);
    free(b.p);
}

void metrics_reset_all(void)
{
    pthread_mutex_lock(&g_mu);
    while (g_first) {
        family *f = g_first;
        g_first = f->next;
        while (f->first) {
            rk_metric *m = f->first;
            f->first = m->next;
            free(m->labels);
            free(m);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    g_last = NULL;
    pthread_mutex_unlock(&g_mu);
}

const char *metrics_label_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            out[o++] = '\\';
            out[o++] = *s;
        } else if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

rk_metric *metrics_labelled(rk_metric_type t, const char *name, const char *help,
                            const char *label, const char *value)
{
    char esc[128], labels[192];
    snprintf(labels, sizeof labels, "%s=\"%s\"", label,
             metrics_label_escape(value, esc, sizeof esc));
    return metrics_get(t, name, help, labels);
}
