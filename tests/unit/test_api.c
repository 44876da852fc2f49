/*
 * Unit tests for src/api: Query protocol form decoding, ".member.N" lists
 * and pairs, the XML writer, the success envelope and the ErrorResponse
 * document (spec aws-sts.md §1.1, §1.3, §1.4, §7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

struct fixture {
    struct tg_form form;
    struct tg_error err;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    tg_form_init(&fx->form);
    tg_error_clear(&fx->err);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    tg_form_free(&fx->form);
    free(fx);
    return 0;
}

static int parse(struct fixture *fx, const char *s)
{
    return tg_form_parse(&fx->form, (const uint8_t *)s, strlen(s), &fx->err);
}

static void assert_param(const struct tg_form *f, const char *name, const char *want)
{
    const struct tg_cur *v = tg_form_get(f, name);
    assert_non_null(v);
    if (!tg_cur_eq_str(*v, want)) {
        fail_msg("%s: got '%.*s', want '%s'", name, (int)v->len, (const char *)v->ptr, want);
    }
}

/* ---- form decoding ---- */

static void test_form_basic(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse(fx, "Action=GetRole&Version=2010-05-08&RoleName=my+role%2Fx"), 0);
    assert_int_equal(fx->form.n, 3);
    assert_param(&fx->form, "Action", "GetRole");
    assert_param(&fx->form, "Version", "2010-05-08");
    assert_param(&fx->form, "RoleName", "my role/x");
    assert_null(tg_form_get(&fx->form, "action")); /* case-sensitive */
    assert_null(tg_form_get(&fx->form, "Missing"));
}

static void test_form_decoding(void **state)
{
    struct fixture *fx = *state;
    /* %2B is a literal '+', '+' a space, lower and upper hex, UTF-8,
     * encoded '=' and '&' in values and names. */
    assert_int_equal(parse(fx, "a=%2b%2B+x&b%3D=%26%3d&c=%C3%A9&d=x=y&Empty=&NoEq&&&e=%7e~"), 0);
    assert_param(&fx->form, "a", "++ x");
    assert_param(&fx->form, "b=", "&=");
    assert_param(&fx->form, "c", "\xc3\xa9");
    assert_param(&fx->form, "d", "x=y");
    assert_param(&fx->form, "Empty", "");
    assert_param(&fx->form, "NoEq", "");
    assert_param(&fx->form, "e", "~~");
    assert_int_equal(fx->form.n, 7);
}

static void test_form_empty(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(tg_form_parse(&fx->form, NULL, 0, &fx->err), 0);
    assert_int_equal(parse(fx, "&&&"), 0);
    assert_int_equal(fx->form.n, 0);
    assert_int_equal(fx->form.n_chunks, 0);
}

static void test_form_bad_escapes(void **state)
{
    struct fixture *fx = *state;
    const char *bad[] = {"a=%",     "a=%4", "a=%zz",  "a=%4g", "a%=1",
                         "a=1&b=%", "%%=1", "a=%%41", "a=%+1", "a=x%"};
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        tg_error_clear(&fx->err);
        assert_int_equal(parse(fx, bad[i]), -1);
        assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
        assert_true(strlen(fx->err.message) > 0);
        assert_int_equal(fx->form.n, 0);
    }
}

static void test_form_nul_and_empty_name(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse(fx, "a=x%00y"), -1);
    assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
    assert_int_equal(parse(fx, "a%00=1"), -1);
    assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
    /* A raw NUL inside the input (length-delimited, not a terminator). */
    assert_int_equal(tg_form_parse(&fx->form, (const uint8_t *)"a=1\0b", 5, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
    assert_int_equal(parse(fx, "=value"), -1);
    assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
    assert_int_equal(parse(fx, "a=1&="), -1);
    assert_int_equal(fx->err.code, TG_E_MALFORMED_QUERY_STRING);
    assert_int_equal(fx->form.n, 0);
}

static void test_form_duplicates(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse(fx, "a=1&a=2"), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_int_equal(fx->form.n, 0);
    /* Encoded spellings of the same name are the same name. */
    assert_int_equal(parse(fx, "a=1&%61=2"), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);

    /* Across sources: the query string, then the body. */
    assert_int_equal(parse(fx, "Action=GetRole&x=1"), 0);
    tg_error_clear(&fx->err);
    assert_int_equal(parse(fx, "RoleName=r&Action=ListRoles"), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(fx->err.message, "Action"));
    /* The failed source left nothing behind. */
    assert_int_equal(fx->form.n, 2);
    assert_null(tg_form_get(&fx->form, "RoleName"));
    assert_param(&fx->form, "Action", "GetRole");
    /* A clean second source is still accepted. */
    assert_int_equal(parse(fx, "RoleName=r"), 0);
    assert_int_equal(fx->form.n, 3);
    assert_param(&fx->form, "RoleName", "r");
    assert_param(&fx->form, "x", "1");
    /* A third source is a caller bug. */
    assert_int_equal(parse(fx, "y=1"), -1);
    assert_int_equal(fx->err.code, TG_E_INTERNAL_FAILURE);
    assert_int_equal(fx->form.n, 3);
}

static void test_form_limits(void **state)
{
    struct fixture *fx = *state;
    size_t cap = TG_FORM_MAX_VALUE + 1000;
    char *s = malloc(cap);
    assert_non_null(s);

    /* Name of exactly TG_FORM_MAX_NAME is fine, one more is not. */
    memset(s, 'n', TG_FORM_MAX_NAME);
    memcpy(s + TG_FORM_MAX_NAME, "=1", 3);
    assert_int_equal(parse(fx, s), 0);
    tg_form_free(&fx->form);
    memset(s, 'n', TG_FORM_MAX_NAME + 1);
    memcpy(s + TG_FORM_MAX_NAME + 1, "=1", 3);
    assert_int_equal(parse(fx, s), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);

    /* Value: the limit applies to the decoded length. */
    memcpy(s, "v=", 2);
    memset(s + 2, 'x', TG_FORM_MAX_VALUE);
    s[2 + TG_FORM_MAX_VALUE] = '\0';
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(tg_form_get(&fx->form, "v")->len, TG_FORM_MAX_VALUE);
    tg_form_free(&fx->form);
    s[2 + TG_FORM_MAX_VALUE] = 'x';
    s[3 + TG_FORM_MAX_VALUE] = '\0';
    assert_int_equal(parse(fx, s), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    /* Encoded it is longer than the limit, decoded it is not. */
    memcpy(s, "v=%41", 5);
    memset(s + 5, 'x', TG_FORM_MAX_VALUE - 1);
    s[5 + TG_FORM_MAX_VALUE - 1] = '\0';
    assert_int_equal(parse(fx, s), 0);
    tg_form_free(&fx->form);
    free(s);

    /* Parameter count: TG_FORM_MAX_PARAMS over two sources, then one more. */
    struct tg_buf b;
    tg_buf_init(&b, 100000);
    for (int i = 0; i < TG_FORM_MAX_PARAMS - 1; i++) {
        assert_int_equal(tg_buf_appendf(&b, "p%d=%d&", i, i), 0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(parse(fx, (const char *)b.ptr), 0);
    assert_int_equal(fx->form.n, TG_FORM_MAX_PARAMS - 1);
    assert_int_equal(parse(fx, "last=1&extra=2"), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_int_equal(fx->form.n, TG_FORM_MAX_PARAMS - 1);
    assert_int_equal(parse(fx, "last=1"), 0);
    assert_int_equal(fx->form.n, TG_FORM_MAX_PARAMS);
    assert_param(&fx->form, "p0", "0");
    assert_param(&fx->form, "last", "1");
    tg_buf_free(&b);
}

/* ---- lists ---- */

static void test_list_basic(void **state)
{
    struct fixture *fx = *state;
    /* Out-of-order numbering is fine: the values come back in number order. */
    assert_int_equal(parse(fx, "ClientIDList.member.2=b&ClientIDList.member.1=a&"
                               "ClientIDList.member.3=c&Other.member.1=z"),
                     0);
    struct tg_cur out[5];
    size_t n = 99;
    assert_int_equal(tg_form_get_list(&fx->form, "ClientIDList.member", out, 5, &n, &fx->err), 0);
    assert_int_equal(n, 3);
    assert_true(tg_cur_eq_str(out[0], "a"));
    assert_true(tg_cur_eq_str(out[1], "b"));
    assert_true(tg_cur_eq_str(out[2], "c"));
    /* Absent list. */
    assert_int_equal(tg_form_get_list(&fx->form, "ThumbprintList.member", out, 5, &n, &fx->err), 0);
    assert_int_equal(n, 0);
    /* Exactly max. */
    assert_int_equal(tg_form_get_list(&fx->form, "ClientIDList.member", out, 3, &n, &fx->err), 0);
    assert_int_equal(n, 3);
}

static void test_list_gaps(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse(fx, "L.member.1=a&L.member.3=c"), 0);
    struct tg_cur out[5];
    size_t n = 0;
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
    assert_non_null(strstr(fx->err.message, "L.member.2"));
    tg_form_free(&fx->form);

    /* Starting at 2. */
    assert_int_equal(parse(fx, "L.member.2=a"), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
    assert_non_null(strstr(fx->err.message, "L.member.1"));
    tg_form_free(&fx->form);

    /* Zero and leading zeros are not member numbers. */
    assert_int_equal(parse(fx, "L.member.0=a"), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
    tg_form_free(&fx->form);
    assert_int_equal(parse(fx, "L.member.1=a&L.member.01=b"), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
}

static void test_list_limits(void **state)
{
    struct fixture *fx = *state;
    struct tg_cur out[3];
    size_t n = 0;
    assert_int_equal(parse(fx, "ClientIDList.member.1=a&ClientIDList.member.2=b&"
                               "ClientIDList.member.3=c&ClientIDList.member.4=d"),
                     0);
    assert_int_equal(tg_form_get_list(&fx->form, "ClientIDList.member", out, 3, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    /* AWS names the field in lower camel case. */
    assert_non_null(strstr(fx->err.message, "'clientIDList'"));
    tg_form_free(&fx->form);

    /* A member number beyond TG_FORM_MAX_LIST is refused without allocating
     * anything for it; so is a huge one that would overflow. */
    char s[64];
    snprintf(s, sizeof(s), "L.member.%d=a", TG_FORM_MAX_LIST + 1);
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 3, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    tg_form_free(&fx->form);
    assert_int_equal(parse(fx, "L.member.99999999999999999999999999=a"), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 3, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    tg_form_free(&fx->form);
    /* TG_FORM_MAX_LIST itself is a valid number (here: a gap error). */
    snprintf(s, sizeof(s), "L.member.%d=a", TG_FORM_MAX_LIST);
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 3, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
}

/* A list of structures with one field: PolicyArns.member.N.arn. */
static void test_list_field(void **state)
{
    struct fixture *fx = *state;
    struct tg_cur out[10];
    size_t n = 99;
    assert_int_equal(parse(fx, "PolicyArns.member.2.arn=b&PolicyArns.member.1.arn=a&"
                               "PolicyArnsX.member.1.arn=z&Policy=p"),
                     0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), 0);
    assert_int_equal(n, 2);
    assert_true(tg_cur_eq_str(out[0], "a"));
    assert_true(tg_cur_eq_str(out[1], "b"));
    tg_form_free(&fx->form);

    /* absent */
    assert_int_equal(parse(fx, "Policy=p"), 0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), 0);
    assert_int_equal(n, 0);
    tg_form_free(&fx->form);

    /* a member without its field is refused, not ignored */
    assert_int_equal(parse(fx, "PolicyArns.member.1.arn=a&PolicyArns.member.2=b"), 0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(fx->err.message,
                        "1 validation error detected: Value null at 'policyArns.2.member.arn' "
                        "failed to satisfy constraint: Member must not be null");
    tg_form_free(&fx->form);
    assert_int_equal(parse(fx, "PolicyArns.member.1.Arn=a"), 0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    tg_form_free(&fx->form);

    /* gaps and the maximum */
    assert_int_equal(parse(fx, "PolicyArns.member.1.arn=a&PolicyArns.member.3.arn=c"), 0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
    tg_form_free(&fx->form);
    struct tg_buf b;
    tg_buf_init(&b, 4096);
    for (int i = 1; i <= 11; i++) {
        assert_int_equal(tg_buf_appendf(&b, "%sPolicyArns.member.%d.arn=x", i > 1 ? "&" : "", i),
                         0);
    }
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_int_equal(parse(fx, (const char *)b.ptr), 0);
    assert_int_equal(
        tg_form_get_list_field(&fx->form, "PolicyArns.member", "arn", out, 10, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(fx->err.message,
                        "1 validation error detected: Value at 'policyArns' failed to satisfy "
                        "constraint: Member must have length less than or equal to 10");
    tg_buf_free(&b);
}

static void test_list_ignores_others(void **state)
{
    struct fixture *fx = *state;
    /* Names that share the prefix but are not "prefix.N" are not members. */
    assert_int_equal(parse(fx, "L.member.1=a&L.memberX.2=b&L.member.x=c&L.member.2.Key=d&"
                               "L.member=e&L.member.=f&L.member.2x=g"),
                     0);
    struct tg_cur out[5];
    size_t n = 0;
    assert_int_equal(tg_form_get_list(&fx->form, "L.member", out, 5, &n, &fx->err), 0);
    assert_int_equal(n, 1);
    assert_true(tg_cur_eq_str(out[0], "a"));
}

/* ---- pairs ---- */

static void test_pairs(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(parse(fx, "Tags.member.2.Key=team&Tags.member.2.Value=infra&"
                               "Tags.member.1.Key=env&Tags.member.1.Value=prod&"
                               "Tags.member.3.Key=empty&Tags.member.1.Other=x"),
                     0);
    struct tg_kv kv[5];
    size_t n = 0;
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "Tags.member", "Key", "Value", kv, 5, &n, &fx->err), 0);
    assert_int_equal(n, 3);
    assert_true(tg_cur_eq_str(kv[0].key, "env"));
    assert_true(tg_cur_eq_str(kv[0].value, "prod"));
    assert_true(tg_cur_eq_str(kv[1].key, "team"));
    assert_true(tg_cur_eq_str(kv[1].value, "infra"));
    /* Key without value: empty value. */
    assert_true(tg_cur_eq_str(kv[2].key, "empty"));
    assert_int_equal(kv[2].value.len, 0);
    /* Too many. */
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "Tags.member", "Key", "Value", kv, 2, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_non_null(strstr(fx->err.message, "'tags'"));
    /* Absent. */
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "PolicyArns.member", "arn", "x", kv, 5, &n, &fx->err), 0);
    assert_int_equal(n, 0);
}

static void test_pairs_errors(void **state)
{
    struct fixture *fx = *state;
    struct tg_kv kv[5];
    size_t n = 0;
    /* Value without key. */
    assert_int_equal(parse(fx, "Tags.member.1.Key=a&Tags.member.2.Value=b"), 0);
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "Tags.member", "Key", "Value", kv, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_VALIDATION_ERROR);
    assert_string_equal(fx->err.message,
                        "1 validation error detected: Value null at 'tags.2.member.key' failed to "
                        "satisfy constraint: Member must not be null");
    tg_form_free(&fx->form);
    /* Gap. */
    assert_int_equal(parse(fx, "Tags.member.1.Key=a&Tags.member.3.Key=b"), 0);
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "Tags.member", "Key", "Value", kv, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
    tg_form_free(&fx->form);
    /* Field names are case-sensitive: "key" is not "Key", so member 1 has
     * neither and member 2 makes a gap. */
    assert_int_equal(parse(fx, "Tags.member.1.key=a&Tags.member.2.Key=b"), 0);
    assert_int_equal(
        tg_form_get_pairs(&fx->form, "Tags.member", "Key", "Value", kv, 5, &n, &fx->err), -1);
    assert_int_equal(fx->err.code, TG_E_INVALID_PARAMETER_VALUE);
}

/* ---- XML ---- */

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static void assert_buf_str(const struct tg_buf *b, const char *want)
{
    if (!tg_cur_eq_str(tg_buf_cur(b), want)) {
        fail_msg("got\n%.*s\nwant\n%s", (int)b->len, (const char *)b->ptr, want);
    }
}

static void test_xml_escaping(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_xml_elem_str(&x, "A", "<a href=\"x\">&'</a>");
    tg_xml_elem(&x, "B", tg_cur_make("t\tl\nc\r", 6));
    /* Other controls and invalid UTF-8 cannot appear in XML 1.0 at all. */
    tg_xml_elem(&x, "C", tg_cur_make("x\x01y\x1f\x7f", 5));
    tg_xml_elem_str(&x, "D", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    tg_xml_elem_str(&x, "E", "\xff\xc3(\xed\xa0\x80\xef\xbf\xbe");
    tg_xml_elem_str(&x, "F", "");
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_buf_str(&b, "<A>&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;</A>"
                       "<B>t&#9;l&#10;c&#13;</B>"
                       "<C>x\xef\xbf\xbdy\xef\xbf\xbd\x7f</C>"
                       "<D>caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80</D>"
                       /* Each byte of an invalid sequence is replaced on its own. */
                       "<E>\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</E>"
                       "<F></F>");
    assert_true(tg_utf8_valid(tg_buf_cur(&b)));
    tg_buf_free(&b);
}

static void test_xml_elements(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_xml_open_ns(&x, "R", "urn:a&b");
    tg_xml_open(&x, "L");
    tg_xml_open(&x, "member");
    tg_xml_elem_bool(&x, "T", true);
    tg_xml_elem_bool(&x, "F", false);
    tg_xml_elem_i64(&x, "I", -9223372036854775807LL - 1);
    tg_xml_elem_i64(&x, "J", 43200);
    tg_xml_elem_time(&x, "Time", 1414191623);
    tg_xml_elemf(&x, "Arn", "arn:aws:iam::%s:role%s%s", "123456789012", "/p/", "a<b");
    tg_xml_elem_urlencoded(&x, "Doc", tg_cur_str("{\"Version\": \"2012-10-17\"}"));
    tg_xml_close(&x);
    tg_xml_close(&x);
    tg_xml_close(&x);
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_buf_str(&b, "<R xmlns=\"urn:a&amp;b\"><L><member><T>true</T><F>false</F>"
                       "<I>-9223372036854775808</I><J>43200</J>"
                       "<Time>2014-10-24T23:00:23Z</Time>"
                       "<Arn>arn:aws:iam::123456789012:role/p/a&lt;b</Arn>"
                       "<Doc>%7B%22Version%22%3A%20%222012-10-17%22%7D</Doc>"
                       "</member></L></R>");
    tg_buf_free(&b);
}

static void test_xml_elemf_long(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    char big[1001];
    memset(big, 'z', 1000);
    big[1000] = '\0';
    tg_xml_elemf(&x, "Z", "%s&", big);
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_int_equal(b.len, 3 + 1000 + 5 + 4);
    assert_memory_equal(b.ptr + 3 + 1000, "&amp;</Z>", 9);
    tg_buf_free(&b);
}

static void test_xml_failures(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    /* Unclosed element. */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_xml_open(&x, "A");
    assert_int_equal(tg_xml_finish(&x), -1);
    /* Closing more than was opened. */
    tg_xml_init(&x, &b);
    tg_xml_close(&x);
    assert_int_equal(tg_xml_finish(&x), -1);
    /* Too deep. */
    tg_xml_init(&x, &b);
    for (int i = 0; i <= TG_XML_MAX_DEPTH; i++) {
        tg_xml_open(&x, "d");
    }
    for (int i = 0; i <= TG_XML_MAX_DEPTH; i++) {
        tg_xml_close(&x);
    }
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);

    /* The buffer maximum: the failure sticks even if later writes fit. */
    tg_buf_init(&b, 20);
    tg_xml_init(&x, &b);
    tg_xml_elem_str(&x, "A", "0123456789abcdef");
    tg_xml_elem_str(&x, "B", "");
    assert_true(x.failed);
    assert_int_equal(tg_xml_finish(&x), -1);
    assert_true(b.len <= 20);
    tg_buf_free(&b);
    tg_buf_init(&b, 20);
    tg_xml_init(&x, &b);
    tg_xml_elem_urlencoded(&x, "A", tg_cur_str("//////"));
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);
    tg_buf_init(&b, 20);
    tg_xml_init(&x, &b);
    tg_xml_elemf(&x, "A", "%0300d", 1);
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);
}

static void test_envelope(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_begin(&x, "GetRole", TG_NS_IAM, true);
    tg_xml_open(&x, "Role");
    tg_xml_elem_str(&x, "RoleName", "r");
    tg_xml_close(&x);
    tg_api_response_end(&x, "0b9f5e5c-1d2a-4c3b-8e7f-123456789abc");
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_buf_str(&b,
                   XML_DECL "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                            "<GetRoleResult><Role><RoleName>r</RoleName></Role></GetRoleResult>"
                            "<ResponseMetadata><RequestId>0b9f5e5c-1d2a-4c3b-8e7f-123456789abc"
                            "</RequestId></ResponseMetadata></GetRoleResponse>");
    tg_buf_free(&b);

    /* An action without output has no Result element (spec §7). */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_begin(&x, "DeleteRole", TG_NS_IAM, false);
    tg_api_response_end(&x, "id-1");
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_buf_str(&b, XML_DECL
                   "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                   "<ResponseMetadata><RequestId>id-1</RequestId></ResponseMetadata>"
                   "</DeleteRoleResponse>");
    tg_buf_free(&b);

    /* STS namespace, empty result. */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_begin(&x, "GetCallerIdentity", TG_NS_STS, true);
    tg_api_response_end(&x, "r");
    assert_int_equal(tg_xml_finish(&x), 0);
    assert_buf_str(&b, XML_DECL
                   "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult></GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
                   "</GetCallerIdentityResponse>");
    tg_buf_free(&b);
}

static void test_envelope_misuse(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_xml x;
    /* An element of the result left open. */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_begin(&x, "GetRole", TG_NS_IAM, true);
    tg_xml_open(&x, "Role");
    tg_api_response_end(&x, "id");
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);
    /* tg_xml_close cannot close the envelope. */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_begin(&x, "GetRole", TG_NS_IAM, true);
    tg_xml_close(&x);
    assert_true(x.failed);
    tg_api_response_end(&x, "id");
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);
    /* End without begin. */
    tg_buf_init(&b, 10000);
    tg_xml_init(&x, &b);
    tg_api_response_end(&x, "id");
    assert_int_equal(tg_xml_finish(&x), -1);
    tg_buf_free(&b);
}

static void test_error_xml(void **state)
{
    (void)state;
    struct tg_buf b;
    struct tg_error err;
    tg_buf_init(&b, 10000);
    /* Whatever was in the buffer (a half-written response) is replaced. */
    assert_int_equal(tg_buf_append_str(&b, "<GetRoleResponse>partial"), 0);
    tg_error_clear(&err);
    (void)tg_error_set(&err, TG_E_INVALID_IDENTITY_TOKEN,
                       "No OpenIDConnect provider found in your account for %s",
                       "https://auth.mozilla.auth0.com/");
    (void)tg_error_detail(&err, "secret-ish operator detail");
    assert_int_equal(tg_api_error_xml(&b, TG_NS_STS, &err, "26603485-0bd5-11ea-a642-b7dfa91cf04b"),
                     0);
    /* spec §1.4, compact. */
    assert_buf_str(&b,
                   XML_DECL "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                            "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                            "<Message>No OpenIDConnect provider found in your account for "
                            "https://auth.mozilla.auth0.com/</Message></Error>"
                            "<RequestId>26603485-0bd5-11ea-a642-b7dfa91cf04b</RequestId>"
                            "</ErrorResponse>");

    /* Receiver for 5xx; the message is escaped; default message when empty. */
    tg_error_clear(&err);
    err.code = TG_E_SERVICE_FAILURE;
    assert_int_equal(tg_api_error_xml(&b, TG_NS_IAM, &err, "id"), 0);
    assert_buf_str(&b,
                   XML_DECL "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                            "<Error><Type>Receiver</Type><Code>ServiceFailure</Code>"
                            "<Message>The request processing has failed because of an unknown "
                            "error, exception or failure.</Message></Error>"
                            "<RequestId>id</RequestId></ErrorResponse>");
    (void)tg_error_set(&err, TG_E_NO_SUCH_ENTITY, "The role with name <x&y> cannot be found.");
    assert_int_equal(tg_api_error_xml(&b, TG_NS_IAM, &err, "id"), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_non_null(strstr((const char *)b.ptr, "<Type>Sender</Type><Code>NoSuchEntity</Code>"
                                                "<Message>The role with name &lt;x&amp;y&gt; "
                                                "cannot be found.</Message>"));
    /* TG_OK is not an error: reported as InternalFailure. */
    tg_error_clear(&err);
    assert_int_equal(tg_api_error_xml(&b, TG_NS_IAM, &err, "id"), 0);
    assert_int_equal(tg_buf_nul(&b), 0);
    assert_non_null(strstr((const char *)b.ptr, "<Type>Receiver</Type><Code>InternalFailure"));
    /* Does not fit. */
    struct tg_buf small;
    tg_buf_init(&small, 64);
    assert_int_equal(tg_api_error_xml(&small, TG_NS_IAM, &err, "id"), -1);
    tg_buf_free(&small);
    tg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_form_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_bad_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_nul_and_empty_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_ignores_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairs_errors, setup, teardown),
        cmocka_unit_test(test_xml_escaping),
        cmocka_unit_test(test_xml_elements),
        cmocka_unit_test(test_xml_elemf_long),
        cmocka_unit_test(test_xml_failures),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_envelope_misuse),
        cmocka_unit_test(test_error_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
