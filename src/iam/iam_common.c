/*
 * iam_common: parameter validation, tags, paging and document helpers
 * shared by the IAM action files (iam_internal.h). Pure.
 *
 * Validation messages follow the form AWS (and moto, which mirrors it)
 * uses for constraint violations of the bc-iam model (spec 7):
 *   "1 validation error detected: Value 'v' at 'field' failed to satisfy
 *    constraint: Member must ..."
 * Only the first violation is reported (AWS lists all; "2 validation errors
 * detected: A; B"), which clients treat the same way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"
#include "policy/policy.h"

#define VALIDATION_PREFIX "1 validation error detected: "

/* ---- errors ---------------------------------------------------------------- */

void tg_iam_echo(struct tg_cur v, char out[TG_IAM_ECHO_MAX + 4])
{
    if (!tg_utf8_valid(v)) {
        snprintf(out, TG_IAM_ECHO_MAX + 4, "(invalid UTF-8)");
        return;
    }
    size_t n = v.len;
    bool cut = false;
    if (n > TG_IAM_ECHO_MAX) {
        n = TG_IAM_ECHO_MAX;
        /* Back up to the first byte of a character (not 10xxxxxx). */
        while (n > 0 && (v.ptr[n] & 0xC0) == 0x80) {
            n--;
        }
        cut = true;
    }
    memcpy(out, v.ptr, n);
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

int tg_iam_value_error(struct tg_error *err, struct tg_cur v, const char *field,
                       const char *constraint)
{
    char e[TG_IAM_ECHO_MAX + 4];
    tg_iam_echo(v, e);
    return tg_error_set(err, TG_E_VALIDATION_ERROR,
                        VALIDATION_PREFIX "Value '%s' at '%s' failed to satisfy constraint: %s", e,
                        field, constraint);
}

int tg_iam_pattern_error(struct tg_error *err, struct tg_cur v, const char *field,
                         const char *pattern)
{
    char c[160];
    snprintf(c, sizeof(c), "Member must satisfy regular expression pattern: %s", pattern);
    return tg_iam_value_error(err, v, field, c);
}

int tg_iam_null_error(struct tg_error *err, const char *field)
{
    return tg_error_set(err, TG_E_VALIDATION_ERROR,
                        VALIDATION_PREFIX "Value null at '%s' failed to satisfy constraint: "
                                          "Member must not be null",
                        field);
}

int tg_iam_service_failure(struct tg_error *err, const char *what)
{
    tg_error_code(err, TG_E_SERVICE_FAILURE);
    return tg_error_detail(err, "iam: %s", what);
}

/* ---- parameters ----------------------------------------------------------- */

int tg_iam_param_required(const struct tg_form *in, const char *name, const char *field,
                          struct tg_cur *out, struct tg_error *err)
{
    const struct tg_cur *v = tg_form_get(in, name);
    if (v == NULL) {
        return tg_iam_null_error(err, field);
    }
    *out = *v;
    return 0;
}

void tg_iam_param_optional(const struct tg_form *in, const char *name, struct tg_cur *out,
                           bool *present)
{
    const struct tg_cur *v = tg_form_get(in, name);
    *present = v != NULL;
    *out = v != NULL ? *v : tg_cur_make("", 0);
}

int tg_iam_check_length(struct tg_cur v, const char *field, size_t min, size_t max,
                        struct tg_error *err)
{
    if (!tg_utf8_valid(v)) {
        return tg_iam_value_error(err, v, field, "Member must contain only valid UTF-8 characters");
    }
    size_t n = tg_utf8_len(v);
    char c[96];
    if (n < min) {
        snprintf(c, sizeof(c), "Member must have length greater than or equal to %zu", min);
        return tg_iam_value_error(err, v, field, c);
    }
    if (n > max) {
        snprintf(c, sizeof(c), "Member must have length less than or equal to %zu", max);
        return tg_iam_value_error(err, v, field, c);
    }
    return 0;
}

static bool is_word(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int tg_iam_check_chars(struct tg_cur v, const char *field, const char *extra, const char *pattern,
                       struct tg_error *err)
{
    /* Java's \w (the service's regex engine) is ASCII-only unless asked
     * otherwise, so any byte >= 0x80 fails too. */
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        if (is_word(c)) {
            continue;
        }
        if (c != 0 && c < 0x80 && extra != NULL && strchr(extra, c) != NULL) {
            continue;
        }
        return tg_iam_pattern_error(err, v, field, pattern);
    }
    return 0;
}

/* roleNameType and policyNameType (bc-iam): [\w+=,.@-]+ */
int tg_iam_param_name(const struct tg_form *in, const char *name, const char *field, size_t max,
                      struct tg_cur *out, struct tg_error *err)
{
    TG_GUARD(tg_iam_param_required(in, name, field, out, err));
    TG_GUARD(tg_iam_check_length(*out, field, 1, max, err));
    TG_GUARD(tg_iam_check_chars(*out, field, "+=,.@-", "[\\w+=,.@-]+", err));
    return 0;
}

int tg_iam_check_path(struct tg_cur v, const char *field, struct tg_error *err)
{
    /* bc-iam pathType: length 1..512, pattern (\u002F)|(\u002F[\u0021-\u007E]+\u002F) */
    TG_GUARD(tg_iam_check_length(v, field, 1, TG_IAM_MAX_PATH, err));
    bool ok =
        v.len == 1 ? v.ptr[0] == '/' : v.len >= 3 && v.ptr[0] == '/' && v.ptr[v.len - 1] == '/';
    for (size_t i = 0; ok && i < v.len; i++) {
        ok = v.ptr[i] >= 0x21 && v.ptr[i] <= 0x7E;
    }
    if (!ok) {
        return tg_iam_pattern_error(err, v, field, "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    }
    return 0;
}

int tg_iam_param_int(const struct tg_form *in, const char *name, const char *field, int64_t min,
                     int64_t max, int64_t dflt, int64_t *out, struct tg_error *err)
{
    const struct tg_cur *v = tg_form_get(in, name);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    int64_t n = 0;
    if (tg_cur_to_i64(*v, &n) < 0) {
        /* All digits but too many for int64 parsing: a number, just out of
         * range, so say which bound it breaks. */
        size_t start = v->len > 0 && v->ptr[0] == '-' ? 1 : 0;
        bool digits = v->len > start;
        for (size_t i = start; digits && i < v->len; i++) {
            digits = v->ptr[i] >= '0' && v->ptr[i] <= '9';
        }
        if (!digits) {
            return tg_iam_value_error(err, *v, field, "Member must be a number");
        }
        n = start == 1 ? INT64_MIN : INT64_MAX;
    }
    char c[96];
    if (n < min) {
        snprintf(c, sizeof(c), "Member must have value greater than or equal to %" PRId64, min);
        return tg_iam_value_error(err, *v, field, c);
    }
    if (n > max) {
        snprintf(c, sizeof(c), "Member must have value less than or equal to %" PRId64, max);
        return tg_iam_value_error(err, *v, field, c);
    }
    *out = n;
    return 0;
}

int tg_iam_check_policy(struct tg_cur doc, const char *field, enum tg_policy_kind kind,
                        size_t max_size, const char *quota_name, struct tg_policy **compiled,
                        struct tg_error *err)
{
    struct tg_policy *p = NULL;
    if (compiled != NULL) {
        *compiled = NULL;
    }
    /* bc-iam policyDocumentType: 1..131072, [\u0009\u000A\u000D\u0020-\u00FF]+ (spec 4.6) */
    TG_GUARD(tg_iam_check_length(doc, field, 1, TG_POLICY_MAX_DOCUMENT, err));
    if (!tg_policy_chars_valid(doc.ptr, doc.len)) {
        return tg_iam_pattern_error(err, doc, field, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    }
    if (tg_policy_parse(doc.ptr, doc.len, kind, &p, err) < 0) {
        if (err != NULL && err->code == TG_OK) {
            tg_error_set(err, TG_E_MALFORMED_POLICY_DOCUMENT, "Syntax errors in policy.");
        }
        return -1;
    }
    /* Quotas count characters without whitespace (spec 4.6). */
    if (max_size > 0 && tg_policy_size(doc.ptr, doc.len) > max_size) {
        tg_policy_free(p);
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED, "Cannot exceed quota for %s: %zu",
                            quota_name != NULL ? quota_name : "PolicySize", max_size);
    }
    if (compiled != NULL) {
        *compiled = p;
    } else {
        tg_policy_free(p);
    }
    return 0;
}

/* ---- managed policy ARNs -------------------------------------------------- */

bool tg_iam_parse_policy_arn(struct tg_cur arn, struct tg_iam_policy_arn *out)
{
    static const char prefix[] = "arn:aws:iam::";
    const size_t plen = sizeof(prefix) - 1;
    if (!tg_cur_starts_with(arn, prefix)) {
        return false;
    }
    for (size_t i = 0; i < arn.len; i++) {
        if (arn.ptr[i] < 0x21 || arn.ptr[i] > 0x7E) {
            return false;
        }
    }
    struct tg_cur rest = tg_cur_make(arn.ptr + plen, arn.len - plen);
    long colon = tg_cur_find(rest, ':', 0);
    if (colon <= 0) {
        return false;
    }
    struct tg_cur acct = tg_cur_make(rest.ptr, (size_t)colon);
    struct tg_cur res = tg_cur_make(rest.ptr + colon + 1, rest.len - (size_t)colon - 1);
    if (!tg_cur_eq_str(acct, "aws")) {
        bool digits = acct.len == 12;
        for (size_t i = 0; digits && i < acct.len; i++) {
            digits = acct.ptr[i] >= '0' && acct.ptr[i] <= '9';
        }
        if (!digits) {
            return false;
        }
    }
    /* "policy/" then the path's inner segments and a non-empty name */
    if (!tg_cur_starts_with(res, "policy/") || res.ptr[res.len - 1] == '/') {
        return false;
    }
    size_t last = 6; /* the '/' after "policy" */
    for (size_t i = 7; i < res.len; i++) {
        if (res.ptr[i] == '/') {
            last = i;
        }
    }
    out->arn = arn;
    out->account = acct;
    out->path = tg_cur_make(res.ptr + 6, last - 6 + 1);
    out->name = tg_cur_make(res.ptr + last + 1, res.len - last - 1);
    return true;
}

int tg_iam_check_policy_arn(struct tg_cur arn, const char *field, struct tg_iam_policy_arn *parts,
                            struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(arn, field, TG_IAM_ARN_MIN, TG_IAM_MAX_ARN, err));
    if (!tg_iam_parse_policy_arn(arn, parts)) {
        char e[TG_IAM_ECHO_MAX + 4];
        tg_iam_echo(arn, e);
        return tg_error_set(err, TG_E_INVALID_INPUT, "ARN %s is not valid.", e);
    }
    return 0;
}

/* ---- state ------------------------------------------------------------------ */

int tg_iam_find_role(const struct tg_snapshot *snap, struct tg_cur name,
                     char key[TG_IAM_ROLE_KEY_CAP], const struct tg_snap_role **out,
                     struct tg_error *err)
{
    *out = NULL;
    if (tg_snapshot_key_lower(name, key, TG_IAM_ROLE_KEY_CAP) == 0) {
        *out = tg_snapshot_role(snap, tg_cur_str(key));
    }
    if (*out == NULL) {
        return tg_error_set(err, TG_E_NO_SUCH_ENTITY, "The role with name %.*s cannot be found.",
                            (int)name.len, (const char *)name.ptr);
    }
    return 0;
}

json_t *tg_iam_doc_copy(const json_t *doc, struct tg_error *err)
{
    json_t *copy = json_deep_copy(doc);
    if (copy == NULL) {
        tg_iam_service_failure(err, "out of memory copying a document");
    }
    return copy;
}

json_t *tg_iam_doc_array(json_t *doc, const char *name)
{
    json_t *a = json_object_get(doc, name);
    if (json_is_array(a)) {
        return a;
    }
    a = json_array();
    if (a == NULL || json_object_set_new(doc, name, a) < 0) {
        return NULL;
    }
    return a;
}

int tg_iam_put(struct tg_iam_out *out, enum tg_entity_kind kind, const char *key, const json_t *doc,
               int64_t version, struct tg_error *err)
{
    if (tg_iam_out_put(out, kind, key, doc, version) < 0) {
        return tg_iam_service_failure(err, "cannot queue the write");
    }
    return 0;
}

/* ---- tags ------------------------------------------------------------------ */

/* [\p{L}\p{Z}\p{N}_.:/=+\-@]: ASCII letters, digits, space and _.:/=+-@;
 * every non-ASCII code point is accepted (most of them are letters,
 * numbers or separators, and IAM's own check is the Unicode one). */
static bool tag_chars_ok(struct tg_cur v)
{
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        if (c >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || (c != 0 && strchr(" _.:/=+-@", c) != NULL)) {
            continue;
        }
        return false;
    }
    return true;
}

#define TAG_KEY_PATTERN "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
#define TAG_VALUE_PATTERN "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"

static int check_tag_key(struct tg_cur k, const char *field, struct tg_error *err)
{
    TG_GUARD(tg_iam_check_length(k, field, 1, TG_IAM_MAX_TAG_KEY, err));
    if (!tag_chars_ok(k)) {
        return tg_iam_pattern_error(err, k, field, TAG_KEY_PATTERN);
    }
    return 0;
}

/* "Value '[k1=v1, k2=v2, ...]' at 'field' ... length less than or equal to 50"
 * for a list of more than 50 members. */
static int too_many(const struct tg_form *in, const char *prefix, const char *suffix,
                    const char *field, struct tg_error *err)
{
    struct tg_buf list;
    tg_buf_init(&list, TG_IAM_ECHO_MAX);
    int ok = tg_buf_append_byte(&list, '[');
    for (size_t i = 1; i <= TG_IAM_MAX_TAGS + 1 && ok == 0; i++) {
        char name[TG_FORM_MAX_NAME];
        snprintf(name, sizeof(name), "%s.%zu%s", prefix, i, suffix);
        const struct tg_cur *v = tg_form_get(in, name);
        if (v == NULL || !tg_utf8_valid(*v)) {
            continue;
        }
        ok |= i > 1 ? tg_buf_append_str(&list, ", ") : 0;
        ok |= tg_buf_append_cur(&list, *v);
    }
    char text[TG_IAM_ECHO_MAX + 4];
    if (ok == 0 && tg_buf_append_byte(&list, ']') == 0) {
        tg_iam_echo(tg_buf_cur(&list), text);
    } else {
        /* Cut at the buffer's maximum: echo what fitted. */
        tg_iam_echo(tg_buf_cur(&list), text);
        size_t n = strlen(text);
        if (n + 4 < sizeof(text)) {
            memcpy(text + n, "...]", 5);
        }
    }
    tg_buf_free(&list);
    char c[96];
    snprintf(c, sizeof(c), "Member must have length less than or equal to %d", TG_IAM_MAX_TAGS);
    return tg_error_set(err, TG_E_VALIDATION_ERROR,
                        VALIDATION_PREFIX "Value '%s' at '%s' failed to satisfy constraint: %s",
                        text, field, c);
}

bool tg_iam_has_member(const struct tg_form *in, const char *prefix, size_t i, const char *suffix)
{
    char name[TG_FORM_MAX_NAME];
    snprintf(name, sizeof(name), "%s.%zu%s", prefix, i, suffix);
    return tg_form_get(in, name) != NULL;
}

/* out holds TG_IAM_MAX_TAGS. */
int tg_iam_param_tags(const struct tg_form *in, struct tg_kv *out, size_t *n_out,
                      struct tg_error *err)
{
    size_t n = 0;
    *n_out = 0;
    /* Members are numbered without gaps, so a 51st means more than 50. */
    if (tg_iam_has_member(in, "Tags.member", TG_IAM_MAX_TAGS + 1, ".Key") ||
        tg_iam_has_member(in, "Tags.member", TG_IAM_MAX_TAGS + 1, ".Value")) {
        return too_many(in, "Tags.member", ".Key", "tags", err);
    }
    TG_GUARD(tg_form_get_pairs(in, "Tags.member", "Key", "Value", out, TG_IAM_MAX_TAGS, &n, err));
    for (size_t i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof(field), "tags.%zu.member.key", i + 1);
        TG_GUARD(check_tag_key(out[i].key, field, err));
        snprintf(field, sizeof(field), "tags.%zu.member.value", i + 1);
        TG_GUARD(tg_iam_check_length(out[i].value, field, 0, TG_IAM_MAX_TAG_VALUE, err));
        if (!tag_chars_ok(out[i].value)) {
            return tg_iam_pattern_error(err, out[i].value, field, TAG_VALUE_PATTERN);
        }
        /* The aws: prefix is reserved for tags AWS sets (UG:id_tags). */
        if (out[i].key.len >= 4 && tg_cur_eq_nocase_str(tg_cur_make(out[i].key.ptr, 4), "aws:")) {
            return tg_error_set(err, TG_E_INVALID_INPUT,
                                "User-defined tag keys can't start with 'aws:'. This prefix is "
                                "reserved for AWS use.");
        }
        for (size_t j = 0; j < i; j++) {
            if (tg_cur_eq_nocase(out[i].key, out[j].key)) {
                return tg_error_set(err, TG_E_INVALID_INPUT,
                                    "Duplicate tag keys found. Please note that Tag keys are case "
                                    "insensitive.");
            }
        }
    }
    *n_out = n;
    return 0;
}

/* out holds TG_IAM_MAX_TAGS. */
int tg_iam_param_tag_keys(const struct tg_form *in, struct tg_cur *out, size_t *n_out,
                          struct tg_error *err)
{
    size_t n = 0;
    *n_out = 0;
    if (tg_iam_has_member(in, "TagKeys.member", TG_IAM_MAX_TAGS + 1, "")) {
        return too_many(in, "TagKeys.member", "", "tagKeys", err);
    }
    TG_GUARD(tg_form_get_list(in, "TagKeys.member", out, TG_IAM_MAX_TAGS, &n, err));
    for (size_t i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof(field), "tagKeys.%zu.member", i + 1);
        TG_GUARD(check_tag_key(out[i], field, err));
    }
    *n_out = n;
    return 0;
}

int tg_iam_param_tags_required(const struct tg_form *in, struct tg_kv *out, size_t *n_out,
                               struct tg_error *err)
{
    TG_GUARD(tg_iam_param_tags(in, out, n_out, err));
    /* Tags is a required member of TagRole, TagPolicy and
     * TagOpenIDConnectProvider (bc-iam). */
    return *n_out == 0 ? tg_iam_null_error(err, "tags") : 0;
}

int tg_iam_param_tag_keys_required(const struct tg_form *in, struct tg_cur *out, size_t *n_out,
                                   struct tg_error *err)
{
    TG_GUARD(tg_iam_param_tag_keys(in, out, n_out, err));
    /* TagKeys is a required member of every Untag* action (bc-iam). */
    return *n_out == 0 ? tg_iam_null_error(err, "tagKeys") : 0;
}

static json_t *tag_obj(struct tg_cur key, struct tg_cur value)
{
    json_t *o = json_object();
    if (o == NULL ||
        json_object_set_new(o, "Key", json_stringn((const char *)key.ptr, key.len)) < 0 ||
        json_object_set_new(o, "Value", json_stringn((const char *)value.ptr, value.len)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *tg_iam_tags_json(const struct tg_kv *tags, size_t n)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(a, tag_obj(tags[i].key, tags[i].value)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Index of the tag whose key equals key (ASCII case-insensitively: IAM
 * treats keys that differ only in case as the same key), or -1. */
static long tag_find(const json_t *arr, struct tg_cur key)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *k = json_object_get(json_array_get(arr, i), "Key");
        if (json_is_string(k) &&
            tg_cur_eq_nocase(tg_cur_make(json_string_value(k), json_string_length(k)), key)) {
            return (long)i;
        }
    }
    return -1;
}

int tg_iam_tags_merge(json_t *doc, const struct tg_kv *tags, size_t n, struct tg_error *err)
{
    json_t *arr = json_object_get(doc, "tags");
    if (!json_is_array(arr)) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(doc, "tags", arr) < 0) {
            return tg_error_code(err, TG_E_SERVICE_FAILURE);
        }
    }
    /* Count first so that a refused merge leaves doc as it was. */
    size_t total = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        bool seen = tag_find(arr, tags[i].key) >= 0;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = tg_cur_eq_nocase(tags[i].key, tags[j].key);
        }
        total += seen ? 0 : 1;
    }
    if (total > TG_IAM_MAX_TAGS) {
        return tg_error_set(err, TG_E_LIMIT_EXCEEDED,
                            "The number of tags has reached the maximum limit of %d.",
                            TG_IAM_MAX_TAGS);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = tag_obj(tags[i].key, tags[i].value);
        if (t == NULL) {
            return tg_error_code(err, TG_E_SERVICE_FAILURE);
        }
        long at = tag_find(arr, tags[i].key);
        /* An existing key takes the new value and the new spelling. */
        int rc = at >= 0 ? json_array_set_new(arr, (size_t)at, t) : json_array_append_new(arr, t);
        if (rc < 0) {
            return tg_error_code(err, TG_E_SERVICE_FAILURE);
        }
    }
    return 0;
}

void tg_iam_tags_remove(json_t *doc, const struct tg_cur *keys, size_t n)
{
    json_t *arr = json_object_get(doc, "tags");
    if (!json_is_array(arr)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        long at = tag_find(arr, keys[i]);
        if (at >= 0) {
            json_array_remove(arr, (size_t)at);
        }
    }
}

int tg_iam_tag_entity(struct tg_iam_out *out, enum tg_entity_kind kind, const struct tg_entity *e,
                      const struct tg_kv *tags, size_t n, struct tg_error *err)
{
    int rc = -1;
    json_t *copy = tg_iam_doc_copy(e->doc, err);
    if (copy == NULL) {
        return -1;
    }
    TG_GUARD_GOTO(tg_iam_tags_merge(copy, tags, n, err), out);
    TG_GUARD_GOTO(tg_iam_put(out, kind, e->key, copy, e->version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

int tg_iam_untag_entity(struct tg_iam_out *out, enum tg_entity_kind kind, const struct tg_entity *e,
                        const struct tg_cur *keys, size_t n, struct tg_error *err)
{
    int rc = -1;
    json_t *copy = tg_iam_doc_copy(e->doc, err);
    if (copy == NULL) {
        return -1;
    }
    size_t before = json_array_size(json_object_get(copy, "tags"));
    tg_iam_tags_remove(copy, keys, n);
    if (json_array_size(json_object_get(copy, "tags")) == before) {
        rc = 0; /* absent keys are fine; nothing to write */
        goto out;
    }
    TG_GUARD_GOTO(tg_iam_put(out, kind, e->key, copy, e->version, err), out);
    rc = 0;
out:
    json_decref(copy);
    return rc;
}

static int tag_cmp(const void *a, const void *b)
{
    const char *ka = tg_iam_doc_str(*(const json_t *const *)a, "Key");
    const char *kb = tg_iam_doc_str(*(const json_t *const *)b, "Key");
    return strcmp(ka != NULL ? ka : "", kb != NULL ? kb : "");
}

/* The n members of tags sorted by key, or NULL when out of memory (or n is
 * 0). Returns owned (free with free()); the members borrow from tags. */
static const json_t **tags_sorted(const json_t *tags, size_t n)
{
    const json_t **sorted = n > 0 ? calloc(n, sizeof(*sorted)) : NULL;
    if (sorted == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = json_array_get(tags, i);
    }
    qsort(sorted, n, sizeof(*sorted), tag_cmp);
    return sorted;
}

/* <Tags> with sorted[start..start+count). */
static void xml_tag_members(struct tg_xml *x, const json_t *const *sorted, size_t start,
                            size_t count)
{
    tg_xml_open(x, "Tags");
    for (size_t i = start; i < start + count; i++) {
        const char *k = tg_iam_doc_str(sorted[i], "Key");
        const char *v = tg_iam_doc_str(sorted[i], "Value");
        tg_xml_open(x, "member");
        tg_xml_elem_str(x, "Key", k != NULL ? k : "");
        tg_xml_elem_str(x, "Value", v != NULL ? v : "");
        tg_xml_close(x);
    }
    tg_xml_close(x);
}

void tg_iam_xml_tags(struct tg_xml *x, const json_t *tags, bool always)
{
    size_t n = json_is_array(tags) ? json_array_size(tags) : 0;
    if (n == 0) {
        if (always) {
            xml_tag_members(x, NULL, 0, 0);
        }
        return;
    }
    const json_t **sorted = tags_sorted(tags, n);
    if (sorted == NULL) {
        x->failed = true; /* reported by tg_xml_finish */
        return;
    }
    xml_tag_members(x, sorted, 0, n);
    free(sorted);
}

int tg_iam_xml_tags_page(struct tg_xml *x, const struct tg_form *in, const json_t *tags,
                         struct tg_error *err)
{
    size_t start, count;
    bool truncated;
    size_t n = json_is_array(tags) ? json_array_size(tags) : 0;
    TG_GUARD(tg_iam_page(in, n, &start, &count, &truncated, err));
    /* Written straight from the snapshot's documents, which are shared
     * with other threads: only read, not even their reference counts
     * touched. */
    const json_t **sorted = tags_sorted(tags, n);
    if (n > 0 && sorted == NULL) {
        return tg_iam_service_failure(err, "out of memory listing tags");
    }
    xml_tag_members(x, sorted, start, count);
    tg_iam_xml_page_end(x, start, count, truncated);
    free(sorted);
    return 0;
}

/* ---- lists ------------------------------------------------------------------ */

int tg_iam_page(const struct tg_form *in, size_t total, size_t *start, size_t *count,
                bool *truncated, struct tg_error *err)
{
    int64_t max_items = 0;
    TG_GUARD(tg_iam_param_int(in, "MaxItems", "maxItems", 1, TG_IAM_MAX_ITEMS, TG_IAM_DEFAULT_ITEMS,
                              &max_items, err));
    size_t from = 0;
    const struct tg_cur *marker = tg_form_get(in, "Marker");
    if (marker != NULL) {
        int64_t m = 0;
        if (marker->len == 0 || marker->ptr[0] == '-' || tg_cur_to_i64(*marker, &m) < 0 || m < 0) {
            return tg_error_set(err, TG_E_VALIDATION_ERROR, "Invalid Marker");
        }
        /* A marker past the end (the list shrank between pages) is an
         * empty last page rather than an error. */
        from = (uint64_t)m > total ? total : (size_t)m;
    }
    size_t n = total - from;
    if (n > (size_t)max_items) {
        n = (size_t)max_items;
    }
    *start = from;
    *count = n;
    *truncated = from + n < total;
    return 0;
}

void tg_iam_xml_page_end(struct tg_xml *x, size_t start, size_t count, bool truncated)
{
    tg_xml_elem_bool(x, "IsTruncated", truncated);
    if (truncated) {
        tg_xml_elemf(x, "Marker", "%zu", start + count);
    }
}

/* ---- documents ------------------------------------------------------------- */

const char *tg_iam_doc_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

int64_t tg_iam_doc_int(const json_t *obj, const char *name, int64_t dflt)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

void tg_iam_xml_doc_time(struct tg_xml *x, const char *tag, const json_t *obj, const char *name)
{
    int64_t ms = tg_iam_doc_int(obj, name, 0);
    /* Floor division, so times before 1970 (never ours, but a hand-edited
     * store) round the same way as the rest. */
    int64_t s = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    tg_xml_elem_time(x, tag, s);
}
