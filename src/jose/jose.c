/*
 * jose: compact JWS (RFC 7515), JWK/JWKS (RFC 7517, RFC 7518 §6, RFC 8037)
 * and the signature algorithms of RFC 7518 §3 and RFC 8037 §3.1, on
 * OpenSSL 3's EVP interface. Pure: no I/O, no global state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "jose/jose.h"

#include "json/json.h"

/* Largest RSA modulus we verify with: a 16384-bit key already costs ~60x a
 * 2048-bit verification; larger ones only serve to burn CPU. (Local until
 * the lead adds it to util/limits.h.) */
#ifndef TG_JOSE_MAX_RSA_BITS
#define TG_JOSE_MAX_RSA_BITS 16384
#endif
/* RSA public exponents above 64 bits exist only in attacks (RFC 8017 §3.1
 * allows them, no IdP uses them). */
#define RSA_MAX_E_BYTES 8

/* AWS's message for any token that is not a well-formed JWT (spec 1.4). */
#define MSG_NOT_JWT                                                                                \
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access "     \
    "Token)"
/* AWS's message when the keys cannot be used (spec 1.4; two spaces after the comma). */
#define MSG_NO_KEY                                                                                 \
    "Couldn't retrieve verification key from your identity provider,  please reference "           \
    "AssumeRoleWithWebIdentity documentation for requirements"

/* ---- algorithms ---------------------------------------------------------- */

static const char *const alg_names[TG_JOSE_ALG_COUNT] = {
    [TG_JOSE_ALG_NONE] = "",   [TG_JOSE_RS256] = "RS256", [TG_JOSE_RS384] = "RS384",
    [TG_JOSE_RS512] = "RS512", [TG_JOSE_PS256] = "PS256", [TG_JOSE_PS384] = "PS384",
    [TG_JOSE_PS512] = "PS512", [TG_JOSE_ES256] = "ES256", [TG_JOSE_ES384] = "ES384",
    [TG_JOSE_ES512] = "ES512", [TG_JOSE_EDDSA] = "EdDSA",
};

const char *tg_jose_alg_name(enum tg_jose_alg alg)
{
    if ((unsigned)alg >= TG_JOSE_ALG_COUNT) {
        return "";
    }
    return alg_names[alg];
}

enum tg_jose_alg tg_jose_alg_from_name(struct tg_cur name)
{
    for (int a = TG_JOSE_RS256; a < TG_JOSE_ALG_COUNT; a++) {
        if (tg_cur_eq_str(name, alg_names[a])) {
            return (enum tg_jose_alg)a;
        }
    }
    return TG_JOSE_ALG_NONE;
}

static bool alg_is_rsa(enum tg_jose_alg a)
{
    return a >= TG_JOSE_RS256 && a <= TG_JOSE_PS512;
}

static bool alg_is_pss(enum tg_jose_alg a)
{
    return a >= TG_JOSE_PS256 && a <= TG_JOSE_PS512;
}

/* The hash of RS*, PS* and ES* (RFC 7518 §3.1); NULL for EdDSA, which
 * hashes internally (RFC 8032 §5.1). */
static const EVP_MD *alg_md(enum tg_jose_alg a)
{
    switch (a) {
    case TG_JOSE_RS256:
    case TG_JOSE_PS256:
    case TG_JOSE_ES256:
        return EVP_sha256();
    case TG_JOSE_RS384:
    case TG_JOSE_PS384:
    case TG_JOSE_ES384:
        return EVP_sha384();
    case TG_JOSE_RS512:
    case TG_JOSE_PS512:
    case TG_JOSE_ES512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* RFC 7518 §3.4: ES256 on P-256, ES384 on P-384, ES512 on P-521. */
static int alg_curve(enum tg_jose_alg a)
{
    switch (a) {
    case TG_JOSE_ES256:
        return NID_X9_62_prime256v1;
    case TG_JOSE_ES384:
        return NID_secp384r1;
    case TG_JOSE_ES512:
        return NID_secp521r1;
    case TG_JOSE_EDDSA:
        return NID_ED25519;
    default:
        return NID_undef;
    }
}

static bool alg_fits_key(enum tg_jose_alg a, const struct tg_jose_key *k)
{
    if (alg_is_rsa(a)) {
        return k->kty == TG_JOSE_KTY_RSA;
    }
    if (a == TG_JOSE_EDDSA) {
        return k->kty == TG_JOSE_KTY_OKP && k->curve_nid == NID_ED25519;
    }
    int nid = alg_curve(a);
    return nid != NID_undef && k->kty == TG_JOSE_KTY_EC && k->curve_nid == nid;
}

/* Field size in bytes of the curves we accept (RFC 7518 §3.4, §6.2.1.2). */
static size_t curve_bytes(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1:
        return 32;
    case NID_secp384r1:
        return 48;
    case NID_secp521r1:
        return 66;
    default:
        return 0;
    }
}

/* ---- JSON ------------------------------------------------------------------ */

/* A JSON object from (p, n), duplicate keys refused (RFC 7515 §4 allows a
 * parser to refuse them, and refusing leaves no room for two parsers to
 * disagree on the value); NULL with the reason in why (why_len bytes). */
static json_t *load_object(const uint8_t *p, size_t n, char *why, size_t why_len)
{
    if (!tg_json_depth_ok(p, n, TG_JSON_MAX_DEPTH)) {
        snprintf(why, why_len, "JSON nested deeper than %d", TG_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t jerr;
    /* No JSON_ALLOW_NUL: "\u0000" in a string is refused, so every string
     * we keep is also a valid C string. */
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        snprintf(why, why_len, "invalid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, why_len, "JSON is not an object");
        return NULL;
    }
    return j;
}

/* A short, printable rendering of an untrusted string for err->detail. */
static void printable(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n >= cap && cap > 4) {
        memcpy(out + cap - 4, "...", 3);
        o = cap - 1;
    }
    out[o] = '\0';
}

/* ---- JWK ------------------------------------------------------------------------ */

/* Sets AWS's message for unusable keys and the operator detail; -1. */
static int vfail(struct tg_error *err, const char *message, const char *fmt, va_list ap)
{
    if (err == NULL) {
        return -1;
    }
    tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "%s", message);
    if (vsnprintf(err->detail, sizeof(err->detail), fmt, ap) < 0) {
        err->detail[0] = '\0';
    }
    return -1;
}

static int jwk_fail(struct tg_error *err, const char *fmt, ...) TG_PRINTF(2, 3);
static int jwk_fail(struct tg_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, MSG_NO_KEY, fmt, ap);
    va_end(ap);
    return -1;
}

/* The base64url member name of obj into out (strict, RFC 7515 §2);
 * -1 if absent, not a string or not base64url. */
static int member_b64(const json_t *obj, const char *name, struct tg_buf *out)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_string(v)) {
        return -1;
    }
    struct tg_cur c = tg_cur_make(json_string_value(v), json_string_length(v));
    return tg_base64url_decode(out, c);
}

static BIGNUM *bn_from(const struct tg_buf *b)
{
    return BN_bin2bn(b->ptr, (int)b->len, NULL);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* RFC 7518 §6.3.1: n and e, big-endian, base64url. We require 2048 bits
 * or more (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"),
 * an odd modulus and an odd exponent of at least 3 (e = 1 makes every
 * "signature" its own message). */
static int jwk_rsa(const json_t *j, struct tg_jose_key *k, struct tg_error *err)
{
    int rc = -1;
    struct tg_buf n, e;
    tg_buf_init(&n, TG_JOSE_MAX_RSA_BITS / 8 + 16);
    tg_buf_init(&e, 64);
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;

    if (member_b64(j, "n", &n) < 0 || n.len == 0) {
        jwk_fail(err, "RSA JWK: %s", "\"n\" missing, too large or not base64url");
        goto out;
    }
    if (member_b64(j, "e", &e) < 0 || e.len == 0) {
        jwk_fail(err, "RSA JWK: %s", "\"e\" missing or not base64url");
        goto out;
    }
    bn_n = bn_from(&n);
    bn_e = bn_from(&e);
    if (bn_n == NULL || bn_e == NULL) {
        jwk_fail(err, "RSA JWK: %s", "out of memory");
        goto out;
    }
    int bits = BN_num_bits(bn_n);
    if (bits < 2048 || bits > TG_JOSE_MAX_RSA_BITS) {
        jwk_fail(err, "RSA JWK: modulus of %d bits (2048..%d accepted)", bits,
                 TG_JOSE_MAX_RSA_BITS);
        goto out;
    }
    if (!BN_is_odd(bn_n)) {
        jwk_fail(err, "RSA JWK: %s", "even modulus");
        goto out;
    }
    if (BN_num_bytes(bn_e) > RSA_MAX_E_BYTES || !BN_is_odd(bn_e) || BN_is_one(bn_e)) {
        jwk_fail(err, "RSA JWK: %s", "public exponent not odd, 1, or above 64 bits");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        jwk_fail(err, "RSA JWK: %s", "out of memory");
        goto out;
    }
    k->pkey = pkey_fromdata("RSA", bld);
    if (k->pkey == NULL) {
        jwk_fail(err, "RSA JWK: %s", "OpenSSL refused the key");
        goto out;
    }
    k->kty = TG_JOSE_KTY_RSA;
    k->bits = bits;
    rc = 0;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    tg_buf_free(&n);
    tg_buf_free(&e);
    return rc;
}

/* RFC 7518 §6.2.1: crv, and x and y each the full size of a coordinate.
 * The point must be on the curve (an invalid-curve point would let a
 * forger choose a weak group). */
static int jwk_ec(const json_t *j, struct tg_jose_key *k, struct tg_error *err)
{
    int rc = -1;
    struct tg_buf x, y;
    tg_buf_init(&x, 128);
    tg_buf_init(&y, 128);
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *check = NULL;
    uint8_t point[1 + 2 * 66];

    const char *crv = json_string_value(json_object_get(j, "crv"));
    int nid = NID_undef;
    const char *group = NULL;
    if (crv == NULL) {
        jwk_fail(err, "EC JWK: %s", "\"crv\" missing");
        goto out;
    } else if (strcmp(crv, "P-256") == 0) {
        nid = NID_X9_62_prime256v1;
        group = SN_X9_62_prime256v1;
    } else if (strcmp(crv, "P-384") == 0) {
        nid = NID_secp384r1;
        group = SN_secp384r1;
    } else if (strcmp(crv, "P-521") == 0) {
        nid = NID_secp521r1;
        group = SN_secp521r1;
    } else {
        char p[40];
        printable(crv, strlen(crv), p, sizeof(p));
        jwk_fail(err, "EC JWK: unsupported curve \"%s\"", p);
        goto out;
    }
    size_t clen = curve_bytes(nid);
    if (member_b64(j, "x", &x) < 0 || member_b64(j, "y", &y) < 0) {
        jwk_fail(err, "EC JWK: %s", "\"x\" or \"y\" missing or not base64url");
        goto out;
    }
    if (x.len != clen || y.len != clen) {
        jwk_fail(err, "EC JWK: %s", "\"x\" or \"y\" not the full coordinate size");
        goto out;
    }
    /* SEC 1 §2.3.3 uncompressed point: 0x04 || x || y. */
    point[0] = 0x04;
    memcpy(point + 1, x.ptr, clen);
    memcpy(point + 1 + clen, y.ptr, clen);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * clen)) {
        jwk_fail(err, "EC JWK: %s", "out of memory");
        goto out;
    }
    k->pkey = pkey_fromdata("EC", bld);
    if (k->pkey == NULL) {
        jwk_fail(err, "EC JWK: %s", "point not on the curve");
        goto out;
    }
    /* fromdata already decodes the point onto the curve; the public check
     * also refuses the point at infinity and points outside the subgroup. */
    check = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        jwk_fail(err, "EC JWK: %s", "point not on the curve");
        goto out;
    }
    k->kty = TG_JOSE_KTY_EC;
    k->curve_nid = nid;
    rc = 0;
out:
    EVP_PKEY_CTX_free(check);
    OSSL_PARAM_BLD_free(bld);
    tg_buf_free(&x);
    tg_buf_free(&y);
    return rc;
}

/* RFC 8037 §2: crv "Ed25519" and the 32-byte x. Ed448 and the X curves
 * (key agreement) are not signature keys we accept. */
static int jwk_okp(const json_t *j, struct tg_jose_key *k, struct tg_error *err)
{
    int rc = -1;
    struct tg_buf x;
    tg_buf_init(&x, 64);
    const char *crv = json_string_value(json_object_get(j, "crv"));
    if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
        jwk_fail(err, "OKP JWK: %s", "\"crv\" is not Ed25519");
        goto out;
    }
    if (member_b64(j, "x", &x) < 0 || x.len != 32) {
        jwk_fail(err, "OKP JWK: %s", "\"x\" missing, not base64url or not 32 bytes");
        goto out;
    }
    k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x.ptr, x.len);
    if (k->pkey == NULL) {
        jwk_fail(err, "OKP JWK: %s", "OpenSSL refused the key");
        goto out;
    }
    k->kty = TG_JOSE_KTY_OKP;
    k->curve_nid = NID_ED25519;
    rc = 0;
out:
    tg_buf_free(&x);
    return rc;
}

/* RFC 7517 §4.2 "use" and §4.3 "key_ops": if present, they must allow
 * verifying signatures. */
static int jwk_usage(const json_t *j, struct tg_error *err)
{
    const json_t *use = json_object_get(j, "use");
    if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        return jwk_fail(err, "JWK: %s", "\"use\" is not \"sig\"");
    }
    const json_t *ops = json_object_get(j, "key_ops");
    if (ops != NULL) {
        if (!json_is_array(ops)) {
            return jwk_fail(err, "JWK: %s", "\"key_ops\" is not an array");
        }
        bool verify = false;
        size_t i;
        const json_t *op;
        json_array_foreach(ops, i, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) {
                verify = true;
            }
        }
        if (!verify) {
            return jwk_fail(err, "JWK: %s", "\"key_ops\" does not include \"verify\"");
        }
    }
    return 0;
}

static void prepare_verify(struct tg_jose_key *k);

static int jwk_from_json(const json_t *j, struct tg_jose_key *out, struct tg_error *err)
{
    /* Members that only a private or symmetric key has (RFC 7518 §6.2.2,
     * §6.3.2, §6.4.1; RFC 8037 §2): a JWKS that publishes them has leaked
     * its secret, and such a key must not be trusted. */
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    struct tg_jose_key k;
    memset(&k, 0, sizeof(k));

    if (!json_is_object(j)) {
        return jwk_fail(err, "JWK: %s", "not a JSON object");
    }
    const char *kty = json_string_value(json_object_get(j, "kty"));
    if (kty == NULL) {
        return jwk_fail(err, "JWK: %s", "\"kty\" missing or not a string");
    }
    for (size_t i = 0; i < TG_ARRAY_LEN(private_members); i++) {
        if (json_object_get(j, private_members[i]) != NULL) {
            return jwk_fail(err, "JWK: private or symmetric key material (\"%s\") refused",
                            private_members[i]);
        }
    }
    TG_GUARD(jwk_usage(j, err));

    const json_t *alg = json_object_get(j, "alg");
    if (alg != NULL) {
        if (!json_is_string(alg)) {
            return jwk_fail(err, "JWK: %s", "\"alg\" is not a string");
        }
        k.alg = tg_jose_alg_from_name(tg_cur_make(json_string_value(alg), json_string_length(alg)));
        if (k.alg == TG_JOSE_ALG_NONE) {
            char p[40];
            printable(json_string_value(alg), json_string_length(alg), p, sizeof(p));
            return jwk_fail(err, "JWK: \"alg\" \"%s\" is not a signature algorithm we accept", p);
        }
    }
    const json_t *kid = json_object_get(j, "kid");
    if (kid != NULL) {
        if (!json_is_string(kid)) {
            return jwk_fail(err, "JWK: %s", "\"kid\" is not a string");
        }
        size_t n = json_string_length(kid);
        if (n > TG_JOSE_MAX_KID) {
            return jwk_fail(err, "JWK: %s", "\"kid\" too long");
        }
        memcpy(k.kid, json_string_value(kid), n);
        k.kid[n] = '\0';
        k.has_kid = true;
    }

    if (strcmp(kty, "RSA") == 0) {
        TG_GUARD(jwk_rsa(j, &k, err));
    } else if (strcmp(kty, "EC") == 0) {
        TG_GUARD(jwk_ec(j, &k, err));
    } else if (strcmp(kty, "OKP") == 0) {
        TG_GUARD(jwk_okp(j, &k, err));
    } else {
        char p[40];
        printable(kty, json_string_length(json_object_get(j, "kty")), p, sizeof(p));
        return jwk_fail(err, "JWK: key type \"%s\" refused (RSA, EC and OKP only)", p);
    }
    if (k.alg != TG_JOSE_ALG_NONE && !alg_fits_key(k.alg, &k)) {
        EVP_PKEY_free(k.pkey);
        return jwk_fail(err, "JWK: \"alg\" %s does not fit the key type or curve",
                        tg_jose_alg_name(k.alg));
    }
    prepare_verify(&k);
    *out = k;
    return 0;
}

int tg_jose_jwk_parse(const uint8_t *json, size_t len, struct tg_jose_key *out,
                      struct tg_error *err)
{
    char why[256];
    if (len > TG_JOSE_MAX_JWKS) {
        return jwk_fail(err, "JWK: %s", "document too large");
    }
    json_t *j = load_object(json, len, why, sizeof(why));
    if (j == NULL) {
        return jwk_fail(err, "JWK: %s", why);
    }
    int rc = jwk_from_json(j, out, err);
    json_decref(j);
    return rc;
}

void tg_jose_key_clear(struct tg_jose_key *k)
{
    if (k == NULL) {
        return;
    }
    for (size_t a = 0; a < TG_JOSE_ALG_COUNT; a++) {
        EVP_MD_CTX_free(k->vctx[a]);
    }
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* ---- JWKS ---------------------------------------------------------------------- */

int tg_jose_keyset_parse(const uint8_t *json, size_t len, struct tg_jose_keyset **out,
                         size_t *skipped, struct tg_error *err)
{
    int rc = -1;
    char why[256];
    json_t *j = NULL;
    struct tg_jose_keyset *ks = NULL;
    size_t skip = 0;

    if (len > TG_JOSE_MAX_JWKS) {
        jwk_fail(err, "JWKS: %s", "document too large");
        goto out;
    }
    j = load_object(json, len, why, sizeof(why));
    if (j == NULL) {
        jwk_fail(err, "JWKS: %s", why);
        goto out;
    }
    /* RFC 7517 §5: a JWK Set is an object whose "keys" is an array. */
    const json_t *keys = json_object_get(j, "keys");
    if (!json_is_array(keys)) {
        jwk_fail(err, "JWKS: %s", "\"keys\" missing or not an array");
        goto out;
    }
    size_t n = json_array_size(keys);
    if (n > TG_JOSE_MAX_KEYS) {
        jwk_fail(err, "JWKS: %s", "more keys than TG_JOSE_MAX_KEYS");
        goto out;
    }
    ks = calloc(1, sizeof(*ks));
    if (ks == NULL || (n > 0 && (ks->keys = calloc(n, sizeof(*ks->keys))) == NULL)) {
        jwk_fail(err, "JWKS: %s", "out of memory");
        goto out;
    }
    atomic_init(&ks->refs, 1);
    for (size_t i = 0; i < n; i++) {
        /* RFC 7517 §5: "Implementations SHOULD ignore JWKs within a JWK Set
         * that use "kty" values that are not understood by them, that are
         * missing required members, or for which values are out of the
         * supported ranges." */
        struct tg_error kerr;
        if (jwk_from_json(json_array_get(keys, i), &ks->keys[ks->n], &kerr) == 0) {
            ks->n++;
        } else {
            skip++;
        }
    }
    *out = ks;
    ks = NULL;
    if (skipped != NULL) {
        *skipped = skip;
    }
    rc = 0;
out:
    json_decref(j);
    if (ks != NULL) {
        free(ks->keys);
        free(ks);
    }
    return rc;
}

struct tg_jose_keyset *tg_jose_keyset_ref(struct tg_jose_keyset *ks)
{
    if (ks != NULL) {
        atomic_fetch_add(&ks->refs, 1);
    }
    return ks;
}

void tg_jose_keyset_release(struct tg_jose_keyset *ks)
{
    if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1) {
        return;
    }
    for (size_t i = 0; i < ks->n; i++) {
        tg_jose_key_clear(&ks->keys[i]);
    }
    free(ks->keys);
    free(ks);
}

size_t tg_jose_keyset_candidates(const struct tg_jose_keyset *ks, struct tg_cur kid,
                                 enum tg_jose_alg alg, const struct tg_jose_key **out, size_t max)
{
    size_t found = 0;
    if (ks == NULL || alg == TG_JOSE_ALG_NONE || (unsigned)alg >= TG_JOSE_ALG_COUNT) {
        return 0;
    }
    for (size_t i = 0; i < ks->n && found < max; i++) {
        const struct tg_jose_key *k = &ks->keys[i];
        if (kid.len > 0 && (!k->has_kid || !tg_cur_eq_str(kid, k->kid))) {
            continue;
        }
        /* RFC 7517 §4.4: a key's "alg" names the one algorithm it is meant
         * for; a key of the right type may not be used with another. */
        if (!alg_fits_key(alg, k) || (k->alg != TG_JOSE_ALG_NONE && k->alg != alg)) {
            continue;
        }
        out[found++] = k;
    }
    return found;
}

/* ---- signatures ----------------------------------------------------------------- */

/* ECDSA: JWS carries r || s, each left-padded to the field size (RFC 7518
 * §3.4); OpenSSL wants the DER Ecdsa-Sig-Value. Exactly 2 x the size is
 * accepted, anything else (DER, trimmed halves) is refused. */
static int ecdsa_der(const struct tg_jose_key *key, struct tg_cur sig, uint8_t **der, int *der_len)
{
    size_t clen = curve_bytes(key->curve_nid);
    if (clen == 0 || sig.len != 2 * clen) {
        return -1;
    }
    int rc = -1;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = BN_bin2bn(sig.ptr, (int)clen, NULL);
    BIGNUM *s = BN_bin2bn(sig.ptr + clen, (int)clen, NULL);
    /* r and s must be in [1, n-1] (SEC 1 §4.1.4 step 1); OpenSSL checks
     * too, but zero is the classic forgery ("psychic signatures",
     * CVE-2022-21449) and costs nothing to refuse here. */
    if (r == NULL || s == NULL || BN_is_zero(r) || BN_is_zero(s)) {
        goto out;
    }
    es = ECDSA_SIG_new();
    if (es == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        goto out;
    }
    r = NULL; /* owned by es now */
    s = NULL;
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(es, der);
    if (*der_len <= 0) {
        goto out;
    }
    rc = 0;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}

/* A context ready for EVP_DigestVerify of alg under key; NULL on failure. */
static EVP_MD_CTX *verify_ctx_new(const struct tg_jose_key *key, enum tg_jose_alg alg)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestVerifyInit(mctx, &pctx, alg_md(alg), NULL, key->pkey) != 1) {
        goto fail;
    }
    if (alg_is_pss(alg)) {
        /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
         * OpenSSL's default for verification is to recover any salt length
         * (RSA_PSS_SALTLEN_AUTO), which would accept signatures made with
         * other parameters: pin all three. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg_md(alg)) != 1) {
            goto fail;
        }
    } else if (alg_is_rsa(alg)) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
            goto fail;
        }
    }
    return mctx;
fail:
    EVP_MD_CTX_free(mctx); /* frees pctx too */
    return NULL;
}

/* Prepares k->vctx for the RSA algorithms k may be used with (its "alg",
 * or all six without one); a context that cannot be prepared is left NULL
 * and built per call instead. */
static void prepare_verify(struct tg_jose_key *k)
{
    if (k->kty != TG_JOSE_KTY_RSA) {
        return;
    }
    for (int a = TG_JOSE_RS256; a <= TG_JOSE_PS512; a++) {
        if (k->alg == TG_JOSE_ALG_NONE || k->alg == (enum tg_jose_alg)a) {
            k->vctx[a] = verify_ctx_new(k, (enum tg_jose_alg)a);
        }
    }
    ERR_clear_error();
}

int tg_jose_verify(const struct tg_jose_key *key, enum tg_jose_alg alg, struct tg_cur input,
                   struct tg_cur sig)
{
    if (key == NULL || key->pkey == NULL || (unsigned)alg >= TG_JOSE_ALG_COUNT ||
        alg == TG_JOSE_ALG_NONE || !alg_fits_key(alg, key)) {
        return -1;
    }
    int rc = -1;
    EVP_MD_CTX *mctx = NULL;
    uint8_t *der = NULL;
    int der_len = 0;
    const uint8_t *s = sig.ptr;
    size_t slen = sig.len;

    if (alg_is_rsa(alg)) {
        /* RFC 8017 §8.2.2 step 1 and §8.1.2 step 1: the signature is
         * exactly k octets, k the modulus length. */
        if (slen != (size_t)EVP_PKEY_get_size(key->pkey)) {
            goto out;
        }
    } else if (alg == TG_JOSE_EDDSA) {
        if (slen != 64) { /* RFC 8032 §5.1.7 */
            goto out;
        }
    } else {
        TG_GUARD_GOTO(ecdsa_der(key, sig, &der, &der_len), out);
        s = der;
        slen = (size_t)der_len;
    }
    const EVP_MD_CTX *prepared = key->vctx[alg];
    if (prepared != NULL) {
        /* The copy has its own EVP_PKEY_CTX (EVP_PKEY_CTX_dup): the shared
         * prepared context is only read. */
        mctx = EVP_MD_CTX_new();
        if (mctx != NULL && EVP_MD_CTX_copy_ex(mctx, prepared) != 1) {
            EVP_MD_CTX_free(mctx);
            mctx = NULL;
        }
    }
    if (mctx == NULL) {
        ERR_clear_error();
        mctx = verify_ctx_new(key, alg);
        if (mctx == NULL) {
            goto out;
        }
    }
    if (EVP_DigestVerify(mctx, s, slen, input.ptr, input.len) == 1) {
        rc = 0;
    }
out:
    if (rc != 0) {
        /* A failed verification leaves entries on this thread's error
         * queue; they mean nothing to the next caller. */
        ERR_clear_error();
    }
    EVP_MD_CTX_free(mctx); /* frees its EVP_PKEY_CTX too */
    OPENSSL_free(der);
    return rc;
}

/* ---- compact JWS ---------------------------------------------------------------- */

static int jws_fail(struct tg_error *err, const char *fmt, ...) TG_PRINTF(2, 3);
static int jws_fail(struct tg_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, MSG_NOT_JWT, fmt, ap);
    va_end(ap);
    return -1;
}

static bool b64_ok(struct tg_cur part)
{
    struct tg_buf b;
    tg_buf_init(&b, TG_JOSE_MAX_TOKEN);
    bool ok = tg_base64url_decode(&b, part) == 0;
    tg_buf_free(&b);
    return ok;
}

/* Decodes one base64url part and reads it as a JSON object: duplicate
 * names refused (RFC 7515 §4 allows a parser to refuse them, and refusing
 * leaves no room for two parsers to disagree on a claim), at most
 * TG_JOSE_MAX_CLAIMS members and TG_JSON_MAX_DEPTH levels. */
static int part_object(struct tg_cur part, const char *what, struct tg_json_object *out,
                       struct tg_error *err)
{
    char why[256];
    struct tg_buf b;
    tg_buf_init(&b, TG_JOSE_MAX_TOKEN);
    int rc = -1;
    if (tg_base64url_decode(&b, part) < 0) {
        jws_fail(err, "JWS %s: not strict base64url (RFC 7515 section 2)", what);
        goto out;
    }
    if (tg_json_object_parse(tg_buf_cur(&b), TG_JOSE_MAX_CLAIMS, TG_JSON_MAX_DEPTH, out, why,
                             sizeof(why)) < 0) {
        jws_fail(err, "JWS %s: %s", what, why);
        goto out;
    }
    rc = 0;
out:
    tg_buf_free(&b);
    return rc;
}

/* The header's "alg" (RFC 7515 §4.1.1), checked against allowed. */
static int header_alg(const struct tg_json_object *h, uint32_t allowed, enum tg_jose_alg *out,
                      struct tg_error *err)
{
    const struct tg_json_member *a = tg_json_object_get(h, "alg");
    if (a == NULL || a->type != TG_JSON_STRING) {
        return jws_fail(err, "JWS header: %s", "\"alg\" missing or not a string");
    }
    struct tg_cur name = tg_cur_make(a->str, a->str_len);
    enum tg_jose_alg alg = tg_jose_alg_from_name(name);
    if (alg == TG_JOSE_ALG_NONE) {
        /* "none" (RFC 7518 §3.6) proves nothing; HMAC needs a shared
         * secret an issuer never gives us, and verifying HS256 "with the
         * public key" is the classic key-confusion forgery. */
        char p[40];
        printable((const char *)name.ptr, name.len, p, sizeof(p));
        bool known = tg_cur_eq_str(name, "none") || tg_cur_eq_str(name, "HS256") ||
                     tg_cur_eq_str(name, "HS384") || tg_cur_eq_str(name, "HS512");
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "%s",
                     known ? "The ID Token is signed with an algorithm that is not allowed"
                           : MSG_NOT_JWT);
        return tg_error_detail(err, "JWS header: \"alg\" \"%s\" is never accepted", p);
    }
    if ((allowed & TG_JOSE_ALG_BIT(alg)) == 0) {
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN,
                     "The ID Token is signed with an algorithm that is not allowed");
        return tg_error_detail(err, "JWS header: \"alg\" %s is not allowed for this provider",
                               tg_jose_alg_name(alg));
    }
    *out = alg;
    return 0;
}

int tg_jose_jws_parse(const uint8_t *token, size_t len, uint32_t allowed, struct tg_jws *out,
                      struct tg_error *err)
{
    int rc = -1;
    struct tg_json_object header = {0}, payload = {0};
    bool has_payload = false;
    struct tg_buf sig;
    tg_buf_init(&sig, TG_JOSE_MAX_TOKEN);
    enum tg_jose_alg alg = TG_JOSE_ALG_NONE;

    if (token == NULL || len == 0 || len > TG_JOSE_MAX_TOKEN) {
        jws_fail(err, "JWS: %s", "empty or longer than TG_JOSE_MAX_TOKEN");
        goto out;
    }
    /* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.'
     * BASE64URL(signature); exactly two dots (five parts would be a JWE,
     * RFC 7516 §7.1, which we do not accept). */
    struct tg_cur tok = tg_cur_make(token, len);
    long d1 = tg_cur_find(tok, '.', 0);
    long d2 = d1 < 0 ? -1 : tg_cur_find(tok, '.', (size_t)d1 + 1);
    if (d1 < 0 || d2 < 0 || tg_cur_find(tok, '.', (size_t)d2 + 1) >= 0) {
        jws_fail(err, "JWS: %s", "not three dot-separated parts");
        goto out;
    }
    struct tg_cur h64 = tg_cur_make(token, (size_t)d1);
    struct tg_cur p64 = tg_cur_make(token + d1 + 1, (size_t)(d2 - d1 - 1));
    struct tg_cur s64 = tg_cur_make(token + d2 + 1, len - (size_t)d2 - 1);

    TG_GUARD_GOTO(part_object(h64, "header", &header, err), out);
    TG_GUARD_GOTO(header_alg(&header, allowed, &alg, err), out);
    /* RFC 7515 §4.1.11: a recipient MUST reject a JWS whose "crit" names an
     * extension it does not understand; we understand none (RFC 7797 b64
     * included), and an empty list is itself invalid. */
    if (tg_json_object_get(&header, "crit") != NULL) {
        jws_fail(err, "JWS header: %s", "\"crit\" present; no extension is understood");
        goto out;
    }
    /* "jku", "x5u", "jwk" and "x5c" (RFC 7515 §4.1.2-4.1.6) are ignored:
     * the keys come only from the provider's JWKS, never from the token. */
    const struct tg_json_member *kid = tg_json_object_get(&header, "kid");
    if (kid != NULL) {
        if (kid->type != TG_JSON_STRING || kid->str_len == 0 || kid->str_len > TG_JOSE_MAX_KID) {
            jws_fail(err, "JWS header: %s", "\"kid\" not a string of 1..TG_JOSE_MAX_KID bytes");
            goto out;
        }
    }
    if ((allowed & TG_JOSE_JWS_ANY_PAYLOAD) != 0) {
        struct tg_error ignored;
        has_payload = part_object(p64, "payload", &payload, &ignored) == 0;
        if (!has_payload && !b64_ok(p64)) {
            jws_fail(err, "JWS payload: %s", "not strict base64url (RFC 7515 section 2)");
            goto out;
        }
    } else {
        TG_GUARD_GOTO(part_object(p64, "payload", &payload, err), out);
        has_payload = true;
    }
    if (tg_base64url_decode(&sig, s64) < 0 || sig.len == 0) {
        jws_fail(err, "JWS signature: %s", "empty or not strict base64url");
        goto out;
    }

    memset(out, 0, sizeof(*out));
    out->alg = alg;
    if (kid != NULL) {
        memcpy(out->kid, kid->str, kid->str_len);
        out->kid[kid->str_len] = '\0';
        out->has_kid = true;
    }
    out->signing_input = tg_cur_make(token, (size_t)d2);
    out->signature = sig;
    tg_buf_init(&sig, 0);
    out->header = header;
    out->claims = payload;
    out->has_claims = has_payload;
    memset(&header, 0, sizeof(header));
    memset(&payload, 0, sizeof(payload));
    rc = 0;
out:
    tg_json_object_free(&header);
    tg_json_object_free(&payload);
    tg_buf_free(&sig);
    return rc;
}

void tg_jose_jws_free(struct tg_jws *jws)
{
    if (jws == NULL) {
        return;
    }
    tg_buf_free(&jws->signature);
    tg_json_object_free(&jws->header);
    tg_json_object_free(&jws->claims);
    memset(jws, 0, sizeof(*jws));
}

int tg_jose_jws_verify(const struct tg_jws *jws, const struct tg_jose_keyset *ks,
                       const struct tg_jose_key **used, bool *no_key)
{
    const struct tg_jose_key *cand[TG_JOSE_MAX_KEYS];
    struct tg_cur kid = jws->has_kid ? tg_cur_str(jws->kid) : tg_cur_make(NULL, 0);
    size_t n = tg_jose_keyset_candidates(ks, kid, jws->alg, cand, TG_ARRAY_LEN(cand));
    if (no_key != NULL) {
        *no_key = (n == 0);
    }
    for (size_t i = 0; i < n; i++) {
        if (tg_jose_verify(cand[i], jws->alg, jws->signing_input, tg_buf_cur(&jws->signature)) ==
            0) {
            if (used != NULL) {
                *used = cand[i];
            }
            return 0;
        }
    }
    return -1;
}
