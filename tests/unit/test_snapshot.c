/* Unit tests for src/snapshot/snapshot.c, built from a real SQLite store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "snapshot/snapshot.h"
#include "store/store.h"

#define ACCT "123456789012"
#define GH "token.actions.githubusercontent.com"

static const char trust_doc[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
    "\"Principal\":{\"Federated\":\"arn:aws:iam::" ACCT ":oidc-provider/" GH "\"},"
    "\"Action\":\"sts:AssumeRoleWithWebIdentity\","
    "\"Condition\":{\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\","
    "\"" GH ":sub\":\"repo:octo/app:ref:refs/heads/main\"}}}]}";
static const char one_stmt[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                               "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}";
static const char two_stmts[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"},"
    "{\"Effect\":\"Deny\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\"}]}";

struct fx {
    char dir[64];
    char db[128];
    struct tg_store *store;
    struct tg_snapshot *snap;
    struct tg_error err;
};

/* Commits one PUT of a jansson value (stolen) as a new entity. */
static int put_json(struct fx *fx, enum tg_entity_kind kind, const char *key, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        return -1;
    }
    struct tg_store_op op = {TG_STORE_PUT, kind, key, text, 0};
    int rc = tg_store_commit(fx->store, &op, 1, &fx->err);
    free(text);
    return rc;
}

static int put_text(struct fx *fx, enum tg_entity_kind kind, const char *key, const char *doc)
{
    struct tg_store_op op = {TG_STORE_PUT, kind, key, doc, 0};
    return tg_store_commit(fx->store, &op, 1, &fx->err);
}

static int open_store(struct fx *fx)
{
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tg-snap-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        return -1;
    }
    snprintf(fx->db, sizeof(fx->db), "%s/tegata.db", fx->dir);
    return tg_store_open_sqlite(fx->db, &fx->store, &fx->err);
}

/* An account, the administrator key, a provider, two roles (one attaching
 * a managed policy and holding an inline one) and two managed policies. */
static int populate(struct fx *fx)
{
    int rc = 0;
    rc |= put_json(fx, TG_ENTITY_META, "account",
                   json_pack("{s:s, s:I}", "account_id", ACCT, "create_date", (json_int_t)0));
    rc |= put_json(fx, TG_ENTITY_META, "admin",
                   json_pack("{s:s, s:s, s:I}", "access_key_id", "AKIAAAAAAAAAAAAAAAAA",
                             "secret_sealed", "AQIDBA==", "create_date", (json_int_t)0));
    rc |= put_json(fx, TG_ENTITY_PROVIDER, GH,
                   json_pack("{s:s, s:[s], s:[], s:[], s:I}", "url", "https://" GH, "client_ids",
                             "sts.amazonaws.com", "thumbprints", "tags", "create_date",
                             (json_int_t)0));
    rc |= put_json(fx, TG_ENTITY_ROLE, "deploy",
                   json_pack("{s:s, s:s, s:s, s:s, s:i, s:[], s:[{s:s, s:s}], s:[s], s:I}", "name",
                             "Deploy", "path", "/ci/", "role_id", "AROAAAAAAAAAAAAAAAAAA",
                             "trust_policy", trust_doc, "max_session_duration", 3600, "tags",
                             "inline_policies", "name", "inl", "document", two_stmts, "attached",
                             "arn:aws:iam::" ACCT ":policy/team/ReadOnly", "create_date",
                             (json_int_t)0));
    rc |=
        put_json(fx, TG_ENTITY_ROLE, "build",
                 json_pack("{s:s, s:s, s:s, s:s, s:[], s:[], s:[s], s:I}", "name", "build", "path",
                           "/", "role_id", "AROABBBBBBBBBBBBBBBBB", "trust_policy", trust_doc,
                           "tags", "inline_policies", "attached",
                           "arn:aws:iam::aws:policy/ReadOnlyAccess", "create_date", (json_int_t)0));
    rc |= put_json(fx, TG_ENTITY_POLICY, "readonly",
                   json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[], s:I}", "name",
                             "ReadOnly", "path", "/team/", "policy_id", "ANPAAAAAAAAAAAAAAAAAA",
                             "default_version", "v2", "versions", "id", "v1", "document", one_stmt,
                             "id", "v2", "document", two_stmts, "tags", "create_date",
                             (json_int_t)0));
    rc |= put_json(fx, TG_ENTITY_POLICY, "unused",
                   json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[], s:I}", "name", "Unused",
                             "path", "/", "policy_id", "ANPABBBBBBBBBBBBBBBBB", "default_version",
                             "v1", "versions", "id", "v1", "document", one_stmt, "tags",
                             "create_date", (json_int_t)0));
    return rc;
}

static int setup_empty(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (fx == NULL || open_store(fx) < 0) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int setup_full(void **state)
{
    if (setup_empty(state) < 0) {
        return -1;
    }
    struct fx *fx = *state;
    if (populate(fx) < 0 || tg_snapshot_load(fx->store, 7, &fx->snap, &fx->err) < 0) {
        print_error("setup: %s / %s\n", fx->err.message, fx->err.detail);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    tg_snapshot_release(fx->snap);
    tg_store_close(fx->store);
    char p[160];
    static const char *const files[] = {"tegata.db", "tegata.db-wal", "tegata.db-shm"};
    for (size_t i = 0; i < TG_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- a full snapshot ---- */

static void test_meta(void **state)
{
    struct fx *fx = *state;
    const struct tg_snapshot *s = fx->snap;
    assert_int_equal(s->generation, 7);
    assert_string_equal(s->account_id, ACCT);
    assert_string_equal(s->admin_access_key_id, "AKIAAAAAAAAAAAAAAAAA");
    assert_non_null(s->admin_secret_sealed);
    assert_string_equal(s->admin_secret_sealed, "AQIDBA==");
    assert_int_equal(s->n_meta, 2);
    const struct tg_entity *e = tg_snapshot_meta(s, "account");
    assert_non_null(e);
    assert_string_equal(e->key, "account");
    assert_int_equal(e->version, 1);
    assert_string_equal(json_string_value(json_object_get(e->doc, "account_id")), ACCT);
    assert_non_null(tg_snapshot_meta(s, "admin"));
    assert_null(tg_snapshot_meta(s, "accoun"));
    assert_null(tg_snapshot_meta(s, "zzz"));
}

static void test_providers(void **state)
{
    struct fx *fx = *state;
    const struct tg_snapshot *s = fx->snap;
    assert_int_equal(s->n_providers, 1);
    const struct tg_snap_provider *p = tg_snapshot_provider_by_key(s, tg_cur_str(GH));
    assert_non_null(p);
    assert_ptr_equal(p, &s->providers[0]);
    assert_string_equal(p->url, "https://" GH);
    assert_string_equal(p->arn, "arn:aws:iam::" ACCT ":oidc-provider/" GH);

    assert_ptr_equal(tg_snapshot_provider_by_arn(s, tg_cur_str(p->arn)), p);
    static const char *const misses[] = {
        "arn:aws:iam::999999999999:oidc-provider/" GH,
        "arn:aws:iam::" ACCT ":oidc-provider/" GH "/",
        "arn:aws:iam::" ACCT ":oidc-provider/TOKEN.actions.githubusercontent.com",
        "arn:aws:iam::" ACCT ":saml-provider/" GH,
        "arn:aws:iam::" ACCT ":oidc-provider/",
        "arn:aws:iam::" ACCT ":oidc-provider",
        "",
        GH,
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(misses); i++) {
        assert_null(tg_snapshot_provider_by_arn(s, tg_cur_str(misses[i])));
    }
    assert_null(tg_snapshot_provider_by_key(s, tg_cur_str("token.actions.githubusercontent.co")));
    assert_null(tg_snapshot_provider_by_key(s, tg_cur_make(GH "x", strlen(GH) + 1)));
    /* A cursor need not be NUL-terminated: the first len bytes count. */
    assert_non_null(tg_snapshot_provider_by_key(s, tg_cur_make(GH "x", strlen(GH))));
}

static void test_roles(void **state)
{
    struct fx *fx = *state;
    const struct tg_snapshot *s = fx->snap;
    assert_int_equal(s->n_roles, 2);
    /* sorted by key */
    assert_string_equal(s->roles[0].e.key, "build");
    assert_string_equal(s->roles[1].e.key, "deploy");

    const struct tg_snap_role *r = tg_snapshot_role(s, tg_cur_str("Deploy"));
    assert_non_null(r);
    assert_ptr_equal(tg_snapshot_role(s, tg_cur_str("deploy")), r);
    assert_ptr_equal(tg_snapshot_role(s, tg_cur_str("DEPLOY")), r);
    assert_ptr_equal(tg_snapshot_role(s, tg_cur_str("dEpLoY")), r);
    assert_string_equal(r->name, "Deploy");
    assert_string_equal(r->arn, "arn:aws:iam::" ACCT ":role/ci/Deploy");
    assert_int_equal(r->e.version, 1);
    assert_non_null(r->trust);
    assert_int_equal(tg_policy_statement_count(r->trust), 1);
    assert_int_equal(r->n_inline, 1);
    assert_non_null(r->inline_compiled[0]);
    assert_int_equal(tg_policy_statement_count(r->inline_compiled[0]), 2);

    const struct tg_snap_role *b = tg_snapshot_role(s, tg_cur_str("BUILD"));
    assert_non_null(b);
    assert_string_equal(b->arn, "arn:aws:iam::" ACCT ":role/build");
    assert_int_equal(b->n_inline, 0);

    assert_null(tg_snapshot_role(s, tg_cur_str("deplo")));
    assert_null(tg_snapshot_role(s, tg_cur_str("deployx")));
    assert_null(tg_snapshot_role(s, tg_cur_str("")));
    /* A NUL inside the name must not cut it down to "deploy". */
    assert_null(tg_snapshot_role(s, tg_cur_make("deploy\0x", 8)));
    /* Longer than any role name: no match, no overflow. */
    char longname[600];
    memset(longname, 'a', sizeof(longname));
    assert_null(tg_snapshot_role(s, tg_cur_make(longname, sizeof(longname))));
}

static void test_policies(void **state)
{
    struct fx *fx = *state;
    const struct tg_snapshot *s = fx->snap;
    assert_int_equal(s->n_policies, 2);
    const struct tg_snap_policy *p = tg_snapshot_policy_by_name(s, tg_cur_str("readonly"));
    assert_non_null(p);
    assert_ptr_equal(tg_snapshot_policy_by_name(s, tg_cur_str("ReadOnly")), p);
    assert_string_equal(p->name, "ReadOnly");
    assert_string_equal(p->arn, "arn:aws:iam::" ACCT ":policy/team/ReadOnly");
    /* The default version is v2, of two statements. */
    assert_non_null(p->compiled);
    assert_int_equal(tg_policy_statement_count(p->compiled), 2);
    assert_int_equal(p->attachment_count, 1);

    const struct tg_snap_policy *u = tg_snapshot_policy_by_name(s, tg_cur_str("UNUSED"));
    assert_non_null(u);
    assert_int_equal(u->attachment_count, 0);
    assert_int_equal(tg_policy_statement_count(u->compiled), 1);
    assert_string_equal(u->arn, "arn:aws:iam::" ACCT ":policy/Unused");

    assert_ptr_equal(tg_snapshot_policy_by_arn(s, tg_cur_str(p->arn)), p);
    assert_ptr_equal(tg_snapshot_policy_by_arn(s, tg_cur_str(u->arn)), u);
    static const char *const misses[] = {
        "arn:aws:iam::" ACCT ":policy/ReadOnly",      /* wrong path */
        "arn:aws:iam::" ACCT ":policy/team/readonly", /* ARNs match exactly */
        "arn:aws:iam::999999999999:policy/team/ReadOnly",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::" ACCT ":role/team/ReadOnly",
        "ReadOnly",
        "",
        "/",
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(misses); i++) {
        assert_null(tg_snapshot_policy_by_arn(s, tg_cur_str(misses[i])));
    }
    assert_null(tg_snapshot_policy_by_name(s, tg_cur_str("read")));
}

static void test_key_lower(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(tg_snapshot_key_lower(tg_cur_str("AbC+=,.@-_9"), out, sizeof(out)), -1);
    assert_int_equal(tg_snapshot_key_lower(tg_cur_str("AbC@-_9"), out, sizeof(out)), 0);
    assert_string_equal(out, "abc@-_9");
    assert_int_equal(tg_snapshot_key_lower(tg_cur_str("ABCDEFGH"), out, sizeof(out)), -1);
    assert_int_equal(tg_snapshot_key_lower(tg_cur_make("a\0b", 3), out, sizeof(out)), -1);
    assert_int_equal(tg_snapshot_key_lower(tg_cur_make("", 0), out, sizeof(out)), 0);
    assert_string_equal(out, "");
    /* Non-ASCII bytes are kept as they are. */
    assert_int_equal(tg_snapshot_key_lower(tg_cur_str("\xc3\x89Z"), out, sizeof(out)), 0);
    assert_string_equal(out, "\xc3\x89z");
}

/* Versions follow the store; a reload after a write shows the new state
 * while the old snapshot stays as it was. */
static void test_reload_and_old_snapshot(void **state)
{
    struct fx *fx = *state;
    struct tg_snapshot *old = fx->snap;
    const struct tg_snap_policy *p = tg_snapshot_policy_by_name(old, tg_cur_str("readonly"));
    assert_non_null(p);
    /* detach ReadOnly from deploy */
    const struct tg_snap_role *r = tg_snapshot_role(old, tg_cur_str("deploy"));
    json_t *copy = json_deep_copy(r->e.doc);
    json_array_clear(json_object_get(copy, "attached"));
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_ROLE, "deploy", text, r->e.version};
    assert_int_equal(tg_store_commit(fx->store, &op, 1, &fx->err), 0);
    free(text);

    struct tg_snapshot *next = NULL;
    assert_int_equal(tg_snapshot_load(fx->store, 8, &next, &fx->err), 0);
    assert_int_equal(next->generation, 8);
    assert_int_equal(tg_snapshot_policy_by_name(next, tg_cur_str("readonly"))->attachment_count, 0);
    assert_int_equal(tg_snapshot_role(next, tg_cur_str("deploy"))->e.version, 2);
    /* the old one is untouched */
    assert_int_equal(p->attachment_count, 1);
    assert_int_equal(r->e.version, 1);
    tg_snapshot_release(next);
}

/* ---- references and the holder ---- */

static void test_refcount(void **state)
{
    struct fx *fx = *state;
    struct tg_snapshot *s = fx->snap;
    assert_int_equal(atomic_load(&s->refs), 1);
    assert_ptr_equal(tg_snapshot_ref(s), s);
    assert_int_equal(atomic_load(&s->refs), 2);
    tg_snapshot_release(s);
    assert_int_equal(atomic_load(&s->refs), 1);
    assert_null(tg_snapshot_ref(NULL));
    tg_snapshot_release(NULL);
}

static void test_holder_swap(void **state)
{
    struct fx *fx = *state;
    struct tg_snapshot_holder h;
    struct tg_snapshot *first = fx->snap;
    fx->snap = NULL;
    tg_snapshot_holder_init(&h, first); /* takes our reference */

    struct tg_snapshot *a = tg_snapshot_acquire(&h);
    assert_ptr_equal(a, first);
    assert_int_equal(atomic_load(&first->refs), 2);

    struct tg_snapshot *second = NULL;
    assert_int_equal(tg_snapshot_load(fx->store, 9, &second, &fx->err), 0);
    tg_snapshot_swap(&h, second);
    /* The holder dropped its reference to first; ours keeps it alive. */
    assert_int_equal(atomic_load(&first->refs), 1);
    assert_string_equal(tg_snapshot_role(a, tg_cur_str("deploy"))->name, "Deploy");

    struct tg_snapshot *b = tg_snapshot_acquire(&h);
    assert_ptr_equal(b, second);
    assert_int_equal(b->generation, 9);
    assert_int_equal(atomic_load(&second->refs), 2);
    tg_snapshot_release(a); /* frees first (ASan would see a leak otherwise) */
    tg_snapshot_release(b);
    assert_int_equal(atomic_load(&second->refs), 1);
    tg_snapshot_holder_destroy(&h);
}

struct reader_arg {
    struct tg_snapshot_holder *h;
    atomic_int *stop;
    long reads;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    while (!atomic_load(a->stop)) {
        struct tg_snapshot *s = tg_snapshot_acquire(a->h);
        /* touch the memory: a freed snapshot would trip ASan */
        if (s->generation < 0 || s->n_roles > 1000) {
            abort();
        }
        tg_snapshot_release(s);
        a->reads++;
    }
    return NULL;
}

static void test_holder_threads(void **state)
{
    (void)state;
    struct tg_snapshot_holder h;
    tg_snapshot_holder_init(&h, tg_snapshot_empty());
    atomic_int stop;
    atomic_init(&stop, 0);
    pthread_t th[3];
    struct reader_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct reader_arg){&h, &stop, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]), 0);
    }
    for (int i = 1; i <= 2000; i++) {
        struct tg_snapshot *next = tg_snapshot_empty();
        assert_non_null(next);
        next->generation = i;
        tg_snapshot_swap(&h, next);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
    }
    struct tg_snapshot *s = tg_snapshot_acquire(&h);
    assert_int_equal(s->generation, 2000);
    assert_int_equal(atomic_load(&s->refs), 2);
    tg_snapshot_release(s);
    tg_snapshot_holder_destroy(&h);
}

/* ---- empty and broken stores ---- */

static void test_empty(void **state)
{
    struct fx *fx = *state;
    struct tg_snapshot *e = tg_snapshot_empty();
    assert_non_null(e);
    assert_string_equal(e->account_id, "");
    assert_null(e->admin_secret_sealed);
    assert_null(tg_snapshot_role(e, tg_cur_str("x")));
    assert_null(tg_snapshot_policy_by_arn(e, tg_cur_str("arn:aws:iam:::policy/x")));
    assert_null(tg_snapshot_provider_by_arn(e, tg_cur_str("arn:aws:iam:::oidc-provider/x")));
    assert_null(tg_snapshot_meta(e, "account"));
    tg_snapshot_release(e);

    /* An empty store builds an empty snapshot: no account yet. */
    assert_int_equal(tg_snapshot_load(fx->store, 1, &fx->snap, &fx->err), 0);
    assert_string_equal(fx->snap->account_id, "");
    assert_null(fx->snap->admin_secret_sealed);
    assert_int_equal(fx->snap->n_roles + fx->snap->n_providers + fx->snap->n_policies, 0);
}

/* Each broken entity fails the whole build, naming itself in the detail. */
static void test_corrupt_docs_fail(void **state)
{
    struct fx *fx = *state;
    /* a trust policy that does not compile; a good one with a broken
     * inline policy */
    json_t *bt = json_pack("{s:s, s:s, s:s}", "name", "Bad", "path", "/", "trust_policy",
                           "{\"Statement\":1}");
    char *bad_trust = json_dumps(bt, JSON_COMPACT);
    json_decref(bt);
    json_t *bi =
        json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "name", "Bad", "path", "/", "trust_policy",
                  trust_doc, "inline_policies", "name", "x", "document", "nope");
    char *bad_inline = json_dumps(bi, JSON_COMPACT);
    json_decref(bi);
    assert_non_null(bad_trust);
    assert_non_null(bad_inline);
    static const struct {
        enum tg_entity_kind kind;
        const char *key;
        const char *doc;
    } cases[] = {
        {TG_ENTITY_ROLE, "broken", "{not json"},
        {TG_ENTITY_ROLE, "broken", "{\"name\":\"a\",\"name\":\"b\"}"},
        {TG_ENTITY_ROLE, "broken", "[]"},
        {TG_ENTITY_ROLE, "broken", "{\"path\":\"/\"}"},
        {TG_ENTITY_ROLE, "broken", NULL}, /* bad_trust */
        {TG_ENTITY_ROLE, "broken", NULL}, /* bad_inline */
        {TG_ENTITY_PROVIDER, "broken", "{\"client_ids\":[]}"},
        {TG_ENTITY_POLICY, "broken",
         "{\"name\":\"B\",\"path\":\"/\",\"default_version\":\"v2\",\"versions\":[]}"},
        {TG_ENTITY_META, "account", "{\"account_id\":\"12345\"}"},
        {TG_ENTITY_META, "account", "{\"account_id\":\"12345678901a\"}"},
        {TG_ENTITY_META, "admin", "{\"access_key_id\":\"AKIA\"}"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        const char *doc = cases[i].doc ? cases[i].doc : i == 4 ? bad_trust : bad_inline;
        assert_int_equal(put_text(fx, cases[i].kind, cases[i].key, doc), 0);
        struct tg_snapshot *s = NULL;
        tg_error_clear(&fx->err);
        assert_int_equal(tg_snapshot_load(fx->store, 1, &s, &fx->err), -1);
        assert_null(s);
        assert_int_equal(fx->err.code, TG_E_SERVICE_FAILURE);
        assert_non_null(strstr(fx->err.detail, cases[i].key));
        /* remove it again */
        struct tg_store_op del = {TG_STORE_DELETE, cases[i].kind, cases[i].key, NULL, 1};
        assert_int_equal(tg_store_commit(fx->store, &del, 1, &fx->err), 0);
    }
    free(bad_trust);
    free(bad_inline);
    /* With the broken ones gone, the store loads. */
    assert_int_equal(tg_snapshot_load(fx->store, 1, &fx->snap, &fx->err), 0);
}

/* A document that fails after other entities were filed frees them all
 * (checked by ASan's leak detector). */
static void test_failure_after_good_entities(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(populate(fx), 0);
    assert_int_equal(put_text(fx, TG_ENTITY_POLICY, "zzz", "{\"name\":\"zzz\"}"), 0);
    struct tg_snapshot *s = NULL;
    assert_int_equal(tg_snapshot_load(fx->store, 1, &s, &fx->err), -1);
    assert_null(s);
    assert_non_null(strstr(fx->err.detail, "zzz"));
}

int main(void)
{
#define FULL(f) cmocka_unit_test_setup_teardown(f, setup_full, teardown)
#define EMPTY(f) cmocka_unit_test_setup_teardown(f, setup_empty, teardown)
    const struct CMUnitTest tests[] = {
        FULL(test_meta),
        FULL(test_providers),
        FULL(test_roles),
        FULL(test_policies),
        cmocka_unit_test(test_key_lower),
        FULL(test_reload_and_old_snapshot),
        FULL(test_refcount),
        FULL(test_holder_swap),
        cmocka_unit_test(test_holder_threads),
        EMPTY(test_empty),
        EMPTY(test_corrupt_docs_fail),
        EMPTY(test_failure_after_good_entities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
