/* log — leveled, one line per event, logfmt or JSON, to stderr. */
#ifndef RK_CORE_LOG_H
#define RK_CORE_LOG_H

#include <stdarg.h>

#include <ragkernel/host.h> /* rk_log_level */

typedef enum log_format { LOG_LOGFMT = 0, LOG_JSON = 1 } log_format;

void log_configure(rk_log_level min_level, log_format fmt);
/* Parse "debug"/"info"/"warn"/"error" and "logfmt"/"json"; -1 if unknown. */
int log_level_parse(const char *s);
int log_format_parse(const char *s);
/* component: "core", "loader", an instance name, ... msg is free text. */
void log_emit(rk_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_emitv(rk_log_level level, const char *component, const char *fmt,
               va_list ap);
int log_enabled(rk_log_level level);

#define log_debug(c, ...) log_emit(RK_LOG_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...) log_emit(RK_LOG_INFO, c, __VA_ARGS__)
#define log_warn(c, ...) log_emit(RK_LOG_WARN, c, __VA_ARGS__)
#define log_error(c, ...) log_emit(RK_LOG_ERROR, c, __VA_ARGS__)

#endif
