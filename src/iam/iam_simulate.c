/*
 * iam_simulate: SimulateCustomPolicy and SimulatePrincipalPolicy (spec 4.5,
 * issue 4 item 7). Read-only: the policies are evaluated with
 * tg_policy_authorize against each (action, resource) pair, with the
 * caller's ContextEntries as the request context.
 *
 * Beyond AWS: a document with a Principal in PolicyInputList is a trust
 * policy, and for sts:AssumeRole* actions a role's trust policy is
 * simulated; the principal is the context's aws:FederatedProvider
 * (Federated, as tegata's STS puts it) or CallerArn (AWS). For web identity
 * the trust policy alone decides (spec 4.5 item 4). A
 * PermissionsBoundaryPolicyInputList document narrows the identity
 * policies as a session policy does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iam/iam_internal.h"

/* The input policies, and a role's own: its trust policy, its inline
 * policies (the 10,240-character aggregate keeps them far fewer than the
 * cap on names) and its attached managed ones. */
#define SIM_MAX_POLICIES                                                                           \
    (TG_IAM_SIM_MAX_POLICIES + 1 + TG_IAM_MAX_INLINE_POLICIES + TG_IAM_MAX_ATTACHED_POLICIES)

/* One policy of the simulation. */
struct sim_policy {
    struct tg_policy *compiled; /* owned when owned */
    bool owned;
    bool trust;
    const char *id;   /* SourcePolicyId */
    const char *type; /* SourcePolicyType, or NULL (input lists) */
    char id_buf[32];  /* "PolicyInputList.N" */
};

struct sim {
    struct sim_policy pol[SIM_MAX_POLICIES];
    size_t n_pol;
    struct sim_policy boundary;
    bool has_boundary;
    struct tg_cur actions[TG_IAM_SIM_MAX_ACTIONS];
    size_t n_actions;
    struct tg_cur resources[TG_IAM_SIM_MAX_RESOURCES];
    size_t n_resources;
    bool explicit_resources;
    const char *caller; /* CallerArn, NUL-terminated in text */
    /* the request context, its strings in text */
    struct tg_policy_ctx_entry ctx[TG_IAM_SIM_MAX_CONTEXT];
    size_t n_ctx;
    const char **values; /* every context value, entries point into it */
    char *text;          /* NUL-terminated copies of the strings above */
    size_t text_used, text_cap;
};

static void sim_free(struct sim *s)
{
    for (size_t i = 0; i < s->n_pol; i++) {
        if (s->pol[i].owned) {
            tg_policy_free(s->pol[i].compiled);
        }
    }
    if (s->has_boundary) {
        tg_policy_free(s->boundary.compiled);
    }
    free(s->values);
    free(s->text);
}

/* A NUL-terminated copy of c in s->text (sized for every copy up front). */
static const char *sim_str(struct sim *s, struct tg_cur c)
{
    if (c.len + 1 > s->text_cap - s->text_used) {
        return NULL;
    }
    char *d = s->text + s->text_used;
    memcpy(d, c.ptr, c.len);
    d[c.len] = '\0';
    s->text_used += c.len + 1;
    return d;
}

/* ---- parameters ------------------------------------------------------------ */

/* A list parameter of up to max members (numbered without gaps). */
static int param_list(const struct tg_form *in, const char *prefix, const char *field,
                      struct tg_cur *out, size_t max, size_t *n, struct tg_error *err)
{
    if (tg_iam_has_member(in, prefix, max + 1, "")) {
        return tg_error_set(err, TG_E_INVALID_INPUT, "%s has more than %zu members.", field, max);
    }
    return tg_form_get_list(in, prefix, out, max, n, err);
}

/* An input policy: identity, or trust when it has a Principal. */
static int compile_input(struct tg_cur doc, const char *field, struct sim_policy *sp,
                         struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(doc, field, 1, TG_POLICY_MAX_DOCUMENT, err));
    struct tg_error e2;
    if (tg_policy_parse(doc.ptr, doc.len, TG_POLICY_IDENTITY, &sp->compiled, err) == 0) {
        sp->owned = true;
        return 0;
    }
    if (tg_policy_parse(doc.ptr, doc.len, TG_POLICY_TRUST, &sp->compiled, &e2) == 0) {
        sp->owned = true;
        sp->trust = true;
        return 0;
    }
    /* IAM answers a policy it cannot evaluate with InvalidInput. */
    char msg[TG_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof(msg), "%s", err->message);
    return tg_error_set(err, TG_E_INVALID_INPUT, "%s: %s", field, msg);
}

static int param_policies(const struct tg_form *in, struct sim *s, bool required,
                          struct tg_error *err)
{
    struct tg_cur docs[TG_IAM_SIM_MAX_POLICIES];
    size_t n = 0;
    TG_GUARD(param_list(in, "PolicyInputList.member", "PolicyInputList", docs,
                        TG_IAM_SIM_MAX_POLICIES, &n, err));
    if (required && n == 0) {
        return tg_iam_null_error(err, "policyInputList");
    }
    for (size_t i = 0; i < n; i++) {
        struct sim_policy *sp = &s->pol[s->n_pol];
        memset(sp, 0, sizeof(*sp));
        snprintf(sp->id_buf, sizeof(sp->id_buf), "PolicyInputList.%zu", i + 1);
        sp->id = sp->id_buf;
        TG_GUARD(compile_input(docs[i], sp->id_buf, sp, err));
        s->n_pol++;
    }
    struct tg_cur b[2];
    size_t nb = 0;
    TG_GUARD(param_list(in, "PermissionsBoundaryPolicyInputList.member",
                        "PermissionsBoundaryPolicyInputList", b, 1, &nb, err));
    if (nb == 1) {
        memset(&s->boundary, 0, sizeof(s->boundary));
        s->boundary.id = "PermissionsBoundaryPolicyInputList.1";
        s->boundary.type = "none";
        TG_GUARD(tg_iam_check_length(b[0], "permissionsBoundaryPolicyInputList", 1,
                                     TG_POLICY_MAX_DOCUMENT, err));
        if (tg_policy_parse(b[0].ptr, b[0].len, TG_POLICY_IDENTITY, &s->boundary.compiled, err) <
            0) {
            char msg[TG_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof(msg), "%s", err->message);
            return tg_error_set(err, TG_E_INVALID_INPUT, "PermissionsBoundaryPolicyInputList.1: %s",
                                msg);
        }
        s->has_boundary = true;
    }
    return 0;
}

static const char *const context_types[] = {"string",  "stringList",  "numeric", "numericList",
                                            "boolean", "booleanList", "ip",      "ipList",
                                            "binary",  "binaryList",  "date",    "dateList"};

/* ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M,
 * ContextKeyType}: the request context. Values are kept as text: each
 * condition operator reads them as it reads a request's. */
static int param_context(const struct tg_form *in, struct sim *s, struct tg_error *err)
{
    if (tg_iam_has_member(in, "ContextEntries.member", TG_IAM_SIM_MAX_CONTEXT + 1,
                          ".ContextKeyName")) {
        return tg_error_set(err, TG_E_INVALID_INPUT, "ContextEntries has more than %d members.",
                            TG_IAM_SIM_MAX_CONTEXT);
    }
    size_t total_values = 0, total_bytes = 0;
    struct tg_cur vals[TG_IAM_SIM_MAX_CONTEXT_VALUES];
    /* First pass: sizes, so that one allocation holds every string. */
    for (size_t i = 1; i <= TG_IAM_SIM_MAX_CONTEXT; i++) {
        char name[TG_FORM_MAX_NAME];
        snprintf(name, sizeof(name), "ContextEntries.member.%zu.ContextKeyName", i);
        const struct tg_cur *key = tg_form_get(in, name);
        if (key == NULL) {
            break;
        }
        snprintf(name, sizeof(name), "ContextEntries.member.%zu.ContextKeyValues.member", i);
        size_t nv = 0;
        if (tg_iam_has_member(in, name, TG_IAM_SIM_MAX_CONTEXT_VALUES + 1, "")) {
            return tg_error_set(err, TG_E_INVALID_INPUT,
                                "ContextEntries.%zu has more than %d values.", i,
                                TG_IAM_SIM_MAX_CONTEXT_VALUES);
        }
        TG_GUARD(tg_form_get_list(in, name, vals, TG_IAM_SIM_MAX_CONTEXT_VALUES, &nv, err));
        total_values += nv;
        total_bytes += key->len + 1;
        for (size_t k = 0; k < nv; k++) {
            total_bytes += vals[k].len + 1;
        }
        if (total_bytes > TG_IAM_SIM_MAX_CONTEXT_BYTES) {
            return tg_error_set(err, TG_E_INVALID_INPUT, "ContextEntries hold more than %d bytes.",
                                TG_IAM_SIM_MAX_CONTEXT_BYTES);
        }
    }
    s->text_cap = total_bytes + 2 * TG_IAM_MAX_ARN + 2;
    s->text = malloc(s->text_cap);
    s->values = calloc(total_values > 0 ? total_values : 1, sizeof(*s->values));
    if (s->text == NULL || s->values == NULL) {
        return tg_iam_service_failure(err, "out of memory for the simulation context");
    }
    size_t used_values = 0;
    for (size_t i = 1; i <= TG_IAM_SIM_MAX_CONTEXT; i++) {
        char name[TG_FORM_MAX_NAME];
        snprintf(name, sizeof(name), "ContextEntries.member.%zu.ContextKeyName", i);
        const struct tg_cur *key = tg_form_get(in, name);
        if (key == NULL) {
            break;
        }
        char field[64];
        snprintf(field, sizeof(field), "contextEntries.%zu.member.contextKeyName", i);
        /* bc-iam ContextKeyNameType: 5..256 */
        TG_GUARD(tg_iam_check_length(*key, field, 5, 256, err));
        snprintf(name, sizeof(name), "ContextEntries.member.%zu.ContextKeyType", i);
        const struct tg_cur *type = tg_form_get(in, name);
        bool known = type == NULL;
        for (size_t t = 0; type != NULL && t < TG_ARRAY_LEN(context_types) && !known; t++) {
            known = tg_cur_eq_str(*type, context_types[t]);
        }
        if (!known) {
            snprintf(field, sizeof(field), "contextEntries.%zu.member.contextKeyType", i);
            return tg_iam_value_error(err, *type, field,
                                      "Member must satisfy enum value set: [string, stringList, "
                                      "numeric, numericList, boolean, booleanList, ip, ipList, "
                                      "binary, binaryList, date, dateList]");
        }
        snprintf(name, sizeof(name), "ContextEntries.member.%zu.ContextKeyValues.member", i);
        size_t nv = 0;
        TG_GUARD(tg_form_get_list(in, name, vals, TG_IAM_SIM_MAX_CONTEXT_VALUES, &nv, err));
        struct tg_policy_ctx_entry *e = &s->ctx[s->n_ctx];
        e->key = sim_str(s, *key);
        e->values = s->values + used_values;
        e->n_values = nv;
        for (size_t k = 0; k < nv; k++) {
            s->values[used_values++] = sim_str(s, vals[k]);
        }
        if (e->key == NULL) {
            return tg_iam_service_failure(err, "simulation context does not fit");
        }
        s->n_ctx++;
    }
    return 0;
}

static int param_common(const struct tg_form *in, struct sim *s, struct tg_error *err)
{
    TG_GUARD(param_list(in, "ActionNames.member", "ActionNames", s->actions, TG_IAM_SIM_MAX_ACTIONS,
                        &s->n_actions, err));
    if (s->n_actions == 0) {
        return tg_iam_null_error(err, "actionNames");
    }
    for (size_t i = 0; i < s->n_actions; i++) {
        char field[48];
        snprintf(field, sizeof(field), "actionNames.%zu.member", i + 1);
        /* bc-iam ActionNameType: 3..128 */
        TG_GUARD(tg_iam_check_length(s->actions[i], field, 3, 128, err));
    }
    TG_GUARD(param_list(in, "ResourceArns.member", "ResourceArns", s->resources,
                        TG_IAM_SIM_MAX_RESOURCES, &s->n_resources, err));
    s->explicit_resources = s->n_resources > 0;
    for (size_t i = 0; i < s->n_resources; i++) {
        char field[48];
        snprintf(field, sizeof(field), "resourceArns.%zu.member", i + 1);
        TG_GUARD(tg_iam_check_length(s->resources[i], field, 1, TG_IAM_MAX_ARN, err));
    }
    if (s->n_resources == 0) {
        s->resources[0] = tg_cur_str("*");
        s->n_resources = 1;
    }
    if (tg_form_get(in, "ResourcePolicy") != NULL) {
        return tg_error_set(err, TG_E_INVALID_INPUT,
                            "ResourcePolicy is not supported by this server: tegata has no "
                            "resource-based policies besides trust policies, which can be given "
                            "in PolicyInputList.");
    }
    TG_GUARD(param_context(in, s, err));
    const struct tg_cur *caller = tg_form_get(in, "CallerArn");
    if (caller != NULL) {
        TG_GUARD(tg_iam_check_length(*caller, "callerArn", 1, TG_IAM_MAX_ARN, err));
        s->caller = sim_str(s, *caller);
    }
    return 0;
}

/* ---- evaluation and the response ------------------------------------------ */

static const char *ctx_first(const struct sim *s, const char *key)
{
    for (size_t i = 0; i < s->n_ctx; i++) {
        if (strcasecmp(s->ctx[i].key, key) == 0 && s->ctx[i].n_values > 0) {
            return s->ctx[i].values[0];
        }
    }
    return NULL;
}

static bool is_assume(struct tg_cur action)
{
    static const char prefix[] = "sts:assumerole";
    return action.len >= sizeof(prefix) - 1 &&
           strncasecmp((const char *)action.ptr, prefix, sizeof(prefix) - 1) == 0;
}

static void xml_matched(struct tg_xml *x, const struct sim_policy *sp, size_t statement)
{
    struct tg_policy_pos a, b;
    tg_policy_statement_span(sp->compiled, statement, &a, &b);
    tg_xml_open(x, "member");
    tg_xml_elem_str(x, "SourcePolicyId", sp->id);
    if (sp->type != NULL) {
        tg_xml_elem_str(x, "SourcePolicyType", sp->type);
    }
    tg_xml_open(x, "StartPosition");
    tg_xml_elem_i64(x, "Line", a.line);
    tg_xml_elem_i64(x, "Column", a.column);
    tg_xml_close(x);
    tg_xml_open(x, "EndPosition");
    tg_xml_elem_i64(x, "Line", b.line);
    tg_xml_elem_i64(x, "Column", b.column);
    tg_xml_close(x);
    tg_xml_close(x);
}

/* <MatchedStatements>: the first nm statements res matched, of src (the
 * identity set) or of the boundary (the session set). */
static void xml_matched_statements(struct tg_xml *x, const struct sim *s,
                                   const struct sim_policy *const *src,
                                   const struct tg_policy_result *res, size_t nm)
{
    tg_xml_open(x, "MatchedStatements");
    for (size_t i = 0; i < nm; i++) {
        const struct sim_policy *sp = res->matched[i].set == TG_POLICY_SET_SESSION
                                          ? &s->boundary
                                          : src[res->matched[i].policy];
        xml_matched(x, sp, res->matched[i].statement);
    }
    tg_xml_close(x);
}

/* One (action, resource) pair: its <member> of EvaluationResults. */
static int simulate_one(const struct sim *s, struct tg_cur action, struct tg_cur resource,
                        struct tg_xml *x, struct tg_error *err)
{
    char action_s[129], resource_s[TG_IAM_MAX_ARN + 1];
    memcpy(action_s, action.ptr, action.len);
    action_s[action.len] = '\0';
    memcpy(resource_s, resource.ptr, resource.len);
    resource_s[resource.len] = '\0';
    bool star = tg_cur_eq_str(resource, "*");

    /* Which policies apply: trust policies for the assume actions when
     * there are any, the permission policies otherwise. */
    const struct tg_policy *set[SIM_MAX_POLICIES];
    const struct sim_policy *src[SIM_MAX_POLICIES];
    size_t n = 0;
    bool any_trust = false;
    for (size_t i = 0; i < s->n_pol; i++) {
        any_trust = any_trust || s->pol[i].trust;
    }
    bool trust_mode = is_assume(action) && any_trust;
    for (size_t i = 0; i < s->n_pol; i++) {
        if (s->pol[i].trust == trust_mode) {
            src[n] = &s->pol[i];
            set[n++] = s->pol[i].compiled;
        }
    }
    const struct tg_policy *boundary = s->has_boundary && !trust_mode ? s->boundary.compiled : NULL;
    struct tg_policy_request req = {action_s, star ? NULL : resource_s, NULL, NULL, s->ctx,
                                    s->n_ctx};
    if (trust_mode) {
        req.resource = NULL; /* the role is the resource (spec 4.3) */
        const char *fed = ctx_first(s, "aws:FederatedProvider");
        if (fed != NULL) {
            req.principal_type = "Federated";
            req.principal = fed;
        } else if (s->caller != NULL) {
            req.principal_type = "AWS";
            req.principal = s->caller;
        }
    }
    struct tg_policy_result *res = malloc(sizeof(*res));
    if (res == NULL) {
        return tg_iam_service_failure(err, "out of memory simulating");
    }
    enum tg_policy_decision d =
        tg_policy_authorize(set, n, &boundary, boundary != NULL ? 1 : 0, &req, res, NULL);

    tg_xml_open(x, "member");
    tg_xml_elem(x, "EvalActionName", action);
    tg_xml_elem(x, "EvalResourceName", resource);
    tg_xml_elem_str(x, "EvalDecision", tg_policy_decision_name(d));
    size_t nm = res->n_matched < TG_POLICY_MAX_MATCHED ? res->n_matched : TG_POLICY_MAX_MATCHED;
    size_t nmiss = res->n_missing < TG_POLICY_MAX_MISSING ? res->n_missing : TG_POLICY_MAX_MISSING;
    xml_matched_statements(x, s, src, res, nm);
    /* AWS: the missing keys of a simulation on "*" are here, those of
     * named resources in ResourceSpecificResults. */
    tg_xml_open(x, "MissingContextValues");
    for (size_t i = 0; !s->explicit_resources && i < nmiss; i++) {
        tg_xml_elem_str(x, "member", res->missing[i]);
    }
    tg_xml_close(x);
    if (boundary != NULL) {
        struct tg_policy_request breq = req;
        bool allowed =
            tg_policy_authorize(&boundary, 1, NULL, 0, &breq, NULL, NULL) == TG_POLICY_ALLOW;
        tg_xml_open(x, "PermissionsBoundaryDecisionDetail");
        tg_xml_elem_bool(x, "AllowedByPermissionsBoundary", allowed);
        tg_xml_close(x);
    }
    if (s->explicit_resources) {
        tg_xml_open(x, "ResourceSpecificResults");
        tg_xml_open(x, "member");
        tg_xml_elem(x, "EvalResourceName", resource);
        tg_xml_elem_str(x, "EvalResourceDecision", tg_policy_decision_name(d));
        xml_matched_statements(x, s, src, res, nm);
        tg_xml_open(x, "MissingContextValues");
        for (size_t i = 0; i < nmiss; i++) {
            tg_xml_elem_str(x, "member", res->missing[i]);
        }
        tg_xml_close(x);
        tg_xml_close(x);
        tg_xml_close(x);
    }
    tg_xml_close(x);
    free(res);
    return 0;
}

static int simulate(const struct tg_form *in, struct sim *s, struct tg_iam_out *out,
                    struct tg_error *err)
{
    size_t total = s->n_actions * s->n_resources;
    size_t start, count;
    bool truncated;
    TG_GUARD(tg_iam_page(in, total, &start, &count, &truncated, err));
    tg_xml_open(out->xml, "EvaluationResults");
    for (size_t k = start; k < start + count; k++) {
        TG_GUARD(simulate_one(s, s->actions[k / s->n_resources], s->resources[k % s->n_resources],
                              out->xml, err));
    }
    tg_xml_close(out->xml);
    tg_iam_xml_page_end(out->xml, start, count, truncated);
    return 0;
}

static int simulate_custom_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                  struct tg_iam_out *out, struct tg_error *err)
{
    (void)ctx;
    struct sim *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return tg_iam_service_failure(err, "out of memory");
    }
    int rc = -1;
    TG_GUARD_GOTO(param_policies(in, s, true, err), out);
    TG_GUARD_GOTO(param_common(in, s, err), out);
    rc = simulate(in, s, out, err);
out:
    sim_free(s);
    free(s);
    return rc;
}

/* The role's own policies: its trust policy, its inline and its attached
 * managed policies, as they are in the snapshot. */
static int role_policies(const struct tg_iam_ctx *ctx, const struct tg_snap_role *r, struct sim *s,
                         struct tg_error *err)
{
    struct sim_policy *sp = &s->pol[s->n_pol++];
    memset(sp, 0, sizeof(*sp));
    sp->compiled = r->trust;
    sp->trust = true;
    sp->id = "AssumeRolePolicyDocument";
    sp->type = "resource";
    const json_t *inl = json_object_get(r->e.doc, "inline_policies");
    for (size_t i = 0; i < r->n_inline && i < json_array_size(inl); i++) {
        if (s->n_pol >= SIM_MAX_POLICIES) {
            return tg_iam_service_failure(err, "too many policies to simulate");
        }
        sp = &s->pol[s->n_pol++];
        memset(sp, 0, sizeof(*sp));
        sp->compiled = r->inline_compiled[i];
        sp->id = tg_iam_doc_str(json_array_get(inl, i), "name");
        sp->type = "role";
    }
    const json_t *att = json_object_get(r->e.doc, "attached");
    for (size_t i = 0; i < json_array_size(att); i++) {
        const json_t *a = json_array_get(att, i);
        const struct tg_snap_policy *mp =
            json_is_string(a)
                ? tg_snapshot_policy_by_arn(
                      ctx->snap, tg_cur_make(json_string_value(a), json_string_length(a)))
                : NULL;
        if (mp == NULL || mp->compiled == NULL) {
            continue;
        }
        if (s->n_pol >= SIM_MAX_POLICIES) {
            return tg_iam_service_failure(err, "too many policies to simulate");
        }
        sp = &s->pol[s->n_pol++];
        memset(sp, 0, sizeof(*sp));
        sp->compiled = mp->compiled;
        sp->id = mp->arn;
        sp->type = "user-managed";
    }
    return 0;
}

static int simulate_principal_policy(const struct tg_iam_ctx *ctx, const struct tg_form *in,
                                     struct tg_iam_out *out, struct tg_error *err)
{
    struct tg_cur arn;
    TG_GUARD(tg_iam_param_required(in, "PolicySourceArn", "policySourceArn", &arn, err));
    TG_GUARD(tg_iam_check_length(arn, "policySourceArn", TG_IAM_ARN_MIN, TG_IAM_MAX_ARN, err));
    /* arn:aws:iam::ACCOUNT:role/PATH/NAME: only roles exist here. */
    const uint8_t *slash = arn.ptr + arn.len;
    while (slash > arn.ptr && slash[-1] != '/') {
        slash--;
    }
    struct tg_cur name = tg_cur_make(slash, (size_t)(arn.ptr + arn.len - slash));
    const struct tg_snap_role *r = NULL;
    char key[TG_IAM_ROLE_KEY_CAP];
    bool is_role = tg_cur_starts_with(arn, "arn:aws:iam::") && tg_cur_find(arn, '/', 0) >= 0 &&
                   memmem(arn.ptr, arn.len, ":role/", 6) != NULL;
    if (is_role && name.len > 0 && name.len <= TG_IAM_MAX_ROLE_NAME &&
        tg_snapshot_key_lower(name, key, sizeof(key)) == 0) {
        r = tg_snapshot_role(ctx->snap, tg_cur_str(key));
    }
    if (r == NULL || !tg_cur_eq_str(arn, r->arn)) {
        const char *what = memmem(arn.ptr, arn.len, ":user/", 6) != NULL    ? "user"
                           : memmem(arn.ptr, arn.len, ":group/", 7) != NULL ? "group"
                                                                            : "role";
        char e[TG_IAM_ECHO_MAX + 4];
        tg_iam_echo(name.len > 0 ? name : arn, e);
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY, "The %s with name %s cannot be found.", what,
                            e);
    }
    struct sim *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return tg_iam_service_failure(err, "out of memory");
    }
    int rc = -1;
    TG_GUARD_GOTO(role_policies(ctx, r, s, err), out);
    TG_GUARD_GOTO(param_policies(in, s, false, err), out);
    TG_GUARD_GOTO(param_common(in, s, err), out);
    rc = simulate(in, s, out, err);
out:
    sim_free(s);
    free(s);
    return rc;
}

const struct tg_iam_action tg_iam_simulate_actions[] = {
    {"SimulateCustomPolicy", simulate_custom_policy, true, false},
    {"SimulatePrincipalPolicy", simulate_principal_policy, true, false},
};
const size_t tg_iam_simulate_actions_n = TG_ARRAY_LEN(tg_iam_simulate_actions);
