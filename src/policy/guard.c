/*
 * guard: the identity-provider controls of IAM for shared OIDC issuers
 * (spec 3.3). Pure, over the compiled form.
 *
 * AWS refuses, at CreateRole and UpdateAssumeRolePolicy, a trust policy
 * that trusts GitHub's issuer without "evaluating, using StringEquals,
 * StringLike or StringEqualsIgnoreCase, <provider>:sub which is not scoped
 * to all". tegata does the same for GitHub and for the other CI issuers
 * whose one issuer URL serves every customer, and for those an operator
 * marks.
 */
#include <string.h>
#include <strings.h>

#include "policy/policy.h"
#include "policy/policy_internal.h"

#define PROVIDER_ARN_PREFIX "arn:aws:iam::"
#define PROVIDER_ARN_PART ":oidc-provider/"

/* A family of shared issuers and subjects of very different tenants: a
 * pattern that matches all of them matches every tenant ("scoped to
 * all"). */
struct family {
    const char *key; /* the provider key, or its prefix when prefix */
    bool prefix;     /* key ends with '/': any path below it */
    const char *subjects[4];
};

static const struct family families[] = {
    {"token.actions.githubusercontent.com",
     false,
     {"repo:octo-org/octo-repo:ref:refs/heads/main", "repo:zz9/yy8:pull_request",
      "repo:o@1/r@2:environment:prod", NULL}},
    {"token.actions.githubusercontent.com/",
     true,
     {"repo:octo-org/octo-repo:ref:refs/heads/main", "repo:zz9/yy8:pull_request",
      "repo:o@1/r@2:environment:prod", NULL}},
    {"gitlab.com",
     false,
     {"project_path:group/project:ref_type:branch:ref:main",
      "project_path:z/y/x:ref_type:tag:ref:v1", NULL, NULL}},
    {"oidc.circleci.com/org/",
     true,
     {"org/0a1b/project/2c3d/user/4e5f", "org/ffff/project/eeee/user/dddd", NULL, NULL}},
    {"vstoken.dev.azure.com/", true, {"sc://org/project/connection", "sc://zz/yy/xx", NULL, NULL}},
    {"app.terraform.io",
     false,
     {"organization:o:project:p:workspace:w:run_phase:apply",
      "organization:zz:project:yy:workspace:xx:run_phase:plan", NULL, NULL}},
};

/* Subjects for an issuer an operator marks shared: only '*' covers them. */
static const char *const other_subjects[] = {"a", "zzzz:yyyy/xxxx", NULL};

/* Provider keys: the host compares without case, the path with it. */
static bool key_is(const char *key, const struct family *f)
{
    size_t n = strlen(f->key);
    const char *slash = strchr(f->key, '/');
    size_t host = slash != NULL ? (size_t)(slash - f->key) : n;
    if (strlen(key) < n || strncasecmp(key, f->key, host) != 0 ||
        strncmp(key + host, f->key + host, n - host) != 0) {
        return false;
    }
    return f->prefix ? key[n] != '\0' : key[n] == '\0';
}

static const struct family *family_of(const char *key)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(families); i++) {
        if (key_is(key, &families[i])) {
            return &families[i];
        }
    }
    return NULL;
}

bool tg_policy_shared_issuer(const char *provider_key)
{
    return provider_key != NULL && family_of(provider_key) != NULL;
}

const char *tg_policy_provider_key_of(struct pstr arn)
{
    if (arn.len <= strlen(PROVIDER_ARN_PREFIX) ||
        strncmp(arn.s, PROVIDER_ARN_PREFIX, strlen(PROVIDER_ARN_PREFIX)) != 0) {
        return NULL;
    }
    const char *part = strstr(arn.s + strlen(PROVIDER_ARN_PREFIX), PROVIDER_ARN_PART);
    if (part == NULL || part[strlen(PROVIDER_ARN_PART)] == '\0') {
        return NULL;
    }
    return part + strlen(PROVIDER_ARN_PART);
}

bool tg_policy_gives_web_identity(const struct statement *st)
{
    if (!st->allow || st->principal_kind != PK_PRINCIPAL) {
        return false;
    }
    struct tg_cur want = tg_cur_str("sts:assumerolewithwebidentity");
    bool m = false;
    for (size_t i = 0; i < st->n_actions && !m; i++) {
        m = tg_policy_glob(tg_cur_make(st->actions[i].text.s, st->actions[i].text.len), want, true);
    }
    return st->action_kind == LK_NEGATED ? !m : m;
}

/* Is value scoped to all subjects of the family? */
static bool scoped_to_all(const struct pattern *v, enum cond_op op, const struct family *f)
{
    size_t stars = strspn(v->text.s, "*");
    if (v->text.len > 0 && stars == v->text.len) {
        return true; /* "*", "**": every subject, whatever the operator */
    }
    if (op != OP_STRING_LIKE || (v->flags & PAT_VAR) != 0) {
        return false; /* an exact value, or one built from the request */
    }
    const char *const *subjects = f != NULL ? f->subjects : other_subjects;
    for (size_t i = 0; subjects[i] != NULL; i++) {
        if (!tg_policy_glob(tg_cur_make(v->text.s, v->text.len), tg_cur_str(subjects[i]), false)) {
            return false;
        }
    }
    return true;
}

/* Does the statement evaluate KEY:sub as the guard asks? */
static bool checks_sub(const struct statement *st, const char *key, const struct family *f)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i < st->n_conditions; i++) {
        const struct condition *cd = &st->conditions[i];
        if (cd->qual != SQ_NONE || cd->key.len != kn + 4 || strncasecmp(cd->key.s, key, kn) != 0 ||
            strcasecmp(cd->key.s + kn, ":sub") != 0) {
            continue;
        }
        if (cd->op != OP_STRING_EQUALS && cd->op != OP_STRING_LIKE &&
            cd->op != OP_STRING_EQUALS_IGNORE_CASE) {
            continue;
        }
        /* The values are alternatives: one that admits every subject
         * makes the whole condition admit every subject. */
        bool scoped = cd->n_values > 0;
        for (size_t k = 0; k < cd->n_values && scoped; k++) {
            scoped = !scoped_to_all(&cd->values[k], cd->op, f);
        }
        if (scoped) {
            return true;
        }
    }
    return false;
}

int tg_policy_guard(const struct tg_policy *p, tg_policy_shared_fn shared, void *ctx,
                    struct tg_error *err)
{
    if (p == NULL || p->kind != TG_POLICY_TRUST) {
        return 0;
    }
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        if (!tg_policy_gives_web_identity(st)) {
            continue;
        }
        for (size_t k = 0; k < st->n_principals; k++) {
            const struct principal *pr = &st->principals[k];
            const char *key =
                pr->type == PR_FEDERATED ? tg_policy_provider_key_of(pr->value) : NULL;
            if (key == NULL) {
                continue;
            }
            const struct family *f = family_of(key);
            if (f == NULL && (shared == NULL || !shared(key, ctx))) {
                continue;
            }
            if (!checks_sub(st, key, f)) {
                tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT,
                             "Trust policy with trusted principal %.*s must evaluate, using "
                             "StringEquals, StringLike or StringEqualsIgnoreCase, %s:sub which is "
                             "not scoped to all.",
                             (int)pr->value.len, pr->value.s, key);
                return tg_error_detail(err,
                                       "statement %zu: no condition on %s:sub limits the "
                                       "subjects (spec 3.3)",
                                       st->index, key);
            }
        }
    }
    return 0;
}
