/*
 * test_pdftext — the pdftotext child under its limits, with stand-in
 * scripts for pdftotext: a missing or relative program, a failing one, the
 * argv and stdout contract, the wall deadline (killed and reaped, no zombie
 * left), the kernel limits the child actually runs under (ulimit -v/-t/-c)
 * and its environment (PATH only: no server secrets), a memory hog stopped
 * by RLIMIT_AS with the child's peak RSS measured, and the cap on children
 * at once (the extra upload waits, then gets RK_ERR_UNAVAILABLE -> 503).
 * pdftext.c of the extract_pdf plugin is compiled into this test.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "../../../plugins/extract_pdf/pdftext.c"
#include "testenv.h"
#include "tmpdir.h"

#define ck_has(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "missing '%s' in:\n%s", (needle), (hay))

/* A stand-in for pdftotext: a script in a fresh temp dir. */
static void write_script(char *path, size_t cap, const char *body)
{
    char dir[200];
    ph_tmpdir(dir, sizeof dir);
    snprintf(path, cap, "%s/pdftotext", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0700);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
}

static pdftext_limits lim_for(const char *prog, int64_t timeout_ms)
{
    return (pdftext_limits){.prog = prog, .timeout_ms = timeout_ms,
                            .max_memory = 512LL << 20, .max_parallel = 2,
                            .queue_timeout_ms = 1000};
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No child of this test process is left, zombie or not. */
static void ck_no_children(void)
{
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(pdftext_running(), 0);
}

START_TEST(failures)
{
    char path[256];
    strbuf out = {0};
    rk_err err = {{0}};
    pdftext_limits l = lim_for("/nonexistent/pdftotext", 1000);
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_UNSUPPORTED);
    ck_has(err.msg, "/nonexistent/pdftotext");
    ck_has(err.msg, "No such file");
    ck_assert_int_eq(ingest_http_status(RK_ERR_UNSUPPORTED), 415);
    l.prog = "pdftotext"; /* never looked up in PATH */
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_INVALID);
    ck_has(err.msg, "absolute");

    write_script(path, sizeof path, "#!/bin/sh\necho 'Syntax Error: broken xref' >&2\nexit 3\n");
    l = lim_for(path, 5000);
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_INVALID);
    ck_has(err.msg, "exit 3");
    ck_has(err.msg, "broken xref");
    ck_no_children();
}
END_TEST

START_TEST(argv_and_stdout)
{
    char path[256];
    strbuf out = {0};
    rk_err err = {{0}};
    write_script(path, sizeof path,
                 "#!/bin/sh\n[ \"$1 $2 $3 $5\" = \"-layout -enc UTF-8 -\" ] || exit 9\ncat \"$4\"\n");
    pdftext_limits l = lim_for(path, 5000);
    ck_assert_int_eq(pdftext_run(&l, "hello pdf", 9, &out, &err), RK_OK);
    ck_assert_str_eq(sb_str(&out), "hello pdf");
    sb_free(&out);
    ck_no_children();
}
END_TEST

START_TEST(deadline_kills_and_reaps)
{
    char path[256];
    strbuf out = {0};
    rk_err err = {{0}};
    write_script(path, sizeof path, "#!/bin/sh\nexec sleep 30\n");
    pdftext_limits l = lim_for(path, 300);
    double t0 = now_s();
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_TIMEOUT);
    double secs = now_s() - t0;
    ck_assert_msg(secs < 5.0, "timeout took %.1f s", secs);
    ck_assert_int_eq(ingest_http_status(RK_ERR_TIMEOUT), 422);
    ck_no_children();
}
END_TEST

START_TEST(child_limits_and_environment)
{
    char path[256];
    strbuf out = {0};
    rk_err err = {{0}};
    setenv("RK_TEST_SECRET", "sk-do-not-leak", 1);
    write_script(path, sizeof path,
                 "#!/bin/sh\necho \"as=$(ulimit -v) cpu=$(ulimit -t) core=$(ulimit -c)\"\n"
                 "env | grep -v '^PWD=' | sort | tr '\\n' ' '\n");
    pdftext_limits l = lim_for(path, 2500);
    l.max_memory = 256LL << 20;
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_OK);
    ck_has(sb_str(&out), "as=262144 cpu=3 core=0"); /* KiB; seconds rounded up */
    ck_has(sb_str(&out), "PATH=/usr/bin:/bin");
    ck_assert_msg(strstr(sb_str(&out), "sk-do-not-leak") == NULL, "secret leaked: %s",
                  sb_str(&out));
    ck_assert_msg(strstr(sb_str(&out), "HOME=") == NULL, "environment: %s", sb_str(&out));
    sb_free(&out);
    ck_no_children();
}
END_TEST

/* A "PDF" that makes the reader grow without end (a decompression bomb
 * does that to poppler): it touches 1 MB more at every step, up to 1 GB. */
START_TEST(memory_hog_is_stopped)
{
    char path[256];
    strbuf out = {0};
    rk_err err = {{0}};
    write_script(path, sizeof path,
                 "#!/bin/sh\nexec python3 -c '\nl = []\nfor i in range(1024):\n"
                 "    l.append(b\"x\" * (1 << 20))\n'\n");
    pdftext_limits l = lim_for(path, 20000);
    l.max_memory = 128LL << 20;
    double t0 = now_s();
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_INVALID);
    double secs = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    fprintf(stderr, "memory hog: %s; peak RSS of the child %ld MB, %.2f s\n", err.msg,
            ru.ru_maxrss / 1024, secs);
    ck_has(err.msg, "MemoryError");
    ck_assert_msg(ru.ru_maxrss < 160 * 1024, "child peak RSS %ld KB", ru.ru_maxrss);
    ck_assert_msg(secs < 10.0, "took %.1f s", secs);
    ck_no_children();
}
END_TEST

typedef struct slow_call {
    pdftext_limits lim;
    int rc;
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *c = arg;
    strbuf out = {0};
    rk_err err = {{0}};
    c->rc = pdftext_run(&c->lim, "x", 1, &out, &err);
    sb_free(&out);
    return NULL;
}

START_TEST(parallel_cap)
{
    char path[256];
    write_script(path, sizeof path, "#!/bin/sh\nsleep 2\necho slow\n");
    slow_call c = {.lim = lim_for(path, 20000)};
    c.lim.max_parallel = 1;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_thread, &c), 0);
    double t0 = now_s();
    while (pdftext_running() == 0 && now_s() - t0 < 5) usleep(10 * 1000);
    ck_assert_int_eq(pdftext_running(), 1);

    strbuf out = {0};
    rk_err err = {{0}};
    pdftext_limits l = c.lim;
    l.queue_timeout_ms = 300;
    t0 = now_s();
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_ERR_UNAVAILABLE);
    double waited = now_s() - t0;
    ck_assert_msg(waited >= 0.25 && waited < 1.9, "waited %.2f s", waited);
    ck_has(err.msg, "try again later");
    ck_assert_int_eq(ingest_http_status(RK_ERR_UNAVAILABLE), 503);

    /* a longer wait gets the slot once the first child is done */
    l.queue_timeout_ms = 10000;
    ck_assert_int_eq(pdftext_run(&l, "x", 1, &out, &err), RK_OK);
    ck_has(sb_str(&out), "slow");
    pthread_join(th, NULL);
    ck_assert_int_eq(c.rc, RK_OK);
    sb_free(&out);
    ck_no_children();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pdftext");
    ph_add_tcase(s, "child", 60, NULL, NULL,
                 PH_TESTS(failures, argv_and_stdout, deadline_kills_and_reaps,
                          child_limits_and_environment, memory_hog_is_stopped, parallel_cap));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
