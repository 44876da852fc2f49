/* Unit tests for src/creds/creds.c: sealing (AES-256-GCM) and formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
