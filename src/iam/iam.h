/*
 * iam: the IAM Query actions that manage OIDC providers, roles and policies
 * (spec 7). Pure over a snapshot: an action reads the snapshot and its
 * parameters and returns the response body plus the store writes that make
 * it true; the server commits the writes and swaps in the next snapshot.
 */
#ifndef TG_IAM_H
#define TG_IAM_H

#include <jansson.h>

#include "api/api.h"
#include "snapshot/snapshot.h"
#include "store/store.h"
#include "util/util.h"

struct tg_iam_ctx {
    const struct tg_snapshot
        *snap; /* borrowed; for writes, the newest (taken under the writer lock) */
    int64_t now_ms;
    tg_random_fn rnd;
    void *rnd_ctx;
    bool dev;                /* --dev: http:// provider URLs and ports allowed for loopback hosts */
    size_t trust_policy_max; /* ACLSizePerRole: TG_POLICY_TRUST_SIZE_DEFAULT unless configured */
};

#define TG_IAM_MAX_WARNINGS 4

/* Provider tag that marks an issuer of the operator's as shared between
 * tenants (value "true"): CreateRole and UpdateAssumeRolePolicy then refuse
 * trust policies that do not check its sub, as for GitHub (spec 3.3). */
#define TG_IAM_TAG_SHARED_ISSUER "tegata:shared-issuer"

/* What an action produced. */
struct tg_iam_out {
    struct tg_xml *xml; /* borrowed: the action writes the inside of <ActionResult> */
    struct tg_store_op ops[TG_STORE_MAX_OPS];
    size_t n_ops;
    char *owned[2 * TG_STORE_MAX_OPS]; /* keys and documents of ops (freed by tg_iam_out_free) */
    size_t n_owned;
    /* Messages for the server log (not the caller), e.g. the trailing-slash warning. */
    char warnings[TG_IAM_MAX_WARNINGS][512];
    size_t n_warnings;
};

void tg_iam_out_init(struct tg_iam_out *o, struct tg_xml *xml);
void tg_iam_out_free(struct tg_iam_out *o);
/* Adds a PUT of doc (serialized compactly, keys in insertion order) under a
 * copy of key. Does not take doc. */
int tg_iam_out_put(struct tg_iam_out *o, enum tg_entity_kind kind, const char *key,
                   const json_t *doc, int64_t expect_version) TG_MUST_USE;
int tg_iam_out_delete(struct tg_iam_out *o, enum tg_entity_kind kind, const char *key,
                      int64_t expect_version) TG_MUST_USE;
void tg_iam_out_warn(struct tg_iam_out *o, const char *fmt, ...) TG_PRINTF(2, 3);

typedef int (*tg_iam_fn)(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                         struct tg_iam_out *out, struct tg_error *err);

struct tg_iam_action {
    const char *name; /* "CreateRole" */
    tg_iam_fn fn;
    bool has_result; /* false: the response has only ResponseMetadata */
    bool writes;     /* true: run under the writer lock, commit out->ops */
};

/* The action named exactly name, or NULL. */
const struct tg_iam_action *tg_iam_action_find(struct tg_cur name);

/* ---- calls made with temporary credentials (iam_authz.c) ----
 * The resource ARN a call of action (e.g. "GetRole") with parameters in
 * acts on, as a role's permission policies match it: the role of RoleName,
 * the policy of PolicyArn, the provider of OpenIDConnectProviderArn, what a
 * Create* makes, else "*". NUL-terminated into out (cap bytes); -1 if it
 * does not fit. */
int tg_iam_request_resource(const struct tg_snapshot *snap, const char *action,
                            const struct tg_form *in, char *out, size_t cap) TG_MUST_USE;
/* The tags the call sets (Tags.member.N), for aws:RequestTag/ and
 * aws:TagKeys; borrowed from in. At most max; 0 if the list is invalid. */
size_t tg_iam_request_tags(const struct tg_form *in, struct tg_kv *out, size_t max);

#endif
