/*
 * plugin_check_report — how ragkernel-plugin-check reports: one line per
 * check ("ok NAME" or "FAIL NAME: why"), counted in the checker, and slot
 * results printed by status name. A leaf the driver and every contract
 * file call, so that no two of them call each other in a loop.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>

#include <ragkernel/ragkernel.h>

#include "plugin_check.h"

/* (pc_check): not the analyzer's macro of the same name (plugin_check.h) */
int (pc_check)(checker *ck, int ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        ck->pass++;
        printf("ok %s\n", name);
    } else {
        char why[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        ck->fail++;
        printf("FAIL %s: %s\n", name, why);
    }
    fflush(stdout);
    return ok;
}

const char *pc_ret(int64_t rc)
{
    static __thread char buf[4][24];
    static __thread unsigned next;
    if (rc <= 0) return rk_status_name((int)(rc < -1000 ? -1000 : rc));
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%lld", (long long)rc);
    return b;
}
