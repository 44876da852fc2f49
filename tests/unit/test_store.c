/* Unit tests for src/store/store_sqlite.c, on real SQLite files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

struct fx {
    char dir[64];
    char db[128];
    struct tg_store *store;
    struct tg_error err;
};

static void path_of(const struct fx *fx, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", fx->db, suffix);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tg-store-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->db, sizeof(fx->db), "%s/tegata.db", fx->dir);
    if (tg_store_open_sqlite(fx->db, &fx->store, &fx->err) < 0) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char p[160];
    tg_store_close(fx->store);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < TG_ARRAY_LEN(suffixes); i++) {
        path_of(fx, suffixes[i], p, sizeof(p));
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/other", fx->dir);
    unlink(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- collecting rows ---- */

#define MAX_ROWS 128
struct rows {
    size_t n;
    int kind[MAX_ROWS];
    char key[MAX_ROWS][64];
    char *doc[MAX_ROWS];
    size_t doc_len[MAX_ROWS];
    int64_t version[MAX_ROWS];
    size_t stop_after; /* 0: never */
};

static int collect(void *ctx, const struct tg_store_row *row)
{
    struct rows *r = ctx;
    if (r->stop_after != 0 && r->n == r->stop_after) {
        return -1;
    }
    if (r->n == MAX_ROWS) {
        return -1;
    }
    r->kind[r->n] = (int)row->kind;
    snprintf(r->key[r->n], sizeof(r->key[0]), "%s", row->key);
    r->doc[r->n] = malloc(row->doc_len + 1);
    memcpy(r->doc[r->n], row->doc, row->doc_len);
    r->doc[r->n][row->doc_len] = '\0';
    r->doc_len[r->n] = row->doc_len;
    r->version[r->n] = row->version;
    r->n++;
    return 0;
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->doc[i]);
    }
    memset(r, 0, sizeof(*r));
}

static void load(struct fx *fx, struct rows *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(tg_store_load(fx->store, collect, r, &fx->err), 0);
}

/* Version of (kind, key), 0 if absent. */
static int64_t version_of(struct fx *fx, enum tg_entity_kind kind, const char *key)
{
    struct rows r;
    int64_t v = 0;
    load(fx, &r);
    for (size_t i = 0; i < r.n; i++) {
        if (r.kind[i] == (int)kind && strcmp(r.key[i], key) == 0) {
            v = r.version[i];
        }
    }
    rows_free(&r);
    return v;
}

static int put(struct fx *fx, enum tg_entity_kind kind, const char *key, const char *doc,
               int64_t expect)
{
    struct tg_store_op op = {TG_STORE_PUT, kind, key, doc, expect};
    tg_error_clear(&fx->err);
    return tg_store_commit(fx->store, &op, 1, &fx->err);
}

static int del(struct fx *fx, enum tg_entity_kind kind, const char *key, int64_t expect)
{
    struct tg_store_op op = {TG_STORE_DELETE, kind, key, NULL, expect};
    tg_error_clear(&fx->err);
    return tg_store_commit(fx->store, &op, 1, &fx->err);
}

/* ---- tests ---- */

static void test_empty_load(void **state)
{
    struct fx *fx = *state;
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 0);
}

static void test_create_update_delete(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "deploy", "{\"v\":1}", 0), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "deploy"), 1);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "deploy", "{\"v\":2}", 1), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "deploy"), 2);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "deploy", "{\"v\":3}", 2), 0);

    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.kind[0], TG_ENTITY_ROLE);
    assert_string_equal(r.key[0], "deploy");
    assert_string_equal(r.doc[0], "{\"v\":3}");
    assert_int_equal(r.doc_len[0], 7);
    assert_int_equal(r.version[0], 3);
    rows_free(&r);

    assert_int_equal(del(fx, TG_ENTITY_ROLE, "deploy", 3), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "deploy"), 0);
    /* Re-created after a delete: starts again at version 1. */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "deploy", "{}", 0), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "deploy"), 1);
}

/* The same key under two kinds is two entities. */
static void test_kinds_are_separate(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "x", "{\"role\":1}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_POLICY, "x", "{\"policy\":1}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_POLICY, "x", "{\"policy\":2}", 1), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "x"), 1);
    assert_int_equal(version_of(fx, TG_ENTITY_POLICY, "x"), 2);
}

static void test_conflicts(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"v\":1}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"v\":2}", 1), 0);

    /* create of an existing entity */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"bad\":1}", 0), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    assert_non_null(strstr(fx->err.message, "multiple requests to change this object"));
    assert_non_null(strstr(fx->err.detail, "role r is at version 2, expected 0"));
    /* update at a stale version, and at a future one */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"bad\":2}", 1), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"bad\":3}", 3), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    /* update of a missing entity */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "missing", "{}", 1), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    /* delete at the wrong version, and of a missing entity */
    assert_int_equal(del(fx, TG_ENTITY_ROLE, "r", 1), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    assert_int_equal(del(fx, TG_ENTITY_ROLE, "missing", 1), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);

    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.doc[0], "{\"v\":2}");
    assert_int_equal(r.version[0], 2);
    rows_free(&r);
}

/* A failing op anywhere in the batch rolls back the ops before it. */
static void test_batch_all_or_nothing(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_POLICY, "p", "{\"v\":1}", 0), 0);
    struct tg_store_op ops[] = {
        {TG_STORE_PUT, TG_ENTITY_ROLE, "a", "{}", 0},
        {TG_STORE_PUT, TG_ENTITY_POLICY, "p", "{\"v\":2}", 1},
        {TG_STORE_DELETE, TG_ENTITY_POLICY, "p", NULL, 1}, /* stale: p is at 2 now */
    };
    assert_int_equal(tg_store_commit(fx->store, ops, 3, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.key[0], "p");
    assert_string_equal(r.doc[0], "{\"v\":1}");
    assert_int_equal(r.version[0], 1);
    rows_free(&r);

    /* The store is still usable after the rollback. */
    ops[2].expect_version = 2;
    assert_int_equal(tg_store_commit(fx->store, ops, 3, &fx->err), 0);
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.key[0], "a");
    rows_free(&r);
}

/* Later ops of a batch see the earlier ones. */
static void test_batch_sequential(void **state)
{
    struct fx *fx = *state;
    struct tg_store_op ops[] = {
        {TG_STORE_PUT, TG_ENTITY_ROLE, "a", "{\"v\":1}", 0},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "a", "{\"v\":2}", 1},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "b", "{}", 0},
        {TG_STORE_DELETE, TG_ENTITY_ROLE, "b", NULL, 1},
    };
    assert_int_equal(tg_store_commit(fx->store, ops, 4, &fx->err), 0);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.doc[0], "{\"v\":2}");
    assert_int_equal(r.version[0], 2);
    rows_free(&r);
    /* A zero-op commit does nothing and succeeds. */
    assert_int_equal(tg_store_commit(fx->store, ops, 0, &fx->err), 0);
}

static void test_load_order(void **state)
{
    struct fx *fx = *state;
    static const struct {
        enum tg_entity_kind kind;
        const char *key;
    } in[] = {
        {TG_ENTITY_POLICY, "zeta"},      {TG_ENTITY_ROLE, "b"},       {TG_ENTITY_META, "admin"},
        {TG_ENTITY_PROVIDER, "x.com/a"}, {TG_ENTITY_ROLE, "a"},       {TG_ENTITY_ROLE, "B"},
        {TG_ENTITY_META, "account"},     {TG_ENTITY_POLICY, "alpha"}, {TG_ENTITY_ROLE, "ab"},
        {TG_ENTITY_PROVIDER, "x.com"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(in); i++) {
        assert_int_equal(put(fx, in[i].kind, in[i].key, "{}", 0), 0);
    }
    static const char *const want[] = {"1:account", "1:admin", "2:x.com", "2:x.com/a", "3:B",
                                       "3:a",       "3:ab",    "3:b",     "4:alpha",   "4:zeta"};
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, TG_ARRAY_LEN(want));
    for (size_t i = 0; i < r.n; i++) {
        char got[80];
        snprintf(got, sizeof(got), "%d:%s", r.kind[i], r.key[i]);
        assert_string_equal(got, want[i]);
    }
    rows_free(&r);
}

static void test_load_stops_on_callback_failure(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "a", "{}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "b", "{}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "c", "{}", 0), 0);
    struct rows r;
    memset(&r, 0, sizeof(r));
    r.stop_after = 2;
    assert_int_equal(tg_store_load(fx->store, collect, &r, &fx->err), -1);
    assert_int_equal(r.n, 2);
    rows_free(&r);
    /* The read transaction was ended: writes still work. */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "d", "{}", 0), 0);
    load(fx, &r);
    assert_int_equal(r.n, 4);
    rows_free(&r);
}

static void test_reopen_keeps_data(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_META, "account", "{\"account_id\":\"123456789012\"}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"v\":1}", 0), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"v\":2}", 1), 0);
    tg_store_close(fx->store);
    fx->store = NULL;
    assert_int_equal(tg_store_open_sqlite(fx->db, &fx->store, &fx->err), 0);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.key[0], "account");
    assert_string_equal(r.doc[0], "{\"account_id\":\"123456789012\"}");
    assert_string_equal(r.doc[1], "{\"v\":2}");
    assert_int_equal(r.version[1], 2);
    rows_free(&r);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"v\":3}", 2), 0);
}

/* Two connections to one file (two processes, or two nodes of a test):
 * each sees the other's commits, and versions conflict across them. */
static void test_two_handles(void **state)
{
    struct fx *fx = *state;
    struct tg_store *other = NULL;
    assert_int_equal(tg_store_open_sqlite(fx->db, &other, &fx->err), 0);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{}", 0), 0);
    struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_ROLE, "r", "{\"o\":1}", 1};
    assert_int_equal(tg_store_commit(other, &op, 1, &fx->err), 0);
    /* The first handle's view of version 1 is stale now. */
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{\"f\":1}", 1), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.doc[0], "{\"o\":1}");
    rows_free(&r);
    tg_store_close(other);
}

static void check_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_file_modes(void **state)
{
    struct fx *fx = *state;
    /* Even with a permissive umask, every file is 0600. */
    mode_t old = umask(0);
    struct tg_store *s2 = NULL;
    char p[160];
    snprintf(p, sizeof(p), "%s/other", fx->dir);
    assert_int_equal(tg_store_open_sqlite(p, &s2, &fx->err), 0);
    struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_ROLE, "r", "{}", 0};
    assert_int_equal(tg_store_commit(s2, &op, 1, &fx->err), 0);
    check_mode(p);
    char q[180];
    snprintf(q, sizeof(q), "%s-wal", p);
    check_mode(q);
    snprintf(q, sizeof(q), "%s-shm", p);
    check_mode(q);
    tg_store_close(s2);
    snprintf(q, sizeof(q), "%s-wal", p);
    unlink(q);
    snprintf(q, sizeof(q), "%s-shm", p);
    unlink(q);
    umask(old);

    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{}", 0), 0);
    check_mode(fx->db);
    path_of(fx, "-wal", p, sizeof(p));
    check_mode(p);
    path_of(fx, "-shm", p, sizeof(p));
    check_mode(p);
}

static void test_doc_size_limit(void **state)
{
    struct fx *fx = *state;
    char *doc = malloc((size_t)TG_STORE_MAX_DOC + 2);
    assert_non_null(doc);
    /* {"a":"xxxx...x"} of exactly TG_STORE_MAX_DOC bytes */
    memset(doc, 'x', (size_t)TG_STORE_MAX_DOC + 1);
    memcpy(doc, "{\"a\":\"", 6);
    memcpy(doc + TG_STORE_MAX_DOC - 2, "\"}", 2);
    doc[TG_STORE_MAX_DOC] = '\0';
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "big", doc, 0), 0);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.doc_len[0], TG_STORE_MAX_DOC);
    assert_memory_equal(r.doc[0], doc, TG_STORE_MAX_DOC);
    rows_free(&r);

    /* One byte more: refused, and nothing of the batch is written. */
    memcpy(doc + TG_STORE_MAX_DOC - 1, "\"}", 2);
    doc[TG_STORE_MAX_DOC + 1] = '\0';
    struct tg_store_op ops[] = {
        {TG_STORE_PUT, TG_ENTITY_ROLE, "small", "{}", 0},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "big", doc, 1},
    };
    assert_int_equal(tg_store_commit(fx->store, ops, 2, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "small"), 0);
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "big"), 1);
    free(doc);
}

static void test_too_many_ops(void **state)
{
    struct fx *fx = *state;
    struct tg_store_op ops[TG_STORE_MAX_OPS + 1];
    char keys[TG_STORE_MAX_OPS + 1][16];
    for (size_t i = 0; i <= TG_STORE_MAX_OPS; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        ops[i] = (struct tg_store_op){TG_STORE_PUT, TG_ENTITY_ROLE, keys[i], "{}", 0};
    }
    assert_int_equal(tg_store_commit(fx->store, ops, TG_STORE_MAX_OPS + 1, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 0);
    rows_free(&r);
    /* Exactly the maximum is fine. */
    assert_int_equal(tg_store_commit(fx->store, ops, TG_STORE_MAX_OPS, &fx->err), 0);
    load(fx, &r);
    assert_int_equal(r.n, TG_STORE_MAX_OPS);
    rows_free(&r);
}

static void test_invalid_ops(void **state)
{
    struct fx *fx = *state;
    const struct tg_store_op bad[] = {
        {TG_STORE_PUT, TG_ENTITY_ROLE, NULL, "{}", 0},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "", "{}", 0},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "k", NULL, 0},
        {TG_STORE_PUT, (enum tg_entity_kind)0, "k", "{}", 0},
        {TG_STORE_PUT, (enum tg_entity_kind)9, "k", "{}", 0},
        {(enum tg_store_op_type)7, TG_ENTITY_ROLE, "k", "{}", 0},
        {TG_STORE_PUT, TG_ENTITY_ROLE, "k", "{}", -1},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        struct tg_store_op ops[2] = {{TG_STORE_PUT, TG_ENTITY_ROLE, "good", "{}", 0}, bad[i]};
        tg_error_clear(&fx->err);
        assert_int_equal(tg_store_commit(fx->store, ops, 2, &fx->err), -1);
        assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
        assert_true(fx->err.detail[0] != '\0');
    }
    assert_int_equal(version_of(fx, TG_ENTITY_ROLE, "good"), 0);
}

/* Many threads committing through one handle: the mutex serialises them
 * and every write lands. */
struct thread_arg {
    struct tg_store *store;
    int id;
    int failures;
};

static void *writer(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 10; i++) {
        char key[32];
        struct tg_error err;
        snprintf(key, sizeof(key), "t%d-%d", a->id, i);
        struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_ROLE, key, "{}", 0};
        if (tg_store_commit(a->store, &op, 1, &err) < 0) {
            a->failures++;
        }
        /* and a contended key: exactly one create wins per round */
        snprintf(key, sizeof(key), "shared-%d", i);
        op.key = key;
        (void)!tg_store_commit(a->store, &op, 1, &err);
    }
    return NULL;
}

static int count_rows(void *ctx, const struct tg_store_row *row)
{
    (void)row;
    (*(size_t *)ctx)++;
    return 0;
}

static void test_threads(void **state)
{
    struct fx *fx = *state;
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){fx->store, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    size_t n = 0;
    assert_int_equal(tg_store_load(fx->store, count_rows, &n, &fx->err), 0);
    assert_int_equal(n, 4 * 10 + 10);
}

/* ---- damaged or foreign files ---- */

static void raw_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_corrupt_rows_fail_load(void **state)
{
    struct fx *fx = *state;
    static const char *const bad[] = {
        "INSERT INTO entities VALUES (9, 'k', '{}', 1)",
        "INSERT INTO entities VALUES (0, 'k', '{}', 1)",
        "INSERT INTO entities VALUES (3, 'k', '{}', 0)",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        raw_exec(fx->db, bad[i]);
        struct rows r;
        memset(&r, 0, sizeof(r));
        tg_error_clear(&fx->err);
        assert_int_equal(tg_store_load(fx->store, collect, &r, &fx->err), -1);
        assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
        rows_free(&r);
        raw_exec(fx->db, "DELETE FROM entities");
    }
}

static void test_newer_schema_refused(void **state)
{
    struct fx *fx = *state;
    tg_store_close(fx->store);
    fx->store = NULL;
    raw_exec(fx->db, "PRAGMA user_version = 2");
    assert_int_equal(tg_store_open_sqlite(fx->db, &fx->store, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
    assert_null(fx->store);
    raw_exec(fx->db, "PRAGMA user_version = 1");
    assert_int_equal(tg_store_open_sqlite(fx->db, &fx->store, &fx->err), 0);
}

/* Another process holding the write lock: readers go on (WAL); a writer
 * gives up after the busy timeout with ConcurrentModification, and the
 * store works again once the lock is gone. */
static void test_locked_by_other_process(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "r", "{}", 0), 0);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(fx->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    struct rows r;
    load(fx, &r);
    assert_int_equal(r.n, 1);
    rows_free(&r);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "s", "{}", 0), -1);
    assert_int_equal(fx->err.code, TG_E_CONCURRENT_MODIFICATION);
    assert_non_null(strstr(fx->err.detail, "sqlite"));
    assert_null(strstr(fx->err.message, "sqlite"));

    assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(put(fx, TG_ENTITY_ROLE, "s", "{}", 0), 0);
}

static void test_open_errors(void **state)
{
    struct fx *fx = *state;
    struct tg_store *s = NULL;
    char p[160];

    /* a missing directory */
    snprintf(p, sizeof(p), "%s/no/such/dir/tegata.db", fx->dir);
    tg_error_clear(&fx->err);
    assert_int_equal(tg_store_open_sqlite(p, &s, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
    assert_null(s);

    /* a directory in place of the file */
    assert_int_equal(tg_store_open_sqlite(fx->dir, &s, &fx->err), -1);
    assert_null(s);

    /* a file that is not a database: the reason goes to the detail only */
    snprintf(p, sizeof(p), "%s/other", fx->dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++) {
        fputs("not a database ", f);
    }
    fclose(f);
    tg_error_clear(&fx->err);
    assert_int_equal(tg_store_open_sqlite(p, &s, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
    assert_null(s);
    assert_non_null(strstr(fx->err.detail, "sqlite"));
    assert_null(strstr(fx->err.message, "sqlite"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_empty_load),
        T(test_create_update_delete),
        T(test_kinds_are_separate),
        T(test_conflicts),
        T(test_batch_all_or_nothing),
        T(test_batch_sequential),
        T(test_load_order),
        T(test_load_stops_on_callback_failure),
        T(test_reopen_keeps_data),
        T(test_two_handles),
        T(test_file_modes),
        T(test_doc_size_limit),
        T(test_too_many_ops),
        T(test_invalid_ops),
        T(test_threads),
        T(test_corrupt_rows_fail_load),
        T(test_newer_schema_refused),
        T(test_locked_by_other_process),
        T(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
