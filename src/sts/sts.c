/* sts: AssumeRoleWithWebIdentity and GetCallerIdentity (spec 1, 2, 3, 5.3). */
#include "sts/sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define VALIDATION_PREFIX "1 validation error detected: "
#define ECHO_MAX 128        /* bytes of a rejected parameter echoed back */
#define NAME_CHARS "+=,.@-" /* [\w+=,.@-] besides word characters (spec 1.2) */
#define MSG_NOT_AUTHORIZED "Not authorized to perform sts:AssumeRoleWithWebIdentity"
#define MSG_NO_KEY                                                                                 \
    "Couldn't retrieve verification key from your identity provider,  please reference "           \
    "AssumeRoleWithWebIdentity documentation for requirements"

/* ---- parameters ------------------------------------------------------- */

static void echo(struct tg_cur v, char out[ECHO_MAX + 4])
{
    size_t n = 0;
    for (size_t i = 0; i < v.len && n < ECHO_MAX; i++) {
        uint8_t c = v.ptr[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (v.len > ECHO_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int value_error(struct tg_error *err, struct tg_cur v, const char *field,
                       const char *constraint)
{
    char e[ECHO_MAX + 4];
    echo(v, e);
    return tg_error_set(err, TG_E_VALIDATION_ERROR,
                        VALIDATION_PREFIX "Value '%s' at '%s' failed to satisfy constraint: %s", e,
                        field, constraint);
}

static int required(const struct tg_form *in, const char *name, const char *field,
                    struct tg_cur *out, struct tg_error *err)
{
    const struct tg_cur *v = tg_form_get(in, name);
    if (v == NULL) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            VALIDATION_PREFIX "Value null at '%s' failed to satisfy constraint: "
                                              "Member must not be null",
                            field);
    }
    *out = *v;
    return 0;
}

static bool name_chars_ok(struct tg_cur v, const char *extra)
{
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!word && (c == 0 || strchr(extra, c) == NULL)) {
            return false;
        }
    }
    return true;
}

/* arn:aws:iam::<12 digits>:role/<path><name> (spec 1.2: "Request ARN is invalid"). */
static bool role_arn_valid(struct tg_cur a)
{
    const char *prefix = "arn:aws:iam::";
    size_t pn = strlen(prefix);
    if (a.len < 20 || a.len > TG_IAM_MAX_ARN || !tg_cur_starts_with(a, prefix) ||
        a.len < pn + 12 + 6 + 1) {
        return false;
    }
    for (size_t i = pn; i < pn + 12; i++) {
        if (a.ptr[i] < '0' || a.ptr[i] > '9') {
            return false;
        }
    }
    struct tg_cur rest = tg_cur_make(a.ptr + pn + 12, a.len - pn - 12);
    return tg_cur_starts_with(rest, ":role/") && a.ptr[a.len - 1] != '/';
}

/* The constraints of the session policy parameters (spec 1.2, bc-sts):
 * Policy 1..2048 characters of [\u0009\u000A\u000D\u0020-\u00FF],
 * PolicyArns at most 10 members of 20..2048 characters. Whether they name
 * policies is phase 2's question. */
static int parse_session_policies(const struct tg_form *in, struct tg_sts_awrwi *st,
                                  struct tg_error *err)
{
    const struct tg_cur *p = tg_form_get(in, "Policy");
    if (p != NULL) {
        size_t n = tg_utf8_valid(*p) ? tg_utf8_len(*p) : 0;
        if (n < 1 || !tg_policy_chars_valid(p->ptr, p->len)) {
            return p->len == 0 ? value_error(err, *p, "policy",
                                             "Member must have length greater than or equal to 1")
                               : value_error(err, *p, "policy",
                                             "Member must satisfy regular expression pattern: "
                                             "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
        }
        if (n > TG_STS_POLICY_MAX) {
            return value_error(err, *p, "policy",
                               "Member must have length less than or equal to 2048");
        }
        st->has_policy = true;
        st->policy = *p;
    }
    TG_GUARD(tg_form_get_list_field(in, "PolicyArns.member", "arn", st->policy_arns,
                                    TG_STS_MAX_POLICY_ARNS, &st->n_policy_arns, err));
    for (size_t i = 0; i < st->n_policy_arns; i++) {
        struct tg_cur a = st->policy_arns[i];
        size_t n = tg_utf8_valid(a) ? tg_utf8_len(a) : a.len;
        char field[48];
        snprintf(field, sizeof(field), "policyArns.%zu.member.arn", i + 1);
        if (n < 20) {
            return value_error(err, a, field,
                               "Member must have length greater than or equal to 20");
        }
        if (n > TG_IAM_MAX_ARN) {
            return value_error(err, a, field, "Member must have length less than or equal to 2048");
        }
    }
    return 0;
}

static int parse_params(const struct tg_form *in, struct tg_sts_awrwi *st, struct tg_error *err)
{
    TG_GUARD(required(in, "RoleArn", "roleArn", &st->role_arn, err));
    TG_GUARD(required(in, "RoleSessionName", "roleSessionName", &st->session_name, err));
    TG_GUARD(required(in, "WebIdentityToken", "webIdentityToken", &st->token, err));

    if (st->role_arn.len < 20) {
        return value_error(err, st->role_arn, "roleArn",
                           "Member must have length greater than or equal to 20");
    }
    if (st->role_arn.len > TG_IAM_MAX_ARN) {
        return value_error(err, st->role_arn, "roleArn",
                           "Member must have length less than or equal to 2048");
    }
    if (st->session_name.len < 2) {
        return value_error(err, st->session_name, "roleSessionName",
                           "Member must have length greater than or equal to 2");
    }
    if (st->session_name.len > TG_SESSION_NAME_MAX) {
        return value_error(err, st->session_name, "roleSessionName",
                           "Member must have length less than or equal to 64");
    }
    if (!name_chars_ok(st->session_name, NAME_CHARS)) {
        return value_error(err, st->session_name, "roleSessionName",
                           "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
    }
    /* The token is sensitive: its value is never echoed. */
    if (st->token.len < 4) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            VALIDATION_PREFIX "Value at 'webIdentityToken' failed to satisfy "
                                              "constraint: Member must have length greater than "
                                              "or equal to 4");
    }
    if (st->token.len > TG_JOSE_MAX_TOKEN) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            VALIDATION_PREFIX "Value at 'webIdentityToken' failed to satisfy "
                                              "constraint: Member must have length less than "
                                              "or equal to 20000");
    }
    st->duration = TG_SESSION_DEFAULT_DURATION;
    const struct tg_cur *d = tg_form_get(in, "DurationSeconds");
    if (d != NULL) {
        int64_t v = 0;
        if (tg_cur_to_i64(*d, &v) < 0) {
            return value_error(err, *d, "durationSeconds", "Member must be an integer");
        }
        if (v < TG_SESSION_MIN_DURATION) {
            return value_error(err, *d, "durationSeconds",
                               "Member must have value greater than or equal to 900");
        }
        if (v > TG_SESSION_MAX_DURATION) {
            return value_error(err, *d, "durationSeconds",
                               "Member must have value less than or equal to 43200");
        }
        st->duration = v;
    }
    if (!role_arn_valid(st->role_arn)) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR, "Request ARN is invalid");
    }
    /* spec 1.2: ProviderId is for OAuth 2.0 access tokens of two social
     * providers only; tegata takes OpenID Connect ID tokens. */
    if (tg_form_get(in, "ProviderId") != NULL) {
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            "ProviderId is only for OAuth 2.0 access tokens; omit it for "
                            "OpenID Connect ID tokens");
    }
    return parse_session_policies(in, st, err);
}

/* ---- provider ---------------------------------------------------------------- */

const char *tg_sts_provider_tag(const struct tg_snap_provider *p, const char *key)
{
    const json_t *tags = json_object_get(p->e.doc, "tags");
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        if (k != NULL && strcmp(k, key) == 0) {
            return json_string_value(json_object_get(t, "Value"));
        }
    }
    return NULL;
}

/* "RS256 ES256 EdDSA" (or comma-separated) -> mask; unknown names are ignored
 * (and HMAC/none can never be named: tg_jose_alg_from_name knows only
 * asymmetric ones). */
static uint32_t algs_from_tag(const char *v)
{
    uint32_t mask = 0;
    const char *p = v;
    while (*p != '\0') {
        size_t skip = strspn(p, ", \t");
        p += skip;
        size_t n = strcspn(p, ", \t");
        if (n == 0) {
            break;
        }
        enum tg_jose_alg a = tg_jose_alg_from_name(tg_cur_make(p, n));
        if (a != TG_JOSE_ALG_NONE) {
            mask |= TG_JOSE_ALG_BIT(a);
        }
        p += n;
    }
    return mask;
}

uint32_t tg_sts_provider_algs(const struct tg_snap_provider *p)
{
    const char *tag = tg_sts_provider_tag(p, TG_STS_TAG_ALGORITHMS);
    return tag != NULL ? algs_from_tag(tag) : TG_JOSE_ALGS_AWS;
}

size_t tg_sts_provider_thumbprints(const struct tg_snap_provider *p,
                                   const char *out[TG_IAM_MAX_THUMBPRINTS])
{
    size_t n = 0, i;
    const json_t *tp;
    json_array_foreach(json_object_get(p->e.doc, "thumbprints"), i, tp)
    {
        if (n < TG_IAM_MAX_THUMBPRINTS && json_is_string(tp)) {
            out[n++] = json_string_value(tp);
        }
    }
    return n;
}

const struct tg_snap_provider *tg_sts_provider_for_iss(const struct tg_snapshot *snap,
                                                       const char *iss)
{
    const char *key = NULL;
    if (strncmp(iss, "https://", 8) == 0) {
        key = iss + 8;
    } else if (strncmp(iss, "http://", 7) == 0) {
        key = iss + 7;
    } else {
        return NULL;
    }
    const struct tg_snap_provider *p = tg_snapshot_provider_by_key(snap, tg_cur_str(key));
    /* spec 2 step 3: exact string comparison, scheme included */
    return (p != NULL && strcmp(p->url, iss) == 0) ? p : NULL;
}

/* For the operator: a provider that differs from iss only by a trailing
 * slash (seed 000, spec 10.1). */
static const struct tg_snap_provider *provider_slash_twin(const struct tg_snapshot *snap,
                                                          const char *iss)
{
    size_t n = strlen(iss);
    char alt[TG_IAM_MAX_URL + 2];
    if (n == 0 || n > TG_IAM_MAX_URL) {
        return NULL;
    }
    if (iss[n - 1] == '/') {
        memcpy(alt, iss, n - 1);
        alt[n - 1] = '\0';
    } else {
        memcpy(alt, iss, n);
        alt[n] = '/';
        alt[n + 1] = '\0';
    }
    return tg_sts_provider_for_iss(snap, alt);
}

/* A string claim (NUL-free, as the reader refuses "\u0000"), or NULL. */
static const char *claim_str(const struct tg_jws *jws, const char *name)
{
    const struct tg_json_member *m = tg_json_object_get(&jws->claims, name);
    return m != NULL && m->type == TG_JSON_STRING ? m->str : NULL;
}

int tg_sts_awrwi_begin(const struct tg_sts_ctx *ctx, const struct tg_form *in,
                       struct tg_sts_awrwi *st, struct tg_error *err)
{
    memset(st, 0, sizeof(*st));
    tg_buf_init_secret(&st->session_token, TG_SIGV4_MAX_SESSION_TOKEN);
    tg_buf_init(&st->decision, TG_AUDIT_DECISION_MAX);
    (void)tg_buf_reserve(&st->decision, 2048); /* a usual trace, at once */
    tg_json_w_init(&st->dw, &st->decision);
    tg_json_w_object(&st->dw);
    st->packed_policy_size = -1;
    TG_GUARD(parse_params(in, st, err));

    /* Parse with every algorithm we know, then hold it to the provider's
     * set once the provider is known (the issuer is inside the token). */
    if (tg_jose_jws_parse(st->token.ptr, st->token.len, TG_JOSE_ALGS_ALL, &st->jws, err) < 0) {
        tg_sts_awrwi_note(st, "reason", err->detail);
        return -1;
    }
    st->jws_ok = true;
    tg_sts_awrwi_note(st, "alg", tg_jose_alg_name(st->jws.alg));
    if (st->jws.has_kid) {
        tg_sts_awrwi_note(st, "kid", st->jws.kid);
    }
    const char *iss = claim_str(&st->jws, "iss");
    if (iss == NULL) {
        tg_sts_awrwi_note(st, "reason", "no iss claim");
        return tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "Missing a required claim: iss");
    }
    tg_sts_awrwi_note(st, "issuer", iss);
    st->provider = tg_sts_provider_for_iss(ctx->snap, iss);
    if (st->provider == NULL) {
        const struct tg_snap_provider *twin = provider_slash_twin(ctx->snap, iss);
        char why[700];
        if (twin != NULL) {
            snprintf(why, sizeof(why),
                     "no provider for iss %.255s; provider %.255s differs only by a trailing "
                     "slash, which is significant (as at AWS)",
                     iss, twin->url);
        } else {
            snprintf(why, sizeof(why), "no provider for iss %.255s", iss);
        }
        tg_sts_awrwi_note(st, "reason", why);
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN,
                     "No OpenIDConnect provider found in your account for %.512s", iss);
        return tg_error_detail(err, "%s", why);
    }
    tg_sts_awrwi_note(st, "provider", st->provider->arn);
    st->allowed_algs = tg_sts_provider_algs(st->provider);
    if ((TG_JOSE_ALG_BIT(st->jws.alg) & st->allowed_algs) == 0) {
        char why[160];
        snprintf(why, sizeof(why), "algorithm %s is not allowed for this provider (tag %s)",
                 tg_jose_alg_name(st->jws.alg), TG_STS_TAG_ALGORITHMS);
        tg_sts_awrwi_note(st, "reason", why);
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "Unsupported token signing algorithm %s",
                     tg_jose_alg_name(st->jws.alg));
        return tg_error_detail(err, "%s", why);
    }
    st->n_thumbprints = tg_sts_provider_thumbprints(st->provider, st->thumbprints);
    (void)ctx;
    return 0;
}

/* ---- claims --------------------------------------------------------------- */

static int claim_fail(struct tg_sts_awrwi *st, struct tg_error *err, enum tg_code code,
                      const char *message, const char *why)
{
    tg_sts_awrwi_note(st, "reason", why);
    tg_error_set(err, code, "%s", message);
    return tg_error_detail(err, "%s", why);
}

/* spec 1.2: "Timestamps inside must be integers". Absent: 0, present. */
static int time_claim(const struct tg_json_object *claims, const char *name, bool *present,
                      int64_t *out)
{
    const struct tg_json_member *v = tg_json_object_get(claims, name);
    *present = v != NULL;
    if (v == NULL) {
        return 0;
    }
    if (v->type != TG_JSON_INTEGER) {
        return -1;
    }
    *out = v->integer;
    return 0;
}

/* aud: a string, or an array with any element, in the client ids
 * (spec 2 step 6). Returns the matched audience (borrowed) or NULL. */
static const char *match_audience(const struct tg_json_object *claims, const json_t *client_ids,
                                  bool *missing)
{
    const struct tg_json_member *aud = tg_json_object_get(claims, "aud");
    *missing = aud == NULL;
    if (aud == NULL) {
        return NULL;
    }
    const char *one[1] = {aud->str};
    const char *const *values = one;
    size_t n = aud->type == TG_JSON_STRING ? 1 : 0;
    if (aud->type == TG_JSON_ARRAY) {
        if (aud->n_items > TG_JOSE_MAX_AUDIENCES) {
            return NULL;
        }
        values = aud->strings; /* non-string elements never match */
        n = aud->n_strings;
    }
    for (size_t a = 0; a < n; a++) {
        size_t i;
        const json_t *cid;
        json_array_foreach(client_ids, i, cid)
        {
            const char *c = json_string_value(cid);
            if (c != NULL && strcmp(c, values[a]) == 0) {
                return values[a];
            }
        }
    }
    return NULL;
}

int tg_sts_token_signature(const struct tg_jws *jws, const struct tg_jose_keyset *ks,
                           const char **kid, struct tg_error *err)
{
    const struct tg_jose_key *used = NULL;
    bool no_key = false;
    *kid = NULL;
    if (tg_jose_jws_verify(jws, ks, &used, &no_key) < 0) {
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "%s",
                     no_key ? MSG_NO_KEY : "Signature verification failed for the ID token");
        return tg_error_detail(err, "%s",
                               no_key
                                   ? "no key in the provider's JWKS matches the token's kid and alg"
                                   : "signature does not verify with the provider's key");
    }
    *kid = used->has_kid ? used->kid : "(no kid)";
    return 0;
}

static int claims_fail(struct tg_error *err, enum tg_code code, const char *message,
                       const char *why)
{
    tg_error_set(err, code, "%s", message);
    return tg_error_detail(err, "%s", why);
}

int tg_sts_token_check_claims(const struct tg_json_object *claims, const json_t *client_ids,
                              int64_t now, bool times, struct tg_sts_token_claims *out,
                              struct tg_error *err)
{
    memset(out, 0, sizeof(*out));
    /* 6. audience */
    bool aud_missing = false;
    if (client_ids != NULL) {
        out->audience = match_audience(claims, client_ids, &aud_missing);
    } else {
        const struct tg_json_member *aud = tg_json_object_get(claims, "aud");
        aud_missing = aud == NULL;
        if (aud != NULL && aud->type == TG_JSON_STRING) {
            out->audience = aud->str;
        } else if (aud != NULL && aud->type == TG_JSON_ARRAY && aud->n_strings > 0 &&
                   aud->n_items <= TG_JOSE_MAX_AUDIENCES) {
            out->audience = aud->strings[0];
            out->n_audiences = aud->n_strings;
        }
    }
    if (aud_missing) {
        return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Missing a required claim: aud",
                           "no aud claim");
    }
    if (out->audience == NULL) {
        return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Incorrect token audience",
                           "no aud value is in the provider's client id list");
    }
    /* 7. time claims: exp required, 5 minutes of skew (spec 2 step 7) */
    if (times) {
        bool has_exp, has_nbf, has_iat;
        int64_t exp = 0, nbf = 0, iat = 0;
        if (time_claim(claims, "exp", &has_exp, &exp) < 0 ||
            time_claim(claims, "nbf", &has_nbf, &nbf) < 0 ||
            time_claim(claims, "iat", &has_iat, &iat) < 0) {
            return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN,
                               "Timestamps in the token must be integers",
                               "exp, nbf or iat is not an integer");
        }
        if (!has_exp) {
            return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Missing a required claim: exp",
                               "no exp claim");
        }
        if (now > exp + TG_TOKEN_SKEW) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "Token expired: current date/time %lld must be before the expiration "
                     "date/time %lld",
                     (long long)now, (long long)exp);
            return claims_fail(err, TG_E_EXPIRED_TOKEN_EXCEPTION, msg,
                               "exp is past (5 minutes of skew)");
        }
        if (has_nbf && nbf > now + TG_TOKEN_SKEW) {
            return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Token is not yet valid (nbf)",
                               "nbf is more than 5 minutes in the future");
        }
        if (has_iat && iat > now + TG_TOKEN_SKEW) {
            return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Token issued in the future (iat)",
                               "iat is more than 5 minutes in the future");
        }
    }
    /* 8. subject */
    const struct tg_json_member *sub = tg_json_object_get(claims, "sub");
    if (sub == NULL || sub->type != TG_JSON_STRING || sub->str[0] == '\0') {
        return claims_fail(err, TG_E_INVALID_IDENTITY_TOKEN, "Missing a required claim: sub",
                           "no sub claim");
    }
    out->subject = sub->str;
    return 0;
}

/* ---- the request context: <provider key>:<claim> (spec 3) --------------- */

#define CTX_MAX TG_STS_CLAIM_CTX_MAX

void tg_sts_claim_ctx_init(struct tg_sts_claim_ctx *c)
{
    c->n = 0;
    c->n_owned = 0;
    c->key_arena_used = 0;
}

void tg_sts_claim_ctx_free(struct tg_sts_claim_ctx *c)
{
    for (size_t i = 0; i < c->n_owned; i++) {
        free(c->owned[i]);
    }
    c->n_owned = 0;
}

static bool aws_claim(const char *claim)
{
    /* spec 3.1: the keys AWS puts in the context for a generic OIDC provider */
    return strcmp(claim, "aud") == 0 || strcmp(claim, "sub") == 0 || strcmp(claim, "azp") == 0 ||
           strcmp(claim, "amr") == 0;
}

/* Adds "<prefix>:<claim>" (or the global key claim when prefix is NULL). */
static int ctx_add(struct tg_sts_claim_ctx *c, const char *prefix, const char *claim,
                   const char *const *values, size_t n_values)
{
    if (c->n >= CTX_MAX || c->n_owned >= TG_ARRAY_LEN(c->owned)) {
        return -1;
    }
    const char *key = claim;
    if (prefix != NULL) {
        size_t pn = strlen(prefix), cn = strlen(claim);
        size_t kn = pn + 1 + cn + 1;
        char *k;
        if (kn <= sizeof(c->key_arena) - c->key_arena_used) {
            k = c->key_arena + c->key_arena_used;
            c->key_arena_used += kn;
        } else {
            k = malloc(kn);
            if (k == NULL) {
                return -1;
            }
            c->owned[c->n_owned++] = k;
        }
        memcpy(k, prefix, pn);
        k[pn] = ':';
        memcpy(k + pn + 1, claim, cn + 1);
        key = k;
    }
    c->entries[c->n].key = key;
    c->entries[c->n].values = values;
    c->entries[c->n].n_values = n_values;
    c->n++;
    return 0;
}

static int ctx_add1(struct tg_sts_claim_ctx *c, const char *prefix, const char *claim,
                    const char *value)
{
    if (c->n >= CTX_MAX) {
        return -1;
    }
    c->single[c->n] = value;
    return ctx_add(c, prefix, claim, &c->single[c->n], 1);
}

int tg_sts_claim_ctx_add(struct tg_sts_claim_ctx *c, const char *key, const char *value)
{
    return ctx_add1(c, NULL, key, value);
}

int tg_sts_claim_ctx_build(struct tg_sts_claim_ctx *c, const char *prefix,
                           const struct tg_json_object *claims, const char *audience, bool aws_only)
{
    static const char *const no_values[1] = {NULL};
    for (size_t k = 0; k < claims->n; k++) {
        const struct tg_json_member *v = &claims->members[k];
        const char *claim = v->name;
        if (aws_only && !aws_claim(claim)) {
            continue;
        }
        if (strcmp(claim, "aud") == 0) {
            /* the matched audience, as AWS's <provider>:aud (spec 2 step 6) */
            TG_GUARD(ctx_add1(c, prefix, claim, audience));
            continue;
        }
        switch (v->type) {
        case TG_JSON_STRING:
            TG_GUARD(ctx_add1(c, prefix, claim, v->str));
            break;
        case TG_JSON_INTEGER:
        case TG_JSON_REAL:
        case TG_JSON_TRUE:
        case TG_JSON_FALSE: {
            if (c->n >= CTX_MAX) {
                return -1;
            }
            char *t = c->scalar_text[c->n];
            if (v->type == TG_JSON_INTEGER) {
                (void)tg_fmt_i64(v->integer, t);
            } else if (v->type == TG_JSON_REAL) {
                snprintf(t, 32, "%.17g", v->real);
            } else {
                memcpy(t, v->type == TG_JSON_TRUE ? "true" : "false",
                       v->type == TG_JSON_TRUE ? 5 : 6);
            }
            TG_GUARD(ctx_add1(c, prefix, claim, t));
            break;
        }
        case TG_JSON_ARRAY:
            /* an array of strings is a multi-valued key; other arrays are
             * not addressable, like nested objects (spec 3.1) */
            if (v->n_strings == v->n_items && v->n_items <= TG_POLICY_MAX_VALUES) {
                TG_GUARD(
                    ctx_add(c, prefix, claim, v->n_items > 0 ? v->strings : no_values, v->n_items));
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

static int build_context(struct tg_sts_claim_ctx *c, const struct tg_sts_awrwi *st,
                         const char *audience, bool aws_only)
{
    /* the provider URL without the scheme */
    return tg_sts_claim_ctx_build(c, st->provider->e.key, &st->jws.claims, audience, aws_only);
}

/* ---- phase 2 ------------------------------------------------------------------ */

/* Copies a policy that parsed (so is JSON) without the whitespace between
 * tokens; strings are kept as they are. -1 if it does not fit cap. */
static int minify(struct tg_cur doc, char *out, size_t cap)
{
    size_t n = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < doc.len; i++) {
        uint8_t c = doc.ptr[i];
        if (!in_string && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            continue;
        }
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        }
        if (n + 1 >= cap) {
            return -1;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Step 13: the session policies (spec 1.2, 4.5) into sess. The decision
 * object gets their ARNs, the inline policy's length and the packed size,
 * never the policy's text (it may be large and says what the caller may
 * do, which the audit log has no need to repeat). */
static int session_policies(const struct tg_sts_ctx *ctx, struct tg_sts_awrwi *st,
                            struct tg_creds_session *sess, struct tg_error *err)
{
    if (!st->has_policy && st->n_policy_arns == 0) {
        return 0;
    }
    tg_json_w_key(&st->dw, "session_policies");
    tg_json_w_object(&st->dw);
    tg_json_w_key(&st->dw, "policy_length");
    if (st->has_policy) {
        tg_json_w_int(&st->dw, (int64_t)tg_utf8_len(st->policy));
    } else {
        tg_json_w_null(&st->dw);
    }
    tg_json_w_key(&st->dw, "policy_arns");
    tg_json_w_array(&st->dw);
    for (size_t i = 0; i < st->n_policy_arns; i++) {
        tg_json_w_stringn(&st->dw, st->policy_arns[i].ptr, st->policy_arns[i].len);
    }
    tg_json_w_array_end(&st->dw);
    tg_json_w_object_end(&st->dw);

    size_t chars = 0;
    if (st->has_policy) {
        struct tg_policy *compiled = NULL;
        /* a session policy is checked as an identity policy: no Principal */
        if (tg_policy_parse(st->policy.ptr, st->policy.len, TG_POLICY_SESSION, &compiled, err) <
            0) {
            if (err->code == TG_OK) {
                tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT, "Syntax errors in policy.");
            }
            char why[TG_ERROR_MESSAGE_MAX + 64];
            snprintf(why, sizeof(why), "the session policy (Policy) is malformed: %s",
                     err->message);
            tg_sts_awrwi_note(st, "reason", why);
            return tg_error_detail(err, "%s", why);
        }
        tg_policy_free(compiled);
        if (minify(st->policy, sess->policy, sizeof(sess->policy)) < 0) {
            return tg_error_code(err, TG_E_INTERNAL_FAILURE); /* 2048 characters fit */
        }
        chars += tg_policy_size(st->policy.ptr, st->policy.len);
    }
    for (size_t i = 0; i < st->n_policy_arns; i++) {
        struct tg_cur a = st->policy_arns[i];
        /* spec 1.2: managed policies of the role's account; the snapshot
         * is that account, so an ARN of another account names nothing. */
        const struct tg_snap_policy *mp = tg_snapshot_policy_by_arn(ctx->snap, a);
        if (mp == NULL || mp->compiled == NULL) {
            char e[ECHO_MAX + 4];
            echo(a, e);
            tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT,
                         "Policy %s does not exist or is not attachable.", e);
            char why[ECHO_MAX + 128];
            snprintf(why, sizeof(why),
                     "PolicyArns member %zu (%s) names no managed policy of "
                     "this account",
                     i + 1, e);
            tg_sts_awrwi_note(st, "reason", why);
            return tg_error_detail(err, "%s", why);
        }
        chars += a.len; /* ASCII: it equals a policy's ARN */
    }
    /* spec 1.2: the plaintext of all session policies together is at most
     * 2,048 characters; AWS reports the size of its packed (compressed)
     * form as a percentage of what is allowed. tegata does not compress:
     * its percentage is of the plaintext, whitespace not counted. */
    int64_t percent =
        (int64_t)((chars * 100 + TG_STS_PACKED_POLICY_MAX - 1) / TG_STS_PACKED_POLICY_MAX);
    tg_json_w_key(&st->dw, "packed_policy_size");
    tg_json_w_int(&st->dw, percent);
    if (chars > TG_STS_PACKED_POLICY_MAX) {
        tg_error_set(err, TG_E_PACKED_POLICY_TOO_LARGE,
                     "Packed policy consumes %lld%% of allotted space, please use smaller policy "
                     "for session.",
                     (long long)percent);
        char why[160];
        snprintf(why, sizeof(why),
                 "session policies of %zu characters (whitespace not counted) exceed %d", chars,
                 TG_STS_PACKED_POLICY_MAX);
        tg_sts_awrwi_note(st, "reason", why);
        return tg_error_detail(err, "%s", why);
    }
    for (size_t i = 0; i < st->n_policy_arns; i++) {
        if (tg_creds_session_add_policy_arn(sess, st->policy_arns[i]) < 0) {
            return tg_error_code(err, TG_E_INTERNAL_FAILURE); /* they fit: checked above */
        }
    }
    st->packed_policy_size = (int)percent;
    return 0;
}

static void assumed_role_arn(const struct tg_creds_session *s, char *out, size_t cap)
{
    /* spec 1.3: the role path is dropped */
    (void)tg_concat(out, cap, "arn:aws:sts::", s->account_id, ":assumed-role/", s->role_name, "/",
                    s->session_name, NULL);
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int tg_sts_awrwi_finish(const struct tg_sts_ctx *ctx, struct tg_sts_awrwi *st,
                        const struct tg_jose_keyset *ks, struct tg_xml *xml, struct tg_error *err)
{
    struct tg_sts_claim_ctx *cc = NULL;
    struct tg_creds_session sess;
    struct tg_buf token;
    int rc = -1;
    memset(&sess, 0, sizeof(sess));
    tg_buf_init(&token, TG_SIGV4_MAX_SESSION_TOKEN);

    /* 5. signature; 6. audience; 7. exp, nbf, iat; 8. sub */
    const char *kid = NULL;
    struct tg_sts_token_claims tc;
    int checked = tg_sts_token_signature(&st->jws, ks, &kid, err);
    if (checked == 0) {
        tg_sts_awrwi_note(st, "key", kid);
        checked = tg_sts_token_check_claims(&st->jws.claims,
                                            json_object_get(st->provider->e.doc, "client_ids"),
                                            ctx->now, true, &tc, err);
        if (tc.audience != NULL) {
            tg_sts_awrwi_note(st, "audience", tc.audience);
        }
    }
    if (checked < 0) {
        tg_sts_awrwi_note(st, "reason", err->detail);
        goto out;
    }
    st->audience = tc.audience;
    tg_sts_awrwi_note(st, "subject", tc.subject);
    st->subject = tc.subject;
    const char *audience = tc.audience;

    /* 9. the role and its trust policy */
    char role_name[TG_IAM_MAX_ROLE_NAME + 1];
    const uint8_t *slash = st->role_arn.ptr + st->role_arn.len;
    while (slash > st->role_arn.ptr && slash[-1] != '/') {
        slash--;
    }
    struct tg_cur name = tg_cur_make(slash, (size_t)(st->role_arn.ptr + st->role_arn.len - slash));
    const struct tg_snap_role *role =
        name.len <= TG_IAM_MAX_ROLE_NAME ? tg_snapshot_role(ctx->snap, name) : NULL;
    if (role == NULL || !tg_cur_eq_str(st->role_arn, role->arn)) {
        /* spec 1.2: a role that does not exist is an authorization failure */
        claim_fail(st, err, TG_E_ACCESS_DENIED, MSG_NOT_AUTHORIZED,
                   "the role does not exist in this account");
        goto out;
    }
    (void)tg_concat(role_name, sizeof(role_name), role->name, NULL);
    tg_sts_awrwi_note(st, "role", role->arn);

    /* Not calloc: the context is about 25 KiB, of which a request uses the
     * first few entries; every array is written before it is read. */
    cc = malloc(sizeof(*cc));
    if (cc == NULL) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    tg_sts_claim_ctx_init(cc);
    const char *mode = tg_sts_provider_tag(st->provider, TG_STS_TAG_CONDITION_KEYS);
    bool aws_only = mode != NULL && strcmp(mode, "aws") == 0;
    char session_name[TG_SESSION_NAME_MAX + 1];
    /* 2..64 characters of [\w+=,.@-], checked by parse_params */
    memcpy(session_name, st->session_name.ptr, st->session_name.len);
    session_name[st->session_name.len] = '\0';
    if (build_context(cc, st, audience, aws_only) < 0 ||
        ctx_add1(cc, NULL, "sts:RoleSessionName", session_name) < 0 ||
        ctx_add1(cc, NULL, "aws:FederatedProvider", st->provider->arn) < 0) {
        claim_fail(st, err, TG_E_INVALID_IDENTITY_TOKEN,
                   "The ID Token provided is not a valid JWT. (You may see this error if you "
                   "sent an Access Token)",
                   "too many claims");
        goto out;
    }

    struct tg_policy_request req = {
        "sts:AssumeRoleWithWebIdentity", NULL, "Federated", st->provider->arn, cc->entries, cc->n};
    /* The decision first, then the trace of how it was reached (the same
     * evaluation once more, recording as it goes: tg_policy_evaluate gives
     * the same answer with a trace as without). */
    enum tg_policy_decision d = tg_policy_evaluate(role->trust, &req, NULL);
    tg_json_w_key(&st->dw, "trust_policy");
    tg_json_w_object(&st->dw);
    tg_json_w_key(&st->dw, "decision");
    tg_json_w_string(&st->dw, tg_policy_decision_name(d));
    tg_json_w_key(&st->dw, "statements");
    (void)tg_policy_evaluate(role->trust, &req, &st->dw);
    tg_json_w_object_end(&st->dw);
    if (d != TG_POLICY_ALLOW) {
        claim_fail(st, err, TG_E_ACCESS_DENIED, MSG_NOT_AUTHORIZED,
                   d == TG_POLICY_DENY_EXPLICIT ? "the trust policy denies explicitly"
                                                : "no statement of the trust policy allows");
        goto out;
    }

    /* 10. duration: refused, not capped (spec 1.2) */
    const json_t *msd = json_object_get(role->e.doc, "max_session_duration");
    int64_t max = json_is_integer(msd) ? json_integer_value(msd) : TG_SESSION_DEFAULT_DURATION;
    if (st->duration > max) {
        claim_fail(st, err, TG_E_VALIDATION_ERROR,
                   "The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                   "role.",
                   "DurationSeconds above the role's MaxSessionDuration");
        goto out;
    }

    /* 13. session policies */
    if (session_policies(ctx, st, &sess, err) < 0) {
        goto out;
    }

    /* mint (spec 6) */
    tg_creds_access_key_id("ASIA", ctx->rnd, ctx->rnd_ctx, sess.access_key_id);
    tg_creds_secret(ctx->rnd, ctx->rnd_ctx, sess.secret);
    const char *role_id = json_string_value(json_object_get(role->e.doc, "role_id"));
    const char *role_path = json_string_value(json_object_get(role->e.doc, "path"));
    if (copy_field(sess.account_id, sizeof(sess.account_id), ctx->snap->account_id) < 0 ||
        copy_field(sess.role_name, sizeof(sess.role_name), role_name) < 0 ||
        copy_field(sess.role_id, sizeof(sess.role_id), role_id ? role_id : "") < 0 ||
        copy_field(sess.role_path, sizeof(sess.role_path), role_path ? role_path : "/") < 0 ||
        copy_field(sess.session_name, sizeof(sess.session_name), session_name) < 0 ||
        copy_field(sess.provider_arn, sizeof(sess.provider_arn), st->provider->arn) < 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    (void)tg_concat(sess.subject, sizeof(sess.subject), st->subject, NULL);
    /* a client id: at most 255 characters (spec 7.1), so it fits */
    (void)tg_concat(sess.audience, sizeof(sess.audience), st->audience, NULL);
    sess.issued = ctx->now;
    sess.expires = ctx->now + st->duration;
    if (tg_creds_session_seal(ctx->ring, ctx->rnd, ctx->rnd_ctx, &sess, &token) < 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        tg_error_detail(err, "sealing the session failed");
        goto out;
    }
    memcpy(st->access_key_id, sess.access_key_id, sizeof(st->access_key_id));
    /* kept until the audit event is written, as the guard's forbidden values */
    memcpy(st->secret, sess.secret, sizeof(st->secret));
    if (tg_buf_append_cur(&st->session_token, tg_buf_cur(&token)) < 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }

    /* spec 1.3, AWS's element order */
    char arn[TG_IAM_MAX_ARN + 128];
    assumed_role_arn(&sess, arn, sizeof(arn));
    tg_xml_elem_str(xml, "SubjectFromWebIdentityToken", st->subject);
    tg_xml_elem_str(xml, "Audience", audience);
    tg_xml_open(xml, "AssumedRoleUser");
    tg_xml_elem_str(xml, "Arn", arn);
    (void)tg_concat(st->assumed_role_id, sizeof(st->assumed_role_id), sess.role_id, ":",
                    sess.session_name, NULL);
    tg_xml_elem_str(xml, "AssumedRoleId", st->assumed_role_id);
    tg_xml_close(xml);
    tg_xml_open(xml, "Credentials");
    tg_xml_elem(xml, "SessionToken", tg_buf_cur(&token));
    tg_xml_elem_str(xml, "SecretAccessKey", sess.secret);
    tg_xml_elem_time(xml, "Expiration", sess.expires);
    tg_xml_elem_str(xml, "AccessKeyId", sess.access_key_id);
    tg_xml_close(xml);
    /* spec 1.3: only when session policies were given; after
     * AssumedRoleUser and before Provider in the model's order */
    if (st->packed_policy_size >= 0) {
        tg_xml_elem_i64(xml, "PackedPolicySize", st->packed_policy_size);
    }
    tg_xml_elem_str(xml, "Provider", st->provider->arn);

    /* for the audit event's responseElements */
    tg_time_iso8601(sess.expires, st->expiration);
    memcpy(st->assumed_role_arn, arn, sizeof(st->assumed_role_arn));
    st->minted = true;
    tg_sts_awrwi_note(st, "reason", "allowed");
    rc = 0;
out:
    if (cc != NULL) {
        tg_sts_claim_ctx_free(cc);
        free(cc);
    }
    tg_wipe(&sess, sizeof(sess));
    tg_buf_free(&token);
    return rc;
}

void tg_sts_awrwi_free(struct tg_sts_awrwi *st)
{
    tg_wipe(st->secret, sizeof(st->secret));
    tg_buf_free(&st->session_token);
    if (st->jws_ok) {
        tg_jose_jws_free(&st->jws);
        st->jws_ok = false;
    }
    tg_buf_free(&st->decision);
}

void tg_sts_awrwi_note(struct tg_sts_awrwi *st, const char *key, const char *value)
{
    tg_json_w_key(&st->dw, key);
    tg_json_w_string(&st->dw, value);
}

struct tg_cur tg_sts_awrwi_decision(struct tg_sts_awrwi *st)
{
    tg_json_w_object_end(&st->dw);
    if (tg_json_w_finish(&st->dw) < 0) {
        return tg_cur_make(NULL, 0);
    }
    return tg_buf_cur(&st->decision);
}

/* ---- the context of a session's calls ------------------------------------------ */

/* A NUL-terminated copy of the parts in c->text, or NULL if full. */
static const char *sctx_text(struct tg_sts_session_ctx *c, const char *a, struct tg_cur b)
{
    size_t an = strlen(a);
    if (an + b.len + 1 > sizeof(c->text) - c->used) {
        return NULL;
    }
    char *d = c->text + c->used;
    memcpy(d, a, an);
    memcpy(d + an, b.ptr, b.len);
    d[an + b.len] = '\0';
    c->used += an + b.len + 1;
    return d;
}

static void sctx_add(struct tg_sts_session_ctx *c, const char *key, const char *value)
{
    if (key == NULL || value == NULL || c->n >= TG_STS_SESSION_KEYS) {
        return;
    }
    c->one[c->n] = value;
    c->entries[c->n].key = key;
    c->entries[c->n].values = &c->one[c->n];
    c->entries[c->n].n_values = 1;
    c->n++;
}

void tg_sts_session_context(struct tg_sts_session_ctx *c, const struct tg_creds_session *s,
                            const struct tg_snap_role *role, const struct tg_sts_call *call)
{
    static const struct tg_cur none = {(const uint8_t *)"", 0};
    char buf[TG_IAM_MAX_ARN + 128];
    c->n = 0;
    c->used = 0;

    tg_time_iso8601(call->now, buf);
    sctx_add(c, "aws:CurrentTime", sctx_text(c, buf, none));
    (void)tg_fmt_i64(call->now, buf);
    sctx_add(c, "aws:EpochTime", sctx_text(c, buf, none));
    sctx_add(c, "aws:SourceIp", call->source_ip);
    sctx_add(c, "aws:UserAgent", call->user_agent);
    sctx_add(c, "aws:SecureTransport", call->secure ? "true" : "false");
    /* spec 4.4: for a role session aws:PrincipalArn is the role's ARN */
    sctx_add(c, "aws:PrincipalArn", role != NULL ? role->arn : NULL);
    sctx_add(c, "aws:PrincipalAccount", s->account_id);
    sctx_add(c, "aws:PrincipalType", "AssumedRole");
    (void)tg_concat(buf, sizeof(buf), s->role_id, ":", s->session_name, NULL);
    sctx_add(c, "aws:userid", sctx_text(c, buf, none));
    tg_time_iso8601(s->issued, buf);
    sctx_add(c, "aws:TokenIssueTime", sctx_text(c, buf, none));
    if (s->provider_arn[0] != '\0') {
        sctx_add(c, "aws:FederatedProvider", s->provider_arn);
        /* spec 3.1: aud and sub stay in the context of the session's
         * calls (amr and id are Cognito's, Facebook's and Amazon's) */
        const char *part = strstr(s->provider_arn, ":oidc-provider/");
        if (part != NULL && s->audience[0] != '\0') {
            const char *key = sctx_text(c, part + strlen(":oidc-provider/"), tg_cur_str(":aud"));
            sctx_add(c, key, s->audience);
        }
        if (part != NULL && s->subject[0] != '\0') {
            const char *key = sctx_text(c, part + strlen(":oidc-provider/"), tg_cur_str(":sub"));
            sctx_add(c, key, s->subject);
        }
    }
    if (s->source_identity[0] != '\0') {
        sctx_add(c, "aws:SourceIdentity", s->source_identity);
    }
    const json_t *tags = role != NULL ? json_object_get(role->e.doc, "tags") : NULL;
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (k != NULL && v != NULL) {
            sctx_add(c, sctx_text(c, "aws:PrincipalTag/", tg_cur_str(k)), v);
        }
    }
    size_t n_keys = 0;
    for (size_t k = 0; k < call->n_tags && k < TG_IAM_MAX_TAGS; k++) {
        const char *key = sctx_text(c, "", call->tags[k].key);
        sctx_add(c, sctx_text(c, "aws:RequestTag/", call->tags[k].key),
                 sctx_text(c, "", call->tags[k].value));
        if (key != NULL) {
            c->tag_keys[n_keys++] = key;
        }
    }
    if (n_keys > 0 && c->n < TG_STS_SESSION_KEYS) {
        c->entries[c->n].key = "aws:TagKeys";
        c->entries[c->n].values = c->tag_keys;
        c->entries[c->n].n_values = n_keys;
        c->n++;
    }
}

/* ---- GetCallerIdentity -------------------------------------------------------- */

void tg_sts_caller_identity_session(const struct tg_creds_session *s, struct tg_xml *xml)
{
    char arn[TG_IAM_MAX_ARN + 128];
    assumed_role_arn(s, arn, sizeof(arn));
    tg_xml_elemf(xml, "UserId", "%s:%s", s->role_id, s->session_name);
    tg_xml_elem_str(xml, "Account", s->account_id);
    tg_xml_elem_str(xml, "Arn", arn);
}

void tg_sts_caller_identity_root(const char *account_id, struct tg_xml *xml)
{
    tg_xml_elem_str(xml, "UserId", account_id);
    tg_xml_elem_str(xml, "Account", account_id);
    tg_xml_elemf(xml, "Arn", "arn:aws:iam::%s:root", account_id);
}
