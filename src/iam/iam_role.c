/*
 * iam_role: the role actions of the IAM Query API (spec 7.2): roles, their
 * trust policies, inline policies and tags. Pure over the snapshot: every
 * action reads ctx->snap and its form parameters, writes the inside of
 * <ActionResult> and queues the store writes in out. Attach/Detach and
 * ListAttachedRolePolicies live in iam_policy.c.
 *
 * Checking order in every action: parameters first (ValidationError,
 * MalformedPolicyDocument, the size quotas of the document itself), then
 * the state (NoSuchEntity, EntityAlreadyExists, DeleteConflict, the
 * account and aggregate quotas).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds/creds.h"
#include "iam/iam_internal.h"

/* roleDescriptionType (bc-iam) */
#define DESCRIPTION_PATTERN "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"
/* pathPrefixType (bc-iam) */
#define PATH_PREFIX_PATTERN "\\u002F[\\u0021-\\u007F]*"
/* roleMaxSessionDurationType (bc-iam): one hour to twelve hours */
#define SESSION_MIN 3600
#define SESSION_MAX 43200
/* "arn:aws:iam::" + 12 + ":role" + path + name, with room to spare */
#define ROLE_ARN_CAP (32 + TG_IAM_MAX_PATH + TG_IAM_MAX_ROLE_NAME)

/* Role XML variants: which optional members a response carries. */
#define ROLE_XML_LIST 0u      /* ListRoles: no PermissionsBoundary, Tags, RoleLastUsed */
#define ROLE_XML_BOUNDARY 1u  /* PermissionsBoundary, if set */
#define ROLE_XML_TAGS 2u      /* Tags, if any */
#define ROLE_XML_LAST_USED 4u /* an empty RoleLastUsed */
#define ROLE_XML_CREATE (ROLE_XML_BOUNDARY | ROLE_XML_TAGS)
#define ROLE_XML_GET (ROLE_XML_BOUNDARY | ROLE_XML_TAGS | ROLE_XML_LAST_USED)

/* ---- parameters ---- */

static int param_role_name(const struct tg_form *in, struct tg_cur *name, struct tg_error *err)
{
    return tg_iam_param_name(in, "RoleName", "roleName", TG_IAM_MAX_ROLE_NAME, name, err);
}

static int param_policy_name(const struct tg_form *in, struct tg_cur *name, struct tg_error *err)
{
    return tg_iam_param_name(in, "PolicyName", "policyName", TG_IAM_MAX_POLICY_NAME, name, err);
}

/* roleDescriptionType: 0..1000 characters of TAB, LF, CR, U+0020..U+007E
 * and U+00A1..U+00FF (bc-iam). In UTF-8 the last range is C2 A1..C2 BF
 * and C3 80..C3 BF, so a byte scan is exact. */
static int check_description(struct tg_cur v, struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(v, "description", 0, TG_IAM_MAX_DESCRIPTION, err));
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        if (c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E)) {
            continue;
        }
        if (i + 1 < v.len && ((c == 0xC2 && v.ptr[i + 1] >= 0xA1 && v.ptr[i + 1] <= 0xBF) ||
                              (c == 0xC3 && v.ptr[i + 1] >= 0x80 && v.ptr[i + 1] <= 0xBF))) {
            i++;
            continue;
        }
        return tg_iam_pattern_error(err, v, "description", DESCRIPTION_PATTERN);
    }
    return 0;
}

/* pathPrefixType: 1..512 of "/" then U+0021..U+007F (bc-iam). */
static int check_path_prefix(struct tg_cur v, struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(v, "pathPrefix", 1, TG_IAM_MAX_PATH, err));
    if (v.ptr[0] != '/') {
        return tg_iam_pattern_error(err, v, "pathPrefix", PATH_PREFIX_PATTERN);
    }
    for (size_t i = 1; i < v.len; i++) {
        if (v.ptr[i] < 0x21 || v.ptr[i] > 0x7F) {
            return tg_iam_pattern_error(err, v, "pathPrefix", PATH_PREFIX_PATTERN);
        }
    }
    return 0;
}

/*
 * PermissionsBoundary: an arnType (20..2048) naming a managed policy,
 * arn:aws:iam::<account|aws>:policy/<path/>name. A malformed ARN is
 * InvalidInput "ARN x is not valid."; a policy of ours that does not
 * exist (or one of another account, which cannot be used) is
 * NoSuchEntity "Scope ARN: x does not exist or is not attachable.", the
 * text IAM returns for a bad boundary. AWS managed policies
 * (arn:aws:iam::aws:policy/...) are accepted as they are: we do not hold
 * them, and the boundary is only stored in this milestone.
 */
static int check_boundary(const struct tg_iam_ctx *ctx, struct tg_cur arn, struct tg_error *err)
{
    struct tg_iam_policy_arn parts;
    TG_GUARD(tg_iam_check_policy_arn(arn, "permissionsBoundary", &parts, err));
    if (tg_cur_eq_str(parts.account, "aws")) {
        return 0;
    }
    if (!tg_cur_eq_str(parts.account, ctx->snap->account_id) ||
        tg_snapshot_policy_by_arn(ctx->snap, arn) == NULL) {
        char e[TG_IAM_ECHO_MAX + 4];
        tg_iam_echo(arn, e);
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY,
                            "Scope ARN: %s does not exist or is not attachable.", e);
    }
    return 0;
}

/* ---- state ---- */

/* The role named name (case-insensitively); key receives its store key. */
static int find_role(const struct tg_iam_ctx *ctx, struct tg_cur name,
                     char key[TG_IAM_ROLE_KEY_CAP], const struct tg_snap_role **out,
                     struct tg_error *err)
{
    return tg_iam_find_role(ctx->snap, name, key, out, err);
}

/* ---- XML ---- */

/* The members of the Role structure, in the order of moto's Role.to_xml
 * (spec 7.2); the caller writes the enclosing <Role> or <member>. */
static void xml_role_fields(struct tg_xml *x, const char *account, const json_t *doc, unsigned what)
{
    const char *path = tg_iam_doc_str(doc, "path");
    const char *name = tg_iam_doc_str(doc, "name");
    const char *trust = tg_iam_doc_str(doc, "trust_policy");
    const char *desc = tg_iam_doc_str(doc, "description");
    const char *boundary = tg_iam_doc_str(doc, "permissions_boundary");
    const char *role_id = tg_iam_doc_str(doc, "role_id");
    path = path != NULL ? path : "/";
    name = name != NULL ? name : "";

    tg_xml_elem_str(x, "Path", path);
    tg_xml_elemf(x, "Arn", "arn:aws:iam::%s:role%s%s", account, path, name);
    tg_xml_elem_str(x, "RoleName", name);
    tg_xml_elem_urlencoded(x, "AssumeRolePolicyDocument", tg_cur_str(trust != NULL ? trust : ""));
    if (desc != NULL) {
        tg_xml_elem_str(x, "Description", desc);
    }
    tg_iam_xml_doc_time(x, "CreateDate", doc, "create_date");
    tg_xml_elem_str(x, "RoleId", role_id != NULL ? role_id : "");
    tg_xml_elem_i64(x, "MaxSessionDuration",
                    tg_iam_doc_int(doc, "max_session_duration", SESSION_MIN));
    if ((what & ROLE_XML_BOUNDARY) != 0 && boundary != NULL) {
        tg_xml_open(x, "PermissionsBoundary");
        tg_xml_elem_str(x, "PermissionsBoundaryType", "PermissionsBoundaryPolicy");
        tg_xml_elem_str(x, "PermissionsBoundaryArn", boundary);
        tg_xml_close(x);
    }
    const json_t *tags = json_object_get(doc, "tags");
    if ((what & ROLE_XML_TAGS) != 0 && json_is_array(tags) && json_array_size(tags) > 0) {
        tg_iam_xml_tags(x, tags, false);
    }
    if ((what & ROLE_XML_LAST_USED) != 0) {
        /* We do not track use yet; AWS sends the element empty then too. */
        tg_xml_open(x, "RoleLastUsed");
        tg_xml_close(x);
    }
}

static void xml_role(struct tg_xml *x, const char *account, const json_t *doc, unsigned what)
{
    tg_xml_open(x, "Role");
    xml_role_fields(x, account, doc, what);
    tg_xml_close(x);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- the trust policy --------------------------------------------------- */

/* A provider the operator marked as shared (its tag TG_IAM_TAG_SHARED_ISSUER
 * is "true"): the identity-provider guard applies to it as to GitHub's. */
static bool operator_shared(const char *provider_key, void *arg)
{
    const struct tg_iam_ctx *ctx = arg;
    const struct tg_snap_provider *p =
        tg_snapshot_provider_by_key(ctx->snap, tg_cur_str(provider_key));
    const json_t *tags = p != NULL ? json_object_get(p->e.doc, "tags") : NULL;
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (k != NULL && v != NULL && strcasecmp(k, TG_IAM_TAG_SHARED_ISSUER) == 0) {
            return strcasecmp(v, "true") == 0;
        }
    }
    return false;
}

/* The checks of a trust policy: grammar and size (tg_iam_check_policy),
 * then the identity-provider guard for shared CI issuers (spec 3.3). */
static int check_trust(const struct tg_iam_ctx *ctx, struct tg_cur trust, const char *field,
                       struct tg_error *err)
{
    struct tg_policy *p = NULL;
    TG_GUARD(tg_iam_check_policy(trust, field, TG_POLICY_TRUST, ctx->trust_policy_max,
                                 "ACLSizePerRole", &p, err));
    int rc = tg_policy_guard(p, operator_shared, (void *)ctx, err);
    tg_policy_free(p);
    return rc;
}

/* ---- role actions ---- */

static int create_role(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                       struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_kv tags[TG_IAM_MAX_TAGS + 1];
    size_t n_tags = 0;
    struct tg_cur name, path, trust, desc, boundary;
    bool has_path, has_desc, has_boundary;
    int64_t max_session = SESSION_MIN;
    char key[TG_IAM_ROLE_KEY_CAP];
    char role_id[22];
    json_t *doc = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    tg_iam_param_optional(in, "Path", &path, &has_path);
    if (has_path) {
        TG_GUARD(tg_iam_check_path(path, "path", err));
    } else {
        path = tg_cur_str("/");
    }
    TG_GUARD(tg_iam_param_required(in, "AssumeRolePolicyDocument", "assumeRolePolicyDocument",
                                   &trust, err));
    tg_iam_param_optional(in, "Description", &desc, &has_desc);
    if (has_desc) {
        TG_GUARD(check_description(desc, err));
    }
    TG_GUARD(tg_iam_param_int(in, "MaxSessionDuration", "maxSessionDuration", SESSION_MIN,
                              SESSION_MAX, SESSION_MIN, &max_session, err));
    tg_iam_param_optional(in, "PermissionsBoundary", &boundary, &has_boundary);
    TG_GUARD(tg_iam_param_tags(in, tags, &n_tags, err));
    TG_GUARD(check_trust(ctx, trust, "assumeRolePolicyDocument", err));
    if (has_boundary) {
        TG_GUARD(check_boundary(ctx, boundary, err));
    }

    /* Names are unique case-insensitively: the key is the lower-case name. */
    if (tg_snapshot_key_lower(name, key, sizeof(key)) < 0) {
        return tg_iam_service_failure(err, "role key does not fit");
    }
    if (tg_snapshot_role(ctx->snap, tg_cur_str(key)) != NULL) {
        return tg_error_set(err, TG_E_ENTITY_ALREADY_EXISTS, "Role with name %.*s already exists.",
                            (int)name.len, (const char *)name.ptr);
    }
    if (ctx->snap->n_roles >= TG_IAM_MAX_ROLES) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for RolesPerAccount: %d",
                            TG_IAM_MAX_ROLES);
    }

    tg_creds_unique_id("AROA", ctx->rnd, ctx->rnd_ctx, role_id);
    doc = json_pack("{s:s%,s:s%,s:s,s:s%}", "name", (const char *)name.ptr, name.len, "path",
                    (const char *)path.ptr, path.len, "role_id", role_id, "trust_policy",
                    (const char *)trust.ptr, trust.len);
    if (doc == NULL) {
        tg_iam_service_failure(err, "cannot build the role document");
        goto out;
    }
    if (has_desc && desc.len > 0 &&
        json_object_set_new(doc, "description", json_stringn((const char *)desc.ptr, desc.len)) <
            0) {
        tg_iam_service_failure(err, "cannot set the description");
        goto out;
    }
    if (json_object_set_new(doc, "max_session_duration", json_integer(max_session)) < 0) {
        tg_iam_service_failure(err, "cannot set the session duration");
        goto out;
    }
    if (has_boundary &&
        json_object_set_new(doc, "permissions_boundary",
                            json_stringn((const char *)boundary.ptr, boundary.len)) < 0) {
        tg_iam_service_failure(err, "cannot set the boundary");
        goto out;
    }
    if (json_object_set_new(doc, "tags", tg_iam_tags_json(tags, n_tags)) < 0 ||
        json_object_set_new(doc, "inline_policies", json_array()) < 0 ||
        json_object_set_new(doc, "attached", json_array()) < 0 ||
        json_object_set_new(doc, "create_date", json_integer(ctx->now_ms)) < 0) {
        tg_iam_service_failure(err, "cannot build the role document");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, doc, 0, err), out);
    xml_role(out->xml, ctx->snap->account_id, doc, ROLE_XML_CREATE);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

static int get_role(const struct tg_iam_ctx *ctx, const struct tg_form *in, struct tg_iam_out *out,
                    struct tg_error *err)
{
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    xml_role(out->xml, ctx->snap->account_id, r->e.doc, ROLE_XML_GET);
    return 0;
}

static int list_roles(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                      struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur prefix;
    bool has_prefix;
    size_t start, count, n = 0;
    bool truncated;
    const json_t **docs = NULL;
    int rc = -1;

    tg_iam_param_optional(in, "PathPrefix", &prefix, &has_prefix);
    if (has_prefix) {
        TG_GUARD(check_path_prefix(prefix, err));
    }
    if (ctx->snap->n_roles > 0) {
        docs = calloc(ctx->snap->n_roles, sizeof(*docs));
        if (docs == NULL) {
            return tg_iam_service_failure(err, "out of memory listing roles");
        }
    }
    /* Snapshot order is key order, the lower-case names. */
    for (size_t i = 0; i < ctx->snap->n_roles; i++) {
        const json_t *doc = ctx->snap->roles[i].e.doc;
        const char *path = tg_iam_doc_str(doc, "path");
        if (has_prefix && (path == NULL || strlen(path) < prefix.len ||
                           !tg_cur_eq(tg_cur_make(path, prefix.len), prefix))) {
            continue;
        }
        docs[n++] = doc;
    }
    TG_GUARD_GOTO(tg_iam_page(in, n, &start, &count, &truncated, err), out);
    tg_xml_open(out->xml, "Roles");
    for (size_t i = start; i < start + count; i++) {
        tg_xml_open(out->xml, "member");
        xml_role_fields(out->xml, ctx->snap->account_id, docs[i], ROLE_XML_LIST);
        tg_xml_close(out->xml);
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    rc = 0;
out:
    free(docs);
    return rc;
}

/* Description "" removes it: a role without one shows no Description. */
static int set_description(json_t *doc, struct tg_cur desc, struct tg_error *err)
{
    if (desc.len == 0) {
        json_object_del(doc, "description");
        return 0;
    }
    if (json_object_set_new(doc, "description", json_stringn((const char *)desc.ptr, desc.len)) <
        0) {
        return tg_iam_service_failure(err, "cannot set the description");
    }
    return 0;
}

static int update_role(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                       struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, desc;
    bool has_desc;
    bool has_max = tg_form_get(in, "MaxSessionDuration") != NULL;
    int64_t max_session = 0;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    tg_iam_param_optional(in, "Description", &desc, &has_desc);
    if (has_desc) {
        TG_GUARD(check_description(desc, err));
    }
    TG_GUARD(tg_iam_param_int(in, "MaxSessionDuration", "maxSessionDuration", SESSION_MIN,
                              SESSION_MAX, SESSION_MIN, &max_session, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    if (!has_desc && !has_max) {
        return 0; /* nothing to change; AWS answers success */
    }
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (has_desc) {
        TG_GUARD_GOTO(set_description(copy, desc, err), out);
    }
    if (has_max &&
        json_object_set_new(copy, "max_session_duration", json_integer(max_session)) < 0) {
        tg_iam_service_failure(err, "cannot set the session duration");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int update_role_description(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                   struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, desc;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(tg_iam_param_required(in, "Description", "description", &desc, err));
    TG_GUARD(check_description(desc, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    TG_GUARD_GOTO(set_description(copy, desc, err), out);
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    xml_role(out->xml, ctx->snap->account_id, copy, ROLE_XML_GET);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int update_assume_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                     struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, trust;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(tg_iam_param_required(in, "PolicyDocument", "policyDocument", &trust, err));
    TG_GUARD(check_trust(ctx, trust, "policyDocument", err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (json_object_set_new(copy, "trust_policy",
                            json_stringn((const char *)trust.ptr, trust.len)) < 0) {
        tg_iam_service_failure(err, "cannot set the trust policy");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int delete_role(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                       struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    /* The API requires removing a role's policies first (spec 7.2);
     * attached ones are reported before inline ones, as moto does. */
    if (json_array_size(json_object_get(r->e.doc, "attached")) > 0) {
        return tg_error_set(err, TG_E_DELETE_CONFLICT,
                            "Cannot delete entity, must detach all policies first.");
    }
    if (json_array_size(json_object_get(r->e.doc, "inline_policies")) > 0) {
        return tg_error_set(err, TG_E_DELETE_CONFLICT,
                            "Cannot delete entity, must delete policies first.");
    }
    if (tg_iam_out_delete(out, TG_ENTITY_ROLE, key, r->e.version) < 0) {
        return tg_iam_service_failure(err, "cannot queue the role delete");
    }
    return 0;
}

/* ---- inline policies ---- */

/* Index of the inline policy named exactly pname (AWS compares policy
 * names case-sensitively), or -1. */
static long inline_find(const json_t *arr, struct tg_cur pname)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *n = tg_iam_doc_str(json_array_get(arr, i), "name");
        if (n != NULL && tg_cur_eq_str(pname, n)) {
            return (long)i;
        }
    }
    return -1;
}

static int put_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                           struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name, pname, pdoc;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    json_t *copy = NULL;
    json_t *item = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(param_policy_name(in, &pname, err));
    TG_GUARD(tg_iam_param_required(in, "PolicyDocument", "policyDocument", &pdoc, err));
    /* The size quota of inline policies is per role (below), not per document. */
    TG_GUARD(tg_iam_check_policy(pdoc, "policyDocument", TG_POLICY_IDENTITY, 0, NULL, NULL, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));

    const json_t *cur = json_object_get(r->e.doc, "inline_policies");
    long same = inline_find(cur, pname);
    /* Spec 4.6: a role's inline policies together hold at most 10,240
     * characters, whitespace not counted; the put replaces a same-named one. */
    size_t total = tg_policy_size(pdoc.ptr, pdoc.len);
    for (size_t i = 0; i < json_array_size(cur); i++) {
        const char *d = tg_iam_doc_str(json_array_get(cur, i), "document");
        if ((long)i != same && d != NULL) {
            total += tg_policy_size((const uint8_t *)d, strlen(d));
        }
    }
    if (total > TG_POLICY_INLINE_ROLE_SIZE ||
        (same < 0 && json_array_size(cur) >= TG_IAM_MAX_INLINE_POLICIES)) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "Maximum policy size of %d bytes exceeded for role %s",
                            TG_POLICY_INLINE_ROLE_SIZE, r->name);
    }

    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    json_t *arr = tg_iam_doc_array(copy, "inline_policies");
    item = json_pack("{s:s%,s:s%}", "name", (const char *)pname.ptr, pname.len, "document",
                     (const char *)pdoc.ptr, pdoc.len);
    if (arr == NULL || item == NULL) {
        tg_iam_service_failure(err, "cannot build the inline policy");
        goto out;
    }
    /* json_array_*_new take the reference even when they fail. */
    json_t *it = item;
    item = NULL;
    if ((same >= 0 ? json_array_set_new(arr, (size_t)same, it) : json_array_append_new(arr, it)) <
        0) {
        tg_iam_service_failure(err, "cannot store the inline policy");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(item);
    json_decref(copy);
    return rc;
}

/* RoleName and PolicyName of Get/DeleteRolePolicy, resolved to the role
 * and the index of its inline policy. */
static int find_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                            char key[TG_IAM_ROLE_KEY_CAP], const struct tg_snap_role **r,
                            size_t *idx, struct tg_error *err)
{
    struct tg_cur name, pname;
    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(param_policy_name(in, &pname, err));
    TG_GUARD(find_role(ctx, name, key, r, err));
    long i = inline_find(json_object_get((*r)->e.doc, "inline_policies"), pname);
    if (i < 0) {
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY,
                            "The role policy with name %.*s cannot be found.", (int)pname.len,
                            (const char *)pname.ptr);
    }
    *idx = (size_t)i;
    return 0;
}

static int get_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                           struct tg_iam_out *out, struct tg_error *err)
{
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    size_t idx;
    TG_GUARD(find_role_policy(ctx, in, key, &r, &idx, err));
    const json_t *p = json_array_get(json_object_get(r->e.doc, "inline_policies"), idx);
    const char *pname = tg_iam_doc_str(p, "name");
    const char *pdoc = tg_iam_doc_str(p, "document");
    tg_xml_elem_str(out->xml, "RoleName", r->name);
    tg_xml_elem_str(out->xml, "PolicyName", pname != NULL ? pname : "");
    tg_xml_elem_urlencoded(out->xml, "PolicyDocument", tg_cur_str(pdoc != NULL ? pdoc : ""));
    return 0;
}

static int delete_role_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    size_t idx;
    json_t *copy = NULL;
    int rc = -1;
    TG_GUARD(find_role_policy(ctx, in, key, &r, &idx, err));
    copy = tg_iam_doc_copy(r->e.doc, err);
    if (copy == NULL) {
        return -1;
    }
    if (json_array_remove(json_object_get(copy, "inline_policies"), idx) < 0) {
        tg_iam_service_failure(err, "cannot remove the inline policy");
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, TG_ENTITY_ROLE, key, copy, r->e.version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int list_role_policies(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                              struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;
    size_t start, count, n = 0;
    bool truncated;
    const char **names = NULL;
    int rc = -1;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    const json_t *arr = json_object_get(r->e.doc, "inline_policies");
    if (json_array_size(arr) > 0) {
        names = calloc(json_array_size(arr), sizeof(*names));
        if (names == NULL) {
            return tg_iam_service_failure(err, "out of memory listing policies");
        }
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *pname = tg_iam_doc_str(json_array_get(arr, i), "name");
        if (pname != NULL) {
            names[n++] = pname;
        }
    }
    if (n > 1) {
        qsort(names, n, sizeof(*names), cmp_cstr);
    }
    TG_GUARD_GOTO(tg_iam_page(in, n, &start, &count, &truncated, err), out);
    tg_xml_open(out->xml, "PolicyNames");
    for (size_t i = start; i < start + count; i++) {
        tg_xml_elem_str(out->xml, "member", names[i]);
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    rc = 0;
out:
    free(names);
    return rc;
}

/* ---- tags ---- */

static int tag_role(const struct tg_iam_ctx *ctx, const struct tg_form *in, struct tg_iam_out *out,
                    struct tg_error *err)
{
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    size_t n_tags = 0;
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(tg_iam_param_tags_required(in, tags, &n_tags, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    return tg_iam_tag_entity(out, TG_ENTITY_ROLE, &r->e, tags, n_tags, err);
}

static int untag_role(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                      struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur keys[TG_IAM_MAX_TAGS];
    size_t n_keys = 0;
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(tg_iam_param_tag_keys_required(in, keys, &n_keys, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    return tg_iam_untag_entity(out, TG_ENTITY_ROLE, &r->e, keys, n_keys, err);
}

static int list_role_tags(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                          struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur name;
    char key[TG_IAM_ROLE_KEY_CAP];
    const struct tg_snap_role *r;

    TG_GUARD(param_role_name(in, &name, err));
    TG_GUARD(find_role(ctx, name, key, &r, err));
    return tg_iam_xml_tags_page(out->xml, in, json_object_get(r->e.doc, "tags"), err);
}

/* has_result: whether AWS's response has an <ActionResult> element
 * (bc-iam: an output shape with a resultWrapper). UpdateRole has one, empty. */
const struct tg_iam_action tg_iam_role_actions[] = {
    {"CreateRole", create_role, true, true},
    {"GetRole", get_role, true, false},
    {"ListRoles", list_roles, true, false},
    {"UpdateRole", update_role, true, true},
    {"UpdateRoleDescription", update_role_description, true, true},
    {"UpdateAssumeRolePolicy", update_assume_role_policy, false, true},
    {"DeleteRole", delete_role, false, true},
    {"PutRolePolicy", put_role_policy, false, true},
    {"GetRolePolicy", get_role_policy, true, false},
    {"ListRolePolicies", list_role_policies, true, false},
    {"DeleteRolePolicy", delete_role_policy, false, true},
    {"TagRole", tag_role, false, true},
    {"UntagRole", untag_role, false, true},
    {"ListRoleTags", list_role_tags, true, false},
};
const size_t tg_iam_role_actions_n = TG_ARRAY_LEN(tg_iam_role_actions);
