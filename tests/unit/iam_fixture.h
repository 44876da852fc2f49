/*
 * Test fixture for the iam_* unit tests: a real SQLite store in a fresh
 * temporary directory, the snapshot built from it, and a call helper that
 * runs an action the way the server does (form parameters in, commit of
 * the writes, snapshot reload).
 */
#ifndef TG_TEST_IAM_FIXTURE_H
#define TG_TEST_IAM_FIXTURE_H

/* cmocka's own prerequisites first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "iam/iam.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

#define FX_ACCOUNT "123456789012"

struct iam_fx {
    char dir[64];
    char db[128];
    struct tg_store *store;
    struct tg_snapshot *snap;
    int64_t now_ms;
    uint64_t rng;
    int64_t generation;
    bool dev;
    struct tg_buf body; /* the XML of the last call (NUL-terminated), or the error document */
    struct tg_error err;
    char warnings[TG_IAM_MAX_WARNINGS][512];
    size_t n_warnings;
};

/* Deterministic randomness (xorshift64*), so ids are reproducible. */
static inline void fx_rand(void *ctx, uint8_t *out, size_t n)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        out[i] = (uint8_t)((*s * 0x2545F4914F6CDD1DULL) >> 56);
    }
}

static inline int fx_reload(struct iam_fx *fx)
{
    struct tg_snapshot *next = NULL;
    if (tg_snapshot_load(fx->store, ++fx->generation, &next, &fx->err) < 0) {
        return -1;
    }
    tg_snapshot_release(fx->snap);
    fx->snap = next;
    return 0;
}

static inline int fx_setup(struct iam_fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tg-iam-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        return -1;
    }
    snprintf(fx->db, sizeof(fx->db), "%s/tegata.db", fx->dir);
    if (tg_store_open_sqlite(fx->db, &fx->store, &fx->err) < 0) {
        return -1;
    }
    struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_META, "account",
                             "{\"account_id\":\"" FX_ACCOUNT "\",\"create_date\":0}", 0};
    if (tg_store_commit(fx->store, &op, 1, &fx->err) < 0) {
        return -1;
    }
    fx->now_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
    fx->rng = 0x9E3779B97F4A7C15ULL;
    tg_buf_init(&fx->body, TG_HTTP_MAX_RESPONSE);
    return fx_reload(fx);
}

static inline void fx_teardown(struct iam_fx *fx)
{
    tg_snapshot_release(fx->snap);
    tg_store_close(fx->store);
    tg_buf_free(&fx->body);
    char path[160];
    const char *files[] = {"tegata.db", "tegata.db-wal", "tegata.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
        unlink(path);
    }
    rmdir(fx->dir);
}

/* Runs action with a form-encoded parameter string (already encoded).
 * Returns TG_OK or the error code; fx->body holds the response XML (or the
 * ErrorResponse) as a C string. */
static inline enum tg_code fx_call_form(struct iam_fx *fx, const char *action, const char *form)
{
    struct tg_form f;
    tg_form_init(&f);
    tg_error_clear(&fx->err);
    tg_buf_reset(&fx->body);
    fx->n_warnings = 0;
    enum tg_code rc = TG_OK;
    const struct tg_iam_action *a = tg_iam_action_find(tg_cur_str(action));
    if (a == NULL) {
        rc = TG_E_INVALID_ACTION;
        goto out;
    }
    if (tg_form_parse(&f, (const uint8_t *)form, strlen(form), &fx->err) < 0) {
        rc = fx->err.code;
        goto out;
    }
    struct tg_xml x;
    tg_xml_init(&x, &fx->body);
    tg_api_response_begin(&x, a->name, TG_NS_IAM, a->has_result);
    struct tg_iam_out o;
    tg_iam_out_init(&o, &x);
    struct tg_iam_ctx ctx = {fx->snap, fx->now_ms, fx_rand,
                             &fx->rng, fx->dev,    TG_POLICY_TRUST_SIZE_DEFAULT};
    if (a->fn(&ctx, &f, &o, &fx->err) < 0) {
        rc = fx->err.code == TG_OK ? TG_E_INTERNAL_FAILURE : fx->err.code;
        tg_iam_out_free(&o);
        goto out;
    }
    for (size_t i = 0; i < o.n_warnings; i++) {
        memcpy(fx->warnings[i], o.warnings[i], sizeof(fx->warnings[i]));
    }
    fx->n_warnings = o.n_warnings;
    tg_api_response_end(&x, "00000000-0000-4000-8000-000000000000");
    if (tg_xml_finish(&x) < 0) {
        rc = TG_E_INTERNAL_FAILURE;
        tg_iam_out_free(&o);
        goto out;
    }
    if (o.n_ops > 0) {
        if (!a->writes || tg_store_commit(fx->store, o.ops, o.n_ops, &fx->err) < 0 ||
            fx_reload(fx) < 0) {
            rc = fx->err.code == TG_OK ? TG_E_INTERNAL_FAILURE : fx->err.code;
        }
    }
    tg_iam_out_free(&o);
out:
    if (rc != TG_OK) {
        if (fx->err.code == TG_OK) {
            fx->err.code = rc;
        }
        if (tg_api_error_xml(&fx->body, TG_NS_IAM, &fx->err, "0") < 0) {
            tg_buf_reset(&fx->body);
        }
    }
    if (tg_buf_nul(&fx->body) < 0) {
        abort();
    }
    tg_form_free(&f);
    return rc;
}

/* Runs action with name/value pairs (plain text, encoded here), ended by
 * NULL: fx_call(fx, "GetRole", "RoleName", "r", NULL). */
static inline enum tg_code fx_call(struct iam_fx *fx, const char *action, ...)
{
    struct tg_buf form;
    tg_buf_init(&form, 4 * TG_FORM_MAX_VALUE);
    va_list ap;
    va_start(ap, action);
    const char *name;
    bool first = true;
    int ok = 0;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        ok |= first ? 0 : tg_buf_append_byte(&form, '&');
        ok |= tg_buf_append_str(&form, name);
        ok |= tg_buf_append_byte(&form, '=');
        ok |= tg_url_encode(&form, tg_cur_str(value));
        first = false;
    }
    va_end(ap);
    ok |= tg_buf_nul(&form);
    enum tg_code rc = ok < 0 ? TG_E_INTERNAL_FAILURE
                             : fx_call_form(fx, action, form.ptr ? (const char *)form.ptr : "");
    tg_buf_free(&form);
    return rc;
}

static inline const char *fx_body(const struct iam_fx *fx)
{
    return fx->body.ptr ? (const char *)fx->body.ptr : "";
}

/* cmocka setup and teardown: *state is a fresh fixture (heap, freed by
 * fx_state_teardown). */
static inline int fx_state_setup(void **state)
{
    struct iam_fx *fx = calloc(1, sizeof(*fx));
    if (fx == NULL || fx_setup(fx) < 0) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static inline int fx_state_teardown(void **state)
{
    struct iam_fx *fx = *state;
    fx_teardown(fx);
    free(fx);
    return 0;
}

/* A test run over a fresh fixture. */
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_state_setup, fx_state_teardown)

/* The body of the last call contains (or does not contain) a fragment;
 * the failure names the caller's line. */
static inline void fx_has_impl(const struct iam_fx *fx, const char *want, int line)
{
    if (strstr(fx_body(fx), want) == NULL) {
        print_error("line %d: expected\n  %s\nin\n  %s\n", line, want, fx_body(fx));
        fail();
    }
}
#define assert_has(fx, want) fx_has_impl((fx), (want), __LINE__)

static inline void fx_lacks_impl(const struct iam_fx *fx, const char *unwanted, int line)
{
    if (strstr(fx_body(fx), unwanted) != NULL) {
        print_error("line %d: unexpected\n  %s\nin\n  %s\n", line, unwanted, fx_body(fx));
        fail();
    }
}
#define assert_lacks(fx, s) fx_lacks_impl((fx), (s), __LINE__)

/* An action a file's table must hold, with the flags of bc-iam. */
struct fx_action {
    const char *name;
    bool has_result, writes;
};

/* The file's table (table_n entries) holds exactly the n wanted actions,
 * each found under its exact name with its flags. */
static inline void fx_check_actions(const struct fx_action *want, size_t n, size_t table_n)
{
    assert_int_equal(table_n, n);
    for (size_t i = 0; i < n; i++) {
        const struct tg_iam_action *a = tg_iam_action_find(tg_cur_str(want[i].name));
        if (a == NULL) {
            fail_msg("%s missing", want[i].name);
        }
        assert_string_equal(a->name, want[i].name);
        assert_int_equal(a->has_result, want[i].has_result);
        assert_int_equal(a->writes, want[i].writes);
    }
}

#endif
