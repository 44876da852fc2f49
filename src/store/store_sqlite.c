/*
 * store_sqlite: the embedded default backend of store.h (ARCHITECTURE
 * decision 6). One table of (kind, key) -> (doc, version); writes are
 * batches in one IMMEDIATE transaction with optimistic version checks;
 * WAL mode with synchronous=FULL so that a commit that returned is on disk.
 *
 * Threads: one connection, opened FULLMUTEX, and our own mutex around every
 * use of it, because a transaction spans several statements and the cached
 * prepared statements are shared.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

/* The schema this code reads and writes (PRAGMA user_version). */
#define SCHEMA_VERSION 1
/* Keys are names and URLs: a role name is at most 64 chars, a policy name
 * 128, a provider URL 255 (limits.h TG_IAM_MAX_*). Anything much longer is
 * a bug in the caller. */
/* How long a writer waits for another process's lock (milliseconds). */
#define STORE_BUSY_TIMEOUT_MS 5000
/* AWS's description of ConcurrentModificationException (IAM API
 * reference, "Common errors" of every mutating action). */
#define CONCURRENT_MESSAGE                                                                         \
    "The request was rejected because multiple requests to change this object were submitted "     \
    "simultaneously. Wait a few minutes and submit your request again."

enum stmt_id {
    ST_BEGIN_IMMEDIATE,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_GET_VERSION,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE,
    ST_LOAD,
    ST_DATA_VERSION,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GET_VERSION] = "SELECT version FROM entities WHERE kind = ?1 AND key = ?2",
    [ST_INSERT] = "INSERT INTO entities (kind, key, doc, version) VALUES (?1, ?2, ?3, 1)",
    [ST_UPDATE] = "UPDATE entities SET doc = ?3, version = ?4 WHERE kind = ?1 AND key = ?2",
    [ST_DELETE] = "DELETE FROM entities WHERE kind = ?1 AND key = ?2",
    [ST_LOAD] = "SELECT kind, key, doc, version FROM entities ORDER BY kind, key",
    [ST_DATA_VERSION] = "PRAGMA data_version",
};

struct sq_store {
    struct tg_store base; /* first: struct tg_store * is cast to this */
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_COUNT];
};

static const char *kind_name(enum tg_entity_kind kind)
{
    switch (kind) {
    case TG_ENTITY_META:
        return "meta";
    case TG_ENTITY_PROVIDER:
        return "OpenIDConnectProvider";
    case TG_ENTITY_ROLE:
        return "role";
    case TG_ENTITY_POLICY:
        return "policy";
    }
    return "entity";
}

static bool kind_valid(int64_t kind)
{
    return kind >= TG_ENTITY_META && kind <= TG_ENTITY_POLICY;
}

/* ServiceFailure for the caller; the SQLite reason for the operator only. */
static int fail_sqlite(struct sq_store *s, struct tg_error *err, const char *what)
{
    tg_error_code(err, TG_E_SERVICE_FAILURE);
    return tg_error_detail(err, "sqlite: %s: %s (%d)", what, sqlite3_errmsg(s->db),
                           sqlite3_extended_errcode(s->db));
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int exec_stmt(struct sq_store *s, enum stmt_id id, struct tg_error *err)
{
    int rc = sqlite3_step(s->st[id]);
    stmt_done(s->st[id]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        return fail_sqlite(s, err, stmt_sql[id]);
    }
    return 0;
}

/* Ends a failed transaction. If SQLite already rolled back on its own (it
 * does after some I/O errors), there is nothing left to do. */
static void rollback(struct sq_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->st[ST_ROLLBACK]);
        stmt_done(s->st[ST_ROLLBACK]);
    }
}

/* The current version of (kind, key), 0 if absent. */
static int get_version(struct sq_store *s, const struct tg_store_op *op, int64_t *out,
                       struct tg_error *err)
{
    sqlite3_stmt *st = s->st[ST_GET_VERSION];
    int rc = -1;
    if (sqlite3_bind_int64(st, 1, op->kind) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC) != SQLITE_OK) {
        fail_sqlite(s, err, "bind");
        goto out;
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else if (step == SQLITE_DONE) {
        *out = 0;
    } else {
        fail_sqlite(s, err, stmt_sql[ST_GET_VERSION]);
        goto out;
    }
    rc = 0;
out:
    stmt_done(st);
    return rc;
}

static int apply_op(struct sq_store *s, const struct tg_store_op *op, size_t doc_len,
                    struct tg_error *err)
{
    enum stmt_id id = op->type == TG_STORE_DELETE ? ST_DELETE
                      : op->expect_version == 0   ? ST_INSERT
                                                  : ST_UPDATE;
    sqlite3_stmt *st = s->st[id];
    int rc = -1;
    if (sqlite3_bind_int64(st, 1, op->kind) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC) != SQLITE_OK) {
        fail_sqlite(s, err, "bind");
        goto out;
    }
    if (id != ST_DELETE &&
        sqlite3_bind_text(st, 3, op->doc, (int)doc_len, SQLITE_STATIC) != SQLITE_OK) {
        fail_sqlite(s, err, "bind");
        goto out;
    }
    if (id == ST_UPDATE && sqlite3_bind_int64(st, 4, op->expect_version + 1) != SQLITE_OK) {
        fail_sqlite(s, err, "bind");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        fail_sqlite(s, err, stmt_sql[id]);
        goto out;
    }
    rc = 0;
out:
    stmt_done(st);
    return rc;
}

/* Checks the shape of an op before anything is written. These are the
 * caller's mistakes, not the client's, but a store must not write garbage
 * because of one: they fail the batch with ServiceFailure. */
static int op_check(const struct tg_store_op *op, size_t *doc_len, struct tg_error *err)
{
    if ((op->type != TG_STORE_PUT && op->type != TG_STORE_DELETE) || !kind_valid(op->kind) ||
        op->key == NULL || op->expect_version < 0 || op->expect_version == INT64_MAX) {
        tg_error_code(err, TG_E_SERVICE_FAILURE);
        return tg_error_detail(err, "store: invalid operation (type %d, kind %d)", (int)op->type,
                               (int)op->kind);
    }
    size_t key_len = strnlen(op->key, TG_STORE_MAX_KEY + 1);
    if (key_len == 0 || key_len > TG_STORE_MAX_KEY) {
        tg_error_code(err, TG_E_SERVICE_FAILURE);
        return tg_error_detail(err, "store: %s key of %zu bytes (1..%d allowed)",
                               kind_name(op->kind), key_len, TG_STORE_MAX_KEY);
    }
    *doc_len = 0;
    if (op->type == TG_STORE_PUT) {
        if (op->doc == NULL) {
            tg_error_code(err, TG_E_SERVICE_FAILURE);
            return tg_error_detail(err, "store: put of %s %s without a document",
                                   kind_name(op->kind), op->key);
        }
        *doc_len = strnlen(op->doc, (size_t)TG_STORE_MAX_DOC + 1);
        if (*doc_len > TG_STORE_MAX_DOC) {
            tg_error_code(err, TG_E_SERVICE_FAILURE);
            return tg_error_detail(err, "store: document of %s %s exceeds %d bytes",
                                   kind_name(op->kind), op->key, TG_STORE_MAX_DOC);
        }
    }
    return 0;
}

static int sq_commit(struct tg_store *base, const struct tg_store_op *ops, size_t n,
                     struct tg_error *err)
{
    struct sq_store *s = (struct sq_store *)base;
    size_t doc_len[TG_STORE_MAX_OPS];
    int rc = -1;

    if (n == 0) {
        return 0;
    }
    if (n > TG_STORE_MAX_OPS) {
        tg_error_code(err, TG_E_SERVICE_FAILURE);
        return tg_error_detail(err, "store: %zu operations in one commit (at most %d)", n,
                               TG_STORE_MAX_OPS);
    }
    for (size_t i = 0; i < n; i++) {
        TG_GUARD(op_check(&ops[i], &doc_len[i], err));
    }

    pthread_mutex_lock(&s->mu);
    /* IMMEDIATE takes the write lock now, so the version checks below and
     * the writes see the same state (no other writer can slip in between). */
    int brc = sqlite3_step(s->st[ST_BEGIN_IMMEDIATE]);
    stmt_done(s->st[ST_BEGIN_IMMEDIATE]);
    if ((brc & 0xff) == SQLITE_BUSY || (brc & 0xff) == SQLITE_LOCKED) {
        /* Another process held the write lock for the whole busy timeout:
         * the same situation for the client as a version conflict. */
        tg_error_set(err, TG_E_CONCURRENT_MODIFICATION, "%s", CONCURRENT_MESSAGE);
        tg_error_detail(err, "sqlite: BEGIN IMMEDIATE: %s (%d) after %d ms", sqlite3_errmsg(s->db),
                        brc, STORE_BUSY_TIMEOUT_MS);
        goto out;
    }
    if (brc != SQLITE_DONE) {
        fail_sqlite(s, err, stmt_sql[ST_BEGIN_IMMEDIATE]);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tg_store_op *op = &ops[i];
        int64_t cur = 0;
        if (get_version(s, op, &cur, err) < 0) {
            goto out;
        }
        /* store.h: 0 = must not exist; > 0 = must exist at exactly that
         * version. Ops of one batch see the effect of the earlier ones. */
        if (cur != op->expect_version) {
            tg_error_set(err, TG_E_CONCURRENT_MODIFICATION, "%s", CONCURRENT_MESSAGE);
            tg_error_detail(err, "store: %s %s is at version %lld, expected %lld",
                            kind_name(op->kind), op->key, (long long)cur,
                            (long long)op->expect_version);
            goto out;
        }
        if (op->type == TG_STORE_DELETE && cur == 0) {
            continue; /* nothing to delete, as expected */
        }
        if (apply_op(s, op, doc_len[i], err) < 0) {
            goto out;
        }
    }
    if (exec_stmt(s, ST_COMMIT, err) < 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc < 0) {
        rollback(s);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_load(struct tg_store *base, tg_store_row_fn fn, void *ctx, struct tg_error *err)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st = s->st[ST_LOAD];
    int rc = -1;

    pthread_mutex_lock(&s->mu);
    /* One read transaction: every row comes from the same committed state
     * (in WAL mode, a reader sees a fixed snapshot of the database). */
    if (exec_stmt(s, ST_BEGIN, err) < 0) {
        goto out;
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            break;
        }
        if (step != SQLITE_ROW) {
            fail_sqlite(s, err, stmt_sql[ST_LOAD]);
            goto out;
        }
        struct tg_store_row row;
        int64_t kind = sqlite3_column_int64(st, 0);
        row.key = (const char *)sqlite3_column_text(st, 1);
        row.doc = (const char *)sqlite3_column_text(st, 2);
        row.doc_len = (size_t)sqlite3_column_bytes(st, 2);
        row.version = sqlite3_column_int64(st, 3);
        if (row.key == NULL && sqlite3_errcode(s->db) == SQLITE_NOMEM) {
            fail_sqlite(s, err, "read");
            goto out;
        }
        /* Rows are written only by sq_commit; anything else means the file
         * was damaged or edited by hand. */
        if (!kind_valid(kind) || row.key == NULL || row.doc == NULL || row.version < 1 ||
            row.doc_len > TG_STORE_MAX_DOC) {
            tg_error_code(err, TG_E_SERVICE_FAILURE);
            tg_error_detail(err, "store: invalid row (kind %lld, key %.64s, version %lld)",
                            (long long)kind, row.key ? row.key : "(null)", (long long)row.version);
            goto out;
        }
        row.kind = (enum tg_entity_kind)kind;
        if (fn(ctx, &row) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    stmt_done(st);
    rollback(s); /* a read transaction: nothing to keep */
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* PRAGMA data_version changes when another connection (another process:
 * `tegata keys rotate`, a second server) commits; our own commits leave it
 * alone. */
static int sq_data_version(struct tg_store *base, int64_t *out, struct tg_error *err)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st = s->st[ST_DATA_VERSION];
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_step(st) != SQLITE_ROW) {
        fail_sqlite(s, err, stmt_sql[ST_DATA_VERSION]);
        goto out;
    }
    *out = sqlite3_column_int64(st, 0);
    rc = 0;
out:
    stmt_done(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void sq_close(struct tg_store *base)
{
    struct sq_store *s = (struct sq_store *)base;
    for (size_t i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->st[i]);
    }
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct tg_store_vtbl sq_vtbl = {sq_commit, sq_load, sq_close, sq_data_version};

/* Runs one SQL statement (not cached; only at open). */
static int exec_sql(struct sq_store *s, const char *sql, struct tg_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tg_error_code(err, TG_E_SERVICE_FAILURE);
        tg_error_detail(err, "sqlite: %s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* A one-value PRAGMA query, e.g. "PRAGMA journal_mode=WAL" -> "wal". */
static int pragma_text(struct sq_store *s, const char *sql, char *out, size_t cap,
                       struct tg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fail_sqlite(s, err, sql);
        goto out;
    }
    const char *v = (const char *)sqlite3_column_text(st, 0);
    snprintf(out, cap, "%s", v ? v : "");
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Creates the schema on a new database, or checks that an existing one is
 * of a version we understand. In one IMMEDIATE transaction so that two
 * processes opening a new file at once cannot both create it. */
static int schema_init(struct sq_store *s, struct tg_error *err)
{
    char v[32];
    int rc = -1;
    TG_GUARD(exec_sql(s, "BEGIN IMMEDIATE", err));
    if (pragma_text(s, "PRAGMA user_version", v, sizeof(v), err) < 0) {
        goto out;
    }
    if (strcmp(v, "0") == 0) {
        if (exec_sql(s,
                     "CREATE TABLE IF NOT EXISTS entities ("
                     " kind INTEGER NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,"
                     " version INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;"
                     "PRAGMA user_version = 1",
                     err) < 0) {
            goto out;
        }
    } else if (strcmp(v, "1") != 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "unsupported database schema version %s", v);
        tg_error_detail(err, "store: the database has schema version %s; this tegata reads %d", v,
                        SCHEMA_VERSION);
        goto out;
    }
    if (exec_sql(s, "COMMIT", err) < 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc < 0 && !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* Creates the database file 0600 before SQLite sees it: SQLite creates new
 * files with 0644 (minus umask), and gives its -wal and -shm files the mode
 * of the database file, so making the main file 0600 covers all three
 * (ARCHITECTURE decision 7: files holding secrets are 0600). An existing
 * file is left as it is. */
static int create_file_0600(const char *path, struct tg_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot open the database");
        return tg_error_detail(err, "store: open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot open the database");
        return tg_error_detail(err, "store: %s is not a regular file", path);
    }
    close(fd);
    return 0;
}

int tg_store_open_sqlite(const char *path, struct tg_store **out, struct tg_error *err)
{
    struct sq_store *s = NULL;
    char mode[16];
    int rc = -1;

    *out = NULL;
    TG_GUARD(create_file_0600(path, err));
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
    }
    s->base.vt = &sq_vtbl;
    pthread_mutex_init(&s->mu, NULL);

    int orc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (orc != SQLITE_OK) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot open the database");
        tg_error_detail(err, "sqlite: open %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(orc));
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* Defensive mode: no writes to the schema through PRAGMAs or
     * writable_schema, even if a bug let SQL through. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

    /* WAL: readers (snapshot loads) never block the writer, and a commit
     * is one append. synchronous=FULL: fsync the WAL at every commit, so a
     * returned commit survives a power cut (store.h: "durably"). */
    if (pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err) < 0) {
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot open the database");
        tg_error_detail(err, "sqlite: %s: journal_mode is %s, not wal", path, mode);
        goto out;
    }
    if (exec_sql(s, "PRAGMA synchronous=FULL", err) < 0 || schema_init(s, err) < 0) {
        goto out;
    }
    for (size_t i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            fail_sqlite(s, err, stmt_sql[i]);
            goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0) {
        sq_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}
