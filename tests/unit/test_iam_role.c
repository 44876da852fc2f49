/* Unit tests of the IAM role actions (iam_role.c, spec 7.2 and 4.6): every
 * action, its XML in AWS's element order, every error path, the quotas, and
 * round trips through a real SQLite store and snapshot reloads. */
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
#include "policy/policy.h"

#define NS "<%sResponse xmlns=\"" TG_NS_IAM "\">"
#define ARN_PREFIX "arn:aws:iam::" FX_ACCOUNT ":"

/* The seed trust policy of the task: GitHub Actions, one repository. */
static const char SEED_TRUST[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
    "\"Federated\":\"arn:aws:iam::123456789012:oidc-provider/"
    "token.actions.githubusercontent.com\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","
    "\"Condition\":{\"StringEquals\":{\"token.actions.githubusercontent.com:aud\":"
    "\"sts.amazonaws.com\"},\"StringLike\":{\"token.actions.githubusercontent.com:sub\":"
    "\"repo:octo/app:*\"}}}]}";

static const char IDENTITY_POLICY[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
    "\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bucket/*\"}]}";

static const char IDENTITY_POLICY2[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"s3:*\","
    "\"Resource\":\"*\"}]}";

/* ---- helpers ---- */

/* An empty element: the writer may emit <t></t> or <t/>. */
static void empty_impl(const struct iam_fx *fx, const char *tag, int line)
{
    char a[128], b[128];
    snprintf(a, sizeof(a), "<%s></%s>", tag, tag);
    snprintf(b, sizeof(b), "<%s/>", tag);
    if (strstr(fx_body(fx), a) == NULL && strstr(fx_body(fx), b) == NULL) {
        print_error("line %d: expected empty <%s> in\n  %s\n", line, tag, fx_body(fx));
        fail();
    }
}
#define assert_empty_elem(fx, tag) empty_impl((fx), (tag), __LINE__)

/* The error code and message of the last call. */
static void error_impl(const struct iam_fx *fx, enum tg_code got, enum tg_code want,
                       const char *message, int line)
{
    if (got != want) {
        print_error("line %d: code %s, want %s; body\n  %s\n", line, tg_code_name(got),
                    tg_code_name(want), fx_body(fx));
        fail();
    }
    char frag[2048];
    snprintf(frag, sizeof(frag), "<Code>%s</Code>", tg_code_name(want));
    fx_has_impl(fx, frag, line);
    /* The message as set (plain text; the body has it XML-escaped). */
    if (message != NULL && strstr(fx->err.message, message) == NULL &&
        strstr(fx_body(fx), message) == NULL) {
        print_error("line %d: expected message\n  %s\nin\n  %s\n", line, message, fx->err.message);
        fail();
    }
}
#define assert_error(fx, got, want, msg) error_impl((fx), (got), (want), (msg), __LINE__)

static char *url_encode(const char *s)
{
    struct tg_buf b;
    tg_buf_init(&b, 1 << 22);
    assert_int_equal(tg_url_encode(&b, tg_cur_str(s)), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    char *out = tg_buf_steal(&b);
    assert_non_null(out);
    return out;
}

/* The text between open and close in the body (malloc'd), or fail. */
static char *extract(const struct iam_fx *fx, const char *open, const char *close)
{
    const char *p = strstr(fx_body(fx), open);
    assert_non_null(p);
    p += strlen(open);
    const char *e = strstr(p, close);
    assert_non_null(e);
    char *out = malloc((size_t)(e - p) + 1);
    assert_non_null(out);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return out;
}

/* Percent-decodes the element's text and compares it with want. */
static void assert_decoded(const struct iam_fx *fx, const char *tag, const char *want)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    char *enc = extract(fx, open, close);
    struct tg_buf b;
    tg_buf_init(&b, 1 << 22);
    assert_int_equal(tg_url_decode(&b, tg_cur_str(enc), false), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_string_equal((const char *)b.ptr, want);
    tg_buf_free(&b);
    free(enc);
}

static enum tg_code create(struct iam_fx *fx, const char *name)
{
    return fx_call(fx, "CreateRole", "RoleName", name, "AssumeRolePolicyDocument", SEED_TRUST,
                   NULL);
}

/* The seed trust policy with "repo:octo/app" + pad x's, after ws (leading
 * whitespace, not counted by IAM's quota). */
static char *trust_sized(size_t pad, const char *ws)
{
    const char *at = strstr(SEED_TRUST, "app:*");
    assert_non_null(at);
    size_t head = (size_t)(at - SEED_TRUST) + 3;
    size_t n = strlen(ws) + strlen(SEED_TRUST) + pad + 1;
    char *out = malloc(n);
    assert_non_null(out);
    size_t o = 0;
    memcpy(out + o, "{", 1);
    o += 1;
    memcpy(out + o, ws, strlen(ws));
    o += strlen(ws);
    memcpy(out + o, SEED_TRUST + 1, head - 1);
    o += head - 1;
    memset(out + o, 'x', pad);
    o += pad;
    memcpy(out + o, SEED_TRUST + head, strlen(SEED_TRUST) - head + 1);
    return out;
}

/* An identity policy of exactly target characters (no whitespace), made of
 * a list of S3 resources. */
static char *identity_sized(size_t target)
{
    static const char pre[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                              "\"Action\":\"s3:GetObject\",\"Resource\":[";
    static const char post[] = "]}]}";
    static const char res[] = "arn:aws:s3:::b/"; /* 15 chars + 2 quotes = 17 per entry */
    char *out = malloc(target + 1);
    assert_non_null(out);
    size_t fixed = strlen(pre) + strlen(post);
    assert_true(target >= fixed + 18);
    size_t rem = target - fixed;
    size_t o = 0;
    memcpy(out, pre, strlen(pre));
    o = strlen(pre);
    bool first = true;
    while (rem > 0) {
        size_t comma = first ? 0 : 1;
        size_t k = rem >= comma + 17 + 80 + 19 ? 80 : rem - comma - 17;
        assert_true(k >= 1);
        if (!first) {
            out[o++] = ',';
        }
        out[o++] = '"';
        memcpy(out + o, res, 15);
        o += 15;
        memset(out + o, 'a', k);
        o += k;
        out[o++] = '"';
        rem -= comma + 17 + k;
        first = false;
    }
    memcpy(out + o, post, strlen(post));
    o += strlen(post);
    out[o] = '\0';
    assert_int_equal(o, target);
    assert_int_equal(tg_policy_size((const uint8_t *)out, o), target);
    return out;
}

/* Writes an entity straight into the store (what another module's action
 * would have written) and reloads the snapshot. */
static void raw_put(struct iam_fx *fx, enum tg_entity_kind kind, const char *key, const char *doc,
                    int64_t version)
{
    struct tg_store_op op = {TG_STORE_PUT, kind, key, doc, version};
    assert_int_equal(tg_store_commit(fx->store, &op, 1, &fx->err), 0);
    assert_int_equal(fx_reload(fx), 0);
}

/* A managed policy "p" (the document shape of snapshot.h). */
static void raw_policy(struct iam_fx *fx, const char *name)
{
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:I}],s:[],s:I,s:I}", "name", name, "path", "/",
                  "policy_id", "ANPAAAAAAAAAAAAAAAAAA", "default_version", "v1", "versions", "id",
                  "v1", "document", IDENTITY_POLICY, "create_date", (json_int_t)0, "tags",
                  "create_date", (json_int_t)0, "update_date", (json_int_t)0);
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    char key[TG_IAM_MAX_POLICY_NAME + 1];
    assert_int_equal(tg_snapshot_key_lower(tg_cur_str(name), key, sizeof(key)), 0);
    raw_put(fx, TG_ENTITY_POLICY, key, text, 0);
    free(text);
    json_decref(doc);
}

/* ---- CreateRole / GetRole with the seed trust policy ---- */

static void test_create_get_seed(void **state)
{
    struct iam_fx *fx = *state;
    char *enc = url_encode(SEED_TRUST);
    char want[8192];

    assert_int_equal(create(fx, "ci-deploy"), TG_OK);
    snprintf(want, sizeof(want),
             NS "<CreateRoleResult><Role><Path>/</Path><Arn>" ARN_PREFIX
                "role/ci-deploy</Arn><RoleName>ci-deploy</RoleName><AssumeRolePolicyDocument>%s"
                "</AssumeRolePolicyDocument><CreateDate>2026-01-01T00:00:00Z</CreateDate><RoleId>",
             "CreateRole", enc);
    assert_has(fx, want);
    assert_has(fx, "</RoleId><MaxSessionDuration>3600</MaxSessionDuration></Role>"
                   "</CreateRoleResult><ResponseMetadata>");
    assert_lacks(fx, "<Description>");
    assert_lacks(fx, "<Tags>");
    assert_lacks(fx, "RoleLastUsed");
    assert_lacks(fx, "PermissionsBoundary");
    assert_decoded(fx, "AssumeRolePolicyDocument", SEED_TRUST);

    /* RoleId: AROA + 17 base32 characters */
    char *id = extract(fx, "<RoleId>", "</RoleId>");
    assert_int_equal(strlen(id), 21);
    assert_memory_equal(id, "AROA", 4);
    for (size_t i = 4; i < 21; i++) {
        assert_true((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '2' && id[i] <= '7'));
    }

    /* GetRole, also with another case of the name */
    const char *names[] = {"ci-deploy", "CI-Deploy"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fx_call(fx, "GetRole", "RoleName", names[i], NULL), TG_OK);
        snprintf(want, sizeof(want),
                 NS "<GetRoleResult><Role><Path>/</Path><Arn>" ARN_PREFIX
                    "role/ci-deploy</Arn><RoleName>ci-deploy</RoleName><AssumeRolePolicyDocument>"
                    "%s</AssumeRolePolicyDocument><CreateDate>2026-01-01T00:00:00Z</CreateDate>"
                    "<RoleId>%s</RoleId><MaxSessionDuration>3600</MaxSessionDuration>",
                 "GetRole", enc, id);
        assert_has(fx, want);
        assert_empty_elem(fx, "RoleLastUsed");
        assert_lacks(fx, "<Tags>");
        assert_decoded(fx, "AssumeRolePolicyDocument", SEED_TRUST);
    }
    assert_true(strstr(fx_body(fx), "</MaxSessionDuration><RoleLastUsed") != NULL);
    assert_true(strstr(fx_body(fx), "</Role></GetRoleResult>") != NULL);

    /* ListRoles */
    assert_int_equal(fx_call(fx, "ListRoles", NULL), TG_OK);
    snprintf(want, sizeof(want),
             "<ListRolesResult><Roles><member><Path>/</Path><Arn>" ARN_PREFIX
             "role/ci-deploy</Arn><RoleName>ci-deploy</RoleName><AssumeRolePolicyDocument>%s"
             "</AssumeRolePolicyDocument><CreateDate>2026-01-01T00:00:00Z</CreateDate>"
             "<RoleId>%s</RoleId><MaxSessionDuration>3600</MaxSessionDuration></member></Roles>"
             "<IsTruncated>false</IsTruncated></ListRolesResult>",
             enc, id);
    assert_has(fx, want);

    /* Update, then delete: gone everywhere, and the name is free again. */
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "ci-deploy", "Description", "CI",
                             "MaxSessionDuration", "7200", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "ci-deploy", NULL), TG_OK);
    assert_has(fx, "</AssumeRolePolicyDocument><Description>CI</Description><CreateDate>");
    assert_has(fx, "<MaxSessionDuration>7200</MaxSessionDuration>");
    assert_int_equal(fx_call(fx, "DeleteRole", "RoleName", "CI-DEPLOY", NULL), TG_OK);
    assert_has(fx, "<DeleteRoleResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_error(fx, fx_call(fx, "GetRole", "RoleName", "ci-deploy", NULL), TG_E_NO_SUCH_ENTITY,
                 "The role with name ci-deploy cannot be found.");
    assert_int_equal(fx_call(fx, "ListRoles", NULL), TG_OK);
    assert_empty_elem(fx, "Roles");
    assert_int_equal(create(fx, "ci-deploy"), TG_OK);
    char *id2 = extract(fx, "<RoleId>", "</RoleId>");
    assert_string_not_equal(id, id2);

    free(id2);
    free(id);
    free(enc);
}

static void test_create_all_members(void **state)
{
    struct iam_fx *fx = *state;
    raw_policy(fx, "Boundary");
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "Full", "Path", "/ci/team/",
                             "AssumeRolePolicyDocument", SEED_TRUST, "Description",
                             "D\xC3\xA9ploie & <co>", "MaxSessionDuration", "43200",
                             "PermissionsBoundary", ARN_PREFIX "policy/Boundary",
                             "Tags.member.1.Key", "team", "Tags.member.1.Value", "infra",
                             "Tags.member.2.Key", "env", "Tags.member.2.Value", "", NULL),
                     TG_OK);
    static const char tail[] = "<Description>D\xC3\xA9ploie &amp; &lt;co&gt;</Description>"
                               "<CreateDate>2026-01-01T00:00:00Z</CreateDate><RoleId>";
    static const char tail2[] =
        "</RoleId><MaxSessionDuration>43200</MaxSessionDuration><PermissionsBoundary>"
        "<PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>"
        "<PermissionsBoundaryArn>" ARN_PREFIX "policy/Boundary</PermissionsBoundaryArn>"
        "</PermissionsBoundary><Tags><member><Key>env</Key>";
    assert_has(fx, "<Role><Path>/ci/team/</Path><Arn>" ARN_PREFIX
                   "role/ci/team/Full</Arn><RoleName>Full</RoleName><AssumeRolePolicyDocument>");
    assert_has(fx, tail);
    assert_has(fx, tail2);
    assert_has(fx, "<member><Key>team</Key><Value>infra</Value></member></Tags></Role>");

    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "full", NULL), TG_OK);
    assert_has(fx, tail);
    assert_has(fx, tail2);
    assert_has(fx, "<member><Key>team</Key><Value>infra</Value></member></Tags><RoleLastUsed");

    /* ListRoles leaves out PermissionsBoundary, Tags and RoleLastUsed (bc-iam ListRoles). */
    assert_int_equal(fx_call(fx, "ListRoles", NULL), TG_OK);
    assert_has(fx, tail);
    assert_has(fx, "<MaxSessionDuration>43200</MaxSessionDuration></member>");
    assert_lacks(fx, "PermissionsBoundary");
    assert_lacks(fx, "<Tags>");
    assert_lacks(fx, "RoleLastUsed");

    /* An AWS managed policy as boundary is accepted as it is. */
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "Aws", "AssumeRolePolicyDocument",
                             SEED_TRUST, "PermissionsBoundary",
                             "arn:aws:iam::aws:policy/PowerUserAccess", NULL),
                     TG_OK);
    assert_has(fx, "<PermissionsBoundaryArn>arn:aws:iam::aws:policy/PowerUserAccess<");
}

static void test_create_exists(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "Deploy"), TG_OK);
    assert_error(fx, create(fx, "Deploy"), TG_E_ENTITY_ALREADY_EXISTS,
                 "<Message>Role with name Deploy already exists.</Message>");
    assert_error(fx, create(fx, "dEPLOY"), TG_E_ENTITY_ALREADY_EXISTS,
                 "<Message>Role with name dEPLOY already exists.</Message>");
    assert_has(fx, "<Type>Sender</Type>");
    assert_int_equal(fx_call(fx, "ListRoles", NULL), TG_OK);
    char *roles = extract(fx, "<Roles>", "</Roles>");
    assert_non_null(strstr(roles, "<RoleName>Deploy</RoleName>"));
    assert_null(strstr(strstr(roles, "</member>"), "<member>"));
    free(roles);
}

static void test_create_validation(void **state)
{
    struct iam_fx *fx = *state;
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    char long_desc[1002];
    memset(long_desc, 'd', 1001);
    long_desc[1001] = '\0';

    assert_error(fx, create(fx, "bad name"), TG_E_VALIDATION_ERROR,
                 "Value 'bad name' at 'roleName' failed to satisfy constraint: Member must "
                 "satisfy regular expression pattern: [\\w+=,.@-]+");
    assert_error(fx, create(fx, "bad/name"), TG_E_VALIDATION_ERROR, "'roleName'");
    assert_error(fx, create(fx, ""), TG_E_VALIDATION_ERROR, "'roleName'");
    assert_error(fx, create(fx, long_name), TG_E_VALIDATION_ERROR,
                 "at 'roleName' failed to satisfy constraint: Member must have length less than "
                 "or equal to 64");
    long_name[64] = '\0';
    assert_int_equal(create(fx, long_name), TG_OK); /* 64 is fine */
    assert_int_equal(create(fx, "a+=,.@-_Z9"), TG_OK);

    assert_error(fx, fx_call(fx, "CreateRole", "AssumeRolePolicyDocument", SEED_TRUST, NULL),
                 TG_E_VALIDATION_ERROR, "Value null at 'roleName'");
    assert_error(fx, fx_call(fx, "CreateRole", "RoleName", "r", NULL), TG_E_VALIDATION_ERROR,
                 "Value null at 'assumeRolePolicyDocument'");

    const char *sessions[][2] = {{"3599", "Member must have value greater than or equal to 3600"},
                                 {"43201", "Member must have value less than or equal to 43200"},
                                 {"1h", NULL},
                                 {"", NULL}};
    for (size_t i = 0; i < TG_ARRAY_LEN(sessions); i++) {
        assert_error(fx,
                     fx_call(fx, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument",
                             SEED_TRUST, "MaxSessionDuration", sessions[i][0], NULL),
                     TG_E_VALIDATION_ERROR, sessions[i][1]);
        assert_has(fx, "maxSessionDuration");
    }
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "r3600", "AssumeRolePolicyDocument",
                             SEED_TRUST, "MaxSessionDuration", "3600", NULL),
                     TG_OK);

    const char *paths[] = {"ci", "/ci", "ci/", "//x", ""};
    for (size_t i = 0; i < TG_ARRAY_LEN(paths); i++) {
        enum tg_code rc = fx_call(fx, "CreateRole", "RoleName", "r", "Path", paths[i],
                                  "AssumeRolePolicyDocument", SEED_TRUST, NULL);
        /* "//x" is no path ("/" must close it); every one is refused. */
        assert_error(fx, rc, TG_E_VALIDATION_ERROR, "'path'");
    }

    assert_error(fx,
                 fx_call(fx, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", SEED_TRUST,
                         "Description", long_desc, NULL),
                 TG_E_VALIDATION_ERROR,
                 "at 'description' failed to satisfy constraint: Member must have length less "
                 "than or equal to 1000");
    /* Description characters: no other control characters, nothing past U+00FF */
    const char *descs[] = {"a\x01", "\xE2\x82\xAC", "\xC2\x80", "\x7F"};
    for (size_t i = 0; i < TG_ARRAY_LEN(descs); i++) {
        assert_error(fx,
                     fx_call(fx, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument",
                             SEED_TRUST, "Description", descs[i], NULL),
                     TG_E_VALIDATION_ERROR,
                     "at 'description' failed to satisfy constraint: Member must satisfy regular "
                     "expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*");
    }
    /* a long refused value is echoed cut on a character boundary */
    char utf8_desc[1100] = "";
    for (size_t i = 0; i < 500; i++) {
        memcpy(utf8_desc + 2 * i, "\xC3\xA9", 2);
    }
    memcpy(utf8_desc + 1000, "\x01", 2);
    assert_error(fx,
                 fx_call(fx, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", SEED_TRUST,
                         "Description", utf8_desc, NULL),
                 TG_E_VALIDATION_ERROR, "\xC3\xA9...' at 'description'");
    assert_true(tg_utf8_valid(tg_cur_str(fx->err.message)));
    long_desc[1000] = '\0';
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "d1000", "AssumeRolePolicyDocument",
                             SEED_TRUST, "Description", long_desc, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "dtab", "AssumeRolePolicyDocument",
                             SEED_TRUST, "Description", "a\tb\nc\xC2\xA1\xC3\xBF", NULL),
                     TG_OK);

    /* Tags are checked by the common helpers; a bad one fails the create. */
    assert_error(fx,
                 fx_call(fx, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", SEED_TRUST,
                         "Tags.member.1.Key", "aws:x", "Tags.member.1.Value", "v", NULL),
                 TG_E_INVALID_INPUT, NULL);
    assert_error(fx, fx_call(fx, "GetRole", "RoleName", "r", NULL), TG_E_NO_SUCH_ENTITY, NULL);
}

static void test_create_boundary(void **state)
{
    struct iam_fx *fx = *state;
    raw_policy(fx, "Exists");
    struct {
        const char *arn;
        enum tg_code code;
        const char *msg;
    } cases[] = {
        {"arn", TG_E_VALIDATION_ERROR, "'permissionsBoundary'"},
        {"not:an:arn:at:all:really", TG_E_INVALID_INPUT,
         "<Message>ARN not:an:arn:at:all:really is not valid.</Message>"},
        {"arn:aws:iam::123:policy/Exists", TG_E_INVALID_INPUT, "is not valid."},
        {"arn:aws:iam::123456789012:role/Exists", TG_E_INVALID_INPUT, "is not valid."},
        {"arn:aws:iam::123456789012:policy/", TG_E_INVALID_INPUT, "is not valid."},
        {"arn:aws:iam::123456789012:policy/a/", TG_E_INVALID_INPUT, "is not valid."},
        {"arn:aws:iam::123456789012:policy/a b", TG_E_INVALID_INPUT, "is not valid."},
        {"arn:aws:s3:::123456789012:policy/Exists", TG_E_INVALID_INPUT, "is not valid."},
        {ARN_PREFIX "policy/Missing", TG_E_NO_SUCH_ENTITY,
         "<Message>Scope ARN: " ARN_PREFIX
         "policy/Missing does not exist or is not attachable.</Message>"},
        {"arn:aws:iam::999999999999:policy/Exists", TG_E_NO_SUCH_ENTITY, "Scope ARN"},
        {"arn:aws:iam::" FX_ACCOUNT ":policy/other/Exists", TG_E_NO_SUCH_ENTITY, "Scope ARN"},
        {"arn:aws:iam::" FX_ACCOUNT ":policy/\xC3\xA9", TG_E_INVALID_INPUT, "is not valid."},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        assert_error(fx,
                     fx_call(fx, "CreateRole", "RoleName", "b", "AssumeRolePolicyDocument",
                             SEED_TRUST, "PermissionsBoundary", cases[i].arn, NULL),
                     cases[i].code, cases[i].msg);
    }
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "b", "AssumeRolePolicyDocument",
                             SEED_TRUST, "PermissionsBoundary", ARN_PREFIX "policy/Exists", NULL),
                     TG_OK);
}

static void test_create_malformed(void **state)
{
    struct iam_fx *fx = *state;
    const char *docs[] = {
        "{",
        "not json",
        "[]",
        /* a trust policy may not name a Resource */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
        "\"Federated\":\"arn:aws:iam::123456789012:oidc-provider/x\"},\"Action\":"
        "\"sts:AssumeRoleWithWebIdentity\",\"Resource\":\"*\"}]}",
        /* nor lack a Principal */
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
        "\"sts:AssumeRoleWithWebIdentity\"}]}",
        IDENTITY_POLICY,
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(docs); i++) {
        assert_error(
            fx,
            fx_call(fx, "CreateRole", "RoleName", "m", "AssumeRolePolicyDocument", docs[i], NULL),
            TG_E_MALFORMED_POLICY_DOCUMENT, NULL);
    }
    assert_error(
        fx, fx_call(fx, "CreateRole", "RoleName", "m", "AssumeRolePolicyDocument", docs[3], NULL),
        TG_E_MALFORMED_POLICY_DOCUMENT, "Resource");
    /* characters outside TAB/LF/CR/U+0020..U+00FF: a ValidationError */
    assert_error(fx,
                 fx_call(fx, "CreateRole", "RoleName", "m", "AssumeRolePolicyDocument",
                         "{\"a\":\"\xE2\x82\xAC\"}", NULL),
                 TG_E_VALIDATION_ERROR, "assumeRolePolicyDocument");
    assert_error(fx,
                 fx_call(fx, "CreateRole", "RoleName", "m", "AssumeRolePolicyDocument", "", NULL),
                 TG_E_VALIDATION_ERROR, "assumeRolePolicyDocument");
    assert_error(fx, fx_call(fx, "GetRole", "RoleName", "m", NULL), TG_E_NO_SUCH_ENTITY, NULL);
}

/* ACLSizePerRole: 2048 characters, whitespace not counted (spec 4.6). */
static void test_trust_size_limit(void **state)
{
    struct iam_fx *fx = *state;
    size_t base = strlen(SEED_TRUST);
    assert_true(base < 2048);
    char *at_limit = trust_sized(2048 - base, "");
    char *over = trust_sized(2049 - base, "");
    char *spaced = trust_sized(2048 - base, "\n    \t  \r\n");

    assert_int_equal(
        fx_call(fx, "CreateRole", "RoleName", "limit", "AssumeRolePolicyDocument", at_limit, NULL),
        TG_OK);
    assert_decoded(fx, "AssumeRolePolicyDocument", at_limit);
    assert_error(
        fx, fx_call(fx, "CreateRole", "RoleName", "over", "AssumeRolePolicyDocument", over, NULL),
        TG_E_LIMIT_EXCEEDED, "<Message>Cannot exceed quota for ACLSizePerRole: 2048");
    assert_int_equal(
        fx_call(fx, "CreateRole", "RoleName", "spaced", "AssumeRolePolicyDocument", spaced, NULL),
        TG_OK);
    /* whitespace kept as given */
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "spaced", NULL), TG_OK);
    assert_decoded(fx, "AssumeRolePolicyDocument", spaced);

    /* the same quota on UpdateAssumeRolePolicy, and the role is unchanged */
    assert_error(
        fx,
        fx_call(fx, "UpdateAssumeRolePolicy", "RoleName", "limit", "PolicyDocument", over, NULL),
        TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for ACLSizePerRole: 2048");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "limit", NULL), TG_OK);
    assert_decoded(fx, "AssumeRolePolicyDocument", at_limit);
    free(at_limit);
    free(over);
    free(spaced);
}

/* RolesPerAccount: the 5001st role is refused. */
static void test_roles_per_account(void **state)
{
    struct iam_fx *fx = *state;
    size_t n = TG_IAM_MAX_ROLES;
    struct tg_store_op *ops = calloc(n, sizeof(*ops));
    char **bufs = calloc(2 * n, sizeof(*bufs));
    assert_non_null(ops);
    assert_non_null(bufs);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "r%05zu", i);
        json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:i,s:[],s:[],s:[],s:I}", "name", name, "path",
                                "/", "role_id", "AROAAAAAAAAAAAAAAAAAA", "trust_policy", SEED_TRUST,
                                "max_session_duration", 3600, "tags", "inline_policies", "attached",
                                "create_date", (json_int_t)0);
        assert_non_null(doc);
        bufs[2 * i] = strdup(name);
        bufs[2 * i + 1] = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(doc);
        struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_ROLE, bufs[2 * i], bufs[2 * i + 1], 0};
        ops[i] = op;
    }
    /* the store takes at most TG_STORE_MAX_OPS writes per commit */
    for (size_t i = 0; i < n; i += TG_STORE_MAX_OPS) {
        size_t k = n - i < TG_STORE_MAX_OPS ? n - i : TG_STORE_MAX_OPS;
        assert_int_equal(tg_store_commit(fx->store, ops + i, k, &fx->err), 0);
    }
    assert_int_equal(fx_reload(fx), 0);
    assert_int_equal(fx->snap->n_roles, n);
    assert_error(fx, create(fx, "one-more"), TG_E_LIMIT_EXCEEDED,
                 "<Message>Cannot exceed quota for RolesPerAccount: 5000</Message>");
    /* an existing name still says so first */
    assert_error(fx, create(fx, "R00001"), TG_E_ENTITY_ALREADY_EXISTS, NULL);
    /* ListRoles pages through all of them in key order */
    assert_int_equal(fx_call(fx, "ListRoles", "MaxItems", "1000", "Marker", "4999", NULL), TG_OK);
    assert_has(fx, "<RoleName>r04999</RoleName>");
    assert_has(fx, "</Roles><IsTruncated>false</IsTruncated>");
    for (size_t i = 0; i < 2 * n; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(ops);
}

static void test_no_such_role(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "exists"), TG_OK);
    const char *tag[] = {"Tags.member.1.Key", "k", "Tags.member.1.Value", "v"};
    struct {
        const char *action;
        const char *p1, *v1, *p2, *v2;
    } calls[] = {
        {"GetRole", NULL, NULL, NULL, NULL},
        {"UpdateRole", "Description", "x", NULL, NULL},
        {"UpdateRoleDescription", "Description", "x", NULL, NULL},
        {"UpdateAssumeRolePolicy", "PolicyDocument", SEED_TRUST, NULL, NULL},
        {"DeleteRole", NULL, NULL, NULL, NULL},
        {"PutRolePolicy", "PolicyName", "p", "PolicyDocument", IDENTITY_POLICY},
        {"GetRolePolicy", "PolicyName", "p", NULL, NULL},
        {"DeleteRolePolicy", "PolicyName", "p", NULL, NULL},
        {"ListRolePolicies", NULL, NULL, NULL, NULL},
        {"TagRole", tag[0], tag[1], tag[2], tag[3]},
        {"UntagRole", "TagKeys.member.1", "k", NULL, NULL},
        {"ListRoleTags", NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(calls); i++) {
        enum tg_code rc;
        if (calls[i].p2 != NULL) {
            rc = fx_call(fx, calls[i].action, "RoleName", "nope", calls[i].p1, calls[i].v1,
                         calls[i].p2, calls[i].v2, NULL);
        } else if (calls[i].p1 != NULL) {
            rc = fx_call(fx, calls[i].action, "RoleName", "nope", calls[i].p1, calls[i].v1, NULL);
        } else {
            rc = fx_call(fx, calls[i].action, "RoleName", "nope", NULL);
        }
        assert_error(fx, rc, TG_E_NO_SUCH_ENTITY,
                     "<Message>The role with name nope cannot be found.</Message>");
        /* every action validates the role name too */
        assert_error(fx, fx_call(fx, calls[i].action, NULL), TG_E_VALIDATION_ERROR,
                     "Value null at 'roleName'");
        assert_error(fx, fx_call(fx, calls[i].action, "RoleName", "a b", NULL),
                     TG_E_VALIDATION_ERROR, "'roleName'");
    }
    /* none of them touched the other role */
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "exists", NULL), TG_OK);
}

/* ---- updates ---- */

static void test_update_role(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "u"), TG_OK);

    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "U", "Description", "first",
                             "MaxSessionDuration", "43200", NULL),
                     TG_OK);
    assert_has(fx, "<UpdateRoleResponse xmlns=\"" TG_NS_IAM "\">");
    assert_empty_elem(fx, "UpdateRoleResult");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "u", NULL), TG_OK);
    assert_has(fx, "<Description>first</Description>");
    assert_has(fx, "<MaxSessionDuration>43200</MaxSessionDuration>");

    /* only the duration: the description stays */
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "u", "MaxSessionDuration", "3600", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "u", NULL), TG_OK);
    assert_has(fx, "<Description>first</Description>");
    assert_has(fx, "<MaxSessionDuration>3600</MaxSessionDuration>");

    /* nothing to change is a success */
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "u", NULL), TG_OK);

    /* out of range: refused, unchanged */
    assert_error(fx, fx_call(fx, "UpdateRole", "RoleName", "u", "MaxSessionDuration", "3599", NULL),
                 TG_E_VALIDATION_ERROR, "Member must have value greater than or equal to 3600");
    assert_error(fx,
                 fx_call(fx, "UpdateRole", "RoleName", "u", "MaxSessionDuration", "43201", NULL),
                 TG_E_VALIDATION_ERROR, "Member must have value less than or equal to 43200");
    assert_error(fx, fx_call(fx, "UpdateRole", "RoleName", "u", "Description", "\x01", NULL),
                 TG_E_VALIDATION_ERROR, "'description'");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "u", NULL), TG_OK);
    assert_has(fx, "<MaxSessionDuration>3600</MaxSessionDuration>");

    /* an empty description removes it */
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "u", "Description", "", NULL), TG_OK);
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "u", NULL), TG_OK);
    assert_lacks(fx, "<Description>");
}

static void test_update_role_description(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "Desc", "AssumeRolePolicyDocument",
                             SEED_TRUST, "Tags.member.1.Key", "k", "Tags.member.1.Value", "v",
                             NULL),
                     TG_OK);
    assert_int_equal(
        fx_call(fx, "UpdateRoleDescription", "RoleName", "desc", "Description", "second", NULL),
        TG_OK);
    /* the result is the updated role */
    assert_has(fx, "<UpdateRoleDescriptionResult><Role><Path>/</Path><Arn>" ARN_PREFIX
                   "role/Desc</Arn><RoleName>Desc</RoleName>");
    assert_has(fx, "</AssumeRolePolicyDocument><Description>second</Description><CreateDate>");
    assert_has(fx, "<Tags><member><Key>k</Key><Value>v</Value></member></Tags>");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "desc", NULL), TG_OK);
    assert_has(fx, "<Description>second</Description>");

    assert_error(fx, fx_call(fx, "UpdateRoleDescription", "RoleName", "desc", NULL),
                 TG_E_VALIDATION_ERROR, "Value null at 'description'");
}

static void test_update_assume_role_policy(void **state)
{
    struct iam_fx *fx = *state;
    static const char other[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
        "\"Federated\":\"arn:aws:iam::123456789012:oidc-provider/gitlab.example.com\"},"
        "\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":{"
        "\"gitlab.example.com:sub\":\"project_path:g/p:ref_type:branch:ref:main\"}}}]}";
    assert_int_equal(create(fx, "t"), TG_OK);
    assert_int_equal(
        fx_call(fx, "UpdateAssumeRolePolicy", "RoleName", "T", "PolicyDocument", other, NULL),
        TG_OK);
    /* no result element */
    assert_has(fx, "<UpdateAssumeRolePolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "t", NULL), TG_OK);
    assert_decoded(fx, "AssumeRolePolicyDocument", other);

    /* bad documents leave it alone */
    assert_error(fx,
                 fx_call(fx, "UpdateAssumeRolePolicy", "RoleName", "t", "PolicyDocument",
                         IDENTITY_POLICY, NULL),
                 TG_E_MALFORMED_POLICY_DOCUMENT, NULL);
    assert_error(
        fx, fx_call(fx, "UpdateAssumeRolePolicy", "RoleName", "t", "PolicyDocument", "{", NULL),
        TG_E_MALFORMED_POLICY_DOCUMENT, NULL);
    assert_error(fx, fx_call(fx, "UpdateAssumeRolePolicy", "RoleName", "t", NULL),
                 TG_E_VALIDATION_ERROR, "Value null at 'policyDocument'");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "t", NULL), TG_OK);
    assert_decoded(fx, "AssumeRolePolicyDocument", other);
}

/* ---- inline policies ---- */

static void test_inline_policies(void **state)
{
    struct iam_fx *fx = *state;
    char want[4096];
    char *enc = url_encode(IDENTITY_POLICY);
    char *enc2 = url_encode(IDENTITY_POLICY2);
    assert_int_equal(create(fx, "Inl"), TG_OK);

    assert_int_equal(fx_call(fx, "ListRolePolicies", "RoleName", "inl", NULL), TG_OK);
    assert_has(fx, "<ListRolePoliciesResult>");
    assert_empty_elem(fx, "PolicyNames");
    assert_has(fx, "<IsTruncated>false</IsTruncated></ListRolePoliciesResult>");

    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "zeta",
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);
    assert_has(fx, "<PutRolePolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "Alpha",
                             "PolicyDocument", IDENTITY_POLICY2, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "alpha",
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);

    /* sorted by name; names are case-sensitive */
    assert_int_equal(fx_call(fx, "ListRolePolicies", "RoleName", "INL", NULL), TG_OK);
    assert_has(fx, "<ListRolePoliciesResult><PolicyNames><member>Alpha</member><member>alpha"
                   "</member><member>zeta</member></PolicyNames><IsTruncated>false</IsTruncated>"
                   "</ListRolePoliciesResult>");

    assert_int_equal(fx_call(fx, "GetRolePolicy", "RoleName", "inl", "PolicyName", "Alpha", NULL),
                     TG_OK);
    snprintf(want, sizeof(want),
             "<GetRolePolicyResult><RoleName>Inl</RoleName><PolicyName>Alpha</PolicyName>"
             "<PolicyDocument>%s</PolicyDocument></GetRolePolicyResult>",
             enc2);
    assert_has(fx, want);
    assert_decoded(fx, "PolicyDocument", IDENTITY_POLICY2);

    /* put replaces the same name */
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "Alpha",
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "GetRolePolicy", "RoleName", "inl", "PolicyName", "Alpha", NULL),
                     TG_OK);
    snprintf(want, sizeof(want), "<PolicyDocument>%s</PolicyDocument>", enc);
    assert_has(fx, want);
    assert_int_equal(fx_call(fx, "ListRolePolicies", "RoleName", "inl", NULL), TG_OK);
    assert_has(fx, "<PolicyNames><member>Alpha</member><member>alpha</member><member>zeta"
                   "</member></PolicyNames>");

    /* errors */
    assert_error(fx, fx_call(fx, "GetRolePolicy", "RoleName", "inl", "PolicyName", "ZETA", NULL),
                 TG_E_NO_SUCH_ENTITY,
                 "<Message>The role policy with name ZETA cannot be found.</Message>");
    assert_error(fx, fx_call(fx, "DeleteRolePolicy", "RoleName", "inl", "PolicyName", "nope", NULL),
                 TG_E_NO_SUCH_ENTITY, "The role policy with name nope cannot be found.");
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "p",
                         "PolicyDocument", SEED_TRUST, NULL),
                 TG_E_MALFORMED_POLICY_DOCUMENT, NULL);
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "p",
                         "PolicyDocument", "{\"Version\":", NULL),
                 TG_E_MALFORMED_POLICY_DOCUMENT, NULL);
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "bad name",
                         "PolicyDocument", IDENTITY_POLICY, NULL),
                 TG_E_VALIDATION_ERROR,
                 "Value 'bad name' at 'policyName' failed to satisfy constraint: Member must "
                 "satisfy regular expression pattern: [\\w+=,.@-]+");
    char long_name[130];
    memset(long_name, 'p', 129);
    long_name[129] = '\0';
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", long_name,
                         "PolicyDocument", IDENTITY_POLICY, NULL),
                 TG_E_VALIDATION_ERROR,
                 "'policyName' failed to satisfy constraint: Member must have length less than "
                 "or equal to 128");
    long_name[128] = '\0';
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", long_name,
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);
    assert_error(fx, fx_call(fx, "PutRolePolicy", "RoleName", "inl", "PolicyName", "p", NULL),
                 TG_E_VALIDATION_ERROR, "Value null at 'policyDocument'");
    assert_error(fx, fx_call(fx, "GetRolePolicy", "RoleName", "inl", NULL), TG_E_VALIDATION_ERROR,
                 "Value null at 'policyName'");

    /* DeleteRole refuses while inline policies remain */
    assert_error(fx, fx_call(fx, "DeleteRole", "RoleName", "inl", NULL), TG_E_DELETE_CONFLICT,
                 "<Message>Cannot delete entity, must delete policies first.</Message>");
    const char *names[] = {"Alpha", "alpha", "zeta", long_name};
    for (size_t i = 0; i < TG_ARRAY_LEN(names); i++) {
        assert_int_equal(
            fx_call(fx, "DeleteRolePolicy", "RoleName", "inl", "PolicyName", names[i], NULL),
            TG_OK);
        assert_has(fx, "<DeleteRolePolicyResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    }
    assert_error(fx, fx_call(fx, "GetRolePolicy", "RoleName", "inl", "PolicyName", "zeta", NULL),
                 TG_E_NO_SUCH_ENTITY, NULL);
    assert_int_equal(fx_call(fx, "DeleteRole", "RoleName", "inl", NULL), TG_OK);
    free(enc);
    free(enc2);
}

/* The inline policies of a role hold at most 10,240 characters together,
 * whitespace not counted (spec 4.6). */
static void test_inline_aggregate(void **state)
{
    struct iam_fx *fx = *state;
    char *half = identity_sized(5120);
    char *half_plus = identity_sized(5121);
    char *small = identity_sized(200);
    assert_int_equal(create(fx, "Agg"), TG_OK);

    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "a",
                             "PolicyDocument", half, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "b",
                             "PolicyDocument", half, NULL),
                     TG_OK); /* exactly 10,240 */
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "c",
                         "PolicyDocument", small, NULL),
                 TG_E_LIMIT_EXCEEDED,
                 "<Message>Maximum policy size of 10240 bytes exceeded for role Agg</Message>");
    /* replacing b with the same size is fine; one more character is not */
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "b",
                             "PolicyDocument", half, NULL),
                     TG_OK);
    assert_error(fx,
                 fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "b",
                         "PolicyDocument", half_plus, NULL),
                 TG_E_LIMIT_EXCEEDED, "Maximum policy size of 10240 bytes exceeded for role Agg");
    /* whitespace is not counted */
    size_t n = strlen(half);
    char *spaced = malloc(n + 64);
    assert_non_null(spaced);
    snprintf(spaced, n + 64, "{ \n\t %s", half + 1);
    assert_int_equal(tg_policy_size((const uint8_t *)spaced, strlen(spaced)), 5120);
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "b",
                             "PolicyDocument", spaced, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "GetRolePolicy", "RoleName", "agg", "PolicyName", "b", NULL),
                     TG_OK);
    assert_decoded(fx, "PolicyDocument", spaced);
    /* after a delete there is room again */
    assert_int_equal(fx_call(fx, "DeleteRolePolicy", "RoleName", "agg", "PolicyName", "a", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "agg", "PolicyName", "c",
                             "PolicyDocument", small, NULL),
                     TG_OK);
    free(spaced);
    free(half);
    free(half_plus);
    free(small);
}

static void test_list_role_policies_paging(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "pg"), TG_OK);
    const char *names[] = {"c", "a", "b"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "pg", "PolicyName", names[i],
                                 "PolicyDocument", IDENTITY_POLICY, NULL),
                         TG_OK);
    }
    assert_int_equal(fx_call(fx, "ListRolePolicies", "RoleName", "pg", "MaxItems", "2", NULL),
                     TG_OK);
    assert_has(fx, "<PolicyNames><member>a</member><member>b</member></PolicyNames>"
                   "<IsTruncated>true</IsTruncated><Marker>");
    char *marker = extract(fx, "<Marker>", "</Marker>");
    assert_int_equal(
        fx_call(fx, "ListRolePolicies", "RoleName", "pg", "MaxItems", "2", "Marker", marker, NULL),
        TG_OK);
    assert_has(fx, "<PolicyNames><member>c</member></PolicyNames><IsTruncated>false"
                   "</IsTruncated></ListRolePoliciesResult>");
    assert_lacks(fx, "<Marker>");
    free(marker);
    assert_error(fx, fx_call(fx, "ListRolePolicies", "RoleName", "pg", "MaxItems", "0", NULL),
                 TG_E_VALIDATION_ERROR, NULL);
    assert_error(fx, fx_call(fx, "ListRolePolicies", "RoleName", "pg", "Marker", "junk", NULL),
                 TG_E_VALIDATION_ERROR, NULL);
}

/* A role with an attached managed policy cannot be deleted. The
 * attachment is written as AttachRolePolicy (iam_policy.c) writes it. */
static void test_delete_conflict_attached(void **state)
{
    struct iam_fx *fx = *state;
    raw_policy(fx, "Managed");
    assert_int_equal(create(fx, "Att"), TG_OK);
    const struct tg_snap_role *r = tg_snapshot_role(fx->snap, tg_cur_str("att"));
    assert_non_null(r);
    json_t *copy = json_deep_copy(r->e.doc);
    assert_non_null(copy);
    assert_int_equal(json_array_append_new(json_object_get(copy, "attached"),
                                           json_string(ARN_PREFIX "policy/Managed")),
                     0);
    char *text = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    raw_put(fx, TG_ENTITY_ROLE, "att", text, r->e.version);
    free(text);
    json_decref(copy);

    assert_error(fx, fx_call(fx, "DeleteRole", "RoleName", "att", NULL), TG_E_DELETE_CONFLICT,
                 "<Message>Cannot delete entity, must detach all policies first.</Message>");
    /* with inline policies as well, the attached ones are named first */
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "att", "PolicyName", "p",
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);
    assert_error(fx, fx_call(fx, "DeleteRole", "RoleName", "att", NULL), TG_E_DELETE_CONFLICT,
                 "must detach all policies first.");
    /* the other actions keep the attachments */
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "att", "Description", "d", NULL), TG_OK);
    r = tg_snapshot_role(fx->snap, tg_cur_str("att"));
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r->e.doc, "attached")), 1);
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "att", NULL), TG_OK);
}

/* The same with the real managed-policy actions (iam_policy.c): role
 * updates keep the attachments, and the role goes once they are detached. */
static void test_attached_round_trip(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(
        fx_call(fx, "CreatePolicy", "PolicyName", "Mgd", "PolicyDocument", IDENTITY_POLICY, NULL),
        TG_OK);
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "Rt", "AssumeRolePolicyDocument",
                             SEED_TRUST, "PermissionsBoundary", ARN_PREFIX "policy/Mgd", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "AttachRolePolicy", "RoleName", "rt", "PolicyArn",
                             ARN_PREFIX "policy/Mgd", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "UpdateRole", "RoleName", "rt", "Description", "x", NULL), TG_OK);
    assert_int_equal(fx_call(fx, "TagRole", "RoleName", "rt", "Tags.member.1.Key", "k",
                             "Tags.member.1.Value", "v", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "PutRolePolicy", "RoleName", "rt", "PolicyName", "i",
                             "PolicyDocument", IDENTITY_POLICY, NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "ListAttachedRolePolicies", "RoleName", "rt", NULL), TG_OK);
    assert_has(fx, "<PolicyArn>" ARN_PREFIX "policy/Mgd</PolicyArn>");
    assert_error(fx, fx_call(fx, "DeleteRole", "RoleName", "rt", NULL), TG_E_DELETE_CONFLICT,
                 "Cannot delete entity, must detach all policies first.");
    assert_int_equal(fx_call(fx, "DetachRolePolicy", "RoleName", "rt", "PolicyArn",
                             ARN_PREFIX "policy/Mgd", NULL),
                     TG_OK);
    assert_error(fx, fx_call(fx, "DeleteRole", "RoleName", "rt", NULL), TG_E_DELETE_CONFLICT,
                 "Cannot delete entity, must delete policies first.");
    assert_int_equal(fx_call(fx, "DeleteRolePolicy", "RoleName", "rt", "PolicyName", "i", NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "DeleteRole", "RoleName", "rt", NULL), TG_OK);
    assert_error(fx, fx_call(fx, "GetRole", "RoleName", "rt", NULL), TG_E_NO_SUCH_ENTITY, NULL);
}

/* ---- tags ---- */

static void test_tags(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "tg", "AssumeRolePolicyDocument",
                             SEED_TRUST, "Tags.member.1.Key", "b", "Tags.member.1.Value", "2",
                             NULL),
                     TG_OK);
    assert_int_equal(fx_call(fx, "TagRole", "RoleName", "TG", "Tags.member.1.Key", "c",
                             "Tags.member.1.Value", "3", "Tags.member.2.Key", "a",
                             "Tags.member.2.Value", "1", "Tags.member.3.Key", "b",
                             "Tags.member.3.Value", "two", NULL),
                     TG_OK);
    assert_has(fx, "<TagRoleResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "tg", NULL), TG_OK);
    assert_has(fx, "<ListRoleTagsResult><Tags><member><Key>a</Key><Value>1</Value></member>"
                   "<member><Key>b</Key><Value>two</Value></member><member><Key>c</Key>"
                   "<Value>3</Value></member></Tags><IsTruncated>false</IsTruncated>"
                   "</ListRoleTagsResult>");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "tg", NULL), TG_OK);
    assert_has(fx, "<Tags><member><Key>a</Key><Value>1</Value></member><member><Key>b</Key>"
                   "<Value>two</Value></member><member><Key>c</Key><Value>3</Value></member>"
                   "</Tags>");

    /* paging */
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "tg", "MaxItems", "2", NULL), TG_OK);
    assert_has(fx, "<Tags><member><Key>a</Key><Value>1</Value></member><member><Key>b</Key>"
                   "<Value>two</Value></member></Tags><IsTruncated>true</IsTruncated><Marker>");
    char *marker = extract(fx, "<Marker>", "</Marker>");
    assert_int_equal(
        fx_call(fx, "ListRoleTags", "RoleName", "tg", "MaxItems", "2", "Marker", marker, NULL),
        TG_OK);
    assert_has(fx, "<Tags><member><Key>c</Key><Value>3</Value></member></Tags>"
                   "<IsTruncated>false</IsTruncated>");
    free(marker);

    /* untag: absent keys are fine */
    assert_int_equal(fx_call(fx, "UntagRole", "RoleName", "tg", "TagKeys.member.1", "a",
                             "TagKeys.member.2", "zz", "TagKeys.member.3", "c", NULL),
                     TG_OK);
    assert_has(fx, "<UntagRoleResponse xmlns=\"" TG_NS_IAM "\"><ResponseMetadata>");
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "tg", NULL), TG_OK);
    assert_has(fx, "<Tags><member><Key>b</Key><Value>two</Value></member></Tags>");
    /* Keys the role does not have: success, and nothing is written. */
    int64_t generation = fx->generation;
    assert_int_equal(fx_call(fx, "UntagRole", "RoleName", "tg", "TagKeys.member.1", "absent", NULL),
                     TG_OK);
    assert_int_equal(fx->generation, generation);
    assert_int_equal(fx_call(fx, "UntagRole", "RoleName", "tg", "TagKeys.member.1", "b", NULL),
                     TG_OK);
    assert_true(fx->generation > generation);
    /* no tags: ListRoleTags still sends Tags, GetRole does not */
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "tg", NULL), TG_OK);
    assert_empty_elem(fx, "Tags");
    assert_has(fx, "<IsTruncated>false</IsTruncated>");
    assert_int_equal(fx_call(fx, "GetRole", "RoleName", "tg", NULL), TG_OK);
    assert_lacks(fx, "<Tags");

    /* errors */
    assert_error(fx, fx_call(fx, "TagRole", "RoleName", "tg", NULL), TG_E_VALIDATION_ERROR,
                 "Value null at 'tags'");
    assert_error(fx, fx_call(fx, "UntagRole", "RoleName", "tg", NULL), TG_E_VALIDATION_ERROR,
                 "Value null at 'tagKeys'");
    assert_error(fx,
                 fx_call(fx, "TagRole", "RoleName", "tg", "Tags.member.1.Key", "aws:k",
                         "Tags.member.1.Value", "v", NULL),
                 TG_E_INVALID_INPUT, NULL);
    assert_error(fx, fx_call(fx, "ListRoleTags", "RoleName", "tg", "MaxItems", "1001", NULL),
                 TG_E_VALIDATION_ERROR, NULL);
}

/* At most 50 tags on a role, counted after the merge. */
static void test_tags_limit(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "many"), TG_OK);
    char *form = malloc(1 << 16);
    assert_non_null(form);
    size_t o = (size_t)snprintf(form, 1 << 16, "RoleName=many");
    for (int i = 1; i <= 50; i++) {
        o += (size_t)snprintf(form + o, (1 << 16) - o,
                              "&Tags.member.%d.Key=k%02d&Tags.member.%d.Value=v", i, i, i);
    }
    assert_int_equal(fx_call_form(fx, "TagRole", form), TG_OK);
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "many", "MaxItems", "1000", NULL),
                     TG_OK);
    assert_has(fx, "<member><Key>k50</Key><Value>v</Value></member></Tags>");
    /* overwriting an existing key keeps 50 */
    assert_int_equal(fx_call(fx, "TagRole", "RoleName", "many", "Tags.member.1.Key", "k01",
                             "Tags.member.1.Value", "new", NULL),
                     TG_OK);
    assert_error(fx,
                 fx_call(fx, "TagRole", "RoleName", "many", "Tags.member.1.Key", "k51",
                         "Tags.member.1.Value", "v", NULL),
                 TG_E_LIMIT_EXCEEDED, NULL);
    assert_int_equal(fx_call(fx, "ListRoleTags", "RoleName", "many", NULL), TG_OK);
    assert_has(fx, "<Key>k01</Key><Value>new</Value>");
    assert_lacks(fx, "k51");
    free(form);
}

/* ---- ListRoles ---- */

static void test_list_roles_paging(void **state)
{
    struct iam_fx *fx = *state;
    assert_int_equal(create(fx, "b"), TG_OK);
    assert_int_equal(create(fx, "A"), TG_OK);
    assert_int_equal(fx_call(fx, "CreateRole", "RoleName", "d", "Path", "/x/y/",
                             "AssumeRolePolicyDocument", SEED_TRUST, NULL),
                     TG_OK);
    assert_int_equal(create(fx, "c"), TG_OK);

    /* key order: the lower-case names */
    assert_int_equal(fx_call(fx, "ListRoles", "MaxItems", "2", NULL), TG_OK);
    char *roles = extract(fx, "<Roles>", "</Roles>");
    const char *a = strstr(roles, "<RoleName>A</RoleName>");
    const char *b = strstr(roles, "<RoleName>b</RoleName>");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    assert_null(strstr(roles, "<RoleName>c</RoleName>"));
    free(roles);
    assert_has(fx, "</Roles><IsTruncated>true</IsTruncated><Marker>");
    char *marker = extract(fx, "<Marker>", "</Marker>");
    assert_int_equal(fx_call(fx, "ListRoles", "MaxItems", "2", "Marker", marker, NULL), TG_OK);
    roles = extract(fx, "<Roles>", "</Roles>");
    const char *c = strstr(roles, "<RoleName>c</RoleName>");
    const char *d = strstr(roles, "<RoleName>d</RoleName>");
    assert_non_null(c);
    assert_non_null(d);
    assert_true(c < d);
    assert_non_null(strstr(roles, "<Path>/x/y/</Path><Arn>" ARN_PREFIX "role/x/y/d</Arn>"));
    free(roles);
    assert_has(fx, "</Roles><IsTruncated>false</IsTruncated></ListRolesResult>");
    free(marker);

    /* PathPrefix */
    const char *prefixes[] = {"/x/", "/x", "/x/y/"};
    for (size_t i = 0; i < TG_ARRAY_LEN(prefixes); i++) {
        assert_int_equal(fx_call(fx, "ListRoles", "PathPrefix", prefixes[i], NULL), TG_OK);
        roles = extract(fx, "<Roles>", "</Roles>");
        assert_non_null(strstr(roles, "<RoleName>d</RoleName>"));
        assert_null(strstr(roles, "<RoleName>c</RoleName>"));
        free(roles);
    }
    assert_int_equal(fx_call(fx, "ListRoles", "PathPrefix", "/", NULL), TG_OK);
    assert_has(fx, "<RoleName>c</RoleName>");
    assert_has(fx, "<RoleName>d</RoleName>");
    assert_int_equal(fx_call(fx, "ListRoles", "PathPrefix", "/nothing/", NULL), TG_OK);
    assert_empty_elem(fx, "Roles");
    assert_has(fx, "<IsTruncated>false</IsTruncated>");

    /* bad parameters */
    const char *bad[] = {"x/", "", "/a b", "/\xC3\xA9"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_error(fx, fx_call(fx, "ListRoles", "PathPrefix", bad[i], NULL),
                     TG_E_VALIDATION_ERROR, "'pathPrefix'");
    }
    assert_error(fx, fx_call(fx, "ListRoles", "MaxItems", "0", NULL), TG_E_VALIDATION_ERROR, NULL);
    assert_error(fx, fx_call(fx, "ListRoles", "MaxItems", "1001", NULL), TG_E_VALIDATION_ERROR,
                 NULL);
    assert_error(fx, fx_call(fx, "ListRoles", "Marker", "junk", NULL), TG_E_VALIDATION_ERROR, NULL);
}

static void test_action_table(void **state)
{
    (void)state;
    /* Every read has an <ActionResult>; of the writes, the ones that
     * return the role (bc-iam; UpdateRole's is empty). */
    static const struct fx_action want[] = {
        {"CreateRole", true, true},
        {"GetRole", true, false},
        {"ListRoles", true, false},
        {"UpdateRole", true, true},
        {"UpdateRoleDescription", true, true},
        {"UpdateAssumeRolePolicy", false, true},
        {"DeleteRole", false, true},
        {"PutRolePolicy", false, true},
        {"GetRolePolicy", true, false},
        {"ListRolePolicies", true, false},
        {"DeleteRolePolicy", false, true},
        {"TagRole", false, true},
        {"UntagRole", false, true},
        {"ListRoleTags", true, false},
    };
    fx_check_actions(want, TG_ARRAY_LEN(want), tg_iam_role_actions_n);
    assert_null(tg_iam_action_find(tg_cur_str("createrole")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_create_get_seed),
        FX_TEST(test_create_all_members),
        FX_TEST(test_create_exists),
        FX_TEST(test_create_validation),
        FX_TEST(test_create_boundary),
        FX_TEST(test_create_malformed),
        FX_TEST(test_trust_size_limit),
        FX_TEST(test_roles_per_account),
        FX_TEST(test_no_such_role),
        FX_TEST(test_update_role),
        FX_TEST(test_update_role_description),
        FX_TEST(test_update_assume_role_policy),
        FX_TEST(test_inline_policies),
        FX_TEST(test_inline_aggregate),
        FX_TEST(test_list_role_policies_paging),
        FX_TEST(test_delete_conflict_attached),
        FX_TEST(test_attached_round_trip),
        FX_TEST(test_tags),
        FX_TEST(test_tags_limit),
        FX_TEST(test_list_roles_paging),
        cmocka_unit_test(test_action_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
