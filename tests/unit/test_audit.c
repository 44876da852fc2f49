/*
 * Unit tests for src/audit/audit.c, on real files in a temporary directory:
 * the file's mode and the refusals at open, appending across reopen, the
 * CloudTrail fields of each line, the forbidden-value guard and its stub,
 * whole lines from concurrent writers, and dropping with no file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "file_fixture.h"

#define CUR(s) tg_cur_make((s), sizeof(s) - 1)

/* 2026-01-02T03:04:05.678Z */
#define NOW_MS 1767323045678LL

struct fx {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tg-audit-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/audit.jsonl", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char p[192];
    static const char *const names[] = {"audit.jsonl", "link", "other.jsonl"};
    for (size_t i = 0; i < TG_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof(p), "%s/%s", fx->dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub", fx->dir);
    rmdir(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Splits the file into lines, each of which must be a JSON object; the file
 * must end with a newline. Returns the count; objects in out (decref each). */
static size_t read_lines(const char *path, json_t **out, size_t cap)
{
    size_t len = 0;
    char *buf = slurp(path, &len);
    size_t n = 0;
    size_t start = 0;
    if (len > 0) {
        assert_int_equal(buf[len - 1], '\n');
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        json_error_t jerr;
        json_t *j =
            json_loadb(buf + start, i - start, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (j == NULL) {
            fail_msg("line %zu is not JSON: %s", n + 1, jerr.text);
        }
        assert_true(json_is_object(j));
        assert_true(n < cap);
        out[n++] = j;
        start = i + 1;
    }
    free(buf);
    return n;
}

static void free_lines(json_t **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(lines[i]);
    }
}

static const char *str_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void begin(struct tg_audit_event *ev, const char *request_id)
{
    assert_int_equal(tg_audit_event_begin(ev, NOW_MS, "sts.amazonaws.com",
                                          "AssumeRoleWithWebIdentity", "us-east-1", "127.0.0.1",
                                          "Boto3/1.34.0", request_id, tg_random, NULL),
                     0);
}

static struct tg_audit *open_ok(const char *path)
{
    struct tg_audit *a = NULL;
    struct tg_error err = {0};
    if (tg_audit_open(path, &a, &err) < 0) {
        fail_msg("tg_audit_open: %s: %s", err.message, err.detail);
    }
    assert_non_null(a);
    return a;
}

/* ---- opening ---- */

static void test_open_creates_0600(void **state)
{
    struct fx *fx = *state;
    /* umask cannot widen the mode, but a permissive one must not matter. */
    mode_t old = umask(0);
    struct tg_audit *a = open_ok(fx->path);
    umask(old);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 0);
    tg_audit_close(a);
}

static void test_open_refuses_broad_mode(void **state)
{
    struct fx *fx = *state;
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    fclose(f);
    static const mode_t modes[] = {0644, 0640, 0604, 0620, 0602};
    for (size_t i = 0; i < TG_ARRAY_LEN(modes); i++) {
        assert_int_equal(chmod(fx->path, modes[i]), 0);
        struct tg_audit *a = (struct tg_audit *)1;
        struct tg_error err = {0};
        assert_int_equal(tg_audit_open(fx->path, &a, &err), -1);
        assert_null(a);
        assert_int_equal(err.code, TG_E_INTERNAL_FAILURE);
        assert_non_null(strstr(err.message, fx->path));
        assert_non_null(strstr(err.detail, "chmod 600"));
        /* Refused, not silently tightened. */
        struct stat st;
        assert_int_equal(stat(fx->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, modes[i]);
    }
    /* Once the operator fixes it, it opens. */
    assert_int_equal(chmod(fx->path, 0600), 0);
    tg_audit_close(open_ok(fx->path));
    /* 0400 is owner-only but not writable: open fails with the OS reason.
     * (Skipped as root, who may write it anyway.) */
    if (geteuid() != 0) {
        assert_int_equal(chmod(fx->path, 0400), 0);
        struct tg_audit *a = NULL;
        struct tg_error err = {0};
        assert_int_equal(tg_audit_open(fx->path, &a, &err), -1);
        assert_null(a);
        assert_non_null(strstr(err.detail, "ermission"));
    }
}

static void test_open_refuses_symlink_and_dir(void **state)
{
    struct fx *fx = *state;
    char link[192], other[192], sub[192];
    snprintf(other, sizeof(other), "%s/other.jsonl", fx->dir);
    snprintf(link, sizeof(link), "%s/link", fx->dir);
    snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(other, 0600), 0);
    assert_int_equal(symlink(other, link), 0);

    struct tg_audit *a = NULL;
    struct tg_error err = {0};
    assert_int_equal(tg_audit_open(link, &a, &err), -1);
    assert_null(a);
    assert_non_null(strstr(err.detail, "symbolic link"));

    assert_int_equal(mkdir(sub, 0700), 0);
    tg_error_clear(&err);
    assert_int_equal(tg_audit_open(sub, &a, &err), -1);
    assert_null(a);
    assert_true(err.message[0] != '\0');
}

static void test_open_missing_directory(void **state)
{
    struct fx *fx = *state;
    char p[192];
    snprintf(p, sizeof(p), "%s/no/such/dir/audit.jsonl", fx->dir);
    struct tg_audit *a = (struct tg_audit *)1;
    struct tg_error err = {0};
    assert_int_equal(tg_audit_open(p, &a, &err), -1);
    assert_null(a);
    assert_int_equal(err.code, TG_E_INTERNAL_FAILURE);
    assert_non_null(strstr(err.message, p));
    assert_non_null(strstr(err.detail, "No such file"));
    /* Nothing was created on the way. */
    snprintf(p, sizeof(p), "%s/no", fx->dir);
    struct stat st;
    assert_int_equal(stat(p, &st), -1);
}

/* ---- events ---- */

static void test_fields_and_reopen(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    begin(&ev, "req-1");
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s}", "type", "WebIdentityUser", "principalId",
                           "https://token.actions.githubusercontent.com:sts.amazonaws.com:repo:"
                           "acme/app:ref:refs/heads/main",
                           "userName", "repo:acme/app:ref:refs/heads/main", "identityProvider",
                           "arn:aws:iam::123456789012:oidc-provider/"
                           "token.actions.githubusercontent.com");
    assert_int_equal(tg_audit_set(&ev, "userIdentity", ui), 0);
    assert_int_equal(tg_audit_set(&ev, "decision", json_pack("{s:s}", "reason", "allowed")), 0);
    assert_int_equal(tg_audit_set(&ev, "errorCode", json_string("AccessDenied")), 0);
    assert_int_equal(tg_audit_write(a, &ev), 0);
    assert_false(ev.begun);
    tg_audit_close(a);

    /* Reopen appends, it does not truncate. */
    a = open_ok(fx->path);
    begin(&ev, "req-2");
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    json_t *lines[4];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 2);
    json_t *e = lines[0];
    assert_string_equal(str_field(e, "eventVersion"), "1.08");
    assert_string_equal(str_field(e, "eventTime"), "2026-01-02T03:04:05Z");
    assert_string_equal(str_field(e, "eventSource"), "sts.amazonaws.com");
    assert_string_equal(str_field(e, "eventName"), "AssumeRoleWithWebIdentity");
    assert_string_equal(str_field(e, "awsRegion"), "us-east-1");
    assert_string_equal(str_field(e, "sourceIPAddress"), "127.0.0.1");
    assert_string_equal(str_field(e, "userAgent"), "Boto3/1.34.0");
    assert_string_equal(str_field(e, "requestID"), "req-1");
    assert_string_equal(str_field(e, "eventType"), "AwsApiCall");
    assert_string_equal(str_field(e, "errorCode"), "AccessDenied");
    assert_true(json_is_null(json_object_get(e, "requestParameters")));
    assert_true(json_is_null(json_object_get(e, "responseElements")));
    assert_string_equal(str_field(json_object_get(e, "userIdentity"), "type"), "WebIdentityUser");
    assert_string_equal(str_field(json_object_get(e, "decision"), "reason"), "allowed");

    /* eventID: a version 4 UUID, distinct per event. */
    const char *id = str_field(e, "eventID");
    assert_int_equal(strlen(id), TG_UUID_LEN - 1);
    assert_int_equal(id[8], '-');
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    assert_string_not_equal(id, str_field(lines[1], "eventID"));
    assert_string_equal(str_field(lines[1], "requestID"), "req-2");

    /* CloudTrail's order: userIdentity right after eventVersion, errorCode
     * after userAgent, our decision last. */
    static const char *const want[] = {
        "eventVersion",     "userIdentity",    "eventTime", "eventSource", "eventName",
        "awsRegion",        "sourceIPAddress", "userAgent", "errorCode",   "requestParameters",
        "responseElements", "requestID",       "eventID",   "eventType",   "decision"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(e, key, v)
    {
        (void)v;
        assert_true(i < TG_ARRAY_LEN(want));
        assert_string_equal(key, want[i]);
        i++;
    }
    assert_int_equal(i, TG_ARRAY_LEN(want));
    free_lines(lines, n);
}

static void test_hostile_strings_stay_on_one_line(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    /* A user agent with a newline and a forged event, and invalid UTF-8. */
    static const char ua[] = "x\n{\"eventName\":\"Forged\"}\r\x01\xff\xc3(";
    assert_int_equal(tg_audit_event_begin(&ev, NOW_MS, "sts.amazonaws.com", "GetCallerIdentity",
                                          "us-east-1", NULL, ua, "req-3", tg_random, NULL),
                     0);
    static const char nul[] = "a\0b";
    assert_int_equal(tg_audit_set(&ev, "x", tg_audit_str(CUR(nul))), 0);
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    json_t *lines[2];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 1);
    assert_true(json_is_null(json_object_get(lines[0], "sourceIPAddress")));
    assert_string_equal(str_field(lines[0], "eventName"), "GetCallerIdentity");
    assert_string_equal(str_field(lines[0], "userAgent"),
                        "x\n{\"eventName\":\"Forged\"}\r\x01\xef\xbf\xbd\xef\xbf\xbd(");
    json_t *x = json_object_get(lines[0], "x");
    assert_int_equal(json_string_length(x), 3);
    assert_memory_equal(json_string_value(x), nul, 3);
    free_lines(lines, n);
}

/* The writer is ours (put_event), but a line must read exactly as jansson's
 * compact dump of the same event in CloudTrail order: every escape, number
 * form, nesting and multi-byte character. */
static void test_line_bytes_match_jansson(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    begin(&ev, "req-\"q\"");
    static const char ctl[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xe2\x80\xa8\xf0\x9f\x94\x91";
    json_t *d =
        json_pack("{s:s%, s:I, s:I, s:f, s:f, s:f, s:f, s:b, s:b, s:n, s:[], s:{}, "
                  "s:[i, [s, {s:[]}], {s:{s:s}}]}",
                  "ctl", ctl, sizeof(ctl) - 1, "int", (json_int_t)-9007199254740993LL, "zero",
                  (json_int_t)0, "real", 0.1, "whole", 3.0, "big", 1e300, "neg", -2.5e-7, "t", 1,
                  "f", 0, "null", "ea", "eo", "nest", 1, "x", "k", "deep", "er", "\x00nul");
    assert_non_null(d);
    assert_int_equal(json_object_set_new(d, "nul", json_stringn("a\0b", 3)), 0);
    /* jansson's own dump of the same value, for the decision field */
    char *want_d = json_dumps(d, JSON_COMPACT);
    assert_non_null(want_d);
    assert_int_equal(tg_audit_set(&ev, "decision", d), 0);
    assert_int_equal(tg_audit_set(&ev, "userIdentity", json_string("after eventVersion")), 0);
    /* A field set twice keeps its first place and its last value. */
    assert_int_equal(tg_audit_set_string(&ev, "awsRegion", "eu-west-1"), 0);
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    size_t len = 0;
    char *line = slurp(fx->path, &len);
    assert_true(len > 0);
    assert_int_equal(line[len - 1], '\n');
    line[len - 1] = '\0';
    /* The whole line reads back as jansson would have written it. */
    json_error_t jerr;
    json_t *back = json_loads(line, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    assert_non_null(back);
    char *text = json_dumps(back, JSON_COMPACT);
    assert_non_null(text);
    assert_string_equal(line, text);
    char *got_d = json_dumps(json_object_get(back, "decision"), JSON_COMPACT);
    assert_string_equal(got_d, want_d);
    assert_string_equal(json_string_value(json_object_get(back, "awsRegion")), "eu-west-1");
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(back, key, v)
    {
        (void)v;
        if (i == 1) {
            assert_string_equal(key, "userIdentity");
        }
        i++;
    }
    json_decref(back);
    free(got_d);
    free(want_d);
    free(line);
    free(text);
}

static void test_audit_str(void **state)
{
    (void)state;
    struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"", 0, ""},
        {"plain", 5, "plain"},
        {"\xc3\xa9t\xc3\xa9", 6, "\xc3\xa9t\xc3\xa9"},
        {"\xff", 1, "\xef\xbf\xbd"},
        /* Overlong '/', a surrogate, a truncated sequence at the end. */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\xe2\x82", 3, "a\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80!", 5, "\xf0\x9f\x98\x80!"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        json_t *j = tg_audit_str(tg_cur_make(cases[i].in, cases[i].len));
        assert_non_null(j);
        assert_string_equal(json_string_value(j), cases[i].want);
        json_decref(j);
    }
}

/* ---- the forbidden-value guard ---- */

/* Shaped like what the STS action must never log. */
static const char token[] = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0."
                            "c2lnbmF0dXJl";
static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static void test_forbidden_value_not_written(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);

    /* Anywhere in the event, nested or not, even as part of a longer value. */
    for (int where = 0; where < 3; where++) {
        struct tg_audit_event ev;
        begin(&ev, "req-leak");
        tg_audit_event_forbid(&ev, CUR(token));
        tg_audit_event_forbid(&ev, CUR(secret));
        json_t *v = NULL;
        if (where == 0) {
            v = json_pack("{s:s}", "webIdentityToken", token);
        } else if (where == 1) {
            v = json_pack("{s:{s:[s]}}", "credentials", "x", secret);
        } else {
            v = json_pack("{s:s+}", "note", "prefix ", secret);
        }
        assert_int_equal(tg_audit_set(&ev, "requestParameters", v), 0);
        assert_int_equal(tg_audit_write(a, &ev), -1);
        assert_false(ev.begun);
    }
    /* A clean event with the same forbidden values registered is written. */
    struct tg_audit_event ev;
    begin(&ev, "req-clean");
    tg_audit_event_forbid(&ev, CUR(token));
    tg_audit_event_forbid(&ev, CUR(secret));
    assert_int_equal(tg_audit_set(&ev, "responseElements",
                                  json_pack("{s:s}", "accessKeyId", "ASIAEXAMPLE123456789")),
                     0);
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    size_t len = 0;
    char *raw = slurp(fx->path, &len);
    assert_null(strstr(raw, token));
    assert_null(strstr(raw, secret));
    assert_null(strstr(raw, "c2lnbmF0dXJl"));
    free(raw);

    json_t *lines[8];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(str_field(lines[i], "errorCode"), "AuditRedactionFailure");
        assert_string_equal(str_field(lines[i], "requestID"), "req-leak");
        assert_string_equal(str_field(lines[i], "eventName"), "AssumeRoleWithWebIdentity");
        assert_non_null(json_object_get(lines[i], "eventID"));
        assert_null(json_object_get(lines[i], "requestParameters"));
    }
    assert_string_equal(str_field(lines[3], "requestID"), "req-clean");
    assert_null(json_object_get(lines[3], "errorCode"));
    free_lines(lines, n);
}

static void test_forbidden_in_identifying_field(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    /* The caller sent its own token as User-Agent and request id: the stub
     * keeps the fields that are clean and drops the others. */
    struct tg_audit_event ev;
    assert_int_equal(tg_audit_event_begin(&ev, NOW_MS, "sts.amazonaws.com",
                                          "AssumeRoleWithWebIdentity", "us-east-1", "10.0.0.1",
                                          token, token, tg_random, NULL),
                     0);
    tg_audit_event_forbid(&ev, CUR(token));
    assert_int_equal(tg_audit_write(a, &ev), -1);
    tg_audit_close(a);

    size_t len = 0;
    char *raw = slurp(fx->path, &len);
    assert_null(strstr(raw, token));
    free(raw);
    json_t *lines[2];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "errorCode"), "AuditRedactionFailure");
    assert_string_equal(str_field(lines[0], "sourceIPAddress"), "10.0.0.1");
    assert_null(json_object_get(lines[0], "requestID"));
    assert_null(json_object_get(lines[0], "userAgent"));
    free_lines(lines, n);
}

static void test_forbidden_escaped_form(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    /* Not a shape our secrets have, but the guard must see through JSON's
     * escaping: the line holds ab\"c\\d, not ab"c\d. */
    static const char odd[] = "ab\"c\\d\n";
    struct tg_audit_event ev;
    begin(&ev, "req-odd");
    tg_audit_event_forbid(&ev, CUR(odd));
    assert_int_equal(tg_audit_set(&ev, "x", json_string(odd)), 0);
    assert_int_equal(tg_audit_write(a, &ev), -1);

    /* An empty forbidden value is ignored rather than matching everything. */
    begin(&ev, "req-empty");
    tg_audit_event_forbid(&ev, tg_cur_make("", 0));
    assert_int_equal(ev.n_forbidden, 0);
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    json_t *lines[4];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 2);
    assert_string_equal(str_field(lines[0], "errorCode"), "AuditRedactionFailure");
    assert_null(json_object_get(lines[0], "x"));
    assert_string_equal(str_field(lines[1], "requestID"), "req-empty");
    free_lines(lines, n);
}

static void test_too_many_forbidden_poisons(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    begin(&ev, "req-many");
    static const char *const vals[] = {"secret-one", "secret-two", "secret-three", "secret-four",
                                       "secret-five"};
    assert_true(TG_ARRAY_LEN(vals) > TG_AUDIT_MAX_FORBIDDEN);
    for (size_t i = 0; i < TG_ARRAY_LEN(vals); i++) {
        tg_audit_event_forbid(&ev, tg_cur_str(vals[i]));
    }
    /* The fifth cannot be checked, so the event is not written at all. */
    assert_int_equal(tg_audit_set(&ev, "x", json_string("secret-five")), 0);
    assert_int_equal(tg_audit_write(a, &ev), -1);
    tg_audit_close(a);

    size_t len = 0;
    char *raw = slurp(fx->path, &len);
    assert_null(strstr(raw, "secret-five"));
    free(raw);
    json_t *lines[2];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "errorCode"), "AuditRedactionFailure");
    assert_string_equal(str_field(lines[0], "requestID"), "req-many");
    free_lines(lines, n);
}

/* ---- dropping, misuse ---- */

static void test_null_path_drops(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(NULL);
    struct tg_audit_event ev;
    begin(&ev, "req-drop");
    assert_int_equal(tg_audit_write(a, &ev), 0);
    assert_false(ev.begun);
    /* The guard still answers, so leaks fail tests without a file too. */
    begin(&ev, "req-drop-leak");
    tg_audit_event_forbid(&ev, CUR(token));
    assert_int_equal(tg_audit_set(&ev, "t", json_string(token)), 0);
    assert_int_equal(tg_audit_write(a, &ev), -1);
    tg_audit_close(a);
    tg_audit_close(NULL);
    /* Nothing appeared in the directory. */
    struct stat st;
    assert_int_equal(stat(fx->path, &st), -1);
}

static void test_misuse(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    memset(&ev, 0, sizeof(ev));
    /* An event that was never begun, or already freed. */
    assert_int_equal(tg_audit_write(a, &ev), -1);
    assert_int_equal(tg_audit_set(&ev, "k", json_string("v")), -1);
    begin(&ev, "req-free");
    assert_int_equal(tg_audit_set(&ev, NULL, json_string("v")), -1);
    assert_int_equal(tg_audit_set(&ev, "k", NULL), -1);
    tg_audit_event_free(&ev);
    tg_audit_event_free(&ev);
    assert_false(ev.begun);
    tg_audit_close(a);
    size_t len = 0;
    char *raw = slurp(fx->path, &len);
    assert_int_equal(len, 0);
    free(raw);
}

static void test_torn_write_recovers(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    struct tg_audit_event ev;
    begin(&ev, "req-before");
    assert_int_equal(tg_audit_write(a, &ev), 0);
    size_t len = 0;
    free(slurp(fx->path, &len));

    /* A file size limit just past the first line makes the next write stop
     * mid-line (as a full disk would) and the one after fail outright. */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = (rlim_t)len + 100, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 0; i < 2; i++) {
        begin(&ev, "req-torn");
        assert_int_equal(tg_audit_write(a, &ev), -1);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    /* Once there is room again, the fragment is closed by a newline of its
     * own and the next event is a whole line. */
    begin(&ev, "req-after");
    assert_int_equal(tg_audit_write(a, &ev), 0);
    tg_audit_close(a);

    char *raw = slurp(fx->path, &len);
    char *first = strchr(raw, '\n');
    assert_non_null(first);
    char *second = strchr(first + 1, '\n');
    assert_non_null(second);
    /* The fragment: exactly the 100 bytes the limit let through. */
    assert_int_equal(second - first - 1, 100);
    json_t *after = json_loads(second + 1, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(after);
    assert_string_equal(str_field(after, "requestID"), "req-after");
    assert_int_equal(raw[len - 1], '\n');
    json_decref(after);
    free(raw);
}

/* ---- concurrency ---- */

#define THREADS 4
#define PER_THREAD 200
#define PAD 9000

struct worker {
    struct tg_audit *a;
    int id;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    /* Lines of about 9 KiB: larger than PIPE_BUF and than a stdio buffer,
     * so only one write(2) per line keeps them whole. */
    char *pad = malloc(PAD);
    if (pad == NULL) {
        w->failures = PER_THREAD;
        return NULL;
    }
    memset(pad, 'a' + w->id, PAD);
    for (int i = 0; i < PER_THREAD; i++) {
        struct tg_audit_event ev;
        char rid[32];
        snprintf(rid, sizeof(rid), "t%d-%d", w->id, i);
        if (tg_audit_event_begin(&ev, NOW_MS, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1",
                                 "127.0.0.1", "test", rid, tg_random, NULL) < 0 ||
            tg_audit_set(&ev, "pad", json_stringn(pad, PAD - (size_t)i)) < 0 ||
            tg_audit_write(w->a, &ev) < 0) {
            w->failures++;
        }
    }
    free(pad);
    return NULL;
}

static void test_concurrent_whole_lines(void **state)
{
    struct fx *fx = *state;
    struct tg_audit *a = open_ok(fx->path);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.a = a, .id = i, .failures = 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    tg_audit_close(a);

    static json_t *lines[THREADS * PER_THREAD + 1];
    size_t n = read_lines(fx->path, lines, TG_ARRAY_LEN(lines));
    assert_int_equal(n, THREADS * PER_THREAD);
    /* Every (thread, i) exactly once, each with its own padding intact, and
     * each thread's lines in its own order. */
    static bool seen[THREADS][PER_THREAD];
    int last[THREADS];
    for (int t = 0; t < THREADS; t++) {
        last[t] = -1;
    }
    for (size_t k = 0; k < n; k++) {
        int t = -1, i = -1;
        const char *rid = str_field(lines[k], "requestID");
        char *end = NULL;
        assert_int_equal(rid[0], 't');
        t = (int)strtol(rid + 1, &end, 10);
        assert_int_equal(*end, '-');
        i = (int)strtol(end + 1, &end, 10);
        assert_int_equal(*end, '\0');
        assert_true(t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD);
        assert_false(seen[t][i]);
        seen[t][i] = true;
        assert_true(i > last[t]);
        last[t] = i;
        json_t *pad = json_object_get(lines[k], "pad");
        assert_int_equal(json_string_length(pad), PAD - (size_t)i);
        const char *p = json_string_value(pad);
        for (size_t j = 0; j < PAD - (size_t)i; j++) {
            if (p[j] != 'a' + t) {
                fail_msg("line %zu: padding byte %zu is %c", k, j, p[j]);
            }
        }
    }
    free_lines(lines, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_broad_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_symlink_and_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_strings_stay_on_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_bytes_match_jansson, setup, teardown),
        cmocka_unit_test(test_audit_str),
        cmocka_unit_test_setup_teardown(test_forbidden_value_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_in_identifying_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_escaped_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_forbidden_poisons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_path_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_write_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_whole_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
