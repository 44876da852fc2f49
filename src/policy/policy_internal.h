/*
 * policy_internal: the compiled form of a policy, shared by the parser
 * (policy.c), which builds it, and the evaluator (eval.c), which reads it.
 * Private to src/policy/; everything here is immutable once
 * tg_policy_parse has returned.
 */
#ifndef TG_POLICY_INTERNAL_H
#define TG_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

enum pol_version {
    PV_NONE, /* no Version: policy variables are literal text (spec 4.1) */
    PV_2008, /* 2008-10-17: variables are literal too */
    PV_2012, /* 2012-10-17: ${...} are policy variables */
};

/* Every operator of spec 4.4, in the order of op_names. */
enum cond_op {
    OP_STRING_EQUALS,
    OP_STRING_NOT_EQUALS,
    OP_STRING_EQUALS_IGNORE_CASE,
    OP_STRING_NOT_EQUALS_IGNORE_CASE,
    OP_STRING_LIKE,
    OP_STRING_NOT_LIKE,
    OP_NUMERIC_EQUALS,
    OP_NUMERIC_NOT_EQUALS,
    OP_NUMERIC_LESS_THAN,
    OP_NUMERIC_LESS_THAN_EQUALS,
    OP_NUMERIC_GREATER_THAN,
    OP_NUMERIC_GREATER_THAN_EQUALS,
    OP_DATE_EQUALS,
    OP_DATE_NOT_EQUALS,
    OP_DATE_LESS_THAN,
    OP_DATE_LESS_THAN_EQUALS,
    OP_DATE_GREATER_THAN,
    OP_DATE_GREATER_THAN_EQUALS,
    OP_BOOL,
    OP_BINARY_EQUALS,
    OP_IP_ADDRESS,
    OP_NOT_IP_ADDRESS,
    OP_ARN_EQUALS,
    OP_ARN_LIKE,
    OP_ARN_NOT_EQUALS,
    OP_ARN_NOT_LIKE,
    OP_NULL,
    OP_COUNT
};

enum set_qual {
    SQ_NONE,
    SQ_FOR_ANY_VALUE,  /* "ForAnyValue:" */
    SQ_FOR_ALL_VALUES, /* "ForAllValues:" */
};

enum principal_type { PR_AWS, PR_FEDERATED, PR_SERVICE, PR_CANONICAL_USER, PRINCIPAL_TYPE_COUNT };

enum principal_kind {
    PK_NONE,
    PK_PRINCIPAL,
    PK_NOT_PRINCIPAL,
};

enum list_kind {
    LK_NONE,
    LK_POSITIVE, /* Action / Resource */
    LK_NEGATED,  /* NotAction / NotResource */
};

/* An owned string of the compiled policy; s is also NUL-terminated (JSON
 * strings with U+0000 are refused by the parser, so len is strlen(s)). */
struct pstr {
    const char *s;
    size_t len;
};

#define PAT_WILD 0x1u /* contains '*' or '?' */
#define PAT_VAR 0x2u  /* contains "${" and the policy is 2012-10-17 */

struct pattern {
    struct pstr text;
    unsigned flags;
};

struct principal {
    enum principal_type type;
    struct pstr value; /* "*" for everyone; "Principal":"*" is {"AWS":"*"} (spec 4.2) */
};

struct condition {
    enum cond_op op;
    enum set_qual qual;
    bool if_exists;
    struct pstr key;        /* as written */
    struct pstr key_lower;  /* key names are case-insensitive (spec 4.4) */
    struct pattern *values; /* strings; JSON numbers and booleans as their text */
    size_t n_values;
};

struct statement {
    size_t index;                    /* position in the document, for the explanation trace */
    struct tg_policy_pos start, end; /* in the document's text */
    bool has_sid;
    struct pstr sid;
    bool allow; /* Effect */
    enum principal_kind principal_kind;
    struct principal *principals;
    size_t n_principals;
    enum list_kind action_kind;
    struct pattern *actions; /* lower-cased: actions match case-insensitively (spec 4.3) */
    size_t n_actions;
    enum list_kind resource_kind;
    struct pattern *resources; /* as written: resources match case-sensitively */
    size_t n_resources;
    struct condition *conditions; /* one per (operator, key); all must hold */
    size_t n_conditions;
};

struct chunk; /* the arena the whole policy lives in */

struct tg_policy {
    enum tg_policy_kind kind;
    enum pol_version version;
    bool has_id;
    struct pstr id;
    struct statement *statements;
    size_t n_statements;
    struct chunk *mem; /* first chunk; this struct lives in it */
};

/* Names in the order of the enums, shared by the parser and the evaluator
 * (policy.c). Operator names are case-sensitive, as IAM's. */
extern const char *const tg_policy_op_names[OP_COUNT];
extern const char *const tg_policy_principal_type_names[PRINCIPAL_TYPE_COUNT];

/* StringLike's matching ('*' any run, '?' one character) of s against
 * pattern, without policy variables (eval.c). */
bool tg_policy_glob(struct tg_cur pattern, struct tg_cur s, bool nocase);

/* The KEY of arn:aws:iam::ACCOUNT:oidc-provider/KEY (borrowed from arn),
 * or NULL (guard.c). */
const char *tg_policy_provider_key_of(struct pstr arn);
/* Does the statement allow sts:AssumeRoleWithWebIdentity to a Principal
 * (not NotPrincipal)? Actions are lower case in the compiled form
 * (guard.c; the guard and the linter ask the same question). */
bool tg_policy_gives_web_identity(const struct statement *st);

#endif
