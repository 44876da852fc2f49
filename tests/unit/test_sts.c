/*
 * Unit tests of the sts module: AssumeRoleWithWebIdentity over a real store
 * and snapshot (providers and roles made by the real IAM actions), tokens
 * signed here with OpenSSL (independently of the jose module that verifies
 * them), a real key ring, and GetCallerIdentity's XML.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "creds/creds.h"
#include "iam_fixture.h"
#include "sts/sts.h"

#define ISS "https://token.actions.githubusercontent.com"
#define PROVIDER_ARN "arn:aws:iam::" FX_ACCOUNT ":oidc-provider/token.actions.githubusercontent.com"
#define ROLE_ARN "arn:aws:iam::" FX_ACCOUNT ":role/deploy"
#define NOW 1767225600 /* fx->now_ms / 1000 */

static const char trust[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
    "\"Federated\":\"" PROVIDER_ARN "\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","
    "\"Condition\":{\"StringEquals\":{\"token.actions.githubusercontent.com:aud\":"
    "\"sts.amazonaws.com\"},\"StringLike\":{\"token.actions.githubusercontent.com:sub\":"
    "\"repo:acme/app:*\"}}}]}";

/* A trust policy on a claim AWS does not carry into the context. */
/* The repository claim decides; sub is scoped to the organisation only, as
 * the identity-provider guard wants some sub condition (spec 3.3). */
static const char trust_repository[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
    "\"Federated\":\"" PROVIDER_ARN "\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\","
    "\"Condition\":{\"StringEquals\":{\"token.actions.githubusercontent.com:repository\":"
    "\"acme/app\",\"token.actions.githubusercontent.com:aud\":\"sts.amazonaws.com\"},"
    "\"StringLike\":{\"token.actions.githubusercontent.com:sub\":\"repo:acme/*\"}}}]}";

struct sts_fx {
    struct iam_fx fx;
    EVP_PKEY *key;
    struct tg_jose_keyset *ks;
    struct tg_creds_keyring ring;
    uint8_t master[32];
    struct tg_buf xml;
    struct tg_error err;
    json_t *decision;
};

static void b64url(struct tg_buf *out, const void *p, size_t n)
{
    assert_int_equal(tg_base64url_encode(out, p, n), 0);
}

static char *jwk_of(EVP_PKEY *k, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
    uint8_t nb[512], eb[8];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    struct tg_buf bn, be, out;
    tg_buf_init(&bn, 1024);
    tg_buf_init(&be, 64);
    tg_buf_init(&out, 4096);
    b64url(&bn, nb, (size_t)nl);
    b64url(&be, eb, (size_t)el);
    assert_int_equal(tg_buf_appendf(&out,
                                    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\","
                                    "\"alg\":\"RS256\",\"n\":\"%.*s\",\"e\":\"%.*s\"}]}",
                                    kid, (int)bn.len, (char *)bn.ptr, (int)be.len, (char *)be.ptr),
                     0);
    BN_free(n);
    BN_free(e);
    tg_buf_free(&bn);
    tg_buf_free(&be);
    return tg_buf_steal(&out);
}

/* header.payload.signature with RS256 over the given JSON texts. */
static char *mint_raw(EVP_PKEY *k, const char *header, const char *payload)
{
    struct tg_buf t;
    tg_buf_init(&t, 1 << 16);
    b64url(&t, header, strlen(header));
    assert_int_equal(tg_buf_append_byte(&t, '.'), 0);
    b64url(&t, payload, strlen(payload));
    uint8_t sig[512];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &sig_len, t.ptr, t.len), 1);
    EVP_MD_CTX_free(md);
    assert_int_equal(tg_buf_append_byte(&t, '.'), 0);
    b64url(&t, sig, sig_len);
    return tg_buf_steal(&t);
}

/* GitHub-shaped claims; extra is inserted as more members (may be ""). */
static char *mint(struct sts_fx *f, const char *sub, const char *aud, int64_t exp,
                  const char *extra)
{
    char payload[2048];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"exp\":%lld,\"iat\":%lld,"
             "\"repository\":\"acme/app\",\"run_attempt\":\"1\"%s}",
             ISS, aud, sub, (long long)exp, (long long)(NOW - 10), extra);
    return mint_raw(f->key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", payload);
}

static int setup(void **state)
{
    struct sts_fx *f = calloc(1, sizeof(*f));
    assert_int_equal(fx_setup(&f->fx), 0);
    assert_int_equal(fx_call(&f->fx, "CreateOpenIDConnectProvider", "Url", ISS,
                             "ClientIDList.member.1", "sts.amazonaws.com", NULL),
                     TG_OK);
    assert_int_equal(fx_call(&f->fx, "CreateRole", "RoleName", "deploy", "AssumeRolePolicyDocument",
                             trust, "MaxSessionDuration", "7200", NULL),
                     TG_OK);
    assert_int_equal(fx_call(&f->fx, "CreateRole", "RoleName", "by-repository",
                             "AssumeRolePolicyDocument", trust_repository, NULL),
                     TG_OK);
    f->key = EVP_RSA_gen(2048);
    assert_non_null(f->key);
    char *jwks = jwk_of(f->key, "k1");
    assert_int_equal(
        tg_jose_keyset_parse((const uint8_t *)jwks, strlen(jwks), &f->ks, NULL, &f->err), 0);
    free(jwks);
    memset(f->master, 7, sizeof(f->master));
    char *doc = NULL;
    assert_int_equal(tg_creds_keyring_rotate(f->master, tg_cur_make("", 0), f->fx.now_ms, fx_rand,
                                             &f->fx.rng, &doc, &f->err),
                     0);
    assert_int_equal(tg_creds_keyring_load(f->master, tg_cur_str(doc), &f->ring, &f->err), 0);
    free(doc);
    tg_buf_init(&f->xml, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct sts_fx *f = *state;
    fx_teardown(&f->fx);
    EVP_PKEY_free(f->key);
    tg_jose_keyset_release(f->ks);
    tg_creds_keyring_wipe(&f->ring);
    tg_buf_free(&f->xml);
    json_decref(f->decision);
    free(f);
    return 0;
}

/* Runs both phases as the server does, with extra (may be NULL) appended
 * to the form as it is (already URL-encoded); returns the error code. */
static enum tg_code awrwi_ex(struct sts_fx *f, const char *role_arn, const char *session,
                             const char *token, const char *duration, const char *extra)
{
    struct tg_buf form;
    tg_buf_init(&form, 1 << 17);
    int ok = tg_buf_append_str(&form, "Action=AssumeRoleWithWebIdentity&RoleArn=");
    ok |= tg_url_encode(&form, tg_cur_str(role_arn));
    ok |= tg_buf_append_str(&form, "&RoleSessionName=");
    ok |= tg_url_encode(&form, tg_cur_str(session));
    ok |= tg_buf_append_str(&form, "&WebIdentityToken=");
    ok |= tg_url_encode(&form, tg_cur_str(token));
    if (duration != NULL) {
        ok |= tg_buf_append_str(&form, "&DurationSeconds=");
        ok |= tg_buf_append_str(&form, duration);
    }
    if (extra != NULL) {
        ok |= tg_buf_append_str(&form, "&");
        ok |= tg_buf_append_str(&form, extra);
    }
    assert_int_equal(ok, 0);
    struct tg_form in;
    tg_form_init(&in);
    if (tg_form_parse(&in, form.ptr, form.len, &f->err) < 0) {
        fail_msg("form: %s", f->err.message);
    }

    struct tg_sts_ctx ctx = {f->fx.snap, &f->ring, NOW, fx_rand, &f->fx.rng};
    struct tg_sts_awrwi st;
    struct tg_xml x;
    tg_buf_reset(&f->xml);
    tg_xml_init(&x, &f->xml);
    tg_error_clear(&f->err);
    int rc = tg_sts_awrwi_begin(&ctx, &in, &st, &f->err);
    if (rc == 0) {
        assert_string_equal(st.provider->arn, PROVIDER_ARN);
        rc = tg_sts_awrwi_finish(&ctx, &st, f->ks, &x, &f->err);
    }
    json_decref(f->decision);
    /* The decision object must be JSON: what the audit log will hold. */
    struct tg_cur d = tg_sts_awrwi_decision(&st);
    json_error_t jerr;
    f->decision = json_loadb((const char *)d.ptr, d.len, JSON_REJECT_DUPLICATES, &jerr);
    if (f->decision == NULL || !json_is_object(f->decision)) {
        fail_msg("decision is not a JSON object: %s: %.*s", jerr.text, (int)d.len,
                 (const char *)d.ptr);
    }
    tg_sts_awrwi_free(&st);
    tg_form_free(&in);
    tg_buf_free(&form);
    assert_int_equal(tg_buf_nul(&f->xml), 0);
    return rc == 0 ? TG_OK : f->err.code;
}

static enum tg_code awrwi(struct sts_fx *f, const char *role_arn, const char *session,
                          const char *token, const char *duration)
{
    return awrwi_ex(f, role_arn, session, token, duration, NULL);
}

static const char *xml(const struct sts_fx *f)
{
    return f->xml.ptr ? (const char *)f->xml.ptr : "";
}

static void assert_has_text(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
    }
}

/* The text between <tag> and </tag>. */
static void element(const char *doc, const char *tag, char *out, size_t cap)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(doc, open);
    assert_non_null(a);
    a += strlen(open);
    const char *b = strstr(a, close);
    assert_non_null(b);
    assert_true((size_t)(b - a) < cap);
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
}

static void test_success_and_session(void **state)
{
    struct sts_fx *f = *state;
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "gha-run-1", tok, NULL), TG_OK);
    free(tok);
    const char *d = xml(f);
    assert_has_text(d, "<SubjectFromWebIdentityToken>repo:acme/app:ref:refs/heads/main"
                       "</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience>");
    assert_has_text(d, "<Arn>arn:aws:sts::" FX_ACCOUNT ":assumed-role/deploy/gha-run-1</Arn>");
    assert_has_text(d, "<Provider>" PROVIDER_ARN "</Provider>");
    assert_null(strstr(d, "PackedPolicySize"));
    char akid[64], secret[64], token[4096], exp[64], role_id[128];
    element(d, "AccessKeyId", akid, sizeof(akid));
    element(d, "SecretAccessKey", secret, sizeof(secret));
    element(d, "SessionToken", token, sizeof(token));
    element(d, "Expiration", exp, sizeof(exp));
    element(d, "AssumedRoleId", role_id, sizeof(role_id));
    assert_int_equal(strlen(akid), 20);
    assert_memory_equal(akid, "ASIA", 4);
    assert_int_equal(strlen(secret), 40);
    assert_string_equal(exp, "2026-01-01T01:00:00Z"); /* default 3600 s */
    assert_memory_equal(role_id, "AROA", 4);
    assert_has_text(role_id, ":gha-run-1");

    /* the SessionToken opens with the ring and carries the session */
    struct tg_creds_session s;
    assert_int_equal(tg_creds_session_open(&f->ring, tg_cur_str(token), &s), 0);
    assert_string_equal(s.access_key_id, akid);
    assert_string_equal(s.secret, secret);
    assert_string_equal(s.role_name, "deploy");
    assert_string_equal(s.session_name, "gha-run-1");
    assert_string_equal(s.account_id, FX_ACCOUNT);
    assert_string_equal(s.provider_arn, PROVIDER_ARN);
    assert_string_equal(s.subject, "repo:acme/app:ref:refs/heads/main");
    assert_string_equal(s.audience, "sts.amazonaws.com"); /* carried, spec 3.1 */
    assert_int_equal(s.expires - s.issued, 3600);

    /* GetCallerIdentity's elements for that session */
    struct tg_buf b;
    tg_buf_init(&b, 4096);
    struct tg_xml x;
    tg_xml_init(&x, &b);
    tg_sts_caller_identity_session(&s, &x);
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    char want[512];
    snprintf(want, sizeof(want),
             "<UserId>%s</UserId><Account>" FX_ACCOUNT "</Account><Arn>arn:aws:sts::" FX_ACCOUNT
             ":assumed-role/deploy/gha-run-1</Arn>",
             role_id);
    assert_string_equal((const char *)b.ptr, want);
    tg_buf_free(&b);
    tg_wipe(&s, sizeof(s));

    /* a longer session, within the role's MaxSessionDuration of 7200 */
    tok = mint(f, "repo:acme/app:pull_request", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "s2", tok, "7200"), TG_OK);
    element(xml(f), "Expiration", exp, sizeof(exp));
    assert_string_equal(exp, "2026-01-01T02:00:00Z");
    free(tok);
}

static void test_trust_policy_denials(void **state)
{
    struct sts_fx *f = *state;
    const char *subs[] = {"repo:acme/app-evil:ref:refs/heads/main", "repo:other/app:pull_request",
                          "repo:acme/ap"};
    for (size_t i = 0; i < 3; i++) {
        char *tok = mint(f, subs[i], "sts.amazonaws.com", NOW + 300, "");
        assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_ACCESS_DENIED);
        assert_string_equal(f->err.message,
                            "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        /* the decision trace says which condition failed, with the values */
        json_t *tp = json_object_get(f->decision, "trust_policy");
        assert_string_equal(json_string_value(json_object_get(tp, "decision")), "implicitDeny");
        char *dump = json_dumps(tp, JSON_COMPACT);
        assert_has_text(dump, subs[i]);
        assert_has_text(dump, "repo:acme/app:*");
        free(dump);
        assert_null(strstr(xml(f), "Credentials"));
        free(tok);
    }
    /* a role that does not exist is an authorization failure (spec 1.2) */
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, "arn:aws:iam::" FX_ACCOUNT ":role/nope", "s1", tok, NULL),
                     TG_E_ACCESS_DENIED);
    assert_int_equal(awrwi(f, "arn:aws:iam::111111111111:role/deploy", "s1", tok, NULL),
                     TG_E_ACCESS_DENIED);
    free(tok);
}

static void test_claims(void **state)
{
    struct sts_fx *f = *state;
    const char *sub = "repo:acme/app:ref:refs/heads/main";
    char *tok = mint(f, sub, "sts.amazon.com", NOW + 300, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(f->err.message, "Incorrect token audience");
    free(tok);

    /* aud as an array: any element may match */
    char payload[1024];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"sts.amazonaws.com\"],\"sub\":\"%s\","
             "\"exp\":%d}",
             sub, NOW + 60);
    tok = mint_raw(f->key, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_OK);
    free(tok);
    snprintf(payload, sizeof(payload), "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"exp\":%d}", sub,
             NOW + 60);
    tok = mint_raw(f->key, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(f->err.message, "Missing a required claim: aud");
    free(tok);

    /* exp: 5 minutes of skew, then ExpiredTokenException with AWS's text */
    tok = mint(f, sub, "sts.amazonaws.com", NOW - 299, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_OK);
    free(tok);
    tok = mint(f, sub, "sts.amazonaws.com", NOW - 301, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_EXPIRED_TOKEN_EXCEPTION);
    char want[160];
    snprintf(want, sizeof(want),
             "Token expired: current date/time %d must be before the expiration date/time %d", NOW,
             NOW - 301);
    assert_string_equal(f->err.message, want);
    free(tok);

    /* nbf in the future; a time claim that is not an integer */
    tok = mint(f, sub, "sts.amazonaws.com", NOW + 3000, ",\"nbf\":1767226000");
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    free(tok);
    tok = mint(f, sub, "sts.amazonaws.com", NOW + 3000, ",\"nbf\":1767225000.5");
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    free(tok);
}

static void test_token_and_provider_errors(void **state)
{
    struct sts_fx *f = *state;
    const char *sub = "repo:acme/app:ref:refs/heads/main";
    char *tok = mint(f, sub, "sts.amazonaws.com", NOW + 300, "");

    /* tampered payload: the signature no longer verifies */
    char *dot1 = strchr(tok, '.');
    char *bad = strdup(tok);
    bad[dot1 - tok + 5] = bad[dot1 - tok + 5] == 'A' ? 'B' : 'A';
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", bad, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    free(bad);

    /* not a JWT */
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", "not-a-jwt", NULL), TG_E_INVALID_IDENTITY_TOKEN);

    /* unknown kid */
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"sts.amazonaws.com\",\"sub\":\"%s\",\"exp\":%d}", sub,
             NOW + 60);
    char *other = mint_raw(f->key, "{\"alg\":\"RS256\",\"kid\":\"k9\"}", payload);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", other, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    assert_has_text(f->err.message, "Couldn't retrieve verification key");
    free(other);

    /* issuer without a provider; one differing only by a trailing slash */
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "/\",\"aud\":\"sts.amazonaws.com\",\"sub\":\"%s\",\"exp\":%d}", sub,
             NOW + 60);
    other = mint_raw(f->key, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", other, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(f->err.message,
                        "No OpenIDConnect provider found in your account for " ISS "/");
    assert_has_text(f->err.detail, "trailing slash");
    free(other);

    /* an algorithm the provider does not allow (PS256 is not in AWS's set) */
    other = mint_raw(f->key, "{\"alg\":\"PS256\",\"kid\":\"k1\"}", payload);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", other, NULL), TG_E_INVALID_IDENTITY_TOKEN);
    free(other);
    free(tok);
}

static void test_parameters(void **state)
{
    struct sts_fx *f = *state;
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, ROLE_ARN, "a:b", tok, NULL), TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value 'a:b' at 'roleSessionName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[\\w+=,.@-]*");
    assert_int_equal(awrwi(f, ROLE_ARN, "x", tok, NULL), TG_E_VALIDATION_ERROR);
    assert_int_equal(awrwi(f, ROLE_ARN, "dependabot[bot]", tok, NULL), TG_E_VALIDATION_ERROR);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, "899"), TG_E_VALIDATION_ERROR);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, "43201"), TG_E_VALIDATION_ERROR);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, "12x"), TG_E_VALIDATION_ERROR);
    assert_int_equal(awrwi(f, "arn:aws:iam::123:role/x-and-more", "s1", tok, NULL),
                     TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message, "Request ARN is invalid");
    /* above the role's MaxSessionDuration (7200): refused, not capped */
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, "7201"), TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message, "The requested DurationSeconds exceeds the "
                                        "MaxSessionDuration set for this role.");
    free(tok);
}

static void test_claims_beyond_aws(void **state)
{
    struct sts_fx *f = *state;
    const char *role = "arn:aws:iam::" FX_ACCOUNT ":role/by-repository";
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, role, "s1", tok, NULL), TG_OK);
    free(tok);
    /* the same token with another repository claim */
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"sts.amazonaws.com\",\"sub\":\"repo:acme/app:x\","
             "\"repository\":\"acme/app-evil\",\"exp\":%d}",
             NOW + 60);
    tok = mint_raw(f->key, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    assert_int_equal(awrwi(f, role, "s1", tok, NULL), TG_E_ACCESS_DENIED);
    free(tok);

    /* restricted to AWS's keys by the provider tag: repository is not a key */
    assert_int_equal(fx_call(&f->fx, "TagOpenIDConnectProvider", "OpenIDConnectProviderArn",
                             PROVIDER_ARN, "Tags.member.1.Key", TG_STS_TAG_CONDITION_KEYS,
                             "Tags.member.1.Value", "aws", NULL),
                     TG_OK);
    tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi(f, role, "s1", tok, NULL), TG_E_ACCESS_DENIED);
    assert_int_equal(awrwi(f, ROLE_ARN, "s1", tok, NULL), TG_OK); /* aud and sub still work */
    free(tok);
}

/* The values of key in c (case-insensitive), or NULL. */
static const struct tg_policy_ctx_entry *sctx_get(const struct tg_sts_session_ctx *c,
                                                  const char *key)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcasecmp(c->entries[i].key, key) == 0) {
            return &c->entries[i];
        }
    }
    return NULL;
}

static const char *sctx_one(const struct tg_sts_session_ctx *c, const char *key)
{
    const struct tg_policy_ctx_entry *e = sctx_get(c, key);
    if (e == NULL) {
        return NULL;
    }
    assert_int_equal(e->n_values, 1);
    return e->values[0];
}

static void test_session_context(void **state)
{
    struct sts_fx *f = *state;
    assert_int_equal(fx_call(&f->fx, "TagRole", "RoleName", "deploy", "Tags.member.1.Key", "team",
                             "Tags.member.1.Value", "platform", NULL),
                     TG_OK);
    const struct tg_snap_role *role = tg_snapshot_role(f->fx.snap, tg_cur_str("deploy"));
    assert_non_null(role);
    struct tg_creds_session sess;
    memset(&sess, 0, sizeof(sess));
    (void)tg_concat(sess.account_id, sizeof(sess.account_id), FX_ACCOUNT, NULL);
    (void)tg_concat(sess.role_name, sizeof(sess.role_name), "deploy", NULL);
    (void)tg_concat(sess.role_id, sizeof(sess.role_id), "AROAEXAMPLEEXAMPLE12", NULL);
    (void)tg_concat(sess.session_name, sizeof(sess.session_name), "ci-42", NULL);
    (void)tg_concat(sess.provider_arn, sizeof(sess.provider_arn), PROVIDER_ARN, NULL);
    (void)tg_concat(sess.subject, sizeof(sess.subject), "repo:acme/app:ref:refs/heads/main", NULL);
    (void)tg_concat(sess.audience, sizeof(sess.audience), "sts.amazonaws.com", NULL);
    sess.issued = NOW - 60;
    sess.expires = NOW + 3540;
    struct tg_kv tags[2] = {{tg_cur_str("env"), tg_cur_str("prod")},
                            {tg_cur_str("owner"), tg_cur_str("")}};
    struct tg_sts_call call = {NOW, "203.0.113.7", "aws-cli/2.9", false, tags, 2};
    struct tg_sts_session_ctx *c = malloc(sizeof(*c));
    assert_non_null(c);
    tg_sts_session_context(c, &sess, role, &call);
    assert_string_equal(sctx_one(c, "aws:CurrentTime"), "2026-01-01T00:00:00Z");
    assert_string_equal(sctx_one(c, "aws:EpochTime"), "1767225600");
    assert_string_equal(sctx_one(c, "aws:SourceIp"), "203.0.113.7");
    assert_string_equal(sctx_one(c, "aws:UserAgent"), "aws-cli/2.9");
    assert_string_equal(sctx_one(c, "aws:SecureTransport"), "false");
    assert_string_equal(sctx_one(c, "aws:PrincipalArn"), ROLE_ARN);
    assert_string_equal(sctx_one(c, "aws:PrincipalAccount"), FX_ACCOUNT);
    assert_string_equal(sctx_one(c, "aws:PrincipalType"), "AssumedRole");
    assert_string_equal(sctx_one(c, "aws:userid"), "AROAEXAMPLEEXAMPLE12:ci-42");
    assert_string_equal(sctx_one(c, "aws:TokenIssueTime"), "2025-12-31T23:59:00Z");
    assert_string_equal(sctx_one(c, "aws:FederatedProvider"), PROVIDER_ARN);
    assert_string_equal(sctx_one(c, "token.actions.githubusercontent.com:sub"),
                        "repo:acme/app:ref:refs/heads/main");
    assert_string_equal(sctx_one(c, "token.actions.githubusercontent.com:aud"),
                        "sts.amazonaws.com");
    assert_null(sctx_get(c, "token.actions.githubusercontent.com:amr"));
    assert_string_equal(sctx_one(c, "aws:PrincipalTag/team"), "platform");
    assert_string_equal(sctx_one(c, "aws:RequestTag/env"), "prod");
    assert_string_equal(sctx_one(c, "aws:RequestTag/owner"), "");
    const struct tg_policy_ctx_entry *keys = sctx_get(c, "aws:TagKeys");
    assert_non_null(keys);
    assert_int_equal(keys->n_values, 2);
    assert_string_equal(keys->values[1], "owner");
    assert_null(sctx_get(c, "aws:SourceIdentity"));
    /* Without the role (it was deleted) and without a provider. */
    sess.provider_arn[0] = '\0';
    (void)tg_concat(sess.source_identity, sizeof(sess.source_identity), "alice", NULL);
    call.n_tags = 0;
    tg_sts_session_context(c, &sess, NULL, &call);
    assert_null(sctx_get(c, "aws:PrincipalArn"));
    assert_null(sctx_get(c, "aws:PrincipalTag/team"));
    assert_null(sctx_get(c, "aws:FederatedProvider"));
    assert_null(sctx_get(c, "aws:TagKeys"));
    assert_string_equal(sctx_one(c, "aws:SourceIdentity"), "alice");
    /* A session sealed before the audience was carried has no :aud. */
    (void)tg_concat(sess.provider_arn, sizeof(sess.provider_arn), PROVIDER_ARN, NULL);
    sess.audience[0] = '\0';
    tg_sts_session_context(c, &sess, NULL, &call);
    assert_null(sctx_get(c, "token.actions.githubusercontent.com:aud"));
    assert_non_null(sctx_get(c, "token.actions.githubusercontent.com:sub"));
    free(c);
}

/* The checks `tegata policy simulate` shares with the server (spec 2
 * steps 6 to 8). */
static struct tg_sts_token_claims check_claims(const char *claims, const char *ids, bool times,
                                               int expect_rc, struct tg_error *err)
{
    struct tg_json_object o;
    char why[128];
    assert_int_equal(tg_json_object_parse(tg_cur_str(claims), 64, 8, &o, why, sizeof(why)), 0);
    json_t *client_ids = ids != NULL ? json_loads(ids, 0, NULL) : NULL;
    struct tg_sts_token_claims tc;
    memset(err, 0, sizeof(*err));
    assert_int_equal(tg_sts_token_check_claims(&o, client_ids, NOW, times, &tc, err), expect_rc);
    json_decref(client_ids);
    tg_json_object_free(&o); /* tc now dangles: callers look at counts and err only */
    return tc;
}

static void test_token_claim_checks(void **state)
{
    (void)state;
    struct tg_error err;
    char c[512];
    /* a good token, the matched audience the second aud value */
    snprintf(c, sizeof(c),
             "{\"aud\":[\"x\",\"sts.amazonaws.com\"],\"sub\":\"repo:a/b:ref:refs/heads/main\","
             "\"exp\":%d,\"iat\":%d}",
             NOW + 60, NOW - 60);
    (void)check_claims(c, "[\"sts.amazonaws.com\"]", true, 0, &err);
    /* no client id list: the first of the aud values, and how many */
    struct tg_sts_token_claims tc = check_claims(c, NULL, true, 0, &err);
    assert_int_equal(tc.n_audiences, 2);
    (void)check_claims(c, "[\"other\"]", true, -1, &err);
    assert_int_equal(err.code, TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(err.message, "Incorrect token audience");
    /* exp at the edge of the 5 minutes of skew, then past it */
    snprintf(c, sizeof(c), "{\"aud\":\"a\",\"sub\":\"s\",\"exp\":%d}", NOW - TG_TOKEN_SKEW);
    (void)check_claims(c, "[\"a\"]", true, 0, &err);
    snprintf(c, sizeof(c), "{\"aud\":\"a\",\"sub\":\"s\",\"exp\":%d}", NOW - TG_TOKEN_SKEW - 1);
    (void)check_claims(c, "[\"a\"]", true, -1, &err);
    assert_int_equal(err.code, TG_E_EXPIRED_TOKEN_EXCEPTION);
    assert_non_null(strstr(err.message, "Token expired: current date/time"));
    /* ... which does not matter when times are not checked (claims, --no-verify) */
    (void)check_claims(c, "[\"a\"]", false, 0, &err);
    snprintf(c, sizeof(c), "{\"aud\":\"a\",\"sub\":\"s\",\"exp\":%d,\"nbf\":%d}", NOW + 900,
             NOW + TG_TOKEN_SKEW + 1);
    (void)check_claims(c, "[\"a\"]", true, -1, &err);
    assert_string_equal(err.message, "Token is not yet valid (nbf)");
    snprintf(c, sizeof(c), "{\"aud\":\"a\",\"sub\":\"s\",\"exp\":%d,\"iat\":\"%d\"}", NOW + 900,
             NOW);
    (void)check_claims(c, "[\"a\"]", true, -1, &err);
    assert_string_equal(err.message, "Timestamps in the token must be integers");
    (void)check_claims("{\"aud\":\"a\",\"sub\":\"s\"}", "[\"a\"]", true, -1, &err);
    assert_string_equal(err.message, "Missing a required claim: exp");
    (void)check_claims("{\"sub\":\"s\"}", "[\"a\"]", false, -1, &err);
    assert_string_equal(err.message, "Missing a required claim: aud");
    (void)check_claims("{\"aud\":\"a\",\"sub\":\"\"}", "[\"a\"]", false, -1, &err);
    assert_string_equal(err.message, "Missing a required claim: sub");
    assert_string_equal(err.detail, "no sub claim");
    (void)check_claims("{\"aud\":\"a\",\"sub\":7}", NULL, false, -1, &err);
    assert_string_equal(err.message, "Missing a required claim: sub");
}

/* ---- session policies (spec 1.2, 1.3, 4.5) ---- */

#define SP_DOC                                                                                     \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:GetRole\"," \
    "\"Resource\":\"*\"}]}"
#define SP_ARN "arn:aws:iam::" FX_ACCOUNT ":policy/ci/read-only"

/* "Policy=<doc>" URL-encoded (malloc'd). */
static char *policy_param(const char *doc)
{
    struct tg_buf b;
    tg_buf_init(&b, 1 << 17);
    assert_int_equal(tg_buf_append_str(&b, "Policy="), 0);
    assert_int_equal(tg_url_encode(&b, tg_cur_str(doc)), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    return tg_buf_steal(&b);
}

static void open_session_token(struct sts_fx *f, struct tg_creds_session *s)
{
    char token[TG_SIGV4_MAX_SESSION_TOKEN + 1];
    element(xml(f), "SessionToken", token, sizeof(token));
    assert_int_equal(tg_creds_session_open(&f->ring, tg_cur_str(token), s), 0);
}

static void test_session_policies(void **state)
{
    struct sts_fx *f = *state;
    assert_int_equal(fx_call(&f->fx, "CreatePolicy", "PolicyName", "read-only", "Path", "/ci/",
                             "PolicyDocument", SP_DOC, NULL),
                     TG_OK);
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    struct tg_creds_session s;

    /* An inline policy, with whitespace: sealed without it; the packed size
     * is of its characters, whitespace not counted. */
    const char *spaced = "{ \"Version\": \"2012-10-17\",\n \"Statement\": [ { \"Effect\": "
                         "\"Allow\", \"Action\": \"iam:GetRole\", \"Resource\": \"*\" } ] }";
    char *p = policy_param(spaced);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, p), TG_OK);
    free(p);
    size_t chars = strlen(SP_DOC);
    char want[64], big_want[256];
    snprintf(want, sizeof(want), "<PackedPolicySize>%zu</PackedPolicySize>",
             (chars * 100 + 2047) / 2048);
    assert_has_text(xml(f), want);
    /* model order: after AssumedRoleUser (and Credentials), before Provider */
    assert_has_text(xml(f), "</Credentials><PackedPolicySize>");
    assert_has_text(xml(f), "</PackedPolicySize><Provider>");
    open_session_token(f, &s);
    assert_string_equal(s.policy, SP_DOC);
    assert_int_equal(s.n_policy_arns, 0);
    tg_wipe(&s, sizeof(s));
    /* the decision records the length and the packed size, not the text */
    json_t *sp = json_object_get(f->decision, "session_policies");
    assert_non_null(sp);
    assert_int_equal(json_integer_value(json_object_get(sp, "policy_length")), strlen(spaced));
    assert_int_equal(json_array_size(json_object_get(sp, "policy_arns")), 0);
    assert_int_equal(json_integer_value(json_object_get(f->decision, "packed_policy_size")),
                     (chars * 100 + 2047) / 2048);
    char *dump = json_dumps(f->decision, 0);
    assert_null(strstr(dump, "iam:GetRole"));
    free(dump);

    /* A managed policy by ARN, with the inline one. */
    p = policy_param(SP_DOC);
    char extra[4096];
    snprintf(extra, sizeof(extra), "%s&PolicyArns.member.1.arn=%s", p, SP_ARN);
    free(p);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s2", tok, NULL, extra), TG_OK);
    snprintf(want, sizeof(want), "<PackedPolicySize>%zu</PackedPolicySize>",
             ((chars + strlen(SP_ARN)) * 100 + 2047) / 2048);
    assert_has_text(xml(f), want);
    open_session_token(f, &s);
    assert_string_equal(s.policy, SP_DOC);
    assert_int_equal(s.n_policy_arns, 1);
    assert_string_equal(tg_creds_session_policy_arn(&s, 0), SP_ARN);
    tg_wipe(&s, sizeof(s));
    sp = json_object_get(f->decision, "session_policies");
    assert_string_equal(json_string_value(json_array_get(json_object_get(sp, "policy_arns"), 0)),
                        SP_ARN);

    /* Only an ARN. */
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s3", tok, NULL, "PolicyArns.member.1.arn=" SP_ARN),
                     TG_OK);
    assert_has_text(xml(f), "<PackedPolicySize>");
    open_session_token(f, &s);
    assert_string_equal(s.policy, "");
    assert_int_equal(s.n_policy_arns, 1);
    tg_wipe(&s, sizeof(s));

    /* An ARN that names no policy, one of another account, AWS's. */
    const char *unknown[] = {"arn:aws:iam::" FX_ACCOUNT ":policy/ci/missing",
                             "arn:aws:iam::999999999999:policy/ci/read-only",
                             "arn:aws:iam::aws:policy/ReadOnlyAccess",
                             "arn:aws:iam::" FX_ACCOUNT ":policy/CI/READ-ONLY"};
    for (size_t i = 0; i < TG_ARRAY_LEN(unknown); i++) {
        snprintf(extra, sizeof(extra), "PolicyArns.member.1.arn=%s", unknown[i]);
        assert_int_equal(awrwi_ex(f, ROLE_ARN, "s4", tok, NULL, extra),
                         TG_E_MALFORMED_POLICY_DOCUMENT);
        snprintf(big_want, sizeof(big_want), "Policy %s does not exist or is not attachable.",
                 unknown[i]);
        assert_string_equal(f->err.message, big_want);
        assert_non_null(strstr(json_string_value(json_object_get(f->decision, "reason")),
                               "names no managed policy"));
    }

    /* Malformed inline policies: the parser's message. */
    const char *bad[][2] = {
        {"{\"Version\":\"2012-10-17\"", "Syntax errors in policy."},
        {"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
         "\"Action\":\"iam:GetRole\",\"Resource\":\"*\"}]}",
         NULL},
        {"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:"
         "GetRole\"}]}",
         NULL},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        p = policy_param(bad[i][0]);
        assert_int_equal(awrwi_ex(f, ROLE_ARN, "s5", tok, NULL, p), TG_E_MALFORMED_POLICY_DOCUMENT);
        free(p);
        assert_true(f->err.message[0] != '\0');
        if (bad[i][1] != NULL) {
            assert_string_equal(f->err.message, bad[i][1]);
        }
        assert_null(strstr(xml(f), "SessionToken"));
    }

    /* Too large together: PackedPolicyTooLarge with the percentage. A
     * 2,048-character policy whose whitespace does not count fits alone. */
    struct tg_buf big;
    tg_buf_init(&big, 1 << 16);
    assert_int_equal(tg_buf_append_str(&big, "{\"Version\":\"2012-10-17\",\"Statement\":[{"
                                             "\"Effect\":\"Allow\",\"Action\":\"iam:GetRole\","
                                             "\"Resource\":[\"*\""),
                     0);
    while (big.len < 1990) {
        assert_int_equal(tg_buf_append_str(&big, ",\"arn:aws:iam::*:role/r\""), 0);
    }
    assert_int_equal(tg_buf_append_str(&big, "]}]}"), 0);
    assert_int_equal(tg_buf_nul(&big), 0);
    size_t big_chars = big.len;
    assert_true(big_chars <= 2048);
    p = policy_param((const char *)big.ptr);
    snprintf(extra, sizeof(extra), "%s&PolicyArns.member.1.arn=%s", p, SP_ARN);
    free(p);
    size_t total = big_chars + strlen(SP_ARN);
    assert_true(total > 2048);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s6", tok, NULL, extra), TG_E_PACKED_POLICY_TOO_LARGE);
    snprintf(big_want, sizeof(big_want),
             "Packed policy consumes %zu%% of allotted space, please use smaller policy for "
             "session.",
             (total * 100 + 2047) / 2048);
    assert_string_equal(f->err.message, big_want);
    assert_int_equal(tg_code_http_status(f->err.code), 400);
    assert_int_equal(json_integer_value(json_object_get(f->decision, "packed_policy_size")),
                     (total * 100 + 2047) / 2048);
    /* alone it fits */
    p = policy_param((const char *)big.ptr);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s7", tok, NULL, p), TG_OK);
    free(p);
    tg_buf_free(&big);
    free(tok);
}

static void test_session_policy_parameters(void **state)
{
    struct sts_fx *f = *state;
    char *tok = mint(f, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", NOW + 300, "");
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "Policy="), TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value '' at 'policy' failed to satisfy "
                        "constraint: Member must have length greater than or equal to 1");
    /* a character outside TAB, LF, CR, U+0020..U+00FF (here U+0100) */
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "Policy=%C4%80"),
                     TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value '?"
                        "?' at 'policy' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "Policy=%01"), TG_E_VALIDATION_ERROR);
    /* 2,049 characters; the echo is cut */
    struct tg_buf b;
    tg_buf_init(&b, 1 << 16);
    assert_int_equal(tg_buf_append_str(&b, "Policy="), 0);
    for (int i = 0; i < 2049; i++) {
        assert_int_equal(tg_buf_append_str(&b, "%C3%A9"), 0); /* 2 bytes, 1 character */
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, (const char *)b.ptr),
                     TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(f->err.message, "...' at 'policy' failed to satisfy constraint: Member "
                                           "must have length less than or equal to 2048"));
    assert_true(strlen(f->err.message) < 400);
    /* 2,048 of them pass the length check (and then fail as JSON) */
    b.len -= 6;
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, (const char *)b.ptr),
                     TG_E_MALFORMED_POLICY_DOCUMENT);
    tg_buf_free(&b);

    /* PolicyArns: lengths, count, shape */
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "PolicyArns.member.1.arn=arn:aws:x"),
                     TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value 'arn:aws:x' at "
                        "'policyArns.1.member.arn' failed to satisfy constraint: Member must have "
                        "length greater than or equal to 20");
    tg_buf_init(&b, 1 << 16);
    for (int i = 1; i <= 11; i++) {
        assert_int_equal(
            tg_buf_appendf(&b, "%sPolicyArns.member.%d.arn=" SP_ARN, i > 1 ? "&" : "", i), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, (const char *)b.ptr),
                     TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value at 'policyArns' failed to satisfy "
                        "constraint: Member must have length less than or equal to 10");
    tg_buf_free(&b);
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "PolicyArns.member.1=" SP_ARN),
                     TG_E_VALIDATION_ERROR);
    assert_string_equal(f->err.message,
                        "1 validation error detected: Value null at 'policyArns.1.member.arn' "
                        "failed to satisfy constraint: Member must not be null");
    assert_int_equal(awrwi_ex(f, ROLE_ARN, "s1", tok, NULL, "PolicyArns.member.2.arn=" SP_ARN),
                     TG_E_INVALID_PARAMETER_VALUE);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success_and_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_policy_denials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_and_provider_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_beyond_aws, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_context, setup, teardown),
        cmocka_unit_test(test_token_claim_checks),
        cmocka_unit_test_setup_teardown(test_session_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_policy_parameters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
