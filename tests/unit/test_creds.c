/* Unit tests for src/creds/creds.c: sealing (AES-256-GCM) and formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "creds/creds.h"

/* Deterministic randomness: a counter, or a fixed byte when fixed >= 0. */
struct rng {
    uint32_t counter;
    int fixed;
};

static void test_rand(void *ctx, uint8_t *out, size_t n)
{
    struct rng *r = ctx;
    for (size_t i = 0; i < n; i++) {
        if (r->fixed >= 0) {
            out[i] = (uint8_t)r->fixed;
        } else {
            r->counter = r->counter * 1103515245u + 12345u;
            out[i] = (uint8_t)(r->counter >> 16);
        }
    }
}

static const uint8_t key_a[TG_CREDS_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* NIST GCM test case 13 (key 0^32, IV 0^12, P 0^16), straight through EVP,
 * to check the cipher wiring creds.c relies on. */
static void test_gcm_known_answer_evp(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, iv[12] = {0}, pt[16] = {0}, ct[16], tag[16];
    char h[65];
    int outl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, ct, &outl, pt, sizeof(pt)), 1);
    assert_int_equal(outl, 16);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, tag, &outl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(ctx);
    hex(ct, 16, h);
    assert_string_equal(h, "cea7403d4d606b6e074ec5d3baf39d18");
    hex(tag, 16, h);
    assert_string_equal(h, "d0d1c8a799996bf0265b98b5d48ab919");
}

/* The same vector through tg_creds_seal: with a zero nonce the ciphertext
 * is NIST's (the tag differs, since the version byte is authenticated). */
static void test_seal_known_answer(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, pt[16] = {0};
    struct rng r = {0, 0};
    struct tg_buf out;
    char h[65];
    tg_buf_init(&out, 1024);
    assert_int_equal(
        tg_creds_seal(key, test_rand, &r, tg_cur_make("", 0), tg_cur_make(pt, sizeof(pt)), &out),
        0);
    assert_int_equal(out.len, TG_CREDS_SEAL_OVERHEAD + 16);
    assert_int_equal(out.ptr[0], TG_CREDS_SEAL_VERSION);
    for (size_t i = 1; i <= TG_CREDS_NONCE_LEN; i++) {
        assert_int_equal(out.ptr[i], 0);
    }
    hex(out.ptr + 1 + TG_CREDS_NONCE_LEN, 16, h);
    assert_string_equal(h, "cea7403d4d606b6e074ec5d3baf39d18");
    hex(out.ptr + 1 + TG_CREDS_NONCE_LEN + 16, 16, h);
    assert_string_not_equal(h, "d0d1c8a799996bf0265b98b5d48ab919");

    struct tg_buf pt2;
    tg_buf_init_secret(&pt2, 1024);
    assert_int_equal(tg_creds_open(key, tg_cur_make("", 0), tg_buf_cur(&out), &pt2), 0);
    assert_int_equal(pt2.len, 16);
    assert_memory_equal(pt2.ptr, pt, 16);
    tg_buf_free(&pt2);
    tg_buf_free(&out);
}

static void test_round_trip_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 15, 16, 17, 40, 255, 256, 257, 1000, 5000};
    uint8_t pt[5000];
    for (size_t i = 0; i < sizeof(pt); i++) {
        pt[i] = (uint8_t)(i * 7 + 3);
    }
    struct rng r = {42, -1};
    for (size_t k = 0; k < TG_ARRAY_LEN(lens); k++) {
        struct tg_buf sealed, opened;
        tg_buf_init(&sealed, 16384);
        tg_buf_init_secret(&opened, 16384);
        struct tg_cur aad = tg_cur_str("admin-secret:AKIAEXAMPLE");
        assert_int_equal(
            tg_creds_seal(key_a, test_rand, &r, aad, tg_cur_make(pt, lens[k]), &sealed), 0);
        assert_int_equal(sealed.len, lens[k] + TG_CREDS_SEAL_OVERHEAD);
        if (lens[k] >= 16) {
            /* The plaintext does not appear in the sealed bytes. */
            assert_memory_not_equal(sealed.ptr + 1 + TG_CREDS_NONCE_LEN, pt, 16);
        }
        assert_int_equal(tg_creds_open(key_a, aad, tg_buf_cur(&sealed), &opened), 0);
        assert_int_equal(opened.len, lens[k]);
        if (lens[k] > 0) {
            assert_memory_equal(opened.ptr, pt, lens[k]);
        }
        tg_buf_free(&sealed);
        tg_buf_free(&opened);
    }
}

static void test_seal_appends(void **state)
{
    (void)state;
    struct rng r = {7, -1};
    struct tg_buf out, opened;
    tg_buf_init(&out, 1024);
    tg_buf_init_secret(&opened, 1024);
    assert_int_equal(tg_buf_append_str(&out, "prefix"), 0);
    assert_int_equal(tg_buf_append_str(&opened, "keep"), 0);
    assert_int_equal(
        tg_creds_seal(key_a, test_rand, &r, tg_cur_str("a"), tg_cur_str("secret"), &out), 0);
    assert_memory_equal(out.ptr, "prefix", 6);
    assert_int_equal(out.len, 6 + 6 + TG_CREDS_SEAL_OVERHEAD);
    assert_int_equal(
        tg_creds_open(key_a, tg_cur_str("a"), tg_cur_make(out.ptr + 6, out.len - 6), &opened), 0);
    assert_int_equal(opened.len, 10);
    assert_memory_equal(opened.ptr, "keepsecret", 10);
    tg_buf_free(&out);
    tg_buf_free(&opened);
}

/* Two seals of the same plaintext differ (fresh nonce each time). */
static void test_seal_nonce_fresh(void **state)
{
    (void)state;
    struct rng r = {1, -1};
    struct tg_buf a, b;
    tg_buf_init(&a, 1024);
    tg_buf_init(&b, 1024);
    assert_int_equal(tg_creds_seal(key_a, test_rand, &r, tg_cur_str(""), tg_cur_str("same"), &a),
                     0);
    assert_int_equal(tg_creds_seal(key_a, test_rand, &r, tg_cur_str(""), tg_cur_str("same"), &b),
                     0);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.ptr + 1, b.ptr + 1, TG_CREDS_NONCE_LEN);
    assert_memory_not_equal(a.ptr, b.ptr, a.len);
    tg_buf_free(&a);
    tg_buf_free(&b);
}

/* A seal that does not fit the buffer's maximum fails and leaves out as it
 * was. */
static void test_seal_out_too_small(void **state)
{
    (void)state;
    struct rng r = {1, -1};
    struct tg_buf out;
    tg_buf_init(&out, 20);
    assert_int_equal(tg_buf_append_str(&out, "ab"), 0);
    assert_int_equal(
        tg_creds_seal(key_a, test_rand, &r, tg_cur_str(""), tg_cur_str("0123456789"), &out), -1);
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.ptr, "ab", 2);
    tg_buf_free(&out);
}

struct sealed_fx {
    struct tg_buf sealed;
    struct tg_buf opened;
};

static int sealed_setup(void **state)
{
    static struct sealed_fx fx;
    struct rng r = {99, -1};
    tg_buf_init(&fx.sealed, 1024);
    tg_buf_init_secret(&fx.opened, 1024);
    if (tg_creds_seal(key_a, test_rand, &r, tg_cur_str("purpose"),
                      tg_cur_str("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), &fx.sealed) < 0) {
        return -1;
    }
    *state = &fx;
    return 0;
}

static int sealed_teardown(void **state)
{
    struct sealed_fx *fx = *state;
    tg_buf_free(&fx->sealed);
    tg_buf_free(&fx->opened);
    return 0;
}

static void test_open_tamper_each_byte(void **state)
{
    struct sealed_fx *fx = *state;
    uint8_t copy[256];
    size_t n = fx->sealed.len;
    assert_true(n <= sizeof(copy));
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, fx->sealed.ptr, n);
            copy[i] ^= (uint8_t)(1u << bit);
            tg_buf_reset(&fx->opened);
            assert_int_equal(
                tg_creds_open(key_a, tg_cur_str("purpose"), tg_cur_make(copy, n), &fx->opened), -1);
            assert_int_equal(fx->opened.len, 0);
        }
    }
    /* The untouched seal still opens. */
    tg_buf_reset(&fx->opened);
    assert_int_equal(
        tg_creds_open(key_a, tg_cur_str("purpose"), tg_buf_cur(&fx->sealed), &fx->opened), 0);
    assert_int_equal(fx->opened.len, 40);
}

static void test_open_wrong_aad(void **state)
{
    struct sealed_fx *fx = *state;
    static const char *const aads[] = {"", "purpos", "purpose ", "Purpose", "purposf"};
    for (size_t i = 0; i < TG_ARRAY_LEN(aads); i++) {
        tg_buf_reset(&fx->opened);
        assert_int_equal(
            tg_creds_open(key_a, tg_cur_str(aads[i]), tg_buf_cur(&fx->sealed), &fx->opened), -1);
        assert_int_equal(fx->opened.len, 0);
    }
}

static void test_open_wrong_key(void **state)
{
    struct sealed_fx *fx = *state;
    uint8_t key_b[TG_CREDS_KEY_LEN];
    for (size_t i = 0; i < sizeof(key_b); i++) {
        memcpy(key_b, key_a, sizeof(key_b));
        key_b[i] ^= 0x80;
        tg_buf_reset(&fx->opened);
        assert_int_equal(
            tg_creds_open(key_b, tg_cur_str("purpose"), tg_buf_cur(&fx->sealed), &fx->opened), -1);
    }
}

static void test_open_truncated_and_extended(void **state)
{
    struct sealed_fx *fx = *state;
    for (size_t len = 0; len < fx->sealed.len; len++) {
        tg_buf_reset(&fx->opened);
        assert_int_equal(tg_creds_open(key_a, tg_cur_str("purpose"),
                                       tg_cur_make(fx->sealed.ptr, len), &fx->opened),
                         -1);
        assert_int_equal(fx->opened.len, 0);
    }
    /* Dropping bytes at the front fails too. */
    assert_int_equal(tg_creds_open(key_a, tg_cur_str("purpose"),
                                   tg_cur_make(fx->sealed.ptr + 1, fx->sealed.len - 1),
                                   &fx->opened),
                     -1);
    uint8_t longer[256];
    memcpy(longer, fx->sealed.ptr, fx->sealed.len);
    longer[fx->sealed.len] = 0;
    assert_int_equal(tg_creds_open(key_a, tg_cur_str("purpose"),
                                   tg_cur_make(longer, fx->sealed.len + 1), &fx->opened),
                     -1);
}

static void test_open_other_version(void **state)
{
    struct sealed_fx *fx = *state;
    uint8_t copy[256];
    memcpy(copy, fx->sealed.ptr, fx->sealed.len);
    static const uint8_t versions[] = {0, 2, 0x81, 0xff};
    for (size_t i = 0; i < sizeof(versions); i++) {
        copy[0] = versions[i];
        assert_int_equal(tg_creds_open(key_a, tg_cur_str("purpose"),
                                       tg_cur_make(copy, fx->sealed.len), &fx->opened),
                         -1);
    }
}

/* An empty plaintext still carries a tag that must verify. */
static void test_open_empty_plaintext_tag_checked(void **state)
{
    (void)state;
    struct rng r = {3, -1};
    struct tg_buf s, o;
    tg_buf_init(&s, 256);
    tg_buf_init_secret(&o, 256);
    assert_int_equal(tg_creds_seal(key_a, test_rand, &r, tg_cur_str("x"), tg_cur_make("", 0), &s),
                     0);
    assert_int_equal(s.len, TG_CREDS_SEAL_OVERHEAD);
    assert_int_equal(tg_creds_open(key_a, tg_cur_str("x"), tg_buf_cur(&s), &o), 0);
    assert_int_equal(o.len, 0);
    s.ptr[s.len - 1] ^= 1;
    assert_int_equal(tg_creds_open(key_a, tg_cur_str("x"), tg_buf_cur(&s), &o), -1);
    tg_buf_free(&s);
    tg_buf_free(&o);
}

static bool in_base32(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

static bool in_base64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static void test_access_key_id_format(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"AKIA", "ASIA", "AROA", "ANPA"};
    struct rng r = {5, -1};
    char prev[21] = "";
    for (size_t p = 0; p < TG_ARRAY_LEN(prefixes); p++) {
        for (int k = 0; k < 50; k++) {
            char id[22];
            memset(id, 'x', sizeof(id));
            tg_creds_access_key_id(prefixes[p], test_rand, &r, id);
            assert_int_equal(strlen(id), TG_CREDS_ACCESS_KEY_ID_LEN);
            assert_memory_equal(id, prefixes[p], 4);
            for (size_t i = 4; i < 20; i++) {
                assert_true(in_base32(id[i]));
            }
            assert_string_not_equal(id, prev);
            memcpy(prev, id, sizeof(prev));
            assert_int_equal(id[21], 'x'); /* nothing written past out[20] */
        }
    }
    /* Every byte value maps into the alphabet; the extremes too. */
    struct rng zero = {0, 0}, ff = {0, 0xff};
    char a[21], b[21];
    tg_creds_access_key_id("AKIA", test_rand, &zero, a);
    tg_creds_access_key_id("AKIA", test_rand, &ff, b);
    assert_string_equal(a, "AKIAAAAAAAAAAAAAAAAA");
    assert_string_equal(b, "AKIA7777777777777777");
}

static void test_unique_id_format(void **state)
{
    (void)state;
    struct rng r = {11, -1};
    char id[23];
    memset(id, 'x', sizeof(id));
    tg_creds_unique_id("AROA", test_rand, &r, id);
    assert_int_equal(strlen(id), 21);
    assert_memory_equal(id, "AROA", 4);
    for (size_t i = 4; i < 21; i++) {
        assert_true(in_base32(id[i]));
    }
    assert_int_equal(id[22], 'x');
    char id2[22];
    tg_creds_unique_id("AROA", test_rand, &r, id2);
    assert_string_not_equal(id, id2);
}

static void test_secret_format(void **state)
{
    (void)state;
    struct rng r = {13, -1};
    char s[42];
    int seen[128] = {0};
    for (int k = 0; k < 200; k++) {
        memset(s, 'x', sizeof(s));
        tg_creds_secret(test_rand, &r, s);
        assert_int_equal(strlen(s), TG_CREDS_SECRET_LEN);
        assert_int_equal(s[41], 'x');
        for (size_t i = 0; i < 40; i++) {
            assert_true(in_base64(s[i]));
            seen[(int)s[i]] = 1;
        }
    }
    /* 8000 characters drawn: every one of the 64 should have appeared. */
    int distinct = 0;
    for (int c = 0; c < 128; c++) {
        distinct += seen[c];
    }
    assert_int_equal(distinct, 64);
    struct rng zero = {0, 0}, ff = {0, 0xff};
    tg_creds_secret(test_rand, &zero, s);
    assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    tg_creds_secret(test_rand, &ff, s);
    assert_string_equal(s, "////////////////////////////////////////");
}

/* With the shell's real randomness, two secrets and two ids differ. */
static void test_real_random(void **state)
{
    (void)state;
    char a[41], b[41], ia[21], ib[21];
    tg_creds_secret(tg_random, NULL, a);
    tg_creds_secret(tg_random, NULL, b);
    assert_string_not_equal(a, b);
    tg_creds_access_key_id("ASIA", tg_random, NULL, ia);
    tg_creds_access_key_id("ASIA", tg_random, NULL, ib);
    assert_string_not_equal(ia, ib);
    tg_wipe(a, sizeof(a));
    tg_wipe(b, sizeof(b));
}

/* ---- the session key ring ------------------------------------------------- */

static const uint8_t master_a[TG_CREDS_KEY_LEN] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};
static const uint8_t master_b[TG_CREDS_KEY_LEN] = {0xb0};

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z in ms */
#define HOUR_MS 3600000LL

/* Rotates old (may be NULL) at now_ms; returns the new document. */
static char *rotate(const uint8_t *master, const char *old, int64_t now_ms, struct rng *r)
{
    char *doc = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    struct tg_cur c = old != NULL ? tg_cur_str(old) : tg_cur_make("", 0);
    assert_int_equal(tg_creds_keyring_rotate(master, c, now_ms, test_rand, r, &doc, &err), 0);
    assert_non_null(doc);
    return doc;
}

static void load_ok(const uint8_t *master, const char *doc, struct tg_creds_keyring *ring)
{
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    int rc = tg_creds_keyring_load(master, tg_cur_str(doc), ring, &err);
    if (rc != 0) {
        print_error("load failed: %s\n", err.detail);
    }
    assert_int_equal(rc, 0);
}

static bool key_is_zero(const uint8_t *k)
{
    for (size_t i = 0; i < TG_CREDS_KEY_LEN; i++) {
        if (k[i] != 0) {
            return false;
        }
    }
    return true;
}

static void test_keyring_first_key(void **state)
{
    (void)state;
    struct rng r = {1, -1};
    struct tg_creds_keyring ring;
    char *doc = rotate(master_a, NULL, T0, &r);
    load_ok(master_a, doc, &ring);
    assert_int_equal(ring.n, 1);
    assert_int_equal(ring.current, 0);
    assert_string_equal(ring.keys[0].id, "k1");
    assert_int_equal(ring.keys[0].create_date_ms, T0);
    assert_int_equal(ring.keys[0].retire_date_ms, 0);
    assert_false(key_is_zero(ring.keys[0].key));

    /* The documented shape, and the key is not in it in the clear. */
    json_error_t jerr;
    json_t *root = json_loads(doc, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "current")), "k1");
    json_t *k = json_array_get(json_object_get(root, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "id")), "k1");
    assert_true(json_is_string(json_object_get(k, "sealed")));
    assert_int_equal(json_integer_value(json_object_get(k, "create_date")), T0);
    assert_null(json_object_get(k, "retire_date"));
    assert_int_equal(json_array_size(json_object_get(root, "keys")), 1);
    struct tg_buf b64;
    tg_buf_init(&b64, 256);
    assert_int_equal(tg_base64_encode(&b64, ring.keys[0].key, TG_CREDS_KEY_LEN), 0);
    assert_int_equal(tg_buf_nul(&b64), 0);
    assert_null(strstr(doc, (const char *)b64.ptr));
    tg_buf_free(&b64);
    json_decref(root);
    tg_creds_keyring_wipe(&ring);
    assert_int_equal(ring.n, 0);
    assert_true(key_is_zero(ring.keys[0].key));
    free(doc);
}

static void test_keyring_rotate_keeps_keys(void **state)
{
    (void)state;
    struct rng r = {2, -1};
    struct tg_creds_keyring r1, r2, r3;
    char *d1 = rotate(master_a, NULL, T0, &r);
    char *d2 = rotate(master_a, d1, T0 + 1000, &r);
    char *d3 = rotate(master_a, d2, T0 + 2000, &r);
    load_ok(master_a, d1, &r1);
    load_ok(master_a, d2, &r2);
    load_ok(master_a, d3, &r3);
    assert_int_equal(r2.n, 2);
    assert_string_equal(r2.keys[r2.current].id, "k2");
    assert_int_equal(r3.n, 3);
    assert_string_equal(r3.keys[r3.current].id, "k3");
    assert_int_equal(r3.keys[r3.current].create_date_ms, T0 + 2000);
    assert_int_equal(r3.keys[r3.current].retire_date_ms, 0);
    for (size_t i = 0; i < r3.n; i++) {
        const struct tg_creds_ring_key *k = &r3.keys[i];
        if (strcmp(k->id, "k1") == 0) {
            /* The same key as before, retired when k2 came. */
            assert_memory_equal(k->key, r1.keys[0].key, TG_CREDS_KEY_LEN);
            assert_int_equal(k->create_date_ms, T0);
            assert_int_equal(k->retire_date_ms, T0 + 1000);
        } else if (strcmp(k->id, "k2") == 0) {
            assert_memory_equal(k->key, r2.keys[r2.current].key, TG_CREDS_KEY_LEN);
            assert_int_equal(k->retire_date_ms, T0 + 2000);
        } else {
            assert_string_equal(k->id, "k3");
        }
    }
    /* Three distinct keys. */
    assert_memory_not_equal(r3.keys[0].key, r3.keys[1].key, TG_CREDS_KEY_LEN);
    assert_memory_not_equal(r3.keys[1].key, r3.keys[2].key, TG_CREDS_KEY_LEN);
    assert_memory_not_equal(r3.keys[0].key, r3.keys[2].key, TG_CREDS_KEY_LEN);
    tg_creds_keyring_wipe(&r1);
    tg_creds_keyring_wipe(&r2);
    tg_creds_keyring_wipe(&r3);
    free(d1);
    free(d2);
    free(d3);
}

static bool ring_has(const struct tg_creds_keyring *ring, const char *id)
{
    for (size_t i = 0; i < ring->n; i++) {
        if (strcmp(ring->keys[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

/* A key retired at R is kept while now - 12 h <= R, pruned after. */
static void test_keyring_prune_by_time(void **state)
{
    (void)state;
    struct rng r = {3, -1};
    struct tg_creds_keyring ring;
    int64_t max_ms = (int64_t)TG_SESSION_MAX_DURATION * 1000;
    char *d1 = rotate(master_a, NULL, T0, &r);
    char *d2 = rotate(master_a, d1, T0 + HOUR_MS, &r); /* k1 retired at T0 + 1 h */
    char *d3 = rotate(master_a, d2, T0 + HOUR_MS + max_ms, &r);
    load_ok(master_a, d3, &ring);
    assert_int_equal(ring.n, 3);
    assert_true(ring_has(&ring, "k1"));
    tg_creds_keyring_wipe(&ring);

    char *d4 = rotate(master_a, d3, T0 + HOUR_MS + max_ms + 1, &r);
    load_ok(master_a, d4, &ring);
    assert_int_equal(ring.n, 3);
    assert_false(ring_has(&ring, "k1"));
    assert_true(ring_has(&ring, "k2"));
    assert_true(ring_has(&ring, "k3"));
    assert_string_equal(ring.keys[ring.current].id, "k4");
    tg_creds_keyring_wipe(&ring);

    /* Much later, everything but the last current key goes; ids keep
     * counting from the highest, never reused. */
    char *d5 = rotate(master_a, d4, T0 + 100 * HOUR_MS, &r);
    load_ok(master_a, d5, &ring);
    assert_int_equal(ring.n, 2);
    assert_true(ring_has(&ring, "k4"));
    assert_string_equal(ring.keys[ring.current].id, "k5");
    tg_creds_keyring_wipe(&ring);
    free(d1);
    free(d2);
    free(d3);
    free(d4);
    free(d5);
}

static void test_keyring_full(void **state)
{
    (void)state;
    struct rng r = {4, -1};
    char *doc = rotate(master_a, NULL, T0, &r);
    for (int i = 1; i < TG_KEYRING_MAX_KEYS; i++) {
        char *next = rotate(master_a, doc, T0 + i, &r);
        free(doc);
        doc = next;
    }
    struct tg_creds_keyring ring;
    load_ok(master_a, doc, &ring);
    assert_int_equal(ring.n, TG_KEYRING_MAX_KEYS);
    tg_creds_keyring_wipe(&ring);
    /* A 17th live key is refused, with a reason for the operator. */
    char *next = (char *)1;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(
        tg_creds_keyring_rotate(master_a, tg_cur_str(doc), T0 + 100, test_rand, &r, &next, &err),
        -1);
    assert_null(next);
    assert_non_null(strstr(err.detail, "still live"));
    /* Once the old ones are past their retention, rotation works again. */
    next = rotate(master_a, doc, T0 + 13 * HOUR_MS, &r);
    load_ok(master_a, next, &ring);
    assert_int_equal(ring.n, 2);
    tg_creds_keyring_wipe(&ring);
    free(next);
    free(doc);
}

static void test_keyring_wrong_master(void **state)
{
    (void)state;
    struct rng r = {5, -1};
    char *d1 = rotate(master_a, NULL, T0, &r);
    struct tg_creds_keyring ring;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    memset(&ring, 0x55, sizeof(ring));
    assert_int_equal(tg_creds_keyring_load(master_b, tg_cur_str(d1), &ring, &err), -1);
    assert_non_null(strstr(err.detail, "does not open"));
    assert_int_equal(err.code, TG_E_INTERNAL_FAILURE);
    /* Nothing is written to out on failure. */
    assert_int_equal(ring.keys[0].key[0], 0x55);
    /* Nor can a wrong master add a key to the ring. */
    char *doc = NULL;
    assert_int_equal(
        tg_creds_keyring_rotate(master_b, tg_cur_str(d1), T0 + 1, test_rand, &r, &doc, &err), -1);
    assert_null(doc);
    free(d1);
}

/* Replaces the text from to by to in doc (first occurrence). */
static char *replace(const char *doc, const char *from, const char *to)
{
    const char *at = strstr(doc, from);
    assert_non_null(at);
    size_t n = strlen(doc) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from));
    return out;
}

static void expect_load_fails(const char *doc)
{
    struct tg_creds_keyring ring;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_creds_keyring_load(master_a, tg_cur_str(doc), &ring, &err) == 0) {
        tg_creds_keyring_wipe(&ring);
        fail_msg("loaded: %s", doc);
    }
    assert_true(err.detail[0] != '\0');
}

static void test_keyring_malformed(void **state)
{
    (void)state;
    struct rng r = {6, -1};
    char *d1 = rotate(master_a, NULL, T0, &r);
    char *d2 = rotate(master_a, d1, T0 + 1000, &r);
    json_error_t jerr;
    json_t *root = json_loads(d2, 0, &jerr);
    assert_non_null(root);
    json_t *keys = json_object_get(root, "keys");
    const char *s1 = json_string_value(json_object_get(json_array_get(keys, 0), "sealed"));
    const char *s2 = json_string_value(json_object_get(json_array_get(keys, 1), "sealed"));

    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "null",
        "{\"current\":\"k1\"}",
        "{\"current\":\"k1\",\"keys\":[]}",
        "{\"current\":\"k1\",\"keys\":{}}",
        "{\"current\":1,\"keys\":[]}",
        "{\"current\":\"k1\",\"keys\":[1]}",
        "{\"current\":\"k1\",\"keys\":[{\"id\":\"k1\",\"sealed\":\"!!!!\",\"create_date\":1}]}",
        "{\"current\":\"k1\",\"keys\":[{\"id\":\"k1\",\"sealed\":\"AAAA\",\"create_date\":1}]}",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        expect_load_fails(bad[i]);
    }
    /* Edits of a good document. */
    struct {
        const char *from, *to;
    } edits[] = {
        {"\"current\":\"k2\"", "\"current\":\"k3\""},
        {"\"current\":\"k2\"", "\"current\":\"k1\""}, /* k1 is retired, k2 is not */
        {"\"id\":\"k1\"", "\"id\":\"k2\""},           /* a duplicate id */
        {"\"id\":\"k1\"", "\"id\":\"k01\""},
        {"\"id\":\"k1\"", "\"id\":\"x1\""},
        {"\"id\":\"k1\"", "\"id\":\"k\""},
        {"\"id\":\"k1\"", "\"id\":\"k1234567890123456\""},
        {"\"id\":\"k1\"", "\"id\":\"k1\\u0000\""},
        {"\"id\":\"k1\"", "\"id\":1"},
        {"\"create_date\":1767225600000", "\"create_date\":\"1767225600000\""},
        {"\"create_date\":1767225600000", "\"create_date\":-1"},
        {"\"retire_date\":1767225601000", "\"retire_date\":0"},
        {"\"retire_date\":1767225601000", "\"retire_date\":1.5"},
        {",\"retire_date\":1767225601000", ""}, /* a retired key without date */
        {"\"create_date\":1767225601000", "\"create_date\":1767225601000,\"retire_date\":5"},
        {"\"current\":\"k2\"", "\"current\":\"k2\",\"current\":\"k2\""}, /* duplicate member */
        {"\"current\":\"k2\"", "\"current\":\"k2\\u0000\""},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(edits); i++) {
        char *doc = replace(d2, edits[i].from, edits[i].to);
        expect_load_fails(doc);
        free(doc);
    }
    /* The aad binds each sealed key to its id: swapping them fails. */
    char *t = replace(d2, s1, "@@ONE@@");
    char *u = replace(t, s2, s1);
    char *swapped = replace(u, "@@ONE@@", s2);
    expect_load_fails(swapped);
    free(t);
    free(u);
    free(swapped);
    /* Unknown members are ignored (a newer version may add some). */
    char *extra = replace(d2, "\"current\":\"k2\"", "\"current\":\"k2\",\"future\":[1,2]");
    struct tg_creds_keyring ring;
    load_ok(master_a, extra, &ring);
    tg_creds_keyring_wipe(&ring);
    free(extra);
    /* Rotation refuses a malformed document too. */
    char *doc = (char *)1;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(
        tg_creds_keyring_rotate(master_a, tg_cur_str("{}"), T0, test_rand, &r, &doc, &err), -1);
    assert_null(doc);
    /* So does a clock at the epoch. */
    assert_int_equal(
        tg_creds_keyring_rotate(master_a, tg_cur_str(d2), 0, test_rand, &r, &doc, &err), -1);
    assert_null(doc);
    json_decref(root);
    free(d1);
    free(d2);
}

/* ---- sessions ---------------------------------------------------------------- */

static void sample_session(struct tg_creds_session *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->access_key_id, sizeof(s->access_key_id), "ASIAQWERTYUIOPASDFGH");
    snprintf(s->secret, sizeof(s->secret), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    snprintf(s->account_id, sizeof(s->account_id), "123456789012");
    snprintf(s->role_name, sizeof(s->role_name), "deploy");
    snprintf(s->role_id, sizeof(s->role_id), "AROAABCDEFGHIJKLMNOPQ");
    snprintf(s->role_path, sizeof(s->role_path), "/ci/");
    snprintf(s->session_name, sizeof(s->session_name), "gha-1234");
    snprintf(s->provider_arn, sizeof(s->provider_arn),
             "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
    snprintf(s->subject, sizeof(s->subject), "repo:acme/app:ref:refs/heads/main");
    s->issued = 1767225600;
    s->expires = 1767229200;
}

static void assert_session_equal(const struct tg_creds_session *a, const struct tg_creds_session *b)
{
    assert_string_equal(a->access_key_id, b->access_key_id);
    assert_string_equal(a->secret, b->secret);
    assert_string_equal(a->account_id, b->account_id);
    assert_string_equal(a->role_name, b->role_name);
    assert_string_equal(a->role_id, b->role_id);
    assert_string_equal(a->role_path, b->role_path);
    assert_string_equal(a->session_name, b->session_name);
    assert_string_equal(a->provider_arn, b->provider_arn);
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->audience, b->audience);
    assert_string_equal(a->source_identity, b->source_identity);
    assert_int_equal(a->issued, b->issued);
    assert_int_equal(a->expires, b->expires);
    assert_string_equal(a->policy, b->policy);
    assert_int_equal(a->n_policy_arns, b->n_policy_arns);
    for (size_t i = 0; i < a->n_policy_arns; i++) {
        assert_string_equal(tg_creds_session_policy_arn(a, i), tg_creds_session_policy_arn(b, i));
    }
}

struct session_fx {
    char *d1, *d2;                 /* the ring after one and two rotations */
    struct tg_creds_keyring ring1; /* k1 current */
    struct tg_creds_keyring ring2; /* k1 retired, k2 current */
    struct tg_creds_session s;
    struct tg_buf token; /* sealed by ring1 */
};

static int session_setup(void **state)
{
    static struct session_fx fx;
    struct rng r = {10, -1};
    struct tg_error err;
    fx.d1 = NULL;
    fx.d2 = NULL;
    if (tg_creds_keyring_rotate(master_a, tg_cur_make("", 0), T0, test_rand, &r, &fx.d1, &err) <
            0 ||
        tg_creds_keyring_rotate(master_a, tg_cur_str(fx.d1), T0 + HOUR_MS, test_rand, &r, &fx.d2,
                                &err) < 0 ||
        tg_creds_keyring_load(master_a, tg_cur_str(fx.d1), &fx.ring1, &err) < 0 ||
        tg_creds_keyring_load(master_a, tg_cur_str(fx.d2), &fx.ring2, &err) < 0) {
        return -1;
    }
    sample_session(&fx.s);
    tg_buf_init(&fx.token, TG_SIGV4_MAX_SESSION_TOKEN);
    if (tg_creds_session_seal(&fx.ring1, test_rand, &r, &fx.s, &fx.token) < 0) {
        return -1;
    }
    *state = &fx;
    return 0;
}

static int session_teardown(void **state)
{
    struct session_fx *fx = *state;
    free(fx->d1);
    free(fx->d2);
    tg_creds_keyring_wipe(&fx->ring1);
    tg_creds_keyring_wipe(&fx->ring2);
    tg_buf_free(&fx->token);
    return 0;
}

static bool session_is_zero(const struct tg_creds_session *s)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < sizeof(*s); i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Opens text as a token; on failure also checks that out was wiped. */
static int open_text(const struct tg_creds_keyring *ring, const void *p, size_t n)
{
    struct tg_creds_session out;
    memset(&out, 0x41, sizeof(out));
    int rc = tg_creds_session_open(ring, tg_cur_make(p, n), &out);
    if (rc < 0) {
        assert_true(session_is_zero(&out));
    }
    tg_wipe(&out, sizeof(out));
    return rc;
}

/* Base64 of raw bytes, as a token. */
static void encode_raw(const uint8_t *raw, size_t n, struct tg_buf *text)
{
    tg_buf_reset(text);
    assert_int_equal(tg_base64_encode(text, raw, n), 0);
}

static void decode_token(const struct tg_buf *token, struct tg_buf *raw)
{
    tg_buf_init(raw, 8192);
    assert_int_equal(tg_base64_decode(raw, tg_buf_cur(token)), 0);
}

static void test_session_round_trip(void **state)
{
    struct session_fx *fx = *state;
    struct tg_creds_session out;
    /* Header-safe characters only, and well under 1 KiB. */
    for (size_t i = 0; i < fx->token.len; i++) {
        uint8_t c = fx->token.ptr[i];
        assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=');
    }
    assert_true(fx->token.len < 600);
    assert_memory_equal(fx->token.ptr, "VEc", 3); /* base64 of "TG" */
    /* Nothing of the session shows through. */
    struct tg_buf raw;
    decode_token(&fx->token, &raw);
    assert_memory_equal(raw.ptr, "TG\x01\x02k1", 6);
    assert_null(memmem(raw.ptr, raw.len, "deploy", 6));
    assert_null(memmem(raw.ptr, raw.len, "wJalr", 5));
    tg_buf_free(&raw);

    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&fx->token), &out), 0);
    assert_session_equal(&out, &fx->s);
    tg_wipe(&out, sizeof(out));
    /* Two seals of the same session differ (fresh nonce). */
    struct rng r = {11, -1};
    struct tg_buf t2;
    tg_buf_init(&t2, TG_SIGV4_MAX_SESSION_TOKEN);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &fx->s, &t2), 0);
    assert_int_equal(t2.len, fx->token.len);
    assert_memory_not_equal(t2.ptr, fx->token.ptr, t2.len);
    tg_buf_free(&t2);
}

static void test_session_seal_appends(void **state)
{
    struct session_fx *fx = *state;
    struct rng r = {12, -1};
    struct tg_buf out;
    tg_buf_init(&out, TG_SIGV4_MAX_SESSION_TOKEN + 2);
    assert_int_equal(tg_buf_append_str(&out, "x="), 0);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &fx->s, &out), 0);
    assert_memory_equal(out.ptr, "x=VEc", 5);
    assert_int_equal(open_text(&fx->ring1, out.ptr + 2, out.len - 2), 0);
    /* Too small an output buffer: -1 and nothing left behind. */
    struct tg_buf small;
    tg_buf_init(&small, 100);
    assert_int_equal(tg_buf_append_str(&small, "ab"), 0);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &fx->s, &small), -1);
    assert_int_equal(small.len, 2);
    /* An empty ring cannot seal. */
    struct tg_creds_keyring empty;
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(tg_creds_session_seal(&empty, test_rand, &r, &fx->s, &small), -1);
    assert_int_equal(open_text(&empty, fx->token.ptr, fx->token.len), -1);
    tg_buf_free(&small);
    tg_buf_free(&out);
}

static void test_session_old_key_after_rotation(void **state)
{
    struct session_fx *fx = *state;
    struct tg_creds_session out;
    struct rng r = {13, -1};
    /* ring2 still opens what k1 sealed. */
    assert_int_equal(tg_creds_session_open(&fx->ring2, tg_buf_cur(&fx->token), &out), 0);
    assert_session_equal(&out, &fx->s);
    tg_wipe(&out, sizeof(out));
    /* ring2 seals with k2, which ring1 does not know. */
    struct tg_buf t2, raw;
    tg_buf_init(&t2, TG_SIGV4_MAX_SESSION_TOKEN);
    assert_int_equal(tg_creds_session_seal(&fx->ring2, test_rand, &r, &fx->s, &t2), 0);
    decode_token(&t2, &raw);
    assert_memory_equal(raw.ptr, "TG\x01\x02k2", 6);
    assert_int_equal(open_text(&fx->ring2, t2.ptr, t2.len), 0);
    assert_int_equal(open_text(&fx->ring1, t2.ptr, t2.len), -1);
    /* Once k1 is pruned, its tokens are refused. */
    char *d3 = rotate(master_a, fx->d2, T0 + 14 * HOUR_MS, &r);
    struct tg_creds_keyring ring3;
    load_ok(master_a, d3, &ring3);
    assert_false(ring_has(&ring3, "k1"));
    assert_int_equal(open_text(&ring3, fx->token.ptr, fx->token.len), -1);
    assert_int_equal(open_text(&ring3, t2.ptr, t2.len), 0);
    tg_creds_keyring_wipe(&ring3);
    free(d3);
    tg_buf_free(&raw);
    tg_buf_free(&t2);
}

/* A ring of another deployment (another master, same key ids) refuses. */
static void test_session_foreign_ring(void **state)
{
    struct session_fx *fx = *state;
    struct rng r = {77, -1};
    char *d = rotate(master_b, NULL, T0, &r);
    struct tg_creds_keyring other;
    load_ok(master_b, d, &other);
    assert_string_equal(other.keys[0].id, "k1");
    assert_int_equal(open_text(&other, fx->token.ptr, fx->token.len), -1);
    /* A key id this ring does not hold, with the right key otherwise. */
    struct tg_creds_keyring renamed = fx->ring1;
    snprintf(renamed.keys[0].id, sizeof(renamed.keys[0].id), "k9");
    assert_int_equal(open_text(&renamed, fx->token.ptr, fx->token.len), -1);
    tg_creds_keyring_wipe(&renamed);
    tg_creds_keyring_wipe(&other);
    free(d);
}

static void test_session_tamper_every_byte(void **state)
{
    struct session_fx *fx = *state;
    struct tg_buf raw, text;
    decode_token(&fx->token, &raw);
    tg_buf_init(&text, 8192);
    for (size_t i = 0; i < raw.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            raw.ptr[i] ^= (uint8_t)(1u << bit);
            encode_raw(raw.ptr, raw.len, &text);
            assert_int_equal(open_text(&fx->ring2, text.ptr, text.len), -1);
            raw.ptr[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Each character of the text replaced by another base64 character. */
    uint8_t copy[TG_SIGV4_MAX_SESSION_TOKEN];
    size_t n = fx->token.len;
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, fx->token.ptr, n);
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        assert_int_equal(open_text(&fx->ring2, copy, n), -1);
    }
    /* The untouched raw bytes still open. */
    encode_raw(raw.ptr, raw.len, &text);
    assert_int_equal(open_text(&fx->ring2, text.ptr, text.len), 0);
    tg_buf_free(&raw);
    tg_buf_free(&text);
}

static void test_session_truncated_extended(void **state)
{
    struct session_fx *fx = *state;
    struct tg_buf raw, text;
    decode_token(&fx->token, &raw);
    tg_buf_init(&text, 8192);
    /* Every prefix of the text. */
    for (size_t n = 0; n < fx->token.len; n++) {
        assert_int_equal(open_text(&fx->ring1, fx->token.ptr, n), -1);
    }
    /* Every prefix of the raw bytes, re-encoded. */
    for (size_t n = 0; n < raw.len; n++) {
        encode_raw(raw.ptr, n, &text);
        assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    }
    /* Extended by bytes, and by text. */
    static const uint8_t tails[][3] = {{0}, {0, 0}, {0x41, 0x41, 0x41}};
    for (size_t t = 0; t < TG_ARRAY_LEN(tails); t++) {
        struct tg_buf longer;
        tg_buf_init(&longer, 8192);
        assert_int_equal(tg_buf_append(&longer, raw.ptr, raw.len), 0);
        assert_int_equal(tg_buf_append(&longer, tails[t], t + 1), 0);
        encode_raw(longer.ptr, longer.len, &text);
        assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
        tg_buf_free(&longer);
    }
    tg_buf_reset(&text);
    assert_int_equal(tg_buf_append(&text, fx->token.ptr, fx->token.len), 0);
    assert_int_equal(tg_buf_append_str(&text, "AAAA"), 0);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    tg_buf_free(&raw);
    tg_buf_free(&text);
}

static void test_session_base64_garbage(void **state)
{
    struct session_fx *fx = *state;
    static const char *const bad[] = {
        "",         "=",        "====",     "!!!!",     "VEc=",     "VEcB",
        "VEcBAms=", "VEcBAmsx", "VEcBD2sx", "VEcAAA==", "VEcCAmsx", "QUJD",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_int_equal(open_text(&fx->ring1, bad[i], strlen(bad[i])), -1);
    }
    /* The right token with a space, a newline, or the URL alphabet. */
    uint8_t copy[TG_SIGV4_MAX_SESSION_TOKEN + 8];
    size_t n = fx->token.len;
    memcpy(copy, fx->token.ptr, n);
    copy[n] = '\n';
    assert_int_equal(open_text(&fx->ring1, copy, n + 1), -1);
    copy[n] = ' ';
    assert_int_equal(open_text(&fx->ring1, copy, n + 1), -1);
    memcpy(copy + 1, fx->token.ptr, n);
    copy[0] = ' ';
    assert_int_equal(open_text(&fx->ring1, copy, n + 1), -1);
    memcpy(copy, fx->token.ptr, n);
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        if (copy[i] == '+' || copy[i] == '/') {
            copy[i] = copy[i] == '+' ? '-' : '_';
            changed = true;
        }
    }
    if (changed) {
        assert_int_equal(open_text(&fx->ring1, copy, n), -1);
    }
    /* Too long, even as valid base64. */
    static uint8_t big[TG_SIGV4_MAX_SESSION_TOKEN + 4];
    memset(big, 'A', sizeof(big));
    assert_int_equal(open_text(&fx->ring1, big, sizeof(big)), -1);
    assert_int_equal(open_text(&fx->ring1, big, TG_SIGV4_MAX_SESSION_TOKEN), -1);
    /* Pseudo-random bytes. */
    struct rng r = {14, -1};
    for (int k = 0; k < 200; k++) {
        uint8_t junk[64];
        test_rand(&r, junk, sizeof(junk));
        assert_int_equal(open_text(&fx->ring1, junk, (size_t)k % sizeof(junk)), -1);
    }
}

static void fill(char *f, size_t size, char c)
{
    memset(f, c, size - 1);
    f[size - 1] = '\0';
}

/* s zeroed, then the fields before provider_arn at their size. */
static void fill_leading_fields(struct tg_creds_session *s)
{
    memset(s, 0, sizeof(*s));
    fill(s->access_key_id, sizeof(s->access_key_id), 'A');
    fill(s->secret, sizeof(s->secret), '/');
    fill(s->account_id, sizeof(s->account_id), '9');
    fill(s->role_name, sizeof(s->role_name), 'r');
    fill(s->role_id, sizeof(s->role_id), 'I');
    fill(s->role_path, sizeof(s->role_path), 'p');
    fill(s->session_name, sizeof(s->session_name), 's');
}

/* Every field at its size, except the provider ARN at the longest one IAM
 * makes ("arn:aws:iam::" account ":oidc-provider/" and a 255-character URL
 * without its scheme): it round-trips within TG_SIGV4_MAX_SESSION_TOKEN. */
static void test_session_max_fields(void **state)
{
    struct session_fx *fx = *state;
    struct tg_creds_session s, out;
    struct rng r = {15, -1};
    struct tg_buf token;
    fill_leading_fields(&s);
    char url[256];
    fill(url, sizeof(url) - 8, 'u'); /* 247 chars: "https://" + 247 = 255 */
    snprintf(s.provider_arn, sizeof(s.provider_arn), "arn:aws:iam::999999999999:oidc-provider/%s",
             url);
    fill(s.subject, sizeof(s.subject), '\xe3'); /* not UTF-8 on purpose: cut claims */
    fill(s.source_identity, sizeof(s.source_identity), 'i');
    s.issued = INT64_MIN;
    s.expires = INT64_MAX;
    tg_buf_init(&token, TG_SIGV4_MAX_SESSION_TOKEN);
    assert_int_equal(tg_creds_session_seal(&fx->ring2, test_rand, &r, &s, &token), 0);
    assert_true(token.len <= TG_SIGV4_MAX_SESSION_TOKEN);
    assert_int_equal(tg_creds_session_open(&fx->ring2, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));

    /* Empty strings everywhere round-trip too. */
    struct tg_creds_session e;
    memset(&e, 0, sizeof(e));
    e.expires = -1;
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring2, test_rand, &r, &e, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring2, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &e);

    /* Every field at its maximum still fits in a token (TG_SIGV4_MAX_SESSION_TOKEN). */
    fill(s.provider_arn, sizeof(s.provider_arn), 'a');
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring2, test_rand, &r, &s, &token), 0);
    assert_true(token.len <= TG_SIGV4_MAX_SESSION_TOKEN);
    assert_int_equal(tg_creds_session_open(&fx->ring2, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));
    tg_buf_reset(&token);
    /* So is a field that is not NUL-terminated (a caller's mistake). */
    sample_session(&s);
    memset(s.account_id, '1', sizeof(s.account_id));
    assert_int_equal(tg_creds_session_seal(&fx->ring2, test_rand, &r, &s, &token), -1);
    assert_int_equal(token.len, 0);
    tg_buf_free(&token);
}

/* Tokens with a valid tag whose plaintext is wrong: built here by hand
 * with the ring's key, as only a holder of the key (or a bug) could. */
static void seal_raw_plaintext(const struct tg_creds_keyring *ring, const uint8_t *pt, size_t n,
                               struct tg_buf *text)
{
    const struct tg_creds_ring_key *k = &ring->keys[ring->current];
    uint8_t header[4 + TG_CREDS_KEY_ID_MAX] = {'T', 'G', 1, (uint8_t)strlen(k->id)};
    memcpy(header + 4, k->id, strlen(k->id));
    size_t hlen = 4 + strlen(k->id);
    struct rng r = {16, -1};
    struct tg_buf sealed, raw;
    tg_buf_init(&sealed, 8192);
    tg_buf_init(&raw, 8192);
    assert_int_equal(tg_creds_seal(k->key, test_rand, &r, tg_cur_make(header, hlen),
                                   tg_cur_make(pt, n), &sealed),
                     0);
    assert_int_equal(tg_buf_append(&raw, header, hlen), 0);
    assert_int_equal(tg_buf_append(&raw, sealed.ptr + 1, sealed.len - 1), 0);
    encode_raw(raw.ptr, raw.len, text);
    tg_buf_free(&sealed);
    tg_buf_free(&raw);
}

/* The plaintext of the sample session, as the documented encoding. */
static size_t sample_plaintext(const struct tg_creds_session *s, uint8_t *pt)
{
    const char *f[] = {s->access_key_id, s->secret,         s->account_id,   s->role_name,
                       s->role_id,       s->role_path,      s->session_name, s->provider_arn,
                       s->subject,       s->source_identity};
    size_t n = 0;
    for (size_t i = 0; i < TG_ARRAY_LEN(f); i++) {
        size_t l = strlen(f[i]);
        pt[n++] = (uint8_t)(l >> 8);
        pt[n++] = (uint8_t)l;
        memcpy(pt + n, f[i], l);
        n += l;
    }
    for (int t = 0; t < 2; t++) {
        uint64_t v = (uint64_t)(t == 0 ? s->issued : s->expires);
        for (int i = 7; i >= 0; i--) {
            pt[n + (size_t)i] = (uint8_t)v;
            v >>= 8;
        }
        n += 8;
    }
    return n;
}

#define SP_POLICY                                                                                  \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:GetRole\"," \
    "\"Resource\":\"*\"}]}"
#define SP_ARN1 "arn:aws:iam::123456789012:policy/read-only"
#define SP_ARN2 "arn:aws:iam::123456789012:policy/ci/deploy"

/* The documented section of session policies after the sample plaintext. */
static size_t sample_policy_plaintext(const struct tg_creds_session *s, uint8_t *pt)
{
    size_t n = sample_plaintext(s, pt);
    const char *arns[] = {SP_ARN1, SP_ARN2};
    size_t pl = strlen(SP_POLICY);
    pt[n++] = 0x01;
    pt[n++] = (uint8_t)(pl >> 8);
    pt[n++] = (uint8_t)pl;
    memcpy(pt + n, SP_POLICY, pl);
    n += pl;
    pt[n++] = 2;
    for (size_t i = 0; i < 2; i++) {
        size_t l = strlen(arns[i]);
        pt[n++] = (uint8_t)(l >> 8);
        pt[n++] = (uint8_t)l;
        memcpy(pt + n, arns[i], l);
        n += l;
    }
    return n;
}

/* The audience section (0x02): the aud that matched, carried into the
 * session's calls as <provider>:aud (spec 3.1). */
static void test_session_audience(void **state)
{
    struct session_fx *fx = *state;
    struct rng r = {23, -1};
    struct tg_creds_session s, out;
    struct tg_buf token, text;
    tg_buf_init(&token, TG_SIGV4_MAX_SESSION_TOKEN);
    tg_buf_init(&text, 8192);

    /* round trip, alone and after the session policies */
    sample_session(&s);
    snprintf(s.audience, sizeof(s.audience), "sts.amazonaws.com");
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));
    snprintf(s.policy, sizeof(s.policy), "%s", SP_POLICY);
    assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN1)), 0);
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));

    /* the documented bytes: 0x02, u16 length, the audience */
    uint8_t pt[8192];
    struct tg_creds_session want;
    sample_session(&want);
    size_t base = sample_plaintext(&fx->s, pt);
    const char *aud = "https://gitlab.example.com";
    size_t an = strlen(aud);
    size_t n = base;
    pt[n++] = 0x02;
    pt[n++] = 0;
    pt[n++] = (uint8_t)an;
    memcpy(pt + n, aud, an);
    n += an;
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&text), &out), 0);
    snprintf(want.audience, sizeof(want.audience), "%s", aud);
    assert_session_equal(&out, &want);
    tg_wipe(&out, sizeof(out));
    /* every cut of it, a byte more, twice, empty, a NUL inside: refused */
    for (size_t k = base + 1; k < n; k++) {
        seal_raw_plaintext(&fx->ring1, pt, k, &text);
        assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    }
    pt[n] = 'x';
    seal_raw_plaintext(&fx->ring1, pt, n + 1, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    memcpy(pt + n, pt + base, n - base);
    seal_raw_plaintext(&fx->ring1, pt, n + (n - base), &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    pt[base + 3 + 4] = '\0';
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    const uint8_t empty[] = {0x02, 0, 0};
    memcpy(pt + base, empty, sizeof(empty));
    seal_raw_plaintext(&fx->ring1, pt, base + sizeof(empty), &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    /* sections out of order: the audience before the session policies */
    const uint8_t aud_first[] = {0x02, 0, 1, 'a', 0x01, 0, 1, 'x', 0};
    memcpy(pt + base, aud_first, sizeof(aud_first));
    seal_raw_plaintext(&fx->ring1, pt, base + sizeof(aud_first), &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    const uint8_t in_order[] = {0x01, 0, 1, 'x', 0, 0x02, 0, 1, 'a'};
    memcpy(pt + base, in_order, sizeof(in_order));
    seal_raw_plaintext(&fx->ring1, pt, base + sizeof(in_order), &text);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&text), &out), 0);
    assert_string_equal(out.policy, "x");
    assert_string_equal(out.audience, "a");
    tg_wipe(&out, sizeof(out));
    tg_buf_free(&token);
    tg_buf_free(&text);
}

static void test_session_policies(void **state)
{
    struct session_fx *fx = *state;
    struct rng r = {17, -1};
    struct tg_creds_session s, out;
    struct tg_buf token, text;
    tg_buf_init(&token, TG_SIGV4_MAX_SESSION_TOKEN);
    tg_buf_init(&text, 8192);

    /* Without session policies a token is exactly what the documented
     * version-1 plaintext (no section) seals to: the same size as before. */
    uint8_t pt[8192];
    size_t n = sample_plaintext(&fx->s, pt);
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(text.len, fx->token.len);
    assert_false(tg_creds_session_has_policies(&fx->s));

    /* Round trip with an inline policy and two ARNs. */
    sample_session(&s);
    snprintf(s.policy, sizeof(s.policy), "%s", SP_POLICY);
    assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN1)), 0);
    assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN2)), 0);
    assert_true(tg_creds_session_has_policies(&s));
    assert_int_equal(tg_creds_session_policy_chars(&s),
                     strlen(SP_POLICY) + strlen(SP_ARN1) + strlen(SP_ARN2));
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), 0);
    assert_true(token.len > fx->token.len);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    assert_string_equal(tg_creds_session_policy_arn(&out, 1), SP_ARN2);
    tg_wipe(&out, sizeof(out));

    /* Only ARNs, only a policy. */
    struct tg_creds_session only;
    sample_session(&only);
    assert_int_equal(tg_creds_session_add_policy_arn(&only, tg_cur_str(SP_ARN1)), 0);
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &only, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &only);
    sample_session(&only);
    snprintf(only.policy, sizeof(only.policy), "%s", SP_POLICY);
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &only, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &only);
    tg_wipe(&out, sizeof(out));

    /* The documented section opens; every cut of it, a byte more, an
     * unknown section, an empty one, too many ARNs, an empty ARN do not. */
    n = sample_policy_plaintext(&fx->s, pt);
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&text), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));
    size_t base = sample_plaintext(&fx->s, pt);
    for (size_t k = base + 1; k < n; k++) {
        seal_raw_plaintext(&fx->ring1, pt, k, &text);
        assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    }
    pt[n] = 0;
    seal_raw_plaintext(&fx->ring1, pt, n + 1, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    pt[base] = 0x03;
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    const uint8_t empty[] = {0x01, 0, 0, 0};
    memcpy(pt + base, empty, sizeof(empty));
    seal_raw_plaintext(&fx->ring1, pt, base + sizeof(empty), &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    const uint8_t eleven[] = {0x01, 0, 1, 'x', 11};
    memcpy(pt + base, eleven, sizeof(eleven));
    size_t m = base + sizeof(eleven);
    for (int i = 0; i < 11; i++) {
        pt[m++] = 0;
        pt[m++] = 1;
        pt[m++] = 'a';
    }
    seal_raw_plaintext(&fx->ring1, pt, m, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    pt[base + 4] = 10; /* ten of them is fine */
    seal_raw_plaintext(&fx->ring1, pt, m - 3, &text);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&text), &out), 0);
    assert_int_equal(out.n_policy_arns, 10);
    tg_wipe(&out, sizeof(out));
    const uint8_t empty_arn[] = {0x01, 0, 0, 1, 0, 0};
    memcpy(pt + base, empty_arn, sizeof(empty_arn));
    seal_raw_plaintext(&fx->ring1, pt, base + sizeof(empty_arn), &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);

    /* Limits: an eleventh ARN; more than 2,048 characters of policy or of
     * all of them together is a caller's mistake that seal refuses. */
    sample_session(&s);
    for (int i = 0; i < TG_STS_MAX_POLICY_ARNS; i++) {
        assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN1)), 0);
    }
    assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN1)), -1);
    assert_int_equal(tg_creds_session_add_policy_arn(&only, tg_cur_make("", 0)), -1);
    sample_session(&s);
    memset(s.policy, 'a', TG_STS_PACKED_POLICY_MAX + 1);
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), -1);
    assert_int_equal(token.len, 0);
    memset(s.policy, 'a', TG_STS_PACKED_POLICY_MAX);
    s.policy[TG_STS_PACKED_POLICY_MAX - 20] = '\0';
    assert_int_equal(tg_creds_session_add_policy_arn(&s, tg_cur_str(SP_ARN1)), 0); /* 42 */
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), -1);
    s.policy[TG_STS_PACKED_POLICY_MAX - 42] = '\0'; /* exactly 2,048 together */
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), 0);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));

    /* The largest session: every field at its maximum and 2,048 characters
     * of U+00E9 (4,096 bytes) as the policy, which is the most bytes the
     * limits allow. It fits TG_SIGV4_MAX_SESSION_TOKEN and a header. */
    fill_leading_fields(&s);
    fill(s.provider_arn, sizeof(s.provider_arn), 'a');
    fill(s.subject, sizeof(s.subject), 'u');
    fill(s.audience, sizeof(s.audience), 'c');
    fill(s.source_identity, sizeof(s.source_identity), 'i');
    for (size_t i = 0; i < TG_STS_POLICY_MAX; i++) {
        s.policy[2 * i] = (char)0xC3;
        s.policy[2 * i + 1] = (char)0xA9;
    }
    assert_int_equal(tg_creds_session_policy_chars(&s), TG_STS_POLICY_MAX);
    tg_buf_reset(&token);
    assert_int_equal(tg_creds_session_seal(&fx->ring1, test_rand, &r, &s, &token), 0);
    assert_true(token.len <= TG_SIGV4_MAX_SESSION_TOKEN);
    assert_true(token.len <= TG_HTTP_MAX_HEADER_VALUE);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&token), &out), 0);
    assert_session_equal(&out, &s);
    tg_wipe(&out, sizeof(out));
    tg_wipe(&s, sizeof(s));
    tg_buf_free(&token);
    tg_buf_free(&text);
}

static void test_session_plaintext_checked(void **state)
{
    struct session_fx *fx = *state;
    uint8_t pt[4096];
    struct tg_buf text;
    struct tg_creds_session out;
    tg_buf_init(&text, 8192);
    size_t n = sample_plaintext(&fx->s, pt);

    /* The documented encoding opens: the format is what the comment says. */
    seal_raw_plaintext(&fx->ring1, pt, n, &text);
    assert_int_equal(tg_creds_session_open(&fx->ring1, tg_buf_cur(&text), &out), 0);
    assert_session_equal(&out, &fx->s);
    tg_wipe(&out, sizeof(out));

    /* Trailing bytes, a missing byte, every shorter plaintext. */
    pt[n] = 0;
    seal_raw_plaintext(&fx->ring1, pt, n + 1, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    for (size_t k = 0; k < n; k++) {
        seal_raw_plaintext(&fx->ring1, pt, k, &text);
        assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    }

    /* A field one byte longer than its array can hold: the access key id
     * (first field) of 21 bytes. */
    uint8_t big[4096];
    size_t m = 0;
    big[m++] = 0;
    big[m++] = TG_CREDS_ACCESS_KEY_ID_LEN + 1;
    memset(big + m, 'A', TG_CREDS_ACCESS_KEY_ID_LEN + 1);
    m += TG_CREDS_ACCESS_KEY_ID_LEN + 1;
    memcpy(big + m, pt + 2 + strlen(fx->s.access_key_id), n - 2 - strlen(fx->s.access_key_id));
    m += n - 2 - strlen(fx->s.access_key_id);
    seal_raw_plaintext(&fx->ring1, big, m, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    /* The same with exactly 20 bytes opens (the check is not off by one). */
    big[1] = TG_CREDS_ACCESS_KEY_ID_LEN;
    memmove(big + 2 + TG_CREDS_ACCESS_KEY_ID_LEN, big + 3 + TG_CREDS_ACCESS_KEY_ID_LEN,
            m - 3 - TG_CREDS_ACCESS_KEY_ID_LEN);
    seal_raw_plaintext(&fx->ring1, big, m - 1, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), 0);

    /* A length far past the end (0xffff). */
    memcpy(big, pt, n);
    big[0] = 0xff;
    big[1] = 0xff;
    seal_raw_plaintext(&fx->ring1, big, n, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);

    /* An embedded NUL in a string. */
    memcpy(big, pt, n);
    big[3] = '\0';
    seal_raw_plaintext(&fx->ring1, big, n, &text);
    assert_int_equal(open_text(&fx->ring1, text.ptr, text.len), -1);
    tg_buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_known_answer_evp),
        cmocka_unit_test(test_seal_known_answer),
        cmocka_unit_test(test_round_trip_lengths),
        cmocka_unit_test(test_seal_appends),
        cmocka_unit_test(test_seal_nonce_fresh),
        cmocka_unit_test(test_seal_out_too_small),
        cmocka_unit_test_setup_teardown(test_open_tamper_each_byte, sealed_setup, sealed_teardown),
        cmocka_unit_test_setup_teardown(test_open_wrong_aad, sealed_setup, sealed_teardown),
        cmocka_unit_test_setup_teardown(test_open_wrong_key, sealed_setup, sealed_teardown),
        cmocka_unit_test_setup_teardown(test_open_truncated_and_extended, sealed_setup,
                                        sealed_teardown),
        cmocka_unit_test_setup_teardown(test_open_other_version, sealed_setup, sealed_teardown),
        cmocka_unit_test(test_open_empty_plaintext_tag_checked),
        cmocka_unit_test(test_access_key_id_format),
        cmocka_unit_test(test_unique_id_format),
        cmocka_unit_test(test_secret_format),
        cmocka_unit_test(test_real_random),
        cmocka_unit_test(test_keyring_first_key),
        cmocka_unit_test(test_keyring_rotate_keeps_keys),
        cmocka_unit_test(test_keyring_prune_by_time),
        cmocka_unit_test(test_keyring_full),
        cmocka_unit_test(test_keyring_wrong_master),
        cmocka_unit_test(test_keyring_malformed),
        cmocka_unit_test_setup_teardown(test_session_round_trip, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_seal_appends, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_old_key_after_rotation, session_setup,
                                        session_teardown),
        cmocka_unit_test_setup_teardown(test_session_foreign_ring, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_tamper_every_byte, session_setup,
                                        session_teardown),
        cmocka_unit_test_setup_teardown(test_session_truncated_extended, session_setup,
                                        session_teardown),
        cmocka_unit_test_setup_teardown(test_session_base64_garbage, session_setup,
                                        session_teardown),
        cmocka_unit_test_setup_teardown(test_session_max_fields, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_policies, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_audience, session_setup, session_teardown),
        cmocka_unit_test_setup_teardown(test_session_plaintext_checked, session_setup,
                                        session_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
