/*
 * Unit tests for src/iam/iam_authz.c: the resource ARN a call acts on, and
 * the tags it sets, for deciding calls made with temporary credentials.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam_fixture.h"

#define ACCT FX_ACCOUNT
#define TRUST                                                                                      \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"              \
    "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"},\"Action\":\"sts:AssumeRole\"}]}"

/* The resource of action with the form text (already encoded). */
static const char *resource(struct iam_fx *fx, const char *action, const char *form)
{
    static char out[TG_IAM_MAX_ARN + 1];
    struct tg_form f;
    tg_form_init(&f);
    struct tg_error err;
    assert_int_equal(tg_form_parse(&f, (const uint8_t *)form, strlen(form), &err), 0);
    assert_int_equal(tg_iam_request_resource(fx->snap, action, &f, out, sizeof(out)), 0);
    tg_form_free(&f);
    return out;
}

static void test_resources(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "Deploy", "Path", "/ci/",
                             "AssumeRolePolicyDocument", TRUST, NULL),
                     TG_OK);
    /* An existing role: its ARN with its path and the case it was made
     * with, whatever the case of the name in the call. */
    assert_string_equal(resource(fx, "GetRole", "RoleName=deploy"),
                        "arn:aws:iam::" ACCT ":role/ci/Deploy");
    assert_string_equal(resource(fx, "AttachRolePolicy",
                                 "RoleName=Deploy&PolicyArn=arn%3Aaws%3Aiam%3A%3A" ACCT
                                 "%3Apolicy%2Fp"),
                        "arn:aws:iam::" ACCT ":role/ci/Deploy");
    /* A role to be made, or one that is not there: the path of the call. */
    assert_string_equal(resource(fx, "CreateRole", "RoleName=new&Path=%2Fa%2Fb%2F"),
                        "arn:aws:iam::" ACCT ":role/a/b/new");
    assert_string_equal(resource(fx, "GetRole", "RoleName=gone"),
                        "arn:aws:iam::" ACCT ":role/gone");
    assert_string_equal(
        resource(fx, "GetPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A" ACCT "%3Apolicy%2Fteam%2Fp"),
        "arn:aws:iam::" ACCT ":policy/team/p");
    assert_string_equal(resource(fx, "CreatePolicy", "PolicyName=p2&Path=%2Fteam%2F"),
                        "arn:aws:iam::" ACCT ":policy/team/p2");
    assert_string_equal(
        resource(fx, "CreateOpenIDConnectProvider", "Url=https%3A%2F%2Fgitlab.example.com%2Fci"),
        "arn:aws:iam::" ACCT ":oidc-provider/gitlab.example.com/ci");
    assert_string_equal(resource(fx, "GetOpenIDConnectProvider",
                                 "OpenIDConnectProviderArn=arn%3Aaws%3Aiam%3A%3A" ACCT
                                 "%3Aoidc-provider%2Fgitlab.com"),
                        "arn:aws:iam::" ACCT ":oidc-provider/gitlab.com");
    /* Listings and simulations name no entity. */
    assert_string_equal(resource(fx, "ListRoles", ""), "*");
    assert_string_equal(resource(fx, "SimulateCustomPolicy", "ActionNames.member.1=s3%3AGet"), "*");
    assert_string_equal(resource(fx, "CreateOpenIDConnectProvider", "Url=http%3A%2F%2Fx"), "*");

    /* Too small a buffer fails rather than cut an ARN. */
    struct tg_form f;
    tg_form_init(&f);
    struct tg_error err;
    static const char form[] = "RoleName=deploy";
    assert_int_equal(tg_form_parse(&f, (const uint8_t *)form, strlen(form), &err), 0);
    char small[16];
    assert_int_equal(tg_iam_request_resource(fx->snap, "GetRole", &f, small, sizeof(small)), -1);
    tg_form_free(&f);
}

static void test_request_tags(void **state)
{
    (void)state;
    struct tg_form f;
    tg_form_init(&f);
    struct tg_error err;
    static const char form[] = "RoleName=r&Tags.member.1.Key=team&Tags.member.1.Value=platform&"
                               "Tags.member.2.Key=env&Tags.member.2.Value=";
    assert_int_equal(tg_form_parse(&f, (const uint8_t *)form, strlen(form), &err), 0);
    struct tg_kv tags[4];
    assert_int_equal(tg_iam_request_tags(&f, tags, 4), 2);
    assert_true(tg_cur_eq_str(tags[0].key, "team") && tg_cur_eq_str(tags[0].value, "platform"));
    assert_true(tg_cur_eq_str(tags[1].key, "env") && tags[1].value.len == 0);
    assert_int_equal(tg_iam_request_tags(&f, tags, 1), 1);
    tg_form_free(&f);
    /* An invalid list (a value without a key) sets none. */
    tg_form_init(&f);
    static const char bad[] = "Tags.member.1.Value=x";
    assert_int_equal(tg_form_parse(&f, (const uint8_t *)bad, strlen(bad), &err), 0);
    assert_int_equal(tg_iam_request_tags(&f, tags, 4), 0);
    tg_form_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_resources),
        cmocka_unit_test(test_request_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
