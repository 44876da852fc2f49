/*
 * AWS Query protocol request decoding: application/x-www-form-urlencoded
 * parameters from the query string and the body (spec aws-sts.md §1.1), and
 * the ".member.N" list encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

void tg_form_init(struct tg_form *f)
{
    f->n = 0;
    f->n_chunks = 0;
    for (size_t i = 0; i < TG_FORM_MAX_SOURCES; i++) {
        f->chunks[i] = NULL;
    }
}

void tg_form_free(struct tg_form *f)
{
    for (size_t i = 0; i < f->n_chunks; i++) {
        /* Values can hold web identity tokens and session tokens. */
        free(f->chunks[i]);
        f->chunks[i] = NULL;
    }
    f->n_chunks = 0;
    f->n = 0;
}

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Decodes one name or value into dst (which has room for len bytes: decoding
 * never grows). WHATWG URL "application/x-www-form-urlencoded parsing": '+'
 * is a space, %XX a byte. Unlike WHATWG, a '%' without two hex digits is an
 * error rather than kept literally, and a NUL byte is refused because names
 * and values end up in C strings further on.
 */
static int form_decode(const uint8_t *s, size_t len, uint8_t *dst, size_t *dlen,
                       struct tg_error *err)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        /* Most bytes stand for themselves (a token is all base64url): copy
         * such a run at once. */
        static const uint8_t specials[] = {'%', '+', 0};
        size_t run = i + tg_span_without(s + i, len - i, specials, sizeof(specials));
        if (run > i) {
            memcpy(dst + o, s + i, run - i);
            o += run - i;
            i = run;
            if (i == len) {
                break;
            }
        }
        uint8_t c = s[i];
        if (c == '%') {
            int hi = len - i >= 3 ? hex_digit(s[i + 1]) : -1;
            int lo = len - i >= 3 ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return tg_error_set(err, TG_E_MALFORMED_QUERY_STRING,
                                    "The query string contains an invalid percent-encoding.");
            }
            c = (uint8_t)((hi << 4) | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0) {
            return tg_error_set(err, TG_E_MALFORMED_QUERY_STRING,
                                "The query string contains a NUL character.");
        }
        dst[o++] = c;
    }
    *dlen = o;
    return 0;
}

static bool form_has(const struct tg_form *f, size_t upto, struct tg_cur name)
{
    for (size_t i = 0; i < upto; i++) {
        if (tg_cur_eq(f->params[i].name, name)) {
            return true;
        }
    }
    return false;
}

int tg_form_parse(struct tg_form *f, const uint8_t *p, size_t n, struct tg_error *err)
{
    size_t n_before = f->n;
    uint8_t *chunk = NULL;
    int rc = -1;

    if (n == 0) {
        return 0;
    }
    if (f->n_chunks >= TG_FORM_MAX_SOURCES) {
        /* A caller bug (more sources than the query string and the body). */
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        tg_error_detail(err, "tg_form_parse called for more than %d sources", TG_FORM_MAX_SOURCES);
        goto out;
    }
    /* Decoded text is never longer than the encoded text, so one block of n
     * bytes holds every name and value of this source. */
    chunk = malloc(n);
    if (chunk == NULL) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        tg_error_detail(err, "out of memory decoding %zu bytes of form", n);
        goto out;
    }
    size_t used = 0;
    size_t start = 0;
    while (start <= n) {
        const uint8_t *amp = start < n ? memchr(p + start, '&', n - start) : NULL;
        size_t end = amp != NULL ? (size_t)(amp - p) : n;
        if (end > start) {
            const uint8_t *eqp = memchr(p + start, '=', end - start);
            size_t eq = eqp != NULL ? (size_t)(eqp - p) : end;
            size_t name_len = 0, value_len = 0;
            uint8_t *name = chunk + used;
            TG_GUARD_GOTO(form_decode(p + start, eq - start, name, &name_len, err), out);
            used += name_len;
            uint8_t *value = chunk + used;
            if (eq < end) {
                TG_GUARD_GOTO(form_decode(p + eq + 1, end - eq - 1, value, &value_len, err), out);
            }
            used += value_len;
            if (name_len == 0) {
                tg_error_set(err, TG_E_MALFORMED_QUERY_STRING,
                             "The query string contains a parameter without a name.");
                goto out;
            }
            if (name_len > TG_FORM_MAX_NAME) {
                tg_error_set(err, TG_E_VALIDATION_ERROR,
                             "A parameter name is longer than %d characters.", TG_FORM_MAX_NAME);
                goto out;
            }
            struct tg_cur name_cur = tg_cur_make(name, name_len);
            if (value_len > TG_FORM_MAX_VALUE) {
                tg_error_set(err, TG_E_VALIDATION_ERROR,
                             "The value of parameter %.*s is longer than %d bytes.", (int)name_len,
                             (const char *)name, TG_FORM_MAX_VALUE);
                goto out;
            }
            if (f->n >= TG_FORM_MAX_PARAMS) {
                tg_error_set(err, TG_E_VALIDATION_ERROR, "The request has more than %d parameters.",
                             TG_FORM_MAX_PARAMS);
                goto out;
            }
            /* What AWS does with a repeated parameter is unconfirmed (spec
             * §1.1); refusing it avoids the query string and the body
             * disagreeing about what was signed and what is acted on. */
            if (form_has(f, f->n, name_cur)) {
                tg_error_set(err, TG_E_VALIDATION_ERROR,
                             "The parameter %.*s appears more than once.", (int)name_len,
                             (const char *)name);
                goto out;
            }
            f->params[f->n].name = name_cur;
            f->params[f->n].value = tg_cur_make(value, value_len);
            f->n++;
        }
        start = end + 1;
    }
    if (f->n == n_before) {
        /* Nothing but separators: keep no chunk. */
        free(chunk);
        chunk = NULL;
    } else {
        f->chunks[f->n_chunks++] = chunk;
        chunk = NULL;
    }
    rc = 0;
out:
    if (rc < 0) {
        f->n = n_before;
    }
    free(chunk);
    return rc;
}

const struct tg_cur *tg_form_get(const struct tg_form *f, const char *name)
{
    struct tg_cur want = tg_cur_str(name);
    for (size_t i = 0; i < f->n; i++) {
        if (tg_cur_eq(f->params[i].name, want)) {
            return &f->params[i].value;
        }
    }
    return NULL;
}

/* AWS names the member in validation messages in lower camel case
 * ("ClientIDList.member" -> "clientIDList"). */
static void member_field(const char *prefix, char *out, size_t cap)
{
    size_t i = 0;
    for (; prefix[i] != '\0' && prefix[i] != '.' && i + 1 < cap; i++) {
        char c = prefix[i];
        if (i == 0 && c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        out[i] = c;
    }
    out[i] = '\0';
}

/*
 * If name is prefix "." N [rest], parses N. Returns 1 with *index and *rest
 * set, 0 if the name is not a member of this list, -1 (error set) if N is
 * not a canonical number in 1..TG_FORM_MAX_LIST.
 */
static int member_index(struct tg_cur name, struct tg_cur prefix, size_t *index,
                        struct tg_cur *rest, struct tg_error *err)
{
    if (name.len <= prefix.len + 1 || memcmp(name.ptr, prefix.ptr, prefix.len) != 0 ||
        name.ptr[prefix.len] != '.') {
        return 0;
    }
    size_t i = prefix.len + 1;
    size_t digits_start = i;
    while (i < name.len && name.ptr[i] >= '0' && name.ptr[i] <= '9') {
        i++;
    }
    size_t digits = i - digits_start;
    if (digits == 0) {
        /* "Prefix.x": some other parameter, not a member. */
        return 0;
    }
    *rest = tg_cur_make(name.ptr + i, name.len - i);
    if (rest->len > 0 && rest->ptr[0] != '.') {
        return 0;
    }
    if (name.ptr[digits_start] == '0') {
        return tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE,
                            "Invalid list member number in parameter %.*s.", (int)name.len,
                            (const char *)name.ptr);
    }
    size_t v = 0;
    for (size_t k = digits_start; k < digits_start + digits; k++) {
        v = v * 10 + (size_t)(name.ptr[k] - '0');
        if (v > TG_FORM_MAX_LIST) {
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                "List member number in parameter %.*s is greater than %d.",
                                (int)name.len, (const char *)name.ptr, TG_FORM_MAX_LIST);
        }
    }
    *index = v;
    return 1;
}

/* Notes member index (1..TG_FORM_MAX_LIST) as present. */
static void member_seen(bool *present, size_t index, size_t *count, size_t *highest)
{
    if (!present[index]) {
        present[index] = true;
        (*count)++;
    }
    if (index > *highest) {
        *highest = index;
    }
}

/* Checks 1..count has no gaps (slots[i] for i in 1..highest) and count <= max. */
static int check_members(const char *prefix, const bool *present, size_t highest, size_t count,
                         size_t max, struct tg_error *err)
{
    if (count > max) {
        char field[TG_FORM_MAX_NAME + 1];
        member_field(prefix, field, sizeof(field));
        return tg_error_set(err, TG_E_VALIDATION_ERROR,
                            "1 validation error detected: Value at '%s' failed to satisfy "
                            "constraint: Member must have length less than or equal to %zu",
                            field, max);
    }
    for (size_t i = 1; i <= highest; i++) {
        if (!present[i]) {
            return tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE,
                                "The list %s is missing member %s.%zu.", prefix, prefix, i);
        }
    }
    return 0;
}

int tg_form_get_list(const struct tg_form *f, const char *prefix, struct tg_cur *out, size_t max,
                     size_t *n_out, struct tg_error *err)
{
    /* Indexed by member number; 1..TG_FORM_MAX_LIST. */
    const struct tg_cur *slots[TG_FORM_MAX_LIST + 1] = {0};
    bool present[TG_FORM_MAX_LIST + 1] = {0};
    struct tg_cur pre = tg_cur_str(prefix);
    size_t highest = 0, count = 0;

    for (size_t i = 0; i < f->n; i++) {
        size_t index = 0;
        struct tg_cur rest;
        int m = member_index(f->params[i].name, pre, &index, &rest, err);
        TG_GUARD(m);
        if (m == 0 || rest.len != 0) {
            continue;
        }
        /* Names are unique in a form, and numbers canonical, so each index
         * is seen at most once. */
        slots[index] = &f->params[i].value;
        present[index] = true;
        count++;
        if (index > highest) {
            highest = index;
        }
    }
    TG_GUARD(check_members(prefix, present, highest, count, max, err));
    for (size_t i = 1; i <= highest; i++) {
        out[i - 1] = *slots[i];
    }
    *n_out = count;
    return 0;
}

int tg_form_get_list_field(const struct tg_form *f, const char *prefix, const char *field,
                           struct tg_cur *out, size_t max, size_t *n_out, struct tg_error *err)
{
    const struct tg_cur *values[TG_FORM_MAX_LIST + 1] = {0};
    bool present[TG_FORM_MAX_LIST + 1] = {0};
    struct tg_cur pre = tg_cur_str(prefix);
    size_t highest = 0, count = 0;

    for (size_t i = 0; i < f->n; i++) {
        size_t index = 0;
        struct tg_cur rest;
        int m = member_index(f->params[i].name, pre, &index, &rest, err);
        TG_GUARD(m);
        if (m == 0) {
            continue;
        }
        /* rest is "" or "." something: either way index is a member */
        if (rest.len > 1 && tg_cur_eq_str(tg_cur_make(rest.ptr + 1, rest.len - 1), field)) {
            values[index] = &f->params[i].value;
        }
        member_seen(present, index, &count, &highest);
    }
    TG_GUARD(check_members(prefix, present, highest, count, max, err));
    for (size_t i = 1; i <= highest; i++) {
        if (values[i] == NULL) {
            char list[TG_FORM_MAX_NAME + 1];
            member_field(prefix, list, sizeof(list));
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                "1 validation error detected: Value null at '%s.%zu.member.%s' "
                                "failed to satisfy constraint: Member must not be null",
                                list, i, field);
        }
        out[i - 1] = *values[i];
    }
    *n_out = count;
    return 0;
}

int tg_form_get_pairs(const struct tg_form *f, const char *prefix, const char *key_field,
                      const char *value_field, struct tg_kv *out, size_t max, size_t *n_out,
                      struct tg_error *err)
{
    const struct tg_cur *keys[TG_FORM_MAX_LIST + 1] = {0};
    const struct tg_cur *values[TG_FORM_MAX_LIST + 1] = {0};
    bool present[TG_FORM_MAX_LIST + 1] = {0};
    struct tg_cur pre = tg_cur_str(prefix);
    size_t highest = 0, count = 0;

    for (size_t i = 0; i < f->n; i++) {
        size_t index = 0;
        struct tg_cur rest;
        int m = member_index(f->params[i].name, pre, &index, &rest, err);
        TG_GUARD(m);
        if (m == 0 || rest.len < 2) {
            continue;
        }
        struct tg_cur field = tg_cur_make(rest.ptr + 1, rest.len - 1);
        if (tg_cur_eq_str(field, key_field)) {
            keys[index] = &f->params[i].value;
        } else if (tg_cur_eq_str(field, value_field)) {
            values[index] = &f->params[i].value;
        } else {
            continue;
        }
        member_seen(present, index, &count, &highest);
    }
    TG_GUARD(check_members(prefix, present, highest, count, max, err));
    for (size_t i = 1; i <= highest; i++) {
        if (keys[i] == NULL) {
            /* AWS's wording for a tag without a key names the member
             * "tags.1.member.key". */
            char list[TG_FORM_MAX_NAME + 1], key[TG_FORM_MAX_NAME + 1];
            member_field(prefix, list, sizeof(list));
            member_field(key_field, key, sizeof(key));
            return tg_error_set(err, TG_E_VALIDATION_ERROR,
                                "1 validation error detected: Value null at '%s.%zu.member.%s' "
                                "failed to satisfy constraint: Member must not be null",
                                list, i, key);
        }
    }
    for (size_t i = 1; i <= highest; i++) {
        out[i - 1].key = *keys[i];
        out[i - 1].value = values[i] != NULL ? *values[i] : tg_cur_make("", 0);
    }
    *n_out = count;
    return 0;
}
