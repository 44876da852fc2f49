/* Unit tests of the OIDC provider actions (iam_provider.c, spec 7.1), over
 * a real SQLite store and snapshot (iam_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "iam_fixture.h"
#include "iam/iam_internal.h"

#define GH_URL "https://token.actions.githubusercontent.com"
#define GH_ARN "arn:aws:iam::" FX_ACCOUNT ":oidc-provider/token.actions.githubusercontent.com"
#define GH_THUMB "6938fd4d98bab03faadb97b34396831e3780aea1"
#define THUMB_B "1c58a3a8518e8759bf075b76b750d4f2df264fcd"
#define ARN_OF(key) "arn:aws:iam::" FX_ACCOUNT ":oidc-provider/" key

#define assert_call(fx, code, ...)                                                                 \
    do {                                                                                           \
        enum tg_code rc_ = fx_call((fx), __VA_ARGS__, NULL);                                       \
        if (rc_ != (code)) {                                                                       \
            fail_msg("%s: got %s (%s), want %s", #__VA_ARGS__, tg_code_name(rc_),                  \
                     (fx)->err.message, tg_code_name(code));                                       \
        }                                                                                          \
    } while (0)
#define assert_form(fx, code, action, form)                                                        \
    do {                                                                                           \
        enum tg_code rc_ = fx_call_form((fx), (action), (form));                                   \
        if (rc_ != (code)) {                                                                       \
            fail_msg("%s %.200s: got %s (%s), want %s", (action), (form), tg_code_name(rc_),       \
                     (fx)->err.message, tg_code_name(code));                                       \
        }                                                                                          \
    } while (0)
#define assert_message(fx, msg) assert_string_equal((fx)->err.message, (msg))

static void create_github(struct iam_fx *fx)
{
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", GH_URL, "ClientIDList.member.1",
                "sts.amazonaws.com", "ThumbprintList.member.1", GH_THUMB);
}

static const struct tg_snap_provider *snap_provider(struct iam_fx *fx, const char *key)
{
    return tg_snapshot_provider_by_key(fx->snap, tg_cur_str(key));
}

/* A form-encoded list "Prefix.member.1=<fmt 1>&..." of n members. */
static char *list_form(const char *head, const char *prefix, size_t n, const char *fmt)
{
    struct tg_buf b;
    tg_buf_init(&b, 1 << 20);
    assert_int_equal(tg_buf_append_str(&b, head), 0);
    for (size_t i = 1; i <= n; i++) {
        assert_int_equal(tg_buf_appendf(&b, "&%s.member.%zu=", prefix, i), 0);
        assert_int_equal(tg_buf_appendf(&b, fmt, i), 0);
    }
    char *s = tg_buf_steal(&b);
    assert_non_null(s);
    return s;
}

/* ---- Create / Get: GitHub Actions, the common case ---- */

static void test_create_get_github(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    assert_has(fx, "<CreateOpenIDConnectProviderResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                   "<CreateOpenIDConnectProviderResult>"
                   "<OpenIDConnectProviderArn>" GH_ARN "</OpenIDConnectProviderArn>"
                   "</CreateOpenIDConnectProviderResult><ResponseMetadata>");
    assert_lacks(fx, "<Tags>");
    assert_int_equal(fx->n_warnings, 0);

    /* Stored with the document shape of snapshot.h. */
    assert_int_equal(fx->snap->n_providers, 1);
    const struct tg_snap_provider *p = snap_provider(fx, "token.actions.githubusercontent.com");
    assert_non_null(p);
    assert_string_equal(p->url, GH_URL);
    assert_string_equal(p->arn, GH_ARN);
    assert_int_equal(p->e.version, 1);
    char *doc = json_dumps(p->e.doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(doc, "{\"url\":\"" GH_URL "\",\"client_ids\":[\"sts.amazonaws.com\"],"
                             "\"thumbprints\":[\"" GH_THUMB "\"],\"tags\":[],"
                             "\"create_date\":1767225600000}");
    free(doc);

    fx->now_ms += 5000; /* CreateDate is the creation time, not now */
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<GetOpenIDConnectProviderResult>"
                   "<ThumbprintList><member>" GH_THUMB "</member></ThumbprintList>"
                   "<CreateDate>2026-01-01T00:00:00Z</CreateDate>"
                   "<ClientIDList><member>sts.amazonaws.com</member></ClientIDList>"
                   "<Url>token.actions.githubusercontent.com</Url>"
                   "</GetOpenIDConnectProviderResult>");
    /* Get is a read: no write, no new version. */
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 1);
}

static void test_create_minimal_and_tags(void **state)
{
    struct iam_fx *fx = *state;
    /* Thumbprints and client ids are optional. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://gitlab.com");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("gitlab.com"));
    assert_has(fx, "<GetOpenIDConnectProviderResult><ThumbprintList></ThumbprintList>"
                   "<CreateDate>2026-01-01T00:00:00Z</CreateDate><ClientIDList></ClientIDList>"
                   "<Url>gitlab.com</Url></GetOpenIDConnectProviderResult>");

    /* Tags come back in the Create response and in Get, sorted by key. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url",
                "https://oidc.circleci.com/org/1234-abcd", "ClientIDList.member.1", "1234-abcd",
                "Tags.member.1.Key", "team", "Tags.member.1.Value", "platform", "Tags.member.2.Key",
                "Env", "Tags.member.2.Value", "prod");
    assert_has(fx,
               "<CreateOpenIDConnectProviderResult><OpenIDConnectProviderArn>" ARN_OF(
                   "oidc.circleci.com/org/1234-abcd") "</OpenIDConnectProviderArn>"
                                                      "<Tags><member><Key>Env</Key><Value>prod<"
                                                      "/Value></member><member><Key>team</"
                                                      "Key><Value>platform</Value></member></"
                                                      "Tags></CreateOpenIDConnectProviderResult>");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("oidc.circleci.com/org/1234-abcd"));
    assert_has(fx, "<ClientIDList><member>1234-abcd</member></ClientIDList>"
                   "<Url>oidc.circleci.com/org/1234-abcd</Url>"
                   "<Tags><member><Key>Env</Key><Value>prod</Value></member>"
                   "<member><Key>team</Key><Value>platform</Value></member></Tags>"
                   "</GetOpenIDConnectProviderResult>");

    /* Bad tags are refused before anything is written. */
    assert_call(fx, TG_E_INVALID_INPUT, "CreateOpenIDConnectProvider", "Url", "https://a.example",
                "Tags.member.1.Key", "aws:x", "Tags.member.1.Value", "1");
    assert_call(fx, TG_E_INVALID_INPUT, "CreateOpenIDConnectProvider", "Url", "https://a.example",
                "Tags.member.1.Key", "k", "Tags.member.1.Value", "1", "Tags.member.2.Key", "K",
                "Tags.member.2.Value", "2");
    assert_message(fx, "Duplicate tag keys found. Please note that Tag keys are case insensitive.");
    assert_null(snap_provider(fx, "a.example"));
    assert_int_equal(fx->snap->n_providers, 2);
}

static void test_create_duplicate(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    assert_call(fx, TG_E_ENTITY_ALREADY_EXISTS, "CreateOpenIDConnectProvider", "Url", GH_URL);
    assert_message(fx, "Provider with url " GH_URL " already exists.");
    /* The scheme is compared case-insensitively, so this is the same key. */
    assert_call(fx, TG_E_ENTITY_ALREADY_EXISTS, "CreateOpenIDConnectProvider", "Url",
                "HTTPS://token.actions.githubusercontent.com");
    assert_has(fx, "<Code>EntityAlreadyExists</Code>");
    assert_int_equal(fx->snap->n_providers, 1);
}

static void test_trailing_slash(void **state)
{
    struct iam_fx *fx = *state;
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://issuer.example.com/");
    assert_has(fx, "<OpenIDConnectProviderArn>" ARN_OF(
                       "issuer.example.com/") "</OpenIDConnectProviderArn>");
    assert_int_equal(fx->n_warnings, 1);
    assert_non_null(strstr(fx->warnings[0], "https://issuer.example.com/ ends with '/'"));
    assert_non_null(strstr(fx->warnings[0], "no trailing slash"));
    /* Without the slash it is another provider, and no warning. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://issuer.example.com");
    assert_int_equal(fx->n_warnings, 0);
    assert_int_equal(fx->snap->n_providers, 2);
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("issuer.example.com/"));
    assert_has(fx, "<Url>issuer.example.com/</Url>");
    /* A path with a trailing slash warns too. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://issuer.example.com/a/");
    assert_int_equal(fx->n_warnings, 1);
}

/* ---- URL validation ---- */

static void test_url_validation(void **state)
{
    struct iam_fx *fx = *state;
    const char *bad[] = {
        "example.com",
        "example",
        "http://example.com",
        "ftp://example.com",
        "https://",
        "https:///path",
        "https://user@example.com",
        "https://user:pw@example.com/x",
        "https://example.com?x=1",
        "https://example.com/path?x=1",
        "https://example.com#frag",
        "https://example.com:443",
        "https://example.com:8443/x",
        "https://exa_mple.com",
        "https://a..b",
        "https://.example.com",
        "https://example.com.",
        "https://ex ample.com",
        "https://example.com/a b",
        "https://ex\xc3\xa4mple.com",
        "https://[::1",
        "https://[::1]x",
        "https://[zz]",
        "https://example.com\t",
        /* loopback without --dev: https only and no port */
        "http://127.0.0.1:9000/x",
        "http://localhost",
        "https://localhost:8443",
        "",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        enum tg_code rc = fx_call(fx, "CreateOpenIDConnectProvider", "Url", bad[i], NULL);
        if (rc != TG_E_VALIDATION_ERROR) {
            fail_msg("url %s: got %s (%s)", bad[i], tg_code_name(rc), fx->err.message);
        }
        if (bad[i][0] != '\0' &&
            strstr(fx->err.message, "Invalid Open ID Connect Provider URL") == NULL) {
            fail_msg("url %s: message %s", bad[i], fx->err.message);
        }
    }
    assert_int_equal(fx->snap->n_providers, 0);
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "http://example.com");
    assert_message(fx, "Invalid Open ID Connect Provider URL. The URL must begin with https://.");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://example.com:443");
    assert_message(fx, "Invalid Open ID Connect Provider URL. The URL must not contain a port.");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://example.com?x");
    assert_message(fx, "Invalid Open ID Connect Provider URL. The URL must not contain a query.");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url", "");
    assert_message(fx, "1 validation error detected: Value '' at 'url' failed to satisfy "
                       "constraint: Member must have length greater than or equal to 1");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "ClientIDList.member.1",
                "x");
    assert_message(fx, "1 validation error detected: Value null at 'url' failed to satisfy "
                       "constraint: Member must not be null");

    /* 255 characters is the maximum. */
    char url[300];
    memcpy(url, "https://", 8);
    memset(url + 8, 'a', sizeof(url) - 8);
    url[255] = '\0';
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", url);
    url[255] = 'a';
    url[256] = '\0';
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url", url);
    assert_non_null(strstr(fx->err.message, "at 'url' failed to satisfy constraint: Member must "
                                            "have length less than or equal to 255"));

    const char *good[] = {
        "https://gitlab.com",
        "https://oidc.circleci.com/org/0e1b2c3d",
        "https://vstoken.dev.azure.com/0123-abcd",
        "https://token.actions.githubusercontent.com/my-enterprise",
        "HTTPS://Example.COM/x",
        "https://10.0.0.1/issuer",
        "https://[::1]/x",
        "https://a-b.c-d.example/%7Euser/",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(good); i++) {
        enum tg_code rc = fx_call(fx, "CreateOpenIDConnectProvider", "Url", good[i], NULL);
        if (rc != TG_OK) {
            fail_msg("url %s: got %s (%s)", good[i], tg_code_name(rc), fx->err.message);
        }
    }
    /* The URL is stored as given; the key drops only the scheme. */
    const struct tg_snap_provider *p = snap_provider(fx, "Example.COM/x");
    assert_non_null(p);
    assert_string_equal(p->url, "HTTPS://Example.COM/x");
}

static void test_dev_loopback(void **state)
{
    struct iam_fx *fx = *state;
    fx->dev = true;
    const char *good[] = {
        "http://127.0.0.1:9000/issuer", "http://localhost:8080", "http://LOCALHOST/x",
        "http://[::1]:8443/i",          "http://127.1.2.3",      "https://localhost:8443/a",
        "http://127.0.0.1:65535/p",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(good); i++) {
        enum tg_code rc = fx_call(fx, "CreateOpenIDConnectProvider", "Url", good[i], NULL);
        if (rc != TG_OK) {
            fail_msg("url %s: got %s (%s)", good[i], tg_code_name(rc), fx->err.message);
        }
    }
    const struct tg_snap_provider *p = snap_provider(fx, "127.0.0.1:9000/issuer");
    assert_non_null(p);
    assert_string_equal(p->arn, ARN_OF("127.0.0.1:9000/issuer"));
    assert_string_equal(p->url, "http://127.0.0.1:9000/issuer");

    const char *bad[] = {
        "http://example.com",         /* http only for loopback */
        "https://example.com:8443",   /* a port only for loopback */
        "http://127.0.0.1.evil.com/", /* not loopback */
        "http://128.0.0.1",
        "http://127.0.0.256",
        "http://127.0.0",
        "http://localhost.example.com",
        "http://[::2]:80",
        "http://127.0.0.1:0",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:",
        "http://127.0.0.1:8x",
        "http://127.0.0.1:-1",
        "http://user@localhost:80",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        enum tg_code rc = fx_call(fx, "CreateOpenIDConnectProvider", "Url", bad[i], NULL);
        if (rc != TG_E_VALIDATION_ERROR) {
            fail_msg("url %s: got %s (%s)", bad[i], tg_code_name(rc), fx->err.message);
        }
    }
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "http://example.com");
    assert_non_null(strstr(fx->err.message, "loopback"));
    /* http:// and https:// of one host/path share a key. */
    assert_call(fx, TG_E_ENTITY_ALREADY_EXISTS, "CreateOpenIDConnectProvider", "Url",
                "https://127.0.0.1:9000/issuer");
    assert_message(fx, "Provider with url https://127.0.0.1:9000/issuer already exists.");

    /* The same URLs are refused without --dev. */
    fx->dev = false;
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "http://127.0.0.1:9001/issuer");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://localhost:8444");
}

/* ---- client ids and thumbprints on Create ---- */

static void test_create_client_ids(void **state)
{
    struct iam_fx *fx = *state;
    char *f = list_form("Url=https%3A%2F%2Fa.example", "ClientIDList", 100, "client-%zu");
    assert_form(fx, TG_OK, "CreateOpenIDConnectProvider", f);
    free(f);
    assert_int_equal(
        json_array_size(json_object_get(snap_provider(fx, "a.example")->e.doc, "client_ids")), 100);
    f = list_form("Url=https%3A%2F%2Fb.example", "ClientIDList", 101, "client-%zu");
    assert_form(fx, TG_E_LIMIT_EXCEEDED, "CreateOpenIDConnectProvider", f);
    free(f);
    assert_message(fx, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100");

    /* Duplicates are kept once, in order. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://c.example",
                "ClientIDList.member.1", "b", "ClientIDList.member.2", "a", "ClientIDList.member.3",
                "b");
    char *doc = json_dumps(json_object_get(snap_provider(fx, "c.example")->e.doc, "client_ids"),
                           JSON_COMPACT);
    assert_string_equal(doc, "[\"b\",\"a\"]");
    free(doc);

    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://d.example", "ClientIDList.member.1", "ok", "ClientIDList.member.2", "");
    assert_message(fx, "1 validation error detected: Value '' at 'clientIDList.2.member' failed to "
                       "satisfy constraint: Member must have length greater than or equal to 1");
    char id[300];
    memset(id, 'x', sizeof(id));
    id[256] = '\0';
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://d.example", "ClientIDList.member.1", id);
    assert_non_null(strstr(fx->err.message, "less than or equal to 255"));
    id[255] = '\0';
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://d.example",
                "ClientIDList.member.1", id);
    /* A gap in the numbering is the form layer's error. */
    assert_call(fx, TG_E_INVALID_PARAMETER_VALUE, "CreateOpenIDConnectProvider", "Url",
                "https://e.example", "ClientIDList.member.1", "a", "ClientIDList.member.3", "b");
    assert_null(snap_provider(fx, "e.example"));
}

static void test_create_thumbprints(void **state)
{
    struct iam_fx *fx = *state;
    char *f = list_form("Url=https%3A%2F%2Fa.example", "ThumbprintList", 5,
                        "%040zx"); /* 40 hex digits each */
    assert_form(fx, TG_OK, "CreateOpenIDConnectProvider", f);
    free(f);
    assert_int_equal(
        json_array_size(json_object_get(snap_provider(fx, "a.example")->e.doc, "thumbprints")), 5);
    f = list_form("Url=https%3A%2F%2Fb.example", "ThumbprintList", 6, "%040zx");
    assert_form(fx, TG_E_INVALID_INPUT, "CreateOpenIDConnectProvider", f);
    free(f);
    assert_message(fx, "Thumbprint list must contain fewer than 5 entries.");

    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://b.example", "ThumbprintList.member.1",
                "6938fd4d98bab03faadb97b34396831e3780aea"); /* 39 */
    assert_message(fx,
                   "1 validation error detected: Value '6938fd4d98bab03faadb97b34396831e3780aea'"
                   " at 'thumbprintList.1.member' failed to satisfy constraint: Member must "
                   "have length greater than or equal to 40");
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://b.example", "ThumbprintList.member.1", GH_THUMB "0");
    assert_non_null(strstr(fx->err.message, "less than or equal to 40"));
    assert_call(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", "Url",
                "https://b.example", "ThumbprintList.member.1",
                "6938fd4d98bab03faadb97b34396831e3780aeaZ");
    assert_non_null(strstr(fx->err.message, "[0-9A-Fa-f]{40}"));
    /* Upper-case hex is fine and kept as given. */
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://b.example",
                "ThumbprintList.member.1", "6938FD4D98BAB03FAADB97B34396831E3780AEA1");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("b.example"));
    assert_has(fx, "<ThumbprintList><member>6938FD4D98BAB03FAADB97B34396831E3780AEA1</member>"
                   "</ThumbprintList>");
}

static void test_provider_quota(void **state)
{
    struct iam_fx *fx = *state;
    char url[64];
    for (int i = 0; i < TG_IAM_MAX_PROVIDERS; i++) {
        snprintf(url, sizeof(url), "https://issuer%03d.example", i);
        assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", url);
    }
    assert_int_equal(fx->snap->n_providers, TG_IAM_MAX_PROVIDERS);
    assert_call(fx, TG_E_LIMIT_EXCEEDED, "CreateOpenIDConnectProvider", "Url",
                "https://one-too-many.example");
    assert_message(fx, "Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100");
    /* An existing URL is still EntityAlreadyExists, and after a delete
     * there is room again. */
    assert_call(fx, TG_E_ENTITY_ALREADY_EXISTS, "CreateOpenIDConnectProvider", "Url",
                "https://issuer000.example");
    assert_call(fx, TG_OK, "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("issuer000.example"));
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://one-too-many.example");
}

/* ---- ARNs ---- */

static void test_arn_errors(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    const char *actions[] = {"GetOpenIDConnectProvider", "DeleteOpenIDConnectProvider",
                             "ListOpenIDConnectProviderTags"};
    for (size_t i = 0; i < TG_ARRAY_LEN(actions); i++) {
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "Other", "x");
        assert_message(fx, "1 validation error detected: Value null at "
                           "'openIDConnectProviderArn' failed to satisfy constraint: Member must "
                           "not be null");
        /* Shorter than arnType's 20. */
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "OpenIDConnectProviderArn", "arn:x");
        assert_non_null(strstr(fx->err.message, "greater than or equal to 20"));
        const char *invalid[] = {
            "arn:aws:iam::12345678901:oidc-provider/token.actions.githubusercontent.com",
            "arn:aws:iam::1234567890123:oidc-provider/x",
            "arn:aws:iam::" FX_ACCOUNT ":role/token.actions.githubusercontent.com",
            "arn:aws:iam::" FX_ACCOUNT ":oidc-provider/",
            "arn:aws:sts::" FX_ACCOUNT ":oidc-provider/x",
            "arn:aws:iam:us-east-1:" FX_ACCOUNT ":oidc-provider/x",
            "arn::iam::" FX_ACCOUNT ":oidc-provider/x",
            "urn:aws:iam::" FX_ACCOUNT ":oidc-provider/x",
            "token.actions.githubusercontent.com",
        };
        for (size_t j = 0; j < TG_ARRAY_LEN(invalid); j++) {
            enum tg_code rc = fx_call(fx, actions[i], "OpenIDConnectProviderArn", invalid[j], NULL);
            if (rc != TG_E_INVALID_INPUT) {
                fail_msg("%s %s: got %s", actions[i], invalid[j], tg_code_name(rc));
            }
            char want[256];
            snprintf(want, sizeof(want), "ARN %s is not valid.", invalid[j]);
            assert_message(fx, want);
        }
        assert_call(fx, TG_E_NO_SUCH_ENTITY, actions[i], "OpenIDConnectProviderArn",
                    ARN_OF("gitlab.com"));
        assert_message(fx, "OpenIDConnect Provider not found for arn " ARN_OF("gitlab.com"));
        assert_has(fx, "<Code>NoSuchEntity</Code>");
        /* Another account's provider is not ours. */
        assert_call(fx, TG_E_NO_SUCH_ENTITY, actions[i], "OpenIDConnectProviderArn",
                    "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com");
        /* The key is case-sensitive beyond the scheme. */
        assert_call(fx, TG_E_NO_SUCH_ENTITY, actions[i], "OpenIDConnectProviderArn",
                    ARN_OF("Token.actions.githubusercontent.com"));
    }
    assert_int_equal(fx->snap->n_providers, 1);
}

/* ---- List / Delete ---- */

static void test_list_delete(void **state)
{
    struct iam_fx *fx = *state;
    assert_call(fx, TG_OK, "ListOpenIDConnectProviders");
    assert_has(fx, "<ListOpenIDConnectProvidersResult><OpenIDConnectProviderList>"
                   "</OpenIDConnectProviderList></ListOpenIDConnectProvidersResult>");
    create_github(fx);
    assert_call(fx, TG_OK, "CreateOpenIDConnectProvider", "Url", "https://gitlab.com");
    assert_call(fx, TG_OK, "ListOpenIDConnectProviders");
    /* In key order. */
    assert_has(fx,
               "<ListOpenIDConnectProvidersResult><OpenIDConnectProviderList>"
               "<member><Arn>" ARN_OF(
                   "gitlab.com") "</Arn></member>"
                                 "<member><Arn>" GH_ARN "</Arn></member>"
                                 "</OpenIDConnectProviderList></ListOpenIDConnectProvidersResult>");

    assert_call(fx, TG_OK, "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    /* No Result element for actions without output. */
    assert_has(fx, "<DeleteOpenIDConnectProviderResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>");
    assert_lacks(fx, "DeleteOpenIDConnectProviderResult");
    assert_null(snap_provider(fx, "token.actions.githubusercontent.com"));
    assert_call(fx, TG_E_NO_SUCH_ENTITY, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN);
    assert_call(fx, TG_E_NO_SUCH_ENTITY, "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN);
    assert_call(fx, TG_OK, "ListOpenIDConnectProviders");
    assert_has(fx, "<OpenIDConnectProviderList><member><Arn>" ARN_OF(
                       "gitlab.com") "</Arn></member></OpenIDConnectProviderList>");
    /* Re-creating after a delete works (a fresh entity). */
    create_github(fx);
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 1);
}

/* ---- client ids ---- */

static void test_client_id_add_remove(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    assert_call(fx, TG_OK, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "ClientID", "https://github.com/octo-org");
    assert_has(fx, "<AddClientIDToOpenIDConnectProviderResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 2);
    /* Idempotent: adding it again succeeds and writes nothing. */
    assert_call(fx, TG_OK, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "ClientID", "https://github.com/octo-org");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 2);
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ClientIDList><member>sts.amazonaws.com</member>"
                   "<member>https://github.com/octo-org</member></ClientIDList>");

    assert_call(fx, TG_OK, "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "ClientID", "sts.amazonaws.com");
    assert_lacks(fx, "Result>");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 3);
    /* Removing an absent id succeeds and writes nothing. */
    assert_call(fx, TG_OK, "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "ClientID", "sts.amazonaws.com");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 3);
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ClientIDList><member>https://github.com/octo-org</member></ClientIDList>");
    /* Client ids are case-sensitive. */
    assert_call(fx, TG_OK, "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "ClientID", "HTTPS://github.com/octo-org");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 3);

    /* Errors. */
    const char *actions[] = {"AddClientIDToOpenIDConnectProvider",
                             "RemoveClientIDFromOpenIDConnectProvider"};
    char long_id[300];
    memset(long_id, 'c', sizeof(long_id));
    long_id[256] = '\0';
    for (size_t i = 0; i < TG_ARRAY_LEN(actions); i++) {
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "OpenIDConnectProviderArn", GH_ARN);
        assert_message(fx, "1 validation error detected: Value null at 'clientID' failed to "
                           "satisfy constraint: Member must not be null");
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "OpenIDConnectProviderArn", GH_ARN,
                    "ClientID", "");
        assert_non_null(strstr(fx->err.message, "at 'clientID'"));
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "OpenIDConnectProviderArn", GH_ARN,
                    "ClientID", long_id);
        assert_call(fx, TG_E_VALIDATION_ERROR, actions[i], "ClientID", "x");
        assert_call(fx, TG_E_INVALID_INPUT, actions[i], "OpenIDConnectProviderArn",
                    "arn:aws:iam::1:oidc-provider/x", "ClientID", "x");
        assert_call(fx, TG_E_NO_SUCH_ENTITY, actions[i], "OpenIDConnectProviderArn",
                    ARN_OF("nope.example"), "ClientID", "x");
    }
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, 3);
}

static void test_client_id_quota(void **state)
{
    struct iam_fx *fx = *state;
    char *f = list_form("Url=https%3A%2F%2Fa.example", "ClientIDList", 99, "client-%zu");
    assert_form(fx, TG_OK, "CreateOpenIDConnectProvider", f);
    free(f);
    assert_call(fx, TG_OK, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("a.example"), "ClientID", "client-100");
    /* At 100, an existing id is still fine, a new one is not. */
    assert_call(fx, TG_OK, "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("a.example"), "ClientID", "client-1");
    assert_call(fx, TG_E_LIMIT_EXCEEDED, "AddClientIDToOpenIDConnectProvider",
                "OpenIDConnectProviderArn", ARN_OF("a.example"), "ClientID", "client-101");
    assert_message(fx, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100");
    assert_int_equal(
        json_array_size(json_object_get(snap_provider(fx, "a.example")->e.doc, "client_ids")), 100);
}

/* ---- thumbprints ---- */

static void test_update_thumbprints(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    assert_call(fx, TG_OK, "UpdateOpenIDConnectProviderThumbprint", "OpenIDConnectProviderArn",
                GH_ARN, "ThumbprintList.member.1", THUMB_B, "ThumbprintList.member.2", GH_THUMB);
    assert_has(fx, "<UpdateOpenIDConnectProviderThumbprintResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ThumbprintList><member>" THUMB_B "</member><member>" GH_THUMB
                   "</member></ThumbprintList>");
    /* Replaces, not merges. */
    assert_call(fx, TG_OK, "UpdateOpenIDConnectProviderThumbprint", "OpenIDConnectProviderArn",
                GH_ARN, "ThumbprintList.member.1", THUMB_B);
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ThumbprintList><member>" THUMB_B "</member></ThumbprintList>");
    /* Other fields are kept. */
    assert_has(fx, "<ClientIDList><member>sts.amazonaws.com</member></ClientIDList>");
    assert_has(fx, "<CreateDate>2026-01-01T00:00:00Z</CreateDate>");
    /* An empty list as SDKs send it ("ThumbprintList=") clears the pins. */
    assert_form(fx, TG_OK, "UpdateOpenIDConnectProviderThumbprint",
                "OpenIDConnectProviderArn=" GH_ARN "&ThumbprintList=");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ThumbprintList></ThumbprintList>");

    /* Errors. */
    assert_call(fx, TG_E_VALIDATION_ERROR, "UpdateOpenIDConnectProviderThumbprint",
                "OpenIDConnectProviderArn", GH_ARN);
    assert_message(fx, "1 validation error detected: Value null at 'thumbprintList' failed to "
                       "satisfy constraint: Member must not be null");
    assert_call(fx, TG_E_VALIDATION_ERROR, "UpdateOpenIDConnectProviderThumbprint",
                "OpenIDConnectProviderArn", GH_ARN, "ThumbprintList.member.1", "abc");
    char *f = list_form("OpenIDConnectProviderArn=" GH_ARN, "ThumbprintList", 6, "%040zx");
    assert_form(fx, TG_E_INVALID_INPUT, "UpdateOpenIDConnectProviderThumbprint", f);
    free(f);
    assert_call(fx, TG_E_NO_SUCH_ENTITY, "UpdateOpenIDConnectProviderThumbprint",
                "OpenIDConnectProviderArn", ARN_OF("x.example"), "ThumbprintList.member.1",
                THUMB_B);
    assert_call(fx, TG_E_VALIDATION_ERROR, "UpdateOpenIDConnectProviderThumbprint",
                "ThumbprintList.member.1", THUMB_B);
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ThumbprintList></ThumbprintList>");
}

/* ---- tags ---- */

static void test_tag_untag_list(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ListOpenIDConnectProviderTagsResult><Tags></Tags>"
                   "<IsTruncated>false</IsTruncated></ListOpenIDConnectProviderTagsResult>");

    assert_call(fx, TG_OK, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "Tags.member.1.Key", "team", "Tags.member.1.Value", "platform", "Tags.member.2.Key",
                "cost-center", "Tags.member.2.Value", "42");
    assert_has(fx, "<TagOpenIDConnectProviderResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>");
    /* Replaces the value of an existing key (keys match case-insensitively). */
    assert_call(fx, TG_OK, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "Tags.member.1.Key", "Team", "Tags.member.1.Value", "security", "Tags.member.2.Key",
                "app", "Tags.member.2.Value", "");
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<ListOpenIDConnectProviderTagsResult><Tags>"
                   "<member><Key>Team</Key><Value>security</Value></member>"
                   "<member><Key>app</Key><Value></Value></member>"
                   "<member><Key>cost-center</Key><Value>42</Value></member>"
                   "</Tags><IsTruncated>false</IsTruncated></ListOpenIDConnectProviderTagsResult>");
    assert_call(fx, TG_OK, "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<Url>token.actions.githubusercontent.com</Url><Tags>"
                   "<member><Key>Team</Key><Value>security</Value></member>");

    /* Paging: MaxItems and Marker over the sorted list. */
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN,
                "MaxItems", "2");
    assert_has(fx, "<ListOpenIDConnectProviderTagsResult><Tags>"
                   "<member><Key>Team</Key><Value>security</Value></member>"
                   "<member><Key>app</Key><Value></Value></member></Tags>"
                   "<IsTruncated>true</IsTruncated><Marker>2</Marker>"
                   "</ListOpenIDConnectProviderTagsResult>");
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN,
                "MaxItems", "2", "Marker", "2");
    assert_has(fx, "<ListOpenIDConnectProviderTagsResult><Tags>"
                   "<member><Key>cost-center</Key><Value>42</Value></member></Tags>"
                   "<IsTruncated>false</IsTruncated></ListOpenIDConnectProviderTagsResult>");
    assert_call(fx, TG_E_VALIDATION_ERROR, "ListOpenIDConnectProviderTags",
                "OpenIDConnectProviderArn", GH_ARN, "Marker", "x");
    assert_message(fx, "Invalid Marker");
    assert_call(fx, TG_E_VALIDATION_ERROR, "ListOpenIDConnectProviderTags",
                "OpenIDConnectProviderArn", GH_ARN, "MaxItems", "0");
    assert_call(fx, TG_E_VALIDATION_ERROR, "ListOpenIDConnectProviderTags",
                "OpenIDConnectProviderArn", ARN_OF("nope.example"), "MaxItems", "0");

    /* Untag: case-insensitive, absent keys fine. */
    int64_t v = snap_provider(fx, "token.actions.githubusercontent.com")->e.version;
    assert_call(fx, TG_OK, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "TagKeys.member.1", "TEAM", "TagKeys.member.2", "absent");
    assert_has(fx, "<UntagOpenIDConnectProviderResponse "
                   "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, v + 1);
    assert_call(fx, TG_OK, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "TagKeys.member.1", "absent");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, v + 1);
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<Tags><member><Key>app</Key><Value></Value></member>"
                   "<member><Key>cost-center</Key><Value>42</Value></member></Tags>");

    /* Errors. */
    assert_call(fx, TG_E_VALIDATION_ERROR, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN);
    assert_message(fx, "1 validation error detected: Value null at 'tags' failed to satisfy "
                       "constraint: Member must not be null");
    assert_call(fx, TG_E_INVALID_INPUT, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "Tags.member.1.Key", "aws:cloudformation:stack", "Tags.member.1.Value",
                "x");
    assert_call(fx, TG_E_VALIDATION_ERROR, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "Tags.member.1.Key", "a*b", "Tags.member.1.Value", "x");
    assert_call(fx, TG_E_NO_SUCH_ENTITY, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("nope.example"), "Tags.member.1.Key", "k", "Tags.member.1.Value", "v");
    assert_call(fx, TG_E_VALIDATION_ERROR, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN);
    assert_message(fx, "1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                       "constraint: Member must not be null");
    assert_call(fx, TG_E_NO_SUCH_ENTITY, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                ARN_OF("nope.example"), "TagKeys.member.1", "k");
    assert_call(fx, TG_E_VALIDATION_ERROR, "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "TagKeys.member.1", "");
}

static void test_tag_quota(void **state)
{
    struct iam_fx *fx = *state;
    create_github(fx);
    struct tg_buf b;
    tg_buf_init(&b, 1 << 16);
    assert_int_equal(tg_buf_append_str(&b, "OpenIDConnectProviderArn=" GH_ARN), 0);
    for (int i = 1; i <= 48; i++) {
        assert_int_equal(
            tg_buf_appendf(&b, "&Tags.member.%d.Key=k%02d&Tags.member.%d.Value=v", i, i, i), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_form(fx, TG_OK, "TagOpenIDConnectProvider", (const char *)b.ptr);
    assert_call(fx, TG_OK, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "Tags.member.1.Key", "x1", "Tags.member.1.Value", "", "Tags.member.2.Key", "k01",
                "Tags.member.2.Value", "new");
    int64_t v = snap_provider(fx, "token.actions.githubusercontent.com")->e.version;
    /* 49 now; two new ones would make 51. */
    assert_call(fx, TG_E_LIMIT_EXCEEDED, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                GH_ARN, "Tags.member.1.Key", "x2", "Tags.member.1.Value", "", "Tags.member.2.Key",
                "x3", "Tags.member.2.Value", "");
    assert_int_equal(snap_provider(fx, "token.actions.githubusercontent.com")->e.version, v);
    assert_call(fx, TG_OK, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", GH_ARN,
                "Tags.member.1.Key", "x2", "Tags.member.1.Value", "");
    assert_int_equal(json_array_size(json_object_get(
                         snap_provider(fx, "token.actions.githubusercontent.com")->e.doc, "tags")),
                     50);
    /* 51 in one request: the ValidationError of the model. */
    tg_buf_reset(&b);
    assert_int_equal(tg_buf_append_str(&b, "Url=https%3A%2F%2Fz.example"), 0);
    for (int i = 1; i <= 51; i++) {
        assert_int_equal(
            tg_buf_appendf(&b, "&Tags.member.%d.Key=k%02d&Tags.member.%d.Value=v", i, i, i), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_form(fx, TG_E_VALIDATION_ERROR, "CreateOpenIDConnectProvider", (const char *)b.ptr);
    assert_non_null(strstr(fx->err.message, "at 'tags' failed to satisfy constraint: Member must "
                                            "have length less than or equal to 50"));
    tg_buf_free(&b);
    /* ListTags pages through all 50 with the default MaxItems. */
    assert_call(fx, TG_OK, "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", GH_ARN);
    assert_has(fx, "<IsTruncated>false</IsTruncated>");
    assert_has(fx, "<member><Key>k01</Key><Value>new</Value></member>");
}

/* ---- the action table ---- */

static void test_action_table(void **state)
{
    (void)state;
    static const struct fx_action want[] = {
        {"CreateOpenIDConnectProvider", true, true},
        {"GetOpenIDConnectProvider", true, false},
        {"ListOpenIDConnectProviders", true, false},
        {"DeleteOpenIDConnectProvider", false, true},
        {"AddClientIDToOpenIDConnectProvider", false, true},
        {"RemoveClientIDFromOpenIDConnectProvider", false, true},
        {"UpdateOpenIDConnectProviderThumbprint", false, true},
        {"TagOpenIDConnectProvider", false, true},
        {"UntagOpenIDConnectProvider", false, true},
        {"ListOpenIDConnectProviderTags", true, false},
    };
    fx_check_actions(want, TG_ARRAY_LEN(want), tg_iam_provider_actions_n);
    assert_null(tg_iam_action_find(tg_cur_str("createopenidconnectprovider")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_create_get_github),     FX_TEST(test_create_minimal_and_tags),
        FX_TEST(test_create_duplicate),      FX_TEST(test_trailing_slash),
        FX_TEST(test_url_validation),        FX_TEST(test_dev_loopback),
        FX_TEST(test_create_client_ids),     FX_TEST(test_create_thumbprints),
        FX_TEST(test_provider_quota),        FX_TEST(test_arn_errors),
        FX_TEST(test_list_delete),           FX_TEST(test_client_id_add_remove),
        FX_TEST(test_client_id_quota),       FX_TEST(test_update_thumbprints),
        FX_TEST(test_tag_untag_list),        FX_TEST(test_tag_quota),
        cmocka_unit_test(test_action_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
