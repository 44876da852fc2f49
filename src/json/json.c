/* json: a strict, allocation-light reader for one JSON object (RFC 8259). */
#include "json/json.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A name of an object being read, for the duplicate check. */
struct name {
    const char *s;
    size_t n;
};

struct reader {
    uint8_t *p; /* our copy of the text, with one spare byte after it */
    size_t n;
    size_t i;
    char *arena; /* unescaped strings */
    size_t used;
    size_t cap;
    struct name *names; /* names of the objects being read, innermost last */
    size_t n_names;
    size_t names_cap;
    const char **strs; /* string elements of top-level arrays */
    size_t n_strs;
    size_t strs_cap;
    size_t max_members;
    size_t max_depth;
    char *why;
    size_t why_len;
};

static int fail(struct reader *r, const char *what)
{
    if (r->why_len > 0) {
        snprintf(r->why, r->why_len, "invalid JSON at byte %zu: %s", r->i, what);
    }
    return -1;
}

static int fail_depth(struct reader *r)
{
    if (r->why_len > 0) {
        snprintf(r->why, r->why_len, "JSON nested deeper than %zu", r->max_depth);
    }
    return -1;
}

/* RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void skip_ws(struct reader *r)
{
    while (r->i < r->n) {
        uint8_t c = r->p[r->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        r->i++;
    }
}

/* The next byte, or 0 at the end (0 is never valid where it is asked for). */
static uint8_t peek(const struct reader *r)
{
    return r->i < r->n ? r->p[r->i] : 0;
}

static int hex4(struct reader *r, uint32_t *out)
{
    if (r->n - r->i < 4) {
        return -1;
    }
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        uint8_t c = r->p[r->i + k];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
        v = v << 4 | d;
    }
    r->i += 4;
    *out = v;
    return 0;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* RFC 8259 §7, at the opening quote. The unescaped string goes to the
 * arena: it is never longer than its JSON text without the quotes (each
 * escape is at least as long as the bytes it stands for), so the strings of
 * a text of n bytes, each with its NUL, fit in n bytes. */
static int read_string(struct reader *r, const char **out, size_t *out_len)
{
    r->i++;
    char *dst = r->arena + r->used;
    size_t room = r->cap - r->used;
    size_t o = 0;
    for (;;) {
        /* The common case first: a run of printable ASCII. */
        static const uint8_t specials[] = {'"', '\\'};
        size_t run = r->i + tg_span_text(r->p + r->i, r->n - r->i, specials, sizeof(specials));
        size_t k = run - r->i;
        if (k >= room - o) {
            return fail(r, "string does not fit (internal)");
        }
        memcpy(dst + o, r->p + r->i, k);
        o += k;
        r->i = run;
        if (r->i >= r->n) {
            return fail(r, "unterminated string");
        }
        uint8_t c = r->p[r->i];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail(r, "control character in a string");
        }
        if (c >= 0x80) {
            size_t len = tg_utf8_seq(r->p + r->i, r->n - r->i);
            if (len == 0) {
                return fail(r, "invalid UTF-8");
            }
            if (len >= room - o) {
                return fail(r, "string does not fit (internal)");
            }
            memcpy(dst + o, r->p + r->i, len);
            o += len;
            r->i += len;
            continue;
        }
        /* c == '\\'. Each escape yields fewer bytes than it takes, so with
         * the bound above there is room for them and the NUL. */
        if (room - o < 2) {
            return fail(r, "string does not fit (internal)");
        }
        r->i++;
        uint8_t e = peek(r);
        r->i++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            dst[o++] = (char)e;
            break;
        case 'b':
            dst[o++] = '\b';
            break;
        case 'f':
            dst[o++] = '\f';
            break;
        case 'n':
            dst[o++] = '\n';
            break;
        case 'r':
            dst[o++] = '\r';
            break;
        case 't':
            dst[o++] = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (hex4(r, &cp) < 0) {
                return fail(r, "invalid \\u escape");
            }
            /* §7: a code point past the BMP is a UTF-16 surrogate pair; a
             * surrogate alone is no character at all (§8.2). */
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return fail(r, "lone UTF-16 surrogate");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t low;
                if (r->n - r->i < 2 || r->p[r->i] != '\\' || r->p[r->i + 1] != 'u') {
                    return fail(r, "lone UTF-16 surrogate");
                }
                r->i += 2;
                if (hex4(r, &low) < 0) {
                    return fail(r, "invalid \\u escape");
                }
                if (low < 0xdc00 || low > 0xdfff) {
                    return fail(r, "lone UTF-16 surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            }
            if (cp == 0) {
                return fail(r, "\\u0000 in a string");
            }
            size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (need >= room - o) {
                return fail(r, "string does not fit (internal)");
            }
            o += utf8_put(dst + o, cp);
            break;
        }
        default:
            r->i--;
            return fail(r, "invalid escape");
        }
    }
    r->i++; /* the closing quote */
    dst[o] = '\0';
    r->used += o + 1;
    *out = dst;
    *out_len = o;
    return 0;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(struct reader *r, struct tg_json_member *m)
{
    size_t start = r->i;
    bool neg = peek(r) == '-';
    bool integer = true;
    bool overflow = false;
    uint64_t mag = 0;
    if (neg) {
        r->i++;
    }
    if (peek(r) == '0') {
        r->i++;
    } else if (is_digit(peek(r))) {
        while (is_digit(peek(r))) {
            uint64_t d = (uint64_t)(peek(r) - '0');
            if (mag > (UINT64_MAX - d) / 10) {
                overflow = true;
            } else {
                mag = mag * 10 + d;
            }
            r->i++;
        }
    } else {
        return fail(r, "invalid number");
    }
    if (peek(r) == '.') {
        integer = false;
        r->i++;
        if (!is_digit(peek(r))) {
            return fail(r, "invalid number");
        }
        while (is_digit(peek(r))) {
            r->i++;
        }
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        integer = false;
        r->i++;
        if (peek(r) == '+' || peek(r) == '-') {
            r->i++;
        }
        if (!is_digit(peek(r))) {
            return fail(r, "invalid number");
        }
        while (is_digit(peek(r))) {
            r->i++;
        }
    }
    if (integer) {
        uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (overflow || mag > lim) {
            return fail(r, "integer out of range");
        }
        if (m != NULL) {
            m->type = TG_JSON_INTEGER;
            m->integer = neg ? (int64_t)(0 - mag) : (int64_t)mag;
            m->real = (double)m->integer;
        }
        return 0;
    }
    /* The grammar is checked, so strtod takes exactly [start, i): the text
     * is our own copy, and the byte after the number is NUL for the call
     * (the copy has a spare byte at its end). */
    uint8_t saved = r->p[r->i];
    r->p[r->i] = '\0';
    errno = 0;
    double d = strtod((const char *)r->p + start, NULL);
    bool range = errno == ERANGE;
    r->p[r->i] = saved;
    if (range && isinf(d)) {
        return fail(r, "real number out of range");
    }
    if (m != NULL) {
        m->type = TG_JSON_REAL;
        m->real = d;
    }
    return 0;
}

static int read_literal(struct reader *r, const char *word, enum tg_json_type t,
                        struct tg_json_member *m)
{
    size_t n = strlen(word);
    if (r->n - r->i < n || memcmp(r->p + r->i, word, n) != 0) {
        return fail(r, "invalid literal");
    }
    r->i += n;
    if (m != NULL) {
        m->type = t;
    }
    return 0;
}

static int read_value(struct reader *r, size_t depth, struct tg_json_member *m);

/* At '{'. top: the object whose members are recorded (the top level). */
static int read_object(struct reader *r, size_t depth, struct tg_json_object *top,
                       struct tg_json_member *m)
{
    if (depth > r->max_depth) {
        return fail_depth(r);
    }
    r->i++;
    size_t base = r->n_names;
    size_t count = 0;
    skip_ws(r);
    if (peek(r) == '}') {
        r->i++;
        goto done;
    }
    for (;;) {
        skip_ws(r);
        if (peek(r) != '"') {
            return fail(r, "expected a member name");
        }
        const char *name;
        size_t name_len;
        if (read_string(r, &name, &name_len) < 0) {
            return -1;
        }
        for (size_t k = base; k < r->n_names; k++) {
            if (r->names[k].n == name_len && memcmp(r->names[k].s, name, name_len) == 0) {
                r->i -= 1;
                return fail(r, "duplicate object key");
            }
        }
        /* Any object, not only the top one: a hostile text could otherwise
         * make the duplicate check quadratic in its size. */
        if (count >= r->max_members) {
            char what[64];
            snprintf(what, sizeof(what), "more than %zu members in an object", r->max_members);
            return fail(r, what);
        }
        if (r->n_names >= r->names_cap) {
            return fail(r, "too many names (internal)");
        }
        r->names[r->n_names].s = name;
        r->names[r->n_names].n = name_len;
        r->n_names++;
        skip_ws(r);
        if (peek(r) != ':') {
            return fail(r, "expected ':'");
        }
        r->i++;
        skip_ws(r);
        struct tg_json_member *mem = NULL;
        if (top != NULL) {
            mem = &top->members[top->n];
            memset(mem, 0, sizeof(*mem));
            mem->name = name;
            mem->name_len = name_len;
        }
        size_t start = r->i;
        if (read_value(r, depth, mem) < 0) {
            return -1;
        }
        if (mem != NULL) {
            mem->raw = tg_cur_make(r->p + start, r->i - start);
            top->n++;
        }
        count++;
        skip_ws(r);
        if (peek(r) == ',') {
            r->i++;
            continue;
        }
        if (peek(r) == '}') {
            r->i++;
            break;
        }
        return fail(r, "expected ',' or '}'");
    }
done:
    r->n_names = base;
    if (m != NULL) {
        m->type = TG_JSON_OBJECT;
        m->n_items = count;
    }
    return 0;
}

/* At '['. m: a top-level member, whose string elements are recorded. */
static int read_array(struct reader *r, size_t depth, struct tg_json_member *m)
{
    if (depth > r->max_depth) {
        return fail_depth(r);
    }
    r->i++;
    size_t count = 0;
    if (m != NULL) {
        m->strings = r->strs + r->n_strs;
    }
    skip_ws(r);
    if (peek(r) == ']') {
        r->i++;
        goto done;
    }
    for (;;) {
        skip_ws(r);
        if (m != NULL && peek(r) == '"') {
            const char *s;
            size_t len;
            if (read_string(r, &s, &len) < 0) {
                return -1;
            }
            if (r->n_strs >= r->strs_cap) {
                return fail(r, "too many strings (internal)");
            }
            r->strs[r->n_strs++] = s;
            m->n_strings++;
        } else if (read_value(r, depth, NULL) < 0) {
            return -1;
        }
        count++;
        skip_ws(r);
        if (peek(r) == ',') {
            r->i++;
            continue;
        }
        if (peek(r) == ']') {
            r->i++;
            break;
        }
        return fail(r, "expected ',' or ']'");
    }
done:
    if (m != NULL) {
        m->type = TG_JSON_ARRAY;
        m->n_items = count;
        if (m->n_strings == 0) {
            m->strings = NULL;
        }
    }
    return 0;
}

/* m: where to record the value (a top-level member), or NULL. */
static int read_value(struct reader *r, size_t depth, struct tg_json_member *m)
{
    switch (peek(r)) {
    case '{':
        return read_object(r, depth + 1, NULL, m);
    case '[':
        return read_array(r, depth + 1, m);
    case '"': {
        const char *s;
        size_t len;
        if (read_string(r, &s, &len) < 0) {
            return -1;
        }
        if (m != NULL) {
            m->type = TG_JSON_STRING;
            m->str = s;
            m->str_len = len;
        }
        return 0;
    }
    case 't':
        return read_literal(r, "true", TG_JSON_TRUE, m);
    case 'f':
        return read_literal(r, "false", TG_JSON_FALSE, m);
    case 'n':
        return read_literal(r, "null", TG_JSON_NULL, m);
    default:
        if (peek(r) == '-' || is_digit(peek(r))) {
            return read_number(r, m);
        }
        return fail(r, r->i < r->n ? "unexpected character" : "unexpected end");
    }
}

/* Sizes of the parts of the one allocation, for a text of n bytes: a member
 * takes at least 5 bytes ("":0,), a name in flight at least 4 ("":0), a
 * string element at least 3 ("",). */
struct layout {
    size_t members, names, strs, total;
};

static bool layout_for(size_t n, size_t max_members, struct layout *l)
{
    if (n > SIZE_MAX / 16) {
        return false;
    }
    l->members = n / 5 + 1 < max_members ? n / 5 + 1 : max_members;
    l->names = n / 4 + 1;
    l->strs = n / 3 + 1;
    l->total = l->members * sizeof(struct tg_json_member) + l->names * sizeof(struct name) +
               l->strs * sizeof(char *) + (n + 1) + (n + 1);
    return true;
}

int tg_json_object_parse(struct tg_cur text, size_t max_members, size_t max_depth,
                         struct tg_json_object *out, char *why, size_t why_len)
{
    struct layout l;
    if (why_len > 0) {
        why[0] = '\0';
    }
    if (!layout_for(text.len, max_members, &l)) {
        if (why_len > 0) {
            snprintf(why, why_len, "JSON text too large");
        }
        return -1;
    }
    uint8_t *mem = malloc(l.total);
    if (mem == NULL) {
        if (why_len > 0) {
            snprintf(why, why_len, "out of memory");
        }
        return -1;
    }
    /* Pointer-aligned parts first, then the two byte regions. */
    struct tg_json_object o = {(struct tg_json_member *)(void *)mem, 0, mem};
    struct reader r = {0};
    r.names = (struct name *)(void *)(mem + l.members * sizeof(struct tg_json_member));
    r.names_cap = l.names;
    r.strs = (const char **)(void *)((uint8_t *)r.names + l.names * sizeof(struct name));
    r.strs_cap = l.strs;
    r.p = (uint8_t *)(r.strs + l.strs);
    r.n = text.len;
    if (text.len > 0) {
        memcpy(r.p, text.ptr, text.len);
    }
    r.p[text.len] = '\0';
    r.arena = (char *)r.p + text.len + 1;
    r.cap = text.len + 1;
    r.max_members = max_members;
    r.max_depth = max_depth;
    r.why = why;
    r.why_len = why_len;

    skip_ws(&r);
    if (peek(&r) != '{') {
        if (why_len > 0) {
            snprintf(why, why_len, "JSON is not an object");
        }
        goto fail;
    }
    if (max_depth < 1 || read_object(&r, 1, &o, NULL) < 0) {
        if (max_depth < 1) {
            fail_depth(&r);
        }
        goto fail;
    }
    skip_ws(&r);
    if (r.i != r.n) {
        fail(&r, "text after the object");
        goto fail;
    }
    *out = o;
    return 0;
fail:
    free(mem);
    return -1;
}

const struct tg_json_member *tg_json_object_get(const struct tg_json_object *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->n; i++) {
        const struct tg_json_member *m = &o->members[i];
        if (m->name_len == n && memcmp(m->name, name, n) == 0) {
            return m;
        }
    }
    return NULL;
}

void tg_json_object_free(struct tg_json_object *o)
{
    if (o == NULL) {
        return;
    }
    free(o->mem);
    memset(o, 0, sizeof(*o));
}

/* ---- writing ------------------------------------------------------------ */

void tg_json_w_init(struct tg_json_w *w, struct tg_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static void w_bytes(struct tg_json_w *w, const void *p, size_t n)
{
    struct tg_buf *b = w->out;
    if (w->failed) {
        return;
    }
    /* Most writes are a byte or two into a buffer that has room. */
    if (b->cap - b->len > n && b->max - b->len >= n) {
        memcpy(b->ptr + b->len, p, n);
        b->len += n;
        return;
    }
    if (tg_buf_append(b, p, n) < 0) {
        w->failed = true;
    }
}

/* Before a value or a key: the comma, unless a key was just written. */
static void w_sep(struct tg_json_w *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->comma[w->depth]) {
        w_bytes(w, ",", 1);
    }
    w->comma[w->depth] = true;
}

static void w_open(struct tg_json_w *w, char c)
{
    w_sep(w);
    if (w->depth >= TG_JSON_W_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    w_bytes(w, &c, 1);
    w->depth++;
    w->comma[w->depth] = false;
}

static void w_close(struct tg_json_w *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->failed = true;
        return;
    }
    w->depth--;
    w_bytes(w, &c, 1);
}

void tg_json_w_object(struct tg_json_w *w)
{
    w_open(w, '{');
}

void tg_json_w_object_end(struct tg_json_w *w)
{
    w_close(w, '}');
}

void tg_json_w_array(struct tg_json_w *w)
{
    w_open(w, '[');
}

void tg_json_w_array_end(struct tg_json_w *w)
{
    w_close(w, ']');
}

/* The quoted string, escaped, into out; the room is reserved first (6
 * bytes per input byte is the worst case: \u00XX, or U+FFFD's 3), so the
 * loop writes without further checks. */
static void w_quoted(struct tg_json_w *w, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (w->failed) {
        return;
    }
    struct tg_buf *b = w->out;
    if (n > (SIZE_MAX - 2) / 6 || ((b->cap - b->len <= n * 6 + 2 || b->max - b->len < n * 6 + 2) &&
                                   tg_buf_reserve(b, n * 6 + 2) < 0)) {
        w->failed = true;
        return;
    }
    uint8_t *o = b->ptr + b->len;
    *o++ = '"';
    size_t i = 0;
    static const uint8_t specials[] = {'"', '\\'};
    while (i < n) {
        size_t run = i + tg_span_text(s + i, n - i, specials, sizeof(specials));
        memcpy(o, s + i, run - i);
        o += run - i;
        i = run;
        if (i >= n) {
            break;
        }
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t len = tg_utf8_seq(s + i, n - i);
            if (len == 0) {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
                i++;
            } else {
                memcpy(o, s + i, len);
                o += len;
                i += len;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = (uint8_t)hex[c >> 4];
            o[4] = (uint8_t)hex[c & 15];
            o += 5;
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->ptr);
}

void tg_json_w_key(struct tg_json_w *w, const char *key)
{
    if (w->depth == 0 || w->after_key) {
        w->failed = true;
        return;
    }
    w_sep(w);
    w_quoted(w, (const uint8_t *)key, strlen(key));
    w_bytes(w, ":", 1);
    w->after_key = true;
}

void tg_json_w_stringn(struct tg_json_w *w, const void *s, size_t n)
{
    w_sep(w);
    w_quoted(w, s, n);
}

void tg_json_w_string(struct tg_json_w *w, const char *s)
{
    if (s == NULL) {
        tg_json_w_null(w);
        return;
    }
    tg_json_w_stringn(w, s, strlen(s));
}

void tg_json_w_int(struct tg_json_w *w, int64_t v)
{
    char t[TG_I64_LEN];
    size_t n = tg_fmt_i64(v, t);
    w_sep(w);
    w_bytes(w, t, n);
}

void tg_json_w_bool(struct tg_json_w *w, bool v)
{
    w_sep(w);
    w_bytes(w, v ? "true" : "false", v ? 4 : 5);
}

void tg_json_w_null(struct tg_json_w *w)
{
    w_sep(w);
    w_bytes(w, "null", 4);
}

void tg_json_w_raw(struct tg_json_w *w, struct tg_cur json)
{
    w_sep(w);
    w_bytes(w, json.ptr, json.len);
}

/* jansson's form of a real: 17 significant digits, ".0" when that looks
 * like an integer, and the exponent without '+' or leading zeros. */
static void w_real(struct tg_json_w *w, double d)
{
    char t[40];
    int n = snprintf(t, sizeof(t), "%.17g", d);
    if (n < 0 || (size_t)n >= sizeof(t) - 2) {
        w->failed = true;
        return;
    }
    char *e = strchr(t, 'e');
    if (e == NULL && strchr(t, '.') == NULL) {
        memcpy(t + n, ".0", 3);
    } else if (e != NULL) {
        char *d_at = e + 1;
        char *q = e + 1;
        if (*q == '+') {
            q++;
        } else if (*q == '-') {
            d_at++;
            q++;
        }
        while (*q == '0' && q[1] != '\0') {
            q++;
        }
        memmove(d_at, q, strlen(q) + 1);
    }
    w_sep(w);
    w_bytes(w, t, strlen(t));
}

static void w_jansson(struct tg_json_w *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        tg_json_w_object(w);
        const char *key;
        json_t *m;
        /* jansson 2.14 iterates in insertion order, as its dump does. */
        json_object_foreach((json_t *)v, key, m)
        {
            tg_json_w_key(w, key);
            w_jansson(w, m);
        }
        tg_json_w_object_end(w);
        return;
    }
    case JSON_ARRAY: {
        tg_json_w_array(w);
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            w_jansson(w, m);
        }
        tg_json_w_array_end(w);
        return;
    }
    case JSON_STRING:
        tg_json_w_stringn(w, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        tg_json_w_int(w, (int64_t)json_integer_value(v));
        return;
    case JSON_REAL:
        w_real(w, json_real_value(v));
        return;
    case JSON_TRUE:
        tg_json_w_bool(w, true);
        return;
    case JSON_FALSE:
        tg_json_w_bool(w, false);
        return;
    case JSON_NULL:
        tg_json_w_null(w);
        return;
    }
    w->failed = true;
}

void tg_json_w_jansson(struct tg_json_w *w, const struct json_t *v)
{
    if (v == NULL) {
        w->failed = true;
        return;
    }
    w_jansson(w, v);
}

int tg_json_w_finish(const struct tg_json_w *w)
{
    return !w->failed && w->depth == 0 && !w->after_key ? 0 : -1;
}

/* ---- places ---------------------------------------------------------------- */

static size_t sc_ws(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* The end (one past) of the value that starts at i, or 0 on a text that
 * is not JSON. */
static size_t sc_value_end(const uint8_t *p, size_t n, size_t i)
{
    if (i >= n) {
        return 0;
    }
    if (p[i] == '"') {
        for (i++; i < n; i++) {
            if (p[i] == '\\') {
                i++;
            } else if (p[i] == '"') {
                return i + 1;
            }
        }
        return 0;
    }
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        for (; i < n; i++) {
            uint8_t c = p[i];
            if (c == '"') {
                size_t e = sc_value_end(p, n, i);
                if (e == 0) {
                    return 0;
                }
                i = e - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    return 0;
                }
                if (--depth == 0) {
                    return i + 1;
                }
            }
        }
        return 0;
    }
    size_t start = i;
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
           p[i] != '\n' && p[i] != '\r') {
        i++;
    }
    return i > start ? i : 0;
}

int tg_json_array_spans(struct tg_cur text, struct tg_cur *items, size_t max, size_t *n)
{
    const uint8_t *p = text.ptr;
    size_t len = text.len;
    size_t i = sc_ws(p, len, 0);
    *n = 0;
    if (i >= len || p[i] != '[') {
        return -1;
    }
    i = sc_ws(p, len, i + 1);
    if (i < len && p[i] == ']') {
        return 0;
    }
    for (;;) {
        size_t e = sc_value_end(p, len, i);
        if (e == 0) {
            return -1;
        }
        if (*n < max) {
            items[*n] = tg_cur_make(p + i, e - i);
        }
        (*n)++;
        i = sc_ws(p, len, e);
        if (i < len && p[i] == ',') {
            i = sc_ws(p, len, i + 1);
            continue;
        }
        return i < len && p[i] == ']' ? 0 : -1;
    }
}

/* The value of member name in the object that text is, or -1. */
static int sc_member(struct tg_cur text, const char *name, struct tg_cur *out)
{
    const uint8_t *p = text.ptr;
    size_t len = text.len;
    size_t nl = strlen(name);
    size_t i = sc_ws(p, len, 0);
    if (i >= len || p[i] != '{') {
        return -1;
    }
    i = sc_ws(p, len, i + 1);
    while (i < len && p[i] == '"') {
        size_t ke = sc_value_end(p, len, i);
        if (ke == 0) {
            return -1;
        }
        bool hit = ke - i - 2 == nl && memcmp(p + i + 1, name, nl) == 0;
        i = sc_ws(p, len, ke);
        if (i >= len || p[i] != ':') {
            return -1;
        }
        i = sc_ws(p, len, i + 1);
        size_t ve = sc_value_end(p, len, i);
        if (ve == 0) {
            return -1;
        }
        if (hit) {
            *out = tg_cur_make(p + i, ve - i);
            return 0;
        }
        i = sc_ws(p, len, ve);
        if (i >= len || p[i] != ',') {
            return -1;
        }
        i = sc_ws(p, len, i + 1);
    }
    return -1;
}

int tg_json_locate(struct tg_cur text, const char *const *path, size_t n_path, struct tg_cur *out)
{
    struct tg_cur cur = text;
    for (size_t k = 0; k < n_path; k++) {
        const char *el = path[k];
        size_t el_len = strlen(el);
        if (el_len >= 3 && el[0] == '[' && el[el_len - 1] == ']') {
            int64_t idx = 0;
            if (tg_cur_to_i64(tg_cur_make(el + 1, el_len - 2), &idx) < 0 || idx < 0) {
                return -1;
            }
            struct tg_cur item;
            size_t n = 0;
            /* Only the wanted element is kept: scan with room for one. */
            size_t want = (size_t)idx;
            struct tg_cur *all = NULL;
            if (tg_json_array_spans(cur, &item, 0, &n) < 0 || want >= n) {
                return -1;
            }
            all = malloc(n * sizeof(*all));
            if (all == NULL || tg_json_array_spans(cur, all, n, &n) < 0) {
                free(all);
                return -1;
            }
            cur = all[want];
            free(all);
            continue;
        }
        if (sc_member(cur, el, &cur) < 0) {
            return -1;
        }
    }
    size_t i = sc_ws(cur.ptr, cur.len, 0);
    size_t e = cur.len;
    while (e > i && (cur.ptr[e - 1] == ' ' || cur.ptr[e - 1] == '\t' || cur.ptr[e - 1] == '\n' ||
                     cur.ptr[e - 1] == '\r')) {
        e--;
    }
    *out = tg_cur_make(cur.ptr + i, e - i);
    return 0;
}

void tg_json_line_col(struct tg_cur text, size_t off, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, c = 1;
    for (size_t i = 0; i < off && i < text.len; i++) {
        uint8_t b = text.ptr[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

size_t tg_json_too_deep_at(const uint8_t *d, size_t n, size_t max)
{
    size_t depth = 0;
    bool in_str = false;
    bool esc = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                return i;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return n;
}

bool tg_json_depth_ok(const uint8_t *d, size_t n, size_t max)
{
    return tg_json_too_deep_at(d, n, max) == n;
}
