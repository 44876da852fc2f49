/*
 * policy: IAM policy documents -> compiled form (spec 4.1-4.4, 4.6). Pure.
 *
 * tg_policy_parse checks a document in the order IAM does, so that the
 * first problem found is the one IAM would report, with IAM's message (the
 * reference is ../shared/vectors/iam-policy/moto, the cases moto asserts
 * against CreatePolicy; moto mirrors real AWS responses):
 *
 *   1. syntax: JSON, element names and types ("Syntax errors in policy.")
 *   2. Version 2012-10-17 (identity and session policies only)
 *   3. the kind's rules: Principal forbidden / required, Resource forbidden
 *   4. "legacy parsing": Effect case, Date condition values, ARN shapes
 *   5. Sid uniqueness, Action present, the first resource format problem,
 *      action vendor prefixes, Resource present
 *   6. principal values (trust policies)
 *
 * Then it builds an immutable compiled form, allocated in a few large
 * chunks (compiled policies live in the snapshot for a long time), designed
 * for the evaluator of the next milestone: typed principals, lower-cased
 * action patterns, resources, and one condition per (operator, key) with
 * every value normalised to a string.
 */
#include "json/json.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages (IAM's MalformedPolicyDocument texts, spec 4.1) ---------- */
#define MSG_SYNTAX "Syntax errors in policy."
#define MSG_VERSION "Policy document must be version 2012-10-17 or greater."
#define MSG_LEGACY "The policy failed legacy parsing"
#define MSG_SID "Statement IDs (SID) in a single policy must be unique."
#define MSG_ACTIONS "Policy statement must contain actions."
#define MSG_RESOURCES "Policy statement must contain resources."
#define MSG_VENDOR "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
#define MSG_COLON "Actions/Condition can contain only one colon."
#define MSG_IDENTITY_PRINCIPAL "Policy document should not specify a principal."
#define MSG_NO_PRINCIPAL                                                                           \
    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in "   \
    "policy has a statement with no principals!"
#define MSG_IAM_PATH                                                                               \
    "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, " \
    "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, "            \
    "oidc-provider/, report/, access-report/."

/* ---- the compiled form (structures in policy_internal.h) --------------- */

/* Operator names are matched case-sensitively, as IAM does (moto vectors:
 * an unknown name with a non-empty block is a syntax error). */
const char *const tg_policy_op_names[OP_COUNT] = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
};

const char *const tg_policy_principal_type_names[PRINCIPAL_TYPE_COUNT] = {
    "AWS", "Federated", "Service", "CanonicalUser"};

/* ---- arena: a few large chunks, freed together ------------------------- */

struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
};

#define ARENA_ALIGN 16
#define CHUNK_HDR ((sizeof(struct chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
#define CHUNK_MIN 4096

struct arena {
    struct chunk *first;
    struct chunk *cur;
    size_t next_cap; /* size of the next chunk when one is needed */
};

static void arena_free(struct chunk *c)
{
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* Returns n zeroed bytes aligned to align (a power of two <= ARENA_ALIGN),
 * or NULL when out of memory. n is bounded by the document size limit. */
static void *arena_alloc(struct arena *a, size_t n, size_t align)
{
    if (a->cur != NULL) {
        size_t off = (a->cur->used + align - 1) & ~(align - 1);
        if (off <= a->cur->cap && a->cur->cap - off >= n) {
            a->cur->used = off + n;
            return (uint8_t *)a->cur + CHUNK_HDR + off;
        }
    }
    size_t cap = a->next_cap > n ? a->next_cap : n;
    struct chunk *c = calloc(1, CHUNK_HDR + cap);
    if (c == NULL) {
        return NULL;
    }
    c->cap = cap;
    c->used = n;
    if (a->cur != NULL) {
        a->cur->next = c;
    } else {
        a->first = c;
    }
    a->cur = c;
    return (uint8_t *)c + CHUNK_HDR;
}

#define ARENA_NEW(a, type, count) ((type *)arena_alloc((a), sizeof(type) * (count), _Alignof(type)))

/* ---- small byte helpers (inputs are (ptr, len) views) ------------------- */

static struct tg_cur jcur(const json_t *j)
{
    return tg_cur_make(json_string_value(j), json_string_length(j));
}

static bool cur_is(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    return c.len == n && (n == 0 || memcmp(c.ptr, lit, n) == 0);
}

static bool cur_prefix(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    return c.len >= n && memcmp(c.ptr, lit, n) == 0;
}

static bool cur_suffix(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    return c.len >= n && memcmp(c.ptr + c.len - n, lit, n) == 0;
}

static struct tg_cur cur_sub(struct tg_cur c, size_t from, size_t to)
{
    return tg_cur_make(c.ptr + from, to - from);
}

/* Index of the first ch at or after from, or c.len when there is none. */
static size_t cur_index(struct tg_cur c, uint8_t ch, size_t from)
{
    for (size_t i = from; i < c.len; i++) {
        if (c.ptr[i] == ch) {
            return i;
        }
    }
    return c.len;
}

static size_t cur_count(struct tg_cur c, uint8_t ch)
{
    size_t n = 0;
    for (size_t i = 0; i < c.len; i++) {
        n += c.ptr[i] == ch;
    }
    return n;
}

static bool cur_contains(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= c.len; i++) {
        if (memcmp(c.ptr + i, lit, n) == 0) {
            return true;
        }
    }
    return false;
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* lit is lower case ASCII. */
static bool cur_is_nocase(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    if (c.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(c.ptr[i]) != (uint8_t)lit[i]) {
            return false;
        }
    }
    return true;
}

/* Index of the first ASCII letter ch (given in lower case) in either case,
 * or c.len. */
static size_t cur_index_nocase(struct tg_cur c, uint8_t ch)
{
    for (size_t i = 0; i < c.len; i++) {
        if (ascii_lower(c.ptr[i]) == ch) {
            return i;
        }
    }
    return c.len;
}

/* Python's str ordering (code points), which for UTF-8 is byte order. */
static int cur_cmp(struct tg_cur a, struct tg_cur b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int r = n == 0 ? 0 : memcmp(a.ptr, b.ptr, n);
    if (r != 0) {
        return r;
    }
    return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

/* ---- errors -------------------------------------------------------------- */

static int fail(struct tg_error *err, const char *msg)
{
    return tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT, "%s", msg);
}

static int fail_detail(struct tg_error *err, const char *msg, const char *detail)
{
    (void)fail(err, msg);
    return tg_error_detail(err, "policy: %s", detail);
}

/* ---- the parse state -------------------------------------------------- */

/* Borrowed views of one statement's elements (NULL when absent). */
struct sview {
    json_t *sid, *effect, *principal, *not_principal, *action, *not_action, *resource,
        *not_resource, *condition;
};

struct check {
    enum tg_policy_kind kind;
    json_t *version, *id, *statement;
    struct sview *st; /* owned array of n views */
    size_t n;
    enum pol_version pv;
    /* IAM reports a badly formed resource ARN only after the Sid and Action
     * checks, and the one it reports is the last one found (moto
     * validate(): _resource_error is overwritten while scanning, lists in
     * reverse sorted order, vector invalid-026). */
    bool has_res_err;
    char res_err[TG_ERROR_MESSAGE_MAX];
};

/* ---- operator names --------------------------------------------------- */

struct opname {
    bool known;
    enum cond_op op;
    enum set_qual qual;
    bool if_exists;
};

/* "ForAnyValue:"/"ForAllValues:" prefix, then "IfExists" suffix, each
 * stripped at most once, then an exact name (spec 4.4). */
static struct opname opname_parse(struct tg_cur name)
{
    struct opname o = {false, OP_STRING_EQUALS, SQ_NONE, false};
    if (cur_prefix(name, "ForAnyValue:")) {
        o.qual = SQ_FOR_ANY_VALUE;
        name = cur_sub(name, strlen("ForAnyValue:"), name.len);
    } else if (cur_prefix(name, "ForAllValues:")) {
        o.qual = SQ_FOR_ALL_VALUES;
        name = cur_sub(name, strlen("ForAllValues:"), name.len);
    }
    if (cur_suffix(name, "IfExists")) {
        o.if_exists = true;
        name = cur_sub(name, 0, name.len - strlen("IfExists"));
    }
    for (size_t i = 0; i < OP_COUNT; i++) {
        if (cur_is(name, tg_policy_op_names[i])) {
            o.known = true;
            o.op = (enum cond_op)i;
            break;
        }
    }
    return o;
}

static bool op_is_date(enum cond_op op)
{
    return op >= OP_DATE_EQUALS && op <= OP_DATE_GREATER_THAN_EQUALS;
}

/* ---- 0. nesting pre-scan ------------------------------------------------ */

/* ---- 1. syntax ---------------------------------------------------------- */
/* Each returns NULL when fine, else the operator detail of a syntax error. */

static bool is_scalar(const json_t *j)
{
    return json_is_string(j) || json_is_integer(j) || json_is_real(j) || json_is_boolean(j);
}

/* A string or an array of strings. IAM accepts null items in Resource
 * lists (moto vector valid-042); they are ignored. */
static const char *syntax_str_list(const json_t *j, bool allow_null, const char *what)
{
    if (j == NULL || json_is_string(j)) {
        return NULL;
    }
    if (!json_is_array(j)) {
        return what;
    }
    if (json_array_size(j) > TG_POLICY_MAX_VALUES) {
        return "list longer than TG_POLICY_MAX_VALUES";
    }
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
        if (!json_is_string(v) && !(allow_null && json_is_null(v))) {
            return what;
        }
    }
    return NULL;
}

static const char *syntax_principal(const json_t *j)
{
    if (j == NULL || json_is_string(j)) {
        return NULL;
    }
    if (!json_is_object(j)) {
        return "Principal is neither a string nor an object";
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        const char *p = syntax_str_list(v, false, "Principal value is not a string or list");
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}

/* Condition: {operator: {key: scalar | [scalars]}} (spec 4.4). */
static const char *syntax_condition(const json_t *j)
{
    if (j == NULL) {
        return NULL;
    }
    if (!json_is_object(j)) {
        return "Condition is not an object";
    }
    const char *opk;
    json_t *block;
    json_object_foreach((json_t *)j, opk, block)
    {
        if (!json_is_object(block)) {
            return "condition operator block is not an object";
        }
        const char *key;
        json_t *val;
        json_object_foreach(block, key, val)
        {
            if (json_is_array(val)) {
                if (json_array_size(val) > TG_POLICY_MAX_VALUES) {
                    return "condition values longer than TG_POLICY_MAX_VALUES";
                }
                size_t i;
                json_t *item;
                json_array_foreach(val, i, item)
                {
                    if (!is_scalar(item)) {
                        return "condition value is not a string, number or boolean";
                    }
                }
            } else if (!is_scalar(val)) {
                return "condition value is not a string, number, boolean or list";
            }
        }
        struct opname o = opname_parse(tg_cur_make(opk, strlen(opk)));
        /* An unknown operator is tolerated only with an empty block (moto
         * vectors valid-020, invalid-053). */
        if (!o.known && json_object_size(block) != 0) {
            return "unknown condition operator";
        }
    }
    return NULL;
}

static const char *syntax_statement(json_t *s, struct sview *v)
{
    if (!json_is_object(s)) {
        return "statement is not an object";
    }
    memset(v, 0, sizeof(*v));
    const char *k;
    json_t *e;
    json_object_foreach(s, k, e)
    {
        if (strcmp(k, "Sid") == 0) {
            v->sid = e;
        } else if (strcmp(k, "Effect") == 0) {
            v->effect = e;
        } else if (strcmp(k, "Principal") == 0) {
            v->principal = e;
        } else if (strcmp(k, "NotPrincipal") == 0) {
            v->not_principal = e;
        } else if (strcmp(k, "Action") == 0) {
            v->action = e;
        } else if (strcmp(k, "NotAction") == 0) {
            v->not_action = e;
        } else if (strcmp(k, "Resource") == 0) {
            v->resource = e;
        } else if (strcmp(k, "NotResource") == 0) {
            v->not_resource = e;
        } else if (strcmp(k, "Condition") == 0) {
            v->condition = e;
        } else {
            return "unknown statement element";
        }
    }
    /* Grammar: Action xor NotAction, Resource xor NotResource, Principal
     * xor NotPrincipal (spec 4.1). */
    if ((v->action != NULL && v->not_action != NULL) ||
        (v->resource != NULL && v->not_resource != NULL) ||
        (v->principal != NULL && v->not_principal != NULL)) {
        return "both an element and its Not form";
    }
    /* Effect is checked case-insensitively here and case-sensitively in
     * the "legacy" pass, which is where IAM reports "denY" (invalid-064). */
    if (v->effect == NULL || !json_is_string(v->effect)) {
        return "Effect missing or not a string";
    }
    struct tg_cur eff = jcur(v->effect);
    if (!cur_is_nocase(eff, "allow") && !cur_is_nocase(eff, "deny")) {
        return "Effect is neither Allow nor Deny";
    }
    const char *p;
    if ((p = syntax_str_list(v->action, false, "Action is not a string or list")) != NULL ||
        (p = syntax_str_list(v->not_action, false, "NotAction is not a string or list")) != NULL ||
        (p = syntax_str_list(v->resource, true, "Resource is not a string or list")) != NULL ||
        (p = syntax_str_list(v->not_resource, true, "NotResource is not a string or list")) !=
            NULL ||
        (p = syntax_principal(v->principal)) != NULL ||
        (p = syntax_principal(v->not_principal)) != NULL ||
        (p = syntax_condition(v->condition)) != NULL) {
        return p;
    }
    if (v->sid != NULL && !json_is_string(v->sid)) {
        return "Sid is not a string";
    }
    return NULL;
}

/* The one "problem" of syntax_document that is ours, not the document's. */
static const char syntax_oom[] = "out of memory";

static const char *syntax_document(struct check *c, json_t *root)
{
    if (!json_is_object(root)) {
        return "document is not a JSON object";
    }
    const char *k;
    json_t *e;
    json_object_foreach(root, k, e)
    {
        if (strcmp(k, "Version") == 0) {
            c->version = e;
        } else if (strcmp(k, "Id") == 0) {
            c->id = e;
        } else if (strcmp(k, "Statement") == 0) {
            c->statement = e;
        } else {
            return "unknown top-level element";
        }
    }
    c->pv = PV_NONE;
    if (c->version != NULL) {
        if (!json_is_string(c->version)) {
            return "Version is not a string";
        }
        struct tg_cur v = jcur(c->version);
        if (cur_is(v, "2012-10-17")) {
            c->pv = PV_2012;
        } else if (cur_is(v, "2008-10-17")) {
            c->pv = PV_2008;
        } else {
            return "unknown Version";
        }
    }
    if (c->id != NULL && !json_is_string(c->id)) {
        return "Id is not a string";
    }
    if (c->statement == NULL) {
        return "no Statement";
    }
    size_t n;
    if (json_is_object(c->statement)) {
        n = 1;
    } else if (json_is_array(c->statement)) {
        n = json_array_size(c->statement);
    } else {
        return "Statement is neither an object nor a list";
    }
    if (n == 0) {
        return "empty Statement list";
    }
    if (n > TG_POLICY_MAX_STATEMENTS) {
        return "more statements than TG_POLICY_MAX_STATEMENTS";
    }
    c->st = calloc(n, sizeof(*c->st));
    if (c->st == NULL) {
        return syntax_oom;
    }
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_object(c->statement) ? c->statement : json_array_get(c->statement, i);
        const char *p = syntax_statement(s, &c->st[i]);
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}

/* ---- 4. legacy parsing: dates -------------------------------------------- */

/* Python int(): optional surrounding whitespace, optional sign, digits with
 * single underscores between them (IAM's date checks as moto reproduces
 * them use it). On success *v is the value, saturated outside int64. */
static bool py_int(struct tg_cur s, int64_t *v, bool *overflow)
{
    size_t i = 0;
    size_t end = s.len;
    while (i < end && (s.ptr[i] == ' ' || (s.ptr[i] >= '\t' && s.ptr[i] <= '\r'))) {
        i++;
    }
    while (end > i &&
           (s.ptr[end - 1] == ' ' || (s.ptr[end - 1] >= '\t' && s.ptr[end - 1] <= '\r'))) {
        end--;
    }
    bool neg = false;
    if (i < end && (s.ptr[i] == '+' || s.ptr[i] == '-')) {
        neg = s.ptr[i] == '-';
        i++;
    }
    if (i >= end) {
        return false;
    }
    const uint64_t limit = (uint64_t)INT64_MAX + 1;
    uint64_t mag = 0;
    bool prev_digit = false;
    *overflow = false;
    for (; i < end; i++) {
        uint8_t ch = s.ptr[i];
        if (ch == '_') {
            if (!prev_digit || i + 1 >= end || s.ptr[i + 1] < '0' || s.ptr[i + 1] > '9') {
                return false;
            }
            prev_digit = false;
            continue;
        }
        if (ch < '0' || ch > '9') {
            return false;
        }
        prev_digit = true;
        if (!*overflow) {
            if (mag > (limit - (uint64_t)(ch - '0')) / 10) {
                *overflow = true;
            } else {
                mag = mag * 10 + (uint64_t)(ch - '0');
            }
        }
    }
    if (*overflow || (!neg && mag > (uint64_t)INT64_MAX)) {
        *overflow = true;
        *v = neg ? INT64_MIN : INT64_MAX;
    } else if (neg) {
        *v = mag == limit ? INT64_MIN : -(int64_t)mag;
    } else {
        *v = (int64_t)mag;
    }
    return true;
}

static bool int_in(struct tg_cur s, int64_t lo, int64_t hi)
{
    int64_t v;
    bool of;
    return py_int(s, &v, &of) && !of && v >= lo && v <= hi;
}

/* The date forms IAM accepts (the checks moto reproduces): a W3C ISO 8601
 * profile with years -292275054..292278993, or epoch seconds
 * 0..2^63-1 (spec 4.4 Date). Letters are case-insensitive. */
static bool date_value_ok(struct tg_cur v)
{
    bool iso = cur_index_nocase(v, 't') < v.len || cur_index(v, '-', 0) < v.len;
    if (!iso) {
        return int_in(v, 0, INT64_MAX);
    }
    size_t t = cur_index_nocase(v, 't');
    struct tg_cur date = cur_sub(v, 0, t);
    struct tg_cur time = t < v.len ? cur_sub(v, t + 1, v.len) : cur_sub(v, v.len, v.len);

    bool neg_year = date.len > 0 && date.ptr[0] == '-';
    struct tg_cur d = neg_year ? cur_sub(date, 1, date.len) : date;
    size_t parts = cur_count(d, '-') + 1;
    size_t e0 = cur_index(d, '-', 0);
    struct tg_cur year = cur_sub(d, 0, e0);
    if (neg_year) {
        /* "-" + year: a sign or space after the '-' makes int() fail */
        int64_t y;
        bool of;
        if (year.len == 0 || year.ptr[0] < '0' || year.ptr[0] > '9' || !py_int(year, &y, &of) ||
            of || -y < -292275054) {
            return false;
        }
    } else if (!int_in(year, -292275054, 292278993)) {
        return false;
    }
    if (parts > 1) {
        size_t e1 = cur_index(d, '-', e0 + 1);
        if (!int_in(cur_sub(d, e0 + 1, e1), 1, 12)) {
            return false;
        }
        if (parts > 2) {
            size_t e2 = cur_index(d, '-', e1 + 1);
            if (!int_in(cur_sub(d, e1 + 1, e2), 1, 31)) {
                return false;
            }
        }
    }
    if (parts >= 4) {
        return false;
    }

    size_t c0 = cur_index(time, ':', 0);
    if (c0 > 0 && !int_in(cur_sub(time, 0, c0), 0, 23)) {
        return false;
    }
    if (c0 >= time.len) {
        return true;
    }
    size_t c1 = cur_index(time, ':', c0 + 1);
    if (!int_in(cur_sub(time, c0 + 1, c1), 0, 59)) {
        return false;
    }
    if (c1 >= time.len) {
        return true;
    }
    /* The third ':'-separated part holds seconds, fraction and zone; any
     * later part is not looked at. */
    struct tg_cur t2 = cur_sub(time, c1 + 1, cur_index(time, ':', c1 + 1));
    struct tg_cur sf;
    size_t z = cur_index_nocase(t2, 'z');
    size_t plus = cur_index(t2, '+', 0);
    if (z < t2.len) {
        sf = cur_sub(t2, 0, z);
        if (z + 1 != t2.len) {
            return false;
        }
    } else if (plus < t2.len) {
        sf = cur_sub(t2, 0, plus);
        struct tg_cur tzh = cur_sub(t2, plus + 1, t2.len);
        if (tzh.len != 2 || !int_in(tzh, 0, 23)) {
            return false;
        }
    } else {
        sf = t2;
    }
    size_t dot = cur_index(sf, '.', 0);
    if (!int_in(cur_sub(sf, 0, dot), 0, 59)) {
        return false;
    }
    if (dot < sf.len && !int_in(cur_sub(sf, dot + 1, sf.len), 0, 999999999)) {
        return false;
    }
    return true;
}

/* The text of a scalar condition value (spec 4.1: numbers and booleans are
 * the same as their quoted forms). buf holds numbers. */
static struct tg_cur scalar_text(const json_t *j, char *buf, size_t cap)
{
    if (json_is_string(j)) {
        return jcur(j);
    }
    if (json_is_true(j)) {
        return tg_cur_make("true", 4);
    }
    if (json_is_false(j)) {
        return tg_cur_make("false", 5);
    }
    int n = 0;
    if (json_is_integer(j)) {
        n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    } else {
        /* The shortest text that reads back as the same double, so 1.5
         * stays "1.5" rather than "1.50000000000000000". */
        double d = json_real_value(j);
        /* Whole numbers without an exponent: 1e3 is "1000", as a person
         * writing the policy would read it. */
        if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d) {
            n = snprintf(buf, cap, "%lld", (long long)d);
            return tg_cur_make(buf, n > 0 && (size_t)n < cap ? (size_t)n : 0);
        }
        for (int prec = 1; prec <= 17; prec++) {
            n = snprintf(buf, cap, "%.*g", prec, d);
            if (n > 0 && (size_t)n < cap && strtod(buf, NULL) == d) {
                break;
            }
        }
    }
    if (n < 0 || (size_t)n >= cap) {
        n = 0;
    }
    return tg_cur_make(buf, (size_t)n);
}

#define NUM_BUF 40

static bool dates_ok(const json_t *cond)
{
    if (cond == NULL) {
        return true;
    }
    const char *opk;
    json_t *block;
    json_object_foreach((json_t *)cond, opk, block)
    {
        struct opname o = opname_parse(tg_cur_make(opk, strlen(opk)));
        if (!o.known || !op_is_date(o.op)) {
            continue;
        }
        const char *key;
        json_t *val;
        json_object_foreach(block, key, val)
        {
            char buf[NUM_BUF];
            if (!json_is_array(val)) {
                if (!date_value_ok(scalar_text(val, buf, sizeof(buf)))) {
                    return false;
                }
                continue;
            }
            size_t i;
            json_t *item;
            json_array_foreach(val, i, item)
            {
                if (!date_value_ok(scalar_text(item, buf, sizeof(buf)))) {
                    return false;
                }
            }
        }
    }
    return true;
}

/* ---- 4. legacy parsing: resources ------------------------------------------ */

static const char *const iam_path_prefixes[] = {
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
};

static int cur_int(size_t n)
{
    return n > (size_t)TG_ERROR_MESSAGE_MAX ? TG_ERROR_MESSAGE_MAX : (int)n;
}

/* The ARN shape checks of IAM (spec 4.1; moto's _validate_resource_format).
 * Returns true and writes IAM's message when r is refused. */
static bool resource_error(struct tg_cur r, char *msg, size_t cap)
{
    if (cur_is(r, "*")) {
        return false;
    }
    size_t i1 = cur_index(r, ':', 0);
    if (i1 >= r.len) {
        snprintf(msg, cap, "Resource %.*s must be in ARN format or \"*\".", cur_int(r.len),
                 (const char *)r.ptr);
        return true;
    }
    struct tg_cur rest1 = cur_sub(r, i1 + 1, r.len);
    size_t i2 = cur_index(rest1, ':', 0);
    struct tg_cur partition = cur_sub(rest1, 0, i2);
    struct tg_cur rest2 = i2 < rest1.len ? cur_sub(rest1, i2 + 1, rest1.len) : cur_sub(r, 0, 0);
    if (!cur_is(partition, "aws") && !cur_is(partition, "*")) {
        /* IAM echoes the resource as a six-part ARN, filling missing parts
         * with '*' (vectors invalid-022..026). */
        size_t nparts = cur_count(rest2, ':') + 1;
        size_t s0 = cur_index(rest2, ':', 0);
        size_t s1 = s0 < rest2.len ? cur_index(rest2, ':', s0 + 1) : rest2.len;
        size_t s2 = s1 < rest2.len ? cur_index(rest2, ':', s1 + 1) : rest2.len;
        struct tg_cur star = tg_cur_make("*", 1);
        struct tg_cur a1 = cur_sub(rest2, 0, s0);
        if (a1.len == 0 && nparts == 1) {
            a1 = star;
        }
        struct tg_cur a2 = nparts > 1 ? cur_sub(rest2, s0 + 1, s1) : star;
        struct tg_cur a3 = nparts > 2 ? cur_sub(rest2, s1 + 1, s2) : star;
        struct tg_cur a4 = nparts > 3 ? cur_sub(rest2, s2 + 1, rest2.len) : star;
        snprintf(msg, cap,
                 "Partition \"%.*s\" is not valid for resource \"arn:%.*s:%.*s:%.*s:%.*s:%.*s\".",
                 cur_int(partition.len), (const char *)partition.ptr, cur_int(partition.len),
                 (const char *)partition.ptr, cur_int(a1.len), (const char *)a1.ptr,
                 cur_int(a2.len), (const char *)a2.ptr, cur_int(a3.len), (const char *)a3.ptr,
                 cur_int(a4.len), (const char *)a4.ptr);
        return true;
    }
    if (i2 >= rest1.len) {
        snprintf(msg, cap, "Resource vendor must be fully qualified and cannot contain regexes.");
        return true;
    }
    size_t i3 = cur_index(rest2, ':', 0);
    struct tg_cur service = cur_sub(rest2, 0, i3);
    struct tg_cur region_rest =
        i3 < rest2.len ? cur_sub(rest2, i3 + 1, rest2.len) : cur_sub(r, 0, 0);
    size_t i4 = cur_index(region_rest, ':', 0);
    struct tg_cur account_rest =
        i4 < region_rest.len ? cur_sub(region_rest, i4 + 1, region_rest.len) : cur_sub(r, 0, 0);
    size_t i5 = cur_index(account_rest, ':', 0);
    struct tg_cur path =
        i5 < account_rest.len ? cur_sub(account_rest, i5 + 1, account_rest.len) : cur_sub(r, 0, 0);
    bool is_iam = cur_is(service, "iam");
    bool is_s3 = cur_is(service, "s3");
    bool has_region = region_rest.len == 0 || region_rest.ptr[0] != ':';
    /* IAM and S3 bucket ARNs are global; S3 access points are regional
     * (moto vector valid-054). */
    if (is_iam && has_region) {
        snprintf(msg, cap, "IAM resource %.*s cannot contain region information.", cur_int(r.len),
                 (const char *)r.ptr);
        return true;
    }
    if (is_s3 && has_region && !cur_prefix(path, "accesspoint/")) {
        snprintf(msg, cap, "Resource %.*s can not contain region information.", cur_int(r.len),
                 (const char *)r.ptr);
        return true;
    }
    if (is_iam) {
        bool ok = cur_is(path, "*") || cur_is(path, "root");
        for (size_t k = 0; !ok && k < TG_ARRAY_LEN(iam_path_prefixes); k++) {
            ok = cur_prefix(path, iam_path_prefixes[k]);
        }
        if (!ok) {
            snprintf(msg, cap, "%s", MSG_IAM_PATH);
            return true;
        }
    }
    return false;
}

/* The older parser's rule: an ARN with "::" needs all six parts, and the
 * service part must not be empty (vectors invalid-037, -069, -078). */
static bool legacy_resource_ok(struct tg_cur r)
{
    if (cur_is(r, "*")) {
        return true;
    }
    if (cur_count(r, ':') < 5 && cur_contains(r, "::")) {
        return false;
    }
    size_t a = cur_index(r, ':', 0);
    if (a >= r.len) {
        return false;
    }
    size_t b = cur_index(r, ':', a + 1);
    if (b >= r.len) {
        return false;
    }
    size_t e = cur_index(r, ':', b + 1);
    return e > b + 1;
}

/* One pass over Resource (or NotResource) of every statement. Returns
 * false on a legacy parsing failure. */
static bool resources_pass(struct check *c, bool negated)
{
    char tmp[TG_ERROR_MESSAGE_MAX];
    for (size_t i = 0; i < c->n; i++) {
        json_t *j = negated ? c->st[i].not_resource : c->st[i].resource;
        if (j == NULL) {
            continue;
        }
        if (json_is_string(j)) {
            if (resource_error(jcur(j), tmp, sizeof(tmp))) {
                memcpy(c->res_err, tmp, sizeof(tmp));
                c->has_res_err = true;
            }
        } else {
            /* The list is scanned in reverse sorted order and the last
             * error is kept: the error of the smallest bad resource. */
            bool found = false;
            struct tg_cur best = {NULL, 0};
            size_t k;
            json_t *item;
            json_array_foreach(j, k, item)
            {
                if (!json_is_string(item)) {
                    continue;
                }
                struct tg_cur r = jcur(item);
                if ((!found || cur_cmp(r, best) < 0) && resource_error(r, tmp, sizeof(tmp))) {
                    memcpy(c->res_err, tmp, sizeof(tmp));
                    found = true;
                    best = r;
                }
            }
            if (found) {
                c->has_res_err = true;
            }
        }
        if (c->has_res_err) {
            continue;
        }
        if (json_is_string(j)) {
            if (!legacy_resource_ok(jcur(j))) {
                return false;
            }
        } else {
            size_t k;
            json_t *item;
            json_array_foreach(j, k, item)
            {
                if (json_is_string(item) && !legacy_resource_ok(jcur(item))) {
                    return false;
                }
            }
        }
    }
    return true;
}

/* ---- 5. actions ----------------------------------------------------------- */

/* "vendor:action" with one colon and a vendor of [A-Za-z0-9.-], or "*"
 * (spec 4.3). Returns 0 or fails with IAM's message. */
static TG_MUST_USE int action_check(struct tg_cur a, struct tg_error *err)
{
    size_t colons = cur_count(a, ':');
    if (colons == 0 && !cur_is(a, "*")) {
        return fail(err, MSG_VENDOR);
    }
    if (colons > 1) {
        return fail(err, MSG_COLON);
    }
    struct tg_cur vendor = cur_sub(a, 0, cur_index(a, ':', 0));
    if (cur_is(vendor, "*")) {
        return 0;
    }
    for (size_t i = 0; i < vendor.len; i++) {
        uint8_t ch = vendor.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
        if (!ok) {
            return tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT, "Vendor %.*s is not valid",
                                cur_int(vendor.len), (const char *)vendor.ptr);
        }
    }
    return 0;
}

static TG_MUST_USE int actions_pass(struct check *c, bool negated, struct tg_error *err)
{
    for (size_t i = 0; i < c->n; i++) {
        json_t *j = negated ? c->st[i].not_action : c->st[i].action;
        if (j == NULL) {
            continue;
        }
        if (json_is_string(j)) {
            TG_GUARD(action_check(jcur(j), err));
            continue;
        }
        size_t k;
        json_t *item;
        json_array_foreach(j, k, item)
        {
            TG_GUARD(action_check(jcur(item), err));
        }
    }
    return 0;
}

/* Present, and not an empty list (moto _validate_action_like_exist). */
static bool list_present(const json_t *pos, const json_t *neg)
{
    if (pos == NULL && neg == NULL) {
        return false;
    }
    const json_t *j = pos != NULL ? pos : neg;
    return !json_is_array(j) || json_array_size(j) > 0;
}

/* ---- 6. principals (spec 4.2) ------------------------------------------- */

static int principal_invalid(struct tg_error *err, const char *key, struct tg_cur v)
{
    if (key == NULL) {
        return tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT,
                            "Invalid principal in policy: \"%.*s\"", cur_int(v.len),
                            (const char *)v.ptr);
    }
    return tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT,
                        "Invalid principal in policy: \"%s\":\"%.*s\"", key, cur_int(v.len),
                        (const char *)v.ptr);
}

static bool principal_type_of(const char *key, enum principal_type *t)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(tg_policy_principal_type_names); i++) {
        if (strcmp(key, tg_policy_principal_type_names[i]) == 0) {
            *t = (enum principal_type)i;
            return true;
        }
    }
    return false;
}

static bool all_digits(struct tg_cur v)
{
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') {
            return false;
        }
    }
    return true;
}

/* No partial wildcards, the lone "*" only for AWS, and an AWS principal is
 * an account id or an ARN (spec 4.2). */
static bool principal_value_ok(enum principal_type t, struct tg_cur v)
{
    if (v.len == 0) {
        return false;
    }
    if (cur_is(v, "*")) {
        return t == PR_AWS;
    }
    if (cur_index(v, '*', 0) < v.len) {
        return false;
    }
    if (t == PR_AWS) {
        return (v.len == 12 && all_digits(v)) || cur_prefix(v, "arn:");
    }
    return true;
}

static TG_MUST_USE int principal_check(const json_t *j, struct tg_error *err)
{
    if (json_is_string(j)) {
        if (!cur_is(jcur(j), "*")) {
            return principal_invalid(err, NULL, jcur(j));
        }
        return 0;
    }
    size_t total = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val)
    {
        enum principal_type t;
        bool known = principal_type_of(key, &t);
        size_t n = json_is_array(val) ? json_array_size(val) : 1;
        for (size_t i = 0; i < n; i++) {
            const json_t *item = json_is_array(val) ? json_array_get(val, i) : val;
            if (!known || !principal_value_ok(t, jcur(item))) {
                return principal_invalid(err, key, jcur(item));
            }
        }
        if (!known && n == 0) {
            return principal_invalid(err, key, tg_cur_make("", 0));
        }
        total += n;
    }
    if (total == 0) {
        return fail(err, MSG_NO_PRINCIPAL);
    }
    return 0;
}

/* ---- build --------------------------------------------------------------- */

static TG_MUST_USE int pstr_dup(struct arena *a, struct tg_cur c, bool lower, struct pstr *out)
{
    char *s = ARENA_NEW(a, char, c.len + 1);
    if (s == NULL) {
        return -1;
    }
    for (size_t i = 0; i < c.len; i++) {
        s[i] = lower ? (char)ascii_lower(c.ptr[i]) : (char)c.ptr[i];
    }
    s[c.len] = '\0';
    out->s = s;
    out->len = c.len;
    return 0;
}

static TG_MUST_USE int pattern_make(struct arena *a, struct tg_cur c, bool lower,
                                    enum pol_version pv, struct pattern *out)
{
    TG_GUARD(pstr_dup(a, c, lower, &out->text));
    out->flags = 0;
    if (cur_index(c, '*', 0) < c.len || cur_index(c, '?', 0) < c.len) {
        out->flags |= PAT_WILD;
    }
    /* Variables exist only in 2012-10-17 policies (spec 4.4 Policy
     * variables); elsewhere "${" is literal text. */
    if (pv == PV_2012 && cur_contains(c, "${")) {
        out->flags |= PAT_VAR;
    }
    return 0;
}

/* A string or list of strings (nulls skipped) into patterns. */
static TG_MUST_USE int patterns_make(struct arena *a, const json_t *j, bool lower,
                                     enum pol_version pv, struct pattern **out, size_t *n_out)
{
    size_t n = 0;
    if (json_is_string(j)) {
        n = 1;
    } else {
        size_t k;
        json_t *item;
        json_array_foreach(j, k, item)
        {
            n += json_is_string(item);
        }
    }
    *n_out = n;
    *out = NULL;
    if (n == 0) {
        return 0;
    }
    struct pattern *p = ARENA_NEW(a, struct pattern, n);
    if (p == NULL) {
        return -1;
    }
    if (json_is_string(j)) {
        TG_GUARD(pattern_make(a, jcur(j), lower, pv, &p[0]));
    } else {
        size_t k;
        size_t m = 0;
        json_t *item;
        json_array_foreach(j, k, item)
        {
            if (json_is_string(item)) {
                TG_GUARD(pattern_make(a, jcur(item), lower, pv, &p[m++]));
            }
        }
    }
    *out = p;
    return 0;
}

static TG_MUST_USE int principals_make(struct arena *a, const json_t *j, struct statement *st)
{
    if (json_is_string(j)) {
        st->principals = ARENA_NEW(a, struct principal, 1);
        if (st->principals == NULL) {
            return -1;
        }
        st->n_principals = 1;
        st->principals[0].type = PR_AWS;
        return pstr_dup(a, jcur(j), false, &st->principals[0].value);
    }
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val)
    {
        n += json_is_array(val) ? json_array_size(val) : 1;
    }
    if (n == 0) {
        return 0;
    }
    st->principals = ARENA_NEW(a, struct principal, n);
    if (st->principals == NULL) {
        return -1;
    }
    size_t m = 0;
    json_object_foreach((json_t *)j, key, val)
    {
        enum principal_type t = PR_AWS;
        (void)principal_type_of(key, &t); /* checked before */
        size_t cnt = json_is_array(val) ? json_array_size(val) : 1;
        for (size_t i = 0; i < cnt; i++) {
            const json_t *item = json_is_array(val) ? json_array_get(val, i) : val;
            st->principals[m].type = t;
            TG_GUARD(pstr_dup(a, jcur(item), false, &st->principals[m].value));
            m++;
        }
    }
    st->n_principals = m;
    return 0;
}

static TG_MUST_USE int conditions_make(struct arena *a, const json_t *j, enum pol_version pv,
                                       struct statement *st)
{
    size_t n = 0;
    const char *opk;
    json_t *block;
    json_object_foreach((json_t *)j, opk, block)
    {
        n += json_object_size(block); /* unknown operators have empty blocks */
    }
    if (n == 0) {
        return 0;
    }
    st->conditions = ARENA_NEW(a, struct condition, n);
    if (st->conditions == NULL) {
        return -1;
    }
    size_t m = 0;
    json_object_foreach((json_t *)j, opk, block)
    {
        struct opname o = opname_parse(tg_cur_make(opk, strlen(opk)));
        const char *key;
        json_t *val;
        json_object_foreach(block, key, val)
        {
            struct condition *cd = &st->conditions[m++];
            cd->op = o.op;
            cd->qual = o.qual;
            cd->if_exists = o.if_exists;
            struct tg_cur kc = tg_cur_make(key, strlen(key));
            TG_GUARD(pstr_dup(a, kc, false, &cd->key));
            TG_GUARD(pstr_dup(a, kc, true, &cd->key_lower));
            size_t nv = json_is_array(val) ? json_array_size(val) : 1;
            cd->n_values = nv;
            if (nv == 0) {
                continue;
            }
            cd->values = ARENA_NEW(a, struct pattern, nv);
            if (cd->values == NULL) {
                return -1;
            }
            for (size_t i = 0; i < nv; i++) {
                const json_t *item = json_is_array(val) ? json_array_get(val, i) : val;
                char buf[NUM_BUF];
                TG_GUARD(pattern_make(a, scalar_text(item, buf, sizeof(buf)), false, pv,
                                      &cd->values[i]));
            }
        }
    }
    st->n_conditions = m;
    return 0;
}

static TG_MUST_USE int statement_make(struct arena *a, const struct sview *v, size_t index,
                                      enum pol_version pv, struct statement *st)
{
    st->index = index;
    if (v->sid != NULL) {
        st->has_sid = true;
        TG_GUARD(pstr_dup(a, jcur(v->sid), false, &st->sid));
    }
    st->allow = cur_is(jcur(v->effect), "Allow");
    if (v->principal != NULL || v->not_principal != NULL) {
        st->principal_kind = v->principal != NULL ? PK_PRINCIPAL : PK_NOT_PRINCIPAL;
        TG_GUARD(principals_make(a, v->principal != NULL ? v->principal : v->not_principal, st));
    }
    if (v->action != NULL || v->not_action != NULL) {
        st->action_kind = v->action != NULL ? LK_POSITIVE : LK_NEGATED;
        TG_GUARD(patterns_make(a, v->action != NULL ? v->action : v->not_action, true, pv,
                               &st->actions, &st->n_actions));
        /* Variables are not substituted in actions. */
        for (size_t i = 0; i < st->n_actions; i++) {
            st->actions[i].flags &= ~PAT_VAR;
        }
    }
    if (v->resource != NULL || v->not_resource != NULL) {
        st->resource_kind = v->resource != NULL ? LK_POSITIVE : LK_NEGATED;
        TG_GUARD(patterns_make(a, v->resource != NULL ? v->resource : v->not_resource, false, pv,
                               &st->resources, &st->n_resources));
    }
    if (v->condition != NULL) {
        TG_GUARD(conditions_make(a, v->condition, pv, st));
    }
    return 0;
}

static TG_MUST_USE int policy_build(const struct check *c, size_t doc_len, struct tg_policy **out)
{
    /* Strings take at most the document's bytes twice (originals and
     * lower-cased copies), so one chunk usually holds the whole policy. */
    struct arena a = {NULL, NULL, 2 * doc_len + CHUNK_MIN};
    struct tg_policy *p = ARENA_NEW(&a, struct tg_policy, 1);
    if (p == NULL) {
        goto oom;
    }
    a.next_cap = doc_len + CHUNK_MIN;
    p->kind = c->kind;
    p->version = c->pv;
    if (c->id != NULL) {
        p->has_id = true;
        if (pstr_dup(&a, jcur(c->id), false, &p->id) < 0) {
            goto oom;
        }
    }
    p->statements = ARENA_NEW(&a, struct statement, c->n);
    if (p->statements == NULL) {
        goto oom;
    }
    p->n_statements = c->n;
    for (size_t i = 0; i < c->n; i++) {
        if (statement_make(&a, &c->st[i], i, c->pv, &p->statements[i]) < 0) {
            goto oom;
        }
    }
    p->mem = a.first;
    *out = p;
    return 0;
oom:
    arena_free(a.first);
    return -1;
}

/* ---- where the statements stand ------------------------------------------- */

/* Advances (line, col) from byte from to byte to of text. */
static void advance_pos(struct tg_cur text, size_t from, size_t to, struct tg_policy_pos *pos)
{
    uint32_t l = 1, c = 1;
    tg_json_line_col(tg_cur_make(text.ptr + from, text.len - from), to - from, &l, &c);
    if (l > 1) {
        pos->line += l - 1;
        pos->column = c;
    } else {
        pos->column += c - 1;
    }
}

/* Fills the start and end of every statement (for MatchedStatements and
 * the linter); on a text the scanner cannot follow they stay 0:0. */
static void statement_positions(const uint8_t *doc, size_t len, struct tg_policy *p)
{
    static const char *const path[] = {"Statement"};
    struct tg_cur text = tg_cur_make(doc, len), st;
    if (p->n_statements == 0 || tg_json_locate(text, path, 1, &st) < 0) {
        return;
    }
    struct tg_cur one = st;
    struct tg_cur *items = &one;
    size_t n = 1;
    if (st.len > 0 && st.ptr[0] == '[') {
        items = malloc(p->n_statements * sizeof(*items));
        if (items == NULL || tg_json_array_spans(st, items, p->n_statements, &n) < 0 ||
            n != p->n_statements) {
            free(items);
            return;
        }
    } else if (p->n_statements != 1) {
        return;
    }
    struct tg_policy_pos pos = {1, 1};
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = (size_t)(items[i].ptr - doc);
        advance_pos(text, at, off, &pos);
        p->statements[i].start = pos;
        advance_pos(text, off, off + items[i].len, &pos);
        p->statements[i].end = pos;
        at = off + items[i].len;
    }
    if (items != &one) {
        free(items);
    }
}

void tg_policy_statement_span(const struct tg_policy *p, size_t i, struct tg_policy_pos *start,
                              struct tg_policy_pos *end)
{
    static const struct tg_policy_pos none = {0, 0};
    const struct statement *st = p != NULL && i < p->n_statements ? &p->statements[i] : NULL;
    *start = st != NULL ? st->start : none;
    *end = st != NULL ? st->end : none;
}

/* ---- the checks, in IAM's order ----------------------------------------- */

static TG_MUST_USE int check_kind(const struct check *c, struct tg_error *err)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct sview *v = &c->st[i];
        bool has_principal = v->principal != NULL || v->not_principal != NULL;
        if (c->kind != TG_POLICY_TRUST) {
            if (has_principal) {
                return fail(err, MSG_IDENTITY_PRINCIPAL);
            }
            continue;
        }
        /* A trust policy's resource is the role itself (spec 4.1, 4.3). */
        if (v->resource != NULL) {
            return fail(err, "Has prohibited field Resource");
        }
        if (v->not_resource != NULL) {
            return fail(err, "Has prohibited field NotResource");
        }
        if (!has_principal) {
            return fail(err, MSG_NO_PRINCIPAL);
        }
    }
    return 0;
}

static TG_MUST_USE int check_document(struct check *c, struct tg_error *err)
{
    /* 2. Version. Managed, inline and session policies as CreatePolicy
     * checks them; trust policies may omit Version or use 2008-10-17
     * (variables are then literal, spec 4.1). */
    if (c->kind != TG_POLICY_TRUST && c->pv != PV_2012) {
        return fail(err, MSG_VERSION);
    }
    /* 3. */
    TG_GUARD(check_kind(c, err));
    /* 4. legacy parsing: Effect exactly "Allow"/"Deny", Date values, then
     * every Resource and every NotResource. */
    for (size_t i = 0; i < c->n; i++) {
        struct tg_cur eff = jcur(c->st[i].effect);
        if (!cur_is(eff, "Allow") && !cur_is(eff, "Deny")) {
            return fail(err, MSG_LEGACY);
        }
        if (!dates_ok(c->st[i].condition)) {
            return fail(err, MSG_LEGACY);
        }
    }
    if (!resources_pass(c, false) || !resources_pass(c, true)) {
        return fail(err, MSG_LEGACY);
    }
    /* 5. Sids: non-empty ones are unique (case-sensitive). */
    for (size_t i = 0; i < c->n; i++) {
        if (c->st[i].sid == NULL || json_string_length(c->st[i].sid) == 0) {
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if (c->st[k].sid != NULL && cur_cmp(jcur(c->st[k].sid), jcur(c->st[i].sid)) == 0) {
                return fail(err, MSG_SID);
            }
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        if (!list_present(c->st[i].action, c->st[i].not_action)) {
            return fail(err, MSG_ACTIONS);
        }
    }
    if (c->has_res_err) {
        return fail(err, c->res_err);
    }
    TG_GUARD(actions_pass(c, false, err));
    TG_GUARD(actions_pass(c, true, err));
    if (c->kind != TG_POLICY_TRUST) {
        for (size_t i = 0; i < c->n; i++) {
            if (!list_present(c->st[i].resource, c->st[i].not_resource)) {
                return fail(err, MSG_RESOURCES);
            }
        }
        return 0;
    }
    /* 6. */
    for (size_t i = 0; i < c->n; i++) {
        const json_t *pj = c->st[i].principal != NULL ? c->st[i].principal : c->st[i].not_principal;
        TG_GUARD(principal_check(pj, err));
    }
    return 0;
}

int tg_policy_parse(const uint8_t *doc, size_t len, enum tg_policy_kind kind,
                    struct tg_policy **out, struct tg_error *err)
{
    int rc = -1;
    json_t *root = NULL;
    struct check c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    *out = NULL;

    if (kind != TG_POLICY_TRUST && kind != TG_POLICY_IDENTITY && kind != TG_POLICY_SESSION) {
        rc = tg_error_set(err, TG_E_INTERNAL_FAILURE, "unknown policy kind");
        goto out;
    }
    if (doc == NULL || len == 0) {
        rc = fail_detail(err, MSG_SYNTAX, "empty document");
        goto out;
    }
    /* IAM counts characters; each allowed one (up to U+00FF) is at most two
     * bytes of UTF-8. */
    if (len > 2 * (size_t)TG_POLICY_MAX_DOCUMENT) {
        rc = fail_detail(err, MSG_SYNTAX, "document larger than 2 x TG_POLICY_MAX_DOCUMENT bytes");
        goto out;
    }
    if (!tg_json_depth_ok(doc, len, TG_JSON_MAX_DEPTH)) {
        rc = fail_detail(err, MSG_SYNTAX, "JSON nested deeper than TG_JSON_MAX_DEPTH");
        goto out;
    }
    json_error_t jerr;
    /* Duplicate keys are refused: AWS silently keeps one of them, which
     * has let trust conditions vanish unnoticed (spec 4.1). The whole input
     * must be one JSON value (no JSON_DISABLE_EOF_CHECK). */
    root = json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        (void)fail(err, MSG_SYNTAX);
        rc = tg_error_detail(err, "policy: JSON: %s at offset %d", jerr.text, jerr.position);
        goto out;
    }
    const char *problem = syntax_document(&c, root);
    if (problem == syntax_oom) {
        rc = tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
        goto out;
    }
    if (problem != NULL) {
        rc = fail_detail(err, MSG_SYNTAX, problem);
        goto out;
    }
    if (check_document(&c, err) < 0) {
        goto out;
    }
    if (policy_build(&c, len, out) < 0) {
        rc = tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
        goto out;
    }
    statement_positions(doc, len, *out);
    rc = 0;
out:
    free(c.st);
    json_decref(root);
    return rc;
}

void tg_policy_free(struct tg_policy *p)
{
    if (p != NULL) {
        arena_free(p->mem);
    }
}

size_t tg_policy_statement_count(const struct tg_policy *p)
{
    return p != NULL ? p->n_statements : 0;
}

/* ---- sizes and characters (spec 4.6) ------------------------------------- */

size_t tg_policy_size(const uint8_t *doc, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = doc[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        /* one per code point: count every byte but UTF-8 continuations */
        if ((c & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

bool tg_policy_chars_valid(const uint8_t *doc, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = doc[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                return false;
            }
            continue;
        }
        /* U+0080..U+00FF are the two-byte sequences C2 80 .. C3 BF; any
         * other lead byte is either a higher code point or not UTF-8. */
        if ((c != 0xC2 && c != 0xC3) || i + 1 >= len || (doc[i + 1] & 0xC0) != 0x80) {
            return false;
        }
        i++;
    }
    return true;
}

/* ---- introspection ----------------------------------------------------------
 * The compiled form as JSON, for tests and for the CLI's policy check (not
 * yet declared in policy.h). Returns a new reference (json_decref), NULL on
 * out of memory. */

static json_t *jstr_of(struct pstr s)
{
    return json_stringn(s.s, s.len);
}

static json_t *patterns_json(const struct pattern *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_array_append_new(arr, jstr_of(v[i].text));
    }
    return arr;
}

json_t *tg_policy_to_json(const struct tg_policy *p)
{
    static const char *const versions[] = {NULL, "2008-10-17", "2012-10-17"};
    static const char *const quals[] = {NULL, "ForAnyValue", "ForAllValues"};
    json_t *root = json_object();
    json_t *stmts = json_array();
    if (root == NULL || stmts == NULL) {
        json_decref(root);
        json_decref(stmts);
        return NULL;
    }
    json_object_set_new(root, "version",
                        versions[p->version] ? json_string(versions[p->version]) : json_null());
    json_object_set_new(root, "id", p->has_id ? jstr_of(p->id) : json_null());
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        json_t *s = json_object();
        json_object_set_new(s, "sid", st->has_sid ? jstr_of(st->sid) : json_null());
        json_object_set_new(s, "effect", json_string(st->allow ? "Allow" : "Deny"));
        if (st->principal_kind != PK_NONE) {
            json_t *pr = json_array();
            for (size_t k = 0; k < st->n_principals; k++) {
                json_t *e = json_object();
                json_object_set_new(
                    e, "type", json_string(tg_policy_principal_type_names[st->principals[k].type]));
                json_object_set_new(e, "value", jstr_of(st->principals[k].value));
                json_array_append_new(pr, e);
            }
            json_object_set_new(
                s, st->principal_kind == PK_PRINCIPAL ? "Principal" : "NotPrincipal", pr);
        }
        bool wild = false;
        for (size_t k = 0; k < st->n_actions; k++) {
            wild = wild || (st->actions[k].flags & PAT_WILD) != 0;
        }
        if (st->action_kind != LK_NONE) {
            json_object_set_new(s, st->action_kind == LK_POSITIVE ? "Action" : "NotAction",
                                patterns_json(st->actions, st->n_actions));
            json_object_set_new(s, "actions_wild", json_boolean(wild));
        }
        if (st->resource_kind != LK_NONE) {
            bool vars = false;
            for (size_t k = 0; k < st->n_resources; k++) {
                vars = vars || (st->resources[k].flags & PAT_VAR) != 0;
            }
            json_object_set_new(s, st->resource_kind == LK_POSITIVE ? "Resource" : "NotResource",
                                patterns_json(st->resources, st->n_resources));
            json_object_set_new(s, "resources_vars", json_boolean(vars));
        }
        json_t *conds = json_array();
        for (size_t k = 0; k < st->n_conditions; k++) {
            const struct condition *cd = &st->conditions[k];
            json_t *e = json_object();
            json_object_set_new(e, "operator", json_string(tg_policy_op_names[cd->op]));
            json_object_set_new(e, "qualifier",
                                quals[cd->qual] ? json_string(quals[cd->qual]) : json_null());
            json_object_set_new(e, "if_exists", json_boolean(cd->if_exists));
            json_object_set_new(e, "key", jstr_of(cd->key));
            json_object_set_new(e, "key_lower", jstr_of(cd->key_lower));
            json_object_set_new(e, "values", patterns_json(cd->values, cd->n_values));
            json_array_append_new(conds, e);
        }
        json_object_set_new(s, "conditions", conds);
        json_array_append_new(stmts, s);
    }
    json_object_set_new(root, "statements", stmts);
    return root;
}
