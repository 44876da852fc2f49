/*
 * creds: secrets at rest and credential formats. AES-256-GCM sealing under
 * a 256-bit key (the master key now; the session key ring later, ARCHITECTURE
 * decision 1), access key ids and secret access keys (spec 6). Pure:
 * randomness is a parameter.
 */
#ifndef TG_CREDS_H
#define TG_CREDS_H

#include "util/util.h"

#define TG_CREDS_KEY_LEN 32   /* AES-256 */
#define TG_CREDS_NONCE_LEN 12 /* GCM's 96-bit nonce */
#define TG_CREDS_TAG_LEN 16
#define TG_CREDS_SEAL_OVERHEAD (1 + TG_CREDS_NONCE_LEN + TG_CREDS_TAG_LEN)
#define TG_CREDS_SEAL_VERSION 1
#define TG_CREDS_ACCESS_KEY_ID_LEN 20 /* 4-char prefix + 16 base32 chars */
#define TG_CREDS_SECRET_LEN 40        /* base64 alphabet */

/*
 * Seals plaintext: out gets version byte || nonce || ciphertext || tag.
 * aad (may be empty) is authenticated, not stored: the same aad must be
 * given to open (use it to bind a sealed value to its purpose, e.g.
 * "admin-secret:AKIA..."). Appends to out.
 */
int tg_creds_seal(const uint8_t key[TG_CREDS_KEY_LEN], tg_random_fn rnd, void *rnd_ctx,
                  struct tg_cur aad, struct tg_cur plaintext, struct tg_buf *out) TG_MUST_USE;
/* Opens a sealed value; -1 if it was tampered with, cut, sealed under
 * another key or aad. out should be a secret buffer (tg_buf_init_secret). */
int tg_creds_open(const uint8_t key[TG_CREDS_KEY_LEN], struct tg_cur aad, struct tg_cur sealed,
                  struct tg_buf *out) TG_MUST_USE;

/* prefix ("AKIA", "ASIA", "AROA", "ANPA") + 16 chars of A-Z2-7; out holds
 * 21 bytes. */
void tg_creds_access_key_id(const char *prefix, tg_random_fn rnd, void *rnd_ctx, char out[21]);
/* 40 chars of the base64 alphabet [A-Za-z0-9+/]; out holds 41 bytes.
 * The caller wipes it. */
void tg_creds_secret(tg_random_fn rnd, void *rnd_ctx, char out[41]);
/* A unique id of IAM's form: prefix + 17 base32 characters (21 in all),
 * as role ids "AROA..." and policy ids "ANPA..."; out holds 22 bytes. */
void tg_creds_unique_id(const char *prefix, tg_random_fn rnd, void *rnd_ctx, char out[22]);

/* ---- the session key ring (ARCHITECTURE decision 1) ----------------------
 * AES-256-GCM keys that seal session tokens. The current key seals; every
 * key in the ring opens. Stored in the meta entity "keyring", each key
 * sealed under the master key:
 *   {"current": "k3", "keys": [{"id": "k1", "sealed": "<base64>",
 *    "create_date": ms, "retire_date": ms?}, ...]}
 * A key stops sealing when a newer one becomes current (retire_date) and is
 * pruned when no session it sealed can still be valid (retire_date +
 * TG_SESSION_MAX_DURATION). */

#define TG_CREDS_KEY_ID_MAX 15

struct tg_creds_ring_key {
    char id[TG_CREDS_KEY_ID_MAX + 1];
    uint8_t key[TG_CREDS_KEY_LEN];
    int64_t create_date_ms;
    int64_t retire_date_ms; /* 0 while current */
};

struct tg_creds_keyring {
    struct tg_creds_ring_key keys[TG_KEYRING_MAX_KEYS];
    size_t n;
    size_t current; /* index into keys */
};

/* Opens the "keyring" document (JSON text) with the master key. Returns
 * -1 if it is malformed or a key does not open (err->detail says which).
 * out holds secrets: tg_creds_keyring_wipe it. */
int tg_creds_keyring_load(const uint8_t master[TG_CREDS_KEY_LEN], struct tg_cur doc,
                          struct tg_creds_keyring *out, struct tg_error *err) TG_MUST_USE;
/*
 * Makes the document of a ring with a new current key: the old current key
 * gets retire_date = now_ms, keys retired before now_ms -
 * TG_SESSION_MAX_DURATION * 1000 are pruned, the new key's id is "k<N>"
 * with N one more than the highest. old_doc may be empty (first key).
 * Returns the new document (malloc'd JSON text, free with free) in *doc.
 */
int tg_creds_keyring_rotate(const uint8_t master[TG_CREDS_KEY_LEN], struct tg_cur old_doc,
                            int64_t now_ms, tg_random_fn rnd, void *rnd_ctx, char **doc,
                            struct tg_error *err) TG_MUST_USE;
void tg_creds_keyring_wipe(struct tg_creds_keyring *ring);

/* ---- sessions: what a SessionToken carries ---------------------------- */

struct tg_creds_session {
    char access_key_id[TG_CREDS_ACCESS_KEY_ID_LEN + 1]; /* ASIA... */
    char secret[TG_CREDS_SECRET_LEN + 1];               /* secret: wipe */
    char account_id[13];
    char role_name[TG_IAM_MAX_ROLE_NAME + 1];
    char role_id[22]; /* AROA... */
    char role_path[TG_IAM_MAX_PATH + 1];
    char session_name[TG_SESSION_NAME_MAX + 1];
    char provider_arn[TG_IAM_MAX_ARN + 1]; /* web identity provider, "" if none */
    char subject[256];                     /* the token's sub (cut at 255 bytes) */
    char audience[256];                    /* the aud that matched a client id, "" if none */
    char source_identity[65];              /* "" if none */
    int64_t issued;                        /* epoch seconds */
    int64_t expires;                       /* epoch seconds */
    /* Session policies (spec 4.5): the inline Policy with the whitespace
     * between JSON tokens removed, "" if none (UTF-8: a character of
     * U+0080..U+00FF takes two bytes), and the PolicyArns, n_policy_arns
     * of them, each NUL-terminated in policy_arns at policy_arn_off[i]
     * (tg_creds_session_policy_arn). Together they are at most
     * TG_STS_PACKED_POLICY_MAX characters, whitespace not counted. */
    char policy[2 * TG_STS_POLICY_MAX + 1];
    size_t n_policy_arns;
    uint16_t policy_arn_off[TG_STS_MAX_POLICY_ARNS];
    char policy_arns[TG_STS_PACKED_POLICY_MAX + TG_STS_MAX_POLICY_ARNS];
};

/* Were session policies given (Policy or PolicyArns)? */
bool tg_creds_session_has_policies(const struct tg_creds_session *s);
/* Appends a policy ARN (no NUL inside); -1 when the session holds
 * TG_STS_MAX_POLICY_ARNS already or policy_arns has no room. */
int tg_creds_session_add_policy_arn(struct tg_creds_session *s, struct tg_cur arn) TG_MUST_USE;
/* The i-th policy ARN (borrowed from s), i < s->n_policy_arns. */
const char *tg_creds_session_policy_arn(const struct tg_creds_session *s, size_t i);
/* The packed size of s's session policies as tegata counts it: characters
 * of the inline policy, whitespace not counted (as IAM counts, spec 4.6),
 * plus the characters of the ARNs. */
size_t tg_creds_session_policy_chars(const struct tg_creds_session *s);

/*
 * Seals s with the ring's current key into a SessionToken: base64 (RFC 4648
 * with padding, so only [A-Za-z0-9+/=], header-safe) of
 *   "TG" || version 1 || key id length || key id || nonce || ciphertext || tag
 * where the plaintext is a compact binary encoding of s (creds.c) and the
 * header bytes are the AAD. Appends to out. -1 (nothing appended) for a
 * caller's mistake: a field without its NUL, or session policies beyond
 * TG_STS_POLICY_MAX / TG_STS_PACKED_POLICY_MAX characters.
 */
int tg_creds_session_seal(const struct tg_creds_keyring *ring, tg_random_fn rnd, void *rnd_ctx,
                          const struct tg_creds_session *s, struct tg_buf *out) TG_MUST_USE;
/*
 * Opens a SessionToken with whichever ring key its header names. -1 for
 * anything that is not a token this ring sealed (bad base64, unknown key
 * id, tampered, truncated, too long: TG_SIGV4_MAX_SESSION_TOKEN). Does not
 * check expiry (the caller compares s->expires with its clock, to tell
 * ExpiredToken from InvalidClientTokenId). out holds a secret: wipe it.
 */
int tg_creds_session_open(const struct tg_creds_keyring *ring, struct tg_cur token,
                          struct tg_creds_session *out) TG_MUST_USE;

#endif
