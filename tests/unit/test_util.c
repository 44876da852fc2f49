/*
 * Unit tests for src/util: cursors, buffers, encodings (RFC 4648 §10
 * vectors), percent-encoding, UTF-8, time formats, UUIDs and the AWS error
 * table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define CUR(s) tg_cur_make((s), sizeof(s) - 1)

static void assert_buf_eq(const struct tg_buf *b, const char *want, size_t want_len)
{
    assert_int_equal(b->len, want_len);
    if (want_len > 0) {
        assert_memory_equal(b->ptr, want, want_len);
    }
}

/* ---- cursors ---- */

static void test_cur_compare(void **state)
{
    (void)state;
    assert_true(tg_cur_eq_str(CUR("abc"), "abc"));
    assert_false(tg_cur_eq_str(CUR("abc"), "abcd"));
    assert_false(tg_cur_eq_str(CUR("abd"), "abc"));
    assert_true(tg_cur_eq(tg_cur_make(NULL, 0), CUR("")));
    assert_true(tg_cur_eq_nocase_str(CUR("Content-Type"), "content-type"));
    assert_false(tg_cur_eq_nocase_str(CUR("Content-Typf"), "content-type"));
    /* Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 too. */
    assert_false(tg_cur_eq_nocase_str(CUR("@"), "`"));
    assert_true(tg_cur_starts_with(CUR("AWS4-HMAC-SHA256 x"), "AWS4-HMAC-SHA256"));
    assert_false(tg_cur_starts_with(CUR("AWS4"), "AWS4-HMAC"));
    assert_true(tg_cur_starts_with(CUR(""), ""));
    /* Embedded NUL: the cursor length counts, not strlen. */
    assert_false(tg_cur_eq_str(CUR("ab\0c"), "ab"));
}

static void test_cur_find(void **state)
{
    (void)state;
    struct tg_cur c = CUR("a=b=c");
    assert_int_equal(tg_cur_find(c, '=', 0), 1);
    assert_int_equal(tg_cur_find(c, '=', 2), 3);
    assert_int_equal(tg_cur_find(c, '=', 4), -1);
    assert_int_equal(tg_cur_find(c, '=', 100), -1);
    assert_int_equal(tg_cur_find(c, 'x', 0), -1);
}

/* The SWAR scanners agree with a plain byte loop for every byte value at
 * every position of a word and across word edges. */
static void test_span(void **state)
{
    (void)state;
    static const uint8_t specials[] = {'"', '\\', 0x7f};
    static const uint8_t form[] = {'%', '+', 0};
    uint8_t buf[21];
    for (int c = 0; c < 256; c++) {
        bool text_plain = c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != 0x7f;
        bool form_plain = c != '%' && c != '+' && c != 0;
        for (size_t pos = 0; pos < sizeof(buf); pos++) {
            memset(buf, 'a', sizeof(buf));
            buf[pos] = (uint8_t)c;
            for (size_t n = 0; n <= sizeof(buf); n++) {
                size_t want_text = pos < n && !text_plain ? pos : n;
                size_t want_form = pos < n && !form_plain ? pos : n;
                assert_int_equal(tg_span_text(buf, n, specials, sizeof(specials)), want_text);
                assert_int_equal(tg_span_without(buf, n, form, sizeof(form)), want_form);
            }
        }
    }
    /* Two specials in one word: the first one counts. */
    static const uint8_t two[] = "abc\"de\"f";
    assert_int_equal(tg_span_text(two, sizeof(two) - 1, specials, 1), 3);
    assert_int_equal(tg_span_text(two, 0, specials, 1), 0);
    assert_int_equal(tg_span_without(two, sizeof(two) - 1, specials, 0), sizeof(two) - 1);
}

static void test_fmt(void **state)
{
    (void)state;
    char b[TG_I64_LEN];
    static const struct {
        int64_t v;
        const char *s;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {-1, "-1"},
                 {1767323045, "1767323045"},
                 {INT64_MAX, "9223372036854775807"},
                 {INT64_MIN, "-9223372036854775808"}};
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        assert_int_equal(tg_fmt_i64(cases[i].v, b), strlen(cases[i].s));
        assert_string_equal(b, cases[i].s);
    }
    char out[8];
    assert_int_equal(tg_concat(out, sizeof(out), "ab", ":", "cd", NULL), 5);
    assert_string_equal(out, "ab:cd");
    /* Cut like snprintf, and the whole length reported. */
    assert_int_equal(tg_concat(out, sizeof(out), "abcdef", "ghij", NULL), 10);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(tg_concat(out, sizeof(out), NULL), 0);
    assert_string_equal(out, "");
    assert_int_equal(tg_concat(out, 1, "x", NULL), 1);
    assert_string_equal(out, "");
    assert_int_equal(tg_concat(NULL, 0, "xyz", NULL), 3);
}

static void test_cur_to_i64(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(tg_cur_to_i64(CUR("0"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tg_cur_to_i64(CUR("3600"), &v), 0);
    assert_int_equal(v, 3600);
    assert_int_equal(tg_cur_to_i64(CUR("-42"), &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(tg_cur_to_i64(CUR("999999999999999999"), &v), 0);
    assert_int_equal(v, 999999999999999999LL);
    v = 7;
    const char *bad[] = {"",   "-", "+1", " 1", "1 ", "1a", "0x10", "1.5", "1999999999999999999",
                         "--1"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_int_equal(tg_cur_to_i64(tg_cur_str(bad[i]), &v), -1);
        assert_int_equal(v, 7);
    }
}

static void test_cur_strdup(void **state)
{
    (void)state;
    char *s = tg_cur_strdup(tg_cur_make("hello world", 5));
    assert_non_null(s);
    assert_string_equal(s, "hello");
    free(s);
    s = tg_cur_strdup(tg_cur_make(NULL, 0));
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

/* ---- buffers ---- */

static void test_buf_basic(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 1000);
    assert_null(b.ptr);
    assert_int_equal(tg_buf_append_str(&b, "abc"), 0);
    assert_int_equal(tg_buf_append_byte(&b, '-'), 0);
    assert_int_equal(tg_buf_append_cur(&b, CUR("de")), 0);
    assert_int_equal(tg_buf_appendf(&b, "%d/%s", 42, "x"), 0);
    assert_buf_eq(&b, "abc-de42/x", 10);
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_string_equal((char *)b.ptr, "abc-de42/x");
    assert_int_equal(b.len, 10);
    struct tg_cur c = tg_buf_cur(&b);
    assert_true(tg_cur_eq_str(c, "abc-de42/x"));
    tg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_non_null(b.ptr);
    /* Growth past the first allocation keeps the contents. */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(tg_buf_appendf(&b, "%d,", i % 10), 0);
    }
    assert_int_equal(b.len, 200);
    assert_memory_equal(b.ptr + 190, "5,6,7,8,9,", 10);
    char *s = tg_buf_steal(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), 200);
    free(s);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    tg_buf_free(&b);
}

static void test_buf_max(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 8);
    assert_int_equal(tg_buf_append_str(&b, "12345678"), 0);
    /* Full: every kind of append fails and leaves the contents alone. */
    assert_int_equal(tg_buf_append_byte(&b, '9'), -1);
    assert_int_equal(tg_buf_append_str(&b, "9"), -1);
    assert_int_equal(tg_buf_appendf(&b, "%d", 9), -1);
    assert_buf_eq(&b, "12345678", 8);
    /* The NUL terminator is not counted against max. */
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(b.ptr[8], 0);
    /* Appending nothing to a full buffer is fine. */
    assert_int_equal(tg_buf_append(&b, "", 0), 0);
    tg_buf_reset(&b);
    assert_int_equal(tg_buf_append_str(&b, "123456789"), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(tg_buf_appendf(&b, "%s", "123456789"), -1);
    assert_int_equal(b.len, 0);
    tg_buf_free(&b);

    /* tg_buf_reserve: room without content, refused past max. */
    tg_buf_init(&b, 8);
    assert_int_equal(tg_buf_reserve(&b, 9), -1);
    assert_int_equal(b.cap, 0);
    assert_int_equal(tg_buf_reserve(&b, 8), 0);
    assert_int_equal(b.len, 0);
    assert_true(b.cap >= 9);
    uint8_t *before = b.ptr;
    assert_int_equal(tg_buf_append_str(&b, "12345678"), 0);
    assert_ptr_equal(b.ptr, before);
    assert_int_equal(tg_buf_reserve(&b, 1), -1);
    assert_buf_eq(&b, "12345678", 8);
    tg_buf_free(&b);

    /* max 0: only empty content. */
    tg_buf_init(&b, 0);
    assert_int_equal(tg_buf_append_byte(&b, 'x'), -1);
    assert_int_equal(tg_buf_nul(&b), 0);
    char *s = tg_buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_buf_secret(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init_secret(&b, 4096);
    assert_true(b.secret);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(tg_buf_append_str(&b, "secret"), 0);
    }
    assert_int_equal(b.len, 1800);
    assert_memory_equal(b.ptr + 1794, "secret", 6);
    uint8_t *p = b.ptr;
    tg_buf_reset(&b);
    /* Reset keeps the memory of a secret buffer but wipes it. */
    assert_ptr_equal(b.ptr, p);
    for (size_t i = 0; i < 1800; i++) {
        assert_int_equal(p[i], 0);
    }
    tg_buf_free(&b);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
}

/* ---- hex ---- */

static void test_hex(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    char out[11];
    tg_hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "0001abff7f");
    uint8_t dec[5];
    size_t n = 0;
    assert_int_equal(tg_hex_decode(CUR("0001ABff7F"), dec, sizeof(dec), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(dec, in, 5);
    assert_int_equal(tg_hex_decode(CUR(""), dec, 0, &n), 0);
    assert_int_equal(n, 0);
    /* Odd length, non-hex characters, output too small. */
    assert_int_equal(tg_hex_decode(CUR("abc"), dec, sizeof(dec), &n), -1);
    assert_int_equal(tg_hex_decode(CUR("0g"), dec, sizeof(dec), &n), -1);
    assert_int_equal(tg_hex_decode(CUR(" 0"), dec, sizeof(dec), &n), -1);
    assert_int_equal(tg_hex_decode(CUR("000102"), dec, 2, &n), -1);
}

/* ---- base64 (RFC 4648 §10 test vectors) ---- */

static const char *const rfc4648_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc4648_b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                          "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const rfc4648_b64url[] = {"",       "Zg",      "Zm8",     "Zm9v",
                                             "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static void test_base64_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < TG_ARRAY_LEN(rfc4648_in); i++) {
        struct tg_buf b;
        tg_buf_init(&b, 100);
        const char *in = rfc4648_in[i];
        assert_int_equal(tg_base64_encode(&b, (const uint8_t *)in, strlen(in)), 0);
        assert_buf_eq(&b, rfc4648_b64[i], strlen(rfc4648_b64[i]));
        tg_buf_reset(&b);
        assert_int_equal(tg_base64_decode(&b, tg_cur_str(rfc4648_b64[i])), 0);
        assert_buf_eq(&b, in, strlen(in));
        tg_buf_reset(&b);
        assert_int_equal(tg_base64url_encode(&b, (const uint8_t *)in, strlen(in)), 0);
        assert_buf_eq(&b, rfc4648_b64url[i], strlen(rfc4648_b64url[i]));
        tg_buf_reset(&b);
        assert_int_equal(tg_base64url_decode(&b, tg_cur_str(rfc4648_b64url[i])), 0);
        assert_buf_eq(&b, in, strlen(in));
        tg_buf_free(&b);
    }
}

static void test_base64_alphabets(void **state)
{
    (void)state;
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    struct tg_buf b;
    tg_buf_init(&b, 100);
    assert_int_equal(tg_base64_encode(&b, in, 3), 0);
    assert_buf_eq(&b, "+/+/", 4);
    tg_buf_reset(&b);
    assert_int_equal(tg_base64url_encode(&b, in, 3), 0);
    assert_buf_eq(&b, "-_-_", 4);
    tg_buf_reset(&b);
    /* Each decoder refuses the other's alphabet. */
    assert_int_equal(tg_base64_decode(&b, CUR("-_-_")), -1);
    assert_int_equal(tg_base64url_decode(&b, CUR("+/+/")), -1);
    assert_int_equal(b.len, 0);
    /* Round trip of every byte value. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    struct tg_buf enc, dec;
    tg_buf_init(&enc, 1000);
    tg_buf_init(&dec, 1000);
    for (size_t n = 0; n <= 256; n += 37) {
        tg_buf_reset(&enc);
        tg_buf_reset(&dec);
        assert_int_equal(tg_base64url_encode(&enc, all, n), 0);
        assert_int_equal(tg_base64url_decode(&dec, tg_buf_cur(&enc)), 0);
        assert_buf_eq(&dec, (const char *)all, n);
        tg_buf_reset(&enc);
        tg_buf_reset(&dec);
        assert_int_equal(tg_base64_encode(&enc, all, n), 0);
        assert_int_equal(tg_base64_decode(&dec, tg_buf_cur(&enc)), 0);
        assert_buf_eq(&dec, (const char *)all, n);
    }
    tg_buf_free(&enc);
    tg_buf_free(&dec);
    tg_buf_free(&b);
}

static void test_base64_strict(void **state)
{
    (void)state;
    const char *bad_std[] = {
        "Zg",       /* padding required */
        "Zg=",      /* incomplete padding */
        "Zh==",     /* non-canonical trailing bits (RFC 4648 §3.5) */
        "Zm9=",     /* non-canonical trailing bits */
        "Zm9v\n",   /* whitespace */
        "Zm 9v",    /* whitespace */
        "Z===",     /* too much padding */
        "====",     /* only padding */
        "Zg==Zm9v", /* padding in the middle */
        "Zm9vYg=a", /* data after padding */
        "Zm9vY*==", /* not in the alphabet */
        "Zm9vYg-_", /* url alphabet */
    };
    struct tg_buf b;
    tg_buf_init(&b, 100);
    assert_int_equal(tg_buf_append_str(&b, "keep"), 0);
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_std); i++) {
        assert_int_equal(tg_base64_decode(&b, tg_cur_str(bad_std[i])), -1);
        /* A failed decode leaves what was in the buffer. */
        assert_buf_eq(&b, "keep", 4);
    }
    const char *bad_url[] = {
        "Zg==",  /* padding refused */
        "Zm8=",  /* padding refused */
        "Z",     /* impossible length */
        "Zm9vY", /* impossible length */
        "Zh",    /* non-canonical trailing bits */
        "Zm9",   /* non-canonical trailing bits */
        "Zm9v ", /* whitespace */
        "Zm9+",  /* standard alphabet */
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_url); i++) {
        assert_int_equal(tg_base64url_decode(&b, tg_cur_str(bad_url[i])), -1);
        assert_buf_eq(&b, "keep", 4);
    }
    tg_buf_free(&b);
}

static void test_base64_max(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 5);
    /* "foobar" decodes to 6 bytes: over max, and nothing is left behind. */
    assert_int_equal(tg_base64_decode(&b, CUR("Zm9vYmFy")), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(tg_base64_encode(&b, (const uint8_t *)"foo", 3), 0);
    assert_int_equal(tg_base64_encode(&b, (const uint8_t *)"f", 1), -1);
    assert_buf_eq(&b, "Zm9v", 4);
    tg_buf_free(&b);
}

/* ---- percent-encoding ---- */

static void test_url_encode(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 1000);
    assert_int_equal(tg_url_encode(&b, CUR("AZaz09-_.~")), 0);
    assert_buf_eq(&b, "AZaz09-_.~", 10);
    tg_buf_reset(&b);
    /* A policy document as IAM returns it (spec §7): upper-case hex. */
    assert_int_equal(tg_url_encode(&b, CUR("{\"a\": \"b/c+d\"}\xc3\xa9")), 0);
    const char want[] = "%7B%22a%22%3A%20%22b%2Fc%2Bd%22%7D%C3%A9";
    assert_buf_eq(&b, want, sizeof(want) - 1);
    tg_buf_reset(&b);
    assert_int_equal(tg_url_encode(&b, tg_cur_make("\0\xff", 2)), 0);
    assert_buf_eq(&b, "%00%FF", 6);
    tg_buf_free(&b);

    tg_buf_init(&b, 4);
    assert_int_equal(tg_url_encode(&b, CUR("ab/")), -1);
    assert_int_equal(b.len, 0);
    tg_buf_free(&b);
}

static void test_url_decode(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 1000);
    assert_int_equal(tg_url_decode(&b, CUR("a+b%20c%2Bd%2b%C3%A9"), true), 0);
    assert_buf_eq(&b, "a b c+d+\xc3\xa9", 10);
    tg_buf_reset(&b);
    assert_int_equal(tg_url_decode(&b, CUR("a+b"), false), 0);
    assert_buf_eq(&b, "a+b", 3);
    tg_buf_reset(&b);
    assert_int_equal(tg_url_decode(&b, CUR("%00"), false), 0);
    assert_buf_eq(&b, "\0", 1);
    tg_buf_reset(&b);
    const char *bad[] = {"%", "%2", "a%2", "%zz", "%2g", "%%", "%-1", "% 1"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_int_equal(tg_url_decode(&b, tg_cur_str(bad[i]), true), -1);
        assert_int_equal(b.len, 0);
    }
    /* Round trip. */
    const char orig[] = "x=1&y=\xe2\x82\xac /~";
    struct tg_buf enc;
    tg_buf_init(&enc, 1000);
    assert_int_equal(tg_url_encode(&enc, CUR(orig)), 0);
    assert_int_equal(tg_url_decode(&b, tg_buf_cur(&enc), false), 0);
    assert_buf_eq(&b, orig, sizeof(orig) - 1);
    tg_buf_free(&enc);
    tg_buf_free(&b);
}

static void test_id_base32(void **state)
{
    (void)state;
    uint8_t rnd[17];
    for (int i = 0; i < 17; i++) {
        rnd[i] = (uint8_t)(i * 15 + 31);
    }
    char out[4 + 17 + 1];
    tg_id_base32("AROA", rnd, 17, out);
    assert_int_equal(strlen(out), 21);
    assert_memory_equal(out, "AROA", 4);
    for (int i = 4; i < 21; i++) {
        assert_true((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= '2' && out[i] <= '7'));
    }
    /* 31 & 31 = 31 -> '7'; 46 & 31 = 14 -> 'O'. */
    assert_int_equal(out[4], '7');
    assert_int_equal(out[5], 'O');
}

/* ---- UTF-8 ---- */

static void test_utf8(void **state)
{
    (void)state;
    /* One sequence at a time: its length, or 0 where none starts. */
    assert_int_equal(tg_utf8_seq((const uint8_t *)"a", 1), 1);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xc3\xa9", 2), 2);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xe2\x82\xac", 2), 0); /* cut */
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xc0\xaf", 2), 0);     /* overlong */
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xed\xa0\x80", 3), 0); /* surrogate */
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"\x80", 1), 0);
    assert_int_equal(tg_utf8_seq((const uint8_t *)"x", 0), 0);
    assert_true(tg_utf8_valid(CUR("")));
    assert_true(tg_utf8_valid(CUR("plain ascii")));
    assert_true(tg_utf8_valid(CUR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
    assert_true(tg_utf8_valid(CUR("\xed\x9f\xbf")));     /* U+D7FF */
    assert_true(tg_utf8_valid(CUR("\xee\x80\x80")));     /* U+E000 */
    assert_true(tg_utf8_valid(CUR("\xf4\x8f\xbf\xbf"))); /* U+10FFFF */
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong 3-byte */
        "\xf0\x80\x80\xaf", /* overlong 4-byte */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* beyond Unicode */
        "\xff",             /* never valid */
        "\xc3",             /* truncated */
        "\xe2\x82",         /* truncated */
        "a\xc3(",           /* bad continuation */
        "\xe2\x28\xa1",     /* bad continuation */
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_false(tg_utf8_valid(tg_cur_str(bad[i])));
    }
    assert_int_equal(tg_utf8_len(CUR("")), 0);
    assert_int_equal(tg_utf8_len(CUR("abc")), 3);
    assert_int_equal(tg_utf8_len(CUR("caf\xc3\xa9")), 4);
    assert_int_equal(tg_utf8_len(CUR("\xe2\x82\xac\xf0\x9f\x98\x80")), 2);
    /* NUL is a valid code point. */
    assert_true(tg_utf8_valid(tg_cur_make("a\0b", 3)));
    assert_int_equal(tg_utf8_len(tg_cur_make("a\0b", 3)), 3);
}

/* ---- time ---- */

static void test_time_format(void **state)
{
    (void)state;
    char iso[TG_ISO8601_LEN], iso_ms[TG_ISO8601_MS_LEN], amz[TG_AMZDATE_LEN];
    tg_time_iso8601(0, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00Z");
    tg_time_iso8601(1414191623, iso); /* the STS sample expiration (spec §1.3) */
    assert_string_equal(iso, "2014-10-24T23:00:23Z");
    tg_time_amzdate(1440938160, amz); /* SigV4 test suite date */
    assert_string_equal(amz, "20150830T123600Z");
    tg_time_iso8601(951782400, iso);
    assert_string_equal(iso, "2000-02-29T00:00:00Z");
    tg_time_iso8601(4107542399, iso);
    assert_string_equal(iso, "2100-02-28T23:59:59Z");
    tg_time_iso8601(4107542400, iso); /* 2100 is not a leap year */
    assert_string_equal(iso, "2100-03-01T00:00:00Z");
    tg_time_iso8601(-1, iso);
    assert_string_equal(iso, "1969-12-31T23:59:59Z");
    tg_time_iso8601_ms(1767225600123, iso_ms);
    assert_string_equal(iso_ms, "2026-01-01T00:00:00.123Z");
    tg_time_iso8601_ms(-1, iso_ms);
    assert_string_equal(iso_ms, "1969-12-31T23:59:59.999Z");
    tg_time_iso8601_ms(5, iso_ms);
    assert_string_equal(iso_ms, "1970-01-01T00:00:00.005Z");
    /* Out of the four-digit range: clamped, never a broken string. */
    tg_time_iso8601(INT64_MAX, iso);
    assert_string_equal(iso, "9999-12-31T23:59:59Z");
    tg_time_iso8601(INT64_MIN, iso);
    assert_string_equal(iso, "0000-01-01T00:00:00Z");
}

static void test_time_civil(void **state)
{
    (void)state;
    assert_int_equal(tg_time_from_civil(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(tg_time_from_civil(2000, 2, 29, 0, 0, 0), 951782400);
    assert_int_equal(tg_time_from_civil(2000, 3, 1, 0, 0, 0), 951868800);
    assert_int_equal(tg_time_from_civil(2026, 1, 1, 0, 0, 0), 1767225600);
    assert_int_equal(tg_time_from_civil(1969, 12, 31, 23, 59, 59), -1);
    assert_int_equal(tg_time_from_civil(1600, 1, 1, 0, 0, 0), -11676096000LL);
    /* Every day for 1000 years round-trips through the formatter. */
    char iso[TG_ISO8601_LEN];
    for (int64_t t = tg_time_from_civil(1600, 1, 1, 0, 0, 0);
         t < tg_time_from_civil(2600, 1, 1, 0, 0, 0); t += 86400 * 7 + 3661) {
        tg_time_iso8601(t, iso);
        char amz[TG_AMZDATE_LEN];
        tg_time_amzdate(t, amz);
        int64_t back = 0;
        assert_int_equal(tg_time_parse_amzdate(tg_cur_str(amz), &back), 0);
        assert_int_equal(back, t);
    }
}

static void test_time_parse(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(tg_time_parse_amzdate(CUR("20150830T123600Z"), &t), 0);
    assert_int_equal(t, 1440938160);
    assert_int_equal(tg_time_parse_amzdate(CUR("20000229T000000Z"), &t), 0);
    assert_int_equal(t, 951782400);
    assert_int_equal(tg_time_parse_amzdate(CUR("20240229T235959Z"), &t), 0);
    assert_int_equal(t, tg_time_from_civil(2024, 2, 29, 23, 59, 59));
    t = 7;
    const char *bad[] = {
        "",
        "20150830T123600",   /* no Z */
        "20150830T123600Z ", /* trailing */
        "2015-08-30T12:36:00Z",
        "20150830 123600Z",
        "20150830t123600Z",
        "20150830T123600z",
        "20151330T123600Z", /* month 13 */
        "20150030T123600Z", /* month 0 */
        "20150800T123600Z", /* day 0 */
        "20150431T123600Z", /* April 31 */
        "20150229T000000Z", /* not a leap year */
        "19000229T000000Z", /* century, not a leap year */
        "20150830T243600Z", /* hour 24 */
        "20150830T126000Z", /* minute 60 */
        "20150830T123660Z", /* second 60 */
        "2015083OT123600Z", /* letter O */
        "+0150830T123600Z",
        "2015083-T123600Z",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        assert_int_equal(tg_time_parse_amzdate(tg_cur_str(bad[i]), &t), -1);
        assert_int_equal(t, 7);
    }
}

static void test_time_now(void **state)
{
    (void)state;
    int64_t s = tg_time_now();
    int64_t ms = tg_time_now_ms();
    /* After 2025-01-01 and consistent with each other. */
    assert_true(s > 1735689600);
    assert_true(ms / 1000 - s >= 0 && ms / 1000 - s <= 2);
}

/* ---- randomness, UUIDs ---- */

static void test_random_uuid(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0};
    tg_random(NULL, a, sizeof(a));
    tg_random(NULL, b, sizeof(b));
    /* 2^-256 chance of a false failure. */
    assert_memory_not_equal(a, b, sizeof(a));
    tg_random(NULL, a, 0);

    uint8_t ff[16];
    memset(ff, 0xff, sizeof(ff));
    char u[TG_UUID_LEN];
    tg_uuid_format(ff, u);
    /* RFC 4122 §4.4: version nibble 4, variant bits 10. */
    assert_string_equal(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    uint8_t seq[16];
    for (int i = 0; i < 16; i++) {
        seq[i] = (uint8_t)(i * 17);
    }
    tg_uuid_format(seq, u);
    assert_string_equal(u, "00112233-4455-4677-8899-aabbccddeeff");
}

/* ---- secrets ---- */

static void test_secrets(void **state)
{
    (void)state;
    uint8_t k[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t k2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_true(tg_ct_equal(k, k2, 8));
    k2[7] = 9;
    assert_false(tg_ct_equal(k, k2, 8));
    assert_true(tg_ct_equal(k, k2, 0));
    tg_wipe(k, sizeof(k));
    for (size_t i = 0; i < sizeof(k); i++) {
        assert_int_equal(k[i], 0);
    }
    tg_wipe(NULL, 0);
}

/* ---- errors ---- */

static void test_error_table(void **state)
{
    (void)state;
    for (int c = TG_E_INTERNAL_FAILURE; c < TG_CODE_COUNT; c++) {
        const char *name = tg_code_name((enum tg_code)c);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        int st = tg_code_http_status((enum tg_code)c);
        assert_true(st >= 400 && st <= 599);
        assert_int_equal(tg_code_is_sender((enum tg_code)c), st < 500);
        assert_non_null(tg_code_message((enum tg_code)c));
        /* Names are unique. */
        for (int d = TG_E_INTERNAL_FAILURE; d < c; d++) {
            assert_string_not_equal(name, tg_code_name((enum tg_code)d));
        }
    }
    /* Spot checks against spec §1.4, §7, §9. */
    assert_string_equal(tg_code_name(TG_E_NO_SUCH_ENTITY), "NoSuchEntity");
    assert_int_equal(tg_code_http_status(TG_E_NO_SUCH_ENTITY), 404);
    assert_string_equal(tg_code_name(TG_E_MALFORMED_QUERY_STRING), "MalformedQueryString");
    assert_int_equal(tg_code_http_status(TG_E_MALFORMED_QUERY_STRING), 404);
    assert_int_equal(tg_code_http_status(TG_E_IDP_REJECTED_CLAIM), 403);
    assert_string_equal(tg_code_name(TG_E_EXPIRED_TOKEN), "ExpiredToken");
    assert_int_equal(tg_code_http_status(TG_E_EXPIRED_TOKEN), 403);
    assert_string_equal(tg_code_name(TG_E_EXPIRED_TOKEN_EXCEPTION), "ExpiredTokenException");
    assert_int_equal(tg_code_http_status(TG_E_EXPIRED_TOKEN_EXCEPTION), 400);
    assert_string_equal(tg_code_name(TG_E_REGION_DISABLED), "RegionDisabledException");
    assert_string_equal(tg_code_name(TG_E_REQUEST_TOO_LARGE), "RequestEntityTooLarge");
    assert_int_equal(tg_code_http_status(TG_E_REQUEST_TOO_LARGE), 413);
    assert_false(tg_code_is_sender(TG_E_SERVICE_FAILURE));
    assert_false(tg_code_is_sender(TG_E_SERVICE_UNAVAILABLE));
    assert_true(tg_code_is_sender(TG_E_ACCESS_DENIED));
    assert_string_equal(tg_code_message(TG_E_EXPIRED_TOKEN),
                        "The security token included in the request is expired");
    assert_string_equal(tg_code_message(TG_E_MISSING_AUTHENTICATION_TOKEN),
                        "Request is missing Authentication Token");
    /* Out of range is reported as the internal failure, not a crash. */
    assert_string_equal(tg_code_name((enum tg_code)TG_CODE_COUNT), "InternalFailure");
    assert_int_equal(tg_code_http_status((enum tg_code) - 1), 500);
}

static void test_error_set(void **state)
{
    (void)state;
    struct tg_error e;
    tg_error_clear(&e);
    assert_int_equal(e.code, TG_OK);
    assert_string_equal(e.message, "");
    assert_int_equal(
        tg_error_set(&e, TG_E_NO_SUCH_ENTITY, "The role with name %s cannot be found.", "x"), -1);
    assert_int_equal(e.code, TG_E_NO_SUCH_ENTITY);
    assert_string_equal(e.message, "The role with name x cannot be found.");
    assert_int_equal(tg_error_detail(&e, "store %d", 5), -1);
    assert_string_equal(e.detail, "store 5");
    /* The message is still what the caller set. */
    assert_string_equal(e.message, "The role with name x cannot be found.");
    assert_int_equal(tg_error_code(&e, TG_E_INVALID_CLIENT_TOKEN_ID), -1);
    assert_int_equal(e.code, TG_E_INVALID_CLIENT_TOKEN_ID);
    assert_string_equal(e.message, "The security token included in the request is invalid.");
    /* Truncation to fit. */
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(tg_error_set(&e, TG_E_INVALID_INPUT, "%s", big), -1);
    assert_int_equal(strlen(e.message), TG_ERROR_MESSAGE_MAX - 1);
    assert_int_equal(tg_error_detail(&e, "%s", big), -1);
    assert_int_equal(strlen(e.detail), TG_ERROR_DETAIL_MAX - 1);
    /* NULL err is allowed. */
    assert_int_equal(tg_error_set(NULL, TG_E_INVALID_INPUT, "x"), -1);
    assert_int_equal(tg_error_code(NULL, TG_E_INVALID_INPUT), -1);
    assert_int_equal(tg_error_detail(NULL, "x"), -1);
    tg_error_clear(NULL);
    tg_error_clear(&e);
    assert_string_equal(e.detail, "");
}

/* The per-request pool hands out its CSPRNG bytes in order, never twice,
 * wipes what it handed out, and falls through to tg_random when empty. */
static void test_random_pool(void **state)
{
    (void)state;
    struct tg_random_pool p;
    tg_random_pool_fill(&p);
    uint8_t copy[TG_RANDOM_POOL_LEN];
    memcpy(copy, p.bytes, sizeof(copy));
    uint8_t a[16], b[100], c[32], zero[16] = {0};
    tg_random_pool_draw(&p, a, sizeof(a));
    assert_memory_equal(a, copy, sizeof(a));
    assert_memory_equal(p.bytes, zero, sizeof(zero)); /* wiped once handed out */
    tg_random_pool_draw(&p, b, sizeof(b));
    assert_memory_equal(b, copy + 16, sizeof(b));
    assert_int_equal(p.used, 116);
    /* 12 bytes left: a 32-byte draw comes from tg_random, the pool is untouched */
    tg_random_pool_draw(&p, c, sizeof(c));
    assert_int_equal(p.used, 116);
    assert_memory_not_equal(c, copy + 116, 12);
    tg_random_pool_wipe(&p);
    assert_int_equal(p.used, TG_RANDOM_POOL_LEN);
    for (size_t i = 0; i < TG_RANDOM_POOL_LEN; i++) {
        assert_int_equal(p.bytes[i], 0);
    }
    /* a wiped pool never hands out its zeros */
    uint8_t d[16];
    tg_random_pool_draw(&p, d, sizeof(d));
    assert_memory_not_equal(d, zero, sizeof(d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cur_compare),    cmocka_unit_test(test_cur_find),
        cmocka_unit_test(test_span),           cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_cur_to_i64),     cmocka_unit_test(test_cur_strdup),
        cmocka_unit_test(test_buf_basic),      cmocka_unit_test(test_buf_max),
        cmocka_unit_test(test_buf_secret),     cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_vectors), cmocka_unit_test(test_base64_alphabets),
        cmocka_unit_test(test_base64_strict),  cmocka_unit_test(test_base64_max),
        cmocka_unit_test(test_url_encode),     cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_id_base32),      cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_time_format),    cmocka_unit_test(test_time_civil),
        cmocka_unit_test(test_time_parse),     cmocka_unit_test(test_time_now),
        cmocka_unit_test(test_random_uuid),    cmocka_unit_test(test_random_pool),
        cmocka_unit_test(test_secrets),        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_error_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
