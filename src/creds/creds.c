/*
 * creds: AES-256-GCM sealing of secrets at rest, and the formats of access
 * key ids, secret access keys and IAM unique ids (spec 6). Pure: the
 * randomness is the caller's.
 *
 * Sealed layout (TG_CREDS_SEAL_VERSION 1):
 *   version (1 byte) || nonce (12 bytes) || ciphertext (len(plaintext)) || tag (16 bytes)
 * The version byte and the caller's aad are both authenticated (the version
 * is prepended to the aad), so neither can be swapped without the tag
 * failing.
 */
#include "creds/creds.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

/* The base64 alphabet of RFC 4648 §4, which AWS's secret access keys use
 * (spec 6: "40 chars of base64 alphabet"). */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Feeds the authenticated data: the version byte, then the caller's aad. */
static int gcm_aad(EVP_CIPHER_CTX *ctx, bool enc, uint8_t version, struct tg_cur aad)
{
    int outl = 0;
    int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
        enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (update(ctx, NULL, &outl, &version, 1) != 1) {
        return -1;
    }
    if (aad.len > 0 && update(ctx, NULL, &outl, aad.ptr, (int)aad.len) != 1) {
        return -1;
    }
    return 0;
}

int tg_creds_seal(const uint8_t key[TG_CREDS_KEY_LEN], tg_random_fn rnd, void *rnd_ctx,
                  struct tg_cur aad, struct tg_cur plaintext, struct tg_buf *out)
{
    uint8_t nonce[TG_CREDS_NONCE_LEN];
    uint8_t tag[TG_CREDS_TAG_LEN];
    const uint8_t version = TG_CREDS_SEAL_VERSION;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t start = out->len;
    int rc = -1;
    int outl = 0;

    /* EVP takes int lengths; keep a margin so that the total fits too. */
    if (plaintext.len > (size_t)INT_MAX - TG_CREDS_SEAL_OVERHEAD || aad.len > (size_t)INT_MAX) {
        return -1;
    }
    /* A 96-bit random nonce (NIST SP 800-38D §8.2.2); unique per key with
     * overwhelming probability for the number of seals we make. */
    rnd(rnd_ctx, nonce, sizeof(nonce));

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        goto out;
    }
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TG_CREDS_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1) {
        goto out;
    }
    TG_GUARD_GOTO(gcm_aad(ctx, true, version, aad), out);

    TG_GUARD_GOTO(tg_buf_append_byte(out, version), out);
    TG_GUARD_GOTO(tg_buf_append(out, nonce, sizeof(nonce)), out);
    /* GCM is a stream mode: the ciphertext is as long as the plaintext.
     * It goes through a small stack buffer so that no copy of the plaintext
     * ever lands in out (which need not be a secret buffer). */
    for (size_t off = 0; off < plaintext.len;) {
        uint8_t chunk[256];
        size_t n = plaintext.len - off < sizeof(chunk) ? plaintext.len - off : sizeof(chunk);
        if (EVP_EncryptUpdate(ctx, chunk, &outl, plaintext.ptr + off, (int)n) != 1 ||
            (size_t)outl != n || tg_buf_append(out, chunk, n) < 0) {
            goto out;
        }
        off += n;
    }
    if (EVP_EncryptFinal_ex(ctx, tag, &outl) != 1 || outl != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TG_CREDS_TAG_LEN, tag) != 1) {
        goto out;
    }
    TG_GUARD_GOTO(tg_buf_append(out, tag, sizeof(tag)), out);
    rc = 0;
out:
    if (rc < 0 && out->len > start) {
        /* Never leave a half-written seal (or plaintext) behind. */
        tg_wipe(out->ptr + start, out->len - start);
        out->len = start;
    }
    EVP_CIPHER_CTX_free(ctx);
    tg_wipe(nonce, sizeof(nonce));
    tg_wipe(tag, sizeof(tag));
    return rc;
}

int tg_creds_open(const uint8_t key[TG_CREDS_KEY_LEN], struct tg_cur aad, struct tg_cur sealed,
                  struct tg_buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t tag[TG_CREDS_TAG_LEN];
    size_t start = out->len;
    int rc = -1;
    int outl = 0;

    if (sealed.len < TG_CREDS_SEAL_OVERHEAD || sealed.len > (size_t)INT_MAX ||
        aad.len > (size_t)INT_MAX) {
        return -1;
    }
    if (sealed.ptr[0] != TG_CREDS_SEAL_VERSION) {
        return -1;
    }
    const uint8_t *nonce = sealed.ptr + 1;
    const uint8_t *ct = nonce + TG_CREDS_NONCE_LEN;
    size_t ct_len = sealed.len - TG_CREDS_SEAL_OVERHEAD;
    /* The tag is copied because EVP's SET_TAG takes a non-const pointer. */
    memcpy(tag, ct + ct_len, TG_CREDS_TAG_LEN);

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        goto out;
    }
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TG_CREDS_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1) {
        goto out;
    }
    TG_GUARD_GOTO(gcm_aad(ctx, false, sealed.ptr[0], aad), out);
    if (ct_len > 0) {
        /* Reserve the space (the caller's buffer is a secret one, so the
         * ciphertext copy is wiped with it) and decrypt in place. */
        TG_GUARD_GOTO(tg_buf_append(out, ct, ct_len), out);
        if (EVP_DecryptUpdate(ctx, out->ptr + start, &outl, ct, (int)ct_len) != 1 ||
            (size_t)outl != ct_len) {
            goto out;
        }
    }
    /* The tag check (constant time inside OpenSSL) decides; until it
     * passes, the plaintext in out is unauthenticated and is wiped below on
     * failure. */
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TG_CREDS_TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, tag, &outl) != 1) {
        goto out;
    }
    rc = 0;
out:
    if (rc < 0 && out->len > start) {
        tg_wipe(out->ptr + start, out->len - start);
        out->len = start;
    }
    EVP_CIPHER_CTX_free(ctx);
    tg_wipe(tag, sizeof(tag));
    return rc;
}

/* prefix + n characters of A-Z2-7, one random byte each (256 is a multiple
 * of 32, so byte & 31 is uniform). */
static void base32_id(const char *prefix, tg_random_fn rnd, void *rnd_ctx, size_t n, char *out)
{
    uint8_t r[32];
    assert(prefix != NULL && strlen(prefix) == 4);
    assert(n <= sizeof(r));
    rnd(rnd_ctx, r, n);
    tg_id_base32(prefix, r, n, out);
    tg_wipe(r, sizeof(r));
}

void tg_creds_access_key_id(const char *prefix, tg_random_fn rnd, void *rnd_ctx, char out[21])
{
    /* spec 6: 20 chars, a 4-char prefix and 16 of the base32 alphabet. */
    base32_id(prefix, rnd, rnd_ctx, TG_CREDS_ACCESS_KEY_ID_LEN - 4, out);
}

void tg_creds_unique_id(const char *prefix, tg_random_fn rnd, void *rnd_ctx, char out[22])
{
    /* spec 6 (moto): role and policy ids are 21 chars, prefix + 17. */
    base32_id(prefix, rnd, rnd_ctx, 17, out);
}

void tg_creds_secret(tg_random_fn rnd, void *rnd_ctx, char out[41])
{
    /* 30 random bytes are exactly 40 base64 characters without padding
     * (240 bits of entropy, spec 6). */
    uint8_t r[30];
    rnd(rnd_ctx, r, sizeof(r));
    size_t o = 0;
    for (size_t i = 0; i < sizeof(r); i += 3) {
        uint32_t v = ((uint32_t)r[i] << 16) | ((uint32_t)r[i + 1] << 8) | r[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    out[o] = '\0';
    tg_wipe(r, sizeof(r));
}
