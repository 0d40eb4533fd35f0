/*
 * test_metrics — the registry and its exposition: the rendered text is
 * split into lines and compared exactly; updates from several threads at
 * once must not lose increments.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef struct text {
    char *p;
    size_t len;
} text;

static void collect(void *ud, const char *data, size_t len)
{
    text *t = ud;
    t->p = realloc(t->p, t->len + len + 1);
    memcpy(t->p + t->len, data, len);
    t->len += len;
    t->p[t->len] = '\0';
}

/* Render and compare line by line with want (NULL-terminated). */
static void expect_lines(const char *const *want)
{
    text t = {0};
    metrics_render(collect, &t);
    ck_assert_ptr_nonnull(t.p);
    ck_assert_int_eq(t.p[t.len - 1], '\n');
    char *save = NULL;
    size_t i = 0;
    for (char *line = strtok_r(t.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), i++) {
        ck_assert_msg(want[i] != NULL, "extra line: %s", line);
        ck_assert_str_eq(line, want[i]);
    }
    ck_assert_msg(want[i] == NULL, "missing line: %s", want[i]);
    free(t.p);
}

static void setup(void) { metrics_reset_all(); }
static void teardown(void) { metrics_reset_all(); }

START_TEST(render_counters_and_gauges)
{
    rk_metric *a = metrics_get(RK_METRIC_COUNTER, "rk_requests_total",
                               "Requests \\ served\nby code", "code=\"200\"");
    rk_metric *g = metrics_get(RK_METRIC_GAUGE, "rk_inflight", "In flight", NULL);
    rk_metric *b = metrics_get(RK_METRIC_COUNTER, "rk_requests_total", "ignored",
                               "code=\"429\"");
    ck_assert_ptr_eq(metrics_get(RK_METRIC_COUNTER, "rk_requests_total", "x",
                                 "code=\"200\""), a);
    metrics_add(a, 3);
    metrics_add(a, 0.5);
    metrics_add(a, -10); /* counters never go down */
    metrics_add(b, 1);
    metrics_set(g, 7);
    metrics_add(g, -9);
    metrics_set(a, 100); /* not a gauge: ignored */
    ck_assert_double_eq(metrics_value(a), 3.5);
    static const char *const want[] = {
        "# HELP rk_requests_total Requests \\\\ served\\nby code",
        "# TYPE rk_requests_total counter",
        "rk_requests_total{code=\"200\"} 3.5",
        "rk_requests_total{code=\"429\"} 1",
        "# HELP rk_inflight In flight",
        "# TYPE rk_inflight gauge",
        "rk_inflight -2",
        NULL};
    expect_lines(want);
}
END_TEST

START_TEST(render_histogram)
{
    rk_metric *h = metrics_get(RK_METRIC_HISTOGRAM, "rk_latency_seconds",
                               "Latency", "stage=\"llm\"");
    rk_metric *u = metrics_get(RK_METRIC_HISTOGRAM, "rk_latency_seconds", NULL, NULL);
    metrics_observe(h, 0.001); /* le is inclusive */
    metrics_observe(h, 0.2);
    metrics_observe(h, 3);
    metrics_observe(h, 500);
    metrics_observe(u, 0.05);
    ck_assert_double_eq(metrics_value(h), 4);
    static const char *const want[] = {
        "# HELP rk_latency_seconds Latency",
        "# TYPE rk_latency_seconds histogram",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.001\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.005\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.01\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.025\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.05\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.1\"} 1",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.25\"} 2",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"0.5\"} 2",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"1\"} 2",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"2.5\"} 2",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"5\"} 3",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"10\"} 3",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"30\"} 3",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"60\"} 3",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"120\"} 3",
        "rk_latency_seconds_bucket{stage=\"llm\",le=\"+Inf\"} 4",
        "rk_latency_seconds_sum{stage=\"llm\"} 503.201",
        "rk_latency_seconds_count{stage=\"llm\"} 4",
        "rk_latency_seconds_bucket{le=\"0.001\"} 0",
        "rk_latency_seconds_bucket{le=\"0.005\"} 0",
        "rk_latency_seconds_bucket{le=\"0.01\"} 0",
        "rk_latency_seconds_bucket{le=\"0.025\"} 0",
        "rk_latency_seconds_bucket{le=\"0.05\"} 1",
        "rk_latency_seconds_bucket{le=\"0.1\"} 1",
        "rk_latency_seconds_bucket{le=\"0.25\"} 1",
        "rk_latency_seconds_bucket{le=\"0.5\"} 1",
        "rk_latency_seconds_bucket{le=\"1\"} 1",
        "rk_latency_seconds_bucket{le=\"2.5\"} 1",
        "rk_latency_seconds_bucket{le=\"5\"} 1",
        "rk_latency_seconds_bucket{le=\"10\"} 1",
        "rk_latency_seconds_bucket{le=\"30\"} 1",
        "rk_latency_seconds_bucket{le=\"60\"} 1",
        "rk_latency_seconds_bucket{le=\"120\"} 1",
        "rk_latency_seconds_bucket{le=\"+Inf\"} 1",
        "rk_latency_seconds_sum 0.05",
        "rk_latency_seconds_count 1",
        NULL};
    expect_lines(want);
}
END_TEST

START_TEST(rejects_bad_input)
{
    ck_assert_ptr_nonnull(metrics_get(RK_METRIC_COUNTER, "rk_x", "x", NULL));
    ck_assert_ptr_null(metrics_get(RK_METRIC_GAUGE, "rk_x", "x", NULL));
    ck_assert_ptr_null(metrics_get(RK_METRIC_COUNTER, "9bad", "x", NULL));
    ck_assert_ptr_null(metrics_get(RK_METRIC_COUNTER, "rk-bad", "x", NULL));
    ck_assert_ptr_null(metrics_get(RK_METRIC_COUNTER, "rk_y", "x", "a=b"));
    ck_assert_ptr_null(metrics_get(RK_METRIC_COUNTER, "rk_y", "x", "a=\"b"));
    ck_assert_ptr_null(metrics_get(RK_METRIC_COUNTER, "rk_y", "x", "a=\"b\"c=\"d\""));
    ck_assert_ptr_null(metrics_get(RK_METRIC_HISTOGRAM, "rk_h", "x", "le=\"1\""));
    ck_assert_ptr_nonnull(metrics_get(RK_METRIC_COUNTER, "rk_y", "x",
                                      "a=\"q\\\"uote\",b=\"\""));
    metrics_add(NULL, 1); /* a failed lookup stays harmless */
    metrics_observe(NULL, 1);
    ck_assert_double_eq(metrics_value(NULL), 0);
}
END_TEST

#define THREADS 4
#define ADDS 100000
static rk_metric *shared_c, *shared_h;
static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        metrics_add(shared_c, 1);
        metrics_observe(shared_h, 0.5);
    }
    return NULL;
}

START_TEST(concurrent_updates)
{
    pthread_t th[THREADS];
    shared_c = metrics_get(RK_METRIC_COUNTER, "rk_hits_total", "Hits", NULL);
    shared_h = metrics_get(RK_METRIC_HISTOGRAM, "rk_t_seconds", "T", NULL);
    for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    ck_assert_double_eq(metrics_value(shared_c), THREADS * ADDS);
    ck_assert_double_eq(metrics_value(shared_h), THREADS * ADDS);
}
END_TEST

START_TEST(reset_empties)
{
    metrics_get(RK_METRIC_COUNTER, "rk_z", "z", NULL);
    metrics_reset_all();
    text t = {0};
    metrics_render(collect, &t);
    ck_assert_ptr_null(t.p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, render_counters_and_gauges);
    tcase_add_test(tc, render_histogram);
    tcase_add_test(tc, rejects_bad_input);
    tcase_add_test(tc, concurrent_updates);
    tcase_add_test(tc, reset_empties);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
