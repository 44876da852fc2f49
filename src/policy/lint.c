/*
 * lint: `tegata policy check` (issue 4 item 9). Pure, over the document's
 * text and its compiled form.
 *
 * Errors are what IAM (and tegata's IAM) refuses: anything tg_policy_parse
 * refuses, characters outside IAM's set, sizes past the quotas, and for
 * trust policies the identity-provider guard (spec 3.3). Warnings are
 * documents IAM accepts that do not do what their author meant: the
 * pitfalls of spec 4.4 and 10 and the subject formats of ci-tokens.md.
 * Every finding points at the statement, condition key or value it is
 * about; docs/policy.md lists the rules with an example each.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

#define QUOTE_MAX 200  /* bytes of a value or key quoted in a message */
#define SUGGEST_MAX 64 /* longest name a "did you mean" is computed for */
#define PATH_MAX_EL 8  /* Statement, [i], Condition, operator, key, [k] */
#define WRAP_EXTRA 64  /* {"Version":,"Statement":[]} around one statement */
#define MSG_SID "Statement IDs (SID) in a single policy must be unique."
#define MSG_VERSION "Policy document must be version 2012-10-17 or greater."

/* ---- the run ---------------------------------------------------------------- */

struct lint {
    struct tg_cur text;
    const struct tg_policy *p; /* NULL when the document does not compile */
    tg_policy_shared_fn shared;
    void *shared_ctx;
    bool stmt_array; /* "Statement" is an array (else one object) */
    struct tg_policy_report *out;
    size_t cap;
    bool oom;
};

static void add(struct lint *l, enum tg_policy_severity sev, const char *rule,
                struct tg_policy_pos pos, const char *fmt, ...) TG_PRINTF(5, 6);

static void add(struct lint *l, enum tg_policy_severity sev, const char *rule,
                struct tg_policy_pos pos, const char *fmt, ...)
{
    struct tg_policy_report *r = l->out;
    if (sev == TG_POLICY_ERROR) {
        r->n_errors++;
    } else {
        r->n_warnings++;
    }
    if (r->n >= TG_POLICY_LINT_MAX_FINDINGS) {
        return;
    }
    if (r->n == l->cap) {
        size_t cap = l->cap == 0 ? 8 : l->cap * 2;
        struct tg_policy_finding *f = realloc(r->findings, cap * sizeof(*f));
        if (f == NULL) {
            l->oom = true;
            return;
        }
        r->findings = f;
        l->cap = cap;
    }
    struct tg_policy_finding *f = &r->findings[r->n++];
    f->severity = sev;
    f->rule = rule;
    if (pos.line == 0) {
        pos.line = 1;
        pos.column = 1;
    }
    f->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        f->message[0] = '\0';
    }
}

/* s[0..n) as a double-quoted string for a message: quotes, backslashes and
 * control characters escaped, cut after QUOTE_MAX bytes. out holds at least
 * QUOTE_MAX * 4 + 8 bytes. */
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)
static const char *quote(char out[QUOTE_BUF], const char *s, size_t n)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, QUOTE_BUF - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (n > QUOTE_MAX) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* ---- places ------------------------------------------------------------------- */

static struct tg_policy_pos pos_at(const struct lint *l, size_t off)
{
    struct tg_policy_pos p;
    tg_json_line_col(l->text, off, &p.line, &p.column);
    return p;
}

static struct tg_policy_pos pos_of(const struct lint *l, const uint8_t *at)
{
    return pos_at(l, (size_t)(at - l->text.ptr));
}

static struct tg_policy_pos stmt_pos(const struct lint *l, size_t i)
{
    struct tg_policy_pos start, end;
    tg_policy_statement_span(l->p, i, &start, &end);
    return start;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The offset of the '"' that opens the string whose closing quote is at
 * close, or SIZE_MAX. A '"' inside a JSON string is always escaped. */
static size_t string_open(struct tg_cur t, size_t close)
{
    size_t j = close;
    while (j > 0) {
        j--;
        if (t.ptr[j] != '"') {
            continue;
        }
        size_t bs = 0;
        while (bs < j && t.ptr[j - 1 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 0) {
            return j;
        }
    }
    return SIZE_MAX;
}

/* The offset of the name of the member whose value starts at v, or
 * SIZE_MAX. */
static size_t key_before(struct tg_cur t, size_t v)
{
    size_t i = v;
    while (i > 0 && is_ws(t.ptr[i - 1])) {
        i--;
    }
    if (i == 0 || t.ptr[i - 1] != ':') {
        return SIZE_MAX;
    }
    i--;
    while (i > 0 && is_ws(t.ptr[i - 1])) {
        i--;
    }
    if (i == 0 || t.ptr[i - 1] != '"') {
        return SIZE_MAX;
    }
    return string_open(t, i - 1);
}

/* A path into the document: "Statement", "[i]" when it is an array, ... */
struct path {
    const char *el[PATH_MAX_EL];
    size_t n;
    char idx[24];
    char sub[24];
    char op[96];
};

static void path_stmt(const struct lint *l, struct path *p, size_t i)
{
    p->n = 0;
    p->el[p->n++] = "Statement";
    if (l->stmt_array) {
        snprintf(p->idx, sizeof(p->idx), "[%zu]", i);
        p->el[p->n++] = p->idx;
    }
}

static bool locate(const struct lint *l, const struct path *p, struct tg_cur *out)
{
    return tg_json_locate(l->text, p->el, p->n, out) == 0 && out->len > 0;
}

/* The place of member el of statement i: its name when key, else its value;
 * the statement when it cannot be found. */
static struct tg_policy_pos element_pos(const struct lint *l, size_t i, const char *el, bool key,
                                        struct tg_policy_pos fallback)
{
    struct path p;
    struct tg_cur v;
    path_stmt(l, &p, i);
    p.el[p.n++] = el;
    if (!locate(l, &p, &v)) {
        return fallback;
    }
    size_t off = (size_t)(v.ptr - l->text.ptr);
    size_t k = key ? key_before(l->text, off) : off;
    return pos_at(l, k != SIZE_MAX ? k : off);
}

static void op_name(const struct condition *cd, char *out, size_t cap)
{
    static const char *const quals[] = {"", "ForAnyValue:", "ForAllValues:"};
    (void)tg_concat(out, cap, quals[cd->qual], tg_policy_op_names[cd->op],
                    cd->if_exists ? "IfExists" : "", NULL);
}

/* The value of the condition's key in the document. */
static bool cond_value(const struct lint *l, size_t i, const struct condition *cd,
                       struct tg_cur *out)
{
    struct path p;
    path_stmt(l, &p, i);
    p.el[p.n++] = "Condition";
    op_name(cd, p.op, sizeof(p.op));
    p.el[p.n++] = p.op;
    p.el[p.n++] = cd->key.s; /* raw text; a key with escapes is not found */
    return locate(l, &p, out);
}

static struct tg_policy_pos cond_key_pos(const struct lint *l, size_t i, const struct condition *cd)
{
    struct tg_cur v;
    if (!cond_value(l, i, cd, &v)) {
        return stmt_pos(l, i);
    }
    size_t off = (size_t)(v.ptr - l->text.ptr);
    size_t k = key_before(l->text, off);
    return pos_at(l, k != SIZE_MAX ? k : off);
}

static struct tg_policy_pos cond_value_pos(const struct lint *l, size_t i,
                                           const struct condition *cd, size_t k)
{
    struct tg_cur v;
    if (!cond_value(l, i, cd, &v)) {
        return stmt_pos(l, i);
    }
    if (v.ptr[0] != '[') {
        return k == 0 ? pos_of(l, v.ptr) : cond_key_pos(l, i, cd);
    }
    struct tg_cur item;
    size_t n = 0;
    if (tg_json_array_spans(v, &item, 0, &n) < 0 || k >= n) {
        return cond_key_pos(l, i, cd);
    }
    struct tg_cur *items = malloc(n * sizeof(*items));
    struct tg_policy_pos pos = cond_key_pos(l, i, cd);
    if (items != NULL && tg_json_array_spans(v, items, n, &n) == 0 && k < n) {
        pos = pos_of(l, items[k].ptr);
    }
    free(items);
    return pos;
}

/* The k-th principal of statement i (its type's k'-th value). */
static struct tg_policy_pos principal_pos(const struct lint *l, size_t i, size_t k)
{
    const struct statement *st = &l->p->statements[i];
    const struct principal *pr = &st->principals[k];
    size_t nth = 0;
    for (size_t j = 0; j < k; j++) {
        nth += st->principals[j].type == pr->type;
    }
    struct path p;
    struct tg_cur v;
    path_stmt(l, &p, i);
    p.el[p.n++] = st->principal_kind == PK_PRINCIPAL ? "Principal" : "NotPrincipal";
    p.el[p.n++] = tg_policy_principal_type_names[pr->type];
    if (!locate(l, &p, &v)) {
        return stmt_pos(l, i);
    }
    if (v.ptr[0] == '[') {
        snprintf(p.sub, sizeof(p.sub), "[%zu]", nth);
        p.el[p.n++] = p.sub;
        if (!locate(l, &p, &v)) {
            return stmt_pos(l, i);
        }
    }
    return pos_of(l, v.ptr);
}

/* ---- names ---------------------------------------------------------------------- */

static bool eq_nocase(const char *a, size_t an, const char *b)
{
    return strlen(b) == an && strncasecmp(a, b, an) == 0;
}

static bool prefix_nocase(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && strncasecmp(s, prefix, pn) == 0;
}

/* Levenshtein distance of a and b (ASCII case folded), both at most
 * SUGGEST_MAX bytes. */
static size_t distance(const char *a, size_t an, const char *b, size_t bn)
{
    size_t row[SUGGEST_MAX + 1];
    for (size_t j = 0; j <= bn; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];
            bool same = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ||
                        (unsigned char)a[i - 1] == (unsigned char)b[j - 1];
            size_t best = diag + (same ? 0 : 1);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

/* The name of list closest to s, if it is close enough to be a typo. */
static const char *suggest(const char *s, size_t n, const char *const *list)
{
    const char *best = NULL;
    size_t bd = SIZE_MAX;
    if (n == 0 || n > SUGGEST_MAX) {
        return NULL;
    }
    for (size_t i = 0; list[i] != NULL; i++) {
        size_t ln = strlen(list[i]);
        if (ln > SUGGEST_MAX) {
            continue;
        }
        size_t d = distance(s, n, list[i], ln);
        if (d < bd) {
            bd = d;
            best = list[i];
        }
    }
    return bd <= 2 && bd * 3 < n ? best : NULL;
}

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (eq_nocase(s, n, list[i])) {
            return true;
        }
    }
    return false;
}

/* ---- what each CI's tokens hold (ci-tokens.md) -------------------------------- */

/* The subject formats: what a pattern must spell out before its first
 * wildcard to stay within one repository, project, workspace or pipeline. */
enum shape {
    SH_NONE,
    SH_GITHUB,    /* repo:OWNER/REPO:context (1.4) */
    SH_GITLAB,    /* project_path:GROUP/PROJECT:ref_type:...:ref:... (2) */
    SH_CIRCLECI,  /* org/ORG/project/PROJECT/user/USER[/vcs-origin/...] (3) */
    SH_AZURE,     /* sc://ORG/PROJECT/CONNECTION, p://ORG/PROJECT/PIPELINE (4) */
    SH_TERRAFORM, /* organization:ORG:project:PROJECT:workspace:WS:run_phase:... (7) */
    SH_BUILDKITE, /* organization:ORG:pipeline:PIPELINE:ref:...:commit:...:step:... (6) */
};

static const char *const shape_nouns[] = {
    "every subject of the issuer",
    "repositories",
    "projects",
    "projects",
    "projects",
    "workspaces",
    "pipelines",
};
static const char *const shape_hints[] = {
    "",
    "repo:OWNER/REPO:",
    "project_path:GROUP/PROJECT:",
    "org/ORG_ID/project/PROJECT_ID/",
    "sc://ORGANIZATION/PROJECT/",
    "organization:ORG:project:PROJECT:workspace:WORKSPACE:",
    "organization:ORG:pipeline:PIPELINE:",
};

/* Claims every issuer's tokens have (RFC 7519 4.1); CircleCI's list in
 * ci-tokens.md does not show jti and nbf, which are kept to stay quiet. */
static const char *const standard_claims[] = {"iss", "sub", "aud", "exp",
                                              "nbf", "iat", "jti", NULL};
/* clang-format off */
static const char *const github_claims[] = {
    "actor", "actor_id", "base_ref", "head_ref", "enterprise", "enterprise_id", "environment",
    "event_name", "job_workflow_ref", "job_workflow_sha", "ref", "ref_type", "repository",
    "repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "run_id",
    "run_number", "run_attempt", "runner_environment", "sha", "workflow", "workflow_ref",
    "workflow_sha", NULL,
};
/* clang-format on */
/* clang-format off */
static const char *const gitlab_claims[] = {
    "namespace_id", "namespace_path", "project_id", "project_path", "user_id", "user_login",
    "user_email", "user_access_level", "user_identities", "pipeline_id", "pipeline_source",
    "job_id", "ref", "ref_type", "ref_path", "ref_protected", "groups_direct", "environment",
    "environment_protected", "deployment_tier", "environment_action", "runner_id",
    "runner_environment", "sha", "ci_config_ref_uri", "ci_config_sha", "project_visibility", NULL,
};
/* clang-format on */
static const char *const gitlab_multi[] = {"groups_direct", NULL};
static const char *const circleci_claims[] = {
    "oidc.circleci.com/project-id",  "oidc.circleci.com/vcs-origin", "oidc.circleci.com/vcs-ref",
    "oidc.circleci.com/context-ids", "oidc.circleci.com/ssh-rerun",  NULL};
static const char *const circleci_multi[] = {"oidc.circleci.com/context-ids", NULL};
/* Claims whose value names one repository or project: any wildcard spans. */
static const char *const github_repo_claims[] = {"repository", NULL};
static const char *const gitlab_repo_claims[] = {"project_path", NULL};

struct family {
    const char *name; /* for messages */
    enum shape shape;
    const char *const *claims; /* besides standard_claims; NULL: not documented enough */
    const char *const *multi;  /* multi-valued claims */
    const char *const *repo_claims;
};

static const struct family f_github = {"GitHub Actions", SH_GITHUB, github_claims, NULL,
                                       github_repo_claims};
static const struct family f_gitlab = {"GitLab.com", SH_GITLAB, gitlab_claims, gitlab_multi,
                                       gitlab_repo_claims};
static const struct family f_circleci = {"CircleCI", SH_CIRCLECI, circleci_claims, circleci_multi,
                                         NULL};
static const struct family f_azure = {"Azure DevOps", SH_AZURE, NULL, NULL, NULL};
static const struct family f_terraform = {"HCP Terraform", SH_TERRAFORM, NULL, NULL, NULL};
static const struct family f_buildkite = {"Buildkite", SH_BUILDKITE, NULL, NULL, NULL};

/* host == want (without case) and the rest of the key after it is empty
 * (path_ok false) or a non-empty path (path_ok true: "/..."). */
static bool host_is(const char *k, size_t n, const char *want, bool exact, bool path)
{
    size_t wn = strlen(want);
    if (n < wn || strncasecmp(k, want, wn) != 0) {
        return false;
    }
    if (n == wn) {
        return exact;
    }
    return path && k[wn] == '/' && n > wn + 1;
}

/* The family of a provider key (host and path, no scheme), or NULL. */
static const struct family *family_of(const char *k, size_t n)
{
    if (host_is(k, n, "token.actions.githubusercontent.com", true, true)) {
        return &f_github;
    }
    /* GHE.com: token.actions.<subdomain>.ghe.com[/<enterprise>] */
    size_t host = 0;
    while (host < n && k[host] != '/') {
        host++;
    }
    if (prefix_nocase(k, host, "token.actions.") && host > strlen("token.actions..ghe.com") &&
        strncasecmp(k + host - strlen(".ghe.com"), ".ghe.com", strlen(".ghe.com")) == 0) {
        return &f_github;
    }
    if (host_is(k, n, "gitlab.com", true, false)) {
        return &f_gitlab;
    }
    if (n > strlen("oidc.circleci.com/org/") && prefix_nocase(k, n, "oidc.circleci.com/") &&
        strncmp(k + strlen("oidc.circleci.com"), "/org/", 5) == 0) {
        return &f_circleci;
    }
    if (host_is(k, n, "vstoken.dev.azure.com", false, true)) {
        return &f_azure;
    }
    if (host_is(k, n, "app.terraform.io", true, false)) {
        return &f_terraform;
    }
    if (host_is(k, n, "agent.buildkite.com", true, false)) {
        return &f_buildkite;
    }
    return NULL;
}

/* A condition key "<provider>:<claim>" of a known issuer. */
struct pkey {
    const struct family *f;
    const char *provider; /* into the key */
    size_t provider_len;
    const char *claim;
    size_t claim_len;
};

static bool pkey_of(const struct condition *cd, struct pkey *out)
{
    const char *colon = memchr(cd->key.s, ':', cd->key.len);
    if (colon == NULL) {
        return false;
    }
    out->provider = cd->key.s;
    out->provider_len = (size_t)(colon - cd->key.s);
    out->claim = colon + 1;
    out->claim_len = cd->key.len - out->provider_len - 1;
    out->f = family_of(out->provider, out->provider_len);
    return out->f != NULL;
}

/* ---- AWS's global condition keys (IAM User Guide, "AWS global condition
 * context keys"; spec 3.4 for the tag keys) ------------------------------------ */

/* clang-format off */
static const char *const aws_keys[] = {
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:ChatbotSourceArn",
    "aws:CurrentTime", "aws:Ec2InstanceSourcePrivateIPv4", "aws:Ec2InstanceSourceVpc",
    "aws:EpochTime", "aws:FederatedProvider", "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType",
    "aws:Referer", "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID",
    "aws:ResourceOrgPaths", "aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn",
    "aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:SourceVpc",
    "aws:SourceVpcArn", "aws:SourceVpce", "aws:TagKeys", "aws:TokenIssueTime", "aws:UserAgent",
    "aws:userid", "aws:username", "aws:ViaAWSService", "aws:VpcSourceIp", "aws:VpceAccount",
    "aws:VpceOrgID", "aws:VpceOrgPaths", NULL,
};
/* clang-format on */
/* Keys with a tag name after the slash. */
static const char *const aws_tag_keys[] = {"aws:PrincipalTag/", "aws:RequestTag/",
                                           "aws:ResourceTag/", NULL};
static const char *const aws_multi[] = {
    "aws:CalledVia",        "aws:PrincipalOrgPaths",
    "aws:ResourceOrgPaths", "aws:SourceOrgPaths",
    "aws:VpceOrgPaths",     "aws:PrincipalServiceNamesList",
    "aws:TagKeys",          NULL,
};

static bool aws_key_known(const char *k, size_t n)
{
    if (in_list(k, n, aws_keys)) {
        return true;
    }
    for (size_t i = 0; aws_tag_keys[i] != NULL; i++) {
        if (prefix_nocase(k, n, aws_tag_keys[i]) && n > strlen(aws_tag_keys[i])) {
            return true;
        }
    }
    return false;
}

/* Is the key single-valued in every request? Unknown keys are not. */
static bool key_single(const struct condition *cd)
{
    const char *k = cd->key.s;
    size_t n = cd->key.len;
    if (prefix_nocase(k, n, "aws:")) {
        return aws_key_known(k, n) && !in_list(k, n, aws_multi);
    }
    struct pkey pk;
    if (pkey_of(cd, &pk)) {
        if (in_list(pk.claim, pk.claim_len, standard_claims)) {
            return true;
        }
        return pk.f->claims != NULL && in_list(pk.claim, pk.claim_len, pk.f->claims) &&
               !in_list(pk.claim, pk.claim_len, pk.f->multi);
    }
    /* Any other provider: the claims every OIDC token has one value of
     * (the key is "<host/path>:<claim>"; a dev-mode host may have a port). */
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (k[i] == ':') {
            last = k + i;
        }
    }
    if (last == NULL || last == k) {
        return false;
    }
    static const char *const single[] = {"sub", "aud", "azp", "iss", "email", NULL};
    return in_list(last + 1, n - (size_t)(last + 1 - k), single);
}

/* ---- statements -------------------------------------------------------------------- */

/* The provider key a Federated principal gives its condition keys: the
 * KEY of an OIDC provider ARN, or a built-in name (accounts.google.com);
 * NULL for SAML providers and other principal types. */
static const char *trusted_key(const struct principal *pr)
{
    if (pr->type != PR_FEDERATED) {
        return NULL;
    }
    const char *k = tg_policy_provider_key_of(pr->value);
    if (k != NULL) {
        return k;
    }
    return strncmp(pr->value.s, "arn:", 4) != 0 ? pr->value.s : NULL;
}

/* Is the condition on "<key>:<claim>" (key compared without case)? */
static bool cond_on(const struct condition *cd, const char *key, const char *claim)
{
    size_t kn = strlen(key), cn = strlen(claim);
    return cd->key.len == kn + 1 + cn && strncasecmp(cd->key.s, key, kn) == 0 &&
           cd->key.s[kn] == ':' && strcasecmp(cd->key.s + kn + 1, claim) == 0;
}

static bool op_negated(enum cond_op op)
{
    return op == OP_STRING_NOT_EQUALS || op == OP_STRING_NOT_EQUALS_IGNORE_CASE ||
           op == OP_STRING_NOT_LIKE || op == OP_NUMERIC_NOT_EQUALS || op == OP_DATE_NOT_EQUALS ||
           op == OP_NOT_IP_ADDRESS || op == OP_ARN_NOT_EQUALS || op == OP_ARN_NOT_LIKE;
}

static bool op_string_positive(enum cond_op op)
{
    return op == OP_STRING_EQUALS || op == OP_STRING_EQUALS_IGNORE_CASE || op == OP_STRING_LIKE;
}

/* The length of the part of v that is literal text: up to the first '*',
 * '?' (when wild) or policy variable (when vars). */
static size_t literal_prefix(const struct pattern *v, bool wild)
{
    bool vars = (v->flags & PAT_VAR) != 0;
    for (size_t i = 0; i < v->text.len; i++) {
        char c = v->text.s[i];
        if (wild && (c == '*' || c == '?')) {
            return i;
        }
        if (vars && c == '$' && i + 1 < v->text.len && v->text.s[i + 1] == '{') {
            return i;
        }
    }
    return v->text.len;
}

/* ---- rule: guard (error) --------------------------------------------------------- */

/* tg_policy_guard on each (statement, principal) alone, so that every
 * failure is found and pointed at. */
static void rule_guard(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t k = 0; k < st->n_principals; k++) {
            struct statement one = *st;
            one.principals = &st->principals[k];
            one.n_principals = 1;
            struct tg_policy view = *p;
            view.statements = &one;
            view.n_statements = 1;
            struct tg_error err;
            memset(&err, 0, sizeof(err));
            if (tg_policy_guard(&view, l->shared, l->shared_ctx, &err) == 0) {
                continue;
            }
            /* At the sub condition that does not count, else at the
             * principal that needs one. */
            const char *key = trusted_key(&st->principals[k]);
            struct tg_policy_pos pos = principal_pos(l, i, k);
            for (size_t c = 0; key != NULL && c < st->n_conditions; c++) {
                if (cond_on(&st->conditions[c], key, "sub")) {
                    pos = cond_key_pos(l, i, &st->conditions[c]);
                    break;
                }
            }
            add(l, TG_POLICY_ERROR, "guard", pos, "%s", err.message);
        }
    }
}

/* ---- rule: no-subject (warning) ---------------------------------------------------- */

/* Claims that say nothing about who the workload is. */
static const char *const anonymous_claims[] = {"aud", "azp", "iss", "exp", "nbf",
                                               "iat", "jti", "amr", NULL};

static bool shared_key(const struct lint *l, const char *key)
{
    return tg_policy_shared_issuer(key) || (l->shared != NULL && l->shared(key, l->shared_ctx));
}

/* Trust statements for an issuer the guard does not cover that check no
 * claim naming the workload: every token of the issuer (with an accepted
 * audience) passes. */
static void rule_no_subject(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        if (!tg_policy_gives_web_identity(st)) {
            continue;
        }
        for (size_t k = 0; k < st->n_principals; k++) {
            const char *key = st->principals[k].type == PR_FEDERATED
                                  ? tg_policy_provider_key_of(st->principals[k].value)
                                  : NULL;
            if (key == NULL || shared_key(l, key)) {
                continue;
            }
            size_t kn = strlen(key);
            bool named = false;
            for (size_t c = 0; c < st->n_conditions && !named; c++) {
                const struct condition *cd = &st->conditions[c];
                if (cd->key.len <= kn + 1 || strncasecmp(cd->key.s, key, kn) != 0 ||
                    cd->key.s[kn] != ':' || op_negated(cd->op) || cd->op == OP_NULL ||
                    cd->qual == SQ_FOR_ALL_VALUES || cd->if_exists) {
                    continue;
                }
                const char *claim = cd->key.s + kn + 1;
                named = !in_list(claim, strlen(claim), anonymous_claims);
            }
            if (!named) {
                char q[QUOTE_BUF];
                add(l, TG_POLICY_WARNING, "no-subject", principal_pos(l, i, k),
                    "no condition on %s:sub or another claim that names the workload: every "
                    "token of the issuer %s with an accepted audience can assume the role",
                    key, quote(q, key, kn));
            }
        }
    }
}

/* ---- rule: sub-spans (warning) ------------------------------------------------------ */

static bool shape_pins(enum shape sh, const char *s, size_t n)
{
    const char *e = s + n;
    const char *q;
    switch (sh) {
    case SH_GITHUB:
        /* repo:OWNER/REPO: (owner names have no '/') */
        s += strlen("repo:");
        q = memchr(s, '/', (size_t)(e - s));
        return q != NULL && q > s && memchr(q + 1, ':', (size_t)(e - q - 1)) != NULL &&
               *(q + 1) != ':';
    case SH_GITLAB:
        s += strlen("project_path:");
        q = memchr(s, '/', (size_t)(e - s));
        return q != NULL && q > s && memchr(q + 1, ':', (size_t)(e - q - 1)) != NULL &&
               *(q + 1) != ':';
    case SH_CIRCLECI: {
        s += strlen("org/");
        const char *proj = NULL;
        for (const char *c = s; c + strlen("/project/") <= e; c++) {
            if (memcmp(c, "/project/", strlen("/project/")) == 0) {
                proj = c + strlen("/project/");
                break;
            }
        }
        return proj != NULL && proj < e && memchr(proj, '/', (size_t)(e - proj)) != NULL &&
               *proj != '/';
    }
    case SH_AZURE: {
        s = strstr(s, "://") + 3; /* the lead has it */
        const char *a = memchr(s, '/', (size_t)(e - s));
        return a != NULL && a > s && memchr(a + 1, '/', (size_t)(e - a - 1)) != NULL &&
               *(a + 1) != '/';
    }
    case SH_TERRAFORM:
    case SH_BUILDKITE: {
        s += strlen("organization:");
        const char *a = memchr(s, ':', (size_t)(e - s));
        if (a == NULL || a == s) {
            return false;
        }
        a++;
        const char *want = sh == SH_TERRAFORM ? "project:" : "pipeline:";
        if ((size_t)(e - a) < strlen(want) || memcmp(a, want, strlen(want)) != 0) {
            return false;
        }
        a += strlen(want);
        const char *b = memchr(a, ':', (size_t)(e - a));
        if (b == NULL || b == a) {
            return false;
        }
        if (sh == SH_BUILDKITE) {
            return true;
        }
        b++;
        if ((size_t)(e - b) < strlen("workspace:") || memcmp(b, "workspace:", 10) != 0) {
            return false;
        }
        b += strlen("workspace:");
        const char *c = memchr(b, ':', (size_t)(e - b));
        return c != NULL && c > b;
    }
    case SH_NONE:
        break;
    }
    return false;
}

static const char *shape_lead(enum shape sh)
{
    static const char *const leads[] = {"", "repo:", "project_path:", "org/", "sc://", NULL, NULL};
    return sh < TG_ARRAY_LEN(leads) && leads[sh] != NULL ? leads[sh] : "organization:";
}

/* The shape a pattern's literal text starts with, for issuers tegata does
 * not know (a self-hosted GitLab sends GitLab's subjects). */
static enum shape shape_by_lead(const char *s, size_t n)
{
    if (n >= 5 && memcmp(s, "repo:", 5) == 0) {
        return SH_GITHUB;
    }
    if (n >= 13 && memcmp(s, "project_path:", 13) == 0) {
        return SH_GITLAB;
    }
    if (n >= 4 && memcmp(s, "org/", 4) == 0) {
        return SH_CIRCLECI;
    }
    if ((n >= 5 && memcmp(s, "sc://", 5) == 0) || (n >= 4 && memcmp(s, "p://", 4) == 0)) {
        return SH_AZURE;
    }
    if (n >= 13 && memcmp(s, "organization:", 13) == 0) {
        const char *a = memchr(s + 13, ':', n - 13);
        if (a != NULL && (size_t)(s + n - a) > 8 && memcmp(a + 1, "pipeline:", 9) == 0) {
            return SH_BUILDKITE;
        }
        return SH_TERRAFORM;
    }
    return SH_NONE;
}

/* Does the StringLike pattern v of a sub key span subjects of different
 * repositories (projects, ...)? *sh gets the shape it was judged by. */
static bool sub_spans(const struct pattern *v, const struct family *f, enum shape *sh)
{
    size_t lit = literal_prefix(v, true);
    const char *s = v->text.s;
    *sh = f != NULL ? f->shape : shape_by_lead(s, lit);
    if (lit == v->text.len) {
        return false; /* no wildcard: one subject */
    }
    if (lit == 0) {
        return true;
    }
    if (*sh == SH_NONE) {
        return false;
    }
    const char *lead = shape_lead(*sh);
    if (*sh == SH_AZURE && lit >= 4 && memcmp(s, "p://", 4) == 0) {
        lead = "p://";
    }
    size_t ln = strlen(lead);
    if (lit < ln || memcmp(s, lead, ln) != 0) {
        /* A wildcard inside the lead ("re*") spans; another text is a
         * customized subject (GitHub's include_claim_keys) we cannot judge. */
        return lit < ln && memcmp(s, lead, lit) == 0;
    }
    return !shape_pins(*sh, s, lit);
}

static void rule_sub_spans(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t c = 0; c < st->n_conditions; c++) {
            const struct condition *cd = &st->conditions[c];
            if (cd->op != OP_STRING_LIKE) {
                continue;
            }
            struct pkey pk;
            bool known = pkey_of(cd, &pk);
            /* "<provider>:sub"; the provider may have a port (--dev) */
            bool is_sub = cd->key.len > 4 && strcasecmp(cd->key.s + cd->key.len - 4, ":sub") == 0;
            bool is_repo = known && in_list(pk.claim, pk.claim_len, pk.f->repo_claims);
            if (!is_sub && !is_repo) {
                continue;
            }
            for (size_t k = 0; k < cd->n_values; k++) {
                const struct pattern *v = &cd->values[k];
                enum shape sh = SH_NONE;
                bool spans = is_sub ? sub_spans(v, known ? pk.f : NULL, &sh)
                                    : literal_prefix(v, true) < v->text.len;
                if (!spans) {
                    continue;
                }
                char qv[QUOTE_BUF], qk[QUOTE_BUF];
                if (is_repo) {
                    add(l, TG_POLICY_WARNING, "sub-spans", cond_value_pos(l, i, cd, k),
                        "StringLike pattern %s of %s spans %s: name one exactly",
                        quote(qv, v->text.s, v->text.len), quote(qk, cd->key.s, cd->key.len),
                        pk.f->shape == SH_GITHUB ? "repositories" : "projects");
                } else if (literal_prefix(v, true) == 0 || sh == SH_NONE) {
                    add(l, TG_POLICY_WARNING, "sub-spans", cond_value_pos(l, i, cd, k),
                        "StringLike pattern %s of %s matches %s: any workload the issuer "
                        "serves can assume the role",
                        quote(qv, v->text.s, v->text.len), quote(qk, cd->key.s, cd->key.len),
                        shape_nouns[SH_NONE]);
                } else {
                    add(l, TG_POLICY_WARNING, "sub-spans", cond_value_pos(l, i, cd, k),
                        "StringLike pattern %s of %s spans %s: any of them can assume the role "
                        "(spell out \"%s\" before the first wildcard)",
                        quote(qv, v->text.s, v->text.len), quote(qk, cd->key.s, cd->key.len),
                        shape_nouns[sh], shape_hints[sh]);
                }
            }
        }
    }
}

/* ---- rule: github-immutable-sub (warning) ------------------------------------------ */

/* Can the pattern match only GitHub's old subjects "repo:OWNER/REPO:...",
 * never "repo:OWNER@OWNER_ID/REPO@REPO_ID:..." (spec 3.3)? False for
 * patterns of other (customized) subject formats: nothing to say. */
static bool old_subjects_only(const struct pattern *v, bool like)
{
    const char *s = v->text.s;
    size_t lit = like ? literal_prefix(v, true) : literal_prefix(v, false);
    if (lit < 5 || memcmp(s, "repo:", 5) != 0) {
        return false;
    }
    /* OWNER, then REPO: a segment with a wildcard may hold "@ID"; a
     * literal one holds it only if it has an '@'. */
    size_t i = 5;
    for (int seg = 0; seg < 2; seg++) {
        char end = seg == 0 ? '/' : ':';
        size_t start = i;
        while (i < lit && v->text.s[i] != end) {
            i++;
        }
        if (i >= lit) {
            /* the wildcard (or the end) comes inside the segment */
            return lit == v->text.len && memchr(s + start, '@', i - start) == NULL;
        }
        if (memchr(s + start, '@', i - start) == NULL) {
            return true;
        }
        i++;
    }
    return false;
}

static void rule_github_immutable(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t c = 0; c < st->n_conditions; c++) {
            const struct condition *cd = &st->conditions[c];
            struct pkey pk;
            if (!op_string_positive(cd->op) || !pkey_of(cd, &pk) || pk.f != &f_github ||
                !eq_nocase(pk.claim, pk.claim_len, "sub") || cd->n_values == 0) {
                continue;
            }
            bool old = true;
            for (size_t k = 0; k < cd->n_values && old; k++) {
                old = old_subjects_only(&cd->values[k], cd->op == OP_STRING_LIKE);
            }
            if (!old) {
                continue;
            }
            char qk[QUOTE_BUF];
            add(l, TG_POLICY_WARNING, "github-immutable-sub", cond_key_pos(l, i, cd),
                "no pattern of %s matches GitHub's immutable subjects "
                "\"repo:OWNER@OWNER_ID/REPO@REPO_ID:...\", which repositories created, renamed "
                "or transferred after 2026-07-15 send: add that form too, or check "
                "repository_id",
                quote(qk, cd->key.s, cd->key.len));
        }
    }
}

/* ---- rule: equals-wildcard (warning) ------------------------------------------------- */

static void rule_equals_wildcard(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t c = 0; c < st->n_conditions; c++) {
            const struct condition *cd = &st->conditions[c];
            bool neg = cd->op == OP_STRING_NOT_EQUALS || cd->op == OP_STRING_NOT_EQUALS_IGNORE_CASE;
            if (!neg && cd->op != OP_STRING_EQUALS && cd->op != OP_STRING_EQUALS_IGNORE_CASE) {
                continue;
            }
            for (size_t k = 0; k < cd->n_values; k++) {
                const struct pattern *v = &cd->values[k];
                /* '*' inside ${...} (as in ${*}) is not a wildcard anyway */
                bool wild = false;
                for (size_t j = 0; j < v->text.len && !wild; j++) {
                    char ch = v->text.s[j];
                    if ((v->flags & PAT_VAR) != 0 && ch == '$' && j + 1 < v->text.len &&
                        v->text.s[j + 1] == '{') {
                        const char *close = memchr(v->text.s + j, '}', v->text.len - j);
                        j = close != NULL ? (size_t)(close - v->text.s) : v->text.len;
                        continue;
                    }
                    wild = ch == '*' || ch == '?';
                }
                if (!wild) {
                    continue;
                }
                char name[96], qv[QUOTE_BUF];
                op_name(cd, name, sizeof(name));
                add(l, TG_POLICY_WARNING, "equals-wildcard", cond_value_pos(l, i, cd, k),
                    "%s compares %s literally: '*' and '?' are wildcards only in %s (was %s "
                    "meant?)",
                    name, quote(qv, v->text.s, v->text.len), neg ? "StringNotLike" : "StringLike",
                    neg ? "StringNotLike" : "StringLike");
            }
        }
    }
}

/* ---- rule: for-all-values (warning) --------------------------------------------------- */

/* A Null condition with "false" on the key: the key must be present. */
static bool requires_present(const struct statement *st, const struct condition *cd)
{
    for (size_t c = 0; c < st->n_conditions; c++) {
        const struct condition *o = &st->conditions[c];
        if (o->op == OP_NULL && o->qual == SQ_NONE && o->n_values == 1 &&
            strcmp(o->values[0].text.s, "false") == 0 &&
            strcmp(o->key_lower.s, cd->key_lower.s) == 0) {
            return true;
        }
    }
    return false;
}

static void rule_for_all_values(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t c = 0; c < st->n_conditions; c++) {
            const struct condition *cd = &st->conditions[c];
            if (cd->qual != SQ_FOR_ALL_VALUES) {
                continue;
            }
            char name[96], plain[96], qk[QUOTE_BUF];
            op_name(cd, name, sizeof(name));
            (void)tg_concat(plain, sizeof(plain), tg_policy_op_names[cd->op],
                            cd->if_exists ? "IfExists" : "", NULL);
            quote(qk, cd->key.s, cd->key.len);
            if (key_single(cd)) {
                add(l, TG_POLICY_WARNING, "for-all-values", cond_key_pos(l, i, cd),
                    "%s on the single-valued key %s: set operators are for multi-valued keys, "
                    "and ForAllValues: is also true when the key is missing, so a token "
                    "without that claim passes (use %s)",
                    name, qk, plain);
            } else if (st->allow && !requires_present(st, cd)) {
                add(l, TG_POLICY_WARNING, "for-all-values", cond_key_pos(l, i, cd),
                    "%s on %s in an Allow statement is true when the key is missing or empty, "
                    "so a request without it passes (use ForAnyValue:, or add "
                    "\"Null\": {%s: \"false\"})",
                    name, qk, qk);
            }
        }
    }
}

/* ---- rule: unknown-key (warning) ------------------------------------------------------- */

static void rule_unknown_key(struct lint *l)
{
    const struct tg_policy *p = l->p;
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        for (size_t c = 0; c < st->n_conditions; c++) {
            const struct condition *cd = &st->conditions[c];
            const char *k = cd->key.s;
            size_t n = cd->key.len;
            char qk[QUOTE_BUF], hint[SUGGEST_MAX + 40] = "";
            if (prefix_nocase(k, n, "aws:")) {
                if (aws_key_known(k, n)) {
                    continue;
                }
                const char *s = suggest(k, n, aws_keys);
                if (s != NULL) {
                    snprintf(hint, sizeof(hint), " (did you mean %s?)", s);
                }
                add(l, TG_POLICY_WARNING, "unknown-key", cond_key_pos(l, i, cd),
                    "unknown global condition key %s: AWS defines no such key, so it never has "
                    "a value%s",
                    quote(qk, k, n), hint);
                continue;
            }
            const char *colon = memchr(k, ':', n);
            if (colon == NULL) {
                continue;
            }
            /* A "<host>:<claim>" key in a trust statement must be for a
             * provider the statement trusts. */
            bool host = memchr(k, '.', (size_t)(colon - k)) != NULL;
            bool federated = false, trusted = false;
            const char *some = NULL;
            for (size_t j = 0; j < st->n_principals && host; j++) {
                const char *tk = trusted_key(&st->principals[j]);
                if (tk == NULL) {
                    continue;
                }
                federated = true;
                some = some != NULL ? some : tk;
                size_t tn = strlen(tk);
                trusted = trusted || (n > tn && strncasecmp(k, tk, tn) == 0 && k[tn] == ':');
            }
            if (federated && !trusted) {
                char qs[QUOTE_BUF], pre[QUOTE_MAX + 2];
                snprintf(pre, sizeof(pre), "%s:", some);
                add(l, TG_POLICY_WARNING, "unknown-key", cond_key_pos(l, i, cd),
                    "condition key %s is not for a provider this statement trusts (their keys "
                    "start with %s), so it never has a value",
                    quote(qk, k, n), quote(qs, pre, strlen(pre)));
                continue;
            }
            struct pkey pk;
            if (!pkey_of(cd, &pk) || pk.f->claims == NULL ||
                in_list(pk.claim, pk.claim_len, standard_claims) ||
                in_list(pk.claim, pk.claim_len, pk.f->claims)) {
                continue;
            }
            const char *s = suggest(pk.claim, pk.claim_len, pk.f->claims);
            if (s == NULL) {
                s = suggest(pk.claim, pk.claim_len, standard_claims);
            }
            if (s != NULL) {
                snprintf(hint, sizeof(hint), " (did you mean %s?)", s);
            }
            char qc[QUOTE_BUF];
            add(l, TG_POLICY_WARNING, "unknown-key", cond_key_pos(l, i, cd),
                "unknown condition key %s: %s tokens have no claim %s, so it never has a "
                "value%s",
                quote(qk, k, n), pk.f->name, quote(qc, pk.claim, pk.claim_len), hint);
        }
    }
}

/* ---- rules on the text: characters and size (errors, warnings) ------------------- */

/* IAM's characters: TAB, LF, CR, U+0020..U+00FF (spec 4.6; bc-iam
 * policyDocumentType). The first one outside, if any. */
static void rule_characters(struct lint *l)
{
    const uint8_t *d = l->text.ptr;
    size_t n = l->text.len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                add(l, TG_POLICY_ERROR, "characters", pos_at(l, i),
                    "control character U+%04X is not allowed in a policy (IAM accepts TAB, LF, "
                    "CR and U+0020..U+00FF)",
                    c);
                return;
            }
            continue;
        }
        size_t sl = tg_utf8_seq(d + i, n - i);
        if (sl == 0) {
            add(l, TG_POLICY_ERROR, "characters", pos_at(l, i),
                "byte 0x%02X is not UTF-8 (a policy is UTF-8 text)", c);
            return;
        }
        uint32_t cp = (uint32_t)(c & (0x7F >> sl));
        for (size_t k = 1; k < sl; k++) {
            cp = (cp << 6) | (d[i + k] & 0x3F);
        }
        if (cp > 0xFF) {
            add(l, TG_POLICY_ERROR, "characters", pos_at(l, i),
                "character U+%04X is not allowed in a policy (IAM accepts TAB, LF, CR and "
                "U+0020..U+00FF)",
                (unsigned)cp);
            return;
        }
        i += sl - 1;
    }
}

static void rule_size(struct lint *l, enum tg_policy_kind kind)
{
    size_t size = tg_policy_size(l->text.ptr, l->text.len);
    struct tg_policy_pos top = {1, 1};
    if (kind == TG_POLICY_TRUST) {
        if (size > TG_POLICY_TRUST_SIZE_MAX) {
            add(l, TG_POLICY_ERROR, "size", top,
                "%zu characters (without whitespace): more than the largest trust policy "
                "quota ACLSizePerRole, %d",
                size, TG_POLICY_TRUST_SIZE_MAX);
        } else if (size > TG_POLICY_TRUST_SIZE_DEFAULT) {
            add(l, TG_POLICY_WARNING, "size", top,
                "%zu characters (without whitespace): more than the default trust policy quota "
                "ACLSizePerRole, %d (tegata serve --trust-policy-max raises it to %d)",
                size, TG_POLICY_TRUST_SIZE_DEFAULT, TG_POLICY_TRUST_SIZE_MAX);
        }
        return;
    }
    if (size > TG_POLICY_INLINE_ROLE_SIZE) {
        add(l, TG_POLICY_ERROR, "size", top,
            "%zu characters (without whitespace): too large for a managed policy (PolicySize "
            "%d) and for a role's inline policies (%d in all)",
            size, TG_POLICY_MANAGED_SIZE, TG_POLICY_INLINE_ROLE_SIZE);
    } else if (size > TG_POLICY_MANAGED_SIZE) {
        add(l, TG_POLICY_WARNING, "size", top,
            "%zu characters (without whitespace): too large for a managed policy (PolicySize "
            "%d); it fits only as a role's inline policy (%d in all)",
            size, TG_POLICY_MANAGED_SIZE, TG_POLICY_INLINE_ROLE_SIZE);
    }
}

/* ---- rule: malformed, duplicate-key (errors) -------------------------------------------- */

/* Where jansson's error is: the start of the token it names. */
static size_t jansson_offset(struct tg_cur t, const json_error_t *je)
{
    size_t pos = je->position > 0 ? (size_t)je->position : 0;
    if (pos > t.len) {
        pos = t.len;
    }
    const char *near = strstr(je->text, " near '");
    size_t tl = strlen(je->text);
    if (near != NULL && tl > 0 && je->text[tl - 1] == '\'') {
        size_t n = (size_t)(je->text + tl - 1 - (near + 7));
        if (n <= pos) {
            return pos - n;
        }
    }
    if (pos > 0 && t.ptr[pos - 1] == '"') {
        size_t o = string_open(t, pos - 1);
        return o != SIZE_MAX ? o : pos - 1;
    }
    while (pos > 0 && !is_ws(t.ptr[pos - 1]) && strchr("{}[]:,\"", t.ptr[pos - 1]) == NULL) {
        pos--;
    }
    return pos;
}

static bool same_error(const struct tg_error *a, const struct tg_error *b)
{
    return a->code == b->code && strcmp(a->message, b->message) == 0 &&
           strcmp(a->detail, b->detail) == 0;
}

static bool has(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

/* The element of a statement an error of tg_policy_parse is about. */
static const char *element_of(const struct tg_error *e, const json_t *stmt)
{
    const char *m = e->message, *d = e->detail;
    bool not_res = json_object_get(stmt, "NotResource") != NULL;
    bool not_pr = json_object_get(stmt, "NotPrincipal") != NULL;
    bool not_act = json_object_get(stmt, "NotAction") != NULL;
    if (has(m, "NotResource") || has(d, "NotResource")) {
        return "NotResource";
    }
    if (has(m, "esource") || has(m, "Partition") || has(d, "Resource")) {
        return not_res ? "NotResource" : "Resource";
    }
    if (has(m, "rincipal") || has(d, "Principal")) {
        return not_pr ? "NotPrincipal" : "Principal";
    }
    if (has(m, "Vendor") || has(m, "Actions/Condition") || has(d, "Action")) {
        return not_act ? "NotAction" : "Action";
    }
    if (has(d, "Effect")) {
        return "Effect";
    }
    if (has(d, "Sid")) {
        return "Sid";
    }
    if (has(d, "ondition")) {
        return "Condition";
    }
    return NULL;
}

/* The message of a refusal: IAM's text, then what exactly (the detail
 * without its "policy: " prefix). */
static void malformed_add(struct lint *l, const struct tg_error *e, struct tg_policy_pos pos,
                          const char *why)
{
    const char *d = why != NULL ? why : e->detail;
    if (strncmp(d, "policy: ", 8) == 0) {
        d += 8;
    }
    add(l, TG_POLICY_ERROR, "malformed", pos, "MalformedPolicyDocument: %s%s%s%s", e->message,
        d[0] != '\0' ? " (" : "", d, d[0] != '\0' ? ")" : "");
}

/* Which statement alone reproduces the refusal, and where in it. */
static bool locate_in_statements(struct lint *l, enum tg_policy_kind kind, const struct tg_error *e,
                                 const json_t *root)
{
    static const char *const st_path[] = {"Statement"};
    static const char *const v_path[] = {"Version"};
    struct tg_cur st, ver = {NULL, 0};
    if (tg_json_locate(l->text, st_path, 1, &st) < 0 || st.len == 0) {
        return false;
    }
    bool have_ver = tg_json_locate(l->text, v_path, 1, &ver) == 0 && ver.len > 0;
    l->stmt_array = st.ptr[0] == '[';
    struct tg_cur one = st;
    struct tg_cur *items = &one;
    size_t n = 1;
    if (l->stmt_array) {
        if (tg_json_array_spans(st, &one, 0, &n) < 0 || n == 0) {
            return false;
        }
        items = malloc(n * sizeof(*items));
        if (items == NULL || tg_json_array_spans(st, items, n, &n) < 0) {
            free(items);
            l->oom = items == NULL;
            return false;
        }
    }
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        struct tg_buf w;
        tg_buf_init(&w, items[i].len + ver.len + WRAP_EXTRA);
        int rc = tg_buf_append_str(&w, "{");
        if (rc == 0 && have_ver) {
            rc = tg_buf_append_str(&w, "\"Version\":");
            rc = rc == 0 ? tg_buf_append_cur(&w, ver) : rc;
            rc = rc == 0 ? tg_buf_append_str(&w, ",") : rc;
        }
        rc = rc == 0 ? tg_buf_append_str(&w, "\"Statement\":[") : rc;
        rc = rc == 0 ? tg_buf_append_cur(&w, items[i]) : rc;
        rc = rc == 0 ? tg_buf_append_str(&w, "]}") : rc;
        if (rc < 0) {
            l->oom = true;
            tg_buf_free(&w);
            break;
        }
        struct tg_policy *p = NULL;
        struct tg_error e2;
        memset(&e2, 0, sizeof(e2));
        if (tg_policy_parse(w.ptr, w.len, kind, &p, &e2) < 0 && same_error(e, &e2)) {
            found = true;
            struct tg_policy_pos spos = pos_of(l, items[i].ptr);
            const json_t *stmts = json_object_get(root, "Statement");
            const json_t *sj = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
            const char *el = json_is_object(sj) ? element_of(e, sj) : NULL;
            struct tg_policy_pos pos = spos;
            if (el != NULL) {
                struct path pth;
                struct tg_cur v;
                path_stmt(l, &pth, i);
                pth.el[pth.n++] = el;
                if (locate(l, &pth, &v)) {
                    size_t off = (size_t)(v.ptr - l->text.ptr);
                    size_t k = key_before(l->text, off);
                    pos = pos_at(l, k != SIZE_MAX ? k : off);
                }
            }
            malformed_add(l, e, pos, NULL);
        }
        tg_policy_free(p);
        tg_buf_free(&w);
    }
    if (items != &one) {
        free(items);
    }
    return found;
}

/* The place of a document-level refusal. */
static struct tg_policy_pos document_place(struct lint *l, const struct tg_error *e,
                                           const json_t *root)
{
    struct tg_policy_pos top = {1, 1};
    const char *el = NULL;
    if (strcmp(e->message, MSG_SID) == 0) {
        /* the second statement of a Sid that is there twice */
        const json_t *stmts = json_object_get(root, "Statement");
        for (size_t i = 0; json_is_array(stmts) && i < json_array_size(stmts); i++) {
            const char *sid = json_string_value(json_object_get(json_array_get(stmts, i), "Sid"));
            for (size_t k = 0; sid != NULL && sid[0] != '\0' && k < i; k++) {
                const char *o = json_string_value(json_object_get(json_array_get(stmts, k), "Sid"));
                if (o != NULL && strcmp(o, sid) == 0) {
                    l->stmt_array = true;
                    return element_pos(l, i, "Sid", false, top);
                }
            }
        }
        return top;
    }
    if (strcmp(e->message, MSG_VERSION) == 0 || has(e->detail, "Version")) {
        el = "Version";
    } else if (has(e->detail, "Id is")) {
        el = "Id";
    } else if (has(e->detail, "Statement") || has(e->detail, "statements")) {
        el = "Statement";
    } else if (has(e->detail, "unknown top-level element") && json_is_object(root)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)root, k, v)
        {
            if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 && strcmp(k, "Statement") != 0) {
                el = k;
                break;
            }
        }
    }
    if (el == NULL) {
        return top;
    }
    const char *path[] = {el};
    struct tg_cur v;
    if (tg_json_locate(l->text, path, 1, &v) < 0 || v.len == 0) {
        return top;
    }
    size_t off = (size_t)(v.ptr - l->text.ptr);
    size_t k = key_before(l->text, off);
    return pos_at(l, k != SIZE_MAX ? k : off);
}

/* Refusals about the document, not one statement: the Version (the
 * wrapper of one statement keeps it), Sids, the top level. */
static bool document_level(const struct tg_error *e)
{
    static const char *const details[] = {
        "empty document", "document is not", "top-level",       "Version",         "Id is",
        "no Statement",   "Statement is",    "empty Statement", "more statements", NULL};
    if (strcmp(e->message, MSG_VERSION) == 0 || strcmp(e->message, MSG_SID) == 0) {
        return true;
    }
    for (size_t i = 0; details[i] != NULL; i++) {
        if (has(e->detail, details[i])) {
            return true;
        }
    }
    return false;
}

static void rule_malformed(struct lint *l, enum tg_policy_kind kind, const struct tg_error *e)
{
    struct tg_policy_pos top = {1, 1};
    if (strncmp(e->detail, "policy: JSON: ", 14) == 0) {
        json_error_t je;
        json_t *r = json_loadb((const char *)l->text.ptr, l->text.len, JSON_REJECT_DUPLICATES, &je);
        if (r != NULL) {
            /* cannot happen: the parser used the same call */
            json_decref(r);
            malformed_add(l, e, top, NULL);
            return;
        }
        size_t off = jansson_offset(l->text, &je);
        if (json_error_code(&je) == json_error_duplicate_key) {
            /* off is the opening quote of the second occurrence */
            size_t end = off + 1;
            while (end < l->text.len && l->text.ptr[end] != '"') {
                end += l->text.ptr[end] == '\\' ? 2 : 1;
            }
            char qk[QUOTE_BUF] = "";
            if (off < l->text.len && l->text.ptr[off] == '"' && end < l->text.len) {
                quote(qk, (const char *)l->text.ptr + off + 1, end - off - 1);
            }
            add(l, TG_POLICY_ERROR, "duplicate-key", pos_at(l, off),
                "duplicate key %s: AWS would silently keep only one of the two, tegata refuses "
                "the document (MalformedPolicyDocument: %s)",
                qk, e->message);
            return;
        }
        char why[sizeof(je.text) + 8];
        snprintf(why, sizeof(why), "JSON: %s", je.text);
        malformed_add(l, e, pos_at(l, off), why);
        return;
    }
    if (has(e->detail, "deeper than")) {
        malformed_add(l, e,
                      pos_at(l, tg_json_too_deep_at(l->text.ptr, l->text.len, TG_JSON_MAX_DEPTH)),
                      NULL);
        return;
    }
    json_t *root = json_loadb((const char *)l->text.ptr, l->text.len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL || document_level(e) || !locate_in_statements(l, kind, e, root)) {
        if (!l->oom) {
            malformed_add(l, e, document_place(l, e, root), NULL);
        }
    }
    json_decref(root);
}

/* ---- the whole -------------------------------------------------------------------- */

enum tg_policy_kind tg_policy_kind_guess(const uint8_t *doc, size_t len)
{
    enum tg_policy_kind kind = TG_POLICY_IDENTITY;
    json_t *root = len > 0 && len <= 2 * (size_t)TG_POLICY_MAX_DOCUMENT &&
                           tg_json_depth_ok(doc, len, TG_JSON_MAX_DEPTH)
                       ? json_loadb((const char *)doc, len, 0, NULL)
                       : NULL;
    const json_t *st = json_object_get(root, "Statement");
    size_t n = json_is_array(st) ? json_array_size(st) : (json_is_object(st) ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        if (json_object_get(s, "Principal") != NULL || json_object_get(s, "NotPrincipal") != NULL) {
            kind = TG_POLICY_TRUST;
        }
    }
    json_decref(root);
    return kind;
}

/* By position; findings at the same place keep their order. */
static void sort_findings(struct tg_policy_report *r)
{
    for (size_t i = 1; i < r->n; i++) {
        struct tg_policy_finding tmp = r->findings[i];
        size_t j = i;
        while (j > 0 && (r->findings[j - 1].pos.line > tmp.pos.line ||
                         (r->findings[j - 1].pos.line == tmp.pos.line &&
                          r->findings[j - 1].pos.column > tmp.pos.column))) {
            r->findings[j] = r->findings[j - 1];
            j--;
        }
        r->findings[j] = tmp;
    }
}

int tg_policy_lint(const uint8_t *doc, size_t len, enum tg_policy_kind kind,
                   tg_policy_shared_fn shared, void *ctx, struct tg_policy_report *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    struct lint l;
    memset(&l, 0, sizeof(l));
    l.text = tg_cur_make(doc, len);
    l.shared = shared;
    l.shared_ctx = ctx;
    l.out = out;

    rule_characters(&l);
    struct tg_policy *p = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_policy_parse(doc, len, kind, &p, &err) < 0) {
        if (err.code != TG_E_MALFORMED_POLICY_DOCUMENT) {
            tg_policy_report_free(out);
            return -1; /* out of memory */
        }
        rule_malformed(&l, kind, &err);
    } else {
        static const char *const st_path[] = {"Statement"};
        struct tg_cur st;
        l.p = p;
        l.stmt_array =
            tg_json_locate(l.text, st_path, 1, &st) == 0 && st.len > 0 && st.ptr[0] == '[';
        rule_size(&l, kind);
        if (kind == TG_POLICY_TRUST) {
            rule_guard(&l);
            rule_no_subject(&l);
        }
        rule_sub_spans(&l);
        rule_github_immutable(&l);
        rule_equals_wildcard(&l);
        rule_for_all_values(&l);
        rule_unknown_key(&l);
        tg_policy_free(p);
    }
    if (l.oom) {
        tg_policy_report_free(out);
        return -1;
    }
    sort_findings(out);
    return 0;
}

void tg_policy_report_free(struct tg_policy_report *r)
{
    if (r != NULL) {
        free(r->findings);
        memset(r, 0, sizeof(*r));
    }
}
