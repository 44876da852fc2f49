/*
 * The reference for src/json: jansson (json_loadb with
 * JSON_REJECT_DUPLICATES, after the same depth pre-scan), which is what the
 * JWS reader used before it had its own. json_oracle() runs a text through
 * both and says whether they agree: on accepting or refusing it, and, when
 * both accept, on every top-level member (name, type, string bytes, number,
 * array string elements and sizes). Texts with a NUL byte are the one
 * exception (jansson skips some NUL bytes): tg_json must refuse them. Shared by
 * tests/unit/test_json.c and tests/fuzz/fuzz_json.c.
 */
#ifndef TG_TEST_JSON_ORACLE_H
#define TG_TEST_JSON_ORACLE_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"

static enum tg_json_type oracle_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return TG_JSON_OBJECT;
    case JSON_ARRAY:
        return TG_JSON_ARRAY;
    case JSON_STRING:
        return TG_JSON_STRING;
    case JSON_INTEGER:
        return TG_JSON_INTEGER;
    case JSON_REAL:
        return TG_JSON_REAL;
    case JSON_TRUE:
        return TG_JSON_TRUE;
    case JSON_FALSE:
        return TG_JSON_FALSE;
    default:
        return TG_JSON_NULL;
    }
}

/* Does member m hold what jansson made of it (v)? */
static bool oracle_member_agrees(const struct tg_json_member *m, const json_t *v, char *msg,
                                 size_t cap)
{
    if (m->type != oracle_type(v)) {
        snprintf(msg, cap, "member %s: type %d, jansson %d", m->name, (int)m->type,
                 (int)oracle_type(v));
        return false;
    }
    switch (m->type) {
    case TG_JSON_STRING:
        if (m->str_len != json_string_length(v) ||
            memcmp(m->str, json_string_value(v), m->str_len) != 0 || m->str[m->str_len] != '\0') {
            snprintf(msg, cap, "member %s: string differs", m->name);
            return false;
        }
        return true;
    case TG_JSON_INTEGER:
        if (m->integer != json_integer_value(v)) {
            snprintf(msg, cap, "member %s: integer differs", m->name);
            return false;
        }
        return true;
    case TG_JSON_REAL:
        if (memcmp(&m->real, &(double){json_real_value(v)}, sizeof(double)) != 0) {
            snprintf(msg, cap, "member %s: real %.17g, jansson %.17g", m->name, m->real,
                     json_real_value(v));
            return false;
        }
        return true;
    case TG_JSON_OBJECT:
        if (m->n_items != json_object_size(v)) {
            snprintf(msg, cap, "member %s: object size differs", m->name);
            return false;
        }
        return true;
    case TG_JSON_ARRAY: {
        if (m->n_items != json_array_size(v)) {
            snprintf(msg, cap, "member %s: array size differs", m->name);
            return false;
        }
        size_t k = 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_string(e)) {
                continue;
            }
            if (k >= m->n_strings || strlen(m->strings[k]) != json_string_length(e) ||
                memcmp(m->strings[k], json_string_value(e), json_string_length(e)) != 0) {
                snprintf(msg, cap, "member %s: string element %zu differs", m->name, i);
                return false;
            }
            k++;
        }
        if (k != m->n_strings) {
            snprintf(msg, cap, "member %s: string element count differs", m->name);
            return false;
        }
        return true;
    }
    default:
        return true;
    }
}

/* 1: both accept and agree; 0: both refuse; -1: they disagree (msg says how). */
static int json_oracle(const uint8_t *p, size_t n, size_t max_depth, char *msg, size_t cap)
{
    char why[256];
    struct tg_json_object o;
    bool ours =
        tg_json_object_parse(tg_cur_make(p, n), SIZE_MAX, max_depth, &o, why, sizeof(why)) == 0;
    json_t *j = NULL;
    if (n > 0 && memchr(p, 0, n) != NULL) {
        /* A NUL byte is never valid JSON (RFC 8259: not whitespace, and a
         * control character in a string), but jansson's reader skips some
         * of them ({"v":123<NUL>} loads): no reference here, refuse. */
        if (ours) {
            tg_json_object_free(&o);
            snprintf(msg, cap, "tg_json accepts a text with a NUL byte");
            return -1;
        }
        return 0;
    }
    if (tg_json_depth_ok(p, n, max_depth)) {
        json_error_t jerr;
        j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    }
    bool theirs = j != NULL && json_is_object(j);
    int rc = -1;
    if (ours != theirs) {
        snprintf(msg, cap, "%s accepts, %s refuses (%s)", ours ? "tg_json" : "jansson",
                 ours ? "jansson" : "tg_json", ours ? "" : why);
        goto out;
    }
    if (!ours) {
        rc = 0;
        goto out;
    }
    if (o.n != json_object_size(j)) {
        snprintf(msg, cap, "%zu members, jansson %zu", o.n, json_object_size(j));
        goto out;
    }
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        const struct tg_json_member *m = &o.members[i++];
        if (strcmp(m->name, key) != 0 || m->name_len != strlen(key)) {
            snprintf(msg, cap, "member %zu: name differs", i - 1);
            goto out;
        }
        if (tg_json_object_get(&o, key) != m) {
            snprintf(msg, cap, "member %s: lookup differs", key);
            goto out;
        }
        if (!oracle_member_agrees(m, v, msg, cap)) {
            goto out;
        }
    }
    rc = 1;
out:
    if (ours) {
        tg_json_object_free(&o);
    }
    json_decref(j);
    return rc;
}

#endif
