/*
 * snapshot: the immutable in-memory configuration (ARCHITECTURE decision 2).
 * Built from the store's entities after every committed write; readers take
 * a reference and see one consistent version while writers build the next.
 *
 * Entity documents (JSON objects, as stored; times are epoch milliseconds):
 *
 *   meta "account":  {"account_id": "123456789012", "create_date": ms}
 *   meta "admin":    {"access_key_id": "AKIA...", "secret_sealed": "<base64>",
 *                     "create_date": ms}
 *   provider:        {"url": "https://host/path", "client_ids": ["..."],
 *                     "thumbprints": ["40 hex"], "tags": [{"Key":"k","Value":"v"}],
 *                     "create_date": ms}
 *   role:            {"name": "Deploy", "path": "/", "role_id": "AROA...",
 *                     "trust_policy": "<JSON text as given>", "description": "..."?,
 *                     "max_session_duration": 3600, "permissions_boundary": "arn"?,
 *                     "tags": [{"Key","Value"}],
 *                     "inline_policies": [{"name": "p", "document": "<JSON text>"}],
 *                     "attached": ["arn:aws:iam::ACCT:policy/path/name", ...],
 *                     "create_date": ms}
 *   policy:          {"name": "p", "path": "/", "policy_id": "ANPA...",
 *                     "description": "..."?, "default_version": "v1",
 *                     "versions": [{"id": "v1", "document": "<JSON text>",
 *                                   "create_date": ms}],
 *                     "tags": [{"Key","Value"}], "create_date": ms, "update_date": ms}
 *
 * Lists inside documents keep the order AWS shows (tags sorted by key when
 * returned, see iam). Keys are those of store.h.
 */
#ifndef TG_SNAPSHOT_H
#define TG_SNAPSHOT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "policy/policy.h"
#include "store/store.h"
#include "util/util.h"

/* Every entity: its key, version, and document (owned by the snapshot;
 * read-only: never modify, json_deep_copy it to build a new version). */
struct tg_entity {
    const char *key; /* points into the snapshot */
    int64_t version;
    json_t *doc;
};

struct tg_snap_provider {
    struct tg_entity e;
    const char *url; /* "https://host/path", from doc */
    char *arn;       /* "arn:aws:iam::ACCT:oidc-provider/host/path" */
};

struct tg_snap_role {
    struct tg_entity e;
    const char *name;                   /* as created (case kept), from doc */
    char *arn;                          /* "arn:aws:iam::ACCT:role<path><name>" */
    struct tg_policy *trust;            /* compiled trust policy */
    struct tg_policy **inline_compiled; /* parallel to doc "inline_policies" */
    size_t n_inline;
};

struct tg_snap_policy {
    struct tg_entity e;
    const char *name;           /* from doc */
    char *arn;                  /* "arn:aws:iam::ACCT:policy<path><name>" */
    struct tg_policy *compiled; /* the default version */
    int64_t attachment_count;   /* derived: roles that attach it */
};

struct tg_snapshot {
    atomic_int refs;
    int64_t generation;
    char account_id[13];
    char admin_access_key_id[21];
    const char *admin_secret_sealed; /* base64, from the "admin" meta doc; NULL if none */
    struct tg_entity *meta;          /* sorted by key */
    size_t n_meta;
    struct tg_snap_provider *providers; /* sorted by key (strcmp) */
    size_t n_providers;
    struct tg_snap_role *roles; /* sorted by key (strcmp of the lower-case name) */
    size_t n_roles;
    struct tg_snap_policy *policies; /* sorted by key */
    size_t n_policies;
};

/*
 * Builds a snapshot from everything in the store. Documents that fail to
 * parse, or policies that no longer compile, fail the build with
 * ServiceFailure naming the entity (a store is never half-loaded).
 * Returns owned with one reference (release with tg_snapshot_release).
 */
int tg_snapshot_load(struct tg_store *store, int64_t generation, struct tg_snapshot **out,
                     struct tg_error *err) TG_MUST_USE;
/* An empty snapshot (no entities) for tests and first start. */
struct tg_snapshot *tg_snapshot_empty(void);

struct tg_snapshot *tg_snapshot_ref(struct tg_snapshot *s);
void tg_snapshot_release(struct tg_snapshot *s);

/* Look-ups: binary search; NULL if absent. Borrowed, valid while the
 * snapshot is referenced. */
const struct tg_snap_provider *tg_snapshot_provider_by_key(const struct tg_snapshot *s,
                                                           struct tg_cur key);
const struct tg_snap_provider *tg_snapshot_provider_by_arn(const struct tg_snapshot *s,
                                                           struct tg_cur arn);
const struct tg_snap_role *tg_snapshot_role(const struct tg_snapshot *s, struct tg_cur name);
const struct tg_snap_policy *tg_snapshot_policy_by_arn(const struct tg_snapshot *s,
                                                       struct tg_cur arn);
const struct tg_snap_policy *tg_snapshot_policy_by_name(const struct tg_snapshot *s,
                                                        struct tg_cur name);
const struct tg_entity *tg_snapshot_meta(const struct tg_snapshot *s, const char *key);

/* Lower-cases name into out (cap bytes incl. NUL); -1 if it does not fit. */
int tg_snapshot_key_lower(struct tg_cur name, char *out, size_t cap) TG_MUST_USE;

/* The holder: the current snapshot, swapped atomically. */
struct tg_snapshot_holder {
    pthread_mutex_t mu;
    struct tg_snapshot *cur;
};
void tg_snapshot_holder_init(struct tg_snapshot_holder *h, struct tg_snapshot *initial);
void tg_snapshot_holder_destroy(struct tg_snapshot_holder *h);
/* Returns a new reference to the current snapshot (release it). */
struct tg_snapshot *tg_snapshot_acquire(struct tg_snapshot_holder *h);
/* Installs next (takes ownership of its reference) and releases the old. */
void tg_snapshot_swap(struct tg_snapshot_holder *h, struct tg_snapshot *next);

#endif
