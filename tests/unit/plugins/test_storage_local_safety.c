/*
 * test_storage_local_safety — storage_local.so (sl_fixture.h) where it
 * must not lose or leak data: ids that try to leave the root, failed puts
 * (aborted body, wrong size) that must leave the old version and no
 * temporary file, tenant isolation, remove, concurrent puts of one id, and
 * the start-up repair of puts a crash interrupted. Run from the repository
 * root (BUILD defaults to "build").
 */
#include "sl_fixture.h"

START_TEST(traversal_rejected)
{
    ph h;
    h_open(&h);
    put_str(&h, "acme", "ok", "fine");
    const char *bad[] = {"../x", "..", ".", "a/b", "", ".hidden", "a b", "x\\y",
                         "ä", "a\nb",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */};
    rk_err err = {{0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = put_bytes(&h, "acme", bad[i], "evil", 4, &err);
        ck_assert_msg(rc == RK_ERR_INVALID, "id '%s' accepted by put (%d)", bad[i], rc);
        ck_assert_int_eq(put_bytes(&h, bad[i], "x", "evil", 4, &err), RK_ERR_INVALID);
        sink s = {0};
        ck_assert_int_eq(h.storage->get(h.ctx, "acme", bad[i], 0, 0, write_body, &s, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->get(h.ctx, bad[i], "ok", 0, 0, write_body, &s, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->stat(h.ctx, "acme", bad[i], on_meta_strings, NULL, &err),
                         RK_ERR_INVALID);
        ck_assert_int_eq(h.storage->remove(h.ctx, "acme", bad[i], &err), RK_ERR_INVALID);
        ck_assert_int_eq(
            h.storage->list(h.ctx, bad[i], NULL, 10, on_meta_strings, NULL, &err),
            RK_ERR_INVALID);
    }
    ck_assert_int_eq(put_bytes(&h, NULL, "x", "evil", 4, &err), RK_ERR_INVALID);
    /* exactly 64 is allowed */
    put_str(&h, "acme", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ok");
    /* nothing was written next to the root */
    char p[512];
    snprintf(p, sizeof p, "%s/x.blob", g_tmp);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/x.meta.json", g_tmp);
    ck_assert_int_ne(access(p, F_OK), 0);
    ph_close(&h);
}
END_TEST

START_TEST(failed_put_keeps_old)
{
    ph h;
    h_open(&h);
    put_str(&h, "acme", "doc", "version one");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    size_t len = 300000;
    unsigned char *big = malloc(len);
    memset(big, 'N', len);
    rk_err err = {{0}};
    /* the body source aborts halfway */
    rk_doc_meta m = meta_of("acme", "doc", len);
    reader r = {.data = big, .len = len, .abort_at = 150000};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r, &err), RK_ERR_CANCELLED);
    /* the body is shorter than declared */
    m.size = len + 10;
    reader r2 = {.data = big, .len = len};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r2, &err), RK_ERR_INVALID);
    /* the body is longer than declared */
    m.size = 100;
    reader r3 = {.data = big, .len = len};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r3, &err), RK_ERR_INVALID);
    /* the metadata cannot be written (not UTF-8) */
    m = meta_of("acme", "doc", 5);
    m.filename = "bad\xff\xfe.txt";
    reader r5 = {.data = (const unsigned char *)"new!!", .len = 5};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r5, &err), RK_ERR_INVALID);
    int rc;
    char *got = get_str(&h, "acme", "doc", &rc);
    ck_assert_int_eq(rc, RK_OK);
    ck_assert_str_eq(got, "version one");
    free(got);
    char out[256] = "";
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "doc", on_meta_strings, out, &err), RK_OK);
    ck_assert_str_eq(out + strlen(out) - 3, "|11");
    ck_assert_int_eq(count_hidden(dir), 0);
    /* a failed first put of a new id leaves no object at all */
    m = meta_of("acme", "fresh", len);
    reader r4 = {.data = big, .len = len, .abort_at = 70000};
    ck_assert_int_eq(h.storage->put(h.ctx, &m, read_body, &r4, &err), RK_ERR_CANCELLED);
    ck_assert_ptr_null(get_str(&h, "acme", "fresh", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(count_hidden(dir), 0);
    /* and a successful overwrite replaces both blob and meta */
    put_str(&h, "acme", "doc", "v2");
    got = get_str(&h, "acme", "doc", &rc);
    ck_assert_str_eq(got, "v2");
    free(got);
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "doc", on_meta_strings, out, &err), RK_OK);
    ck_assert_str_eq(out + strlen(out) - 2, "|2");
    ck_assert_int_eq(count_hidden(dir), 0);
    free(big);
    ph_close(&h);
}
END_TEST

START_TEST(tenant_isolation_and_remove)
{
    ph h;
    h_open(&h);
    put_str(&h, "alice", "doc", "alice's secret");
    int rc;
    rk_err err = {{0}};
    ck_assert_ptr_null(get_str(&h, "bob", "doc", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->stat(h.ctx, "bob", "doc", on_meta_strings, NULL, &err),
                     RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->remove(h.ctx, "bob", "doc", &err), RK_ERR_NOT_FOUND);
    seen s = {0};
    ck_assert_int_eq(h.storage->list(h.ctx, "bob", NULL, 10, on_meta, &s, &err), 0);
    /* bob's own doc with the same id is a different object */
    put_str(&h, "bob", "doc", "bob's");
    char *got = get_str(&h, "alice", "doc", &rc);
    ck_assert_str_eq(got, "alice's secret");
    free(got);
    ck_assert_int_eq(h.storage->remove(h.ctx, "alice", "doc", &err), RK_OK);
    ck_assert_ptr_null(get_str(&h, "alice", "doc", &rc));
    ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.storage->remove(h.ctx, "alice", "doc", &err), RK_ERR_NOT_FOUND);
    got = get_str(&h, "bob", "doc", &rc);
    ck_assert_str_eq(got, "bob's");
    free(got);
    char p[512];
    snprintf(p, sizeof p, "%s/alice/doc.blob", g_root);
    ck_assert_int_ne(access(p, F_OK), 0);
    ph_close(&h);
}
END_TEST

/* Four threads overwrite one id; afterwards blob and meta must agree. */
typedef struct writer_arg {
    ph *h;
    char fill;
    int failures;
} writer_arg;

static void *writer_run(void *p)
{
    writer_arg *a = p;
    size_t len = 1000 + (size_t)(a->fill - 'a') * 5000;
    unsigned char *data = malloc(len);
    memset(data, a->fill, len);
    for (int i = 0; i < 20; i++) {
        rk_err err;
        a->failures += put_bytes(a->h, "acme", "shared", data, len, &err) != RK_OK;
    }
    free(data);
    return NULL;
}

static void on_size(void *ud, const rk_doc_meta *m)
{
    *(uint64_t *)ud = m->size;
}

START_TEST(concurrent_puts)
{
    ph h;
    h_open(&h);
    writer_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg){&h, (char)('a' + i), 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer_run, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    rk_err err = {{0}};
    uint64_t size = 0;
    ck_assert_int_eq(h.storage->stat(h.ctx, "acme", "shared", on_size, &size, &err), RK_OK);
    sink s = {0};
    ck_assert_int_eq(h.storage->get(h.ctx, "acme", "shared", 0, 0, write_body, &s, &err), RK_OK);
    ck_assert_uint_eq(s.len, size);
    for (size_t i = 1; i < s.len; i++)
        ck_assert_int_eq(s.data[i], s.data[0]); /* one writer's content, whole */
    ck_assert_uint_eq(s.len, 1000 + (size_t)(s.data[0] - 'a') * 5000);
    free(s.data);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    ck_assert_int_eq(count_hidden(dir), 0);
    ph_close(&h);
}
END_TEST

/* ---- start-up repair after a crash ------------------------------------ */

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/acme/%s", g_root, name);
}

static void must(int ok, const char *what)
{
    ck_assert_msg(ok, "%s: %s", what, strerror(errno));
}

/* A run that dies: stores what the crash states below are made of, in a
 * child process (the plugin judges files against its first create in the
 * process that repairs). */
static void previous_run(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ph h;
        h_open(&h);
        put_str(&h, "acme", "cut-before-meta", "old bytes of b");
        put_str(&h, "acme", "cut-after-meta", "old bytes of d");
        put_str(&h, "acme", "scratch", "new bytes of d, longer");
        put_str(&h, "acme", "scratch2", "new bytes of b");
        _exit(0); /* no destroy: a crash */
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* What commit() leaves when killed: both backups linked, the new blob
 * renamed into place, and (with_meta) the new meta too. */
static void cut_commit(const char *id, const char *src, int with_meta)
{
    char a[512], b[512], n1[128], n2[128];
    snprintf(n1, sizeof n1, "%s.meta.json", id);
    snprintf(n2, sizeof n2, ".%s.meta.previous", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(link(a, b) == 0, "link meta backup");
    snprintf(n1, sizeof n1, "%s.blob", id);
    snprintf(n2, sizeof n2, ".%s.blob.previous", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(link(a, b) == 0, "link blob backup");
    snprintf(n1, sizeof n1, "%s.blob", src);
    path_of(b, sizeof b, n1);
    must(rename(b, a) == 0, "rename new blob");
    snprintf(n1, sizeof n1, "%s.meta.json", src);
    snprintf(n2, sizeof n2, "%s.meta.json", id);
    path_of(a, sizeof a, n1);
    path_of(b, sizeof b, n2);
    must(with_meta ? rename(a, b) == 0 : unlink(a) == 0, "new meta");
}

static void write_file(const char *name, size_t len)
{
    char p[512];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        fputc('x', f);
    fclose(f);
}

static void expect_doc(ph *h, const char *id, const char *text)
{
    int rc;
    rk_err err = {{0}};
    char out[256] = "", want[32];
    char *got = get_str(h, "acme", id, &rc);
    ck_assert_msg(rc == RK_OK, "get %s: %d", id, rc);
    ck_assert_str_eq(got, text);
    free(got);
    ck_assert_int_eq(h->storage->stat(h->ctx, "acme", id, on_meta_strings, out, &err), RK_OK);
    snprintf(want, sizeof want, "|%zu", strlen(text));
    ck_assert_str_eq(out + strlen(out) - strlen(want), want);
}

START_TEST(restart_repairs_interrupted_puts)
{
    char dir[512], p[512];
    previous_run();
    cut_commit("cut-before-meta", "scratch2", 0); /* killed between the renames */
    cut_commit("cut-after-meta", "scratch", 1);   /* killed before the cleanup */
    write_file(".cut-before-meta.Ab12Cd", 2 << 20); /* a staging file, 2 MiB */
    write_file("orphan.blob", 10);                 /* a first put cut before its meta */
    usleep(50 * 1000); /* past the coarse clock's tick */
    ph h;
    h_open(&h);
    snprintf(dir, sizeof dir, "%s/acme", g_root);
    ck_assert_int_eq(count_hidden(dir), 0);
    path_of(p, sizeof p, "orphan.blob");
    ck_assert_int_ne(access(p, F_OK), 0);
    expect_doc(&h, "cut-before-meta", "old bytes of b"); /* never committed: the old one */
    expect_doc(&h, "cut-after-meta", "new bytes of d, longer"); /* committed: the new one */
    /* files of this process (a live put during a reload) are left alone:
     * the same root is not repaired twice ... */
    write_file(".live.Zz99Yy", 10);
    ph h2;
    h_open(&h2);
    ck_assert_int_eq(count_hidden(dir), 1);
    ph_close(&h2);
    /* ... and in a root seen for the first time, files newer than the
     * process's first create are not touched */
    char root2[400], yaml[600], cmd[1000];
    snprintf(root2, sizeof root2, "%s/docs2/acme", g_tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && touch '%s/.live.Yy88Xx'", root2, root2);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(yaml, sizeof yaml, "{root: \"%s/docs2\"}", g_tmp);
    ph_open(&h2, "storage_local", RK_KIND_STORAGE, "docs2", yaml);
    ck_assert_int_eq(count_hidden(root2), 1);
    ph_close(&h2);
    ph_close(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("storage_local_safety");
    ph_add_tcase(s, "safety", 120, setup, teardown,
                 PH_TESTS(traversal_rejected, failed_put_keeps_old,
                          tenant_isolation_and_remove, concurrent_puts,
                          restart_repairs_interrupted_puts));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
