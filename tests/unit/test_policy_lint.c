/*
 * Unit tests for src/policy/lint.c (`tegata policy check`): every rule with
 * a document that triggers it and one that does not, the place each finding
 * points at (computed here from the document's text, not by the code under
 * test), the kind guess, the order and the cap of the findings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define ACCT "123456789012"
#define GH "token.actions.githubusercontent.com"
#define GH_ARN "arn:aws:iam::" ACCT ":oidc-provider/" GH
#define GL "gitlab.example.com"
#define GL_ARN "arn:aws:iam::" ACCT ":oidc-provider/" GL
#define AWRWI "\"Action\":\"sts:AssumeRoleWithWebIdentity\""

/* ---- helpers ------------------------------------------------------------------ */

/* Lints an exact-size copy of doc (so ASan sees a read past its end). */
static struct tg_policy_report lint_any(const char *doc, enum tg_policy_kind kind)
{
    size_t n = strlen(doc);
    uint8_t *copy = malloc(n > 0 ? n : 1);
    assert_non_null(copy);
    memcpy(copy, doc, n);
    struct tg_policy_report r;
    assert_int_equal(tg_policy_lint(copy, n, kind, NULL, NULL, &r), 0);
    free(copy);
    assert_int_equal(r.kind, kind);
    return r;
}

static size_t count(const struct tg_policy_report *r, const char *rule);

/* ... a document that tg_policy_parse accepts, so that a rule's negative
 * case cannot pass only because nothing was linted. */
static struct tg_policy_report lint(const char *doc, enum tg_policy_kind kind)
{
    struct tg_policy_report r = lint_any(doc, kind);
    if (count(&r, "malformed") + count(&r, "duplicate-key") != 0) {
        fail_msg("refused: %s: %s", r.findings[0].message, doc);
    }
    return r;
}

static size_t count(const struct tg_policy_report *r, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        n += strcmp(r->findings[i].rule, rule) == 0;
    }
    return n;
}

/* The nth (from 0) finding of rule; fails the test if there is none. */
static const struct tg_policy_finding *nth(const struct tg_policy_report *r, const char *rule,
                                           size_t k)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->findings[i].rule, rule) == 0 && k-- == 0) {
            return &r->findings[i];
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        print_error("  %u:%u %s %s\n", r->findings[i].pos.line, r->findings[i].pos.column,
                    r->findings[i].rule, r->findings[i].message);
    }
    fail_msg("no finding %s", rule);
    return NULL;
}

static const struct tg_policy_finding *one(const struct tg_policy_report *r, const char *rule)
{
    if (count(r, rule) != 1) {
        for (size_t i = 0; i < r->n; i++) {
            print_error("  %u:%u %s %s\n", r->findings[i].pos.line, r->findings[i].pos.column,
                        r->findings[i].rule, r->findings[i].message);
        }
        fail_msg("expected one %s finding, got %zu", rule, count(r, rule));
    }
    return nth(r, rule, 0);
}

/* Line and column (1-based, columns in characters) of the k-th occurrence
 * of needle in doc, counted independently of the JSON module. */
static void where(const char *doc, const char *needle, size_t k, unsigned *line, unsigned *col)
{
    const char *at = doc;
    for (size_t i = 0;; i++) {
        at = strstr(at, needle);
        if (at == NULL) {
            fail_msg("%s not in the document", needle);
        }
        if (i == k) {
            break;
        }
        at++;
    }
    unsigned l = 1, c = 1;
    for (const char *p = doc; p < at; p++) {
        if (*p == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)*p & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void assert_at(const struct tg_policy_finding *f, const char *doc, const char *needle,
                      size_t k)
{
    unsigned l, c;
    where(doc, needle, k, &l, &c);
    if (f->pos.line != l || f->pos.column != c) {
        fail_msg("%s is at %u:%u, expected %u:%u (%s #%zu): %s", f->rule, f->pos.line,
                 f->pos.column, l, c, needle, k, f->message);
    }
}

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
    }
}

/* A GitHub trust policy with the inside of "Condition". */
static char *gh_trust(const char *cond)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI ",\"Condition\":{%s}}]}",
             cond);
    return buf;
}

#define GH_AUD "\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\"}"
#define GH_SUB_OK "\"StringLike\":{\"" GH ":sub\":[\"repo:o/r:*\",\"repo:o@1/r@2:*\"]}"

/* ---- the kind guess ---------------------------------------------------------------- */

static void test_kind_guess(void **state)
{
    (void)state;
    const char *trust = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:x\"},"
                        "{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":\"*\"}}]}";
    const char *one_st = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\"}}";
    const char *identity = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:x\"}]}";
    assert_int_equal(tg_policy_kind_guess((const uint8_t *)trust, strlen(trust)), TG_POLICY_TRUST);
    assert_int_equal(tg_policy_kind_guess((const uint8_t *)one_st, strlen(one_st)),
                     TG_POLICY_TRUST);
    assert_int_equal(tg_policy_kind_guess((const uint8_t *)identity, strlen(identity)),
                     TG_POLICY_IDENTITY);
    assert_int_equal(tg_policy_kind_guess((const uint8_t *)"{\"Principal\"", 12),
                     TG_POLICY_IDENTITY);
    assert_int_equal(tg_policy_kind_guess((const uint8_t *)"", 0), TG_POLICY_IDENTITY);
}

/* ---- guard (error) ----------------------------------------------------------------- */

static void test_guard(void **state)
{
    (void)state;
    /* aud only: at the Federated principal */
    const char *doc = gh_trust(GH_AUD);
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "guard");
    assert_int_equal(f->severity, TG_POLICY_ERROR);
    assert_string_equal(
        f->message, "Trust policy with trusted principal " GH_ARN
                    " must evaluate, using StringEquals, StringLike or StringEqualsIgnoreCase, " GH
                    ":sub which is not scoped to all.");
    assert_at(f, doc, "\"" GH_ARN "\"", 0);
    assert_int_equal(r.n_errors, 1);
    tg_policy_report_free(&r);

    /* a sub condition scoped to all: at its key */
    char copy[8192];
    snprintf(copy, sizeof(copy), "%s",
             gh_trust(GH_AUD ",\"StringLike\":{\"" GH ":sub\":\"repo:*\"}"));
    r = lint(copy, TG_POLICY_TRUST);
    assert_at(one(&r, "guard"), copy, "\"" GH ":sub\"", 0);
    tg_policy_report_free(&r);

    /* two statements: each failing one is reported */
    const char *two =
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI
        "},\n{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI "}]}";
    r = lint(two, TG_POLICY_TRUST);
    assert_int_equal(count(&r, "guard"), 2);
    assert_at(nth(&r, "guard", 1), two, "\"" GH_ARN "\"", 1);
    tg_policy_report_free(&r);

    /* negative: a scoped sub; and an identity policy is not guarded */
    r = lint(gh_trust(GH_AUD "," GH_SUB_OK), TG_POLICY_TRUST);
    assert_int_equal(count(&r, "guard"), 0);
    assert_int_equal(r.n_errors, 0);
    tg_policy_report_free(&r);
}

/* ---- no-subject (warning) ---------------------------------------------------------- */

static void test_no_subject(void **state)
{
    (void)state;
    const char *doc =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
        "\"Principal\":{\"Federated\":[\"arn:aws:iam::" ACCT ":saml-provider/x\",\"" GL_ARN
        "\"]}," AWRWI ",\"Condition\":{\"StringEquals\":{\"" GL
        ":aud\":\"a\"},\"StringNotEquals\":{\"" GL ":sub\":\"x\"}}}]}";
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "no-subject");
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    assert_at(f, doc, "\"" GL_ARN "\"", 0);
    assert_contains(f->message, "no condition on " GL ":sub");
    assert_int_equal(r.n_errors, 0);
    tg_policy_report_free(&r);

    /* negative: a claim that names the project */
    const char *ok =
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GL_ARN "\"}," AWRWI
        ",\"Condition\":{\"StringEquals\":{\"" GL ":project_path\":\"g/p\"}}}]}";
    r = lint(ok, TG_POLICY_TRUST);
    assert_int_equal(count(&r, "no-subject"), 0);
    tg_policy_report_free(&r);
    /* negative: a shared issuer gets the guard's error instead */
    r = lint(gh_trust(GH_AUD), TG_POLICY_TRUST);
    assert_int_equal(count(&r, "no-subject"), 0);
    assert_int_equal(count(&r, "guard"), 1);
    tg_policy_report_free(&r);
}

/* ---- malformed, duplicate-key (errors) ---------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    /* the checker's refusal, at the element of the statement it is about */
    const char *res =
        "{\"Version\":\"2012-10-17\",\"Statement\":[\n"
        "  {\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI "},\n"
        "  {\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI
        ",\"Resource\":\"*\"}]}";
    struct tg_policy_report r = lint_any(res, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "malformed");
    assert_int_equal(f->severity, TG_POLICY_ERROR);
    assert_string_equal(f->message, "MalformedPolicyDocument: Has prohibited field Resource");
    assert_at(f, res, "\"Resource\"", 0);
    assert_int_equal(r.n, 1); /* nothing else is linted */
    tg_policy_report_free(&r);

    /* a syntax problem with its detail, at the statement */
    const char *unk = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"},\n"
                      "  {\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resourc\":\"*\"}]}";
    r = lint_any(unk, TG_POLICY_IDENTITY);
    f = one(&r, "malformed");
    assert_string_equal(
        f->message,
        "MalformedPolicyDocument: Syntax errors in policy. (unknown statement element)");
    assert_at(f, unk, "{\"Effect\"", 1);
    tg_policy_report_free(&r);

    /* jansson's error, at the token it names */
    const char *js = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [tru]\n}";
    r = lint_any(js, TG_POLICY_IDENTITY);
    f = one(&r, "malformed");
    assert_contains(f->message, "Syntax errors in policy. (JSON: invalid token near 'tru')");
    assert_at(f, js, "tru", 0);
    tg_policy_report_free(&r);

    /* document-level: the Version, the second of two Sids, the nesting */
    const char *ver = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":"
                      "\"*\"}],\n \"Version\":\"2008-10-17\"}";
    r = lint_any(ver, TG_POLICY_IDENTITY);
    f = one(&r, "malformed");
    assert_string_equal(
        f->message,
        "MalformedPolicyDocument: Policy document must be version 2012-10-17 or greater.");
    assert_at(f, ver, "\"Version\"", 0);
    tg_policy_report_free(&r);
    const char *sid = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"A\",\"Effect\":"
                      "\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\"},\n{\"Sid\":\"A\","
                      "\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\"}]}";
    r = lint_any(sid, TG_POLICY_IDENTITY);
    f = one(&r, "malformed");
    assert_contains(f->message, "Statement IDs (SID) in a single policy must be unique.");
    assert_at(f, sid, "\"A\"", 1);
    tg_policy_report_free(&r);
    char deep[200];
    snprintf(deep, sizeof(deep), "{\"Statement\":%.40s%.40s}",
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    r = lint_any(deep, TG_POLICY_IDENTITY);
    f = one(&r, "malformed");
    assert_contains(f->message, "deeper than TG_JSON_MAX_DEPTH");
    unsigned l, c;
    where(deep, "[", 0, &l, &c);
    assert_int_equal(f->pos.column, c + 31); /* the 33rd level: '{' and 32 '[' */
    tg_policy_report_free(&r);
    r = lint_any("", TG_POLICY_TRUST);
    f = one(&r, "malformed");
    assert_int_equal(f->pos.line, 1);
    assert_int_equal(f->pos.column, 1);
    tg_policy_report_free(&r);

    /* negative: a good document has no malformed finding */
    r = lint(gh_trust(GH_AUD "," GH_SUB_OK), TG_POLICY_TRUST);
    assert_int_equal(count(&r, "malformed"), 0);
    assert_int_equal(r.n_errors + r.n_warnings, 0);
    tg_policy_report_free(&r);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    /* AWS keeps one of the two StringLike blocks (spec 4.1): refused, at
     * the second one */
    const char *doc = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI ",\n"
                      "  \"Condition\":{\"StringLike\":{\"" GH ":sub\":\"repo:o/r:*\"},\n"
                      "    \"StringLike\":{\"" GH ":sub\":\"repo:*\"}}}]}";
    struct tg_policy_report r = lint_any(doc, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "duplicate-key");
    assert_int_equal(f->severity, TG_POLICY_ERROR);
    assert_contains(f->message, "duplicate key \"StringLike\"");
    assert_contains(f->message, "MalformedPolicyDocument: Syntax errors in policy.");
    assert_at(f, doc, "\"StringLike\"", 1);
    tg_policy_report_free(&r);
    /* a long key (jansson names no token past 20 characters) */
    const char *lk = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":"
                     "\"*\",\"Condition\":{\"StringEquals\":{\"aws:PrincipalTag/department\":"
                     "\"a\",\"aws:PrincipalTag/department\":\"b\"}}}],\"Version\":\"2012-10-17\"}";
    r = lint_any(lk, TG_POLICY_IDENTITY);
    assert_at(one(&r, "duplicate-key"), lk, "\"aws:PrincipalTag/department\"", 1);
    tg_policy_report_free(&r);
    /* negative: the same name in two objects is no duplicate */
    r = lint(gh_trust("\"StringEquals\":{\"" GH ":sub\":\"repo:o/r:ref:x\"},"
                      "\"StringLike\":{\"" GH ":sub\":\"repo:o@1/r@2:*\"}"),
             TG_POLICY_TRUST);
    assert_int_equal(count(&r, "duplicate-key"), 0);
    assert_int_equal(r.n_errors, 0);
    tg_policy_report_free(&r);
}

/* ---- equals-wildcard (warning) ----------------------------------------------------- */

static void test_equals_wildcard(void **state)
{
    (void)state;
    const char *d2 = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                     "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{"
                     "\"StringEquals\":{\"s3:prefix\":[\"home/\",\"home/*\"]},\n"
                     "\"StringNotEqualsIgnoreCase\":{\"aws:PrincipalTag/team\":\"ops?\"},"
                     "\"StringLike\":{\"s3:delimiter\":\"*\"},"
                     "\"StringEqualsIfExists\":{\"aws:PrincipalTag/x\":\"${*}${?}\"}}}]}";
    struct tg_policy_report r = lint(d2, TG_POLICY_IDENTITY);
    assert_int_equal(count(&r, "equals-wildcard"), 2);
    const struct tg_policy_finding *f = nth(&r, "equals-wildcard", 0);
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    assert_string_equal(f->message,
                        "StringEquals compares \"home/*\" literally: '*' and '?' are wildcards "
                        "only in StringLike (was StringLike meant?)");
    assert_at(f, d2, "\"home/*\"", 0);
    f = nth(&r, "equals-wildcard", 1);
    assert_contains(f->message, "StringNotEqualsIgnoreCase compares \"ops?\" literally");
    assert_contains(f->message, "(was StringNotLike meant?)");
    assert_at(f, d2, "\"ops?\"", 0);
    tg_policy_report_free(&r);
}

/* ---- sub-spans (warning) ------------------------------------------------------------- */

static void expect_spans(const char *key, const char *pattern, const char *noun)
{
    char doc[2048];
    snprintf(doc, sizeof(doc),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
             "{\"AWS\":\"" ACCT "\"},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringLike\":"
             "{\"%s\":[\"x\",\"%s\"]}}}]}",
             key, pattern);
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "sub-spans");
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    char q[300];
    snprintf(q, sizeof(q), "\"%s\"", pattern);
    assert_at(f, doc, q, 0);
    assert_contains(f->message, noun);
    tg_policy_report_free(&r);
}

static void expect_no_spans(const char *key, const char *pattern)
{
    char doc[2048];
    snprintf(doc, sizeof(doc),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
             "{\"AWS\":\"" ACCT "\"},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringLike\":"
             "{\"%s\":\"%s\"}}}]}",
             key, pattern);
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    if (count(&r, "sub-spans") != 0) {
        fail_msg("%s %s: %s", key, pattern, nth(&r, "sub-spans", 0)->message);
    }
    tg_policy_report_free(&r);
}

static void test_sub_spans(void **state)
{
    (void)state;
    expect_spans(GH ":sub", "repo:octo-org/*", "spans repositories");
    expect_spans(GH ":sub", "repo:*", "spans repositories");
    expect_spans(GH ":sub", "repo:octo-org/app-*:ref:refs/heads/main", "spans repositories");
    expect_spans(GH ":sub", "re*", "spans repositories");
    expect_spans(GH ":sub", "*", "matches every subject of the issuer");
    expect_spans(GH ":sub", "*:ref:refs/heads/main", "every subject");
    expect_spans(GH ":repository", "octo-org/*", "spans repositories");
    expect_spans("gitlab.com:sub", "project_path:group/*", "spans projects");
    expect_spans(GL ":sub", "project_path:group/*", "spans projects"); /* by its shape */
    expect_spans("gitlab.com:project_path", "group/*", "spans projects");
    expect_spans("oidc.circleci.com/org/o1:sub", "org/o1/project/*", "spans projects");
    expect_spans("vstoken.dev.azure.com/g1:sub", "sc://org/*", "spans projects");
    expect_spans("app.terraform.io:sub", "organization:o:project:p:*", "spans workspaces");
    expect_spans("agent.buildkite.com:sub", "organization:o:*", "spans pipelines");
    expect_spans("127.0.0.1:8443/ci:sub", "*", "every subject"); /* a port (--dev) */

    expect_no_spans(GH ":sub", "repo:octo-org/octo-repo:*");
    expect_no_spans(GH ":sub", "repo:octo-org@65/octo-repo@74:ref:*");
    expect_no_spans(GH ":sub", "repository_owner:octo-org:*"); /* customized: not judged */
    expect_no_spans(GH ":repository", "octo-org/octo-repo");
    expect_no_spans("gitlab.com:sub", "project_path:group/sub/proj:ref_type:branch:*");
    expect_no_spans("oidc.circleci.com/org/o1:sub", "org/o1/project/p1/user/*");
    expect_no_spans("vstoken.dev.azure.com/g1:sub", "sc://org/proj/*");
    expect_no_spans("app.terraform.io:sub", "organization:o:project:p:workspace:w:run_phase:*");
    expect_no_spans(GH ":workflow", "deploy-*");              /* not a subject */
    expect_no_spans(GL ":sub", "system:serviceaccount:ns:*"); /* unknown shape */

    /* StringEquals does not span (its '*' is literal: equals-wildcard) */
    struct tg_policy_report r =
        lint(gh_trust("\"StringEquals\":{\"" GH ":sub\":\"repo:*\"}"), TG_POLICY_TRUST);
    assert_int_equal(count(&r, "sub-spans"), 0);
    assert_int_equal(count(&r, "equals-wildcard"), 1);
    tg_policy_report_free(&r);
}

/* ---- for-all-values (warning) -------------------------------------------------------- */

static void test_for_all_values(void **state)
{
    (void)state;
    /* single-valued sub, in a Deny statement too */
    const char *doc =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
        "{\"Federated\":\"" GH_ARN "\"}," AWRWI ",\"Condition\":{" GH_SUB_OK ",\n"
        "\"ForAllValues:StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\"}}},\n"
        "{\"Effect\":\"Deny\",\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI
        ",\"Condition\":{\"ForAllValues:StringNotLike\":{\"" GH ":sub\":\"repo:o/*\"}}}]}";
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    assert_int_equal(count(&r, "for-all-values"), 2);
    const struct tg_policy_finding *f = nth(&r, "for-all-values", 0);
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    assert_at(f, doc, "\"" GH ":aud\"", 0);
    assert_contains(f->message, "ForAllValues:StringEquals on the single-valued key");
    assert_contains(f->message, "(use StringEquals)");
    f = nth(&r, "for-all-values", 1);
    assert_at(f, doc, "\"" GH ":sub\"", 1);
    assert_contains(f->message, "(use StringNotLike)");
    tg_policy_report_free(&r);

    /* a multi-valued key in an Allow statement, with and without Null */
    const char *multi = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                        "\"Action\":\"iam:TagRole\",\"Resource\":\"*\",\"Condition\":{"
                        "\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"team\"]}}},\n"
                        "{\"Effect\":\"Allow\",\"Action\":\"iam:TagRole\",\"Resource\":\"*\","
                        "\"Condition\":{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"env\"]},"
                        "\"Null\":{\"aws:tagkeys\":\"false\"}}},\n"
                        "{\"Effect\":\"Deny\",\"Action\":\"iam:TagRole\",\"Resource\":\"*\","
                        "\"Condition\":{\"ForAllValues:StringNotEquals\":{\"aws:TagKeys\":"
                        "[\"x\"]},\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"y\"]}}}]}";
    r = lint(multi, TG_POLICY_IDENTITY);
    f = one(&r, "for-all-values");
    assert_at(f, multi, "\"aws:TagKeys\"", 0);
    assert_contains(f->message, "in an Allow statement is true when the key is missing");
    tg_policy_report_free(&r);
}

/* ---- unknown-key (warning) ------------------------------------------------------------ */

static void test_unknown_key(void **state)
{
    (void)state;
    const char *doc =
        gh_trust(GH_SUB_OK ",\"StringEquals\":{\"" GH ":repositry\":\"o/r\",\"" GH
                           ":repository_id\":\"74\",\"aws:SourceIps\":\"10.0.0.1\","
                           "\"aws:PrincipalTag/team\":\"ops\",\"aws:sourceip\":\"10.0.0.2\","
                           "\"gitlab.com:sub\":\"x\",\"sts:RoleSessionName\":\"s\"}");
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    assert_int_equal(count(&r, "unknown-key"), 3);
    const struct tg_policy_finding *f = nth(&r, "unknown-key", 0);
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    assert_at(f, doc, "\"" GH ":repositry\"", 0);
    assert_string_equal(f->message, "unknown condition key \"" GH ":repositry\": GitHub Actions "
                                    "tokens have no claim \"repositry\", so it never has a value "
                                    "(did you mean repository?)");
    f = nth(&r, "unknown-key", 1);
    assert_at(f, doc, "\"aws:SourceIps\"", 0);
    assert_contains(f->message, "unknown global condition key \"aws:SourceIps\"");
    assert_contains(f->message, "(did you mean aws:SourceIp?)");
    f = nth(&r, "unknown-key", 2);
    assert_at(f, doc, "\"gitlab.com:sub\"", 0);
    assert_contains(f->message, "not for a provider this statement trusts");
    tg_policy_report_free(&r);

    /* negative: GitLab.com and CircleCI claims, an issuer whose claims are
     * not known, keys in an identity policy of a provider */
    const char *ok = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                     "\"Action\":\"s3:x\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{"
                     "\"gitlab.com:namespace_id\":\"72\",\"gitlab.com:ref_protected\":\"true\","
                     "\"oidc.circleci.com/org/o1:oidc.circleci.com/vcs-origin\":\"github.com/a/b\","
                     "\"vstoken.dev.azure.com/g:whatever\":\"x\",\"" GL ":anything\":\"x\","
                     "\"aws:RequestTag/env\":\"x\"}}}]}";
    r = lint(ok, TG_POLICY_IDENTITY);
    assert_int_equal(count(&r, "unknown-key"), 0);
    tg_policy_report_free(&r);
    /* ... but an unknown claim of GitLab.com is */
    r = lint("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
             "\"s3:x\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{"
             "\"gitlab.com:project\":\"x\"}}}]}",
             TG_POLICY_IDENTITY);
    assert_contains(one(&r, "unknown-key")->message, "GitLab.com tokens have no claim \"project\"");
    tg_policy_report_free(&r);
}

/* ---- github-immutable-sub (warning) --------------------------------------------------- */

static void test_github_immutable(void **state)
{
    (void)state;
    const char *doc =
        gh_trust(GH_AUD ",\"StringLike\":{\"" GH ":sub\":[\"repo:o/r:*\",\"repo:o/s:*\"]}");
    struct tg_policy_report r = lint(doc, TG_POLICY_TRUST);
    const struct tg_policy_finding *f = one(&r, "github-immutable-sub");
    assert_int_equal(f->severity, TG_POLICY_WARNING);
    assert_at(f, doc, "\"" GH ":sub\"", 0);
    assert_contains(f->message, "repo:OWNER@OWNER_ID/REPO@REPO_ID:");
    assert_int_equal(r.n_errors, 0);
    tg_policy_report_free(&r);
    r = lint(gh_trust("\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\",\"" GH
                      ":sub\":\"repo:o/r:ref:refs/heads/x\"}"),
             TG_POLICY_TRUST);
    assert_int_equal(count(&r, "github-immutable-sub"), 1);
    tg_policy_report_free(&r);

    /* negative: the new form is there too; a wildcard owner; a customized
     * subject; another issuer */
    static const char *const ok[] = {
        GH_AUD "," GH_SUB_OK,
        "\"StringLike\":{\"" GH ":sub\":\"repo:octo-*:*\"}",
        "\"StringEquals\":{\"" GH
        ":sub\":\"repository_owner:octo-org:repository_visibility:private\"}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        r = lint(gh_trust(ok[i]), TG_POLICY_TRUST);
        if (count(&r, "github-immutable-sub") != 0) {
            fail_msg("case %zu: %s", i, ok[i]);
        }
        tg_policy_report_free(&r);
    }
    r = lint("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"" GL_ARN
             "\"}," AWRWI ",\"Condition\":{\"StringLike\":{\"" GL ":sub\":\"repo:o/r:*\"}}}]}",
             TG_POLICY_TRUST);
    assert_int_equal(count(&r, "github-immutable-sub"), 0);
    tg_policy_report_free(&r);
}

/* ---- characters, size ----------------------------------------------------------------- */

static void test_characters(void **state)
{
    (void)state;
    const char *doc =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"caf\xc3\xa9\","
        "\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\",\n"
        "\"Condition\":{\"StringEquals\":{\"aws:PrincipalTag/n\":\"\xe3\x81\x82\"}}}]}";
    struct tg_policy_report r = lint(doc, TG_POLICY_IDENTITY);
    const struct tg_policy_finding *f = one(&r, "characters");
    assert_int_equal(f->severity, TG_POLICY_ERROR);
    assert_contains(f->message, "character U+3042 is not allowed");
    assert_at(f, doc, "\xe3\x81\x82", 0);
    tg_policy_report_free(&r);
    const char bad[] = "{\"Statement\":\x01}";
    r = lint_any(bad, TG_POLICY_IDENTITY);
    f = one(&r, "characters");
    assert_contains(f->message, "control character U+0001");
    assert_int_equal(f->pos.column, 14);
    tg_policy_report_free(&r);
    r = lint_any("{\"Statement\":\"\xff\"}", TG_POLICY_IDENTITY);
    assert_contains(one(&r, "characters")->message, "byte 0xFF is not UTF-8");
    tg_policy_report_free(&r);
    /* negative: U+00E9 (two bytes) and TAB, LF, CR are IAM's */
    r = lint("{\"Version\":\"2012-10-17\",\t\"Statement\":[{\"Sid\":\"caf\xc3\xa9\",\r\n"
             "\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\"}]}",
             TG_POLICY_IDENTITY);
    assert_int_equal(count(&r, "characters"), 0);
    assert_int_equal(r.n_errors, 0);
    tg_policy_report_free(&r);
}

/* A document of roughly size characters: an identity policy padded with a
 * long Sid, or a trust policy with a long sub value. */
static char *padded(enum tg_policy_kind kind, size_t size)
{
    char *pad = malloc(size + 1);
    assert_non_null(pad);
    memset(pad, 'a', size);
    pad[size] = '\0';
    char *doc = malloc(size + 1024);
    assert_non_null(doc);
    if (kind == TG_POLICY_TRUST) {
        snprintf(doc, size + 1024,
                 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"Federated\":\"" GH_ARN "\"}," AWRWI ",\"Condition\":{"
                 "\"StringEquals\":{\"" GH ":sub\":\"repo:o@1/r@2:%s\"}}}]}",
                 pad);
    } else {
        snprintf(doc, size + 1024,
                 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"%s\",\"Effect\":"
                 "\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\"}]}",
                 pad);
    }
    free(pad);
    return doc;
}

static void test_size(void **state)
{
    (void)state;
    struct {
        enum tg_policy_kind kind;
        size_t pad;
        enum tg_policy_severity want; /* 0: none */
        const char *text;
    } cases[] = {
        {TG_POLICY_TRUST, 1500, 0, NULL},
        {TG_POLICY_TRUST, 2100, TG_POLICY_WARNING,
         "default trust policy quota ACLSizePerRole, 2048"},
        {TG_POLICY_TRUST, 4100, TG_POLICY_ERROR, "largest trust policy quota ACLSizePerRole, 4096"},
        {TG_POLICY_IDENTITY, 6000, 0, NULL},
        {TG_POLICY_IDENTITY, 6200, TG_POLICY_WARNING, "too large for a managed policy"},
        {TG_POLICY_IDENTITY, 10300, TG_POLICY_ERROR, "and for a role's inline policies"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *doc = padded(cases[i].kind, cases[i].pad);
        struct tg_policy_report r = lint(doc, cases[i].kind);
        if (cases[i].want == 0) {
            assert_int_equal(count(&r, "size"), 0);
        } else {
            const struct tg_policy_finding *f = one(&r, "size");
            assert_int_equal(f->severity, cases[i].want);
            assert_contains(f->message, cases[i].text);
            assert_int_equal(f->pos.line, 1);
            assert_int_equal(f->pos.column, 1);
        }
        tg_policy_report_free(&r);
        free(doc);
    }
}

/* ---- the report ----------------------------------------------------------------------- */

static void test_order_and_cap(void **state)
{
    (void)state;
    /* findings come in document order, whatever rule found them */
    const char *doc = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                      "\"Action\":\"s3:x\",\"Resource\":\"*\",\"Condition\":{\n"
                      "\"StringEquals\":{\"aws:Nope\":\"a*\"},\n"
                      "\"ForAllValues:StringLike\":{\"aws:TagKeys\":\"b\"}}}]}";
    struct tg_policy_report r = lint(doc, TG_POLICY_IDENTITY);
    assert_int_equal(r.n, 3);
    for (size_t i = 1; i < r.n; i++) {
        const struct tg_policy_pos *a = &r.findings[i - 1].pos, *b = &r.findings[i].pos;
        assert_true(a->line < b->line || (a->line == b->line && a->column <= b->column));
    }
    assert_string_equal(r.findings[0].rule, "unknown-key");
    assert_string_equal(r.findings[1].rule, "equals-wildcard");
    assert_string_equal(r.findings[2].rule, "for-all-values");
    assert_int_equal(r.n_warnings, 3);
    tg_policy_report_free(&r);

    /* more findings than TG_POLICY_LINT_MAX_FINDINGS: the rest are counted */
    size_t per = 700, cap = 64 + 2 * (per * 6 + 64);
    char *big = malloc(cap);
    assert_non_null(big);
    size_t o = (size_t)snprintf(big, cap,
                                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
                                "\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\",\"Condition\":{");
    for (int c = 0; c < 2; c++) {
        o += (size_t)snprintf(big + o, cap - o, "%s\"%s\":{\"s3:prefix\":[", c ? "," : "",
                              c ? "StringNotEquals" : "StringEquals");
        for (size_t i = 0; i < per; i++) {
            o += (size_t)snprintf(big + o, cap - o, "%s\"*\"", i ? "," : "");
        }
        o += (size_t)snprintf(big + o, cap - o, "]}");
    }
    snprintf(big + o, cap - o, "}}]}");
    r = lint(big, TG_POLICY_IDENTITY);
    assert_int_equal(r.n, TG_POLICY_LINT_MAX_FINDINGS);
    assert_int_equal(r.n_warnings, 2 * per);
    tg_policy_report_free(&r);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_guess),    cmocka_unit_test(test_guard),
        cmocka_unit_test(test_no_subject),    cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_duplicate_key), cmocka_unit_test(test_equals_wildcard),
        cmocka_unit_test(test_sub_spans),     cmocka_unit_test(test_for_all_values),
        cmocka_unit_test(test_unknown_key),   cmocka_unit_test(test_github_immutable),
        cmocka_unit_test(test_characters),    cmocka_unit_test(test_size),
        cmocka_unit_test(test_order_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
