/*
 * jose: compact JWS (RFC 7515) and JWK/JWKS (RFC 7517, RFC 7518, RFC 8037)
 * for verifying OIDC ID tokens. Pure: OpenSSL's libcrypto only, no I/O.
 *
 * Only asymmetric algorithms exist here: "none" and every HMAC algorithm are
 * refused at parse time, whatever a provider allows (spec 2).
 */
#ifndef TG_JOSE_H
#define TG_JOSE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdatomic.h>

#include "json/json.h"
#include "util/util.h"

enum tg_jose_alg {
    TG_JOSE_ALG_NONE = 0, /* not an algorithm: "absent" or "not allowed" */
    TG_JOSE_RS256,
    TG_JOSE_RS384,
    TG_JOSE_RS512,
    TG_JOSE_PS256,
    TG_JOSE_PS384,
    TG_JOSE_PS512,
    TG_JOSE_ES256,
    TG_JOSE_ES384,
    TG_JOSE_ES512,
    TG_JOSE_EDDSA,
    TG_JOSE_ALG_COUNT
};

#define TG_JOSE_ALG_BIT(a) (1u << (unsigned)(a))
/* What AWS accepts (bc-sts WebIdentityToken doc): RS256/384/512, ES256/384/512. */
#define TG_JOSE_ALGS_AWS                                                                           \
    (TG_JOSE_ALG_BIT(TG_JOSE_RS256) | TG_JOSE_ALG_BIT(TG_JOSE_RS384) |                             \
     TG_JOSE_ALG_BIT(TG_JOSE_RS512) | TG_JOSE_ALG_BIT(TG_JOSE_ES256) |                             \
     TG_JOSE_ALG_BIT(TG_JOSE_ES384) | TG_JOSE_ALG_BIT(TG_JOSE_ES512))
#define TG_JOSE_ALGS_ALL                                                                           \
    (TG_JOSE_ALGS_AWS | TG_JOSE_ALG_BIT(TG_JOSE_PS256) | TG_JOSE_ALG_BIT(TG_JOSE_PS384) |          \
     TG_JOSE_ALG_BIT(TG_JOSE_PS512) | TG_JOSE_ALG_BIT(TG_JOSE_EDDSA))

/* Not an algorithm: in tg_jose_jws_parse's allowed mask, accept a payload
 * that is not a JSON object (RFC 7515 allows any bytes; out->has_claims is
 * then false unless it is one). Only for generic JWS test vectors: the server
 * never sets it, since a JWT's claims are a JSON object (RFC 7519 7.2). */
#define TG_JOSE_JWS_ANY_PAYLOAD (1u << 31)

/* "RS256"...; "" for TG_JOSE_ALG_NONE. */
const char *tg_jose_alg_name(enum tg_jose_alg alg);
/* Exact, case-sensitive name; TG_JOSE_ALG_NONE if unknown or not asymmetric. */
enum tg_jose_alg tg_jose_alg_from_name(struct tg_cur name);

enum tg_jose_kty {
    TG_JOSE_KTY_RSA = 1,
    TG_JOSE_KTY_EC,
    TG_JOSE_KTY_OKP,
};

/* One public key. */
struct tg_jose_key {
    EVP_PKEY *pkey; /* owned */
    enum tg_jose_kty kty;
    int curve_nid; /* EC: NID_X9_62_prime256v1 / NID_secp384r1 / NID_secp521r1; OKP: NID_ED25519 */
    int bits;      /* RSA modulus bits */
    enum tg_jose_alg alg; /* the JWK's "alg", TG_JOSE_ALG_NONE if absent */
    bool has_kid;
    char kid[TG_JOSE_MAX_KID + 1];
    /* RSA: per algorithm, a verification context prepared once (digest,
     * padding, PSS parameters set), copied for each verification; never
     * used directly, so the key can be shared between threads. NULL where
     * not prepared: tg_jose_verify then builds its context from scratch. */
    EVP_MD_CTX *vctx[TG_JOSE_ALG_COUNT]; /* owned */
};

/* A key set, immutable once parsed, shared by reference (the JWKS cache
 * hands out references to the set it holds). */
struct tg_jose_keyset {
    atomic_int refs;
    struct tg_jose_key *keys;
    size_t n;
};

/*
 * Parses one JWK (a JSON object's text). Accepted: RSA of 2048 bits or more
 * with n/e; EC P-256/P-384/P-521 with x/y (points checked to be on the
 * curve); OKP Ed25519. Refused (-1, err says why, for the operator): private
 * keys ("d" present), "use" other than "sig", "key_ops" without "verify",
 * an "alg" that does not fit the key type, oct keys, bad base64url.
 * On success out is filled and owned by the caller (tg_jose_key_clear).
 */
int tg_jose_jwk_parse(const uint8_t *json, size_t len, struct tg_jose_key *out,
                      struct tg_error *err) TG_MUST_USE;
void tg_jose_key_clear(struct tg_jose_key *k);

/*
 * Parses a JWKS ({"keys":[...]}, at most TG_JOSE_MAX_KEYS keys). Keys that
 * do not fit (see tg_jose_jwk_parse) are skipped, their count in *skipped
 * (may be NULL). Fails only if the document is not a JWKS at all, or too
 * large. An empty usable set is a success with n == 0. Returns owned with
 * one reference (tg_jose_keyset_release).
 */
int tg_jose_keyset_parse(const uint8_t *json, size_t len, struct tg_jose_keyset **out,
                         size_t *skipped, struct tg_error *err) TG_MUST_USE;
struct tg_jose_keyset *tg_jose_keyset_ref(struct tg_jose_keyset *ks);
void tg_jose_keyset_release(struct tg_jose_keyset *ks);

/*
 * The keys of ks that may verify a token signed with alg and header kid
 * (kid.len == 0: the token has no kid, so every key is a candidate): kid
 * equal, key type fitting alg (RS/PS: RSA; ES256: P-256, ES384: P-384,
 * ES512: P-521; EdDSA: Ed25519), and the key's own alg absent or equal.
 * Writes up to max pointers (borrowed from ks) to out; returns the count.
 */
size_t tg_jose_keyset_candidates(const struct tg_jose_keyset *ks, struct tg_cur kid,
                                 enum tg_jose_alg alg, const struct tg_jose_key **out, size_t max);

/*
 * Verifies sig over input with key under alg: PKCS#1 v1.5 for RS*, PSS with
 * MGF1 of the same hash and salt length = hash length for PS* (RFC 7518
 * 3.5; other salt lengths are refused), ECDSA with the JWS raw r||s form of
 * exactly 2 x the curve's byte length for ES* (converted to DER here), and
 * Ed25519 for EdDSA. Returns 0 if valid, -1 otherwise (including a key that
 * does not fit alg). Never aborts on hostile input.
 */
int tg_jose_verify(const struct tg_jose_key *key, enum tg_jose_alg alg, struct tg_cur input,
                   struct tg_cur sig) TG_MUST_USE;

/* A parsed compact JWS. */
struct tg_jws {
    enum tg_jose_alg alg;
    bool has_kid;
    char kid[TG_JOSE_MAX_KID + 1];
    struct tg_cur signing_input;  /* "header.payload", borrowed from the token */
    struct tg_buf signature;      /* decoded; owned */
    struct tg_json_object header; /* owned */
    struct tg_json_object claims; /* owned: the payload's members */
    bool has_claims;              /* see TG_JOSE_JWS_ANY_PAYLOAD */
};

/*
 * Parses a compact JWS (RFC 7515 3.1): exactly three parts; strict
 * base64url (no padding, no whitespace, canonical trailing bits); header
 * and payload are JSON objects, duplicate keys refused, nesting at most
 * TG_JSON_MAX_DEPTH; the token at most TG_JOSE_MAX_TOKEN bytes.
 * The header's alg must be in allowed (a mask of TG_JOSE_ALG_BIT); "none"
 * and HS* are always refused; "crit" naming anything is refused (we
 * understand no extension); "jku", "x5u", "jwk" and "x5c" are ignored,
 * never used to find a key; "kid", if present, is a string of at most
 * TG_JOSE_MAX_KID bytes. Errors are InvalidIdentityToken with a message
 * safe to return; err->detail says exactly what was wrong. out is filled
 * only on success (free with tg_jose_jws_free).
 */
int tg_jose_jws_parse(const uint8_t *token, size_t len, uint32_t allowed, struct tg_jws *out,
                      struct tg_error *err) TG_MUST_USE;
void tg_jose_jws_free(struct tg_jws *jws);

/*
 * Verifies jws with the keys of ks (tg_jose_keyset_candidates, then
 * tg_jose_verify on each until one succeeds). Returns 0 and the key used
 * in *used (borrowed from ks; may be NULL), or -1: no candidate key
 * (*no_key = true) or a bad signature (*no_key = false).
 */
int tg_jose_jws_verify(const struct tg_jws *jws, const struct tg_jose_keyset *ks,
                       const struct tg_jose_key **used, bool *no_key) TG_MUST_USE;

#endif
