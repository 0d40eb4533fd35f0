/*
 * pdftext — runs pdftotext for one PDF upload. A PDF parser is large and
 * crash-prone and a PDF is attacker-controlled (a 469 KB upload once grew
 * the child to 1.2 GB), so it runs outside the server's address space and
 * under limits the kernel enforces: RLIMIT_AS (memory), RLIMIT_CPU (the
 * ingest budget in seconds; SIGXCPU, then SIGKILL one second later) and no
 * core file, set in the child between fork and exec, where only
 * async-signal-safe calls are made. posix_spawn cannot set limits and
 * prlimit after spawning races the child's first allocations, hence fork.
 * The program is executed by absolute path with an environment of PATH
 * alone, so neither PATH nor the server's secrets (API keys often come in
 * through the environment) reach it. A wall-clock deadline kills and reaps
 * it; a process-wide count of running children (a mutex and a condition
 * on the monotonic clock) keeps a burst of uploads from starting more of
 * them than configured: the rest wait a bounded time, then give up as
 * "unavailable" (503), never as a queue that grows with the burst.
 */
#define _GNU_SOURCE
#include "pdftext.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "textnorm.h"

#define STDERR_KEEP 4096
#define MSG_KEEP 200
#define CHILD_PATH "PATH=/usr/bin:/bin"

static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cv;
static int slots_used;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- how many children at once --------------------------------------- */

static void slots_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&slots_cv, &a);
    pthread_condattr_destroy(&a);
}

static int slot_take(const pdftext_limits *lim, int64_t deadline, rk_err *err)
{
    pthread_once(&slots_once, slots_init);
    int64_t until = mono_ms() + (lim->queue_timeout_ms > 0 ? lim->queue_timeout_ms : 0);
    if (until > deadline) until = deadline;
    struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
    int cap = lim->max_parallel, w = 0;
    pthread_mutex_lock(&slots_mu);
    while (cap > 0 && slots_used >= cap && w != ETIMEDOUT)
        w = pthread_cond_timedwait(&slots_cv, &slots_mu, &ts);
    int got = cap <= 0 || slots_used < cap;
    slots_used += got;
    pthread_mutex_unlock(&slots_mu);
    if (got) return RK_OK;
    return rk_fail(err, RK_ERR_UNAVAILABLE,
                   "%d PDF extractions are already running (the configured maximum) and "
                   "none finished within %lld ms; try again later",
                   cap, (long long)(lim->queue_timeout_ms > 0 ? lim->queue_timeout_ms : 0));
}

static void slot_give(void)
{
    pthread_mutex_lock(&slots_mu);
    slots_used--;
    pthread_cond_broadcast(&slots_cv); /* the cap may differ between waiters */
    pthread_mutex_unlock(&slots_mu);
}

int pdftext_running(void)
{
    pthread_mutex_lock(&slots_mu);
    int n = slots_used;
    pthread_mutex_unlock(&slots_mu);
    return n;
}

/* ---- the child --------------------------------------------------------- */

static int write_temp(const void *data, size_t len, char *path, size_t cap, rk_err *err)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/rk-pdf-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        path[0] = '\0';
        return rk_fail(err, RK_ERR_IO, "temp file: %s", strerror(e));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            close(fd);
            return rk_fail(err, RK_ERR_IO, "temp file %s: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0) return rk_fail(err, RK_ERR_IO, "temp file %s: %s", path, strerror(errno));
    return RK_OK;
}

/* setrlimit, never above the hard limit the server itself runs under
 * (raising it needs privileges). Async-signal-safe. */
static int limit(int res, rlim_t soft, rlim_t hard)
{
    struct rlimit cur;
    if (getrlimit(res, &cur) != 0) return -1;
    if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max) hard = cur.rlim_max;
    if (soft > hard) soft = hard;
    struct rlimit r = {soft, hard};
    return setrlimit(res, &r);
}

/* The exec's errno goes to the parent through `report`, then exit 127. */
__attribute__((noreturn)) static void child_fail(int report)
{
    int e = errno;
    ssize_t w = write(report, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Between fork and exec: async-signal-safe calls only (other threads'
 * locks may be held forever in this copy of the process). */
__attribute__((noreturn)) static void child_exec(const pdftext_limits *lim, char *const argv[],
                                                 int outw, int errw, int report)
{
    static char path_var[] = CHILD_PATH;
    char *envp[] = {path_var, NULL};
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL); /* SIGPIPE is ignored in here */
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(outw, 1) < 0 || dup2(errw, 2) < 0) child_fail(report);
    rlim_t cpu = (rlim_t)((lim->timeout_ms + 999) / 1000);
    if (cpu < 1) cpu = 1;
    if ((lim->max_memory > 0 &&
         limit(RLIMIT_AS, (rlim_t)lim->max_memory, (rlim_t)lim->max_memory) != 0) ||
        limit(RLIMIT_CPU, cpu, cpu + 1) != 0 || limit(RLIMIT_CORE, 0, 0) != 0)
        child_fail(report);
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) /* kernels before 5.11 */
        for (int i = 3; i < 65536; i++)
            if (i != report) close(i);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(lim->prog, argv, envp);
    child_fail(report);
}

/* fork + exec with every signal blocked around the fork, so no handler of
 * the server runs in the child; waits until exec succeeded or failed. */
static int spawn(const pdftext_limits *lim, const char *path, int outw, int errw, pid_t *pid,
                 rk_err *err)
{
    int rep[2];
    if (pipe2(rep, O_CLOEXEC) != 0) return rk_fail(err, RK_ERR_IO, "pipe: %s", strerror(errno));
    char *argv[] = {(char *)lim->prog, "-layout", "-enc", "UTF-8", (char *)path, "-", NULL};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t p = fork();
    if (p == 0) child_exec(lim, argv, outw, errw, rep[1]);
    int fe = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(rep[1]);
    if (p < 0) {
        close(rep[0]);
        return rk_fail(err, RK_ERR_IO, "cannot start %s: %s", lim->prog, strerror(fe));
    }
    int e = 0;
    ssize_t n;
    do n = read(rep[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(rep[0]);
    if (n != (ssize_t)sizeof e) { /* EOF: the exec closed the pipe */
        *pid = p;
        return RK_OK;
    }
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
    if (e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR)
        return rk_fail(err, RK_ERR_UNSUPPORTED,
                       "application/pdf needs %s (poppler-utils), which cannot be run: %s",
                       lim->prog, strerror(e));
    return rk_fail(err, RK_ERR_IO, "cannot run %s: %s", lim->prog, strerror(e));
}

/* Read stdout into out and the start of stderr into eb until both close. */
static int drain(int ofd, int efd, int64_t deadline, strbuf *out, strbuf *eb, rk_err *err)
{
    struct pollfd p[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
    char buf[65536];
    for (int open = 2; open > 0;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) return rk_fail(err, RK_ERR_TIMEOUT, "PDF text extraction timed out");
        int r = poll(p, 2, left > INT_MAX ? INT_MAX : (int)left);
        if (r < 0 && errno != EINTR) return rk_fail(err, RK_ERR_IO, "poll: %s", strerror(errno));
        for (int i = 0; r > 0 && i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                p[i].fd = -1; /* poll skips negative descriptors */
                open--;
            } else if (i == 0) {
                if (out->len + (size_t)n > PDFTEXT_MAX_TEXT)
                    return rk_fail(err, RK_ERR_TOO_LARGE, "PDF text over %u bytes",
                                   PDFTEXT_MAX_TEXT);
                sb_append(out, buf, (size_t)n);
            } else if (eb->len < STDERR_KEEP) {
                size_t room = STDERR_KEEP - eb->len;
                sb_append(eb, buf, (size_t)n < room ? (size_t)n : room);
            }
        }
    }
    return out->oom ? rk_fail(err, RK_ERR_NOMEM, "out of memory") : RK_OK;
}

/* Reap the child by the deadline; past it (or if kill_now), SIGKILL. */
static int reap(pid_t pid, int64_t deadline, int kill_now)
{
    int st = 0;
    if (kill_now) kill(pid, SIGKILL);
    for (;;) {
        pid_t r = waitpid(pid, &st, kill_now ? 0 : WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if (r == 0 && mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            kill_now = 1;
        } else if (r == 0) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* The child's complaint on one line, for the client's error message; a
 * death by a limit says which. */
static int child_failed(const pdftext_limits *lim, int st, strbuf *eb, rk_err *err)
{
    char *msg = eb->oom ? NULL : tn_normalize(sb_str(eb), eb->len, 1);
    if (msg) {
        for (char *p = msg; *p; p++)
            if (*p == '\n') *p = ' ';
        msg[tn_utf8_cut(msg, strlen(msg), MSG_KEEP)] = '\0';
    }
    const char *sep = msg && *msg ? ": " : "", *m = msg ? msg : "";
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0, rc;
    long long mb = (long long)(lim->max_memory >> 20);
    if (WIFEXITED(st))
        rc = rk_fail(err, RK_ERR_INVALID, "could not read the PDF (%s exit %d)%s%s", lim->prog,
                     WEXITSTATUS(st), sep, m);
    else if (sig == SIGXCPU || sig == SIGKILL)
        rc = rk_fail(err, RK_ERR_INVALID,
                     "could not read the PDF: %s used up its CPU time limit (%lld s)",
                     lim->prog, (long long)((lim->timeout_ms + 999) / 1000));
    else if (lim->max_memory > 0 && (sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS))
        rc = rk_fail(err, RK_ERR_INVALID,
                     "could not read the PDF: %s died of signal %d (%s), most likely at its "
                     "memory limit (%lld MB)%s%s", lim->prog, sig, strsignal(sig), mb, sep, m);
    else
        rc = rk_fail(err, RK_ERR_INVALID, "could not read the PDF (%s killed by signal %d)%s%s",
                     lim->prog, sig, sep, m);
    free(msg);
    return rc;
}

/* Everything after the slot was taken; the temp file and pipes are ours. */
static int run_child(const pdftext_limits *lim, const void *data, size_t len, int64_t deadline,
                     strbuf *out, rk_err *err)
{
    char path[PATH_MAX] = "";
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    pid_t pid = -1;
    strbuf eb = {0};
    int rc = write_temp(data, len, path, sizeof path, err);
    if (rc != RK_OK) goto done;
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = rk_fail(err, RK_ERR_IO, "pipe: %s", strerror(errno));
        goto done;
    }
    rc = spawn(lim, path, outp[1], errp[1], &pid, err);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    if (rc != RK_OK) goto done;
    rc = drain(outp[0], errp[0], deadline, out, &eb, err);
    int st = reap(pid, deadline, rc != RK_OK);
    if (rc == RK_OK && st == -1)
        rc = rk_fail(err, RK_ERR_IO, "waitpid: %s", strerror(errno));
    else if (rc == RK_OK && mono_ms() >= deadline && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        rc = rk_fail(err, RK_ERR_TIMEOUT, "PDF text extraction timed out");
    else if (rc == RK_OK && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        rc = child_failed(lim, st, &eb, err);
done:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) close(outp[i]);
        if (errp[i] >= 0) close(errp[i]);
    }
    if (path[0]) unlink(path);
    sb_free(&eb);
    return rc;
}

int pdftext_run(const pdftext_limits *lim, const void *data, size_t len, strbuf *out,
                rk_err *err)
{
    if (!lim || !lim->prog || lim->prog[0] != '/')
        return rk_fail(err, RK_ERR_INVALID, "the pdftotext path must be absolute, got '%s'",
                       lim && lim->prog ? lim->prog : "(none)");
    int64_t deadline = mono_ms() + lim->timeout_ms;
    int rc = slot_take(lim, deadline, err);
    if (rc != RK_OK) return rc;
    rc = run_child(lim, data, len, deadline, out, err);
    slot_give();
    return rc;
}
