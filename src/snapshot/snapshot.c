/*
 * snapshot: the immutable in-memory configuration (ARCHITECTURE decision 2).
 *
 * A snapshot is built once from one consistent read of the store, then only
 * read: every pointer in it stays valid while a reference is held. The
 * holder swaps in the next snapshot under a mutex; readers keep the one
 * they took until they release it.
 *
 * Ownership inside a snapshot: entity keys and ARNs are malloc'd strings,
 * documents are jansson values with one reference each, compiled policies
 * are tg_policy objects; "name" and "url" fields point into the documents.
 */
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---------------------------------------------------------- */

struct build {
    struct tg_snapshot *s;
    size_t cap_meta, cap_providers, cap_roles, cap_policies;
    struct tg_error *err;
};

/* ServiceFailure for the API caller; what broke, for the operator. */
static int fail(struct tg_error *err, const char *fmt, ...) TG_PRINTF(2, 3);
static int fail(struct tg_error *err, const char *fmt, ...)
{
    char detail[TG_ERROR_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    tg_error_code(err, TG_E_SERVICE_FAILURE);
    return tg_error_detail(err, "snapshot: %s", detail);
}

static const char *kind_name(enum tg_entity_kind kind)
{
    switch (kind) {
    case TG_ENTITY_META:
        return "meta";
    case TG_ENTITY_PROVIDER:
        return "provider";
    case TG_ENTITY_ROLE:
        return "role";
    case TG_ENTITY_POLICY:
        return "policy";
    }
    return "entity";
}

/* A malloc'd formatted string, NULL on OOM. */
static char *str_printf(const char *fmt, ...) TG_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = malloc((size_t)n + 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Makes room for one more element of size elem in *arr (count n, capacity
 * *cap); the new element is zeroed. Returns it, or NULL on OOM. */
static void *grow(void **arr, size_t n, size_t *cap, size_t elem)
{
    if (n == *cap) {
        size_t next = *cap == 0 ? 16 : *cap * 2;
        if (next > SIZE_MAX / elem) {
            return NULL;
        }
        void *p = realloc(*arr, next * elem);
        if (p == NULL) {
            return NULL;
        }
        *arr = p;
        *cap = next;
    }
    void *e = (char *)*arr + n * elem;
    memset(e, 0, elem);
    return e;
}

/* Store callback: parses the document and files the entity under its kind.
 * Derived fields are filled later, once every row is in. */
static int add_row(void *ctx, const struct tg_store_row *row)
{
    struct build *b = ctx;
    struct tg_snapshot *s = b->s;
    struct tg_entity *e = NULL;
    json_error_t jerr;

    /* Our own documents, but read back from a file: parse strictly. */
    json_t *doc = json_loadb(row->doc, row->doc_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        return fail(b->err, "%s %s: the document does not parse: %s (line %d)",
                    kind_name(row->kind), row->key, jerr.text, jerr.line);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return fail(b->err, "%s %s: the document is not a JSON object", kind_name(row->kind),
                    row->key);
    }
    switch (row->kind) {
    case TG_ENTITY_META:
        e = grow((void **)&s->meta, s->n_meta, &b->cap_meta, sizeof(*s->meta));
        if (e != NULL) {
            s->n_meta++;
        }
        break;
    case TG_ENTITY_PROVIDER: {
        struct tg_snap_provider *p =
            grow((void **)&s->providers, s->n_providers, &b->cap_providers, sizeof(*s->providers));
        if (p != NULL) {
            s->n_providers++;
            e = &p->e;
        }
        break;
    }
    case TG_ENTITY_ROLE: {
        struct tg_snap_role *r =
            grow((void **)&s->roles, s->n_roles, &b->cap_roles, sizeof(*s->roles));
        if (r != NULL) {
            s->n_roles++;
            e = &r->e;
        }
        break;
    }
    case TG_ENTITY_POLICY: {
        struct tg_snap_policy *p =
            grow((void **)&s->policies, s->n_policies, &b->cap_policies, sizeof(*s->policies));
        if (p != NULL) {
            s->n_policies++;
            e = &p->e;
        }
        break;
    }
    default:
        json_decref(doc);
        return fail(b->err, "unknown entity kind %d (key %s)", (int)row->kind, row->key);
    }
    if (e == NULL) {
        json_decref(doc);
        return fail(b->err, "out of memory");
    }
    /* From here the entity owns doc; the snapshot frees both on failure. */
    e->doc = doc;
    e->version = row->version;
    e->key = strdup(row->key);
    if (e->key == NULL) {
        return fail(b->err, "out of memory");
    }
    return 0;
}

/* Entities are the first member of each element type, so one comparison
 * serves every array. strcmp compares as unsigned char, the same order as
 * SQLite's BINARY collation of the keys. */
static int entity_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tg_entity *)a)->key, ((const struct tg_entity *)b)->key);
}

/* The store returns rows in key order already; sort only if it did not
 * (e.g. a backend with another collation). */
static void sort_entities(void *arr, size_t n, size_t elem)
{
    for (size_t i = 1; i < n; i++) {
        if (entity_cmp((char *)arr + (i - 1) * elem, (char *)arr + i * elem) > 0) {
            qsort(arr, n, elem, entity_cmp);
            return;
        }
    }
}

static const char *doc_str(const json_t *doc, const char *name)
{
    return json_string_value(json_object_get(doc, name));
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static int derive_meta(struct tg_snapshot *s, struct tg_error *err)
{
    const struct tg_entity *acct = tg_snapshot_meta(s, "account");
    if (acct != NULL) {
        const char *id = doc_str(acct->doc, "account_id");
        if (id == NULL || strlen(id) != 12 || !all_digits(id, 12)) {
            return fail(err, "meta account: account_id is not 12 digits");
        }
        memcpy(s->account_id, id, 13);
    }
    const struct tg_entity *admin = tg_snapshot_meta(s, "admin");
    if (admin != NULL) {
        const char *akid = doc_str(admin->doc, "access_key_id");
        const char *sealed = doc_str(admin->doc, "secret_sealed");
        if (akid == NULL || strlen(akid) >= sizeof(s->admin_access_key_id) || sealed == NULL) {
            return fail(err, "meta admin: access_key_id or secret_sealed missing or invalid");
        }
        memcpy(s->admin_access_key_id, akid, strlen(akid) + 1);
        s->admin_secret_sealed = sealed;
    }
    return 0;
}

/* Compiles a policy document held as a JSON string; on failure names the
 * entity and keeps the policy module's reason in the detail. */
static int compile(const json_t *text, enum tg_policy_kind kind, struct tg_policy **out,
                   struct tg_error *err, const char *what, const char *key)
{
    struct tg_error perr;
    tg_error_clear(&perr);
    if (!json_is_string(text)) {
        return fail(err, "%s %s: the policy document is missing", what, key);
    }
    if (tg_policy_parse((const uint8_t *)json_string_value(text), json_string_length(text), kind,
                        out, &perr) < 0) {
        *out = NULL;
        return fail(err, "%s %s: the stored policy no longer compiles: %s", what, key,
                    perr.message);
    }
    return 0;
}

static int derive_provider(struct tg_snapshot *s, struct tg_snap_provider *p, struct tg_error *err)
{
    p->url = doc_str(p->e.doc, "url");
    if (p->url == NULL) {
        return fail(err, "provider %s: url missing", p->e.key);
    }
    /* store.h: the key is the URL without "https://", which is also the
     * ARN's resource part (spec 7.1). */
    p->arn = str_printf("arn:aws:iam::%s:oidc-provider/%s", s->account_id, p->e.key);
    if (p->arn == NULL) {
        return fail(err, "out of memory");
    }
    return 0;
}

static int derive_policy(struct tg_snapshot *s, struct tg_snap_policy *p, struct tg_error *err)
{
    const char *path = doc_str(p->e.doc, "path");
    const char *dflt = doc_str(p->e.doc, "default_version");
    p->name = doc_str(p->e.doc, "name");
    if (p->name == NULL || path == NULL || dflt == NULL) {
        return fail(err, "policy %s: name, path or default_version missing", p->e.key);
    }
    p->arn = str_printf("arn:aws:iam::%s:policy%s%s", s->account_id, path, p->name);
    if (p->arn == NULL) {
        return fail(err, "out of memory");
    }
    const json_t *versions = json_object_get(p->e.doc, "versions");
    size_t i;
    const json_t *v;
    json_array_foreach(versions, i, v)
    {
        const char *id = doc_str(v, "id");
        if (id != NULL && strcmp(id, dflt) == 0) {
            return compile(json_object_get(v, "document"), TG_POLICY_IDENTITY, &p->compiled, err,
                           "policy", p->e.key);
        }
    }
    return fail(err, "policy %s: default version %s not found", p->e.key, dflt);
}

static const struct tg_snap_policy *policy_by_arn(const struct tg_snapshot *s, struct tg_cur arn);

static int derive_role(struct tg_snapshot *s, struct tg_snap_role *r, struct tg_error *err)
{
    const char *path = doc_str(r->e.doc, "path");
    r->name = doc_str(r->e.doc, "name");
    if (r->name == NULL || path == NULL) {
        return fail(err, "role %s: name or path missing", r->e.key);
    }
    r->arn = str_printf("arn:aws:iam::%s:role%s%s", s->account_id, path, r->name);
    if (r->arn == NULL) {
        return fail(err, "out of memory");
    }
    TG_GUARD(compile(json_object_get(r->e.doc, "trust_policy"), TG_POLICY_TRUST, &r->trust, err,
                     "role", r->e.key));

    const json_t *inl = json_object_get(r->e.doc, "inline_policies");
    if (inl != NULL && !json_is_array(inl)) {
        return fail(err, "role %s: inline_policies is not an array", r->e.key);
    }
    size_t n = json_array_size(inl);
    if (n > 0) {
        r->inline_compiled = calloc(n, sizeof(*r->inline_compiled));
        if (r->inline_compiled == NULL) {
            return fail(err, "out of memory");
        }
        r->n_inline = n;
        for (size_t i = 0; i < n; i++) {
            TG_GUARD(compile(json_object_get(json_array_get(inl, i), "document"),
                             TG_POLICY_IDENTITY, &r->inline_compiled[i], err, "role", r->e.key));
        }
    }

    const json_t *att = json_object_get(r->e.doc, "attached");
    if (att != NULL && !json_is_array(att)) {
        return fail(err, "role %s: attached is not an array", r->e.key);
    }
    size_t i;
    const json_t *a;
    json_array_foreach(att, i, a)
    {
        if (!json_is_string(a)) {
            return fail(err, "role %s: attached holds a non-string", r->e.key);
        }
        const struct tg_snap_policy *p =
            policy_by_arn(s, tg_cur_make(json_string_value(a), json_string_length(a)));
        /* An ARN of a policy we do not hold (e.g. an AWS managed one) has
         * nothing to count. The snapshot is still being built: this is the
         * one place that writes to a policy after it was filed. */
        if (p != NULL) {
            s->policies[p - s->policies].attachment_count++;
        }
    }
    return 0;
}

static void free_snapshot(struct tg_snapshot *s)
{
    for (size_t i = 0; i < s->n_meta; i++) {
        free((char *)s->meta[i].key);
        json_decref(s->meta[i].doc);
    }
    for (size_t i = 0; i < s->n_providers; i++) {
        free((char *)s->providers[i].e.key);
        json_decref(s->providers[i].e.doc);
        free(s->providers[i].arn);
    }
    for (size_t i = 0; i < s->n_roles; i++) {
        struct tg_snap_role *r = &s->roles[i];
        free((char *)r->e.key);
        json_decref(r->e.doc);
        free(r->arn);
        if (r->trust != NULL) {
            tg_policy_free(r->trust);
        }
        for (size_t j = 0; j < r->n_inline; j++) {
            if (r->inline_compiled[j] != NULL) {
                tg_policy_free(r->inline_compiled[j]);
            }
        }
        free(r->inline_compiled);
    }
    for (size_t i = 0; i < s->n_policies; i++) {
        free((char *)s->policies[i].e.key);
        json_decref(s->policies[i].e.doc);
        free(s->policies[i].arn);
        if (s->policies[i].compiled != NULL) {
            tg_policy_free(s->policies[i].compiled);
        }
    }
    free(s->meta);
    free(s->providers);
    free(s->roles);
    free(s->policies);
    free(s);
}

struct tg_snapshot *tg_snapshot_empty(void)
{
    struct tg_snapshot *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        atomic_init(&s->refs, 1);
    }
    return s;
}

int tg_snapshot_load(struct tg_store *store, int64_t generation, struct tg_snapshot **out,
                     struct tg_error *err)
{
    struct build b = {0};
    int rc = -1;

    *out = NULL;
    b.s = tg_snapshot_empty();
    b.err = err;
    if (b.s == NULL) {
        return fail(err, "out of memory");
    }
    b.s->generation = generation;
    if (tg_store_load(store, add_row, &b, err) < 0) {
        goto out;
    }
    struct tg_snapshot *s = b.s;
    sort_entities(s->meta, s->n_meta, sizeof(*s->meta));
    sort_entities(s->providers, s->n_providers, sizeof(*s->providers));
    sort_entities(s->roles, s->n_roles, sizeof(*s->roles));
    sort_entities(s->policies, s->n_policies, sizeof(*s->policies));

    /* Order matters: ARNs need the account id; roles count attachments on
     * policies whose ARNs are already built. */
    TG_GUARD_GOTO(derive_meta(s, err), out);
    for (size_t i = 0; i < s->n_providers; i++) {
        TG_GUARD_GOTO(derive_provider(s, &s->providers[i], err), out);
    }
    for (size_t i = 0; i < s->n_policies; i++) {
        TG_GUARD_GOTO(derive_policy(s, &s->policies[i], err), out);
    }
    for (size_t i = 0; i < s->n_roles; i++) {
        TG_GUARD_GOTO(derive_role(s, &s->roles[i], err), out);
    }
    rc = 0;
out:
    if (rc < 0) {
        free_snapshot(b.s);
        return -1;
    }
    *out = b.s;
    return 0;
}

/* ---- references ---------------------------------------------------------- */

struct tg_snapshot *tg_snapshot_ref(struct tg_snapshot *s)
{
    if (s != NULL) {
        /* Relaxed is enough to take a reference: the caller already holds
         * one, so the object cannot go away meanwhile. */
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    }
    return s;
}

void tg_snapshot_release(struct tg_snapshot *s)
{
    if (s == NULL) {
        return;
    }
    /* acq_rel: every reader's use of the snapshot happens before the free
     * by whichever thread drops the last reference. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        free_snapshot(s);
    }
}

/* ---- look-ups ------------------------------------------------------------ */

/* Byte order of a cursor against a key: memcmp, then the shorter first,
 * which agrees with strcmp on keys (they hold no NUL). */
static int cur_key_cmp(struct tg_cur a, const char *key)
{
    size_t kl = strlen(key);
    size_t n = a.len < kl ? a.len : kl;
    int c = n > 0 ? memcmp(a.ptr, key, n) : 0;
    if (c != 0) {
        return c;
    }
    return a.len < kl ? -1 : a.len > kl ? 1 : 0;
}

/* Binary search over any entity array (the entity is each element's first
 * member). */
static const void *find(const void *arr, size_t n, size_t elem, struct tg_cur key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const void *e = (const char *)arr + mid * elem;
        int c = cur_key_cmp(key, ((const struct tg_entity *)e)->key);
        if (c == 0) {
            return e;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

int tg_snapshot_key_lower(struct tg_cur name, char *out, size_t cap)
{
    /* A NUL inside the name would cut the key short and match another
     * entity; such a name matches nothing. */
    if (name.len >= cap) {
        return -1;
    }
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        if (c == 0) {
            return -1;
        }
        /* IAM names are ASCII ([\w+=,.@-]), compared case-insensitively
         * (spec 7.2: "unique case-insensitively"). */
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out[name.len] = '\0';
    return 0;
}

const struct tg_snap_provider *tg_snapshot_provider_by_key(const struct tg_snapshot *s,
                                                           struct tg_cur key)
{
    return find(s->providers, s->n_providers, sizeof(*s->providers), key);
}

const struct tg_snap_provider *tg_snapshot_provider_by_arn(const struct tg_snapshot *s,
                                                           struct tg_cur arn)
{
    char prefix[64];
    int n = snprintf(prefix, sizeof(prefix), "arn:aws:iam::%s:oidc-provider/", s->account_id);
    if (n < 0 || (size_t)n >= sizeof(prefix) || arn.len < (size_t)n ||
        memcmp(arn.ptr, prefix, (size_t)n) != 0) {
        return NULL;
    }
    return tg_snapshot_provider_by_key(s, tg_cur_make(arn.ptr + n, arn.len - (size_t)n));
}

const struct tg_snap_role *tg_snapshot_role(const struct tg_snapshot *s, struct tg_cur name)
{
    char key[TG_IAM_MAX_ROLE_NAME * 4 + 1];
    if (tg_snapshot_key_lower(name, key, sizeof(key)) < 0) {
        return NULL;
    }
    return find(s->roles, s->n_roles, sizeof(*s->roles), tg_cur_make(key, name.len));
}

const struct tg_snap_policy *tg_snapshot_policy_by_name(const struct tg_snapshot *s,
                                                        struct tg_cur name)
{
    char key[TG_IAM_MAX_POLICY_NAME * 4 + 1];
    if (tg_snapshot_key_lower(name, key, sizeof(key)) < 0) {
        return NULL;
    }
    return find(s->policies, s->n_policies, sizeof(*s->policies), tg_cur_make(key, name.len));
}

/* arn:aws:iam::<account>:policy<path><name>: the name is what follows the
 * last '/'; look it up, then require the whole ARN to match, so that a
 * wrong account or path finds nothing. */
static const struct tg_snap_policy *policy_by_arn(const struct tg_snapshot *s, struct tg_cur arn)
{
    size_t slash = arn.len;
    for (size_t i = arn.len; i > 0; i--) {
        if (arn.ptr[i - 1] == '/') {
            slash = i - 1;
            break;
        }
    }
    if (slash == arn.len) {
        return NULL;
    }
    const struct tg_snap_policy *p =
        tg_snapshot_policy_by_name(s, tg_cur_make(arn.ptr + slash + 1, arn.len - slash - 1));
    if (p == NULL || p->arn == NULL || cur_key_cmp(arn, p->arn) != 0) {
        return NULL;
    }
    return p;
}

const struct tg_snap_policy *tg_snapshot_policy_by_arn(const struct tg_snapshot *s,
                                                       struct tg_cur arn)
{
    return policy_by_arn(s, arn);
}

const struct tg_entity *tg_snapshot_meta(const struct tg_snapshot *s, const char *key)
{
    return find(s->meta, s->n_meta, sizeof(*s->meta), tg_cur_make(key, strlen(key)));
}

/* ---- the holder ------------------------------------------------------------ */

void tg_snapshot_holder_init(struct tg_snapshot_holder *h, struct tg_snapshot *initial)
{
    pthread_mutex_init(&h->mu, NULL);
    h->cur = initial;
}

void tg_snapshot_holder_destroy(struct tg_snapshot_holder *h)
{
    tg_snapshot_release(h->cur);
    h->cur = NULL;
    pthread_mutex_destroy(&h->mu);
}

struct tg_snapshot *tg_snapshot_acquire(struct tg_snapshot_holder *h)
{
    /* The reference is taken under the lock: a swap cannot drop the last
     * reference between reading cur and incrementing it. */
    pthread_mutex_lock(&h->mu);
    struct tg_snapshot *s = tg_snapshot_ref(h->cur);
    pthread_mutex_unlock(&h->mu);
    return s;
}

void tg_snapshot_swap(struct tg_snapshot_holder *h, struct tg_snapshot *next)
{
    pthread_mutex_lock(&h->mu);
    struct tg_snapshot *old = h->cur;
    h->cur = next;
    pthread_mutex_unlock(&h->mu);
    /* Outside the lock: freeing a big snapshot must not stall readers. */
    tg_snapshot_release(old);
}
