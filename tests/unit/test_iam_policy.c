/* Unit tests of the IAM managed policy actions (iam_policy.c, spec 7.2 and
 * 4.6): every action, its XML in AWS's element order, every error path, the
 * quotas, and round trips through a real SQLite store and snapshot reloads
 * (create -> get -> list -> update -> delete). Roles are created with
 * iam_role.c's CreateRole, as a client would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam_fixture.h"
#include "iam/iam_internal.h"

#define ARN(name) "arn:aws:iam::" FX_ACCOUNT ":policy" name

static const char DOC[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                          "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}";
/* DOC as RFC 3986 percent-encoding (spec 7: documents are URL-encoded). */
static const char DOC_ENC[] =
    "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C"
    "%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
static const char DOC2[] = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Deny\","
                           "\"Action\":\"s3:*\",\"Resource\":\"*\"}}";
/* A trust policy without the GitHub sub control (spec 3.3 does not apply). */
static const char TRUST[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                            "\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},"
                            "\"Action\":\"sts:AssumeRole\"}]}";

/* ---- helpers ---- */

/* Runs a call that must succeed. */
static void ok_impl(enum tg_code rc, const struct iam_fx *fx, int line)
{
    if (rc != TG_OK) {
        print_error("line %d: call failed (%d): %s\n", line, (int)rc, fx_body(fx));
        fail();
    }
}
#define assert_ok(fx, call) ok_impl((call), (fx), __LINE__)

/* Runs a call that must fail with code and a message containing msg. */
static void err_impl(enum tg_code rc, const struct iam_fx *fx, enum tg_code code, const char *msg,
                     int line)
{
    if (rc != code || strstr(fx->err.message, msg) == NULL) {
        print_error("line %d: wanted %s \"%s\", got %d \"%s\"\n", line, tg_code_name(code), msg,
                    (int)rc, fx->err.message);
        fail();
    }
}
#define assert_err(fx, call, code, msg) err_impl((call), (fx), (code), (msg), __LINE__)

/* Counts non-overlapping occurrences of s in the body. */
static size_t count_of(const struct iam_fx *fx, const char *s)
{
    size_t n = 0;
    for (const char *p = strstr(fx_body(fx), s); p != NULL; p = strstr(p + strlen(s), s)) {
        n++;
    }
    return n;
}

/* Asserts the order of the fragments in the body. */
static void order_impl(const struct iam_fx *fx, const char *const *frags, size_t n, int line)
{
    const char *body = fx_body(fx);
    size_t len = strlen(body);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        /* Offsets rather than a moving pointer: GCC's -O2 overread check
         * cannot follow the latter through fx_body's "" fallback. */
        const char *p = off <= len ? strstr(body + off, frags[i]) : NULL;
        if (p == NULL) {
            print_error("line %d: %s missing or out of order in\n  %s\n", line, frags[i], body);
            fail();
        }
        off = (size_t)(p - body) + strlen(frags[i]);
    }
}
#define assert_order(fx, ...)                                                                      \
    do {                                                                                           \
        const char *const frags_[] = {__VA_ARGS__};                                                \
        order_impl((fx), frags_, TG_ARRAY_LEN(frags_), __LINE__);                                  \
    } while (0)

static void create_policy(struct iam_fx *fx, const char *name, const char *path)
{
    if (path != NULL) {
        assert_ok(fx, fx_call(fx, "CreatePolicy", "PolicyName", name, "Path", path,
                              "PolicyDocument", DOC, NULL));
    } else {
        assert_ok(fx, fx_call(fx, "CreatePolicy", "PolicyName", name, "PolicyDocument", DOC, NULL));
    }
}

static void create_role(struct iam_fx *fx, const char *name)
{
    assert_ok(fx,
              fx_call(fx, "CreateRole", "RoleName", name, "AssumeRolePolicyDocument", TRUST, NULL));
}

static void expect_attachments(struct iam_fx *fx, const char *arn, const char *count_elem)
{
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", arn, NULL));
    assert_has(fx, count_elem);
}

/* ---- CreatePolicy / GetPolicy ---- */

static void test_create_get(void **state)
{
    struct iam_fx *fx = *state;
    assert_ok(fx,
              fx_call(fx, "CreatePolicy", "PolicyName", "ReadObjects", "PolicyDocument", DOC,
                      "Description", "read s3", "Tags.member.1.Key", "team", "Tags.member.1.Value",
                      "ci", "Tags.member.2.Key", "env", "Tags.member.2.Value", "prod", NULL));
    assert_has(fx, "<CreatePolicyResponse xmlns=\"" TG_NS_IAM "\"><CreatePolicyResult><Policy>"
                   "<PolicyName>ReadObjects</PolicyName><DefaultVersionId>v1</DefaultVersionId>"
                   "<PolicyId>ANPA");
    assert_has(
        fx, "</PolicyId><Path>/</Path><Arn>" ARN(
                "/ReadObjects") "</Arn>"
                                "<AttachmentCount>0</AttachmentCount>"
                                "<CreateDate>2026-01-01T00:00:00Z</CreateDate>"
                                "<UpdateDate>2026-01-01T00:00:00Z</UpdateDate>"
                                "<IsAttachable>true</IsAttachable>"
                                "<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount>"
                                "<Tags><member><Key>env</Key><Value>prod</Value></member>"
                                "<member><Key>team</Key><Value>ci</Value></member></Tags>"
                                "</Policy></CreatePolicyResult>");
    /* CreatePolicy does not echo the description. */
    assert_lacks(fx, "<Description>");
    /* The id: ANPA + 17 base32 characters. */
    const char *id = strstr(fx_body(fx), "<PolicyId>") + strlen("<PolicyId>");
    const char *end = strstr(id, "</PolicyId>");
    assert_int_equal(end - id, 21);
    for (const char *c = id; c < end; c++) {
        assert_true((*c >= 'A' && *c <= 'Z') || (*c >= '2' && *c <= '7'));
    }
    char policy_id[22];
    memcpy(policy_id, id, 21);
    policy_id[21] = '\0';

    fx->now_ms += 5000;
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/ReadObjects"), NULL));
    assert_has(fx, "<GetPolicyResult><Policy><PolicyName>ReadObjects</PolicyName>"
                   "<DefaultVersionId>v1</DefaultVersionId><PolicyId>");
    assert_has(fx, policy_id);
    assert_has(
        fx, "<Path>/</Path><Arn>" ARN(
                "/ReadObjects") "</Arn>"
                                "<AttachmentCount>0</AttachmentCount>"
                                "<CreateDate>2026-01-01T00:00:00Z</CreateDate>"
                                "<UpdateDate>2026-01-01T00:00:00Z</UpdateDate>"
                                "<IsAttachable>true</IsAttachable>"
                                "<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount>"
                                "<Description>read s3</Description>"
                                "<Tags><member><Key>env</Key><Value>prod</Value></member>"
                                "<member><Key>team</Key><Value>ci</Value></member></Tags>"
                                "</Policy></GetPolicyResult>");
}

static void test_create_path_no_tags(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "deploy", "/team/ci/");
    assert_has(fx, "<Path>/team/ci/</Path><Arn>" ARN("/team/ci/deploy") "</Arn>");
    assert_lacks(fx, "<Tags>");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/team/ci/deploy"), NULL));
    assert_has(fx, "<PolicyName>deploy</PolicyName>");
    assert_lacks(fx, "<Tags>");
    assert_lacks(fx, "<Description>");
    /* The path is part of the ARN: without it the policy is not found. */
    assert_err(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/deploy"), NULL), TG_E_NO_SUCH_ENTITY,
               "Policy " ARN("/deploy") " was not found.");
}

static void test_create_exists(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "Deploy", NULL);
    /* Names are unique case-insensitively, whatever the path. */
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", "DEPLOY", "Path", "/x/", "PolicyDocument",
                       DOC, NULL),
               TG_E_ENTITY_ALREADY_EXISTS,
               "A policy called DEPLOY already exists. Duplicate names are not allowed.");
    assert_int_equal(fx->snap->n_policies, 1);
}

static void test_create_validation(void **state)
{
    struct iam_fx *fx = *state;
    char long_name[130];
    memset(long_name, 'a', 129);
    long_name[129] = '\0';

    assert_err(fx, fx_call(fx, "CreatePolicy", "PolicyDocument", DOC, NULL), TG_E_VALIDATION_ERROR,
               "1 validation error detected: Value null at 'policyName' failed to satisfy "
               "constraint: Member must not be null");
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", long_name, "PolicyDocument", DOC, NULL),
               TG_E_VALIDATION_ERROR,
               "at 'policyName' failed to satisfy constraint: Member must have length less than or "
               "equal to 128");
    long_name[128] = '\0'; /* exactly 128 is fine */
    assert_ok(fx,
              fx_call(fx, "CreatePolicy", "PolicyName", long_name, "PolicyDocument", DOC, NULL));
    assert_err(fx, fx_call(fx, "CreatePolicy", "PolicyName", "", "PolicyDocument", DOC, NULL),
               TG_E_VALIDATION_ERROR, "Member must have length greater than or equal to 1");
    assert_err(fx, fx_call(fx, "CreatePolicy", "PolicyName", "a b", "PolicyDocument", DOC, NULL),
               TG_E_VALIDATION_ERROR,
               "1 validation error detected: Value 'a b' at 'policyName' failed to satisfy "
               "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+");
    assert_ok(fx,
              fx_call(fx, "CreatePolicy", "PolicyName", "a+=,.@-_1", "PolicyDocument", DOC, NULL));

    /* policyPathType: ((/[A-Za-z0-9\.,\+@=_-]+)*)/ */
    static const char *const bad_paths[] = {"team",   "/team", "team/", "//",
                                            "/a//b/", "/a b/", "/a*/",  ""};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_paths); i++) {
        enum tg_code rc = fx_call(fx, "CreatePolicy", "PolicyName", "p", "Path", bad_paths[i],
                                  "PolicyDocument", DOC, NULL);
        assert_int_equal(rc, TG_E_VALIDATION_ERROR);
        assert_non_null(strstr(fx->err.message, "at 'path'"));
    }
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", "p", "Path", "/a b/", "PolicyDocument",
                       DOC, NULL),
               TG_E_VALIDATION_ERROR,
               "Value '/a b/' at 'path' failed to satisfy constraint: Member must satisfy regular "
               "expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/");
    assert_ok(fx, fx_call(fx, "CreatePolicy", "PolicyName", "p", "Path", "/a.b,c+d@e=f_g-h/9/",
                          "PolicyDocument", DOC, NULL));

    assert_err(fx, fx_call(fx, "CreatePolicy", "PolicyName", "q", NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'policyDocument'");
    char desc[1002];
    memset(desc, 'd', 1001);
    desc[1001] = '\0';
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", "q", "PolicyDocument", DOC, "Description",
                       desc, NULL),
               TG_E_VALIDATION_ERROR,
               "at 'description' failed to satisfy constraint: Member must have length less than "
               "or equal to 1000");
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", "q", "PolicyDocument", DOC,
                       "Tags.member.1.Key", "aws:x", "Tags.member.1.Value", "v", NULL),
               TG_E_INVALID_INPUT, "aws:");
    /* Nothing was written by the failures. */
    assert_int_equal(fx->snap->n_policies, 3);
}

static void test_create_malformed(void **state)
{
    struct iam_fx *fx = *state;
    static const char *const bad[] = {
        "{",
        "[]",
        "{\"Version\":\"2012-10-17\"}",
        /* a trust policy (Principal) is not an identity policy */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
        "{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\",\"Resource\":\"*\"}]}",
        /* no Resource */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\"}]}",
        /* managed policies need 2012-10-17 (spec 4.1, moto) */
        "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":"
        "\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::example_bucket\"}}",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        enum tg_code rc =
            fx_call(fx, "CreatePolicy", "PolicyName", "p", "PolicyDocument", bad[i], NULL);
        if (rc != TG_E_MALFORMED_POLICY_DOCUMENT) {
            print_error("case %zu: got %d %s\n", i, (int)rc, fx->err.message);
        }
        assert_int_equal(rc, TG_E_MALFORMED_POLICY_DOCUMENT);
    }
    /* A character outside TAB/LF/CR/U+0020..U+00FF is a ValidationError. */
    assert_err(
        fx,
        fx_call(fx, "CreatePolicy", "PolicyName", "p", "PolicyDocument",
                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
                "\"s3:*\",\"Resource\":\"\xe2\x82\xac\"}]}",
                NULL),
        TG_E_VALIDATION_ERROR, "at 'policyDocument'");
    assert_int_equal(fx->snap->n_policies, 0);
}

/* A policy of exactly size non-whitespace characters, padded with spaces. */
static char *sized_doc(size_t size, size_t spaces)
{
    static const char head[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                               "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/";
    static const char tail[] = "\"}]}";
    size_t fixed = strlen(head) + strlen(tail);
    assert_true(size > fixed);
    char *d = malloc(size + spaces + 1);
    assert_non_null(d);
    size_t n = 0;
    memcpy(d, head, strlen(head));
    n += strlen(head);
    memset(d + n, 'x', size - fixed);
    n += size - fixed;
    memcpy(d + n, tail, strlen(tail));
    n += strlen(tail);
    /* whitespace between tokens: before the closing brace */
    memmove(d + n - 1 + spaces, d + n - 1, 1);
    memset(d + n - 1, ' ', spaces);
    n += spaces;
    d[n] = '\0';
    return d;
}

static void test_policy_size(void **state)
{
    struct iam_fx *fx = *state;
    /* Spec 4.6: 6,144 characters, whitespace not counted. */
    char *at = sized_doc(6144, 500);
    char *over = sized_doc(6145, 0);
    assert_ok(fx, fx_call(fx, "CreatePolicy", "PolicyName", "big", "PolicyDocument", at, NULL));
    assert_err(fx,
               fx_call(fx, "CreatePolicy", "PolicyName", "bigger", "PolicyDocument", over, NULL),
               TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for PolicySize: 6144");
    /* The same quota holds for new versions. */
    assert_err(
        fx,
        fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/big"), "PolicyDocument", over, NULL),
        TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for PolicySize: 6144");
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/big"), "PolicyDocument", at,
                          NULL));
    free(at);
    free(over);
}

static void test_get_policy_errors(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    assert_err(fx, fx_call(fx, "GetPolicy", NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'policyArn' failed to satisfy constraint: Member must not be null");
    assert_err(fx, fx_call(fx, "GetPolicy", "PolicyArn", "arn:aws:iam::1:x", NULL),
               TG_E_VALIDATION_ERROR,
               "at 'policyArn' failed to satisfy constraint: Member must have length greater than "
               "or equal to 20");
    static const char *const invalid[] = {
        "arn:aws:s3:::my-bucket-name",         "arn:aws:iam::123456789012:role/some-role",
        "arn:aws:iam::12345678901:policy/p",   "arn:aws:iam::123456789012:policy/",
        "arn:aws:iam::123456789012:policy/a/", "arn:aws:iam::123456789012:policy/a b",
        "not an arn at all, really",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(invalid); i++) {
        char msg[128];
        snprintf(msg, sizeof(msg), "ARN %s is not valid.", invalid[i]);
        assert_err(fx, fx_call(fx, "GetPolicy", "PolicyArn", invalid[i], NULL), TG_E_INVALID_INPUT,
                   msg);
    }
    assert_err(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/nope"), NULL), TG_E_NO_SUCH_ENTITY,
               "Policy " ARN("/nope") " was not found.");
    /* Another account's, and AWS managed policies, are never ours. */
    assert_err(fx,
               fx_call(fx, "GetPolicy", "PolicyArn", "arn:aws:iam::210987654321:policy/p", NULL),
               TG_E_NO_SUCH_ENTITY, "was not found.");
    assert_err(
        fx, fx_call(fx, "GetPolicy", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess", NULL),
        TG_E_NO_SUCH_ENTITY, "Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found.");
    /* The error document carries the code. */
    assert_has(fx, "<Code>NoSuchEntity</Code>");
}

/* ---- GetPolicyVersion ---- */

static void test_get_policy_version(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    assert_ok(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v1", NULL));
    char want[512];
    snprintf(want, sizeof(want),
             "<GetPolicyVersionResult><PolicyVersion><Document>%s</Document>"
             "<VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion>"
             "<CreateDate>2026-01-01T00:00:00Z</CreateDate></PolicyVersion>"
             "</GetPolicyVersionResult>",
             DOC_ENC);
    assert_has(fx, want);

    assert_err(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), NULL),
               TG_E_VALIDATION_ERROR, "Value null at 'versionId'");
    static const char *const bad[] = {"1", "v0", "v", "V1", "v01", "v1.a b", "v1x"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Value '%s' at 'versionId' failed to satisfy constraint: Member must satisfy "
                 "regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
                 bad[i]);
        assert_err(
            fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", bad[i], NULL),
            TG_E_VALIDATION_ERROR, msg);
    }
    assert_err(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v2", NULL),
               TG_E_NO_SUCH_ENTITY,
               "Policy " ARN("/p") " version v2 does not exist or is not attachable.");
    assert_err(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/q"), "VersionId", "v1", NULL),
               TG_E_NO_SUCH_ENTITY, "Policy " ARN("/q") " was not found.");
    assert_err(fx,
               fx_call(fx, "GetPolicyVersion", "PolicyArn", "arn:aws:s3:::bucket-name-x",
                       "VersionId", "v1", NULL),
               TG_E_INVALID_INPUT, "ARN arn:aws:s3:::bucket-name-x is not valid.");
}

/* ---- ListPolicies ---- */

static void test_list_policies(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "gamma", "/team/sub/");
    create_policy(fx, "alpha", NULL);
    assert_ok(fx, fx_call(fx, "CreatePolicy", "PolicyName", "Beta", "Path", "/team/",
                          "PolicyDocument", DOC, "Description", "b", "Tags.member.1.Key", "k",
                          "Tags.member.1.Value", "v", NULL));

    assert_ok(fx, fx_call(fx, "ListPolicies", NULL));
    /* In name order, case-insensitively; no Description or Tags in lists. */
    assert_order(fx, "<ListPoliciesResult><Policies><member><PolicyName>alpha</PolicyName>",
                 "<member><PolicyName>Beta</PolicyName>", "<member><PolicyName>gamma</PolicyName>",
                 "</Policies><IsTruncated>false</IsTruncated></ListPoliciesResult>");
    assert_has(fx, "<member><PolicyName>alpha</PolicyName><DefaultVersionId>v1</DefaultVersionId>"
                   "<PolicyId>ANPA");
    assert_has(
        fx,
        "</PolicyId><Path>/</Path><Arn>" ARN(
            "/alpha") "</Arn>"
                      "<AttachmentCount>0</AttachmentCount>"
                      "<CreateDate>2026-01-01T00:00:00Z</CreateDate>"
                      "<UpdateDate>2026-01-01T00:00:00Z</UpdateDate>"
                      "<IsAttachable>true</IsAttachable>"
                      "<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount></member>");
    assert_lacks(fx, "<Description>");
    assert_lacks(fx, "<Tags>");
    assert_lacks(fx, "<Marker>");

    assert_ok(fx, fx_call(fx, "ListPolicies", "Scope", "Local", NULL));
    assert_int_equal(count_of(fx, "<member>"), 3);
    assert_ok(fx, fx_call(fx, "ListPolicies", "Scope", "All", NULL));
    assert_int_equal(count_of(fx, "<member>"), 3);
    /* We hold no AWS managed policies. */
    assert_ok(fx, fx_call(fx, "ListPolicies", "Scope", "AWS", NULL));
    assert_int_equal(count_of(fx, "<member>"), 0);
    assert_has(fx, "<IsTruncated>false</IsTruncated>");
    assert_err(fx, fx_call(fx, "ListPolicies", "Scope", "local", NULL), TG_E_VALIDATION_ERROR,
               "Value 'local' at 'scope' failed to satisfy constraint: Member must satisfy enum "
               "value set: [All, AWS, Local]");

    assert_ok(fx, fx_call(fx, "ListPolicies", "PathPrefix", "/team/", NULL));
    assert_order(fx, "<PolicyName>Beta</PolicyName>", "<PolicyName>gamma</PolicyName>");
    assert_int_equal(count_of(fx, "<member>"), 2);
    assert_ok(fx, fx_call(fx, "ListPolicies", "PathPrefix", "/team/sub/", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>gamma</PolicyName>");
    assert_ok(fx, fx_call(fx, "ListPolicies", "PathPrefix", "/other/", NULL));
    assert_int_equal(count_of(fx, "<member>"), 0);
    assert_err(fx, fx_call(fx, "ListPolicies", "PathPrefix", "team", NULL), TG_E_VALIDATION_ERROR,
               "at 'pathPrefix'");

    /* OnlyAttached */
    assert_ok(fx, fx_call(fx, "ListPolicies", "OnlyAttached", "true", NULL));
    assert_int_equal(count_of(fx, "<member>"), 0);
    create_role(fx, "r");
    assert_ok(
        fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/team/Beta"), NULL));
    assert_ok(fx, fx_call(fx, "ListPolicies", "OnlyAttached", "true", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>Beta</PolicyName>");
    assert_has(fx, "<AttachmentCount>1</AttachmentCount>");
    assert_ok(fx, fx_call(fx, "ListPolicies", "OnlyAttached", "false", NULL));
    assert_int_equal(count_of(fx, "<member>"), 3);
    assert_ok(fx, fx_call(fx, "ListPolicies", "PolicyUsageFilter", "PermissionsPolicy", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_ok(fx, fx_call(fx, "ListPolicies", "PolicyUsageFilter", "PermissionsBoundary", NULL));
    assert_int_equal(count_of(fx, "<member>"), 0);
    assert_err(fx, fx_call(fx, "ListPolicies", "PolicyUsageFilter", "Other", NULL),
               TG_E_VALIDATION_ERROR, "at 'policyUsageFilter'");
    assert_err(fx, fx_call(fx, "ListPolicies", "OnlyAttached", "yes", NULL), TG_E_VALIDATION_ERROR,
               "Value 'yes' at 'onlyAttached'");
}

static void test_list_policies_paging(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p1", NULL);
    create_policy(fx, "p2", NULL);
    create_policy(fx, "p3", NULL);
    assert_ok(fx, fx_call(fx, "ListPolicies", "MaxItems", "2", NULL));
    assert_int_equal(count_of(fx, "<member>"), 2);
    assert_order(fx, "<PolicyName>p1</PolicyName>", "<PolicyName>p2</PolicyName>",
                 "</Policies><IsTruncated>true</IsTruncated><Marker>2</Marker>");
    assert_ok(fx, fx_call(fx, "ListPolicies", "MaxItems", "2", "Marker", "2", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>p3</PolicyName>");
    assert_has(fx, "<IsTruncated>false</IsTruncated>");
    assert_lacks(fx, "<Marker>");
    assert_err(fx, fx_call(fx, "ListPolicies", "Marker", "x", NULL), TG_E_VALIDATION_ERROR,
               "Invalid Marker");
    assert_err(fx, fx_call(fx, "ListPolicies", "MaxItems", "0", NULL), TG_E_VALIDATION_ERROR,
               "at 'maxItems'");
    assert_err(fx, fx_call(fx, "ListPolicies", "MaxItems", "1001", NULL), TG_E_VALIDATION_ERROR,
               "at 'maxItems'");
}

/* ---- DeletePolicy ---- */

static void test_delete_policy(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", "/a/");
    assert_err(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/p"), NULL), TG_E_NO_SUCH_ENTITY,
               "Policy " ARN("/p") " was not found.");
    assert_err(fx, fx_call(fx, "DeletePolicy", "PolicyArn", "arn:aws:s3:::bucket-name-x", NULL),
               TG_E_INVALID_INPUT, "is not valid.");
    assert_ok(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/a/p"), NULL));
    /* No ActionResult for DeletePolicy. */
    assert_has(fx, "<DeletePolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_int_equal(fx->snap->n_policies, 0);
    assert_err(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/a/p"), NULL), TG_E_NO_SUCH_ENTITY,
               "was not found.");
    assert_err(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/a/p"), NULL), TG_E_NO_SUCH_ENTITY,
               "was not found.");
    /* The name is free again. */
    create_policy(fx, "P", NULL);
}

/* ---- attachments ---- */

static void test_attach_detach(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", "/team/");
    create_policy(fx, "q", NULL);
    create_role(fx, "Deploy");
    create_role(fx, "Other");

    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "Deploy", "PolicyArn", ARN("/team/p"),
                          NULL));
    assert_has(fx, "<AttachRolePolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    expect_attachments(fx, ARN("/team/p"), "<AttachmentCount>1</AttachmentCount>");
    /* Attaching again changes nothing; role names are case-insensitive. */
    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "deploy", "PolicyArn", ARN("/team/p"),
                          NULL));
    expect_attachments(fx, ARN("/team/p"), "<AttachmentCount>1</AttachmentCount>");
    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "Other", "PolicyArn", ARN("/team/p"),
                          NULL));
    expect_attachments(fx, ARN("/team/p"), "<AttachmentCount>2</AttachmentCount>");
    assert_ok(fx,
              fx_call(fx, "AttachRolePolicy", "RoleName", "Deploy", "PolicyArn", ARN("/q"), NULL));

    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Deploy", NULL));
    assert_has(
        fx, "<ListAttachedRolePoliciesResult><AttachedPolicies>"
            "<member><PolicyName>p</PolicyName><PolicyArn>" ARN(
                "/team/p") "</PolicyArn>"
                           "</member><member><PolicyName>q</PolicyName><PolicyArn>" ARN(
                               "/q") "</PolicyArn>"
                                     "</member></AttachedPolicies><IsTruncated>false</IsTruncated>"
                                     "</ListAttachedRolePoliciesResult>");
    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Deploy", "PathPrefix",
                          "/team/", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>p</PolicyName>");
    assert_ok(fx,
              fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Deploy", "MaxItems", "1", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "</AttachedPolicies><IsTruncated>true</IsTruncated><Marker>1</Marker>");
    assert_ok(fx,
              fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Deploy", "Marker", "1", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>q</PolicyName>");

    /* The role document keeps its other members. */
    assert_ok(fx, fx_call(fx, "GetRole", "RoleName", "Deploy", NULL));
    assert_has(fx, "<RoleName>Deploy</RoleName>");

    assert_ok(fx, fx_call(fx, "DetachRolePolicy", "RoleName", "DEPLOY", "PolicyArn", ARN("/team/p"),
                          NULL));
    expect_attachments(fx, ARN("/team/p"), "<AttachmentCount>1</AttachmentCount>");
    assert_err(
        fx,
        fx_call(fx, "DetachRolePolicy", "RoleName", "Deploy", "PolicyArn", ARN("/team/p"), NULL),
        TG_E_NO_SUCH_ENTITY, "Policy " ARN("/team/p") " was not found.");
    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Deploy", NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_has(fx, "<PolicyName>q</PolicyName>");
    assert_ok(fx, fx_call(fx, "DetachRolePolicy", "RoleName", "Other", "PolicyArn", ARN("/team/p"),
                          NULL));
    expect_attachments(fx, ARN("/team/p"), "<AttachmentCount>0</AttachmentCount>");
    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "Other", NULL));
    assert_int_equal(count_of(fx, "<member>"), 0);
    assert_has(fx, "<IsTruncated>false</IsTruncated>");
}

static void test_attach_errors(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    create_role(fx, "r");
    assert_err(fx, fx_call(fx, "AttachRolePolicy", "PolicyArn", ARN("/p"), NULL),
               TG_E_VALIDATION_ERROR, "Value null at 'roleName'");
    assert_err(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'policyArn'");
    assert_err(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "a/b", "PolicyArn", ARN("/p"), NULL),
               TG_E_VALIDATION_ERROR, "at 'roleName' failed to satisfy constraint");
    assert_err(fx,
               fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn",
                       "arn:aws:iam::123456789012:role/r-and-more", NULL),
               TG_E_INVALID_INPUT, "ARN arn:aws:iam::123456789012:role/r-and-more is not valid.");
    assert_err(fx,
               fx_call(fx, "AttachRolePolicy", "RoleName", "nobody", "PolicyArn", ARN("/p"), NULL),
               TG_E_NO_SUCH_ENTITY, "The role with name nobody cannot be found.");
    assert_err(fx,
               fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/nope"), NULL),
               TG_E_NO_SUCH_ENTITY, "Policy " ARN("/nope") " does not exist or is not attachable.");
    assert_err(
        fx,
        fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess", NULL),
        TG_E_NO_SUCH_ENTITY,
        "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or is not attachable.");
    assert_err(fx,
               fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn",
                       "arn:aws:iam::210987654321:policy/p", NULL),
               TG_E_NO_SUCH_ENTITY, "does not exist or is not attachable.");

    assert_err(fx,
               fx_call(fx, "DetachRolePolicy", "RoleName", "nobody", "PolicyArn", ARN("/p"), NULL),
               TG_E_NO_SUCH_ENTITY, "The role with name nobody cannot be found.");
    assert_err(
        fx, fx_call(fx, "DetachRolePolicy", "RoleName", "r", "PolicyArn", "bad-arn-but-long", NULL),
        TG_E_VALIDATION_ERROR, "at 'policyArn'");
    assert_err(fx,
               fx_call(fx, "DetachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/nope"), NULL),
               TG_E_NO_SUCH_ENTITY, "Policy " ARN("/nope") " was not found.");
    assert_err(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "nobody", NULL),
               TG_E_NO_SUCH_ENTITY, "The role with name nobody cannot be found.");
    assert_err(fx, fx_call(fx, "ListAttachedRolePolicies", NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'roleName'");
    assert_err(fx,
               fx_call(fx, "ListAttachedRolePolicies", "RoleName", "r", "PathPrefix", "x", NULL),
               TG_E_VALIDATION_ERROR, "at 'pathPrefix'");
    assert_err(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "r", "Marker", "-1", NULL),
               TG_E_VALIDATION_ERROR, "Invalid Marker");
    expect_attachments(fx, ARN("/p"), "<AttachmentCount>0</AttachmentCount>");
}

static void test_attach_limit(void **state)
{
    struct iam_fx *fx = *state;
    create_role(fx, "r");
    char name[16], arn[64];
    for (int i = 1; i <= 11; i++) {
        snprintf(name, sizeof(name), "p%02d", i);
        create_policy(fx, name, NULL);
    }
    for (int i = 1; i <= 10; i++) {
        snprintf(arn, sizeof(arn), ARN("/p%02d"), i);
        assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", arn, NULL));
    }
    /* Re-attaching at the quota is still a no-op success. */
    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p01"), NULL));
    assert_err(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p11"), NULL),
               TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for PoliciesPerRole: 10");
    expect_attachments(fx, ARN("/p11"), "<AttachmentCount>0</AttachmentCount>");
    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "r", NULL));
    assert_int_equal(count_of(fx, "<member>"), 10);
    /* After a detach there is room again. */
    assert_ok(fx, fx_call(fx, "DetachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p05"), NULL));
    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p11"), NULL));
    assert_ok(fx, fx_call(fx, "ListAttachedRolePolicies", "RoleName", "r", NULL));
    assert_int_equal(count_of(fx, "<member>"), 10);
    assert_lacks(fx, "<PolicyName>p05</PolicyName>");
    assert_has(fx, "<PolicyName>p11</PolicyName>");
}

static void test_delete_conflicts(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    create_role(fx, "r");
    assert_ok(fx, fx_call(fx, "AttachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p"), NULL));
    assert_err(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/p"), NULL), TG_E_DELETE_CONFLICT,
               "Cannot delete a policy attached to entities.");
    /* DeleteRole (iam_role.c) refuses too while the policy is attached. */
    assert_err(fx, fx_call(fx, "DeleteRole", "RoleName", "r", NULL), TG_E_DELETE_CONFLICT,
               "Cannot delete entity, must detach all policies first.");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/p"), NULL));
    assert_ok(fx, fx_call(fx, "GetRole", "RoleName", "r", NULL));

    assert_ok(fx, fx_call(fx, "DetachRolePolicy", "RoleName", "r", "PolicyArn", ARN("/p"), NULL));
    assert_ok(fx, fx_call(fx, "DeleteRole", "RoleName", "r", NULL));
    assert_ok(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/p"), NULL));
    assert_int_equal(fx->snap->n_policies, 0);
    assert_int_equal(fx->snap->n_roles, 0);
}

/* ---- versions ---- */

static void test_versions(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    fx->now_ms += 60000; /* 2026-01-01T00:01:00Z */
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC2,
                          NULL));
    assert_has(fx, "<CreatePolicyVersionResult><PolicyVersion><VersionId>v2</VersionId>"
                   "<IsDefaultVersion>false</IsDefaultVersion>"
                   "<CreateDate>2026-01-01T00:01:00Z</CreateDate></PolicyVersion>"
                   "</CreatePolicyVersionResult>");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<DefaultVersionId>v1</DefaultVersionId>");
    assert_has(fx, "<UpdateDate>2026-01-01T00:01:00Z</UpdateDate>");
    assert_has(fx, "<CreateDate>2026-01-01T00:00:00Z</CreateDate>");

    fx->now_ms += 60000;
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC2,
                          "SetAsDefault", "true", NULL));
    assert_has(fx, "<VersionId>v3</VersionId><IsDefaultVersion>true</IsDefaultVersion>");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<DefaultVersionId>v3</DefaultVersionId>");
    assert_ok(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v1", NULL));
    assert_has(fx, "<IsDefaultVersion>false</IsDefaultVersion>");

    /* Newest first. */
    assert_ok(fx, fx_call(fx, "ListPolicyVersions", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<ListPolicyVersionsResult><Versions>"
                   "<member><VersionId>v3</VersionId><IsDefaultVersion>true</IsDefaultVersion>"
                   "<CreateDate>2026-01-01T00:02:00Z</CreateDate></member>"
                   "<member><VersionId>v2</VersionId><IsDefaultVersion>false</IsDefaultVersion>"
                   "<CreateDate>2026-01-01T00:01:00Z</CreateDate></member>"
                   "<member><VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion>"
                   "<CreateDate>2026-01-01T00:00:00Z</CreateDate></member>"
                   "</Versions><IsTruncated>false</IsTruncated></ListPolicyVersionsResult>");
    assert_ok(fx, fx_call(fx, "ListPolicyVersions", "PolicyArn", ARN("/p"), "MaxItems", "2",
                          "Marker", "1", NULL));
    assert_order(fx, "<VersionId>v2</VersionId>", "<VersionId>v1</VersionId>",
                 "<IsTruncated>false</IsTruncated>");
    assert_int_equal(count_of(fx, "<member>"), 2);

    /* Up to 5 versions. */
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC,
                          NULL));
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC,
                          "SetAsDefault", "false", NULL));
    assert_has(fx, "<VersionId>v5</VersionId>");
    assert_err(
        fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC, NULL),
        TG_E_LIMIT_EXCEEDED, "A managed policy can have up to 5 versions.");

    /* The default cannot be deleted, nor a policy with other versions. */
    assert_err(fx,
               fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v3", NULL),
               TG_E_DELETE_CONFLICT, "Cannot delete the default version of a policy.");
    assert_err(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/p"), NULL), TG_E_DELETE_CONFLICT,
               "This policy has more than one version.");
    assert_err(fx,
               fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v9", NULL),
               TG_E_NO_SUCH_ENTITY, "Policy " ARN("/p") " version v9 does not exist");

    /* SetDefaultPolicyVersion, then delete the old default. */
    assert_ok(fx, fx_call(fx, "SetDefaultPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v5",
                          NULL));
    assert_has(fx, "<SetDefaultPolicyVersionResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<DefaultVersionId>v5</DefaultVersionId>");
    /* Setting the current default again is fine. */
    assert_ok(fx, fx_call(fx, "SetDefaultPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v5",
                          NULL));
    assert_err(
        fx, fx_call(fx, "SetDefaultPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v7", NULL),
        TG_E_NO_SUCH_ENTITY, "version v7 does not exist");
    assert_err(
        fx, fx_call(fx, "SetDefaultPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "x", NULL),
        TG_E_VALIDATION_ERROR, "at 'versionId'");
    assert_ok(fx,
              fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v3", NULL));
    assert_err(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v3", NULL),
               TG_E_NO_SUCH_ENTITY, "version v3 does not exist");
    /* Numbering continues after the highest. */
    assert_ok(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC,
                          NULL));
    assert_has(fx, "<VersionId>v6</VersionId>");
    assert_ok(fx, fx_call(fx, "GetPolicyVersion", "PolicyArn", ARN("/p"), "VersionId", "v6", NULL));
    char want[512];
    snprintf(want, sizeof(want), "<Document>%s</Document><VersionId>v6</VersionId>", DOC_ENC);
    assert_has(fx, want);

    /* Delete the others, then the policy. */
    static const char *const others[] = {"v1", "v2", "v4", "v6"};
    for (size_t i = 0; i < TG_ARRAY_LEN(others); i++) {
        assert_ok(fx, fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/p"), "VersionId",
                              others[i], NULL));
    }
    assert_ok(fx, fx_call(fx, "ListPolicyVersions", "PolicyArn", ARN("/p"), NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
    assert_ok(fx, fx_call(fx, "DeletePolicy", "PolicyArn", ARN("/p"), NULL));
    assert_err(fx, fx_call(fx, "ListPolicyVersions", "PolicyArn", ARN("/p"), NULL),
               TG_E_NO_SUCH_ENTITY, "was not found.");
}

static void test_version_errors(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    assert_err(fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), NULL),
               TG_E_VALIDATION_ERROR, "Value null at 'policyDocument'");
    assert_err(
        fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", "{", NULL),
        TG_E_MALFORMED_POLICY_DOCUMENT, "");
    assert_err(fx,
               fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/p"), "PolicyDocument", DOC,
                       "SetAsDefault", "maybe", NULL),
               TG_E_VALIDATION_ERROR, "at 'setAsDefault'");
    assert_err(
        fx, fx_call(fx, "CreatePolicyVersion", "PolicyArn", ARN("/q"), "PolicyDocument", DOC, NULL),
        TG_E_NO_SUCH_ENTITY, "Policy " ARN("/q") " was not found.");
    assert_err(fx, fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/p"), NULL),
               TG_E_VALIDATION_ERROR, "Value null at 'versionId'");
    assert_err(fx,
               fx_call(fx, "DeletePolicyVersion", "PolicyArn", ARN("/q"), "VersionId", "v1", NULL),
               TG_E_NO_SUCH_ENTITY, "was not found.");
    assert_err(fx, fx_call(fx, "ListPolicyVersions", NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'policyArn'");
    /* Failed calls left the policy as it was. */
    assert_ok(fx, fx_call(fx, "ListPolicyVersions", "PolicyArn", ARN("/p"), NULL));
    assert_int_equal(count_of(fx, "<member>"), 1);
}

/* ---- tags ---- */

static void test_tags(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    assert_ok(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<ListPolicyTagsResult>");
    assert_lacks(fx, "<member>");
    assert_has(fx, "<IsTruncated>false</IsTruncated>");

    assert_ok(fx, fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), "Tags.member.1.Key", "b",
                          "Tags.member.1.Value", "2", "Tags.member.2.Key", "a",
                          "Tags.member.2.Value", "1", NULL));
    assert_has(fx, "<TagPolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_ok(fx, fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), "Tags.member.1.Key", "c",
                          "Tags.member.1.Value", "3", "Tags.member.2.Key", "B",
                          "Tags.member.2.Value", "20", NULL));
    assert_ok(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<ListPolicyTagsResult><Tags><member><Key>B</Key><Value>20</Value></member>"
                   "<member><Key>a</Key><Value>1</Value></member>"
                   "<member><Key>c</Key><Value>3</Value></member></Tags>"
                   "<IsTruncated>false</IsTruncated></ListPolicyTagsResult>");
    assert_ok(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/p"), "MaxItems", "2", NULL));
    assert_int_equal(count_of(fx, "<member>"), 2);
    assert_has(fx, "</Tags><IsTruncated>true</IsTruncated><Marker>2</Marker>");
    assert_ok(fx, fx_call(fx, "GetPolicy", "PolicyArn", ARN("/p"), NULL));
    assert_has(fx, "<Tags><member><Key>B</Key>");

    assert_ok(fx, fx_call(fx, "UntagPolicy", "PolicyArn", ARN("/p"), "TagKeys.member.1", "a",
                          "TagKeys.member.2", "absent", NULL));
    assert_ok(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/p"), NULL));
    assert_int_equal(count_of(fx, "<member>"), 2);
    assert_lacks(fx, "<Key>a</Key>");

    assert_err(fx, fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'tags'");
    assert_err(fx, fx_call(fx, "UntagPolicy", "PolicyArn", ARN("/p"), NULL), TG_E_VALIDATION_ERROR,
               "Value null at 'tagKeys'");
    assert_err(fx,
               fx_call(fx, "TagPolicy", "PolicyArn", ARN("/q"), "Tags.member.1.Key", "k",
                       "Tags.member.1.Value", "v", NULL),
               TG_E_NO_SUCH_ENTITY, "Policy " ARN("/q") " was not found.");
    assert_err(fx,
               fx_call(fx, "UntagPolicy", "PolicyArn", ARN("/q"), "TagKeys.member.1", "k", NULL),
               TG_E_NO_SUCH_ENTITY, "was not found.");
    assert_err(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/q"), NULL), TG_E_NO_SUCH_ENTITY,
               "was not found.");
    assert_err(fx,
               fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), "Tags.member.1.Key", "aws:k",
                       "Tags.member.1.Value", "v", NULL),
               TG_E_INVALID_INPUT, "aws:");
}

static void test_tags_limit(void **state)
{
    struct iam_fx *fx = *state;
    create_policy(fx, "p", NULL);
    /* 50 tags through the form, in one call */
    struct tg_buf form;
    tg_buf_init(&form, 1 << 16);
    assert_int_equal(tg_buf_append_str(&form, "PolicyArn=" ARN("/p")), 0);
    for (int i = 1; i <= 50; i++) {
        assert_int_equal(
            tg_buf_appendf(&form, "&Tags.member.%d.Key=k%02d&Tags.member.%d.Value=v", i, i, i), 0);
    }
    assert_int_equal(tg_buf_nul(&form), 0);
    assert_int_equal(fx_call_form(fx, "TagPolicy", (const char *)form.ptr), TG_OK);
    tg_buf_free(&form);
    assert_err(fx,
               fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), "Tags.member.1.Key", "one-more",
                       "Tags.member.1.Value", "v", NULL),
               TG_E_LIMIT_EXCEEDED, "50");
    /* Replacing an existing key is not a new tag. */
    assert_ok(fx, fx_call(fx, "TagPolicy", "PolicyArn", ARN("/p"), "Tags.member.1.Key", "k01",
                          "Tags.member.1.Value", "new", NULL));
    assert_ok(fx, fx_call(fx, "ListPolicyTags", "PolicyArn", ARN("/p"), NULL));
    assert_int_equal(count_of(fx, "<member>"), 50);
    assert_has(fx, "<Key>k01</Key><Value>new</Value>");
}

/* ---- the action table ---- */

static void test_action_table(void **state)
{
    (void)state;
    static const struct fx_action want[] = {
        {"CreatePolicy", true, true},
        {"GetPolicy", true, false},
        {"ListPolicies", true, false},
        {"DeletePolicy", false, true},
        {"GetPolicyVersion", true, false},
        {"ListPolicyVersions", true, false},
        {"CreatePolicyVersion", true, true},
        {"DeletePolicyVersion", false, true},
        {"SetDefaultPolicyVersion", false, true},
        {"AttachRolePolicy", false, true},
        {"DetachRolePolicy", false, true},
        {"ListAttachedRolePolicies", true, false},
        {"TagPolicy", false, true},
        {"UntagPolicy", false, true},
        {"ListPolicyTags", true, false},
    };
    fx_check_actions(want, TG_ARRAY_LEN(want), tg_iam_policy_actions_n);
    /* Action names are case-sensitive. */
    assert_null(tg_iam_action_find(tg_cur_str("createpolicy")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_create_get),        FX_TEST(test_create_path_no_tags),
        FX_TEST(test_create_exists),     FX_TEST(test_create_validation),
        FX_TEST(test_create_malformed),  FX_TEST(test_policy_size),
        FX_TEST(test_get_policy_errors), FX_TEST(test_get_policy_version),
        FX_TEST(test_list_policies),     FX_TEST(test_list_policies_paging),
        FX_TEST(test_delete_policy),     FX_TEST(test_attach_detach),
        FX_TEST(test_attach_errors),     FX_TEST(test_attach_limit),
        FX_TEST(test_delete_conflicts),  FX_TEST(test_versions),
        FX_TEST(test_version_errors),    FX_TEST(test_tags),
        FX_TEST(test_tags_limit),        cmocka_unit_test(test_action_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
