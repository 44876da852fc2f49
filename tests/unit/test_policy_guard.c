/*
 * Unit tests for src/policy/guard.c: the identity-provider guard for shared
 * CI issuers (spec 3.3): AWS's message, the operators and values that count
 * as checking the subject, the issuers that are shared, and the statements
 * it looks at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

#define ACCT "123456789012"
#define GH "token.actions.githubusercontent.com"
#define GH_ARN "arn:aws:iam::" ACCT ":oidc-provider/" GH

/* A trust policy with one statement for provider key prov: actions and
 * the inside of "Condition" as given. */
static char *trust(const char *prov, const char *action, const char *cond)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"Federated\":\"arn:aws:iam::" ACCT ":oidc-provider/%s\"},"
             "\"Action\":%s%s%s%s}]}",
             prov, action, cond[0] != '\0' ? ",\"Condition\":{" : "", cond,
             cond[0] != '\0' ? "}" : "");
    return buf;
}

static bool marked(const char *key, void *ctx)
{
    return strcmp(key, (const char *)ctx) == 0;
}

/* 0 if the guard lets the policy through; -1 with err otherwise. */
static int guard(const char *doc, struct tg_error *err, const char *marked_key)
{
    struct tg_policy *p = NULL;
    memset(err, 0, sizeof(*err));
    if (tg_policy_parse((const uint8_t *)doc, strlen(doc), TG_POLICY_TRUST, &p, err) != 0) {
        fail_msg("does not parse: %s (%s): %s", err->message, err->detail, doc);
    }
    int rc = tg_policy_guard(p, marked_key ? marked : NULL, (void *)marked_key, err);
    tg_policy_free(p);
    return rc;
}

static void expect_ok(const char *prov, const char *action, const char *cond)
{
    struct tg_error err;
    if (guard(trust(prov, action, cond), &err, NULL) != 0) {
        fail_msg("refused: %s: %s", err.message, cond);
    }
}

static void expect_refused(const char *prov, const char *action, const char *cond)
{
    struct tg_error err;
    assert_int_equal(guard(trust(prov, action, cond), &err, NULL), -1);
    assert_int_equal(err.code, TG_E_MALFORMED_POLICY_DOCUMENT);
    char want[512];
    snprintf(want, sizeof(want),
             "Trust policy with trusted principal arn:aws:iam::" ACCT
             ":oidc-provider/%s must evaluate, using StringEquals, StringLike or "
             "StringEqualsIgnoreCase, %s:sub which is not scoped to all.",
             prov, prov);
    assert_string_equal(err.message, want);
}

#define AWRWI "\"sts:AssumeRoleWithWebIdentity\""
#define AUD "\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\"}"

static void test_github(void **state)
{
    (void)state;
    /* The seed articles' policies. */
    expect_ok(GH, AWRWI, AUD ",\"StringLike\":{\"" GH ":sub\":\"repo:acme/app:*\"}");
    expect_ok(GH, AWRWI,
              "\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\",\"" GH
              ":sub\":\"repo:acme/app:ref:refs/heads/main\"}");
    expect_ok(GH, AWRWI,
              "\"StringEqualsIgnoreCase\":{\"" GH ":sub\":\"repo:Acme/App:pull_request\"}");
    expect_ok(GH, AWRWI, "\"StringLikeIfExists\":{\"" GH ":sub\":\"repo:acme/*\"}");
    /* Key names are case-insensitive. */
    expect_ok(GH, AWRWI,
              "\"StringLike\":{\"TOKEN.actions.githubusercontent.com:SUB\":\"repo:a/b:*\"}");
    /* Only aud: any repository on GitHub could assume the role. */
    expect_refused(GH, AWRWI, AUD);
    expect_refused(GH, AWRWI, "");
    /* Scoped to all: '*', every repository, one value of several. */
    expect_refused(GH, AWRWI, "\"StringLike\":{\"" GH ":sub\":\"*\"}");
    expect_refused(GH, AWRWI, "\"StringEquals\":{\"" GH ":sub\":\"*\"}");
    expect_refused(GH, AWRWI, "\"StringLike\":{\"" GH ":sub\":\"repo:*\"}");
    expect_refused(GH, AWRWI, "\"StringLike\":{\"" GH ":sub\":\"r*\"}");
    expect_refused(GH, AWRWI, "\"StringLike\":{\"" GH ":sub\":[\"repo:acme/app:*\",\"**\"]}");
    expect_ok(GH, AWRWI,
              "\"StringLike\":{\"" GH ":sub\":[\"repo:acme/app:*\",\"repo:acme/web:*\"]}");
    /* Operators that do not limit the subject. */
    expect_refused(GH, AWRWI, "\"StringNotLike\":{\"" GH ":sub\":\"repo:evil/*\"}");
    expect_refused(GH, AWRWI, "\"ForAllValues:StringLike\":{\"" GH ":sub\":\"repo:acme/app:*\"}");
    expect_refused(GH, AWRWI,
                   "\"ForAnyValue:StringEquals\":{\"" GH ":sub\":\"repo:a/b:pull_request\"}");
    expect_refused(GH, AWRWI, "\"StringLike\":{\"" GH ":repository\":\"acme/app\"}");
    /* The enterprise paths of the same issuer. */
    expect_refused(GH "/acme", AWRWI, "");
    expect_ok(GH "/acme", AWRWI, "\"StringLike\":{\"" GH "/acme:sub\":\"repo:acme/app:*\"}");
    /* Actions: every form that includes the call, and only those. */
    expect_refused(GH, "\"sts:*\"", "");
    expect_refused(GH, "[\"sts:TagSession\",\"STS:assumerolewithwebidentity\"]", "");
    expect_refused(GH, "\"*\"", "");
    expect_ok(GH, "\"sts:TagSession\"", "");
}

static void test_other_issuers(void **state)
{
    (void)state;
    expect_refused("gitlab.com", AWRWI,
                   "\"StringEquals\":{\"gitlab.com:aud\":\"https://gitlab.com\"}");
    expect_refused("gitlab.com", AWRWI, "\"StringLike\":{\"gitlab.com:sub\":\"project_path:*\"}");
    expect_ok("gitlab.com", AWRWI,
              "\"StringLike\":{\"gitlab.com:sub\":\"project_path:group/"
              "project:ref_type:branch:ref:main\"}");
    expect_refused("oidc.circleci.com/org/0a1b", AWRWI, "");
    expect_refused("oidc.circleci.com/org/0a1b", AWRWI,
                   "\"StringLike\":{\"oidc.circleci.com/org/0a1b:sub\":\"org/*\"}");
    expect_ok(
        "oidc.circleci.com/org/0a1b", AWRWI,
        "\"StringLike\":{\"oidc.circleci.com/org/0a1b:sub\":\"org/0a1b/project/2c3d/user/*\"}");
    expect_refused("vstoken.dev.azure.com/4f5c", AWRWI, "");
    expect_ok("vstoken.dev.azure.com/4f5c", AWRWI,
              "\"StringEquals\":{\"vstoken.dev.azure.com/4f5c:sub\":\"sc://org/proj/conn\"}");
    expect_refused("app.terraform.io", AWRWI,
                   "\"StringLike\":{\"app.terraform.io:sub\":\"organization:*\"}");
    expect_ok("app.terraform.io", AWRWI,
              "\"StringLike\":{\"app.terraform.io:sub\":\"organization:acme:project:*\"}");
    /* A self-hosted issuer is the operator's own: no guard... */
    expect_ok("gitlab.example.com", AWRWI, "");
    expect_ok("token.actions.githubusercontent.com.evil.example", AWRWI, "");
    /* ... unless the operator marks it shared; then only '*' counts as all. */
    struct tg_error err;
    assert_int_equal(guard(trust("ci.example.com", AWRWI, ""), &err, "ci.example.com"), -1);
    assert_int_equal(
        guard(trust("ci.example.com", AWRWI, "\"StringLike\":{\"ci.example.com:sub\":\"*\"}"), &err,
              "ci.example.com"),
        -1);
    assert_int_equal(guard(trust("ci.example.com", AWRWI,
                                 "\"StringLike\":{\"ci.example.com:sub\":\"team-a/*\"}"),
                           &err, "ci.example.com"),
                     0);
    assert_true(tg_policy_shared_issuer(GH));
    assert_true(tg_policy_shared_issuer("TOKEN.ACTIONS.GITHUBUSERCONTENT.COM/slug"));
    assert_false(tg_policy_shared_issuer(GH "/"));
    assert_false(tg_policy_shared_issuer("oidc.circleci.com"));
    assert_false(tg_policy_shared_issuer(NULL));
}

static void test_statements(void **state)
{
    (void)state;
    struct tg_error err;
    /* Each statement on its own: a safe one does not cover an unsafe one. */
    const char *two =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"},"
        "\"Action\":" AWRWI ",\"Condition\":{\"StringLike\":{\"" GH ":sub\":\"repo:acme/app:*\"}}},"
        "{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"},"
        "\"Action\":" AWRWI "}]}";
    assert_int_equal(guard(two, &err, NULL), -1);
    assert_non_null(strstr(err.detail, "statement 1"));
    /* Deny statements, NotAction without the call and other principals are
     * not checked. */
    const char *deny = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\","
                       "\"Principal\":{\"Federated\":\"" GH_ARN "\"},\"Action\":" AWRWI "}]}";
    assert_int_equal(guard(deny, &err, NULL), 0);
    const char *notaction = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                            "\"Principal\":{\"Federated\":\"" GH_ARN "\"},"
                            "\"NotAction\":" AWRWI "}]}";
    assert_int_equal(guard(notaction, &err, NULL), 0);
    const char *notaction2 = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                             "\"Principal\":{\"Federated\":\"" GH_ARN "\"},"
                             "\"NotAction\":\"sts:TagSession\"}]}";
    assert_int_equal(guard(notaction2, &err, NULL), -1);
    const char *aws = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT ":root\"},"
                      "\"Action\":\"sts:AssumeRole\"}]}";
    assert_int_equal(guard(aws, &err, NULL), 0);
    /* The first shared provider of a statement that fails is named. */
    const char *both = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                       "\"Principal\":{\"Federated\":[\"arn:aws:iam::" ACCT
                       ":oidc-provider/gitlab.example.com\",\"" GH_ARN "\"]},"
                       "\"Action\":" AWRWI "}]}";
    assert_int_equal(guard(both, &err, NULL), -1);
    assert_non_null(strstr(err.message, GH_ARN " must evaluate"));
    /* Identity policies and NULL are not trust policies. */
    assert_int_equal(tg_policy_guard(NULL, NULL, NULL, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github),
        cmocka_unit_test(test_other_issuers),
        cmocka_unit_test(test_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
