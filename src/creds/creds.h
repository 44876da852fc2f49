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

#endif
