/*
 * ingest — the front of document upload: decides what an upload is,
 * extracts its text, titles it and chunks it, before anything is stored,
 * so that a file we cannot read is refused with a precise 415/422 instead
 * of being stored and silently unsearchable. PDF text comes from poppler's
 * pdftotext, run as a child process (posix_spawn, no shell, closed
 * descriptors, default signals, a private 0600 temp file as input, stdout
 * and stderr through pipes, a hard deadline and a SIGKILL after it),
 * because a PDF parser is large and crash-prone and belongs outside the
 * server's address space.
 */
#define _GNU_SOURCE
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "extract.h"

extern char **environ;

static const char T_PLAIN[] = "text/plain";
static const char T_MD[] = "text/markdown";
static const char T_HTML[] = "text/html";
static const char T_PDF[] = "application/pdf";
static const char SUPPORTED[] = "text/plain, text/markdown, text/html, application/pdf";

#define STDERR_KEEP 4096
#define MSG_KEEP 200

static const struct {
    const char *name;
    const char *type;
} known_types[] = {
    {"text/plain", T_PLAIN}, {"text/markdown", T_MD}, {"text/x-markdown", T_MD},
    {"text/html", T_HTML}, {"application/xhtml+xml", T_HTML},
    {"application/pdf", T_PDF}, {"application/x-pdf", T_PDF},
};

static const struct {
    const char *ext;
    const char *type;
} known_exts[] = {
    {"txt", T_PLAIN}, {"text", T_PLAIN}, {"md", T_MD}, {"markdown", T_MD},
    {"html", T_HTML}, {"htm", T_HTML}, {"pdf", T_PDF},
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- content type ---------------------------------------------------- */

/* "Text/HTML; charset=utf-8" -> its canonical type; NULL if unknown. */
static const char *canon_type(const char *given, size_t *len)
{
    while (*given == ' ' || *given == '\t') given++;
    size_t n = strcspn(given, "; \t");
    *len = n;
    for (size_t i = 0; i < sizeof known_types / sizeof *known_types; i++)
        if (strlen(known_types[i].name) == n && strncasecmp(given, known_types[i].name, n) == 0)
            return known_types[i].type;
    return NULL;
}

/* Type from the filename's extension; *has_ext says whether it had one. */
static const char *ext_type(const char *filename, int *has_ext)
{
    *has_ext = 0;
    if (!filename) return NULL;
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1]) return NULL;
    *has_ext = 1;
    for (size_t i = 0; i < sizeof known_exts / sizeof *known_exts; i++)
        if (strcasecmp(dot + 1, known_exts[i].ext) == 0) return known_exts[i].type;
    return NULL;
}

static const char *sniff_type(const char *d, size_t len)
{
    size_t head = len < 1024 ? len : 1024;
    if (memmem(d, head, "%PDF-", 5)) return T_PDF;
    size_t i = len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
    if ((len - i >= 14 && strncasecmp(d + i, "<!doctype html", 14) == 0) ||
        (len - i >= 5 && strncasecmp(d + i, "<html", 5) == 0))
        return T_HTML;
    return NULL;
}

const char *ingest_content_type(const char *given, const char *filename,
                                const void *data, size_t len)
{
    int has_ext;
    const char *by_ext = ext_type(filename, &has_ext);
    if (!data) data = "", len = 0;
    if (given && *given) {
        size_t n;
        const char *t = canon_type(given, &n);
        /* text/plain is what many clients send for any text file: a more
         * specific extension wins over it. */
        if (t == T_PLAIN && by_ext && by_ext != T_PDF) return by_ext;
        if (t) return t;
        if (n != 0 && !(n == 24 && strncasecmp(given + strspn(given, " \t"), "application/octet-stream", 24) == 0))
            return NULL;
    }
    if (by_ext) return by_ext;
    const char *sniffed = sniff_type(data, len);
    if (sniffed) return sniffed;
    if (!has_ext && extract_utf8_valid(data, len)) return T_PLAIN;
    return NULL;
}

/* ---- PDF through pdftotext --------------------------------------------- */

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

/* stdin from /dev/null, stdout/stderr into the pipes, nothing else open,
 * no blocked or ignored signals inherited from the server's threads. */
static int spawn(const char *prog, const char *path, int outw, int errw, pid_t *pid,
                 rk_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outw, 1);
    posix_spawn_file_actions_adddup2(&fa, errw, 2);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigemptyset(&none);
    sigemptyset(&dflt);
    int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&dflt, sigs[i]);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {(char *)prog, "-layout", "-enc", "UTF-8", (char *)path, "-", NULL};
    int e = posix_spawnp(pid, prog, &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    /* Where spawn cannot report exec errors (it may run as fork + exec,
     * e.g. under valgrind) the child exits 127 instead: child_failed(). */
    if (e == ENOENT)
        return rk_fail(err, RK_ERR_UNSUPPORTED,
                       "application/pdf needs %s (poppler-utils), which is not installed", prog);
    if (e != 0) return rk_fail(err, RK_ERR_IO, "cannot run %s: %s", prog, strerror(e));
    return RK_OK;
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
                if (out->len + (size_t)n > INGEST_MAX_TEXT)
                    return rk_fail(err, RK_ERR_TOO_LARGE, "PDF text over %u bytes", INGEST_MAX_TEXT);
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

/* pdftotext's complaint on one line, for the client's error message. */
static int child_failed(const char *prog, int st, strbuf *eb, rk_err *err)
{
    char *msg = eb->oom ? NULL : extract_normalize(sb_str(eb), eb->len, 1);
    if (msg) {
        for (char *p = msg; *p; p++)
            if (*p == '\n') *p = ' ';
        msg[extract_utf8_cut(msg, strlen(msg), MSG_KEEP)] = '\0';
    }
    int rc;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        rc = rk_fail(err, RK_ERR_UNSUPPORTED,
                     "application/pdf needs %s (poppler-utils), which could not be run", prog);
    else if (WIFEXITED(st))
        rc = rk_fail(err, RK_ERR_INVALID, "could not read the PDF (%s exit %d)%s%s", prog,
                     WEXITSTATUS(st), msg && *msg ? ": " : "", msg ? msg : "");
    else
        rc = rk_fail(err, RK_ERR_INVALID, "could not read the PDF (%s killed by signal %d)",
                     prog, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    free(msg);
    return rc;
}

int ingest_pdftotext(const char *prog, const void *data, size_t len,
                     int64_t timeout_ms, strbuf *out, rk_err *err)
{
    char path[PATH_MAX] = "";
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    pid_t pid = -1;
    strbuf eb = {0};
    int64_t deadline = mono_ms() + timeout_ms;
    int rc = write_temp(data, len, path, sizeof path, err);
    if (rc != RK_OK) goto done;
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = rk_fail(err, RK_ERR_IO, "pipe: %s", strerror(errno));
        goto done;
    }
    rc = spawn(prog, path, outp[1], errp[1], &pid, err);
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
        rc = child_failed(prog, st, &eb, err);
done:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) close(outp[i]);
        if (errp[i] >= 0) close(errp[i]);
    }
    if (path[0]) unlink(path);
    sb_free(&eb);
    return rc;
}

static int extract_pdf(const void *data, size_t len, extract_out *out, rk_err *err)
{
    strbuf raw = {0}, clean = {0};
    *out = (extract_out){0};
    int rc = ingest_pdftotext(INGEST_PDFTOTEXT, data, len, INGEST_PDF_TIMEOUT_MS, &raw, err);
    if (rc == RK_OK) {
        extract_utf8_clean(sb_str(&raw), raw.len, &clean, NULL);
        rc = extract_finish(&clean, 1, out, err); /* -layout pads with spaces */
    }
    sb_free(&raw);
    sb_free(&clean);
    return rc;
}

/* ---- the whole step ---------------------------------------------------- */

static int extract_as(const char *type, const void *data, size_t len, extract_out *ex,
                      rk_err *err)
{
    if (type == T_MD) return extract_markdown(data, len, ex, err);
    if (type == T_HTML) return extract_html(data, len, ex, err);
    if (type == T_PDF) return extract_pdf(data, len, ex, err);
    return extract_plain(data, len, ex, err);
}

static char *pick_title(char *given, const char *text, const char *filename)
{
    if (given) return given;
    char *t = extract_first_line(text);
    if (!t && filename) {
        const char *base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        t = extract_title_dup(base, strlen(base));
    }
    return t ? t : strdup("untitled");
}

int ingest_run(const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err)
{
    extract_out ex = {0};
    *out = (ingest_doc){0};
    if (!data) data = "", len = 0;
    const char *type = ingest_content_type(content_type, filename, data, len);
    if (!type) {
        const char *shown = content_type && *content_type ? content_type
                                                          : "application/octet-stream";
        return rk_fail(err, RK_ERR_UNSUPPORTED, "unsupported content type '%s'%s%s%s; supported: %s",
                       shown, filename ? " (" : "", filename ? filename : "",
                       filename ? ")" : "", SUPPORTED);
    }
    int rc = extract_as(type, data, len, &ex, err);
    if (rc != RK_OK) goto fail;
    if (strlen(ex.text) > INGEST_MAX_TEXT) {
        rc = rk_fail(err, RK_ERR_TOO_LARGE, "extracted text over %u bytes", INGEST_MAX_TEXT);
        goto fail;
    }
    if (ex.text[0] == '\0') {
        rc = rk_fail(err, RK_ERR_INVALID, "no text could be extracted");
        goto fail;
    }
    out->content_type = type;
    out->title = pick_title(ex.title, ex.text, filename);
    ex.title = NULL;
    out->text = ex.text;
    ex.text = NULL;
    if (!out->title ||
        chunk_text(out->text, strlen(out->text), CHUNK_TARGET_BYTES, CHUNK_OVERLAP_BYTES,
                   &out->chunks) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return RK_OK;
fail:
    extract_out_free(&ex);
    ingest_doc_free(out);
    return rc;
}

void ingest_doc_free(ingest_doc *d)
{
    if (!d) return;
    free(d->title);
    free(d->text);
    chunk_list_free(&d->chunks);
    *d = (ingest_doc){0};
}

int ingest_http_status(int status)
{
    switch (status) {
    case RK_OK: return 200;
    case RK_ERR_UNSUPPORTED: return 415;
    case RK_ERR_INVALID:
    case RK_ERR_TIMEOUT: return 422;
    case RK_ERR_TOO_LARGE: return 413;
    default: return 500;
    }
}
