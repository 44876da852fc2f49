/*
 * json: a strict reader for one JSON object whose top-level members are
 * what the caller wants (a JWS header, a token's claims), without building
 * a tree. Pure.
 *
 * The grammar is RFC 8259's, exactly: no comments, no trailing commas, no
 * leading zeros, no NaN or Infinity, whitespace only where §2 allows it,
 * UTF-8 only (§8.1; overlong forms, surrogates and code points past
 * U+10FFFF refused), and nothing after the object but whitespace. Beyond
 * the RFC, and as jansson with JSON_REJECT_DUPLICATES did for us before:
 * duplicate names are refused in every object (RFC 7515 §4 allows it, and it
 * leaves no room for two parsers to disagree on a claim), "\u0000" is
 * refused in every string (so each string is also a C string), integers
 * must fit in int64_t and reals must be finite.
 *
 * One allocation per parse holds a copy of the input, every string
 * unescaped (NUL-terminated) and the member table; nothing outlives
 * tg_json_object_free. jansson builds a value, a hash table and two copies
 * per member, which cost more than the RSA verification of the token.
 */
#ifndef TG_JSON_H
#define TG_JSON_H

#include "util/util.h"

enum tg_json_type {
    TG_JSON_NULL,
    TG_JSON_FALSE,
    TG_JSON_TRUE,
    TG_JSON_INTEGER, /* no fraction, no exponent, fits int64_t */
    TG_JSON_REAL,
    TG_JSON_STRING,
    TG_JSON_ARRAY,
    TG_JSON_OBJECT,
};

/* A top-level member. Everything is valid until tg_json_object_free. */
struct tg_json_member {
    const char *name; /* unescaped, NUL-terminated */
    size_t name_len;
    enum tg_json_type type;
    struct tg_cur raw;    /* the value's JSON text */
    const char *str;      /* TG_JSON_STRING: unescaped, NUL-terminated */
    size_t str_len;       /* TG_JSON_STRING */
    int64_t integer;      /* TG_JSON_INTEGER */
    double real;          /* TG_JSON_REAL (also set for TG_JSON_INTEGER) */
    size_t n_items;       /* TG_JSON_ARRAY: elements; TG_JSON_OBJECT: members */
    const char **strings; /* TG_JSON_ARRAY: its string elements, in order */
    size_t n_strings;     /* ... their count (n_items when all are strings) */
};

struct tg_json_object {
    struct tg_json_member *members; /* in document order */
    size_t n;
    void *mem; /* owned: the one allocation */
};

/*
 * Parses text as one JSON object with at most max_members top-level members
 * and at most max_depth levels of nesting (the object itself is level 1).
 * On failure returns -1 with the reason, safe to show an operator, in why
 * (why_len bytes), and out untouched. On success out is owned by the caller
 * (tg_json_object_free).
 */
int tg_json_object_parse(struct tg_cur text, size_t max_members, size_t max_depth,
                         struct tg_json_object *out, char *why, size_t why_len) TG_MUST_USE;
/* The member named name (a C string), or NULL. Borrowed from o. */
const struct tg_json_member *tg_json_object_get(const struct tg_json_object *o, const char *name);
void tg_json_object_free(struct tg_json_object *o);

/* A cheap pre-scan before handing untrusted text to jansson (which recurses
 * per level): false if brackets nest deeper than max. Not a validator. */
bool tg_json_depth_ok(const uint8_t *p, size_t n, size_t max);

#endif
