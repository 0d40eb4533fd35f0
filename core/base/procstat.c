/*
 * procstat — owns the process-level metrics. They are sampled when /metrics
 * is rendered rather than on a timer: a scrape sees the values of that
 * moment and an idle server does no work. CPU time is a counter, which
 * the registry only lets rise, so it is advanced by the difference from
 * the last sample under a mutex (two scrapes at once must not add it
 * twice). Linux only, as the rest of the core (/proc, epoll).
 */
#define _GNU_SOURCE
#include "procstat.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

#include "metrics.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static rk_metric *gauge(const char *name, const char *help)
{
    return metrics_get(RK_METRIC_GAUGE, name, help, NULL);
}

static void build_info(void)
{
    char labels[128];
    snprintf(labels, sizeof labels, "version=\"%s\",abi=\"%d.%d\"", RK_VERSION, RK_ABI_MAJOR,
             RK_ABI_MINOR);
    metrics_set(metrics_get(RK_METRIC_GAUGE, "ragkernel_build_info",
                            "always 1; the labels say which ragkernel and plugin ABI run",
                            labels),
                1);
}

static size_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* not the one opendir holds */
}

/* Seconds since the epoch at boot, from /proc/stat's btime. */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    char line[256];
    double bt = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    if (f) fclose(f);
    return bt;
}

/* /proc/self/stat: utime, stime (fields 14, 15), starttime (22) in ticks,
 * vsize (23) in bytes, rss (24) in pages. The command name (field 2) may
 * hold spaces and parentheses, so fields are counted from its last ')'. */
static int self_stat(double *cpu_s, double *start_ticks, double *vsize, double *rss_pages)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    double v[24] = {0}; /* v[k] = field k + 3 */
    char *save = NULL;
    int k = 0;
    for (char *t = strtok_r(p + 1, " ", &save); t && k < 24; t = strtok_r(NULL, " ", &save))
        v[k++] = strtod(t, NULL);
    if (k < 22) return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (v[11] + v[12]) / hz;
    *start_ticks = v[19] / hz;
    *vsize = v[20];
    *rss_pages = v[21];
    return 0;
}

void procstat_update(void)
{
    static rk_metric *rss, *vsz, *fds, *maxfds, *start, *cpu;
    pthread_mutex_lock(&g_mu);
    if (!rss) {
        build_info();
        rss = gauge("process_resident_memory_bytes", "resident memory size in bytes");
        vsz = gauge("process_virtual_memory_bytes", "virtual memory size in bytes");
        fds = gauge("process_open_fds", "open file descriptors");
        maxfds = gauge("process_max_fds", "the limit of open file descriptors");
        start = gauge("process_start_time_seconds",
                      "start time of the process since the epoch, in seconds");
        cpu = metrics_get(RK_METRIC_COUNTER, "process_cpu_seconds_total",
                          "user and system CPU time spent, in seconds", NULL);
    }
    double cpu_s, start_s, vsize, pages;
    if (self_stat(&cpu_s, &start_s, &vsize, &pages) == 0) {
        metrics_set(rss, pages * (double)sysconf(_SC_PAGESIZE));
        metrics_set(vsz, vsize);
        metrics_set(start, boot_time() + start_s);
        double prev = metrics_value(cpu);
        if (cpu_s > prev) metrics_add(cpu, cpu_s - prev);
    }
    metrics_set(fds, (double)open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_set(maxfds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    pthread_mutex_unlock(&g_mu);
}
