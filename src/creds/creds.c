/*
 * creds: AES-256-GCM sealing of secrets at rest, and the formats of access
 * key ids, secret access keys and IAM unique ids (spec 6). Pure: the
 * randomness is the caller's.
 *
 * The session key ring and SessionTokens (ARCHITECTURE decision 1) are
 * built on the same sealing; their formats are described above their code.
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
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>

/* The base64 alphabet of RFC 4648 §4, which AWS's secret access keys use
 * (spec 6: "40 chars of base64 alphabet"). */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* AES-256-GCM, fetched from the provider once: EVP_aes_256_gcm() makes
 * every EncryptInit look the implementation up again (OpenSSL 3's implicit
 * fetch), which costs more than sealing a session. Set once, then only
 * read; kept for the life of the process. */
static EVP_CIPHER *gcm_fetched;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm_cipher(void)
{
    (void)pthread_once(&gcm_once, gcm_fetch);
    return gcm_fetched != NULL ? gcm_fetched : EVP_aes_256_gcm();
}

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
    if (EVP_EncryptInit_ex(ctx, gcm_cipher(), NULL, NULL, NULL) != 1 ||
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
    if (EVP_DecryptInit_ex(ctx, gcm_cipher(), NULL, NULL, NULL) != 1 ||
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

/* ---- the session key ring ------------------------------------------------
 * Document (creds.h): {"current": "k3", "keys": [{"id", "sealed",
 * "create_date", "retire_date"?}, ...]}. Each "sealed" is base64 of
 * tg_creds_seal(master, aad "tegata keyring <id>", key): the aad binds a key
 * to its id, so two sealed keys cannot be swapped in the document without
 * the tag failing. The document itself is not authenticated as a whole; a
 * writer of the store could only drop keys or change which one seals, never
 * learn or choose a key. */

#define RING_AAD_PREFIX "tegata keyring "
/* The largest key number whose id "k<N>" fits TG_CREDS_KEY_ID_MAX. */
#define RING_MAX_KEY_NUMBER 99999999999999ULL /* 14 digits */
#define RING_MAX_MS_RETAIN ((int64_t)TG_SESSION_MAX_DURATION * 1000)

void tg_creds_keyring_wipe(struct tg_creds_keyring *ring)
{
    if (ring != NULL) {
        tg_wipe(ring, sizeof(*ring));
    }
}

/* Sets the operator's reason and a fixed caller message; returns -1. */
static int ring_fail(struct tg_error *err, const char *fmt, ...) TG_PRINTF(2, 3);
static int ring_fail(struct tg_error *err, const char *fmt, ...)
{
    tg_error_set(err, TG_E_INTERNAL_FAILURE, "the session key ring cannot be opened");
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
        if (n < 0) {
            err->detail[0] = '\0';
        }
    }
    return -1;
}

/* Key ids are "k" and a decimal number without leading zeros ("k1",
 * "k12"); *number gets N. */
static int ring_id_number(const char *id, uint64_t *number)
{
    size_t n = strnlen(id, TG_CREDS_KEY_ID_MAX + 1);
    if (n < 2 || n > TG_CREDS_KEY_ID_MAX || id[0] != 'k' || id[1] == '0') {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 1; i < n; i++) {
        if (id[i] < '0' || id[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(id[i] - '0');
    }
    if (v > RING_MAX_KEY_NUMBER) {
        return -1;
    }
    *number = v;
    return 0;
}

static void ring_aad(const char *id, char out[sizeof(RING_AAD_PREFIX) + TG_CREDS_KEY_ID_MAX])
{
    snprintf(out, sizeof(RING_AAD_PREFIX) + TG_CREDS_KEY_ID_MAX, "%s%s", RING_AAD_PREFIX, id);
}

/* Opens one key's "sealed" text into k->key. */
static int ring_open_key(const uint8_t master[TG_CREDS_KEY_LEN], const char *sealed_b64,
                         size_t sealed_len, struct tg_creds_ring_key *k, struct tg_error *err)
{
    char aad[sizeof(RING_AAD_PREFIX) + TG_CREDS_KEY_ID_MAX];
    struct tg_buf sealed, plain;
    int rc = -1;
    tg_buf_init(&sealed, 256);
    tg_buf_init_secret(&plain, TG_CREDS_KEY_LEN);
    ring_aad(k->id, aad);
    if (tg_base64_decode(&sealed, tg_cur_make(sealed_b64, sealed_len)) < 0) {
        ring_fail(err, "keyring: key %s: \"sealed\" is not base64", k->id);
        goto out;
    }
    if (tg_creds_open(master, tg_cur_str(aad), tg_buf_cur(&sealed), &plain) < 0 ||
        plain.len != TG_CREDS_KEY_LEN) {
        ring_fail(err, "keyring: key %s does not open with the master key", k->id);
        goto out;
    }
    memcpy(k->key, plain.ptr, TG_CREDS_KEY_LEN);
    rc = 0;
out:
    tg_buf_free(&sealed);
    tg_buf_free(&plain); /* secret: wiped */
    return rc;
}

/*
 * Parses and checks the document and opens every key into *ring (written
 * only on success). With root != NULL the parsed document is returned too
 * (the caller json_decrefs it), for rotate to carry the sealed keys over.
 * Unknown members are ignored, so that a newer tegata sharing the store
 * can add some without stopping older nodes.
 */
static int ring_parse(const uint8_t master[TG_CREDS_KEY_LEN], struct tg_cur doc,
                      struct tg_creds_keyring *ring, json_t **root_out, struct tg_error *err)
{
    struct tg_creds_keyring tmp;
    json_error_t jerr;
    json_t *root = NULL;
    int rc = -1;

    memset(&tmp, 0, sizeof(tmp));
    if (doc.len > TG_STORE_MAX_DOC) {
        return ring_fail(err, "keyring: document of %zu bytes", doc.len);
    }
    root = json_loadb((const char *)doc.ptr, doc.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        ring_fail(err, "keyring: not a JSON object");
        goto out;
    }
    json_t *cur = json_object_get(root, "current");
    const char *current = json_string_value(cur);
    json_t *keys = json_object_get(root, "keys");
    if (current == NULL || strlen(current) != json_string_length(cur) || !json_is_array(keys)) {
        ring_fail(err, "keyring: \"current\" (string) and \"keys\" (array) are required");
        goto out;
    }
    size_t n = json_array_size(keys);
    if (n == 0 || n > TG_KEYRING_MAX_KEYS) {
        ring_fail(err, "keyring: %zu keys (1 to %d allowed)", n, TG_KEYRING_MAX_KEYS);
        goto out;
    }
    bool have_current = false;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(keys, i);
        struct tg_creds_ring_key *k = &tmp.keys[i];
        json_t *id = json_object_get(e, "id");
        json_t *sealed = json_object_get(e, "sealed");
        json_t *cd = json_object_get(e, "create_date");
        json_t *rd = json_object_get(e, "retire_date");
        uint64_t number = 0;
        if (!json_is_string(id) || json_string_length(id) > TG_CREDS_KEY_ID_MAX ||
            ring_id_number(json_string_value(id), &number) < 0 ||
            strlen(json_string_value(id)) != json_string_length(id)) {
            ring_fail(err, "keyring: key %zu has no valid \"id\" (k<N>)", i);
            goto out;
        }
        memcpy(k->id, json_string_value(id), json_string_length(id) + 1);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(tmp.keys[j].id, k->id) == 0) {
                ring_fail(err, "keyring: key id %s appears twice", k->id);
                goto out;
            }
        }
        if (!json_is_string(sealed) || !json_is_integer(cd) || json_integer_value(cd) < 0 ||
            (rd != NULL && (!json_is_integer(rd) || json_integer_value(rd) <= 0))) {
            ring_fail(err,
                      "keyring: key %s needs \"sealed\" (string), \"create_date\" and an optional "
                      "\"retire_date\" (integers, ms)",
                      k->id);
            goto out;
        }
        k->create_date_ms = json_integer_value(cd);
        k->retire_date_ms = rd != NULL ? json_integer_value(rd) : 0;
        bool is_current = strcmp(k->id, current) == 0;
        /* The current key seals, so it cannot be retired; every other one
         * must say when it stopped sealing, or it could never be pruned. */
        if (is_current != (k->retire_date_ms == 0)) {
            ring_fail(err, "keyring: key %s %s", k->id,
                      is_current ? "is current but has a retire_date" : "has no retire_date");
            goto out;
        }
        if (is_current) {
            tmp.current = i;
            have_current = true;
        }
        TG_GUARD_GOTO(
            ring_open_key(master, json_string_value(sealed), json_string_length(sealed), k, err),
            out);
    }
    if (!have_current) {
        ring_fail(err, "keyring: the current key is not in \"keys\"");
        goto out;
    }
    tmp.n = n;
    memcpy(ring, &tmp, sizeof(tmp));
    if (root_out != NULL) {
        *root_out = root;
        root = NULL;
    }
    rc = 0;
out:
    tg_wipe(&tmp, sizeof(tmp));
    json_decref(root);
    return rc;
}

int tg_creds_keyring_load(const uint8_t master[TG_CREDS_KEY_LEN], struct tg_cur doc,
                          struct tg_creds_keyring *out, struct tg_error *err)
{
    return ring_parse(master, doc, out, NULL, err);
}

/* {"id", "sealed", "create_date", "retire_date"?} in the documented order. */
static json_t *ring_entry(const char *id, const char *sealed, int64_t create_ms, int64_t retire_ms)
{
    json_t *e = json_object();
    if (e == NULL || json_object_set_new(e, "id", json_string(id)) < 0 ||
        json_object_set_new(e, "sealed", json_string(sealed)) < 0 ||
        json_object_set_new(e, "create_date", json_integer(create_ms)) < 0 ||
        (retire_ms != 0 && json_object_set_new(e, "retire_date", json_integer(retire_ms)) < 0)) {
        json_decref(e);
        return NULL;
    }
    return e;
}

int tg_creds_keyring_rotate(const uint8_t master[TG_CREDS_KEY_LEN], struct tg_cur old_doc,
                            int64_t now_ms, tg_random_fn rnd, void *rnd_ctx, char **doc,
                            struct tg_error *err)
{
    struct tg_creds_keyring old;
    uint8_t key[TG_CREDS_KEY_LEN];
    char id[TG_CREDS_KEY_ID_MAX + 1];
    char aad[sizeof(RING_AAD_PREFIX) + TG_CREDS_KEY_ID_MAX];
    struct tg_buf sealed, b64;
    json_t *old_root = NULL;
    json_t *root = NULL;
    json_t *keys = NULL;
    int rc = -1;

    memset(&old, 0, sizeof(old));
    tg_buf_init(&sealed, 256);
    tg_buf_init(&b64, 512);
    *doc = NULL;
    if (now_ms <= 0) {
        /* The dates are positive (ring_parse); a clock at or before 1970
         * is a broken one. */
        return ring_fail(err, "keyring: the clock reads %lld ms", (long long)now_ms);
    }
    if (old_doc.len > 0) {
        /* The whole ring is opened, not just read: rotating with a wrong
         * master key must fail rather than mix keys sealed under two. */
        TG_GUARD_GOTO(ring_parse(master, old_doc, &old, &old_root, err), out);
    }
    /* Only ids and dates are needed from here on. */
    for (size_t i = 0; i < old.n; i++) {
        tg_wipe(old.keys[i].key, TG_CREDS_KEY_LEN);
    }

    root = json_object();
    keys = json_array();
    if (root == NULL || keys == NULL) {
        ring_fail(err, "keyring: out of memory");
        goto out;
    }
    uint64_t highest = 0;
    size_t kept = 0;
    json_t *old_keys = json_object_get(old_root, "keys");
    for (size_t i = 0; i < old.n; i++) {
        struct tg_creds_ring_key *k = &old.keys[i];
        uint64_t number = 0;
        if (ring_id_number(k->id, &number) == 0 && number > highest) {
            highest = number;
        }
        int64_t retire = i == old.current ? now_ms : k->retire_date_ms;
        /* A key retired at R sealed sessions that expire by R + the
         * longest session; past that nothing it opens can be valid. */
        if (retire < now_ms - RING_MAX_MS_RETAIN) {
            continue;
        }
        const char *s = json_string_value(json_object_get(json_array_get(old_keys, i), "sealed"));
        if (json_array_append_new(keys, ring_entry(k->id, s, k->create_date_ms, retire)) < 0) {
            ring_fail(err, "keyring: out of memory");
            goto out;
        }
        kept++;
    }
    if (kept >= TG_KEYRING_MAX_KEYS) {
        ring_fail(err,
                  "keyring: %zu keys are still live (at most %d); rotate again when the oldest "
                  "is %d s past its retirement",
                  kept, TG_KEYRING_MAX_KEYS, TG_SESSION_MAX_DURATION);
        goto out;
    }
    if (highest >= RING_MAX_KEY_NUMBER) {
        ring_fail(err, "keyring: key numbers are exhausted");
        goto out;
    }
    snprintf(id, sizeof(id), "k%llu", (unsigned long long)(highest + 1));
    ring_aad(id, aad);
    rnd(rnd_ctx, key, sizeof(key));
    if (tg_creds_seal(master, rnd, rnd_ctx, tg_cur_str(aad), tg_cur_make(key, sizeof(key)),
                      &sealed) < 0 ||
        tg_base64_encode(&b64, sealed.ptr, sealed.len) < 0 || tg_buf_nul(&b64) < 0) {
        ring_fail(err, "keyring: sealing the new key failed");
        goto out;
    }
    if (json_array_append_new(keys, ring_entry(id, (const char *)b64.ptr, now_ms, 0)) < 0 ||
        json_object_set_new(root, "current", json_string(id)) < 0 ||
        json_object_set(root, "keys", keys) < 0) {
        ring_fail(err, "keyring: out of memory");
        goto out;
    }
    *doc = json_dumps(root, JSON_COMPACT);
    if (*doc == NULL) {
        ring_fail(err, "keyring: out of memory");
        goto out;
    }
    rc = 0;
out:
    tg_wipe(key, sizeof(key));
    tg_creds_keyring_wipe(&old);
    tg_buf_free(&sealed);
    tg_buf_free(&b64);
    json_decref(keys);
    json_decref(root);
    json_decref(old_root);
    return rc;
}

/* ---- sessions ----------------------------------------------------------------
 * SessionToken = base64 (RFC 4648 §4, padded) of
 *   header: "TG" || version (1) || key id length (1..15) || key id
 *   body:   nonce (12) || ciphertext || tag (16)
 * sealed with tg_creds_seal under the named ring key with the header as
 * aad. tg_creds_seal writes its own version byte before the nonce; it is
 * the same value as the header's version and is dropped from the token
 * (and put back to open), so the token is exactly the documented layout.
 *
 * Plaintext (version 1): the string fields of struct tg_creds_session in
 * the order of session_fields, each a big-endian u16 length and its bytes
 * (no NUL, at most the field's size - 1), then issued and expires as
 * big-endian 64-bit two's complement. A typical GitHub Actions session is
 * about 250 bytes, its token about 390 characters.
 *
 * Then optional sections, each at most once and in the order of their
 * numbers, each written only when the session has what it holds (tokens
 * sealed before a section existed end without it and still open; a build
 * that does not know a section refuses a token with it, so an old node
 * never ignores a session policy):
 *   0x01 (session policies, format 1) || u16 length || inline policy ||
 *   u8 count (0..TG_STS_MAX_POLICY_ARNS) || count x (u16 length (1..) ||
 *   policy ARN)
 *   0x02 (audience) || u16 length (1..255) || the aud that matched
 * A session-policy section with neither an inline policy nor an ARN, and
 * an empty audience, are refused (they are never written). Nothing may
 * follow the last section. */

#define SECTION_SESSION_POLICIES 0x01
#define SECTION_AUDIENCE 0x02

#define TOKEN_VERSION TG_CREDS_SEAL_VERSION
#define TOKEN_HEADER_MIN 4 /* "TG", version, id length */
#define TOKEN_BODY_MIN (TG_CREDS_NONCE_LEN + TG_CREDS_TAG_LEN)
/* The decoded size of the longest token we accept. */
#define TOKEN_MAX_RAW (TG_SIGV4_MAX_SESSION_TOKEN / 4 * 3)

struct session_field {
    size_t off;
    size_t size; /* of the char array, NUL included */
};

#define SESSION_FIELD(m)                                                                           \
    {                                                                                              \
        offsetof(struct tg_creds_session, m), sizeof(((struct tg_creds_session *)0)->m)            \
    }

static const struct session_field session_fields[] = {
    SESSION_FIELD(access_key_id),   SESSION_FIELD(secret),       SESSION_FIELD(account_id),
    SESSION_FIELD(role_name),       SESSION_FIELD(role_id),      SESSION_FIELD(role_path),
    SESSION_FIELD(session_name),    SESSION_FIELD(provider_arn), SESSION_FIELD(subject),
    SESSION_FIELD(source_identity),
};

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ---- session policies ---- */

bool tg_creds_session_has_policies(const struct tg_creds_session *s)
{
    return s->policy[0] != '\0' || s->n_policy_arns > 0;
}

int tg_creds_session_add_policy_arn(struct tg_creds_session *s, struct tg_cur arn)
{
    size_t used = 0;
    if (s->n_policy_arns > 0) {
        const char *last = tg_creds_session_policy_arn(s, s->n_policy_arns - 1);
        used = (size_t)(last - s->policy_arns) + strlen(last) + 1;
    }
    if (s->n_policy_arns >= TG_STS_MAX_POLICY_ARNS || arn.len == 0 ||
        arn.len + 1 > sizeof(s->policy_arns) - used || memchr(arn.ptr, '\0', arn.len) != NULL) {
        return -1;
    }
    memcpy(s->policy_arns + used, arn.ptr, arn.len);
    s->policy_arns[used + arn.len] = '\0';
    s->policy_arn_off[s->n_policy_arns++] = (uint16_t)used;
    return 0;
}

const char *tg_creds_session_policy_arn(const struct tg_creds_session *s, size_t i)
{
    assert(i < s->n_policy_arns && i < TG_STS_MAX_POLICY_ARNS);
    return s->policy_arns + s->policy_arn_off[i];
}

/* Characters (UTF-8 code points: bytes but continuation bytes) of n bytes
 * at p; with no_ws, space, TAB, CR and LF are not counted (spec 4.6). */
static size_t count_chars(const char *p, size_t n, bool no_ws)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)p[i];
        if ((b & 0xC0) == 0x80 || (no_ws && (b == ' ' || b == '\t' || b == '\r' || b == '\n'))) {
            continue;
        }
        c++;
    }
    return c;
}

size_t tg_creds_session_policy_chars(const struct tg_creds_session *s)
{
    size_t n = count_chars(s->policy, strnlen(s->policy, sizeof(s->policy)), true);
    for (size_t i = 0; i < s->n_policy_arns && i < TG_STS_MAX_POLICY_ARNS; i++) {
        const char *a = tg_creds_session_policy_arn(s, i);
        n += count_chars(a, strlen(a), true);
    }
    return n;
}

/* The bounds that seal and open both hold a session's policies to, so that
 * whatever opens seals again. */
static bool session_policies_fit(const struct tg_creds_session *s)
{
    size_t n = strnlen(s->policy, sizeof(s->policy));
    return n < sizeof(s->policy) && s->n_policy_arns <= TG_STS_MAX_POLICY_ARNS &&
           count_chars(s->policy, n, false) <= TG_STS_POLICY_MAX &&
           tg_creds_session_policy_chars(s) <= TG_STS_PACKED_POLICY_MAX;
}

static int policies_encode(const struct tg_creds_session *s, struct tg_buf *pt)
{
    if (!session_policies_fit(s)) {
        return -1; /* a caller's mistake: sts checks the limits first */
    }
    size_t n = strlen(s->policy);
    uint8_t head[3] = {SECTION_SESSION_POLICIES, (uint8_t)(n >> 8), (uint8_t)n};
    TG_GUARD(tg_buf_append(pt, head, sizeof(head)));
    TG_GUARD(tg_buf_append(pt, s->policy, n));
    TG_GUARD(tg_buf_append_byte(pt, (uint8_t)s->n_policy_arns));
    for (size_t i = 0; i < s->n_policy_arns; i++) {
        const char *a = tg_creds_session_policy_arn(s, i);
        size_t an = strlen(a);
        uint8_t len[2] = {(uint8_t)(an >> 8), (uint8_t)an};
        TG_GUARD(tg_buf_append(pt, len, sizeof(len)));
        TG_GUARD(tg_buf_append(pt, a, an));
    }
    return 0;
}

/* The session-policy section at the start of pt; its length, or -1. */
static ptrdiff_t policies_decode(struct tg_cur pt, struct tg_creds_session *s)
{
    if (pt.len < 4 || pt.ptr[0] != SECTION_SESSION_POLICIES) {
        return -1;
    }
    size_t pos = 1;
    size_t n = ((size_t)pt.ptr[pos] << 8) | pt.ptr[pos + 1];
    pos += 2;
    if (n >= sizeof(s->policy) || pt.len - pos < n + 1 ||
        (n > 0 && memchr(pt.ptr + pos, '\0', n) != NULL)) {
        return -1;
    }
    memcpy(s->policy, pt.ptr + pos, n);
    s->policy[n] = '\0';
    pos += n;
    size_t count = pt.ptr[pos++];
    if (count > TG_STS_MAX_POLICY_ARNS || (n == 0 && count == 0)) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (pt.len - pos < 2) {
            return -1;
        }
        size_t an = ((size_t)pt.ptr[pos] << 8) | pt.ptr[pos + 1];
        pos += 2;
        if (pt.len - pos < an ||
            tg_creds_session_add_policy_arn(s, tg_cur_make(pt.ptr + pos, an)) < 0) {
            return -1;
        }
        pos += an;
    }
    return session_policies_fit(s) ? (ptrdiff_t)pos : -1;
}

static int audience_encode(const struct tg_creds_session *s, struct tg_buf *pt)
{
    size_t n = strnlen(s->audience, sizeof(s->audience));
    if (n == sizeof(s->audience)) {
        return -1; /* not NUL-terminated: a caller's mistake */
    }
    uint8_t head[3] = {SECTION_AUDIENCE, (uint8_t)(n >> 8), (uint8_t)n};
    TG_GUARD(tg_buf_append(pt, head, sizeof(head)));
    return tg_buf_append(pt, s->audience, n);
}

/* The audience section at the start of pt; its length, or -1. */
static ptrdiff_t audience_decode(struct tg_cur pt, struct tg_creds_session *s)
{
    if (pt.len < 4 || pt.ptr[0] != SECTION_AUDIENCE) {
        return -1;
    }
    size_t n = ((size_t)pt.ptr[1] << 8) | pt.ptr[2];
    if (n == 0 || n >= sizeof(s->audience) || pt.len - 3 < n ||
        memchr(pt.ptr + 3, '\0', n) != NULL) {
        return -1;
    }
    memcpy(s->audience, pt.ptr + 3, n);
    s->audience[n] = '\0';
    return (ptrdiff_t)(3 + n);
}

/* The optional sections after the times, in order (see above). */
static int sections_decode(struct tg_cur pt, struct tg_creds_session *s)
{
    static ptrdiff_t (*const decoders[])(struct tg_cur, struct tg_creds_session *) = {
        policies_decode,
        audience_decode,
    };
    size_t pos = 0;
    for (size_t k = 0; k < TG_ARRAY_LEN(decoders) && pos < pt.len; k++) {
        if (pt.ptr[pos] != (uint8_t)(k + 1)) {
            continue; /* this one is absent; a later one may follow */
        }
        ptrdiff_t used = decoders[k](tg_cur_make(pt.ptr + pos, pt.len - pos), s);
        if (used < 0) {
            return -1;
        }
        pos += (size_t)used;
    }
    return pos == pt.len ? 0 : -1; /* an unknown section, or one out of order */
}

static int session_encode(const struct tg_creds_session *s, struct tg_buf *pt)
{
    const uint8_t *base = (const uint8_t *)s;
    for (size_t i = 0; i < TG_ARRAY_LEN(session_fields); i++) {
        const char *f = (const char *)(base + session_fields[i].off);
        size_t n = strnlen(f, session_fields[i].size);
        if (n == session_fields[i].size) {
            return -1; /* not NUL-terminated: a caller's mistake */
        }
        uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
        TG_GUARD(tg_buf_append(pt, len, sizeof(len)));
        TG_GUARD(tg_buf_append(pt, f, n));
    }
    uint8_t times[16];
    put_u64(times, (uint64_t)s->issued);
    put_u64(times + 8, (uint64_t)s->expires);
    TG_GUARD(tg_buf_append(pt, times, sizeof(times)));
    /* Without them the token is what it was before the sections. */
    if (tg_creds_session_has_policies(s)) {
        TG_GUARD(policies_encode(s, pt));
    }
    return s->audience[0] != '\0' ? audience_encode(s, pt) : 0;
}

/* Decodes into *s (which the caller zeroed); -1 unless every field fits
 * and the input is used up exactly. */
static int session_decode(struct tg_cur pt, struct tg_creds_session *s)
{
    uint8_t *base = (uint8_t *)s;
    size_t pos = 0;
    for (size_t i = 0; i < TG_ARRAY_LEN(session_fields); i++) {
        if (pt.len - pos < 2) {
            return -1;
        }
        size_t n = ((size_t)pt.ptr[pos] << 8) | pt.ptr[pos + 1];
        pos += 2;
        if (n >= session_fields[i].size || pt.len - pos < n ||
            (n > 0 && memchr(pt.ptr + pos, '\0', n) != NULL)) {
            return -1;
        }
        memcpy(base + session_fields[i].off, pt.ptr + pos, n);
        base[session_fields[i].off + n] = '\0';
        pos += n;
    }
    if (pt.len - pos < 16) {
        return -1;
    }
    s->issued = (int64_t)get_u64(pt.ptr + pos);
    s->expires = (int64_t)get_u64(pt.ptr + pos + 8);
    pos += 16;
    return sections_decode(tg_cur_make(pt.ptr + pos, pt.len - pos), s);
}

int tg_creds_session_seal(const struct tg_creds_keyring *ring, tg_random_fn rnd, void *rnd_ctx,
                          const struct tg_creds_session *s, struct tg_buf *out)
{
    uint8_t header[TOKEN_HEADER_MIN + TG_CREDS_KEY_ID_MAX];
    struct tg_buf pt, sealed, raw;
    size_t start = out->len;
    int rc = -1;

    tg_buf_init_secret(&pt, TOKEN_MAX_RAW);
    tg_buf_init(&sealed, TOKEN_MAX_RAW + 1);
    tg_buf_init(&raw, TOKEN_MAX_RAW);
    if (ring->n == 0 || ring->current >= ring->n) {
        goto out;
    }
    const struct tg_creds_ring_key *k = &ring->keys[ring->current];
    size_t id_len = strnlen(k->id, sizeof(k->id));
    if (id_len == 0 || id_len > TG_CREDS_KEY_ID_MAX) {
        goto out;
    }
    header[0] = 'T';
    header[1] = 'G';
    header[2] = TOKEN_VERSION;
    header[3] = (uint8_t)id_len;
    memcpy(header + TOKEN_HEADER_MIN, k->id, id_len);
    size_t header_len = TOKEN_HEADER_MIN + id_len;

    TG_GUARD_GOTO(session_encode(s, &pt), out);
    TG_GUARD_GOTO(tg_creds_seal(k->key, rnd, rnd_ctx, tg_cur_make(header, header_len),
                                tg_buf_cur(&pt), &sealed),
                  out);
    /* Fails (the buffer's max) when the session is too large for a token
     * of TG_SIGV4_MAX_SESSION_TOKEN characters: only possible with a
     * provider ARN or path far longer than real ones. */
    TG_GUARD_GOTO(tg_buf_append(&raw, header, header_len), out);
    TG_GUARD_GOTO(tg_buf_append(&raw, sealed.ptr + 1, sealed.len - 1), out);
    TG_GUARD_GOTO(tg_base64_encode(out, raw.ptr, raw.len), out);
    rc = 0;
out:
    if (rc < 0 && out->len > start) {
        out->len = start;
    }
    tg_buf_free(&pt);
    tg_buf_free(&sealed);
    tg_buf_free(&raw);
    return rc;
}

int tg_creds_session_open(const struct tg_creds_keyring *ring, struct tg_cur token,
                          struct tg_creds_session *out)
{
    struct tg_creds_session tmp;
    struct tg_buf raw, sealed, pt;
    int rc = -1;

    memset(&tmp, 0, sizeof(tmp));
    tg_buf_init(&raw, TOKEN_MAX_RAW);
    tg_buf_init(&sealed, TOKEN_MAX_RAW + 1);
    tg_buf_init_secret(&pt, TOKEN_MAX_RAW);
    if (token.len > TG_SIGV4_MAX_SESSION_TOKEN || tg_base64_decode(&raw, token) < 0) {
        goto out;
    }
    if (raw.len < TOKEN_HEADER_MIN + 1 + TOKEN_BODY_MIN || raw.ptr[0] != 'T' || raw.ptr[1] != 'G' ||
        raw.ptr[2] != TOKEN_VERSION) {
        goto out;
    }
    size_t id_len = raw.ptr[3];
    if (id_len == 0 || id_len > TG_CREDS_KEY_ID_MAX ||
        raw.len - TOKEN_HEADER_MIN - TOKEN_BODY_MIN < id_len) {
        goto out;
    }
    size_t header_len = TOKEN_HEADER_MIN + id_len;
    /* Key ids are not secret: a plain comparison picks the key. */
    const struct tg_creds_ring_key *k = NULL;
    for (size_t i = 0; i < ring->n && i < TG_KEYRING_MAX_KEYS; i++) {
        const char *id = ring->keys[i].id;
        if (strnlen(id, sizeof(ring->keys[i].id)) == id_len &&
            memcmp(id, raw.ptr + TOKEN_HEADER_MIN, id_len) == 0) {
            k = &ring->keys[i];
            break;
        }
    }
    if (k == NULL) {
        goto out;
    }
    /* Put back tg_creds_seal's version byte in front of the body. */
    TG_GUARD_GOTO(tg_buf_append_byte(&sealed, raw.ptr[2]), out);
    TG_GUARD_GOTO(tg_buf_append(&sealed, raw.ptr + header_len, raw.len - header_len), out);
    /* The GCM tag check decides, in constant time (tg_creds_open). */
    TG_GUARD_GOTO(tg_creds_open(k->key, tg_cur_make(raw.ptr, header_len), tg_buf_cur(&sealed), &pt),
                  out);
    TG_GUARD_GOTO(session_decode(tg_buf_cur(&pt), &tmp), out);
    memcpy(out, &tmp, sizeof(tmp));
    rc = 0;
out:
    if (rc < 0) {
        tg_wipe(out, sizeof(*out));
    }
    tg_wipe(&tmp, sizeof(tmp));
    tg_buf_free(&raw);
    tg_buf_free(&sealed);
    tg_buf_free(&pt);
    return rc;
}
