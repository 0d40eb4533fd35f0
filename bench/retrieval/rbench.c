/*
 * rbench — drives the retrieval benchmark. `rbench plugin` loads
 * retriever_sqlite.so with a minimal host of its own, indexes a corpus
 * (optionally replicated into copies with new ids), writes a TREC run file
 * for eval.py and measures warm top-10 latency; `rbench fts5` does the same
 * with a plain SQLite FTS5 table (porter unicode61, title + text in one
 * column, bm25() ORDER BY), the reference the plugin has to beat, measured
 * on the same machine and queries (rbench_fts5.c). Results go to stdout as
 * `key=value`.
 */
#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ragkernel/ragkernel.h>

#include "rbench.h"

doc *g_docs, *g_queries;
size_t g_ndocs, g_nqueries;
opts g_o;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static char *dup_field(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    char *d = strdup(s ? s : "");
    if (!d)
        die("out of memory");
    return d;
}

static doc *load_jsonl(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    doc *v = NULL;
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    *n = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            if (!(v = realloc(v, cap * sizeof *v)))
                die("out of memory");
        }
        v[(*n)++] = (doc){dup_field(o, "id"), dup_field(o, "title"), dup_field(o, "text")};
        json_decref(o);
    }
    free(line);
    fclose(f);
    return v;
}

/* ---- the minimal host ---------------------------------------------------- */

static int64_t h_now_ms(void) { return (int64_t)(now_s() * 1000); }

static void h_log(const rk_instance *self, rk_log_level level, const char *fmt, ...)
{
    if (level < RK_LOG_INFO)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "retriever: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *h_name(const rk_instance *self) { return "bench"; }

/* value of key in -o key=value, else the schema default */
static const char *h_string(const rk_instance *self, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < g_o.n_kv; i++)
        if (strncmp(g_o.kv[i], key, n) == 0 && g_o.kv[i][n] == '=')
            return g_o.kv[i] + n + 1;
    if (strcmp(key, "path") == 0)
        return g_o.db;
    const rk_plugin *p = self ? (const rk_plugin *)self : NULL;
    for (const rk_config_key *k = p ? p->config : NULL; k && k->name; k++)
        if (strcmp(k->name, key) == 0)
            return k->default_value;
    return NULL;
}

static int64_t h_int(const rk_instance *self, const char *key)
{
    const char *v = h_string(self, key);
    int64_t x = v ? strtoll(v, NULL, 10) : 0;
    if (v && strcmp(key, "busy_timeout") == 0 && strchr(v, 's') && !strstr(v, "ms"))
        x *= 1000;
    return x;
}

static double h_double(const rk_instance *self, const char *key)
{
    const char *v = h_string(self, key);
    return v ? strtod(v, NULL) : 0;
}

static size_t h_count(const rk_instance *self, const char *key)
{
    const char *v = h_string(self, key);
    if (!v || !*v)
        return 0;
    size_t n = 1;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

static const char *h_item(const rk_instance *self, const char *key, size_t i)
{
    static __thread char buf[64];
    const char *v = h_string(self, key);
    for (; v && i > 0; i--)
        v = (v = strchr(v, ',')) ? v + 1 : NULL;
    if (!v)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)strcspn(v, ","), v);
    return buf;
}

static const char *h_where(const rk_instance *self, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "-o %s", key ? key : "");
    return buf;
}

static rk_metric *h_metric(rk_metric_type t, const char *name, const char *help,
                           const char *labels)
{
    return NULL;
}

static rk_host g_host = {
    .struct_size = sizeof(rk_host), .abi_major = RK_ABI_MAJOR, .abi_minor = RK_ABI_MINOR,
    .version = "bench", .log = h_log, .instance_name = h_name, .cfg_string = h_string,
    .cfg_int = h_int, .cfg_double = h_double, .cfg_count = h_count, .cfg_item = h_item,
    .cfg_where = h_where, .now_ms = h_now_ms, .wall_ms = h_now_ms, .metric = h_metric,
};

/* ---- plugin run ------------------------------------------------------------ */

typedef struct index_job {
    const rk_retriever_vtable *vt;
    void *ctx;
    size_t next, total; /* (copy, doc) pairs handed out */
    pthread_mutex_t mu;
} index_job;

static void *index_thread(void *arg)
{
    index_job *j = arg;
    char id[256];
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->total)
            return NULL;
        size_t copy = i / g_ndocs;
        const doc *d = &g_docs[i % g_ndocs];
        if (copy)
            snprintf(id, sizeof id, "%s#c%zu", d->id, copy);
        else
            snprintf(id, sizeof id, "%s", d->id);
        rk_chunk ch = {.struct_size = sizeof ch, .tenant = "default", .doc_id = id,
                       .title = d->title, .index = 0, .text = d->text};
        rk_err err = {{0}};
        if (j->vt->index(j->ctx, &ch, 1, &err) != RK_OK)
            die("index %s: %s", id, err.msg);
    }
}

static double index_all(const rk_retriever_vtable *vt, void *ctx)
{
    index_job j = {.vt = vt, .ctx = ctx, .total = g_ndocs * (size_t)g_o.copies};
    pthread_t th[16];
    int n = g_o.threads < 1 ? 1 : g_o.threads > 16 ? 16 : g_o.threads;
    pthread_mutex_init(&j.mu, NULL);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, index_thread, &j);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.mu);
    return now_s() - t0;
}

/* Hits of one query: doc ids (copies collapsed to the original id when
 * asked) in rank order, distinct. */
typedef struct hitlist {
    char (*ids)[128];
    double *scores;
    size_t n, cap;
} hitlist;

static void on_hit(void *ud, const rk_passage *p)
{
    hitlist *h = ud;
    char id[128];
    snprintf(id, sizeof id, "%s", p->doc_id);
    if (g_o.collapse)
        id[strcspn(id, "#")] = '\0';
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->ids[i], id) == 0)
            return;
    if (h->n < h->cap) {
        memcpy(h->ids[h->n], id, sizeof id);
        h->scores[h->n++] = p->score;
    }
}

static void write_run(FILE *f, const char *qid, const hitlist *h, size_t limit)
{
    for (size_t i = 0; i < h->n && i < limit; i++)
        fprintf(f, "%s Q0 %s %zu %.6f rk\n", qid, h->ids[i], i + 1, h->scores[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p50 and p99 (ms) of n samples (seconds); sorts them. */
void percentiles(double *v, size_t n, double *p50, double *p99, double *mean)
{
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    *p50 = n ? v[n / 2] * 1e3 : 0;
    *p99 = n ? v[(size_t)((double)(n - 1) * 0.99 + 0.5)] * 1e3 : 0;
    *mean = n ? sum / (double)n * 1e3 : 0;
}

static void query_pass(const rk_retriever_vtable *vt, void *ctx, size_t k, FILE *run,
                       double *lat, size_t *n_hits)
{
    hitlist h = {.cap = 100};
    h.ids = malloc(h.cap * sizeof *h.ids);
    h.scores = malloc(h.cap * sizeof *h.scores);
    if (!h.ids || !h.scores)
        die("out of memory");
    *n_hits = 0;
    for (size_t i = 0; i < g_nqueries; i++) {
        rk_query q = {.struct_size = sizeof q, .tenant = "default",
                      .text = g_queries[i].text, .k = k};
        rk_err err = {{0}};
        h.n = 0;
        double t0 = now_s();
        int rc = vt->search(ctx, &q, on_hit, &h, &err);
        if (lat)
            lat[i] = now_s() - t0;
        if (rc < 0)
            die("search: %s", err.msg);
        *n_hits += h.n;
        if (run)
            write_run(run, g_queries[i].id, &h, 100);
    }
    free(h.ids);
    free(h.scores);
}

static void latency(const rk_retriever_vtable *vt, void *ctx, const char *label)
{
    double *lat = malloc(g_nqueries * sizeof *lat), p50, p99, mean;
    size_t n_hits;
    if (!lat)
        die("out of memory");
    query_pass(vt, ctx, 10, NULL, NULL, &n_hits); /* warm caches */
    query_pass(vt, ctx, 10, NULL, lat, &n_hits);
    percentiles(lat, g_nqueries, &p50, &p99, &mean);
    printf("%s_p50_ms=%.3f %s_p99_ms=%.3f %s_mean_ms=%.3f\n", label, p50, label, p99,
           label, mean);
    free(lat);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

void remove_db(const char *path)
{
    char p[4096];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        remove(p);
    }
}

static void *create_instance(const rk_plugin *p, double *secs)
{
    void *ctx = NULL;
    rk_err err = {{0}};
    double t0 = now_s();
    /* the instance handle is opaque to the plugin: this host passes the
     * descriptor so its cfg getters can fall back to the schema defaults */
    if (p->create(&g_host, (rk_instance *)p, &ctx, &err) != RK_OK)
        die("create: %s", err.msg);
    *secs = now_s() - t0;
    return ctx;
}

static int cmd_plugin(void)
{
    void *dl = dlopen(g_o.plugin, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        die("%s", dlerror());
    const rk_plugin *(*entry)(void) = (const rk_plugin *(*)(void))dlsym(dl, RK_PLUGIN_ENTRY_SYMBOL);
    if (!entry)
        die("no entry symbol");
    const rk_plugin *p = entry();
    const rk_retriever_vtable *vt = p->vtable;
    double secs, t_index = 0;
    if (!g_o.no_index)
        remove_db(g_o.db);
    long rss0 = rss_kb();
    void *ctx = create_instance(p, &secs);
    if (!g_o.no_index)
        t_index = index_all(vt, ctx);
    printf("chunks=%zu index_s=%.2f rss_index_mb=%.1f\n", g_ndocs * (size_t)g_o.copies,
           t_index, (double)(rss_kb() - rss0) / 1024);
    FILE *run = fopen(g_o.run, "w");
    size_t n_hits;
    if (!run)
        die("cannot write %s", g_o.run);
    query_pass(vt, ctx, g_o.k, run, NULL, &n_hits);
    fclose(run);
    latency(vt, ctx, "query");
    p->destroy(ctx);
    ctx = create_instance(p, &secs);
    printf("reopen_s=%.2f rss_reopen_mb=%.1f\n", secs, (double)(rss_kb() - rss0) / 1024);
    latency(vt, ctx, "reopen_query");
    p->destroy(ctx);
    dlclose(dl);
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

static void usage(void)
{
    die("usage: rbench plugin|fts5 --corpus F --queries F --db PATH --run OUT\n"
        "       [--plugin SO] [--copies N] [--threads N] [--k K] [--collapse]\n"
        "       [--no-index: query the index already in --db]\n"
        "       [--max-queries N] [-o key=value]...");
}

static void parse_args(int argc, char **argv)
{
    g_o = (opts){.copies = 1, .threads = 2, .k = 100};
    size_t max_q = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--collapse") == 0) {
            g_o.collapse = 1;
            continue;
        }
        if (strcmp(a, "--no-index") == 0) {
            g_o.no_index = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--plugin")) g_o.plugin = v;
        else if (!strcmp(a, "--db")) g_o.db = v;
        else if (!strcmp(a, "--corpus")) g_o.corpus = v;
        else if (!strcmp(a, "--queries")) g_o.queries = v;
        else if (!strcmp(a, "--run")) g_o.run = v;
        else if (!strcmp(a, "--copies")) g_o.copies = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--threads")) g_o.threads = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--k")) g_o.k = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--max-queries")) max_q = strtoul(v, NULL, 10);
        else if (!strcmp(a, "-o") && g_o.n_kv < 32) g_o.kv[g_o.n_kv++] = v;
        else usage();
    }
    if (!g_o.db || !g_o.corpus || !g_o.queries || !g_o.run || g_o.copies < 1 || !g_o.k)
        usage();
    g_docs = load_jsonl(g_o.corpus, &g_ndocs);
    g_queries = load_jsonl(g_o.queries, &g_nqueries);
    if (max_q && max_q < g_nqueries)
        g_nqueries = max_q;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    parse_args(argc, argv);
    if (strcmp(argv[1], "plugin") == 0) {
        if (!g_o.plugin)
            usage();
        return cmd_plugin();
    }
    if (strcmp(argv[1], "fts5") == 0)
        return cmd_fts5();
    usage();
    return 2;
}
