/*
 * iam_policy: the customer managed policy actions of the IAM Query API
 * (spec 7.2): policies and their versions and tags, and attaching them to
 * roles. Pure over the snapshot: every action reads ctx->snap and its form
 * parameters, writes the inside of <ActionResult> and queues the store
 * writes in out.
 *
 * A role's attachments live in the role document's "attached" array (the
 * policy ARNs, in the order they were attached); the snapshot derives each
 * policy's attachment_count from them. Attach/Detach touch only that
 * member of the role document (its other members are iam_role.c's).
 *
 * Checking order in every action: parameters first (ValidationError,
 * InvalidInput for a malformed ARN, MalformedPolicyDocument, the size quota
 * of the document), then the state (NoSuchEntity, EntityAlreadyExists,
 * DeleteConflict, the count quotas).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds/creds.h"
#include "iam/iam_internal.h"

/* policyPathType (bc-iam), also the PathPrefix of ListPolicies and
 * ListAttachedRolePolicies. */
#define POLICY_PATH_PATTERN "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"
/* policyVersionIdType (bc-iam) */
#define VERSION_PATTERN "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"

#define POLICY_KEY_CAP (TG_IAM_MAX_POLICY_NAME + 1)
/* "arn:aws:iam::" + 12 digits + ":policy" + path + name */
#define POLICY_ARN_CAP (32 + TG_IAM_MAX_PATH + TG_IAM_MAX_POLICY_NAME)

#define MSG_VERSIONS_LIMIT                                                                         \
    "A managed policy can have up to 5 versions. Before you create a new version, you must "       \
    "delete an existing version."
#define MSG_VERSIONS_CONFLICT                                                                      \
    "This policy has more than one version. Before you delete a policy, you must delete the "      \
    "policy's versions. The default version is deleted with the policy."

/* Policy XML variants: which optional members a response carries. */
#define POLICY_XML_LIST 0u        /* ListPolicies: neither */
#define POLICY_XML_DESCRIPTION 1u /* Description, if set (GetPolicy) */
#define POLICY_XML_TAGS 2u        /* Tags, if any */

static bool policy_path_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr(".,+@=_-", c) != NULL);
}

/* policyPathType: 1..512 characters matching ((/[A-Za-z0-9\.,\+@=_-]+)*)/
 * (bc-iam): "/" or "/seg/.../" with non-empty segments. Stricter than the
 * role path, which allows any printable ASCII. */
static int check_policy_path(struct tg_cur v, const char *field, struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(v, field, 1, TG_IAM_MAX_PATH, err));
    bool ok = v.ptr[0] == '/' && v.ptr[v.len - 1] == '/';
    for (size_t i = 1; ok && i < v.len; i++) {
        /* a '/' must close a non-empty segment */
        ok = v.ptr[i] == '/' ? v.ptr[i - 1] != '/' : policy_path_char(v.ptr[i]);
    }
    if (!ok) {
        return tg_iam_pattern_error(err, v, field, POLICY_PATH_PATTERN);
    }
    return 0;
}

/* A booleanType parameter: "true" or "false" (the Query protocol's
 * serialization; case-insensitively, as the AWS CLI and SDKs vary). */
static int param_bool(const struct tg_form *in, const char *name, const char *field, bool *out,
                      struct tg_error *err)
{
    const struct tg_cur *v = tg_form_get(in, name);
    *out = false;
    if (v == NULL) {
        return 0;
    }
    if (tg_cur_eq_nocase_str(*v, "true")) {
        *out = true;
        return 0;
    }
    if (tg_cur_eq_nocase_str(*v, "false")) {
        return 0;
    }
    /* tg_iam_echo writes invalid UTF-8 as "(invalid UTF-8)". */
    return tg_iam_value_error(err, *v, field, "Member must be a boolean");
}

/* An enum parameter: one of the NULL-terminated values (case-sensitive, as
 * AWS compares them). *idx is -1 when absent. */
static int param_enum(const struct tg_form *in, const char *name, const char *field,
                      const char *const *values, const char *set, int *idx, struct tg_error *err)
{
    const struct tg_cur *v = tg_form_get(in, name);
    *idx = -1;
    if (v == NULL) {
        return 0;
    }
    for (int i = 0; values[i] != NULL; i++) {
        if (tg_cur_eq_str(*v, values[i])) {
            *idx = i;
            return 0;
        }
    }
    char c[128];
    snprintf(c, sizeof(c), "Member must satisfy enum value set: %s", set);
    return tg_iam_value_error(err, *v, field, c);
}

/* Optional PathPrefix (policyPathType); *has says whether it was given. */
static int param_path_prefix(const struct tg_form *in, struct tg_cur *prefix, bool *has,
                             struct tg_error *err)
{
    tg_iam_param_optional(in, "PathPrefix", prefix, has);
    if (*has) {
        TG_GUARD(check_policy_path(*prefix, "pathPrefix", err));
    }
    return 0;
}

/* PolicyArn: required, arnType length, and a policy ARN (InvalidInput). */
static int param_policy_arn(const struct tg_form *in, struct tg_cur *arn,
                            struct tg_iam_policy_arn *parts, struct tg_error *err)
{
    TG_GUARD(tg_iam_param_required(in, "PolicyArn", "policyArn", arn, err));
    return tg_iam_check_policy_arn(*arn, "policyArn", parts, err);
}

/* ---- state ---- */

/* Our policy with exactly this ARN, or NULL. AWS managed policies
 * (arn:aws:iam::aws:policy/...) and other accounts' are never ours. */
static const struct tg_snap_policy *lookup_policy(const struct tg_iam_ctx *ctx, struct tg_cur arn)
{
    return tg_snapshot_policy_by_arn(ctx->snap, arn);
}

/* NoSuchEntity "Policy <arn> was not found.", IAM's answer for a policy
 * ARN that names nothing in GetPolicy, DeletePolicy and the version and
 * tag actions. */
static int policy_not_found(struct tg_error *err, struct tg_cur arn)
{
    return tg_error_set(err, TG_E_NO_SUCH_ENTITY, "Policy %.*s was not found.", (int)arn.len,
                        (const char *)arn.ptr);
}

/* PolicyArn resolved to one of our policies. */
static int find_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                       const struct tg_snap_policy **p, struct tg_cur *arn, struct tg_error *err)
{
    struct tg_iam_policy_arn parts;
    TG_GUARD(param_policy_arn(in, arn, &parts, err));
    *p = lookup_policy(ctx, *arn);
    if (*p == NULL) {
        return policy_not_found(err, *arn);
    }
    return 0;
}

/* The policy's ARN as IAM shows it: arn:aws:iam::ACCT:policy<path><name>. */
static void policy_arn_of(const struct tg_iam_ctx *ctx, const json_t *doc, char *out, size_t cap)
{
    const char *path = tg_iam_doc_str(doc, "path");
    const char *name = tg_iam_doc_str(doc, "name");
    snprintf(out, cap, "arn:aws:iam::%s:policy%s%s", ctx->snap->account_id,
             path != NULL ? path : "/", name != NULL ? name : "");
}

/* Index of the version with id exactly vid in the doc's "versions", or -1. */
static long version_find(const json_t *doc, struct tg_cur vid)
{
    const json_t *vs = json_object_get(doc, "versions");
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const char *id = tg_iam_doc_str(json_array_get(vs, i), "id");
        if (id != NULL && tg_cur_eq_str(vid, id)) {
            return (long)i;
        }
    }
    return -1;
}

/* VersionId: required, policyVersionIdType. */
static int param_version_id(const struct tg_form *in, struct tg_cur *vid, struct tg_error *err)
{
    TG_GUARD(tg_iam_param_required(in, "VersionId", "versionId", vid, err));
    /* The model gives no length; cap it so an echo stays short. */
    TG_GUARD(tg_iam_check_length(*vid, "versionId", 1, TG_IAM_MAX_POLICY_NAME, err));
    /* v[1-9][0-9]*(\.[A-Za-z0-9-]*)? */
    bool ok = vid->len >= 2 && vid->ptr[0] == 'v' && vid->ptr[1] >= '1' && vid->ptr[1] <= '9';
    size_t i = 2;
    while (ok && i < vid->len && vid->ptr[i] >= '0' && vid->ptr[i] <= '9') {
        i++;
    }
    if (ok && i < vid->len) {
        ok = vid->ptr[i] == '.';
        for (i++; ok && i < vid->len; i++) {
            uint8_t c = vid->ptr[i];
            ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-';
        }
    }
    if (!ok) {
        return tg_iam_pattern_error(err, *vid, "versionId", VERSION_PATTERN);
    }
    return 0;
}

/* NoSuchEntity for a version the policy does not have (AWS's text). */
static int version_not_found(struct tg_error *err, struct tg_cur arn, struct tg_cur vid)
{
    return tg_error_set(err, TG_E_NO_SUCH_ENTITY,
                        "Policy %.*s version %.*s does not exist or is not attachable.",
                        (int)arn.len, (const char *)arn.ptr, (int)vid.len, (const char *)vid.ptr);
}

/* Number of roles whose permissions boundary is this policy. */
static int64_t boundary_count(const struct tg_iam_ctx *ctx, const char *arn)
{
    int64_t n = 0;
    for (size_t i = 0; i < ctx->snap->n_roles; i++) {
        const char *b = tg_iam_doc_str(ctx->snap->roles[i].e.doc, "permissions_boundary");
        if (b != NULL && strcmp(b, arn) == 0) {
            n++;
        }
    }
    return n;
}

/* ---- XML ---- */

/* The members of the Policy structure, in the order of moto's templates;
 * the caller writes the enclosing <Policy> or <member>. */
static void xml_policy_fields(struct tg_xml *x, const struct tg_iam_ctx *ctx, const json_t *doc,
                              int64_t attachments, unsigned what)
{
    char arn[POLICY_ARN_CAP];
    const char *name = tg_iam_doc_str(doc, "name");
    const char *path = tg_iam_doc_str(doc, "path");
    const char *id = tg_iam_doc_str(doc, "policy_id");
    const char *dflt = tg_iam_doc_str(doc, "default_version");
    const char *desc = tg_iam_doc_str(doc, "description");
    policy_arn_of(ctx, doc, arn, sizeof(arn));

    tg_xml_elem_str(x, "PolicyName", name != NULL ? name : "");
    tg_xml_elem_str(x, "DefaultVersionId", dflt != NULL ? dflt : "v1");
    tg_xml_elem_str(x, "PolicyId", id != NULL ? id : "");
    tg_xml_elem_str(x, "Path", path != NULL ? path : "/");
    tg_xml_elem_str(x, "Arn", arn);
    tg_xml_elem_i64(x, "AttachmentCount", attachments);
    tg_iam_xml_doc_time(x, "CreateDate", doc, "create_date");
    tg_iam_xml_doc_time(x, "UpdateDate", doc, "update_date");
    tg_xml_elem_bool(x, "IsAttachable", true);
    tg_xml_elem_i64(x, "PermissionsBoundaryUsageCount", boundary_count(ctx, arn));
    if ((what & POLICY_XML_DESCRIPTION) != 0 && desc != NULL) {
        tg_xml_elem_str(x, "Description", desc);
    }
    if ((what & POLICY_XML_TAGS) != 0) {
        tg_iam_xml_tags(x, json_object_get(doc, "tags"), false);
    }
}

/* <PolicyVersion> of GetPolicyVersion (with the document) and
 * CreatePolicyVersion (without), or a <member> of ListPolicyVersions. */
static void xml_version(struct tg_xml *x, const char *tag, const json_t *doc, const json_t *v,
                        bool with_document)
{
    const char *id = tg_iam_doc_str(v, "id");
    const char *dflt = tg_iam_doc_str(doc, "default_version");
    tg_xml_open(x, tag);
    if (with_document) {
        const char *d = tg_iam_doc_str(v, "document");
        tg_xml_elem_urlencoded(x, "Document", tg_cur_str(d != NULL ? d : ""));
    }
    tg_xml_elem_str(x, "VersionId", id != NULL ? id : "");
    tg_xml_elem_bool(x, "IsDefaultVersion", id != NULL && dflt != NULL && strcmp(id, dflt) == 0);
    tg_iam_xml_doc_time(x, "CreateDate", v, "create_date");
    tg_xml_close(x);
}

/* ---- policies ---- */

static int create_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                         struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_kv tags[TG_IAM_MAX_TAGS + 1];
    size_t n_tags = 0;
    struct tg_cur name, path, pdoc, desc;
    bool has_path, has_desc;
    char key[POLICY_KEY_CAP];
    char policy_id[22];
    json_t *doc = NULL;
    int rc = -1;

    TG_GUARD(tg_iam_param_name(in, "PolicyName", "policyName", TG_IAM_MAX_POLICY_NAME, &name, err));
    tg_iam_param_optional(in, "Path", &path, &has_path);
    if (has_path) {
        TG_GUARD(check_policy_path(path, "path", err));
    } else {
        path = tg_cur_str("/");
    }
    TG_GUARD(tg_iam_param_required(in, "PolicyDocument", "policyDocument", &pdoc, err));
    tg_iam_param_optional(in, "Description", &desc, &has_desc);
    if (has_desc) {
        /* policyDescriptionType: 0..1000, no pattern (bc-iam) */
        TG_GUARD(tg_iam_check_length(desc, "description", 0, TG_IAM_MAX_DESCRIPTION, err));
    }
    TG_GUARD(tg_iam_param_tags(in, tags, &n_tags, err));
    /* Spec 4.6: a managed policy holds at most 6,144 characters, whitespace
     * not counted (LimitExceeded "Cannot exceed quota for PolicySize: 6144"). */
    TG_GUARD(tg_iam_check_policy(pdoc, "policyDocument", TG_POLICY_IDENTITY, TG_POLICY_MANAGED_SIZE,
                                 "PolicySize", NULL, err));

    /* Names are unique case-insensitively: the key is the lower-case name. */
    if (tg_snapshot_key_lower(name, key, sizeof(key)) < 0) {
        return tg_iam_service_failure(err, "policy key does not fit");
    }
    if (tg_snapshot_policy_by_name(ctx->snap, tg_cur_str(key)) != NULL) {
        return tg_error_set(err, TG_E_ENTITY_ALREADY_EXISTS,
                            "A policy called %.*s already exists. Duplicate names are not allowed.",
                            (int)name.len, (const char *)name.ptr);
    }
    if (ctx->snap->n_policies >= TG_IAM_MAX_POLICIES) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "Cannot exceed quota for PoliciesPerAccount: %d", TG_IAM_MAX_POLICIES);
    }

    tg_creds_unique_id("ANPA", ctx->rnd, ctx->rnd_ctx, policy_id);
    doc = json_pack("{s:s%,s:s%,s:s}", "name", (const char *)name.ptr, name.len, "path",
                    (const char *)path.ptr, path.len, "policy_id", policy_id);
    if (doc == NULL) {
        tg_iam_service_failure(err, "cannot build the policy document");
        goto out;
    }
    /* An empty Description is the same as none. */
    if (has_desc && desc.len > 0 &&
        json_object_set_new(doc, "description", json_stringn((const char *)desc.ptr, desc.len)) <
            0) {
        tg_iam_service_failure(err, "cannot set the description");
        goto out;
    }
    if (json_object_set_new(doc, "default_version", json_string("v1")) < 0 ||
        json_object_set_new(doc, "versions",
                            json_pack("[{s:s,s:s%,s:I}]", "id", "v1", "document",
                                      (const char *)pdoc.ptr, pdoc.len, "create_date",
                                      (json_int_t)ctx->now_ms)) < 0 ||
        json_object_set_new(doc, "tags", tg_iam_tags_json(tags, n_tags)) < 0 ||
        json_object_set_new(doc, "create_date", json_integer(ctx->now_ms)) < 0 ||
        json_object_set_new(doc, "update_date", json_integer(ctx->now_ms)) < 0) {
        tg_iam_service_failure(err, "cannot build the policy document");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_POLICY, key, doc, 0, err), out);
    tg_xml_open(out->xml, "Policy");
    xml_policy_fields(out->xml, ctx, doc, 0, POLICY_XML_TAGS);
    tg_xml_close(out->xml);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

static int get_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                      struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn;
    TG_GUARD(find_policy(ctx, in, &p, &arn, err));
    tg_xml_open(out->xml, "Policy");
    xml_policy_fields(out->xml, ctx, p->e.doc, p->attachment_count,
                      POLICY_XML_DESCRIPTION | POLICY_XML_TAGS);
    tg_xml_close(out->xml);
    return 0;
}

static const char *const scope_values[] = {"All", "AWS", "Local", NULL};
enum { SCOPE_ALL, SCOPE_AWS, SCOPE_LOCAL };
static const char *const usage_values[] = {"PermissionsPolicy", "PermissionsBoundary", NULL};
enum { USAGE_PERMISSIONS, USAGE_BOUNDARY };

static int list_policies(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                         struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur prefix;
    bool has_prefix, only_attached;
    int scope, usage;
    size_t start, count, n = 0;
    bool truncated;
    const struct tg_snap_policy **sel = NULL;
    int rc = -1;

    TG_GUARD(param_enum(in, "Scope", "scope", scope_values, "[All, AWS, Local]", &scope, err));
    TG_GUARD(param_bool(in, "OnlyAttached", "onlyAttached", &only_attached, err));
    TG_GUARD(param_path_prefix(in, &prefix, &has_prefix, err));
    TG_GUARD(param_enum(in, "PolicyUsageFilter", "policyUsageFilter", usage_values,
                        "[PermissionsPolicy, PermissionsBoundary]", &usage, err));
    /* Scope AWS lists AWS managed policies, of which we have none. */
    size_t total = scope == SCOPE_AWS ? 0 : ctx->snap->n_policies;
    if (total > 0) {
        sel = calloc(total, sizeof(*sel));
        if (sel == NULL) {
            return tg_iam_service_failure(err, "out of memory listing policies");
        }
    }
    /* Snapshot order is key order, the lower-case names. */
    for (size_t i = 0; i < total; i++) {
        const struct tg_snap_policy *p = &ctx->snap->policies[i];
        const char *path = tg_iam_doc_str(p->e.doc, "path");
        if (has_prefix && (path == NULL || strlen(path) < prefix.len ||
                           memcmp(path, prefix.ptr, prefix.len) != 0)) {
            continue;
        }
        if (only_attached && p->attachment_count == 0) {
            continue;
        }
        /* PolicyUsageFilter keeps the policies used that way. */
        if (usage == USAGE_PERMISSIONS && p->attachment_count == 0) {
            continue;
        }
        if (usage == USAGE_BOUNDARY) {
            char arn[POLICY_ARN_CAP];
            policy_arn_of(ctx, p->e.doc, arn, sizeof(arn));
            if (boundary_count(ctx, arn) == 0) {
                continue;
            }
        }
        sel[n++] = p;
    }
    TG_GUARD_GOTO(tg_iam_page(in, n, &start, &count, &truncated, err), out);
    tg_xml_open(out->xml, "Policies");
    for (size_t i = start; i < start + count; i++) {
        tg_xml_open(out->xml, "member");
        xml_policy_fields(out->xml, ctx, sel[i]->e.doc, sel[i]->attachment_count, POLICY_XML_LIST);
        tg_xml_close(out->xml);
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    rc = 0;
out:
    free(sel);
    return rc;
}

static int delete_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                         struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn;
    TG_GUARD(find_policy(ctx, in, &p, &arn, err));
    /* IAM requires detaching a policy everywhere and deleting its other
     * versions first (DeletePolicy API reference). */
    if (p->attachment_count > 0) {
        return tg_error_set(err, TG_E_DELETE_CONFLICT,
                            "Cannot delete a policy attached to entities.");
    }
    if (json_array_size(json_object_get(p->e.doc, "versions")) > 1) {
        return tg_error_set(err, TG_E_DELETE_CONFLICT, MSG_VERSIONS_CONFLICT);
    }
    if (tg_iam_out_delete(out, TG_ENTITY_POLICY, p->e.key, p->e.version) < 0) {
        return tg_iam_service_failure(err, "cannot queue the policy delete");
    }
    return 0;
}

/* ---- versions ---- */

static int get_policy_version(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn, vid;
    struct tg_iam_policy_arn parts;
    /* Both parameters are checked before the look-up. */
    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(param_version_id(in, &vid, err));
    p = lookup_policy(ctx, arn);
    if (p == NULL) {
        return policy_not_found(err, arn);
    }
    long i = version_find(p->e.doc, vid);
    if (i < 0) {
        return version_not_found(err, arn, vid);
    }
    xml_version(out->xml, "PolicyVersion", p->e.doc,
                json_array_get(json_object_get(p->e.doc, "versions"), (size_t)i), true);
    return 0;
}

static int list_policy_versions(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn;
    size_t start, count;
    bool truncated;
    TG_GUARD(find_policy(ctx, in, &p, &arn, err));
    const json_t *vs = json_object_get(p->e.doc, "versions");
    size_t n = json_array_size(vs);
    TG_GUARD(tg_iam_page(in, n, &start, &count, &truncated, err));
    /* Newest first, as IAM lists them (ListPolicyVersions API reference). */
    tg_xml_open(out->xml, "Versions");
    for (size_t i = start; i < start + count; i++) {
        xml_version(out->xml, "member", p->e.doc, json_array_get(vs, n - 1 - i), false);
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    return 0;
}

static int create_policy_version(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                 struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn, pdoc;
    struct tg_iam_policy_arn parts;
    bool set_default;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(tg_iam_param_required(in, "PolicyDocument", "policyDocument", &pdoc, err));
    TG_GUARD(param_bool(in, "SetAsDefault", "setAsDefault", &set_default, err));
    TG_GUARD(tg_iam_check_policy(pdoc, "policyDocument", TG_POLICY_IDENTITY, TG_POLICY_MANAGED_SIZE,
                                 "PolicySize", NULL, err));
    p = lookup_policy(ctx, arn);
    if (p == NULL) {
        return policy_not_found(err, arn);
    }
    const json_t *vs = json_object_get(p->e.doc, "versions");
    if (json_array_size(vs) >= TG_IAM_MAX_POLICY_VERSIONS) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED, MSG_VERSIONS_LIMIT);
    }
    /* The next id is one past the highest: ids are never reused while the
     * highest version exists (AWS numbers versions in creation order). */
    int64_t next = 1;
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const char *id = tg_iam_doc_str(json_array_get(vs, i), "id");
        int64_t num = 0;
        if (id != NULL && id[0] == 'v' && tg_cur_to_i64(tg_cur_str(id + 1), &num) == 0 &&
            num >= next) {
            next = num + 1;
        }
    }
    char vid[24];
    snprintf(vid, sizeof(vid), "v%lld", (long long)next);

    copy = tg_iam_doc_copy(p->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    json_t *arr = tg_iam_doc_array(copy, "versions");
    if (arr == NULL) {
        tg_iam_service_failure(err, "cannot build the versions");
        goto out;
    }
    json_t *v = json_pack("{s:s,s:s%,s:I}", "id", vid, "document", (const char *)pdoc.ptr, pdoc.len,
                          "create_date", (json_int_t)ctx->now_ms);
    /* UpdateDate is when the newest version was created (Policy data type). */
    if (json_array_append_new(arr, v) < 0 ||
        json_object_set_new(copy, "update_date", json_integer(ctx->now_ms)) < 0 ||
        (set_default && json_object_set_new(copy, "default_version", json_string(vid)) < 0)) {
        tg_iam_service_failure(err, "cannot add the version");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_POLICY, p->e.key, copy, p->e.version, err), out);
    xml_version(out->xml, "PolicyVersion", copy, json_array_get(arr, json_array_size(arr) - 1),
                false);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

/* PolicyArn and VersionId of Delete/SetDefaultPolicyVersion, resolved. */
static int find_version(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                        const struct tg_snap_policy **p, struct tg_cur *vid, size_t *idx,
                        struct tg_error *err)
{
    struct tg_cur arn;
    struct tg_iam_policy_arn parts;
    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(param_version_id(in, vid, err));
    *p = lookup_policy(ctx, arn);
    if (*p == NULL) {
        return policy_not_found(err, arn);
    }
    long i = version_find((*p)->e.doc, *vid);
    if (i < 0) {
        return version_not_found(err, arn, *vid);
    }
    *idx = (size_t)i;
    return 0;
}

static int delete_policy_version(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                 struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur vid;
    size_t idx;
    json_t *copy = NULL;
    int rc = -1;
    TG_GUARD(find_version(ctx, in, &p, &vid, &idx, err));
    const char *dflt = tg_iam_doc_str(p->e.doc, "default_version");
    if (dflt != NULL && tg_cur_eq_str(vid, dflt)) {
        /* The default goes only with the policy (DeletePolicyVersion). */
        return tg_error_set(err, TG_E_DELETE_CONFLICT,
                            "Cannot delete the default version of a policy.");
    }
    copy = tg_iam_doc_copy(p->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (json_array_remove(json_object_get(copy, "versions"), idx) < 0) {
        tg_iam_service_failure(err, "cannot remove the version");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_POLICY, p->e.key, copy, p->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int set_default_policy_version(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                      struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur vid;
    size_t idx;
    json_t *copy = NULL;
    int rc = -1;
    TG_GUARD(find_version(ctx, in, &p, &vid, &idx, err));
    const char *dflt = tg_iam_doc_str(p->e.doc, "default_version");
    if (dflt != NULL && tg_cur_eq_str(vid, dflt)) {
        return 0; /* already the default: nothing to write */
    }
    /* The snapshot compiles the default version and refuses a store where
     * it does not compile; every version was checked when it was created,
     * but check again so that a grammar made stricter since then fails
     * this call rather than the snapshot reload after the commit. */
    const char *vdoc =
        tg_iam_doc_str(json_array_get(json_object_get(p->e.doc, "versions"), idx), "document");
    TG_GUARD(tg_iam_check_policy(tg_cur_str(vdoc != NULL ? vdoc : ""), "policyDocument",
                                 TG_POLICY_IDENTITY, 0, NULL, NULL, err));
    copy = tg_iam_doc_copy(p->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (json_object_set_new(copy, "default_version", json_stringn((const char *)vid.ptr, vid.len)) <
        0) {
        tg_iam_service_failure(err, "cannot set the default version");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_POLICY, p->e.key, copy, p->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

/* ---- attachments ---- */

/* Index of arn in the role document's "attached", or -1. */
static long attached_find(const json_t *role_doc, const char *arn)
{
    const json_t *att = json_object_get(role_doc, "attached");
    for (size_t i = 0; i < json_array_size(att); i++) {
        const char *a = json_string_value(json_array_get(att, i));
        if (a != NULL && strcmp(a, arn) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static int attach_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, arn;
    struct tg_iam_policy_arn parts;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(tg_iam_param_name(in, "RoleName", "roleName", TG_IAM_MAX_ROLE_NAME, &name, err));
    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(tg_iam_find_role(ctx->snap, name, key, &r, err));
    const struct tg_snap_policy *p = lookup_policy(ctx, arn);
    if (p == NULL) {
        /* Includes AWS managed policies (arn:aws:iam::aws:policy/...),
         * which we do not hold. */
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY,
                            "Policy %.*s does not exist or is not attachable.", (int)arn.len,
                            (const char *)arn.ptr);
    }
    char parn[POLICY_ARN_CAP];
    policy_arn_of(ctx, p->e.doc, parn, sizeof(parn));
    if (attached_find(r->e.doc, parn) >= 0) {
        return 0; /* attaching again changes nothing (AttachRolePolicy) */
    }
    if (json_array_size(json_object_get(r->e.doc, "attached")) >= TG_IAM_POLICIES_PER_ROLE) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for PoliciesPerRole: %d",
                            TG_IAM_POLICIES_PER_ROLE);
    }
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    json_t *att = tg_iam_doc_array(copy, "attached");
    if (att == NULL) {
        tg_iam_service_failure(err, "cannot build the attachments");
        goto out;
    }
    if (json_array_append_new(att, json_string(parn)) < 0) {
        tg_iam_service_failure(err, "cannot attach");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int detach_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, arn;
    struct tg_iam_policy_arn parts;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(tg_iam_param_name(in, "RoleName", "roleName", TG_IAM_MAX_ROLE_NAME, &name, err));
    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(tg_iam_find_role(ctx->snap, name, key, &r, err));
    /* The ARN is compared as given: an attachment whose policy no longer
     * exists (a hand-edited store) can still be removed. */
    char *a = tg_cur_strdup(arn);
    if (a == NULL) {
        return tg_iam_service_failure(err, "out of memory");
    }
    long i = attached_find(r->e.doc, a);
    free(a);
    if (i < 0) {
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY, "Policy %.*s was not found.", (int)arn.len,
                            (const char *)arn.ptr);
    }
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (json_array_remove(json_object_get(copy, "attached"), (size_t)i) < 0) {
        tg_iam_service_failure(err, "cannot detach");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int list_attached_role_policies(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                       struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, prefix;
    bool has_prefix;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    size_t start, count, n = 0;
    bool truncated;
    struct tg_iam_policy_arn *sel = NULL;
    int rc = -1;

    TG_GUARD(tg_iam_param_name(in, "RoleName", "roleName", TG_IAM_MAX_ROLE_NAME, &name, err));
    TG_GUARD(param_path_prefix(in, &prefix, &has_prefix, err));
    TG_GUARD(tg_iam_find_role(ctx->snap, name, key, &r, err));
    const json_t *att = json_object_get(r->e.doc, "attached");
    size_t total = json_array_size(att);
    if (total > 0) {
        sel = calloc(total, sizeof(*sel));
        if (sel == NULL) {
            return tg_iam_service_failure(err, "out of memory listing attachments");
        }
    }
    /* In the order they were attached. Name and path come from the ARN
     * itself, which we wrote from the policy when attaching. */
    for (size_t i = 0; i < total; i++) {
        const json_t *a = json_array_get(att, i);
        struct tg_iam_policy_arn parts;
        if (!json_is_string(a) ||
            !tg_iam_parse_policy_arn(tg_cur_make(json_string_value(a), json_string_length(a)),
                                     &parts)) {
            continue;
        }
        if (has_prefix &&
            (parts.path.len < prefix.len || memcmp(parts.path.ptr, prefix.ptr, prefix.len) != 0)) {
            continue;
        }
        sel[n++] = parts;
    }
    TG_GUARD_GOTO(tg_iam_page(in, n, &start, &count, &truncated, err), out);
    tg_xml_open(out->xml, "AttachedPolicies");
    for (size_t i = start; i < start + count; i++) {
        tg_xml_open(out->xml, "member");
        tg_xml_elem(out->xml, "PolicyName", sel[i].name);
        tg_xml_elem(out->xml, "PolicyArn", sel[i].arn);
        tg_xml_close(out->xml);
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    rc = 0;
out:
    free(sel);
    return rc;
}

/* ---- tags ---- */

static int tag_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                      struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    size_t n_tags = 0;
    struct tg_cur arn;
    struct tg_iam_policy_arn parts;

    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(tg_iam_param_tags_required(in, tags, &n_tags, err));
    const struct tg_snap_policy *p = lookup_policy(ctx, arn);
    if (p == NULL) {
        return policy_not_found(err, arn);
    }
    return tg_iam_tag_entity(out, TG_ENTITY_POLICY, &p->e, tags, n_tags, err);
}

static int untag_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                        struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur keys[TG_IAM_MAX_TAGS];
    size_t n_keys = 0;
    struct tg_cur arn;
    struct tg_iam_policy_arn parts;

    TG_GUARD(param_policy_arn(in, &arn, &parts, err));
    TG_GUARD(tg_iam_param_tag_keys_required(in, keys, &n_keys, err));
    const struct tg_snap_policy *p = lookup_policy(ctx, arn);
    if (p == NULL) {
        return policy_not_found(err, arn);
    }
    return tg_iam_untag_entity(out, TG_ENTITY_POLICY, &p->e, keys, n_keys, err);
}

static int list_policy_tags(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                            struct tg_iam_out *out, struct tg_error *err)
{
    const struct tg_snap_policy *p;
    struct tg_cur arn;
    TG_GUARD(find_policy(ctx, in, &p, &arn, err));
    return tg_iam_xml_tags_page(out->xml, in, json_object_get(p->e.doc, "tags"), err);
}

/* has_result: whether AWS's response has an <ActionResult> element
 * (bc-iam: an output shape with a resultWrapper). */
const struct tg_iam_action tg_iam_policy_actions[] = {
    {"CreatePolicy", create_policy, true, true},
    {"GetPolicy", get_policy, true, false},
    {"ListPolicies", list_policies, true, false},
    {"DeletePolicy", delete_policy, false, true},
    {"GetPolicyVersion", get_policy_version, true, false},
    {"ListPolicyVersions", list_policy_versions, true, false},
    {"CreatePolicyVersion", create_policy_version, true, true},
    {"DeletePolicyVersion", delete_policy_version, false, true},
    {"SetDefaultPolicyVersion", set_default_policy_version, false, true},
    {"AttachRolePolicy", attach_role_policy, false, true},
    {"DetachRolePolicy", detach_role_policy, false, true},
    {"ListAttachedRolePolicies", list_attached_role_policies, true, false},
    {"TagPolicy", tag_policy, false, true},
    {"UntagPolicy", untag_policy, false, true},
    {"ListPolicyTags", list_policy_tags, true, false},
};
const size_t tg_iam_policy_actions_n = TG_ARRAY_LEN(tg_iam_policy_actions);
