/*
 * metrics — process-wide Prometheus registry: counters, gauges and
 * histograms (seconds, buckets 1ms..120s), keyed by (name, labels),
 * lock-free to update, rendered in the text exposition format.
 */
#ifndef RK_CORE_METRICS_H
#define RK_CORE_METRICS_H

#include <stddef.h>

#include <ragkernel/host.h>

rk_metric *metrics_get(rk_metric_type type, const char *name, const char *help,
                       const char *labels);
void metrics_add(rk_metric *m, double v);
void metrics_set(rk_metric *m, double v);
void metrics_observe(rk_metric *m, double v);
double metrics_value(const rk_metric *m); /* counter/gauge value; histogram count */
void metrics_render(void (*write)(void *ud, const char *data, size_t len),
                    void *ud);
void metrics_reset_all(void); /* tests only: frees every metric */

/* A Prometheus label value escaped ("\\", "\"", "\n") into buf, cut to
 * fit cap (>= 4); returns buf. */
const char *metrics_label_escape(const char *s, char *buf, size_t cap);
/* metrics_get with one label, label="value" (escaped; cut to 128 bytes). */
rk_metric *metrics_labelled(rk_metric_type t, const char *name, const char *help,
                            const char *label, const char *value);

#endif
