/*
 * Unit tests of src/policy/eval.c: the seed evaluation vectors
 * (../shared/vectors/iam-policy/seed, checked against an independent
 * simulator), our conformance table (tests/unit/data/policy_eval/cases.json:
 * at least 240 cases, each citing the rule of spec 3-4 it checks, run
 * through tg_policy_authorize with identity and session policies, and
 * through tg_policy_evaluate where there is one policy), and the trace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"

/* The build links this program with -Wl,--wrap for malloc, calloc and
 * realloc (CMakeLists.txt): every call from tegata's code and this file
 * is counted here before it goes to the C library (or the sanitizer). */
static size_t tg_test_allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    tg_test_allocations++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    tg_test_allocations++;
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    tg_test_allocations++;
    return __real_realloc(p, n);
}

#ifndef TG_SHARED_DIR
#define TG_SHARED_DIR "/work/shared"
#endif
#ifndef TG_TEST_DATA_DIR
#define TG_TEST_DATA_DIR "tests/unit/data"
#endif

#define SEED_FILE TG_SHARED_DIR "/vectors/iam-policy/seed/iam_eval_seed.json"
#define CASES_FILE TG_TEST_DATA_DIR "/policy_eval/cases.json"

#define GH_PROVIDER "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
#define GH_TRUST                                                                                   \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"GitHub\",\"Effect\":\"Allow\","         \
    "\"Principal\":{\"Federated\":\"" GH_PROVIDER "\"},"                                           \
    "\"Action\":\"sts:AssumeRoleWithWebIdentity\","                                                \
    "\"Condition\":{\"StringEquals\":{\"token.actions.githubusercontent.com:aud\":"                \
    "\"sts.amazonaws.com\"},\"StringLike\":{\"token.actions.githubusercontent.com:sub\":"          \
    "\"repo:octo/app:*\"}}}]}"

/* ---- helpers ------------------------------------------------------------------- */

static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        print_error("cannot load %s: %s (line %d)\n", path, jerr.text, jerr.line);
    }
    assert_non_null(root);
    return root;
}

static struct tg_policy *compile(const json_t *doc, enum tg_policy_kind kind)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    size_t len = strlen(text);
    /* An exact-size copy, so a read past the end is caught by ASan. */
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, text, len);
    struct tg_policy *p = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_policy_parse(copy, len, kind, &p, &err) != 0) {
        print_error("policy refused: %s (%s): %s\n", err.message, err.detail, text);
    }
    free(copy);
    free(text);
    assert_non_null(p);
    return p;
}

static struct tg_policy *compile_text(const char *text, enum tg_policy_kind kind)
{
    struct tg_policy *p = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_policy_parse((const uint8_t *)text, strlen(text), kind, &p, &err) != 0) {
        print_error("policy refused: %s (%s)\n", err.message, err.detail);
    }
    assert_non_null(p);
    return p;
}

/* A request context built from {key: value or [values]}; the strings stay
 * owned by the JSON. */
struct ctx {
    struct tg_policy_ctx_entry *entries;
    const char **values;
    size_t n;
};

static void ctx_build(const json_t *obj, struct ctx *c)
{
    size_t nv = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        nv += json_is_array(val) ? json_array_size(val) : 1;
    }
    c->n = json_object_size(obj);
    c->entries = calloc(c->n + 1, sizeof(*c->entries));
    c->values = calloc(nv + 1, sizeof(*c->values));
    assert_non_null(c->entries);
    assert_non_null(c->values);
    size_t i = 0;
    size_t v = 0;
    json_object_foreach((json_t *)obj, key, val)
    {
        c->entries[i].key = key;
        c->entries[i].values = &c->values[v];
        if (json_is_array(val)) {
            size_t k;
            json_t *item;
            json_array_foreach(val, k, item)
            {
                assert_true(json_is_string(item));
                c->values[v++] = json_string_value(item);
            }
            c->entries[i].n_values = json_array_size(val);
        } else {
            assert_true(json_is_string(val));
            c->values[v++] = json_string_value(val);
            c->entries[i].n_values = 1;
        }
        i++;
    }
}

static void ctx_free(struct ctx *c)
{
    free(c->entries);
    free(c->values);
}

static const char *str_of(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* Evaluates twice, with and without a trace, and checks both agree. */
static enum tg_policy_decision eval_both(const struct tg_policy *p,
                                         const struct tg_policy_request *req, json_t **trace_out)
{
    enum tg_policy_decision fast = tg_policy_evaluate(p, req, NULL);
    struct tg_buf b;
    tg_buf_init(&b, 1 << 24);
    struct tg_json_w w;
    tg_json_w_init(&w, &b);
    enum tg_policy_decision traced = tg_policy_evaluate(p, req, &w);
    assert_int_equal(fast, traced);
    assert_int_equal(tg_json_w_finish(&w), 0);
    /* The trace is one JSON array, and reads back as such. */
    json_error_t jerr;
    json_t *trace = json_loadb((const char *)b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (trace == NULL || !json_is_array(trace)) {
        fail_msg("trace is not a JSON array: %s", jerr.text);
    }
    tg_buf_free(&b);
    assert_int_equal(json_array_size(trace), tg_policy_statement_count(p));
    if (trace_out != NULL) {
        *trace_out = trace;
    } else {
        json_decref(trace);
    }
    return fast;
}

/* ---- evaluating a role's policies -------------------------------------------------- */

#define CASE_MAX_POLICIES 8 /* per set, in one case */

/* The compiled identity or session policies of one case. */
struct pset {
    struct tg_policy *p[CASE_MAX_POLICIES];
    size_t n;
};

static void pset_add(struct pset *s, const json_t *doc, enum tg_policy_kind kind)
{
    assert_true(s->n < CASE_MAX_POLICIES);
    s->p[s->n++] = compile(doc, kind);
}

/* A JSON array of documents (or NULL: none). */
static void pset_add_all(struct pset *s, const json_t *docs, enum tg_policy_kind kind)
{
    if (docs == NULL) {
        return;
    }
    assert_true(json_is_array(docs));
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        pset_add(s, doc, kind);
    }
}

static void pset_free(struct pset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        tg_policy_free(s->p[i]);
    }
    s->n = 0;
}

static const struct tg_policy *const *pset_list(const struct pset *s)
{
    return (const struct tg_policy *const *)s->p;
}

/*
 * tg_policy_authorize four times: without result and trace (the short
 * path), with a result, with a trace, with both; all must agree. The trace
 * must be one JSON array with an object per policy, each with its
 * statements. Returns the decision; *res is the result collected without
 * a trace (the run with both must report as many statements and keys),
 * *trace_out (if not NULL) the parsed trace.
 */
static enum tg_policy_decision authorize_checked(const struct pset *id, const struct pset *se,
                                                 const struct tg_policy_request *req,
                                                 struct tg_policy_result *res, json_t **trace_out)
{
    /* Evaluating allocates nothing (issue: "evaluating one allocates
     * nothing on the heap"), with or without a result; only a trace,
     * which grows its buffer, may. */
    size_t allocs = tg_test_allocations;
    enum tg_policy_decision fast =
        tg_policy_authorize(pset_list(id), id->n, pset_list(se), se->n, req, NULL, NULL);
    enum tg_policy_decision with_res =
        tg_policy_authorize(pset_list(id), id->n, pset_list(se), se->n, req, res, NULL);
    assert_int_equal(tg_test_allocations, allocs);
    assert_int_equal(fast, with_res);
    assert_int_equal(res->decision, with_res);

    struct tg_buf b;
    tg_buf_init(&b, 1 << 24);
    struct tg_json_w w;
    tg_json_w_init(&w, &b);
    enum tg_policy_decision traced =
        tg_policy_authorize(pset_list(id), id->n, pset_list(se), se->n, req, NULL, &w);
    assert_int_equal(fast, traced);
    assert_int_equal(tg_json_w_finish(&w), 0);
    json_error_t jerr;
    json_t *trace = json_loadb((const char *)b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (trace == NULL || !json_is_array(trace)) {
        fail_msg("authorize trace is not a JSON array: %s", jerr.text);
    }
    tg_buf_free(&b);
    assert_int_equal(json_array_size(trace), id->n + se->n);
    size_t i;
    json_t *item;
    json_array_foreach(trace, i, item)
    {
        const struct pset *s = i < id->n ? id : se;
        size_t k = i < id->n ? i : i - id->n;
        assert_string_equal(str_of(item, "set"), i < id->n ? "identity" : "session");
        assert_int_equal(json_integer_value(json_object_get(item, "policy")), k);
        assert_non_null(str_of(item, "decision"));
        assert_int_equal(json_array_size(json_object_get(item, "statements")),
                         tg_policy_statement_count(s->p[k]));
    }

    struct tg_policy_result both;
    tg_buf_init(&b, 1 << 24);
    tg_json_w_init(&w, &b);
    assert_int_equal(
        tg_policy_authorize(pset_list(id), id->n, pset_list(se), se->n, req, &both, &w), fast);
    assert_int_equal(tg_json_w_finish(&w), 0);
    tg_buf_free(&b);
    assert_int_equal(both.n_matched, res->n_matched);
    assert_int_equal(both.n_missing, res->n_missing);

    if (trace_out != NULL) {
        *trace_out = trace;
    } else {
        json_decref(trace);
    }
    return fast;
}

/* ---- the seed vectors --------------------------------------------------------- */

static enum tg_policy_decision seed_expected(const char *s)
{
    if (strcmp(s, "Allowed") == 0) {
        return TG_POLICY_ALLOW;
    }
    if (strcmp(s, "ExplicitlyDenied") == 0) {
        return TG_POLICY_DENY_EXPLICIT;
    }
    assert_string_equal(s, "ImplicitlyDenied");
    return TG_POLICY_DENY_IMPLICIT;
}

/*
 * Every seed case runs through tg_policy_authorize. Identity policies
 * ("policies") are the identity set, compiled as TG_POLICY_IDENTITY and
 * evaluated against the request's resource; there are no session policies
 * (spec 4.5 item 5: the identity policies decide). A "resourcePolicy" is a
 * role trust policy here (the trust-* cases): it is the one policy of the
 * set, compiled as TG_POLICY_TRUST, with principal type Federated and no
 * resource (the role is the resource, spec 4.3), and alone decides (spec
 * 4.5 item 4). A case with one policy is also evaluated on its own with
 * tg_policy_evaluate, which must agree.
 */
static void test_seed_vectors(void **state)
{
    (void)state;
    json_t *root = load(SEED_FILE);
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 74);
    size_t failures = 0;
    size_t ran = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *id = str_of(c, "id");
        json_t *rq = json_object_get(c, "request");
        struct ctx ctx;
        ctx_build(json_object_get(rq, "context"), &ctx);
        struct tg_policy_request req = {
            .action = str_of(rq, "action"),
            .resource = str_of(rq, "resource"),
            .ctx = ctx.entries,
            .n_ctx = ctx.n,
        };
        struct pset identity = {{NULL}, 0};
        struct pset session = {{NULL}, 0};
        json_t *rp = json_object_get(c, "resourcePolicy");
        if (rp != NULL) {
            assert_int_equal(json_array_size(json_object_get(c, "policies")), 0);
            pset_add(&identity, rp, TG_POLICY_TRUST);
            req.resource = NULL;
            req.principal_type = "Federated";
            req.principal = str_of(rq, "principal");
        } else {
            pset_add_all(&identity, json_object_get(c, "policies"), TG_POLICY_IDENTITY);
        }
        struct tg_policy_result res;
        enum tg_policy_decision got = authorize_checked(&identity, &session, &req, &res, NULL);
        if (identity.n == 1) {
            enum tg_policy_decision alone = eval_both(identity.p[0], &req, NULL);
            if (alone != got) {
                print_error("seed %s: tg_policy_evaluate says %s, tg_policy_authorize %s\n", id,
                            tg_policy_decision_name(alone), tg_policy_decision_name(got));
                failures++;
            }
        }
        enum tg_policy_decision want = seed_expected(str_of(c, "expected"));
        if (got != want) {
            print_error("seed %s: got %s, want %s\n", id, tg_policy_decision_name(got),
                        tg_policy_decision_name(want));
            failures++;
        }
        ran++;
        pset_free(&identity);
        ctx_free(&ctx);
    }
    json_decref(root);
    assert_int_equal(ran, 74);
    assert_int_equal(failures, 0);
}

/* ---- our table ------------------------------------------------------------------ */

#define TABLE_MIN_CASES 240
#define RULE_PREFIX "spec \xc2\xa7" /* "spec §" */

static enum tg_policy_kind kind_of(const char *k)
{
    if (k == NULL) {
        return TG_POLICY_IDENTITY;
    }
    if (strcmp(k, "trust") == 0) {
        return TG_POLICY_TRUST;
    }
    if (strcmp(k, "session") == 0) {
        return TG_POLICY_SESSION;
    }
    assert_string_equal(k, "identity");
    return TG_POLICY_IDENTITY;
}

/* Does a statement of the authorize trace have this reason? */
static bool trace_has_reason(const json_t *trace, const char *reason)
{
    size_t i;
    json_t *pol;
    json_array_foreach(trace, i, pol)
    {
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(pol, "statements"), k, st)
        {
            const char *r = str_of(st, "reason");
            if (r != NULL && strcmp(r, reason) == 0) {
                return true;
            }
        }
    }
    return false;
}

static const char *set_name(enum tg_policy_set s)
{
    return s == TG_POLICY_SET_SESSION ? "session" : "identity";
}

/* "matched": [["identity"|"session", policy, statement], ...] against
 * res->matched, in order. Returns the number of failures (0 or 1). */
static size_t check_matched(const char *id, const json_t *want, const struct tg_policy_result *res)
{
    bool ok = json_array_size(want) == res->n_matched && res->n_matched <= TG_POLICY_MAX_MATCHED;
    for (size_t i = 0; ok && i < res->n_matched; i++) {
        const json_t *w = json_array_get(want, i);
        const char *set = json_string_value(json_array_get(w, 0));
        ok = json_array_size(w) == 3 && set != NULL &&
             strcmp(set, set_name(res->matched[i].set)) == 0 &&
             json_integer_value(json_array_get(w, 1)) == (json_int_t)res->matched[i].policy &&
             json_integer_value(json_array_get(w, 2)) == (json_int_t)res->matched[i].statement;
    }
    if (ok) {
        return 0;
    }
    char *t = json_dumps(want, JSON_COMPACT);
    print_error("case %s: matched %zu statement(s), want %s; got:", id, res->n_matched,
                t != NULL ? t : "?");
    free(t);
    for (size_t i = 0; i < res->n_matched && i < TG_POLICY_MAX_MATCHED; i++) {
        print_error(" [%s,%zu,%zu]", set_name(res->matched[i].set), res->matched[i].policy,
                    res->matched[i].statement);
    }
    print_error("\n");
    return 1;
}

/* "missing": ["key", ...] against res->missing, in order, keys compared
 * case-insensitively (spec 4.4). */
static size_t check_missing(const char *id, const json_t *want, const struct tg_policy_result *res)
{
    bool ok = json_array_size(want) == res->n_missing && res->n_missing <= TG_POLICY_MAX_MISSING;
    for (size_t i = 0; ok && i < res->n_missing; i++) {
        const char *w = json_string_value(json_array_get(want, i));
        ok = w != NULL && strcasecmp(w, res->missing[i]) == 0;
    }
    if (ok) {
        return 0;
    }
    char *t = json_dumps(want, JSON_COMPACT);
    print_error("case %s: %zu missing key(s), want %s; got:", id, res->n_missing,
                t != NULL ? t : "?");
    free(t);
    for (size_t i = 0; i < res->n_missing && i < TG_POLICY_MAX_MISSING; i++) {
        print_error(" \"%s\"", res->missing[i]);
    }
    print_error("\n");
    return 1;
}

/*
 * One case of the table. "policy" (one document) or "policies" (a list) is
 * the identity set, compiled as "kind" (trust, identity or session);
 * "session_policies" (a list) the session set, compiled as
 * TG_POLICY_SESSION. Returns the number of failures.
 */
static size_t table_case(const json_t *c)
{
    const char *id = str_of(c, "id");
    size_t failures = 0;
    json_t *one = json_object_get(c, "policy");
    json_t *many = json_object_get(c, "policies");
    json_t *sess = json_object_get(c, "session_policies");
    if ((one == NULL) == (many == NULL)) {
        print_error("case %s: needs exactly one of \"policy\" and \"policies\"\n", id);
        return 1;
    }
    enum tg_policy_kind kind = kind_of(str_of(c, "kind"));
    struct pset identity = {{NULL}, 0};
    struct pset session = {{NULL}, 0};
    if (one != NULL) {
        pset_add(&identity, one, kind);
    } else {
        pset_add_all(&identity, many, kind);
    }
    pset_add_all(&session, sess, TG_POLICY_SESSION);

    json_t *rq = json_object_get(c, "request");
    struct ctx ctx;
    ctx_build(json_object_get(rq, "context"), &ctx);
    struct tg_policy_request req = {
        .action = str_of(rq, "action"),
        .resource = str_of(rq, "resource"),
        .principal_type = str_of(rq, "principal_type"),
        .principal = str_of(rq, "principal"),
        .ctx = ctx.entries,
        .n_ctx = ctx.n,
    };
    struct tg_policy_result res;
    json_t *trace = NULL;
    enum tg_policy_decision got = authorize_checked(&identity, &session, &req, &res, &trace);

    /* One policy alone: tg_policy_evaluate must say the same. */
    if (identity.n == 1 && session.n == 0) {
        enum tg_policy_decision alone = eval_both(identity.p[0], &req, NULL);
        if (alone != got) {
            print_error("case %s: tg_policy_evaluate says %s, tg_policy_authorize %s\n", id,
                        tg_policy_decision_name(alone), tg_policy_decision_name(got));
            failures++;
        }
    }
    const char *want = str_of(c, "expect");
    assert_non_null(want);
    if (strcmp(tg_policy_decision_name(got), want) != 0) {
        char *t = json_dumps(trace, JSON_COMPACT);
        print_error("case %s: got %s, want %s; trace %s\n", id, tg_policy_decision_name(got), want,
                    t != NULL ? t : "?");
        free(t);
        failures++;
    }
    const char *reason = str_of(c, "reason");
    if (reason != NULL && !trace_has_reason(trace, reason)) {
        print_error("case %s: no statement with reason \"%s\"\n", id, reason);
        failures++;
    }
    json_t *matched = json_object_get(c, "matched");
    if (matched != NULL) {
        failures += check_matched(id, matched, &res);
    }
    json_t *missing = json_object_get(c, "missing");
    if (missing != NULL) {
        failures += check_missing(id, missing, &res);
    }
    json_decref(trace);
    ctx_free(&ctx);
    pset_free(&identity);
    pset_free(&session);
    return failures;
}

static void test_table(void **state)
{
    (void)state;
    json_t *root = load(CASES_FILE);
    json_t *cases = json_object_get(root, "cases");
    json_t *seen = json_object();
    assert_non_null(seen);
    size_t failures = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *id = str_of(c, "id");
        const char *rule = str_of(c, "rule");
        if (id == NULL) {
            print_error("case #%zu has no id\n", i);
            failures++;
            continue;
        }
        if (json_object_get(seen, id) != NULL) {
            print_error("case %s: id used twice\n", id);
            failures++;
        }
        assert_int_equal(json_object_set_new(seen, id, json_true()), 0);
        /* Every case says which rule of the spec it checks. */
        if (rule == NULL || strncmp(rule, RULE_PREFIX, strlen(RULE_PREFIX)) != 0) {
            print_error("case %s: rule \"%s\" does not begin with \"" RULE_PREFIX "\"\n", id,
                        rule != NULL ? rule : "(none)");
            failures++;
        }
        failures += table_case(c);
    }
    size_t n = json_array_size(cases);
    json_decref(seen);
    json_decref(root);
    if (n < TABLE_MIN_CASES) {
        print_error("the table has %zu cases, at least %d wanted\n", n, TABLE_MIN_CASES);
        failures++;
    }
    assert_int_equal(failures, 0);
}

/* ---- the trace and the API edges ------------------------------------------------- */

static void test_decision_names(void **state)
{
    (void)state;
    assert_string_equal(tg_policy_decision_name(TG_POLICY_ALLOW), "allowed");
    assert_string_equal(tg_policy_decision_name(TG_POLICY_DENY_EXPLICIT), "explicitDeny");
    assert_string_equal(tg_policy_decision_name(TG_POLICY_DENY_IMPLICIT), "implicitDeny");
    assert_string_equal(tg_policy_decision_name((enum tg_policy_decision)42), "implicitDeny");
}

/* A session policy that is gone (NULL) allows nothing but still narrows:
 * with it alone, or beside one that does not allow, the identity Allow is
 * not enough (spec 4.5); beside one that allows, the request is allowed. */
static void test_session_policy_gone(void **state)
{
    (void)state;
    struct tg_policy *all = compile_text(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
        "\"Resource\":\"*\"}]}",
        TG_POLICY_IDENTITY);
    struct tg_policy *get =
        compile_text("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
                     "\"iam:GetRole\",\"Resource\":\"*\"}]}",
                     TG_POLICY_SESSION);
    struct tg_policy_request req = {"iam:GetRole", "*", NULL, NULL, NULL, 0};
    const struct tg_policy *id[1] = {all};
    const struct tg_policy *gone[1] = {NULL};
    const struct tg_policy *gone_then_get[2] = {NULL, get};
    assert_int_equal(tg_policy_authorize(id, 1, NULL, 0, &req, NULL, NULL), TG_POLICY_ALLOW);
    assert_int_equal(tg_policy_authorize(id, 1, gone, 1, &req, NULL, NULL),
                     TG_POLICY_DENY_IMPLICIT);
    assert_int_equal(tg_policy_authorize(id, 1, gone_then_get, 2, &req, NULL, NULL),
                     TG_POLICY_ALLOW);
    req.action = "iam:DeleteRole";
    assert_int_equal(tg_policy_authorize(id, 1, gone_then_get, 2, &req, NULL, NULL),
                     TG_POLICY_DENY_IMPLICIT);
    /* a NULL identity policy grants nothing */
    const struct tg_policy *no_id[1] = {NULL};
    req.action = "iam:GetRole";
    assert_int_equal(tg_policy_authorize(no_id, 1, NULL, 0, &req, NULL, NULL),
                     TG_POLICY_DENY_IMPLICIT);
    tg_policy_free(all);
    tg_policy_free(get);
}

static void test_trace_shape(void **state)
{
    (void)state;
    struct tg_policy *p = compile_text(GH_TRUST, TG_POLICY_TRUST);
    const char *aud[] = {"sts.amazonaws.com"};
    const char *sub[] = {"repo:octo/app-evil:ref:refs/heads/main"};
    struct tg_policy_ctx_entry ctx[] = {
        {"token.actions.githubusercontent.com:aud", aud, 1},
        {"token.actions.githubusercontent.com:sub", sub, 1},
    };
    struct tg_policy_request req = {
        "sts:AssumeRoleWithWebIdentity", NULL, "Federated", GH_PROVIDER, ctx, 2};
    json_t *trace = NULL;
    assert_int_equal(eval_both(p, &req, &trace), TG_POLICY_DENY_IMPLICIT);
    json_t *st = json_array_get(trace, 0);
    assert_int_equal(json_integer_value(json_object_get(st, "statement")), 0);
    assert_string_equal(str_of(st, "sid"), "GitHub");
    assert_string_equal(str_of(st, "effect"), "Allow");
    assert_true(json_is_false(json_object_get(st, "matched")));
    assert_string_equal(str_of(st, "reason"), "condition");
    /* With a trace every condition is recorded, the passing one too. */
    json_t *conds = json_object_get(st, "conditions");
    assert_int_equal(json_array_size(conds), 2);
    json_t *c0 = json_array_get(conds, 0);
    json_t *c1 = json_array_get(conds, 1);
    assert_string_equal(str_of(c0, "operator"), "StringEquals");
    assert_true(json_is_true(json_object_get(c0, "result")));
    assert_string_equal(str_of(c1, "operator"), "StringLike");
    assert_string_equal(str_of(c1, "key"), "token.actions.githubusercontent.com:sub");
    assert_true(json_is_false(json_object_get(c1, "result")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(c1, "request_values"), 0)),
                        sub[0]);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c1, "policy_values"), 0)),
                        "repo:octo/app:*");
    json_decref(trace);

    /* A match: reason null, matched true. */
    sub[0] = "repo:octo/app:ref:refs/heads/main";
    trace = NULL;
    assert_int_equal(eval_both(p, &req, &trace), TG_POLICY_ALLOW);
    st = json_array_get(trace, 0);
    assert_true(json_is_true(json_object_get(st, "matched")));
    assert_true(json_is_null(json_object_get(st, "reason")));
    json_decref(trace);

    /* Principal mismatch: no condition evaluated. */
    req.principal = "arn:aws:iam::123456789012:oidc-provider/gitlab.com";
    trace = NULL;
    assert_int_equal(eval_both(p, &req, &trace), TG_POLICY_DENY_IMPLICIT);
    st = json_array_get(trace, 0);
    assert_string_equal(str_of(st, "reason"), "principal");
    assert_int_equal(json_array_size(json_object_get(st, "conditions")), 0);
    json_decref(trace);

    /* Absent key: request_values is null; set operator names are whole. */
    tg_policy_free(p);
    p = compile_text("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                     "\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{"
                     "\"ForAllValues:StringLikeIfExists\":{\"aws:TagKeys\":\"a*\"}}}]}",
                     TG_POLICY_IDENTITY);
    struct tg_policy_request r2 = {"s3:GetObject", "arn:aws:s3:::b/k", NULL, NULL, NULL, 0};
    trace = NULL;
    assert_int_equal(eval_both(p, &r2, &trace), TG_POLICY_ALLOW);
    st = json_array_get(trace, 0);
    assert_true(json_is_null(json_object_get(st, "sid")));
    c0 = json_array_get(json_object_get(st, "conditions"), 0);
    assert_string_equal(str_of(c0, "operator"), "ForAllValues:StringLikeIfExists");
    assert_true(json_is_null(json_object_get(c0, "request_values")));
    json_decref(trace);
    tg_policy_free(p);
}

/* Lists in the trace stop at 20 values; the total is given. */
static void test_trace_caps(void **state)
{
    (void)state;
    struct tg_buf doc;
    tg_buf_init(&doc, 1 << 16);
    assert_int_equal(tg_buf_append_str(&doc, "{\"Version\":\"2012-10-17\",\"Statement\":[{"
                                             "\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                                             "\"Resource\":\"*\",\"Condition\":{"
                                             "\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":["),
                     0);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(tg_buf_appendf(&doc, "%s\"p%d\"", i > 0 ? "," : "", i), 0);
    }
    assert_int_equal(tg_buf_append_str(&doc, "]}}}]}"), 0);
    assert_int_equal(tg_buf_nul(&doc), 0);
    struct tg_policy *p = compile_text((const char *)doc.ptr, TG_POLICY_IDENTITY);
    tg_buf_free(&doc);

    char names[25][8];
    const char *vals[25];
    for (int i = 0; i < 25; i++) {
        (void)snprintf(names[i], sizeof(names[i]), "r%d", i);
        vals[i] = names[i];
    }
    vals[24] = "p29"; /* the last request value matches the last policy value */
    struct tg_policy_ctx_entry ctx[] = {{"aws:TagKeys", vals, 25}};
    struct tg_policy_request req = {"s3:GetObject", "arn:aws:s3:::b/k", NULL, NULL, ctx, 1};
    json_t *trace = NULL;
    assert_int_equal(eval_both(p, &req, &trace), TG_POLICY_ALLOW);
    json_t *c0 = json_array_get(json_object_get(json_array_get(trace, 0), "conditions"), 0);
    assert_int_equal(json_array_size(json_object_get(c0, "request_values")), 20);
    assert_int_equal(json_array_size(json_object_get(c0, "policy_values")), 20);
    assert_int_equal(json_integer_value(json_object_get(c0, "request_values_total")), 25);
    assert_int_equal(json_integer_value(json_object_get(c0, "policy_values_total")), 30);
    json_decref(trace);
    tg_policy_free(p);
}

/* Every statement gets a trace object, even after a Deny decided; a trace
 * that is not an array is ignored. */
static void test_trace_all_statements(void **state)
{
    (void)state;
    struct tg_policy *p = compile_text(
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Sid\":\"D\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"X\",\"Effect\":\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"}]}",
        TG_POLICY_IDENTITY);
    struct tg_policy_request req = {"s3:GetObject", "arn:aws:s3:::b/k", NULL, NULL, NULL, 0};
    json_t *trace = NULL;
    assert_int_equal(eval_both(p, &req, &trace), TG_POLICY_DENY_EXPLICIT);
    assert_int_equal(json_array_size(trace), 3);
    assert_string_equal(str_of(json_array_get(trace, 2), "reason"), "action");
    assert_true(json_is_true(json_object_get(json_array_get(trace, 1), "matched")));
    json_decref(trace);

    /* A trace writer that has failed (here: a buffer too small) changes
     * nothing about the decision. */
    struct tg_buf tiny;
    tg_buf_init(&tiny, 16);
    struct tg_json_w w;
    tg_json_w_init(&w, &tiny);
    assert_int_equal(tg_policy_evaluate(p, &req, &w), TG_POLICY_DENY_EXPLICIT);
    assert_int_equal(tg_json_w_finish(&w), -1);
    tg_buf_free(&tiny);

    /* No action in the request: nothing applies, not even NotAction. */
    req.action = NULL;
    assert_int_equal(tg_policy_evaluate(p, &req, NULL), TG_POLICY_DENY_IMPLICIT);
    assert_int_equal(tg_policy_evaluate(NULL, &req, NULL), TG_POLICY_DENY_IMPLICIT);
    assert_int_equal(tg_policy_evaluate(p, NULL, NULL), TG_POLICY_DENY_IMPLICIT);
    tg_policy_free(p);
}

/* Request values longer than anything in the policy, and a pattern made to
 * backtrack, still evaluate (and quickly: the matcher is not exponential). */
static void test_long_values(void **state)
{
    (void)state;
    struct tg_policy *p = compile_text(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"k\":\"*a*a*a*a*a*a*a*a*b\"}}}]}",
        TG_POLICY_IDENTITY);
    size_t n = 20000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    const char *vals[] = {big};
    struct tg_policy_ctx_entry ctx[] = {{"k", vals, 1}};
    struct tg_policy_request req = {"s3:GetObject", "arn:aws:s3:::b/k", NULL, NULL, ctx, 1};
    assert_int_equal(tg_policy_evaluate(p, &req, NULL), TG_POLICY_DENY_IMPLICIT);
    big[n - 1] = 'b';
    assert_int_equal(tg_policy_evaluate(p, &req, NULL), TG_POLICY_ALLOW);
    free(big);
    tg_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_vectors),         cmocka_unit_test(test_table),
        cmocka_unit_test(test_decision_names),       cmocka_unit_test(test_session_policy_gone),
        cmocka_unit_test(test_trace_shape),          cmocka_unit_test(test_trace_caps),
        cmocka_unit_test(test_trace_all_statements), cmocka_unit_test(test_long_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
