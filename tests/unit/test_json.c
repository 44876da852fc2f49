/*
 * Unit tests for src/json/json.c: the JSONTestSuite parsing files (each
 * value wrapped as a member, so that arrays and scalars are read too), the
 * same files against jansson as the reference (json_oracle.h), and the
 * edges of our own rules: duplicates at every level, "\u0000", surrogates,
 * integer range, depth and member limits, string elements of arrays, raw
 * spans, and the depth pre-scan; and the writer, byte for byte against
 * jansson's compact dump, with its failure rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"
#include "file_fixture.h"

#ifndef TG_SHARED_DIR
#define TG_SHARED_DIR "/work/shared"
#endif
#define SUITE_DIR TG_SHARED_DIR "/vectors/jsontestsuite/test_parsing/"

#define CUR(s) tg_cur_make((s), sizeof(s) - 1)

static int parse(const char *text, struct tg_json_object *o, char *why, size_t cap)
{
    return tg_json_object_parse(tg_cur_make(text, strlen(text)), 256, 32, o, why, cap);
}

static void expect_refused(const char *text, const char *reason)
{
    struct tg_json_object o;
    char why[256];
    if (parse(text, &o, why, sizeof(why)) == 0) {
        tg_json_object_free(&o);
        fail_msg("accepted: %s", text);
    }
    if (strstr(why, reason) == NULL) {
        fail_msg("%s: reason \"%s\" lacks \"%s\"", text, why, reason);
    }
}

/* {"v": TEXT} */
static char *wrap(const char *text, size_t n, size_t *out_len)
{
    char *w = malloc(n + 7);
    assert_non_null(w);
    memcpy(w, "{\"v\":", 5);
    memcpy(w + 5, text, n);
    w[n + 5] = '}';
    *out_len = n + 6;
    return w;
}

/* y_ files that are valid JSON which our rules refuse, on purpose. */
static const char *const refused_valid[] = {
    "y_object_duplicated_key.json",           /* duplicates are refused */
    "y_object_duplicated_key_and_value.json", /* even with the same value */
    "y_object_escaped_null_in_key.json",      /* \u0000 */
    "y_string_null_escape.json",              /* \u0000 */
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void test_suite(void **state)
{
    (void)state;
    DIR *d = opendir(SUITE_DIR);
    assert_non_null(d);
    size_t y = 0, n = 0, i = 0, agreed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strlen(name) < 3 || name[1] != '_') {
            continue;
        }
        char path[512];
        snprintf(path, sizeof(path), "%s%s", SUITE_DIR, name);
        size_t len = 0, wlen = 0;
        char *text = slurp(path, &len);
        char *w = wrap(text, len, &wlen);
        struct tg_json_object o;
        char why[256];
        bool ok = tg_json_object_parse(tg_cur_make(w, wlen), 256, 32, &o, why, sizeof(why)) == 0;
        if (ok) {
            const struct tg_json_member *v = tg_json_object_get(&o, "v");
            assert_non_null(v);
            assert_int_equal(o.n, 1);
            /* The raw span is the file's text without surrounding spaces. */
            assert_true(v->raw.len <= len);
            tg_json_object_free(&o);
        }
        if (name[0] == 'y') {
            bool expect = !in_list(name, refused_valid, TG_ARRAY_LEN(refused_valid));
            if (ok != expect) {
                fail_msg("%s: %s (%s)", name, ok ? "accepted" : "refused", ok ? "" : why);
            }
            y++;
        } else if (name[0] == 'n') {
            if (ok) {
                fail_msg("%s: accepted", name);
            }
            n++;
        } else {
            i++; /* implementation-defined: either answer, but see the oracle */
        }
        /* jansson agrees on every file, member for member, wrapped and as
         * it is (most files are not objects: both refuse those). */
        char msg[300];
        if (json_oracle((const uint8_t *)w, wlen, 32, msg, sizeof(msg)) < 0 ||
            json_oracle((const uint8_t *)text, len, 32, msg, sizeof(msg)) < 0) {
            /* The one place they differ: jansson allows 2048 levels, we
             * 32; json_oracle pre-scans for jansson too, so none remain. */
            fail_msg("%s: %s", name, msg);
        }
        agreed++;
        free(w);
        free(text);
    }
    closedir(d);
    /* 95 y_, 188 n_, 35 i_ (vectors/README.md). */
    assert_int_equal(y, 95);
    assert_int_equal(n, 188);
    assert_int_equal(i, 35);
    assert_int_equal(agreed, 318);
}

/* ---- our rules ---- */

static void test_members(void **state)
{
    (void)state;
    struct tg_json_object o;
    char why[256];
    const char *t = " {\"s\":\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\udd11\" , \"i\":-42,"
                    "\"r\":2.5e-1,\"t\":true,\"f\":false,\"z\":null,"
                    "\"a\":[\"x\",1,{\"k\":\"no\"},\"y\",[\"no\"]],\"o\":{\"p\":[],\"q\":{}},"
                    "\"e\":[],\"\":\"empty name\"}\r\n";
    assert_int_equal(parse(t, &o, why, sizeof(why)), 0);
    assert_int_equal(o.n, 10);
    const struct tg_json_member *m = tg_json_object_get(&o, "s");
    assert_non_null(m);
    assert_int_equal(m->type, TG_JSON_STRING);
    assert_string_equal(m->str, "a\"b\\c/\b\f\n\r\t\xc3\xa9\xf0\x9f\x94\x91");
    assert_int_equal(m->str_len, strlen(m->str));
    m = tg_json_object_get(&o, "i");
    assert_int_equal(m->type, TG_JSON_INTEGER);
    assert_int_equal(m->integer, -42);
    assert_true(m->raw.len == 3 && memcmp(m->raw.ptr, "-42", 3) == 0);
    m = tg_json_object_get(&o, "r");
    assert_int_equal(m->type, TG_JSON_REAL);
    assert_true(m->real == 0.25);
    assert_int_equal(tg_json_object_get(&o, "t")->type, TG_JSON_TRUE);
    assert_int_equal(tg_json_object_get(&o, "f")->type, TG_JSON_FALSE);
    assert_int_equal(tg_json_object_get(&o, "z")->type, TG_JSON_NULL);
    m = tg_json_object_get(&o, "a");
    assert_int_equal(m->type, TG_JSON_ARRAY);
    assert_int_equal(m->n_items, 5);
    assert_int_equal(m->n_strings, 2);
    assert_string_equal(m->strings[0], "x");
    assert_string_equal(m->strings[1], "y");
    assert_true(tg_cur_eq_str(m->raw, "[\"x\",1,{\"k\":\"no\"},\"y\",[\"no\"]]"));
    m = tg_json_object_get(&o, "o");
    assert_int_equal(m->type, TG_JSON_OBJECT);
    assert_int_equal(m->n_items, 2);
    m = tg_json_object_get(&o, "e");
    assert_int_equal(m->type, TG_JSON_ARRAY);
    assert_int_equal(m->n_items, 0);
    assert_int_equal(m->n_strings, 0);
    assert_string_equal(tg_json_object_get(&o, "")->str, "empty name");
    assert_null(tg_json_object_get(&o, "k")); /* nested names are not members */
    assert_null(tg_json_object_get(&o, "missing"));
    /* Document order. */
    assert_string_equal(o.members[0].name, "s");
    assert_string_equal(o.members[9].name, "");
    tg_json_object_free(&o);
    tg_json_object_free(&o); /* safe twice */

    assert_int_equal(parse("{}", &o, why, sizeof(why)), 0);
    assert_int_equal(o.n, 0);
    tg_json_object_free(&o);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("", "not an object");
    expect_refused("[1]", "not an object");
    expect_refused("\"s\"", "not an object");
    expect_refused("{\"a\":1} x", "text after the object");
    expect_refused("{\"a\":1}{}", "text after the object");
    expect_refused("{\"a\":1,}", "member name");
    expect_refused("{\"a\" 1}", "':'");
    expect_refused("{\"a\":1 \"b\":2}", "','");
    expect_refused("{\"a\":[1,]}", "unexpected character");
    expect_refused("{\"a\":01}", "','");
    expect_refused("{\"a\":1.}", "invalid number");
    expect_refused("{\"a\":.5}", "unexpected character");
    expect_refused("{\"a\":-}", "invalid number");
    expect_refused("{\"a\":1e}", "invalid number");
    expect_refused("{\"a\":+1}", "unexpected character");
    expect_refused("{\"a\":NaN}", "unexpected character");
    expect_refused("{\"a\":tru}", "invalid literal");
    expect_refused("{\"a\":\"x}", "unterminated string");
    expect_refused("{\"a\":\"\x01\"}", "control character");
    expect_refused("{\"a\":\"\\x\"}", "invalid escape");
    expect_refused("{\"a\":\"\\u12\"}", "\\u escape");
    expect_refused("{\"a\":\"\\u00zz\"}", "\\u escape");
    expect_refused("{/*c*/\"a\":1}", "member name");
    expect_refused("\xef\xbb\xbf{}", "not an object"); /* BOM */
    expect_refused("{\"a\":1}\x0c", "text after");     /* form feed is not JSON space */
    /* Duplicates, at every level, compared unescaped. */
    expect_refused("{\"a\":1,\"a\":1}", "duplicate");
    expect_refused("{\"a\":1,\"\\u0061\":2}", "duplicate");
    expect_refused("{\"o\":{\"x\":1,\"x\":2}}", "duplicate");
    expect_refused("{\"o\":[{\"x\":1,\"y\":{\"x\":1,\"x\":2}}]}", "duplicate");
    /* ... but the same name in sibling objects is fine. */
    struct tg_json_object o;
    char why[256];
    assert_int_equal(
        parse("{\"x\":{\"x\":{\"x\":1}},\"y\":[{\"x\":1},{\"x\":2}]}", &o, why, sizeof(why)), 0);
    tg_json_object_free(&o);
    /* \u0000 anywhere, so that every string is a C string. */
    expect_refused("{\"a\":\"x\\u0000y\"}", "\\u0000");
    expect_refused("{\"a\\u0000\":1}", "\\u0000");
    assert_int_equal(parse("{\"a\":\"\\\\u0000\"}", &o, why, sizeof(why)), 0);
    assert_string_equal(o.members[0].str, "\\u0000");
    tg_json_object_free(&o);
    /* Raw NUL bytes. */
    static const char nul_in[] = "{\"a\":\"x\0y\"}";
    assert_int_equal(tg_json_object_parse(CUR(nul_in), 256, 32, &o, why, sizeof(why)), -1);
    static const char nul_after[] = "{\"a\":1}\0";
    assert_int_equal(tg_json_object_parse(CUR(nul_after), 256, 32, &o, why, sizeof(why)), -1);
}

static void test_unicode(void **state)
{
    (void)state;
    struct tg_json_object o;
    char why[256];
    /* U+10FFFF, the last code point, escaped and raw. */
    assert_int_equal(
        parse("{\"a\":\"\\udbff\\udfff\",\"b\":\"\xf4\x8f\xbf\xbf\"}", &o, why, sizeof(why)), 0);
    assert_string_equal(o.members[0].str, "\xf4\x8f\xbf\xbf");
    assert_string_equal(o.members[1].str, "\xf4\x8f\xbf\xbf");
    tg_json_object_free(&o);
    expect_refused("{\"a\":\"\\udc00\"}", "surrogate");
    expect_refused("{\"a\":\"\\ud800\"}", "surrogate");
    expect_refused("{\"a\":\"\\ud800x\"}", "surrogate");
    expect_refused("{\"a\":\"\\ud800\\u0041\"}", "surrogate");
    expect_refused("{\"a\":\"\\ud800\\ud800\"}", "surrogate");
    expect_refused("{\"a\":\"\xc0\xaf\"}", "UTF-8");         /* overlong '/' */
    expect_refused("{\"a\":\"\xe0\x80\xaf\"}", "UTF-8");     /* overlong */
    expect_refused("{\"a\":\"\xed\xa0\x80\"}", "UTF-8");     /* encoded surrogate */
    expect_refused("{\"a\":\"\xf4\x90\x80\x80\"}", "UTF-8"); /* past U+10FFFF */
    expect_refused("{\"a\":\"\xe2\x82\"}", "UTF-8");         /* truncated */
    expect_refused("{\"a\":\"\x80\"}", "UTF-8");             /* lone continuation */
    expect_refused("{\"a\":\"\xff\"}", "UTF-8");
    expect_refused("{\"\xe9\":1}", "UTF-8"); /* Latin-1 in a name */
}

static void test_numbers(void **state)
{
    (void)state;
    struct tg_json_object o;
    char why[256];
    assert_int_equal(parse("{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"z\":-0,"
                           "\"r\":1E+2,\"u\":1e-999,\"d\":1.0}",
                           &o, why, sizeof(why)),
                     0);
    assert_int_equal(o.members[0].type, TG_JSON_INTEGER);
    assert_true(o.members[0].integer == INT64_MAX);
    assert_true(o.members[1].integer == INT64_MIN);
    assert_int_equal(o.members[2].type, TG_JSON_INTEGER);
    assert_int_equal(o.members[2].integer, 0);
    assert_int_equal(o.members[3].type, TG_JSON_REAL);
    assert_true(o.members[3].real == 100.0);
    assert_int_equal(o.members[4].type, TG_JSON_REAL); /* underflow: 0, as strtod */
    assert_true(o.members[4].real == 0.0);
    assert_int_equal(o.members[5].type, TG_JSON_REAL); /* 1.0 is not an integer */
    tg_json_object_free(&o);
    expect_refused("{\"a\":9223372036854775808}", "integer out of range");
    expect_refused("{\"a\":-9223372036854775809}", "integer out of range");
    expect_refused("{\"a\":123456789012345678901234567890}", "integer out of range");
    expect_refused("{\"a\":1e400}", "real number out of range");
    expect_refused("{\"a\":-1e400}", "real number out of range");
    /* A long real: strtod reads it in place. */
    char big[1200];
    memset(big, 0, sizeof(big));
    memcpy(big, "{\"a\":0.", 7);
    memset(big + 7, '1', 1000);
    memcpy(big + 1007, "e1}", 3);
    assert_int_equal(parse(big, &o, why, sizeof(why)), 0);
    assert_true(o.members[0].real > 1.1 && o.members[0].real < 1.12);
    tg_json_object_free(&o);
}

static void test_limits(void **state)
{
    (void)state;
    struct tg_json_object o;
    char why[256];
    /* Depth: the object is level 1; 32 levels pass, 33 do not. */
    char deep[128];
    size_t k = 0;
    deep[k++] = '{';
    memcpy(deep + k, "\"a\":", 4);
    k += 4;
    for (int i = 0; i < 31; i++) {
        deep[k++] = '[';
    }
    for (int i = 0; i < 31; i++) {
        deep[k++] = ']';
    }
    deep[k++] = '}';
    deep[k] = '\0';
    assert_int_equal(parse(deep, &o, why, sizeof(why)), 0);
    tg_json_object_free(&o);
    assert_int_equal(tg_json_object_parse(tg_cur_make(deep, k), 256, 31, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "nested deeper than 31"));
    assert_int_equal(tg_json_object_parse(CUR("{}"), 256, 0, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "nested deeper"));

    /* Members: in every object, not only the top one. */
    char many[64];
    snprintf(many, sizeof(many), "{\"a\":1,\"b\":2,\"c\":3}");
    assert_int_equal(
        tg_json_object_parse(CUR("{\"a\":1,\"b\":2,\"c\":3}"), 3, 32, &o, why, sizeof(why)), 0);
    tg_json_object_free(&o);
    assert_int_equal(
        tg_json_object_parse(tg_cur_make(many, strlen(many)), 2, 32, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "more than 2 members"));
    assert_int_equal(
        tg_json_object_parse(CUR("{\"o\":{\"a\":1,\"b\":2,\"c\":3}}"), 2, 32, &o, why, sizeof(why)),
        -1);
    assert_non_null(strstr(why, "more than 2 members"));
    /* A failed parse leaves out untouched. */
    memset(&o, 0x5a, sizeof(o));
    assert_int_equal(parse("{\"a\":}", &o, why, sizeof(why)), -1);
    assert_int_equal(o.n, (size_t)0x5a5a5a5a5a5a5a5aULL);
    /* No room for a reason is fine. */
    assert_int_equal(tg_json_object_parse(CUR("[]"), 256, 32, &o, why, 0), -1);
}

/* The input is copied: the object does not borrow the caller's text. */
static void test_owns_its_text(void **state)
{
    (void)state;
    char text[] = "{\"sub\":\"repo:acme/app\",\"n\":[\"x\"]}";
    struct tg_json_object o;
    char why[256];
    assert_int_equal(parse(text, &o, why, sizeof(why)), 0);
    memset(text, 'Z', sizeof(text) - 1);
    assert_string_equal(tg_json_object_get(&o, "sub")->str, "repo:acme/app");
    assert_true(tg_cur_eq_str(tg_json_object_get(&o, "sub")->raw, "\"repo:acme/app\""));
    assert_string_equal(tg_json_object_get(&o, "n")->strings[0], "x");
    tg_json_object_free(&o);
}

static void test_depth_prescan(void **state)
{
    (void)state;
    assert_true(tg_json_depth_ok((const uint8_t *)"[[[]]]", 6, 3));
    assert_false(tg_json_depth_ok((const uint8_t *)"[[[[]]]]", 8, 3));
    /* Brackets in strings do not count, escaped quotes do not end them. */
    static const char s[] = "[\"[[[[\\\"[[[[\"]";
    assert_true(tg_json_depth_ok((const uint8_t *)s, sizeof(s) - 1, 1));
    assert_true(tg_json_depth_ok((const uint8_t *)"]]]][", 5, 1));
    assert_true(tg_json_depth_ok(NULL, 0, 0));
}

/* ---- places ---- */

static void test_places(void **state)
{
    (void)state;
    const char *t = " {\"a\": [1, {\"b\": \"x,]}\\\"\"}, [ ], \"s\" ] ,\n \"c\":{\"d\":true} } ";
    struct tg_cur text = tg_cur_make(t, strlen(t)), v;
    const char *p1[] = {"a", "[1]", "b"};
    assert_int_equal(tg_json_locate(text, p1, 3, &v), 0);
    assert_true(tg_cur_eq_str(v, "\"x,]}\\\"\""));
    const char *p2[] = {"c", "d"};
    assert_int_equal(tg_json_locate(text, p2, 2, &v), 0);
    assert_true(tg_cur_eq_str(v, "true"));
    const char *p3[] = {"a", "[2]"};
    assert_int_equal(tg_json_locate(text, p3, 2, &v), 0);
    assert_true(tg_cur_eq_str(v, "[ ]"));
    assert_int_equal(tg_json_locate(text, NULL, 0, &v), 0);
    assert_int_equal(v.ptr[0], '{');
    const char *missing[][3] = {{"z", NULL, NULL},
                                {"a", "[4]", NULL},
                                {"a", "[x]", NULL},
                                {"c", "d", "e"},
                                {"a", "[-1]", NULL}};
    const size_t lens[] = {1, 2, 2, 3, 2};
    for (size_t i = 0; i < TG_ARRAY_LEN(lens); i++) {
        assert_int_equal(tg_json_locate(text, missing[i], lens[i], &v), -1);
    }
    struct tg_cur items[4];
    size_t n = 0;
    static const char arr[] = "[1, \"two\" ,{\"k\":[3]},null]";
    assert_int_equal(tg_json_array_spans(CUR(arr), items, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_true(tg_cur_eq_str(items[1], "\"two\""));
    assert_true(tg_cur_eq_str(items[2], "{\"k\":[3]}"));
    assert_int_equal(tg_json_array_spans(CUR(arr), items, 2, &n), 0);
    assert_int_equal(n, 4); /* counted, not stored */
    assert_int_equal(tg_json_array_spans(CUR("{}"), items, 4, &n), -1);
    assert_int_equal(tg_json_array_spans(CUR("[1,"), items, 4, &n), -1);
    assert_int_equal(tg_json_array_spans(CUR("[\"x]"), items, 4, &n), -1);
    assert_int_equal(tg_json_array_spans(CUR(" [ ] "), items, 4, &n), 0);
    assert_int_equal(n, 0);
    uint32_t line, col;
    static const char lc[] = "ab\n\xc3\xa9z\n";
    tg_json_line_col(CUR(lc), 0, &line, &col);
    assert_true(line == 1 && col == 1);
    tg_json_line_col(CUR(lc), 5, &line, &col); /* the z after a 2-byte character */
    assert_true(line == 2 && col == 2);
    tg_json_line_col(CUR(lc), 100, &line, &col);
    assert_true(line == 3 && col == 1);
}

/* ---- writing ---- */

static void test_writer_matches_jansson(void **state)
{
    (void)state;
    struct tg_buf b;
    tg_buf_init(&b, 1 << 20);
    struct tg_json_w w;
    tg_json_w_init(&w, &b);
    static const char ctl[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xe2\x80\xa8\xf0\x9f\x94\x91";
    tg_json_w_object(&w);
    tg_json_w_key(&w, "s");
    tg_json_w_stringn(&w, ctl, sizeof(ctl) - 1);
    tg_json_w_key(&w, "nul");
    tg_json_w_stringn(&w, "a\0b", 3);
    tg_json_w_key(&w, "k\"ey");
    tg_json_w_int(&w, INT64_MIN);
    tg_json_w_key(&w, "max");
    tg_json_w_int(&w, INT64_MAX);
    tg_json_w_key(&w, "t");
    tg_json_w_bool(&w, true);
    tg_json_w_key(&w, "f");
    tg_json_w_bool(&w, false);
    tg_json_w_key(&w, "n");
    tg_json_w_string(&w, NULL);
    tg_json_w_key(&w, "a");
    tg_json_w_array(&w);
    tg_json_w_array_end(&w);
    tg_json_w_key(&w, "o");
    tg_json_w_object(&w);
    tg_json_w_object_end(&w);
    tg_json_w_key(&w, "raw");
    tg_json_w_raw(&w, CUR("[1,{\"x\":null}]"));
    tg_json_w_key(&w, "deep");
    tg_json_w_array(&w);
    tg_json_w_int(&w, 1);
    tg_json_w_array(&w);
    tg_json_w_string(&w, "x");
    tg_json_w_object(&w);
    tg_json_w_key(&w, "k");
    tg_json_w_array(&w);
    tg_json_w_array_end(&w);
    tg_json_w_object_end(&w);
    tg_json_w_array_end(&w);
    tg_json_w_array_end(&w);
    /* jansson values, reals above all: its number forms are ours too. */
    json_t *j = json_pack("{s:f, s:f, s:f, s:f, s:f, s:[s, i, b, n]}", "r", 0.1, "w", 3.0, "big",
                          1e300, "neg", -2.5e-7, "tiny", 5e-324, "arr", "s", 7, 1);
    assert_non_null(j);
    tg_json_w_key(&w, "jansson");
    tg_json_w_jansson(&w, j);
    tg_json_w_object_end(&w);
    assert_int_equal(tg_json_w_finish(&w), 0);
    assert_int_equal(tg_buf_nul(&b), 0);

    /* The same value built by jansson, dumped by jansson. */
    json_t *want = json_object();
    json_object_set_new(want, "s", json_stringn(ctl, sizeof(ctl) - 1));
    json_object_set_new(want, "nul", json_stringn("a\0b", 3));
    json_object_set_new(want, "k\"ey", json_integer(INT64_MIN));
    json_object_set_new(want, "max", json_integer(INT64_MAX));
    json_object_set_new(want, "t", json_true());
    json_object_set_new(want, "f", json_false());
    json_object_set_new(want, "n", json_null());
    json_object_set_new(want, "a", json_array());
    json_object_set_new(want, "o", json_object());
    json_object_set_new(want, "raw", json_pack("[i, {s:n}]", 1, "x"));
    json_object_set_new(want, "deep", json_pack("[i, [s, {s:[]}]]", 1, "x", "k"));
    json_object_set_new(want, "jansson", j);
    char *text = json_dumps(want, JSON_COMPACT);
    assert_string_equal((const char *)b.ptr, text);
    free(text);
    json_decref(want);
    tg_buf_free(&b);
}

static void test_writer_errors(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_json_w w;
    tg_buf_init(&b, 1 << 16);

    /* Bytes that are not UTF-8 become U+FFFD, one each. */
    tg_json_w_init(&w, &b);
    tg_json_w_stringn(&w, "a\xff\xc3(\xe2\x82\xed\xa0\x80z", 10);
    assert_int_equal(tg_json_w_finish(&w), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_string_equal((const char *)b.ptr, "\"a\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd"
                                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\"");

    /* Misuse: a key outside an object, a value missing after a key, an
     * unclosed or overclosed value, too deep. */
    tg_buf_reset(&b);
    tg_json_w_init(&w, &b);
    tg_json_w_key(&w, "k");
    assert_int_equal(tg_json_w_finish(&w), -1);
    tg_json_w_init(&w, &b);
    tg_json_w_object(&w);
    tg_json_w_key(&w, "k");
    tg_json_w_object_end(&w);
    assert_int_equal(tg_json_w_finish(&w), -1);
    tg_json_w_init(&w, &b);
    tg_json_w_array(&w);
    assert_int_equal(tg_json_w_finish(&w), -1);
    tg_json_w_init(&w, &b);
    tg_json_w_array_end(&w);
    assert_int_equal(tg_json_w_finish(&w), -1);
    tg_json_w_init(&w, &b);
    for (int i = 0; i <= TG_JSON_W_MAX_DEPTH; i++) {
        tg_json_w_array(&w);
    }
    assert_int_equal(tg_json_w_finish(&w), -1);

    /* The buffer's maximum: the failure sticks, nothing after it is written. */
    struct tg_buf small;
    tg_buf_init(&small, 8);
    tg_json_w_init(&w, &small);
    tg_json_w_array(&w);
    tg_json_w_string(&w, "0123456789");
    tg_json_w_int(&w, 1);
    tg_json_w_array_end(&w);
    assert_int_equal(tg_json_w_finish(&w), -1);
    assert_int_equal(small.len, 1);
    tg_buf_free(&small);
    tg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_owns_its_text),
        cmocka_unit_test(test_depth_prescan),
        cmocka_unit_test(test_writer_matches_jansson),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_places),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
