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
 *
 * And a writer of compact JSON into a tg_buf, for the audit log: the same
 * bytes as jansson's json_dumps(JSON_COMPACT) of the same values, without
 * building them first.
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

/* ---- writing --------------------------------------------------------------
 * Calls must form one well-nested value (keys only inside objects, one value
 * after each key). Errors are sticky: after the first failure (the buffer's
 * maximum, out of memory, nesting past TG_JSON_W_MAX_DEPTH) nothing more is
 * written and tg_json_w_finish returns -1. Strings are written as jansson
 * writes them (\" \\ \b \f \n \r \t, \u00XX for other control
 * characters, everything else as it is); a byte that is not part of
 * well-formed UTF-8 (a header from outside) becomes U+FFFD. */
#define TG_JSON_W_MAX_DEPTH 32

struct json_t; /* jansson's */

struct tg_json_w {
    struct tg_buf *out; /* borrowed */
    size_t depth;
    bool comma[TG_JSON_W_MAX_DEPTH + 1]; /* a value was written at this depth */
    bool after_key;
    bool failed;
};

void tg_json_w_init(struct tg_json_w *w, struct tg_buf *out);
void tg_json_w_object(struct tg_json_w *w);
void tg_json_w_object_end(struct tg_json_w *w);
void tg_json_w_array(struct tg_json_w *w);
void tg_json_w_array_end(struct tg_json_w *w);
void tg_json_w_key(struct tg_json_w *w, const char *key);
void tg_json_w_string(struct tg_json_w *w, const char *s); /* NULL writes null */
void tg_json_w_stringn(struct tg_json_w *w, const void *s, size_t n);
void tg_json_w_int(struct tg_json_w *w, int64_t v);
void tg_json_w_bool(struct tg_json_w *w, bool v);
void tg_json_w_null(struct tg_json_w *w);
/* A value that is already JSON text (borrowed; not checked). */
void tg_json_w_raw(struct tg_json_w *w, struct tg_cur json);
/* A jansson value, as json_dumps(JSON_COMPACT) would write it. */
void tg_json_w_jansson(struct tg_json_w *w, const struct json_t *v);
/* 0 if every call succeeded and the value is complete. */
int tg_json_w_finish(const struct tg_json_w *w) TG_MUST_USE;

/* ---- places in a document ------------------------------------------------
 * For text already checked by a parser (a policy document after
 * tg_policy_parse): where a value stands, for messages that point at it.
 * The scan does not validate; on text that is not JSON it fails (-1) or
 * finds something meaningless, never reads out of bounds. */

/* The span of the value at path (each element an object member name, or
 * "[N]" for the Nth element of an array, from 0), or -1 if there is none.
 * Names compare with the raw text between the quotes (no unescaping). */
int tg_json_locate(struct tg_cur text, const char *const *path, size_t n_path,
                   struct tg_cur *out) TG_MUST_USE;
/* The spans of the elements of the array that text is (surrounding space
 * allowed); at most max are stored, *n gets the count. -1 if not an array. */
int tg_json_array_spans(struct tg_cur text, struct tg_cur *items, size_t max,
                        size_t *n) TG_MUST_USE;
/* 1-based line and column of byte offset off in text; columns count
 * characters (UTF-8 continuation bytes are not counted). */
void tg_json_line_col(struct tg_cur text, size_t off, uint32_t *line, uint32_t *col);

/* A cheap pre-scan before handing untrusted text to jansson (which recurses
 * per level): false if brackets nest deeper than max. Not a validator. */
bool tg_json_depth_ok(const uint8_t *p, size_t n, size_t max);
/* The offset of the first '{' or '[' nested deeper than max, or n if none
 * is (for a message that points at it). */
size_t tg_json_too_deep_at(const uint8_t *p, size_t n, size_t max);

#endif
