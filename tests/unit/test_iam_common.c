/* Unit tests of the IAM helpers shared by the action files (iam_common.c):
 * parameter validation with AWS's messages, tags, paging, documents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

#define IDENTITY_POLICY                                                                            \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:"            \
    "GetObject\","                                                                                 \
    "\"Resource\":\"*\"}]}"

/* A form parsed from an already encoded string; freed by the caller. */
static struct tg_form *form(const char *s)
{
    struct tg_form *f = malloc(sizeof(*f));
    assert_non_null(f);
    tg_form_init(f);
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_form_parse(f, (const uint8_t *)s, strlen(s), &err), 0);
    return f;
}

static void form_free(struct tg_form *f)
{
    tg_form_free(f);
    free(f);
}

/* Runs the XML writer over a callback and returns the text (static). */
static struct tg_buf xml_buf;
static struct tg_xml *xml_begin(struct tg_xml *x)
{
    tg_buf_free(&xml_buf);
    tg_buf_init(&xml_buf, 1 << 20);
    tg_xml_init(x, &xml_buf);
    return x;
}
static const char *xml_end(struct tg_xml *x)
{
    assert_int_equal(tg_xml_finish(x), 0);
    assert_int_equal(tg_buf_nul(&xml_buf), 0);
    return (const char *)(xml_buf.ptr != NULL ? xml_buf.ptr : (const uint8_t *)"");
}

/* ---- parameters ---- */

static void test_param_required(void **state)
{
    (void)state;
    struct tg_form *f = form("RoleName=deploy&Empty=");
    struct tg_cur v;
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_iam_param_required(f, "RoleName", "roleName", &v, &err), 0);
    assert_true(tg_cur_eq_str(v, "deploy"));
    assert_int_equal(tg_iam_param_required(f, "Empty", "empty", &v, &err), 0);
    assert_int_equal(v.len, 0);
    assert_int_equal(tg_iam_param_required(f, "Missing", "missing", &v, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message, "1 validation error detected: Value null at 'missing' failed "
                                     "to satisfy constraint: Member must not be null");
    bool present = true;
    tg_iam_param_optional(f, "Missing", &v, &present);
    assert_false(present);
    assert_int_equal(v.len, 0);
    tg_iam_param_optional(f, "RoleName", &v, &present);
    assert_true(present);
    assert_true(tg_cur_eq_str(v, "deploy"));
    form_free(f);
}

static void test_check_length(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_iam_check_length(tg_cur_str("abc"), "f", 1, 3, &err), 0);
    assert_int_equal(tg_iam_check_length(tg_cur_str("abcd"), "roleName", 1, 3, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message,
                        "1 validation error detected: Value 'abcd' at 'roleName' failed to satisfy "
                        "constraint: Member must have length less than or equal to 3");
    assert_int_equal(tg_iam_check_length(tg_cur_str(""), "roleName", 1, 3, &err), -1);
    assert_string_equal(err.message,
                        "1 validation error detected: Value '' at 'roleName' failed to satisfy "
                        "constraint: Member must have length greater than or equal to 1");
    /* Lengths count code points: three 2-byte characters are 3, not 6. */
    assert_int_equal(tg_iam_check_length(tg_cur_str("\xc3\xa9\xc3\xa9\xc3\xa9"), "f", 3, 3, &err),
                     0);
    /* Invalid UTF-8 is refused and not echoed. */
    assert_int_equal(tg_iam_check_length(tg_cur_str("a\xff"), "f", 0, 10, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_null(strstr(err.message, "\xff"));
    /* A long value is echoed cut, and the constraint still fits. */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(tg_iam_check_length(tg_cur_str(big), "policyDocument", 1, 2048, &err), -1);
    assert_non_null(strstr(err.message, "...' at 'policyDocument'"));
    assert_non_null(strstr(err.message, "Member must have length less than or equal to 2048"));
    /* Cut on a character boundary: no half of a 2-byte character. */
    char wide[1001];
    for (size_t i = 0; i + 1 < sizeof(wide); i += 2) {
        wide[i] = (char)0xc3;
        wide[i + 1] = (char)0xa9;
    }
    wide[1000] = '\0';
    assert_int_equal(tg_iam_check_length(tg_cur_str(wide), "f", 1, 10, &err), -1);
    assert_true(tg_utf8_valid(tg_cur_str(err.message)));
}

static void test_check_chars(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    const char *pat = "[\\w+=,.@-]+";
    assert_int_equal(
        tg_iam_check_chars(tg_cur_str("Deploy_role+=,.@-1"), "roleName", "+=,.@-", pat, &err), 0);
    assert_int_equal(tg_iam_check_chars(tg_cur_str("bad name"), "roleName", "+=,.@-", pat, &err),
                     -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message,
                        "1 validation error detected: Value 'bad name' at 'roleName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[\\w+=,.@-]+");
    /* \w is ASCII-only. */
    assert_int_equal(tg_iam_check_chars(tg_cur_str("r\xc3\xa9le"), "roleName", "+=,.@-", pat, &err),
                     -1);
    assert_int_equal(tg_iam_check_chars(tg_cur_str("a/b"), "roleName", "+=,.@-", pat, &err), -1);
    assert_int_equal(tg_iam_check_chars(tg_cur_str("a/b"), "x", "/", "[\\w/]+", &err), 0);
    assert_int_equal(tg_iam_check_chars(tg_cur_make("a\0b", 3), "x", "", "[\\w]+", &err), -1);
}

static void test_check_path(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    const char *good[] = {"/", "/a/", "/ci/deploy/", "///", "/a~!$/"};
    for (size_t i = 0; i < TG_ARRAY_LEN(good); i++) {
        assert_int_equal(tg_iam_check_path(tg_cur_str(good[i]), "path", &err), 0);
    }
    const char *bad[] = {"a/", "/a", "//", "/a b/", "/\xc3\xa9/", "/a\t/"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        tg_error_clear(&err);
        assert_int_equal(tg_iam_check_path(tg_cur_str(bad[i]), "path", &err), -1);
        assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    }
    assert_int_equal(tg_iam_check_path(tg_cur_str("a/"), "path", &err), -1);
    assert_string_equal(err.message, "1 validation error detected: Value 'a/' at 'path' failed to "
                                     "satisfy constraint: Member must satisfy regular expression "
                                     "pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    assert_int_equal(tg_iam_check_path(tg_cur_str(""), "path", &err), -1);
    assert_non_null(strstr(err.message, "greater than or equal to 1"));
    char longp[TG_IAM_MAX_PATH + 2];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[TG_IAM_MAX_PATH] = '/';
    longp[TG_IAM_MAX_PATH + 1] = '\0';
    assert_int_equal(tg_iam_check_path(tg_cur_str(longp), "path", &err), -1);
    assert_non_null(strstr(err.message, "less than or equal to 512"));
    longp[TG_IAM_MAX_PATH - 1] = '/';
    longp[TG_IAM_MAX_PATH] = '\0';
    assert_int_equal(tg_iam_check_path(tg_cur_str(longp), "path", &err), 0);
}

static void test_param_int(void **state)
{
    (void)state;
    struct tg_form *f =
        form("Max=43200&Low=900&Bad=12x&Neg=-5&Huge=99999999999999999999999&Empty=");
    struct tg_error err;
    tg_error_clear(&err);
    int64_t v = 0;
    assert_int_equal(tg_iam_param_int(f, "Absent", "a", 3600, 43200, 3600, &v, &err), 0);
    assert_int_equal(v, 3600);
    assert_int_equal(tg_iam_param_int(f, "Max", "maxSessionDuration", 3600, 43200, 3600, &v, &err),
                     0);
    assert_int_equal(v, 43200);
    assert_int_equal(tg_iam_param_int(f, "Low", "maxSessionDuration", 3600, 43200, 3600, &v, &err),
                     -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(
        err.message, "1 validation error detected: Value '900' at 'maxSessionDuration' failed to "
                     "satisfy constraint: Member must have value greater than or equal to 3600");
    assert_int_equal(tg_iam_param_int(f, "Max", "x", 1, 1000, 100, &v, &err), -1);
    assert_non_null(strstr(err.message, "Member must have value less than or equal to 1000"));
    assert_int_equal(tg_iam_param_int(f, "Bad", "x", 1, 1000, 100, &v, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_int_equal(tg_iam_param_int(f, "Empty", "x", 1, 1000, 100, &v, &err), -1);
    assert_int_equal(tg_iam_param_int(f, "Neg", "x", 1, 1000, 100, &v, &err), -1);
    assert_non_null(strstr(err.message, "greater than or equal to 1"));
    assert_int_equal(tg_iam_param_int(f, "Huge", "x", 1, 1000, 100, &v, &err), -1);
    assert_non_null(strstr(err.message, "less than or equal to 1000"));
    form_free(f);
}

static void test_check_policy(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    struct tg_policy *p = NULL;
    assert_int_equal(tg_iam_check_policy(tg_cur_str(IDENTITY_POLICY), "policyDocument",
                                         TG_POLICY_IDENTITY, TG_POLICY_MANAGED_SIZE, "PolicySize",
                                         &p, &err),
                     0);
    assert_non_null(p);
    assert_int_equal(tg_policy_statement_count(p), 1);
    tg_policy_free(p);
    /* compiled may be NULL. */
    assert_int_equal(tg_iam_check_policy(tg_cur_str(IDENTITY_POLICY), "policyDocument",
                                         TG_POLICY_IDENTITY, 0, NULL, NULL, &err),
                     0);
    /* Empty. */
    p = NULL;
    assert_int_equal(tg_iam_check_policy(tg_cur_str(""), "policyDocument", TG_POLICY_IDENTITY, 0,
                                         NULL, &p, &err),
                     -1);
    assert_null(p);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    /* A character above U+00FF. */
    assert_int_equal(tg_iam_check_policy(tg_cur_str("{\"Version\":\"\xc4\x80\"}"), "policyDocument",
                                         TG_POLICY_IDENTITY, 0, NULL, &p, &err),
                     -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"));
    /* Grammar. */
    assert_int_equal(tg_iam_check_policy(tg_cur_str("{\"Version\":"), "policyDocument",
                                         TG_POLICY_IDENTITY, 0, NULL, &p, &err),
                     -1);
    assert_int_equal(err.code, TG_E_MALFORMED_POLICY_DOCUMENT);
    assert_null(p);
    /* A trust policy needs a Principal. */
    assert_int_equal(tg_iam_check_policy(tg_cur_str(IDENTITY_POLICY), "assumeRolePolicyDocument",
                                         TG_POLICY_TRUST, 2048, "ACLSizePerRole", &p, &err),
                     -1);
    assert_int_equal(err.code, TG_E_MALFORMED_POLICY_DOCUMENT);
    /* The size quota counts characters without whitespace. */
    size_t size = tg_policy_size((const uint8_t *)IDENTITY_POLICY, strlen(IDENTITY_POLICY));
    assert_int_equal(tg_iam_check_policy(tg_cur_str(IDENTITY_POLICY), "policyDocument",
                                         TG_POLICY_IDENTITY, size, "PolicySize", &p, &err),
                     0);
    tg_policy_free(p);
    p = NULL;
    assert_int_equal(tg_iam_check_policy(tg_cur_str(IDENTITY_POLICY), "policyDocument",
                                         TG_POLICY_IDENTITY, size - 1, "PolicySize", &p, &err),
                     -1);
    assert_null(p);
    assert_int_equal(err.code, TG_E_LIMIT_EXCEEDED);
    char want[64];
    snprintf(want, sizeof(want), "Cannot exceed quota for PolicySize: %zu", size - 1);
    assert_string_equal(err.message, want);
    /* Whitespace does not count. */
    const char *spaced = "{ \"Version\" : \"2012-10-17\" ,\n \"Statement\" : [ { \"Effect\" : "
                         "\"Allow\" , \"Action\" : \"s3:GetObject\" , \"Resource\" : \"*\" } ] }";
    assert_int_equal(tg_iam_check_policy(tg_cur_str(spaced), "policyDocument", TG_POLICY_IDENTITY,
                                         size, "PolicySize", NULL, &err),
                     0);
}

/* ---- tags ---- */

static void test_param_tags(void **state)
{
    (void)state;
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    size_t n = 99;
    struct tg_error err;
    tg_error_clear(&err);

    struct tg_form *f = form("Other=1");
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), 0);
    assert_int_equal(n, 0);
    form_free(f);

    f = form(
        "Tags.member.1.Key=team&Tags.member.1.Value=platform%20ops&Tags.member.2.Key=env"
        "&Tags.member.2.Value=&Tags.member.3.Key=%C3%A9t%C3%A9%3A%2F%3D%2B-%40_.&Tags.member.3."
        "Value=x");
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_true(tg_cur_eq_str(tags[0].key, "team"));
    assert_true(tg_cur_eq_str(tags[0].value, "platform ops"));
    assert_true(tg_cur_eq_str(tags[1].key, "env"));
    assert_int_equal(tags[1].value.len, 0);
    form_free(f);

    struct {
        const char *form;
        enum tg_code code;
        const char *msg; /* substring */
    } bad[] = {
        {"Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=A&Tags.member.2.Value=2",
         TG_E_INVALID_INPUT,
         "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
        {"Tags.member.1.Key=aws%3Aowner&Tags.member.1.Value=1", TG_E_INVALID_INPUT, "aws:"},
        {"Tags.member.1.Key=AWS%3Aowner&Tags.member.1.Value=1", TG_E_INVALID_INPUT, "aws:"},
        {"Tags.member.1.Key=&Tags.member.1.Value=1", TG_E_VALIDATION_ERROR,
         "at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater "
         "than or equal to 1"},
        {"Tags.member.1.Key=a%23b&Tags.member.1.Value=1", TG_E_VALIDATION_ERROR,
         "1 validation error detected: Value 'a#b' at 'tags.1.member.key' failed to satisfy "
         "constraint: Member must satisfy regular expression pattern: "
         "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"},
        {"Tags.member.1.Key=a&Tags.member.1.Value=x%2Ay", TG_E_VALIDATION_ERROR,
         "at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular "
         "expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"},
        {"Tags.member.1.Key=a%09b&Tags.member.1.Value=1", TG_E_VALIDATION_ERROR,
         "regular expression"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        f = form(bad[i].form);
        tg_error_clear(&err);
        assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), -1);
        assert_int_equal(err.code, bad[i].code);
        if (strstr(err.message, bad[i].msg) == NULL) {
            fail_msg("case %zu: message %s", i, err.message);
        }
        form_free(f);
    }

    /* Key of 128 is fine, 129 is not; value of 256 fine, 257 not. */
    struct tg_buf b;
    tg_buf_init(&b, 1 << 16);
    assert_int_equal(tg_buf_append_str(&b, "Tags.member.1.Key="), 0);
    for (int i = 0; i < 128; i++) {
        assert_int_equal(tg_buf_append_byte(&b, 'k'), 0);
    }
    assert_int_equal(tg_buf_append_str(&b, "&Tags.member.1.Value="), 0);
    for (int i = 0; i < 256; i++) {
        assert_int_equal(tg_buf_append_byte(&b, 'v'), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    f = form((const char *)b.ptr);
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), 0);
    assert_int_equal(n, 1);
    form_free(f);
    assert_int_equal(tg_buf_append_byte(&b, 'v'), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    f = form((const char *)b.ptr);
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), -1);
    assert_non_null(strstr(err.message, "at 'tags.1.member.value' failed to satisfy constraint: "
                                        "Member must have length less than or equal to 256"));
    form_free(f);
    tg_buf_reset(&b);
    assert_int_equal(tg_buf_append_str(&b, "Tags.member.1.Key="), 0);
    for (int i = 0; i < 129; i++) {
        assert_int_equal(tg_buf_append_byte(&b, 'k'), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    f = form((const char *)b.ptr);
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "Member must have length less than or equal to 128"));
    form_free(f);

    /* 50 tags are fine, 51 are a ValidationError at 'tags'. */
    tg_buf_reset(&b);
    for (int i = 1; i <= 51; i++) {
        assert_int_equal(tg_buf_appendf(&b, "%sTags.member.%d.Key=k%d&Tags.member.%d.Value=v",
                                        i > 1 ? "&" : "", i, i, i),
                         0);
        if (i == 50) {
            assert_int_equal(tg_buf_nul(&b), 0);
            f = form((const char *)b.ptr);
            assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), 0);
            assert_int_equal(n, 50);
            assert_true(tg_cur_eq_str(tags[49].key, "k50"));
            form_free(f);
        }
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    f = form((const char *)b.ptr);
    assert_int_equal(tg_iam_param_tags(f, tags, &n, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_true(strncmp(err.message, "1 validation error detected: Value '[k1, k2", 43) == 0);
    assert_non_null(strstr(err.message,
                           "' at 'tags' failed to satisfy constraint: Member must have "
                           "length less than or equal to 50"));
    form_free(f);
    tg_buf_free(&b);
}

static void test_param_tag_keys(void **state)
{
    (void)state;
    struct tg_cur keys[TG_IAM_MAX_TAGS];
    size_t n = 0;
    struct tg_error err;
    tg_error_clear(&err);
    struct tg_form *f = form("TagKeys.member.1=team&TagKeys.member.2=env");
    assert_int_equal(tg_iam_param_tag_keys(f, keys, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(tg_cur_eq_str(keys[1], "env"));
    form_free(f);
    f = form("TagKeys.member.1=");
    assert_int_equal(tg_iam_param_tag_keys(f, keys, &n, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "at 'tagKeys.1.member'"));
    form_free(f);
    f = form("TagKeys.member.1=a%21");
    assert_int_equal(tg_iam_param_tag_keys(f, keys, &n, &err), -1);
    assert_non_null(strstr(err.message, "regular expression pattern"));
    form_free(f);

    struct tg_buf b;
    tg_buf_init(&b, 1 << 16);
    for (int i = 1; i <= 51; i++) {
        assert_int_equal(tg_buf_appendf(&b, "%sTagKeys.member.%d=k%d", i > 1 ? "&" : "", i, i), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    f = form((const char *)b.ptr);
    assert_int_equal(tg_iam_param_tag_keys(f, keys, &n, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "at 'tagKeys' failed to satisfy constraint: Member must "
                                        "have length less than or equal to 50"));
    form_free(f);
    tg_buf_free(&b);
}

static json_t *tags_doc(const char *json)
{
    json_error_t je;
    json_t *d = json_loads(json, 0, &je);
    assert_non_null(d);
    return d;
}

static void test_tags_json_merge_remove(void **state)
{
    (void)state;
    struct tg_kv kv[2] = {{tg_cur_str("b"), tg_cur_str("2")}, {tg_cur_str("a"), tg_cur_str("")}};
    json_t *arr = tg_iam_tags_json(kv, 2);
    assert_non_null(arr);
    char *s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "[{\"Key\":\"b\",\"Value\":\"2\"},{\"Key\":\"a\",\"Value\":\"\"}]");
    free(s);
    json_decref(arr);

    struct tg_error err;
    tg_error_clear(&err);
    /* Merge into a doc without tags creates the array. */
    json_t *doc = tags_doc("{\"name\":\"r\"}");
    assert_int_equal(tg_iam_tags_merge(doc, kv, 2, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "tags")), 2);
    /* Existing keys (case-insensitively) take the new value and spelling. */
    struct tg_kv upd[2] = {{tg_cur_str("B"), tg_cur_str("3")}, {tg_cur_str("c"), tg_cur_str("4")}};
    assert_int_equal(tg_iam_tags_merge(doc, upd, 2, &err), 0);
    s = json_dumps(json_object_get(doc, "tags"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "[{\"Key\":\"B\",\"Value\":\"3\"},{\"Key\":\"a\",\"Value\":\"\"},"
                           "{\"Key\":\"c\",\"Value\":\"4\"}]");
    free(s);
    /* Remove: case-insensitive, absent keys fine. */
    struct tg_cur rm[2] = {tg_cur_str("b"), tg_cur_str("zzz")};
    tg_iam_tags_remove(doc, rm, 2);
    s = json_dumps(json_object_get(doc, "tags"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "[{\"Key\":\"a\",\"Value\":\"\"},{\"Key\":\"c\",\"Value\":\"4\"}]");
    free(s);
    json_t *empty = tags_doc("{}");
    tg_iam_tags_remove(empty, rm, 2); /* no tags array: nothing happens */
    assert_null(json_object_get(empty, "tags"));
    json_decref(empty);

    /* Up to 50 in all; a merge that would exceed leaves doc unchanged. */
    struct tg_kv many[TG_IAM_MAX_TAGS];
    char names[TG_IAM_MAX_TAGS][8];
    for (int i = 0; i < TG_IAM_MAX_TAGS; i++) {
        snprintf(names[i], sizeof(names[i]), "k%02d", i);
        many[i].key = tg_cur_str(names[i]);
        many[i].value = tg_cur_str("v");
    }
    /* doc has a, c; 48 new ones make 50. */
    assert_int_equal(tg_iam_tags_merge(doc, many, 48, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "tags")), 50);
    /* Re-setting existing keys is fine at 50. */
    assert_int_equal(tg_iam_tags_merge(doc, many, 48, &err), 0);
    assert_int_equal(tg_iam_tags_merge(doc, many + 48, 1, &err), -1);
    assert_int_equal(err.code, TG_E_LIMIT_EXCEEDED);
    assert_int_equal(json_array_size(json_object_get(doc, "tags")), 50);
    json_decref(doc);
}

static void test_xml_tags(void **state)
{
    (void)state;
    struct tg_xml x;
    json_t *tags = tags_doc("[{\"Key\":\"team\",\"Value\":\"a&b\"},{\"Key\":\"Env\",\"Value\":"
                            "\"prod\"},{\"Key\":\"app\",\"Value\":\"\"}]");
    tg_iam_xml_tags(xml_begin(&x), tags, false);
    /* Sorted by key (byte order: upper case first). */
    assert_string_equal(xml_end(&x), "<Tags><member><Key>Env</Key><Value>prod</Value></member>"
                                     "<member><Key>app</Key><Value></Value></member>"
                                     "<member><Key>team</Key><Value>a&amp;b</Value></member>"
                                     "</Tags>");
    /* The document is not reordered. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "Key")), "team");
    json_decref(tags);
    json_t *none = json_array();
    tg_iam_xml_tags(xml_begin(&x), none, false);
    assert_string_equal(xml_end(&x), "");
    tg_iam_xml_tags(xml_begin(&x), NULL, false);
    assert_string_equal(xml_end(&x), "");
    tg_iam_xml_tags(xml_begin(&x), none, true);
    assert_string_equal(xml_end(&x), "<Tags></Tags>");
    json_decref(none);
}

static void test_xml_tags_page(void **state)
{
    (void)state;
    struct tg_xml x;
    struct tg_error err;
    tg_error_clear(&err);
    json_t *tags = tags_doc("[{\"Key\":\"team\",\"Value\":\"ci\"},{\"Key\":\"Env\",\"Value\":"
                            "\"prod\"},{\"Key\":\"app\",\"Value\":\"\"}]");
    /* Pages are cut from the list sorted by key. */
    struct tg_form *f = form("MaxItems=2");
    assert_int_equal(tg_iam_xml_tags_page(xml_begin(&x), f, tags, &err), 0);
    assert_string_equal(xml_end(&x), "<Tags><member><Key>Env</Key><Value>prod</Value></member>"
                                     "<member><Key>app</Key><Value></Value></member></Tags>"
                                     "<IsTruncated>true</IsTruncated><Marker>2</Marker>");
    form_free(f);
    f = form("MaxItems=2&Marker=2");
    assert_int_equal(tg_iam_xml_tags_page(xml_begin(&x), f, tags, &err), 0);
    assert_string_equal(xml_end(&x), "<Tags><member><Key>team</Key><Value>ci</Value></member>"
                                     "</Tags><IsTruncated>false</IsTruncated>");
    form_free(f);
    /* Past the end: an empty last page, still with <Tags>. */
    f = form("Marker=9");
    assert_int_equal(tg_iam_xml_tags_page(xml_begin(&x), f, tags, &err), 0);
    assert_string_equal(xml_end(&x), "<Tags></Tags><IsTruncated>false</IsTruncated>");
    form_free(f);
    /* The document is not reordered. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "Key")), "team");
    f = form("Marker=x");
    assert_int_equal(tg_iam_xml_tags_page(xml_begin(&x), f, tags, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message, "Invalid Marker");
    xml_end(&x);
    form_free(f);
    json_decref(tags);
    /* No tags at all. */
    f = form("");
    assert_int_equal(tg_iam_xml_tags_page(xml_begin(&x), f, NULL, &err), 0);
    assert_string_equal(xml_end(&x), "<Tags></Tags><IsTruncated>false</IsTruncated>");
    form_free(f);
}

/* ---- paging ---- */

static void test_page(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    size_t start = 9, count = 9;
    bool trunc = true;
    struct tg_form *f = form("");
    assert_int_equal(tg_iam_page(f, 5, &start, &count, &trunc, &err), 0);
    assert_int_equal(start, 0);
    assert_int_equal(count, 5);
    assert_false(trunc);
    assert_int_equal(tg_iam_page(f, 250, &start, &count, &trunc, &err), 0);
    assert_int_equal(count, 100); /* default MaxItems */
    assert_true(trunc);
    form_free(f);

    f = form("MaxItems=2&Marker=2");
    assert_int_equal(tg_iam_page(f, 5, &start, &count, &trunc, &err), 0);
    assert_int_equal(start, 2);
    assert_int_equal(count, 2);
    assert_true(trunc);
    struct tg_xml x;
    tg_iam_xml_page_end(xml_begin(&x), start, count, trunc);
    assert_string_equal(xml_end(&x), "<IsTruncated>true</IsTruncated><Marker>4</Marker>");
    assert_int_equal(tg_iam_page(f, 4, &start, &count, &trunc, &err), 0);
    assert_false(trunc);
    tg_iam_xml_page_end(xml_begin(&x), start, count, trunc);
    assert_string_equal(xml_end(&x), "<IsTruncated>false</IsTruncated>");
    /* A marker past the end: an empty last page. */
    assert_int_equal(tg_iam_page(f, 1, &start, &count, &trunc, &err), 0);
    assert_int_equal(start, 1);
    assert_int_equal(count, 0);
    assert_false(trunc);
    form_free(f);

    const char *bad_marker[] = {"Marker=abc", "Marker=", "Marker=-1", "Marker=1.5",
                                "Marker=99999999999999999999"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_marker); i++) {
        f = form(bad_marker[i]);
        tg_error_clear(&err);
        assert_int_equal(tg_iam_page(f, 5, &start, &count, &trunc, &err), -1);
        assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
        assert_string_equal(err.message, "Invalid Marker");
        form_free(f);
    }
    const char *bad_max[] = {"MaxItems=0", "MaxItems=1001", "MaxItems=x"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_max); i++) {
        f = form(bad_max[i]);
        assert_int_equal(tg_iam_page(f, 5, &start, &count, &trunc, &err), -1);
        assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
        assert_non_null(strstr(err.message, "'maxItems'"));
        form_free(f);
    }
    f = form("MaxItems=1000");
    assert_int_equal(tg_iam_page(f, 5000, &start, &count, &trunc, &err), 0);
    assert_int_equal(count, 1000);
    form_free(f);
}

/* ---- documents ---- */

static void test_doc_helpers(void **state)
{
    (void)state;
    json_t *d = tags_doc("{\"name\":\"r\",\"n\":42,\"s\":\"x\",\"create_date\":1767225600999}");
    assert_string_equal(tg_iam_doc_str(d, "name"), "r");
    assert_null(tg_iam_doc_str(d, "n"));
    assert_null(tg_iam_doc_str(d, "absent"));
    assert_null(tg_iam_doc_str(NULL, "name"));
    assert_int_equal(tg_iam_doc_int(d, "n", -1), 42);
    assert_int_equal(tg_iam_doc_int(d, "s", -1), -1);
    assert_int_equal(tg_iam_doc_int(d, "absent", 7), 7);
    struct tg_xml x;
    tg_iam_xml_doc_time(xml_begin(&x), "CreateDate", d, "create_date");
    /* Milliseconds are dropped, not rounded up. */
    assert_string_equal(xml_end(&x), "<CreateDate>2026-01-01T00:00:00Z</CreateDate>");
    json_decref(d);
}

/* ---- errors and policy ARNs ---- */

static void test_errors(void **state)
{
    (void)state;
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_iam_null_error(&err, "tags"), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message, "1 validation error detected: Value null at 'tags' failed to "
                                     "satisfy constraint: Member must not be null");
    assert_int_equal(tg_iam_pattern_error(&err, tg_cur_str("a b"), "versionId", "v[1-9]"), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(err.message, "1 validation error detected: Value 'a b' at 'versionId' "
                                     "failed to satisfy constraint: Member must satisfy regular "
                                     "expression pattern: v[1-9]");
    assert_int_equal(tg_iam_service_failure(&err, "cannot queue the write"), -1);
    assert_int_equal(err.code, TG_E_SERVICE_FAILURE);
    assert_non_null(strstr(err.detail, "cannot queue the write"));

    /* The echo: whole when short, "(invalid UTF-8)" for invalid UTF-8, and
     * cut at TG_IAM_ECHO_MAX bytes on a character boundary. */
    char e[TG_IAM_ECHO_MAX + 4];
    tg_iam_echo(tg_cur_str("short"), e);
    assert_string_equal(e, "short");
    tg_iam_echo(tg_cur_str("a\xff"), e);
    assert_string_equal(e, "(invalid UTF-8)");
    char big[TG_IAM_ECHO_MAX + 8];
    big[0] = 'x';
    for (size_t i = 1; i + 1 < sizeof(big); i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    big[sizeof(big) - 1] = '\0';
    tg_iam_echo(tg_cur_str(big), e);
    /* Byte TG_IAM_ECHO_MAX is a continuation byte: the cut backs up one. */
    assert_int_equal(strlen(e), TG_IAM_ECHO_MAX - 1 + 3);
    assert_memory_equal(e, big, TG_IAM_ECHO_MAX - 1);
    assert_string_equal(e + TG_IAM_ECHO_MAX - 1, "...");
}

static void test_policy_arn(void **state)
{
    (void)state;
    struct tg_iam_policy_arn parts;
    assert_true(
        tg_iam_parse_policy_arn(tg_cur_str("arn:aws:iam::123456789012:policy/a/b/Read"), &parts));
    assert_true(tg_cur_eq_str(parts.account, "123456789012"));
    assert_true(tg_cur_eq_str(parts.path, "/a/b/"));
    assert_true(tg_cur_eq_str(parts.name, "Read"));
    assert_true(tg_cur_eq_str(parts.arn, "arn:aws:iam::123456789012:policy/a/b/Read"));
    assert_true(
        tg_iam_parse_policy_arn(tg_cur_str("arn:aws:iam::aws:policy/ReadOnlyAccess"), &parts));
    assert_true(tg_cur_eq_str(parts.account, "aws"));
    assert_true(tg_cur_eq_str(parts.path, "/"));
    assert_true(tg_cur_eq_str(parts.name, "ReadOnlyAccess"));
    static const char *const bad[] = {
        "arn:aws:iam::123456789012:role/Read",
        "arn:aws:iam::123456789012:policy/",
        "arn:aws:iam::123456789012:policy/a/",
        "arn:aws:iam::12345678901:policy/Read",
        "arn:aws:iam::aws:policy",
        "arn:aws:s3:::bucket/policy/Read",
        "arn:aws:iam::123456789012:policy/Re ad",
        "arn:aws:iam:::policy/Read",
        "arn:aws:iam::123456789012:policy/R\xc3\xa9",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_false(tg_iam_parse_policy_arn(tg_cur_str(bad[i]), &parts));
    }

    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_iam_check_policy_arn(tg_cur_str("arn:aws:iam::123456789012:policy/P"),
                                             "policyArn", &parts, &err),
                     0);
    assert_int_equal(
        tg_iam_check_policy_arn(tg_cur_str("arn:aws:iam::123"), "policyArn", &parts, &err), -1);
    assert_int_equal(err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(err.message, "at 'policyArn'"));
    assert_int_equal(tg_iam_check_policy_arn(tg_cur_str("arn:aws:iam::123456789012:role/Deploy"),
                                             "policyArn", &parts, &err),
                     -1);
    assert_int_equal(err.code, TG_E_INVALID_INPUT);
    assert_string_equal(err.message, "ARN arn:aws:iam::123456789012:role/Deploy is not valid.");
    /* A long one is echoed cut. */
    char big[2001];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(tg_iam_check_policy_arn(tg_cur_str(big), "policyArn", &parts, &err), -1);
    assert_int_equal(err.code, TG_E_INVALID_INPUT);
    assert_int_equal(strlen(err.message),
                     strlen("ARN ") + TG_IAM_ECHO_MAX + 3 + strlen(" is not valid."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_required),
        cmocka_unit_test(test_check_length),
        cmocka_unit_test(test_check_chars),
        cmocka_unit_test(test_check_path),
        cmocka_unit_test(test_param_int),
        cmocka_unit_test(test_check_policy),
        cmocka_unit_test(test_param_tags),
        cmocka_unit_test(test_param_tag_keys),
        cmocka_unit_test(test_tags_json_merge_remove),
        cmocka_unit_test(test_xml_tags),
        cmocka_unit_test(test_xml_tags_page),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_doc_helpers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_policy_arn),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tg_buf_free(&xml_buf);
    return rc;
}
