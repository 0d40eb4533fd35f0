/*
 * test_storage_s3_outage — storage_s3.so (s3_fixture.h) through an outage:
 * with S3RVER_BIN (set by tests/integration/test_storage_s3.sh), a private
 * s3rver killed mid-put and restarted on the same data directory and port
 * must leave no partial object behind, and calls during the outage fail
 * fast naming the endpoint. Without S3RVER_BIN the case says it skipped.
 */
#include "s3_fixture.h"

/* ---- an s3rver of the test's own, to kill and restart ------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char dir[256], log[300];
} server;

static void server_start(server *s, const char *bin)
{
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        /* if this test process dies on a failed assertion, so does the server */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2);
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        execl(bin, bin, "-d", s->dir, "-a", "127.0.0.1", "-p", port, "--no-vhost-buckets",
              (char *)NULL);
        _exit(127);
    }
    int64_t deadline = clock_now_ms() + 30000;
    while (!port_open(s->port)) {
        int st;
        ck_assert_msg(waitpid(s->pid, &st, WNOHANG) == 0, "s3rver exited; see %s", s->log);
        ck_assert_msg(clock_now_ms() < deadline, "s3rver not ready in 30 s; see %s", s->log);
        usleep(100 * 1000);
    }
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

START_TEST(outage_and_restart)
{
    const char *bin = getenv("S3RVER_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        printf("test_storage_s3_outage: S3RVER_BIN not set, outage test skipped\n");
        return;
    }
    server sv = {.port = free_port()};
    ph_tmpdir(sv.dir, sizeof sv.dir);
    snprintf(sv.log, sizeof sv.log, "%s.log", sv.dir);
    server_start(&sv, bin);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", sv.port);
    ph h;
    h_open_at(&h, endpoint, 1, "max_retries: 2, timeout: 5s, connect_timeout: 2s, ");
    put_str(&h, "out", "keep", "survives the outage");
    size_t len = 12 * MiB;
    unsigned char *data = random_bytes(len);
    rk_err err = {{0}};
    /* killed while part 2 is being read: part 1 is already on the server */
    reader r = {.data = data, .len = len, .step = MiB, .kill_at = 7 * MiB, .kill_pid = sv.pid};
    int rc = put_full(&h, "out", "big", data, len, &r, &err);
    ck_assert_int_eq(r.kill_pid, 0); /* the kill happened */
    sv.pid = 0;
    expect_unreachable(rc, &err, sv.port, r.killed_ms, 10000);
    /* down: the next calls fail fast, bounded by retries, not by timeouts */
    int64_t t0 = clock_now_ms();
    rc = put_full(&h, "out", "late", "x", 1, NULL, &err);
    expect_unreachable(rc, &err, sv.port, t0, 5000);
    listing l = {0};
    t0 = clock_now_ms();
    rc = h.storage->stat(h.ctx, "out", "keep", on_meta, &l, &err);
    expect_unreachable(rc, &err, sv.port, t0, 5000);
    /* back on the same data and port: the interrupted object never appeared */
    server_start(&sv, bin);
    ck_assert_int_eq(h.storage->stat(h.ctx, "out", "big", on_meta, &l, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->stat(h.ctx, "out", "late", on_meta, &l, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(list(&h, "out", NULL, 10, &l), 1);
    ck_assert_str_eq(l.ids[0], "out/keep");
    sink s;
    ck_assert_int_eq(get_range(&h, "out", "keep", 0, 0, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, 19);
    ck_assert(memcmp(s.data, "survives the outage", 19) == 0);
    free(s.data);
    free(data);
    h_close(&h);
    server_stop(&sv);
    ck_assert_int_eq(ph_rmtree(sv.dir), 0);
    ck_assert_int_eq(ph_rmtree(sv.log), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("storage_s3_outage");
    ph_add_tcase(s, "outage", 240, NULL, NULL, PH_TESTS(outage_and_restart));
    return s;
}

int main(void)
{
    snprintf(g_bucket, sizeof g_bucket, "rk-unit-%ld", (long)getpid());
    return ph_run_suite(suite());
}
