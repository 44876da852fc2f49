/*
 * Unit tests of src/policy/policy.c: the IAM grammar checks against the
 * moto vectors (../shared/vectors/iam-policy/moto), trust policy rules,
 * limits, the compiled form, and the size/character helpers (spec 4).
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

#include "policy/policy.h"

#ifndef TG_SHARED_DIR
#define TG_SHARED_DIR "/work/shared"
#endif

#define MOTO_FILE TG_SHARED_DIR "/vectors/iam-policy/moto/iam_policy_document_validation.json"
#define SEED_FILE TG_SHARED_DIR "/vectors/iam-policy/seed/iam_eval_seed.json"

/* policy.c's introspection hook (not yet in policy.h). */

#define SEED_TRUST                                                                                 \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"             \
    "\"Federated\":\"arn:aws:iam::123456789012:oidc-provider/"                                     \
    "token.actions.githubusercontent.com\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","         \
    "\"Condition\":{\"StringEquals\":{\"token.actions.githubusercontent.com:aud\":"                \
    "\"sts.amazonaws.com\"},\"StringLike\":{\"token.actions.githubusercontent.com:sub\":"          \
    "\"repo:octo/app:*\"}}}]}"

#define MSG_SYNTAX "Syntax errors in policy."
#define MSG_NO_PRINCIPAL                                                                           \
    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in "   \
    "policy has a statement with no principals!"

/* Parses a NUL-free text from an exact-size heap copy, so that a read past
 * the end is caught by AddressSanitizer. */
static int parse_exact(const char *text, size_t len, enum tg_policy_kind kind,
                       struct tg_policy **out, struct tg_error *err)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(err, 0, sizeof(*err));
    int rc = tg_policy_parse(copy, len, kind, out, err);
    free(copy);
    return rc;
}

static int parse(const char *text, enum tg_policy_kind kind, struct tg_policy **out,
                 struct tg_error *err)
{
    return parse_exact(text, strlen(text), kind, out, err);
}

static void expect_ok(const char *text, enum tg_policy_kind kind)
{
    struct tg_policy *p = NULL;
    struct tg_error err;
    int rc = parse(text, kind, &p, &err);
    if (rc != 0) {
        print_error("unexpected failure: %s (%s) for %s\n", err.message, err.detail, text);
    }
    assert_int_equal(rc, 0);
    assert_non_null(p);
    tg_policy_free(p);
}

static void expect_fail(const char *text, enum tg_policy_kind kind, const char *message)
{
    struct tg_policy *p = (struct tg_policy *)&p; /* must be reset to NULL */
    struct tg_error err;
    int rc = parse(text, kind, &p, &err);
    assert_int_equal(rc, -1);
    assert_null(p);
    assert_int_equal(err.code, TG_E_MALFORMED_POLICY_DOCUMENT);
    if (strcmp(err.message, message) != 0) {
        print_error("message \"%s\", expected \"%s\" for %s\n", err.message, message, text);
    }
    assert_string_equal(err.message, message);
}

/* Parses text (must succeed) and returns its compiled form as JSON. */
static json_t *compiled(const char *text, enum tg_policy_kind kind)
{
    struct tg_policy *p = NULL;
    struct tg_error err;
    assert_int_equal(parse(text, kind, &p, &err), 0);
    json_t *j = tg_policy_to_json(p);
    assert_non_null(j);
    tg_policy_free(p);
    return j;
}

static const char *jpath_str(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* ---- the moto vectors ---------------------------------------------------- */

/* Cases we cannot match exactly, with the reason. Empty: every case of the
 * file passes. */
static const struct {
    const char *id;
    const char *reason;
} moto_skips[] = {
    {NULL, NULL},
};

static bool skipped(const char *id)
{
    for (size_t i = 0; i < sizeof(moto_skips) / sizeof(moto_skips[0]); i++) {
        if (moto_skips[i].id != NULL && strcmp(moto_skips[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

static void test_moto_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(MOTO_FILE, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        print_error("%s: %s\n", MOTO_FILE, jerr.text);
    }
    assert_non_null(root);
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_is_array(cases));
    assert_int_equal(json_array_size(cases), 132);

    size_t n_valid = 0;
    size_t n_invalid = 0;
    size_t failures = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *id = jpath_str(c, "id");
        const char *text = jpath_str(c, "policy_text");
        size_t len = json_string_length(json_object_get(c, "policy_text"));
        const char *expect = jpath_str(c, "expect");
        if (skipped(id)) {
            continue;
        }
        struct tg_policy *p = NULL;
        struct tg_error err;
        int rc = parse_exact(text, len, TG_POLICY_IDENTITY, &p, &err);
        if (strcmp(expect, "valid") == 0) {
            n_valid++;
            if (rc != 0 || p == NULL) {
                print_error("%s: expected valid, got \"%s\" (%s)\n", id, err.message, err.detail);
                failures++;
            }
            tg_policy_free(p);
            continue;
        }
        n_invalid++;
        assert_string_equal(expect, "MalformedPolicyDocument");
        const char *want = jpath_str(c, "error_message");
        if (rc != -1 || p != NULL || err.code != TG_E_MALFORMED_POLICY_DOCUMENT ||
            strcmp(err.message, want) != 0) {
            print_error("%s: expected \"%s\", got rc %d \"%s\"\n", id, want, rc,
                        rc == 0 ? "" : err.message);
            failures++;
        }
        tg_policy_free(p);
    }
    assert_int_equal(n_valid, 54);
    assert_int_equal(n_invalid, 78);
    assert_int_equal(failures, 0);
    json_decref(root);
}

/* Session policies follow the same rules as identity policies. */
static void test_moto_vectors_session(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(MOTO_FILE, 0, &jerr);
    assert_non_null(root);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        const char *text = jpath_str(c, "policy_text");
        struct tg_policy *p = NULL;
        struct tg_error err;
        int rc = parse(text, TG_POLICY_SESSION, &p, &err);
        bool valid = strcmp(jpath_str(c, "expect"), "valid") == 0;
        assert_int_equal(rc, valid ? 0 : -1);
        if (!valid) {
            assert_string_equal(err.message, jpath_str(c, "error_message"));
        }
        tg_policy_free(p);
    }
    json_decref(root);
}

/* Every policy of the evaluation seed file is a valid identity policy, and
 * every resourcePolicy of a trust-* case a valid trust policy. */
static void test_seed_policies(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(SEED_FILE, 0, &jerr);
    assert_non_null(root);
    size_t n_identity = 0;
    size_t n_trust = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        size_t k;
        json_t *pol;
        json_array_foreach(json_object_get(c, "policies"), k, pol)
        {
            char *text = json_dumps(pol, 0);
            assert_non_null(text);
            expect_ok(text, TG_POLICY_IDENTITY);
            free(text);
            n_identity++;
        }
        json_t *rp = json_object_get(c, "resourcePolicy");
        const char *id = jpath_str(c, "id");
        if (rp != NULL && strncmp(id, "trust-", 6) == 0) {
            char *text = json_dumps(rp, 0);
            assert_non_null(text);
            expect_ok(text, TG_POLICY_TRUST);
            free(text);
            n_trust++;
        }
    }
    assert_true(n_identity > 50);
    assert_true(n_trust >= 4);
    json_decref(root);
}

/* ---- trust policies -------------------------------------------------------- */

static void test_seed_trust(void **state)
{
    (void)state;
    expect_ok(SEED_TRUST, TG_POLICY_TRUST);
    expect_fail(SEED_TRUST, TG_POLICY_IDENTITY, "Policy document should not specify a principal.");
    expect_fail(SEED_TRUST, TG_POLICY_SESSION, "Policy document should not specify a principal.");

    json_t *j = compiled(SEED_TRUST, TG_POLICY_TRUST);
    assert_string_equal(jpath_str(j, "version"), "2012-10-17");
    json_t *st = json_array_get(json_object_get(j, "statements"), 0);
    assert_non_null(st);
    assert_string_equal(jpath_str(st, "effect"), "Allow");
    json_t *pr = json_array_get(json_object_get(st, "Principal"), 0);
    assert_string_equal(jpath_str(pr, "type"), "Federated");
    assert_string_equal(
        jpath_str(pr, "value"),
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
    /* actions are lower-cased for case-insensitive matching */
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Action"), 0)),
                        "sts:assumerolewithwebidentity");
    assert_false(json_is_true(json_object_get(st, "actions_wild")));
    assert_null(json_object_get(st, "Resource"));
    json_t *conds = json_object_get(st, "conditions");
    assert_int_equal(json_array_size(conds), 2);
    json_t *c0 = json_array_get(conds, 0);
    json_t *c1 = json_array_get(conds, 1);
    assert_string_equal(jpath_str(c0, "operator"), "StringEquals");
    assert_string_equal(jpath_str(c0, "key"), "token.actions.githubusercontent.com:aud");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c0, "values"), 0)),
                        "sts.amazonaws.com");
    assert_string_equal(jpath_str(c1, "operator"), "StringLike");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c1, "values"), 0)),
                        "repo:octo/app:*");
    assert_true(json_is_null(json_object_get(c1, "qualifier")));
    assert_false(json_is_true(json_object_get(c1, "if_exists")));
    json_decref(j);

    struct tg_policy *p = NULL;
    struct tg_error err;
    assert_int_equal(parse(SEED_TRUST, TG_POLICY_TRUST, &p, &err), 0);
    assert_int_equal(tg_policy_statement_count(p), 1);
    tg_policy_free(p);
}

static void test_trust_rules(void **state)
{
    (void)state;
    /* Resource and NotResource are prohibited */
    expect_fail(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
        "{\"Federated\":\"accounts.google.com\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","
        "\"Resource\":\"*\"}}",
        TG_POLICY_TRUST, "Has prohibited field Resource");
    expect_fail(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
        "{\"Federated\":\"accounts.google.com\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","
        "\"NotResource\":\"*\"}}",
        TG_POLICY_TRUST, "Has prohibited field NotResource");
    /* a principal is required */
    expect_fail("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                "\"Action\":\"sts:AssumeRoleWithWebIdentity\"}}",
                TG_POLICY_TRUST, MSG_NO_PRINCIPAL);
    expect_fail("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{},"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_NO_PRINCIPAL);
    /* actions are required and need a vendor */
    expect_fail("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                "{\"AWS\":\"123456789012\"}}}",
                TG_POLICY_TRUST, "Policy statement must contain actions.");
    expect_fail("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                "{\"AWS\":\"123456789012\"},\"Action\":\"AssumeRole\"}}",
                TG_POLICY_TRUST,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    /* no partial wildcards in principals; "*" only as AWS */
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":"
        "\"arn:aws:iam::123456789012:oidc-provider/"
        "*\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\"}}",
        TG_POLICY_TRUST,
        "Invalid principal in policy: \"Federated\":\"arn:aws:iam::123456789012:oidc-provider/*\"");
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::*:root\"},"
        "\"Action\":\"sts:AssumeRole\"}}",
        TG_POLICY_TRUST, "Invalid principal in policy: \"AWS\":\"arn:aws:iam::*:root\"");
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"alice\"},"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, "Invalid principal in policy: \"AWS\":\"alice\"");
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Foo\":\"bar\"},"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, "Invalid principal in policy: \"Foo\":\"bar\"");
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"arn:aws:iam::123456789012:root\","
        "\"Action\":\"sts:AssumeRole\"}}",
        TG_POLICY_TRUST, "Invalid principal in policy: \"arn:aws:iam::123456789012:root\"");
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":[\"\"]},"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, "Invalid principal in policy: \"Service\":\"\"");
    /* wrong principal types are syntax errors */
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":[\"*\"],"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[[\"x\"]]},"
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotPrincipal\":\"*\","
                "\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_SYNTAX);

    /* accepted forms: "*", lists, several types, NotPrincipal, NotAction,
     * condition keys of OIDC providers with paths, set qualifiers */
    expect_ok(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\"}}",
        TG_POLICY_TRUST);
    expect_ok("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Gh_1\",\"Effect\":\"Allow\","
              "\"Principal\":{\"AWS\":[\"123456789012\",\"arn:aws:iam::123456789012:role/ci\"],"
              "\"Service\":\"ec2.amazonaws.com\",\"Federated\":[\"accounts.google.com\"]},"
              "\"Action\":[\"sts:AssumeRole\",\"sts:TagSession\",\"sts:SetSourceIdentity\"]},"
              "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"*\"},\"NotAction\":\"sts:*\","
              "\"Condition\":{\"ForAnyValue:StringLike\":{\"oidc.eks.us-east-1.amazonaws.com/id/"
              "111122223333:amr\":[\"a*\"]},\"StringEqualsIfExists\":{\"auth-dev.mozilla.auth0.com/"
              ":aud\":"
              "\"x\"}}}]}",
              TG_POLICY_TRUST);
    json_t *j = compiled(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"123456789012\",\"*\"],"
        "\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:*\"},"
        "{\"Effect\":\"Deny\",\"NotPrincipal\":\"*\",\"NotAction\":\"STS:TagSession\"}]}",
        TG_POLICY_TRUST);
    assert_true(json_is_null(json_object_get(j, "version")));
    json_t *st0 = json_array_get(json_object_get(j, "statements"), 0);
    json_t *prs = json_object_get(st0, "Principal");
    assert_int_equal(json_array_size(prs), 3);
    assert_string_equal(jpath_str(json_array_get(prs, 1), "value"), "*");
    assert_string_equal(jpath_str(json_array_get(prs, 2), "type"), "Service");
    assert_true(json_is_true(json_object_get(st0, "actions_wild")));
    json_t *st1 = json_array_get(json_object_get(j, "statements"), 1);
    assert_string_equal(jpath_str(st1, "effect"), "Deny");
    json_t *np = json_object_get(st1, "NotPrincipal");
    assert_int_equal(json_array_size(np), 1);
    assert_string_equal(jpath_str(json_array_get(np, 0), "type"), "AWS");
    assert_string_equal(json_string_value(json_array_get(json_object_get(st1, "NotAction"), 0)),
                        "sts:tagsession");
    json_decref(j);
}

static void test_versions(void **state)
{
    (void)state;
    const char *trust2008 = "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                            "\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},"
                            "\"Action\":\"sts:AssumeRole\"}}";
    expect_ok(trust2008, TG_POLICY_TRUST);
    json_t *j = compiled(trust2008, TG_POLICY_TRUST);
    assert_string_equal(jpath_str(j, "version"), "2008-10-17");
    json_decref(j);
    const char *id2008 = "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                         "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}";
    expect_fail(id2008, TG_POLICY_IDENTITY,
                "Policy document must be version 2012-10-17 or greater.");
    expect_fail(id2008, TG_POLICY_SESSION,
                "Policy document must be version 2012-10-17 or greater.");
    /* unknown versions and non-string versions are syntax errors */
    expect_fail("{\"Version\":\"2012-10-18\",\"Statement\":{\"Effect\":\"Allow\","
                "\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail("{\"Version\":20121017,\"Statement\":{\"Effect\":\"Allow\","
                "\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\"}}",
                TG_POLICY_TRUST, MSG_SYNTAX);
    /* policy variables are variables only in 2012-10-17 */
    j = compiled("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                 "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/${aws:userid}/*\"}}",
                 TG_POLICY_IDENTITY);
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(j, "statements"), 0), "resources_vars")));
    json_decref(j);
}

/* ---- statements, conditions, normalisation -------------------------------- */

static void test_statement_object_and_list(void **state)
{
    (void)state;
    const char *obj =
        "{\"Version\":\"2012-10-17\",\"Id\":\"x\",\"Statement\":{\"Effect\":\"Allow\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}}";
    struct tg_policy *p = NULL;
    struct tg_error err;
    assert_int_equal(parse(obj, TG_POLICY_IDENTITY, &p, &err), 0);
    assert_int_equal(tg_policy_statement_count(p), 1);
    json_t *jo = tg_policy_to_json(p);
    assert_string_equal(jpath_str(jo, "id"), "x");
    json_decref(jo);
    tg_policy_free(p);
    const char *list =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"A\",\"Effect\":\"Allow\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"},{\"Sid\":\"B\",\"Effect\":"
        "\"Deny\",\"Action\":[\"s3:PutObject\",\"S3:Delete*\"],\"Resource\":[\"*\"]},"
        "{\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"NotResource\":\"*\"}]}";
    assert_int_equal(parse(list, TG_POLICY_IDENTITY, &p, &err), 0);
    assert_int_equal(tg_policy_statement_count(p), 3);
    json_t *j = tg_policy_to_json(p);
    tg_policy_free(p);
    assert_true(json_is_null(json_object_get(j, "id")));
    json_t *st1 = json_array_get(json_object_get(j, "statements"), 1);
    assert_string_equal(jpath_str(st1, "sid"), "B");
    assert_string_equal(json_string_value(json_array_get(json_object_get(st1, "Action"), 1)),
                        "s3:delete*");
    assert_true(json_is_true(json_object_get(st1, "actions_wild")));
    json_t *st2 = json_array_get(json_object_get(j, "statements"), 2);
    assert_non_null(json_object_get(st2, "NotAction"));
    assert_non_null(json_object_get(st2, "NotResource"));
    assert_null(json_object_get(st2, "Action"));
    json_decref(j);
    assert_int_equal(tg_policy_statement_count(NULL), 0);
    tg_policy_free(NULL);
}

static void test_condition_values(void **state)
{
    (void)state;
    json_t *j = compiled(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":42},"
        "\"NumericEquals\":{\"x:n\":[1.5,-3,1e3,0.1]},\"Bool\":{\"aws:SecureTransport\":true},"
        "\"ForAllValues:StringEqualsIfExists\":{\"aws:TagKeys\":[\"a\",7,false]},"
        "\"NullIfExists\":{\"aws:SourceIp\":false},"
        "\"Unknown\":{},"
        "\"ForAnyValue:DateGreaterThan\":{\"aws:CurrentTime\":[1700000000,\"2024-01-01T00:00:00Z\"]"
        "},"
        "\"StringEquals\":{\"AWS:PrincipalTag/Team\":[]}}}}",
        TG_POLICY_IDENTITY);
    json_t *conds =
        json_object_get(json_array_get(json_object_get(j, "statements"), 0), "conditions");
    /* "Unknown":{} contributes nothing */
    assert_int_equal(json_array_size(conds), 7);
    json_t *c;
    c = json_array_get(conds, 0);
    assert_string_equal(jpath_str(c, "operator"), "NumericLessThan");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "values"), 0)), "42");
    c = json_array_get(conds, 1);
    json_t *v = json_object_get(c, "values");
    assert_int_equal(json_array_size(v), 4);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "1.5");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "-3");
    assert_string_equal(json_string_value(json_array_get(v, 2)), "1000");
    assert_string_equal(json_string_value(json_array_get(v, 3)), "0.1");
    c = json_array_get(conds, 2);
    assert_string_equal(jpath_str(c, "operator"), "Bool");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "values"), 0)), "true");
    c = json_array_get(conds, 3);
    assert_string_equal(jpath_str(c, "operator"), "StringEquals");
    assert_string_equal(jpath_str(c, "qualifier"), "ForAllValues");
    assert_true(json_is_true(json_object_get(c, "if_exists")));
    v = json_object_get(c, "values");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "7");
    assert_string_equal(json_string_value(json_array_get(v, 2)), "false");
    c = json_array_get(conds, 4);
    assert_string_equal(jpath_str(c, "operator"), "Null");
    assert_true(json_is_true(json_object_get(c, "if_exists")));
    c = json_array_get(conds, 5);
    assert_string_equal(jpath_str(c, "operator"), "DateGreaterThan");
    assert_string_equal(jpath_str(c, "qualifier"), "ForAnyValue");
    c = json_array_get(conds, 6);
    assert_string_equal(jpath_str(c, "key"), "AWS:PrincipalTag/Team");
    assert_string_equal(jpath_str(c, "key_lower"), "aws:principaltag/team");
    assert_int_equal(json_array_size(json_object_get(c, "values")), 0);
    json_decref(j);
}

static void test_condition_errors(void **state)
{
    (void)state;
#define COND(x)                                                                                    \
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","         \
    "\"Resource\":\"*\",\"Condition\":" x "}}"
    /* unknown operators (names are case-sensitive) */
    expect_fail(COND("{\"StringEqualz\":{\"a:b\":\"c\"}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"stringequals\":{\"a:b\":\"c\"}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"ForAnyValue:ForAllValues:StringEquals\":{\"a:b\":\"c\"}}"),
                TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"StringEqualsIfExistsIfExists\":{\"a:b\":\"c\"}}"), TG_POLICY_IDENTITY,
                MSG_SYNTAX);
    /* value types */
    expect_fail(COND("{\"StringEquals\":{\"a:b\":null}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"StringEquals\":{\"a:b\":[null]}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"StringEquals\":{\"a:b\":[[\"c\"]]}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(COND("{\"StringEquals\":{\"a:b\":[{}]}}"), TG_POLICY_IDENTITY, MSG_SYNTAX);
    /* bad dates fail the legacy parser */
    expect_fail(COND("{\"DateLessThan\":{\"aws:CurrentTime\":true}}"), TG_POLICY_IDENTITY,
                "The policy failed legacy parsing");
    expect_fail(
        COND("{\"DateLessThan\":{\"aws:CurrentTime\":[\"2020-01-01\",\"2020-02-30T25:00\"]}}"),
        TG_POLICY_IDENTITY, "The policy failed legacy parsing");
#undef COND
}

/* The cases above where an expectation might look surprising are pinned
 * separately so a change of behaviour is visible. */
static void test_date_forms(void **state)
{
    (void)state;
#define DATE(x)                                                                                    \
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","         \
    "\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":" x "}}}}"
    expect_ok(DATE("\"2020-01-01\""), TG_POLICY_IDENTITY);
    expect_ok(DATE("\"2020-01-01T10:20:30.123Z\""), TG_POLICY_IDENTITY);
    expect_ok(DATE("\"2020-01-01t10:20:30+05:30\""), TG_POLICY_IDENTITY);
    expect_ok(DATE("0"), TG_POLICY_IDENTITY);
    expect_ok(DATE("\"9223372036854775807\""), TG_POLICY_IDENTITY);
    expect_ok(DATE("\"-1\""), TG_POLICY_IDENTITY); /* a negative year */
    expect_fail(DATE("\"9223372036854775808\""), TG_POLICY_IDENTITY,
                "The policy failed legacy parsing");
    expect_fail(DATE("\"2020-01-01T10:20:60Z\""), TG_POLICY_IDENTITY,
                "The policy failed legacy parsing");
    expect_fail(DATE("\"2020-01-01T10:20:30Zx\""), TG_POLICY_IDENTITY,
                "The policy failed legacy parsing");
    expect_fail(DATE("\"2020-01-01-01\""), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
    expect_fail(DATE("\"-\""), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
    expect_fail(DATE("\"--5\""), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
    expect_fail(DATE("\"-292275055\""), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
    expect_fail(DATE("\"292278994-01\""), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
    expect_fail(DATE("1.5"), TG_POLICY_IDENTITY, "The policy failed legacy parsing");
#undef DATE
}

static void test_resources(void **state)
{
    (void)state;
#define RES(x)                                                                                     \
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","         \
    "\"Resource\":" x "}}"
    expect_ok(RES("\"arn:aws:iam::123456789012:root\""), TG_POLICY_IDENTITY);
    expect_ok(
        RES("\"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com\""),
        TG_POLICY_IDENTITY);
    expect_ok(RES("\"arn:*:s3:::bucket\""), TG_POLICY_IDENTITY);
    expect_fail(RES("\"arn:aws:iam::123456789012:thing/x\""), TG_POLICY_IDENTITY,
                "IAM resource path must either be \"*\" or start with user/, federated-user/, "
                "role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, "
                "saml-provider/, oidc-provider/, report/, access-report/.");
    /* the smallest bad resource of a list is the one reported */
    expect_fail(RES("[\"zzz\",\"arn:aws:s3:::ok\",\"bbb\",\"ccc\"]"), TG_POLICY_IDENTITY,
                "Resource bbb must be in ARN format or \"*\".");
    /* nulls in Resource lists are ignored; in Action lists they are not */
    expect_ok(RES("[null,\"*\"]"), TG_POLICY_IDENTITY);
    expect_fail("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                "\"Action\":[\"s3:*\",null],\"Resource\":\"*\"}}",
                TG_POLICY_IDENTITY, MSG_SYNTAX);
#undef RES
}

static void test_sids(void **state)
{
    (void)state;
    /* non-alphanumeric Sids are accepted (moto vector valid-040) */
    expect_ok(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a-b_c d\",\"Effect\":\"Allow\","
        "\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Sid\":\"A-B_C D\",\"Effect\":\"Allow\","
        "\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Sid\":\"\",\"Effect\":\"Allow\","
        "\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Sid\":\"\",\"Effect\":\"Allow\","
        "\"Action\":\"s3:*\",\"Resource\":\"*\"}]}",
        TG_POLICY_IDENTITY);
    expect_fail("{\"Statement\":[{\"Sid\":\"x\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                "\"Action\":\"sts:AssumeRole\"},{\"Sid\":\"x\",\"Effect\":\"Allow\","
                "\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\"}]}",
                TG_POLICY_TRUST, "Statement IDs (SID) in a single policy must be unique.");
}

/* ---- JSON-level refusals and limits ---------------------------------------- */

static void test_json_refusals(void **state)
{
    (void)state;
    /* duplicate keys, at any level */
    expect_fail("{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
                "\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
                TG_POLICY_IDENTITY, MSG_SYNTAX);
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\","
        "\"Condition\":{\"StringEquals\":{\"a:sub\":\"x\"},\"StringEquals\":{\"a:aud\":\"y\"}}}}",
        TG_POLICY_TRUST, MSG_SYNTAX);
    /* trailing garbage, empty input, not an object, invalid UTF-8, NUL */
    expect_fail(SEED_TRUST " x", TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail("", TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail("[]", TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:\xff\"}}",
        TG_POLICY_TRUST, MSG_SYNTAX);
    expect_fail(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:a\\u0000\"}}",
        TG_POLICY_TRUST, MSG_SYNTAX);
    /* trailing whitespace is fine */
    expect_ok(SEED_TRUST " \n", TG_POLICY_TRUST);

    struct tg_policy *p = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(tg_policy_parse(NULL, 0, TG_POLICY_TRUST, &p, &err), -1);
    assert_null(p);
    /* a NULL error is allowed */
    assert_int_equal(tg_policy_parse((const uint8_t *)"{}", 2, TG_POLICY_TRUST, &p, NULL), -1);
}

/* Depth 32 passes the pre-scan (and fails later, as a policy); depth 33 is
 * refused before jansson sees it. */
static void test_depth(void **state)
{
    (void)state;
    for (int depth = 32; depth <= 33; depth++) {
        char doc[256];
        size_t n = 0;
        /* {"Statement":[[[...]]]}: the object is level 1 */
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"Statement\":");
        for (int i = 1; i < depth; i++) {
            doc[n++] = '[';
        }
        /* brackets inside strings do not count */
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "\"[[[{{{\\\"[\"");
        for (int i = 1; i < depth; i++) {
            doc[n++] = ']';
        }
        doc[n++] = '}';
        doc[n] = '\0';
        struct tg_policy *p = NULL;
        struct tg_error err;
        assert_int_equal(parse_exact(doc, n, TG_POLICY_TRUST, &p, &err), -1);
        assert_string_equal(err.message, MSG_SYNTAX);
        if (depth == 33) {
            assert_non_null(strstr(err.detail, "TG_JSON_MAX_DEPTH"));
        } else {
            assert_null(strstr(err.detail, "TG_JSON_MAX_DEPTH"));
        }
    }
    /* a deep attack is refused cheaply */
    size_t big = 100000;
    char *doc = malloc(big);
    assert_non_null(doc);
    memset(doc, '[', big);
    struct tg_policy *p = NULL;
    struct tg_error err;
    assert_int_equal(parse_exact(doc, big, TG_POLICY_IDENTITY, &p, &err), -1);
    assert_non_null(strstr(err.detail, "TG_JSON_MAX_DEPTH"));
    free(doc);
}

static void test_limits(void **state)
{
    (void)state;
    struct tg_policy *p = NULL;
    struct tg_error err;
    /* TG_POLICY_MAX_VALUES actions pass, one more fails */
    for (size_t count = TG_POLICY_MAX_VALUES; count <= TG_POLICY_MAX_VALUES + 1; count++) {
        size_t cap = count * 16 + 256;
        char *doc = malloc(cap);
        assert_non_null(doc);
        size_t n = (size_t)snprintf(doc, cap,
                                    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":"
                                    "\"Allow\",\"Resource\":\"*\",\"Action\":[");
        for (size_t i = 0; i < count; i++) {
            n += (size_t)snprintf(doc + n, cap - n, "%s\"s3:A%zu\"", i ? "," : "", i);
        }
        n += (size_t)snprintf(doc + n, cap - n, "]}}");
        int rc = parse_exact(doc, n, TG_POLICY_IDENTITY, &p, &err);
        assert_int_equal(rc, count == TG_POLICY_MAX_VALUES ? 0 : -1);
        if (rc == 0) {
            tg_policy_free(p);
        } else {
            assert_string_equal(err.message, MSG_SYNTAX);
        }
        free(doc);
    }
    /* TG_POLICY_MAX_STATEMENTS statements pass, one more fails */
    for (size_t count = TG_POLICY_MAX_STATEMENTS; count <= TG_POLICY_MAX_STATEMENTS + 1; count++) {
        const char *one = "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}";
        size_t cap = count * (strlen(one) + 1) + 64;
        char *doc = malloc(cap);
        assert_non_null(doc);
        size_t n = (size_t)snprintf(doc, cap, "{\"Version\":\"2012-10-17\",\"Statement\":[");
        for (size_t i = 0; i < count; i++) {
            n += (size_t)snprintf(doc + n, cap - n, "%s%s", i ? "," : "", one);
        }
        n += (size_t)snprintf(doc + n, cap - n, "]}");
        int rc = parse_exact(doc, n, TG_POLICY_IDENTITY, &p, &err);
        assert_int_equal(rc, count == TG_POLICY_MAX_STATEMENTS ? 0 : -1);
        if (rc == 0) {
            assert_int_equal(tg_policy_statement_count(p), count);
            tg_policy_free(p);
        }
        free(doc);
    }
    /* documents over 2 x TG_POLICY_MAX_DOCUMENT bytes (here: padding) */
    size_t len = 2 * (size_t)TG_POLICY_MAX_DOCUMENT + 1;
    char *doc = malloc(len);
    assert_non_null(doc);
    memset(doc, ' ', len);
    memcpy(doc, SEED_TRUST, strlen(SEED_TRUST));
    assert_int_equal(parse_exact(doc, len, TG_POLICY_TRUST, &p, &err), -1);
    assert_string_equal(err.message, MSG_SYNTAX);
    assert_int_equal(parse_exact(doc, len - 1, TG_POLICY_TRUST, &p, &err), 0);
    tg_policy_free(p);
    free(doc);
}

/* ---- size and characters (spec 4.6) --------------------------------------- */

static void test_size(void **state)
{
    (void)state;
    const char *a = "{ \"a\" :\t\"b c\"\r\n}";
    assert_int_equal(tg_policy_size((const uint8_t *)a, strlen(a)), 10);
    /* code points, not bytes: "é" is two bytes */
    const char *b = "\"\xc3\xa9\xc3\xbf\"";
    assert_int_equal(tg_policy_size((const uint8_t *)b, strlen(b)), 4);
    assert_int_equal(tg_policy_size((const uint8_t *)"", 0), 0);
    assert_int_equal(tg_policy_size((const uint8_t *)"   \n", 4), 0);
    /* the seed trust policy has no whitespace */
    assert_int_equal(tg_policy_size((const uint8_t *)SEED_TRUST, strlen(SEED_TRUST)),
                     strlen(SEED_TRUST));
}

/* Where each statement stands, for MatchedStatements and the linter. */
static void test_statement_spans(void **state)
{
    (void)state;
    struct tg_policy *p = NULL;
    struct tg_error err;
    struct tg_policy_pos a, b;
    const char *doc = "{\n"
                      "  \"Version\": \"2012-10-17\",\n"
                      "  \"Statement\": [\n"
                      "    {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"},\n"
                      "    {\n"
                      "      \"Sid\": \"D\\u00e9\", \"Effect\": \"Deny\",\n"
                      "      \"Action\": \"s3:Delete*\", \"Resource\": \"*\"\n"
                      "    }\n"
                      "  ]\n"
                      "}\n";
    assert_int_equal(parse(doc, TG_POLICY_IDENTITY, &p, &err), 0);
    tg_policy_statement_span(p, 0, &a, &b);
    assert_int_equal(a.line, 4);
    assert_int_equal(a.column, 5);
    assert_int_equal(b.line, 4);
    assert_int_equal(b.column, 5 + 54); /* one past the 54 characters of the statement */
    tg_policy_statement_span(p, 1, &a, &b);
    assert_int_equal(a.line, 5);
    assert_int_equal(a.column, 5);
    assert_int_equal(b.line, 8);
    assert_int_equal(b.column, 6);
    /* Past the end: 0:0. */
    tg_policy_statement_span(p, 2, &a, &b);
    assert_int_equal(a.line, 0);
    assert_int_equal(b.column, 0);
    tg_policy_free(p);

    /* A single statement object; columns count characters, not bytes. */
    const char *one = "{\"Version\":\"2012-10-17\",\"Id\":\"\xc3\xa9\",\"Statement\":"
                      "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}";
    assert_int_equal(parse(one, TG_POLICY_IDENTITY, &p, &err), 0);
    tg_policy_statement_span(p, 0, &a, &b);
    assert_int_equal(a.line, 1);
    assert_int_equal(a.column, 46);
    assert_int_equal(b.column, 46 + 49);
    tg_policy_free(p);
}

static void test_chars(void **state)
{
    (void)state;
#define OK(s) assert_true(tg_policy_chars_valid((const uint8_t *)(s), sizeof(s) - 1))
#define BAD(s) assert_false(tg_policy_chars_valid((const uint8_t *)(s), sizeof(s) - 1))
    OK("");
    OK("{\"a\":\t\"b\"}\r\n");
    OK(" ~\x7f");
    OK("\xc2\x80\xc2\xa0\xc3\xa9\xc3\xbf"); /* U+0080, U+00A0, U+00E9, U+00FF */
    BAD("\x01");
    BAD("a\x00"
        "b");
    BAD("\x0b");
    BAD("\xc4\x80");         /* U+0100 */
    BAD("\xe2\x82\xac");     /* U+20AC */
    BAD("\xf0\x9f\x98\x80"); /* U+1F600 */
    BAD("\xc3");             /* truncated */
    BAD("\xc3\x41");         /* bad continuation */
    BAD("\xc1\xbf");         /* overlong */
    BAD("\x80");
    BAD("\xff");
#undef OK
#undef BAD
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moto_vectors),
        cmocka_unit_test(test_moto_vectors_session),
        cmocka_unit_test(test_seed_policies),
        cmocka_unit_test(test_seed_trust),
        cmocka_unit_test(test_trust_rules),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_statement_object_and_list),
        cmocka_unit_test(test_condition_values),
        cmocka_unit_test(test_condition_errors),
        cmocka_unit_test(test_date_forms),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_sids),
        cmocka_unit_test(test_json_refusals),
        cmocka_unit_test(test_statement_spans),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
