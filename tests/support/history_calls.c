/*
 * history_calls — the history tests (SQLite and PostgreSQL) check the same
 * contract, so they read conversations back the same way: as one text of
 * "role:content" lines that a single string comparison can check, order
 * included.
 */
#define _GNU_SOURCE
#include "history_calls.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

void ph_hist_on_msg(void *ud, const rk_history_entry *e)
{
    ph_loaded *l = ud;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s:%s\n", e->role, e->content);
    if (l->n++ == 0)
        l->first_ms = e->created_ms;
}

int ph_hist_load(ph *h, const char *tenant, const char *conv, size_t max, ph_loaded *l)
{
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    return h->history->load(h->ctx, tenant, conv, max, ph_hist_on_msg, l, &err);
}

void ph_hist_append(ph *h, const char *tenant, const char *conv, const rk_message *m,
                    size_t n)
{
    rk_err err = {{0}};
    int rc = h->history->append(h->ctx, tenant, conv, m, n, &err);
    ck_assert_msg(rc == RK_OK, "append: %s", err.msg);
}

/* ---- list and remove (1.1) ---------------------------------------------- */

typedef struct conv_page {
    char ids[8][40];
    uint64_t msgs[8];
    int64_t created[8], updated[8];
    int n;
} conv_page;

static void on_conv(void *ud, const rk_conv_info *c)
{
    conv_page *p = ud;
    if (p->n < 8) {
        snprintf(p->ids[p->n], sizeof p->ids[0], "%s", c->id);
        p->msgs[p->n] = c->messages;
        p->created[p->n] = c->created_ms;
        p->updated[p->n] = c->updated_ms;
    }
    p->n++;
}

static int64_t list_page(ph *h, const char *tenant, const char *after, size_t limit,
                         conv_page *p)
{
    rk_err err = {{0}};
    memset(p, 0, sizeof *p);
    int64_t n = h->history->list(h->ctx, tenant, after, limit, on_conv, p, &err);
    ck_assert_msg(n >= 0, "list: %s", err.msg);
    ck_assert_int_eq(n, p->n);
    return n;
}

void ph_hist_list_remove(ph *h)
{
    static const rk_message two[] = {{"user", "hello"}, {"assistant", "hi"}};
    ck_assert(RK_HAS_FIELD(h->history, rk_history_vtable, remove));
    ck_assert_ptr_nonnull(h->history->list);
    ck_assert_ptr_nonnull(h->history->remove);
    /* ids in byte order, whatever order they were written in */
    ph_hist_append(h, "ta", "b-conv", two, 2);
    ph_hist_append(h, "ta", "a-conv", two, 1);
    ph_hist_append(h, "ta", "C-conv", two, 2);
    ph_hist_append(h, "tb", "a-conv", two, 2);
    conv_page p;
    ck_assert_int_eq(list_page(h, "ta", NULL, 10, &p), 3);
    ck_assert_str_eq(p.ids[0], "C-conv");
    ck_assert_str_eq(p.ids[1], "a-conv");
    ck_assert_str_eq(p.ids[2], "b-conv");
    ck_assert_uint_eq(p.msgs[1], 1);
    ck_assert_uint_eq(p.msgs[2], 2);
    ck_assert(p.created[0] > 1600000000000LL && p.updated[0] >= p.created[0]);
    /* pages after a cursor */
    ck_assert_int_eq(list_page(h, "ta", NULL, 2, &p), 2);
    ck_assert_int_eq(list_page(h, "ta", "a-conv", 2, &p), 1);
    ck_assert_str_eq(p.ids[0], "b-conv");
    ck_assert_int_eq(list_page(h, "ta", "b-conv", 2, &p), 0);
    ck_assert_int_eq(list_page(h, "nobody", NULL, 5, &p), 0);
    /* remove: one tenant's only, then not found */
    rk_err err = {{0}};
    ck_assert_int_eq(h->history->remove(h->ctx, "tb", "b-conv", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h->history->remove(h->ctx, "ta", "a-conv", &err), RK_OK);
    ck_assert_int_eq(h->history->remove(h->ctx, "ta", "a-conv", &err), RK_ERR_NOT_FOUND);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(h, "ta", "a-conv", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(ph_hist_load(h, "tb", "a-conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(list_page(h, "ta", NULL, 10, &p), 2);
    /* a removed conversation written again starts empty */
    ph_hist_append(h, "ta", "a-conv", two + 1, 1);
    ck_assert_int_eq(ph_hist_load(h, "ta", "a-conv", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:hi\n");
}

/* What key_list returned, as "id tenant sha256-prefix scopes revoked" lines. */
typedef struct keys_seen {
    char text[4096];
    int n;
    int64_t revoked_ms, prev_until_ms;
    char prev[65];
} keys_seen;

static void on_key(void *ud, const rk_history_key *k)
{
    keys_seen *s = ud;
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, "%s %s %s %.8s %u %lld %lld\n", k->id,
             k->name, k->tenant, k->sha256, k->scopes, (long long)k->requests_per_min,
             (long long)k->expires_ms);
    s->n++;
    if (strcmp(k->id, "key_a") == 0) {
        s->revoked_ms = k->revoked_ms;
        s->prev_until_ms = k->prev_until_ms;
        snprintf(s->prev, sizeof s->prev, "%s", k->prev_sha256 ? k->prev_sha256 : "");
    }
}

static void list_into(ph *h, const char *tenant, keys_seen *s)
{
    memset(s, 0, sizeof *s);
    rk_err err = {{0}};
    int rc = h->history->key_list(h->ctx, tenant, on_key, s, &err);
    ck_assert_msg(rc == RK_OK, "key_list: %s", err.msg);
}

void ph_hist_keys_contract(ph *a, ph *b)
{
    const rk_history_vtable *vt = a->history;
    ck_assert(RK_HAS_FIELD(vt, rk_history_vtable, key_revoke) && vt->key_put && vt->key_list &&
              vt->key_revoke);
    static const char h1[] = "1111111111111111111111111111111111111111111111111111111111111111";
    static const char h2[] = "2222222222222222222222222222222222222222222222222222222222222222";
    rk_history_key k = {.struct_size = sizeof k, .id = "key_a", .name = "bot", .tenant = "acme",
                        .sha256 = h1, .scopes = RK_SCOPE_CHAT, .requests_per_min = 60,
                        .created_ms = 1000, .expires_ms = 5000, .updated_ms = 1000};
    rk_err err = {{0}};
    ck_assert_int_eq(vt->key_put(a->ctx, &k, &err), RK_OK);
    rk_history_key k2 = k;
    k2.id = "key_b";
    k2.tenant = "beta";
    k2.name = "it's \"quoted\"; DROP TABLE x; --";
    ck_assert_int_eq(vt->key_put(a->ctx, &k2, &err), RK_OK);
    keys_seen s;
    list_into(b, NULL, &s);
    ck_assert_int_eq(s.n, 2);
    ck_assert_ptr_nonnull(strstr(s.text, "key_a bot acme 11111111 1 60 5000\n"));
    ck_assert_ptr_nonnull(strstr(s.text, "key_b it's \"quoted\"; DROP TABLE x; -- beta"));
    list_into(b, "beta", &s);
    ck_assert_int_eq(s.n, 1);
    ck_assert_ptr_nonnull(strstr(s.text, "key_b "));
    /* replace by id: a rotation with a grace */
    k.sha256 = h2;
    k.prev_sha256 = h1;
    k.prev_until_ms = 9000;
    ck_assert_int_eq(vt->key_put(a->ctx, &k, &err), RK_OK);
    list_into(b, "acme", &s);
    ck_assert_int_eq(s.n, 1);
    ck_assert_ptr_nonnull(strstr(s.text, "key_a bot acme 22222222"));
    ck_assert_str_eq(s.prev, h1);
    ck_assert_int_eq(s.prev_until_ms, 9000);
    ck_assert_int_eq(s.revoked_ms, 0);
    /* revoke: unknown id, then twice (the first time stays) */
    ck_assert_int_eq(vt->key_revoke(a->ctx, "key_none", 7000, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(vt->key_revoke(a->ctx, "key_a", 7000, &err), RK_OK);
    ck_assert_int_eq(vt->key_revoke(a->ctx, "key_a", 8000, &err), RK_OK);
    list_into(b, NULL, &s);
    ck_assert_int_eq(s.n, 2); /* kept, marked */
    ck_assert_int_eq(s.revoked_ms, 7000);
    /* a record without a digest is refused, not stored */
    rk_history_key bad = k;
    bad.id = "key_bad";
    bad.sha256 = "abc";
    ck_assert_int_eq(vt->key_put(a->ctx, &bad, &err), RK_ERR_INVALID);
    list_into(b, NULL, &s);
    ck_assert_int_eq(s.n, 2);
}
