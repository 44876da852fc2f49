/*
 * store: persistence behind one small table of functions (STYLE 9). The
 * data is a set of entities, each (kind, key) -> JSON document + version.
 * Writes are atomic batches with optimistic concurrency; reads load
 * everything (the server keeps an in-memory snapshot, ARCHITECTURE
 * decision 2). Backends: SQLite (embedded default, store_sqlite.c);
 * PostgreSQL later.
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include "util/util.h"

enum tg_entity_kind {
    TG_ENTITY_META = 1, /* keys "account", "admin" */
    TG_ENTITY_PROVIDER, /* key: the provider URL without "https://" (its ARN suffix) */
    TG_ENTITY_ROLE,     /* key: the role name in lower case (names are case-insensitive) */
    TG_ENTITY_POLICY,   /* key: the managed policy name in lower case */
};

enum tg_store_op_type {
    TG_STORE_PUT = 1,
    TG_STORE_DELETE,
};

/* One write. Strings are borrowed for the duration of the commit. */
struct tg_store_op {
    enum tg_store_op_type type;
    enum tg_entity_kind kind;
    const char *key;
    const char *doc; /* PUT: the JSON document, NUL-terminated; DELETE: NULL */
    /* 0: the entity must not exist (create); > 0: it must exist at exactly
     * this version (update/delete). The new version of a PUT is
     * expect_version + 1. */
    int64_t expect_version;
};

/* One entity as read. Valid only during the load callback. */
struct tg_store_row {
    enum tg_entity_kind kind;
    const char *key;
    const char *doc;
    size_t doc_len;
    int64_t version;
};

typedef int (*tg_store_row_fn)(void *ctx, const struct tg_store_row *row);

struct tg_store;
struct tg_store_vtbl {
    /* Applies all ops in one transaction, durably (the data is on disk
     * when it returns 0). If any expectation fails nothing is written and
     * the error is ConcurrentModification. I/O errors: ServiceFailure. */
    int (*commit)(struct tg_store *s, const struct tg_store_op *ops, size_t n,
                  struct tg_error *err);
    /* Calls fn for every entity, in (kind, key) order, from one consistent
     * read. Stops and returns -1 if fn returns -1. */
    int (*load)(struct tg_store *s, tg_store_row_fn fn, void *ctx, struct tg_error *err);
    void (*close)(struct tg_store *s);
    /* A number that changes when another process or node committed since
     * the last call (the server polls it to reload its snapshot). */
    int (*data_version)(struct tg_store *s, int64_t *out, struct tg_error *err);
};

struct tg_store {
    const struct tg_store_vtbl *vt;
};

static inline int tg_store_commit(struct tg_store *s, const struct tg_store_op *ops, size_t n,
                                  struct tg_error *err)
{
    return s->vt->commit(s, ops, n, err);
}
static inline int tg_store_load(struct tg_store *s, tg_store_row_fn fn, void *ctx,
                                struct tg_error *err)
{
    return s->vt->load(s, fn, ctx, err);
}
static inline int tg_store_data_version(struct tg_store *s, int64_t *out, struct tg_error *err)
{
    return s->vt->data_version(s, out, err);
}
static inline void tg_store_close(struct tg_store *s)
{
    if (s != NULL) {
        s->vt->close(s);
    }
}

/* The SQLite database's name inside a data directory (docs/serve.md). */
#define TG_STORE_SQLITE_FILE "tegata.db"

/*
 * Opens (creating if needed, mode 0600) the SQLite database at path, in WAL
 * mode with synchronous=FULL, and creates the schema. Safe for use from
 * several threads (one connection guarded by a mutex). Returns owned
 * (free with tg_store_close).
 */
int tg_store_open_sqlite(const char *path, struct tg_store **out, struct tg_error *err) TG_MUST_USE;

#endif
