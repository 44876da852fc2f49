/*
 * policy: IAM policy documents (spec 4). JSON text -> a compiled, immutable
 * form, with the grammar checked as IAM checks it. Pure.
 *
 * This module grows: evaluation against a request context and the
 * explanation trace come next, on this same compiled form.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <jansson.h>

#include "json/json.h"
#include "util/util.h"

enum tg_policy_kind {
    TG_POLICY_TRUST = 1, /* a role's trust policy: Principal required, no Resource */
    TG_POLICY_IDENTITY,  /* inline or managed permission policy: Resource required, no Principal */
    TG_POLICY_SESSION,   /* session policy of AssumeRole*: as IDENTITY */
};

struct tg_policy; /* compiled; see policy.c; immutable once returned */

/*
 * Parses and checks doc (borrowed; need not be NUL-terminated) as a policy
 * of the given kind. On success *out is owned by the caller (free with
 * tg_policy_free). On failure: MalformedPolicyDocument whose message names
 * the problem and, where it helps, its place (e.g. "Syntax errors in
 * policy.", "Has prohibited field Resource", "Policy statement must contain
 * actions.", the texts of ../shared/vectors/iam-policy/moto). Duplicate
 * JSON keys and nesting deeper than TG_JSON_MAX_DEPTH are refused.
 * Size limits are the caller's (IAM's LimitExceeded), but a document over
 * 2 x TG_POLICY_MAX_DOCUMENT bytes is refused here too (IAM's limit counts
 * characters of at most two UTF-8 bytes).
 */
int tg_policy_parse(const uint8_t *doc, size_t len, enum tg_policy_kind kind,
                    struct tg_policy **out, struct tg_error *err) TG_MUST_USE;
void tg_policy_free(struct tg_policy *p);

/* Size as IAM counts it for its quotas: characters, not counting
 * whitespace (space, TAB, CR, LF) (spec 4.6). */
size_t tg_policy_size(const uint8_t *doc, size_t len);

/* The characters IAM accepts in a policy document: TAB, LF, CR and
 * U+0020..U+00FF (spec 4.6), checked on the UTF-8 text. */
bool tg_policy_chars_valid(const uint8_t *doc, size_t len);

/* The compiled form as JSON, for tests, fuzzing and diagnostics (the shape
 * is not a stable interface). Returns a new reference, NULL on OOM. */
json_t *tg_policy_to_json(const struct tg_policy *p);

/* Number of statements of a compiled policy (for tests and listings). */
size_t tg_policy_statement_count(const struct tg_policy *p);

/* Where a statement stands in its document: 1-based line and column of its
 * '{' (start) and just after its '}' (end); columns count characters. */
struct tg_policy_pos {
    uint32_t line;
    uint32_t column;
};
void tg_policy_statement_span(const struct tg_policy *p, size_t i, struct tg_policy_pos *start,
                              struct tg_policy_pos *end);

/* ---- evaluation (spec 4.4, 4.5) -------------------------------------------
 * A request context key with its values; keys compare case-insensitively
 * (spec 4.4). A key with n_values > 1 is multi-valued (for ForAnyValue: /
 * ForAllValues:); a key with n_values == 0 is present but empty. */
struct tg_policy_ctx_entry {
    const char *key;
    const char *const *values;
    size_t n_values;
};

struct tg_policy_request {
    const char *action;         /* "sts:AssumeRoleWithWebIdentity" */
    const char *resource;       /* an ARN; NULL when evaluating a trust policy */
    const char *principal_type; /* "Federated", "AWS", "Service"; NULL for identity policies */
    const char *principal;      /* e.g. the provider ARN */
    const struct tg_policy_ctx_entry *ctx;
    size_t n_ctx;
};

enum tg_policy_decision {
    TG_POLICY_DENY_IMPLICIT = 0, /* no statement allowed */
    TG_POLICY_ALLOW,
    TG_POLICY_DENY_EXPLICIT, /* a Deny statement matched */
};

const char *
tg_policy_decision_name(enum tg_policy_decision d); /* "allowed", "explicitDeny", "implicitDeny" */

/*
 * Evaluates p for req: explicit Deny over Allow over implicit deny. With a
 * trace writer, also writes one JSON value with it: an array of one object
 * per statement, {"statement": i, "sid": ..., "effect": ..., "matched":
 * bool, "reason": "principal" | "action" | "resource" | "condition" | null,
 * "conditions": [{"operator": ..., "key": ..., "request_values": [...],
 * "policy_values": [...], "result": bool}]}. Without one it allocates
 * nothing. The trace never holds more than the request's values (the
 * caller keeps secrets out of the context). An operator the evaluator does
 * not implement yet fails closed: the decision is TG_POLICY_DENY_EXPLICIT
 * and the trace says "unsupported".
 */
enum tg_policy_decision tg_policy_evaluate(const struct tg_policy *p,
                                           const struct tg_policy_request *req,
                                           struct tg_json_w *trace);

/* ---- a request against a role's policies (spec 4.5) -----------------------
 * A role session's permissions are its identity policies (inline and
 * attached) intersected with the session policies of the call that made
 * it: an explicit Deny in any of them denies; otherwise the request is
 * allowed iff an identity policy allows it and, when there are session
 * policies, one of them allows it too (spec 4.5 item 5). With no session
 * policies the identity policies alone decide. */

#define TG_POLICY_MAX_MATCHED 64 /* statements reported as deciding */
#define TG_POLICY_MAX_MISSING 64 /* context keys reported as missing */

enum tg_policy_set { TG_POLICY_SET_IDENTITY, TG_POLICY_SET_SESSION };

/* What decided, for SimulatePrincipalPolicy and `tegata policy simulate`. */
struct tg_policy_result {
    enum tg_policy_decision decision;
    /* The statements that decide the result: the matching Deny statements
     * (and those that failed closed) when it is an explicit deny, the
     * matching Allow statements when it is allowed, none otherwise. */
    struct {
        enum tg_policy_set set;
        size_t policy;    /* index in its set */
        size_t statement; /* index in the policy */
    } matched[TG_POLICY_MAX_MATCHED];
    size_t n_matched; /* may exceed TG_POLICY_MAX_MATCHED: only the first are stored */
    /* Condition keys (as the policy writes them, borrowed from it) of the
     * statements that apply to the action and resource, which the request
     * context does not have, each once (case-insensitively). */
    const char *missing[TG_POLICY_MAX_MISSING];
    size_t n_missing; /* may exceed TG_POLICY_MAX_MISSING likewise */
};

/*
 * Evaluates req against identity[0..n_identity) and session[0..n_session)
 * as above. A NULL policy in a list is skipped: a NULL identity policy
 * grants nothing, a NULL session policy (one that is gone) allows nothing
 * but is still a session policy, so with n_session > 0 a session policy
 * must allow. It has no entry in the trace. res (may be NULL) gets the
 * decision and what decided it; collecting it evaluates every condition of
 * every applicable statement, as a trace does. A trace writer gets one JSON
 * array of {"set": "identity" | "session", "policy": i, "decision": ...,
 * "statements": [...as tg_policy_evaluate...]}. Without res and trace it
 * allocates nothing.
 */
enum tg_policy_decision tg_policy_authorize(const struct tg_policy *const *identity,
                                            size_t n_identity,
                                            const struct tg_policy *const *session,
                                            size_t n_session, const struct tg_policy_request *req,
                                            struct tg_policy_result *res, struct tg_json_w *trace);

/* ---- the identity-provider guard (spec 3.3) -------------------------------
 * IAM refuses a trust policy that trusts a shared OIDC issuer (one whose
 * tokens are issued to every customer of a CI service) unless it checks
 * the token's subject: any tenant of the service could otherwise assume the
 * role. */

/* Is the provider (its URL without the scheme) one of the shared CI
 * issuers tegata knows: GitHub Actions (token.actions.githubusercontent.com
 * and its enterprise paths), GitLab.com, CircleCI, Azure DevOps, Terraform
 * Cloud? */
bool tg_policy_shared_issuer(const char *provider_key);

/* Tells whether a provider key is shared (for issuers an operator marks);
 * tg_policy_guard also applies tg_policy_shared_issuer. */
typedef bool (*tg_policy_shared_fn)(const char *provider_key, void *ctx);

/*
 * For every Allow statement of the trust policy p that gives
 * sts:AssumeRoleWithWebIdentity to a Federated principal
 * arn:aws:iam::ACCOUNT:oidc-provider/KEY whose KEY is shared, requires a
 * condition on KEY:sub with StringEquals, StringLike or
 * StringEqualsIgnoreCase (with or without IfExists, without a set
 * operator) none of whose values admits every subject of that service (a
 * value of only '*' does, and so does a pattern that every kind of subject
 * of the service matches, such as "repo:*" for GitHub).
 * Returns 0, or -1 with MalformedPolicyDocument and AWS's message. shared
 * may be NULL.
 */
int tg_policy_guard(const struct tg_policy *p, tg_policy_shared_fn shared, void *ctx,
                    struct tg_error *err) TG_MUST_USE;

/* ---- lint ------------------------------------------------------------------
 * `tegata policy check`: what IAM (and tegata) would refuse, and warnings
 * about documents IAM accepts that do not do what their author meant. Each
 * finding names the place it is about (1-based line and column, columns
 * counting characters), from tg_policy_statement_span and tg_json_locate;
 * 1:1 when no better place is known. The rules and their messages are
 * listed in docs/policy.md. Pure. */

enum tg_policy_severity {
    TG_POLICY_WARNING = 1, /* IAM accepts it; it probably does not mean what it says */
    TG_POLICY_ERROR,       /* CreateRole / PutRolePolicy / CreatePolicy would refuse it */
};

struct tg_policy_finding {
    enum tg_policy_severity severity;
    const char *rule; /* a stable name (static): "guard", "malformed", "duplicate-key", ... */
    struct tg_policy_pos pos;
    char message[TG_POLICY_LINT_MESSAGE];
};

struct tg_policy_report {
    enum tg_policy_kind kind;           /* what the document was checked as */
    struct tg_policy_finding *findings; /* owned; in document order */
    size_t n;                           /* at most TG_POLICY_LINT_MAX_FINDINGS */
    size_t n_errors;                    /* all of them, also those not kept */
    size_t n_warnings;
};

/* The kind `tegata policy check` assumes for doc (borrowed): a trust
 * policy if any statement has a Principal or NotPrincipal, an identity
 * policy otherwise (also when doc is not JSON). */
enum tg_policy_kind tg_policy_kind_guess(const uint8_t *doc, size_t len);

/*
 * Checks doc (borrowed; need not be NUL-terminated) as a policy of kind:
 * tg_policy_parse's refusal, IAM's character set and size quotas, and for
 * trust policies tg_policy_guard (with the built-in shared issuers and
 * those shared marks; shared may be NULL), then the warnings. On success
 * (0) *out is filled and owned by the caller (tg_policy_report_free),
 * whatever was found; -1 only when out of memory.
 */
int tg_policy_lint(const uint8_t *doc, size_t len, enum tg_policy_kind kind,
                   tg_policy_shared_fn shared, void *ctx, struct tg_policy_report *out) TG_MUST_USE;
void tg_policy_report_free(struct tg_policy_report *r);

#endif
