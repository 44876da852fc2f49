/*
 * eval: a compiled policy against one request (spec 4.2-4.5). Pure.
 *
 * A statement applies iff its principal, action and resource match and
 * every condition holds; then explicit Deny beats Allow beats the implicit
 * deny (spec 4.5). Anything this evaluator cannot decide (a malformed
 * policy variable, a combination AWS does not define) fails closed: the
 * statement counts as an explicit Deny, whatever its Effect, and the trace
 * says "unsupported: ...".
 *
 * The hot path (trace == NULL) does not allocate: policy variables are
 * not expanded into a copy but into a short list of segments that point
 * into the policy and into the request (struct pview), and every matcher
 * walks those segments in place.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"
#include "policy/policy_internal.h"

/* Text runs of one expanded value: the literal text around variables and
 * the variables' values. A value with more than 15 variables fails closed;
 * real policies have one or two. */
#define EVAL_MAX_SEGS 32
/* Values of one key listed in a trace object (request and policy side). */
#define TRACE_MAX_VALUES 20
/* Longest IP address text accepted (an IPv6 address with an IPv4 tail is
 * 45 characters). */
#define IP_TEXT_MAX 64

/* ---- results ------------------------------------------------------------ */

enum match {
    MATCH_NO = 0,
    MATCH_YES,
    MATCH_UNSUPPORTED, /* fail closed; the reason is in struct ectx */
};

struct ectx {
    const struct tg_policy_request *req;
    const char *unsupported;      /* first reason of the current statement */
    struct tg_policy_result *res; /* collects missing keys, or NULL */
};

static enum match unsupported(struct ectx *e, const char *why)
{
    if (e->unsupported == NULL) {
        e->unsupported = why;
    }
    return MATCH_UNSUPPORTED;
}

#define WHY_VAR_SYNTAX "unsupported: malformed policy variable"
#define WHY_VAR_COUNT "unsupported: too many policy variables in one value"
#define WHY_VAR_PLACE "unsupported: policy variable outside the resource part of an ARN"
#define WHY_NULL_QUAL "unsupported: Null with IfExists or a set operator"

/* ---- bytes ---------------------------------------------------------------- */

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Request strings are ours (NUL-terminated by the caller's contract). */
static struct tg_cur cstr(const char *s)
{
    return tg_cur_make(s, s != NULL ? strlen(s) : 0);
}

static bool eq_nocase_lit(struct tg_cur c, const char *lit)
{
    size_t n = strlen(lit);
    if (c.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(c.ptr[i]) != (uint8_t)lit[i]) {
            return false;
        }
    }
    return true;
}

/* Index just past the UTF-8 character at i ('?' matches one character,
 * not one byte). */
static size_t next_char(struct tg_cur s, size_t i)
{
    size_t j = i + 1;
    while (j < s.len && (s.ptr[j] & 0xC0) == 0x80) {
        j++;
    }
    return j;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---- the request context ---------------------------------------------------- */

/* Key names compare case-insensitively (spec 4.4); key_lower is lower case. */
static const struct tg_policy_ctx_entry *ctx_find(const struct tg_policy_request *req,
                                                  struct tg_cur key_lower)
{
    for (size_t i = 0; i < req->n_ctx; i++) {
        const struct tg_policy_ctx_entry *c = &req->ctx[i];
        if (c->key == NULL) {
            continue;
        }
        struct tg_cur k = cstr(c->key);
        if (k.len != key_lower.len) {
            continue;
        }
        size_t j = 0;
        while (j < k.len && lower(k.ptr[j]) == key_lower.ptr[j]) {
            j++;
        }
        if (j == k.len) {
            return c;
        }
    }
    return NULL;
}

/* ---- policy variables (spec 4.4 "Policy variables") ------------------------ */

struct seg {
    const uint8_t *p;
    size_t len;
    bool lit; /* from a variable: '*' and '?' in it are plain characters */
};

struct pview {
    struct seg s[EVAL_MAX_SEGS];
    size_t n;
};

enum xres {
    X_OK,
    X_UNRESOLVED, /* a variable without a value or default */
    X_BAD,        /* malformed, or too many segments: fail closed */
};

static bool push(struct pview *v, const uint8_t *p, size_t len, bool lit)
{
    if (len == 0) {
        return true;
    }
    if (v->n == EVAL_MAX_SEGS) {
        return false;
    }
    v->s[v->n].p = p;
    v->s[v->n].len = len;
    v->s[v->n].lit = lit;
    v->n++;
    return true;
}

static struct tg_cur trim_spaces(struct tg_cur c)
{
    while (c.len > 0 && c.ptr[0] == ' ') {
        c.ptr++;
        c.len--;
    }
    while (c.len > 0 && c.ptr[c.len - 1] == ' ') {
        c.len--;
    }
    return c;
}

/*
 * One "${...}" starting at raw.ptr[i] == '$'. Forms (spec 4.4): ${key},
 * ${key, 'default'}, and the escapes ${*}, ${?}, ${$}. Substituted text is
 * literal: a '*' in a claim must not become a wildcard. Only single-valued
 * keys substitute. *end is the index of the closing '}'.
 */
static enum xres expand_var(struct tg_cur raw, size_t i, const struct tg_policy_request *req,
                            struct pview *out, bool *unresolved, size_t *end)
{
    size_t j = i + 2;
    while (j < raw.len && raw.ptr[j] != '}' && raw.ptr[j] != ',') {
        j++;
    }
    if (j >= raw.len) {
        return X_BAD;
    }
    struct tg_cur name = trim_spaces(tg_cur_make(raw.ptr + i + 2, j - (i + 2)));
    bool has_default = false;
    struct tg_cur def = tg_cur_make(raw.ptr, 0);
    size_t k = j;
    if (raw.ptr[j] == ',') {
        k = j + 1;
        while (k < raw.len && raw.ptr[k] == ' ') {
            k++;
        }
        if (k >= raw.len || raw.ptr[k] != '\'') {
            return X_BAD;
        }
        size_t d0 = k + 1;
        size_t d1 = d0;
        while (d1 < raw.len && raw.ptr[d1] != '\'') {
            d1++;
        }
        if (d1 >= raw.len) {
            return X_BAD;
        }
        def = tg_cur_make(raw.ptr + d0, d1 - d0);
        has_default = true;
        k = d1 + 1;
        while (k < raw.len && raw.ptr[k] == ' ') {
            k++;
        }
        if (k >= raw.len || raw.ptr[k] != '}') {
            return X_BAD;
        }
    }
    *end = k;
    if (name.len == 0) {
        return X_BAD;
    }
    if (!has_default && name.len == 1 &&
        (name.ptr[0] == '*' || name.ptr[0] == '?' || name.ptr[0] == '$')) {
        return push(out, name.ptr, 1, true) ? X_OK : X_BAD;
    }
    /* Key names are case-insensitive: look the name up lower-cased,
     * without copying, by comparing byte by byte. */
    const struct tg_policy_ctx_entry *hit = NULL;
    for (size_t c = 0; c < req->n_ctx && hit == NULL; c++) {
        struct tg_cur key = cstr(req->ctx[c].key);
        if (req->ctx[c].key != NULL && tg_cur_eq_nocase(key, name)) {
            hit = &req->ctx[c];
        }
    }
    if (hit != NULL && hit->n_values == 1 && hit->values[0] != NULL) {
        struct tg_cur val = cstr(hit->values[0]);
        return push(out, val.ptr, val.len, true) ? X_OK : X_BAD;
    }
    if (has_default) {
        return push(out, def.ptr, def.len, true) ? X_OK : X_BAD;
    }
    *unresolved = true;
    return X_OK;
}

/* raw as a pview; with vars, "${...}" are substituted from req. */
static enum xres expand(struct tg_cur raw, bool vars, const struct tg_policy_request *req,
                        struct pview *out)
{
    out->n = 0;
    if (!vars) {
        return push(out, raw.ptr, raw.len, false) ? X_OK : X_BAD;
    }
    bool unresolved = false;
    size_t start = 0;
    size_t i = 0;
    while (i < raw.len) {
        if (raw.ptr[i] == '$' && i + 1 < raw.len && raw.ptr[i + 1] == '{') {
            if (!push(out, raw.ptr + start, i - start, false)) {
                return X_BAD;
            }
            size_t end = 0;
            enum xres x = expand_var(raw, i, req, out, &unresolved, &end);
            if (x != X_OK) {
                return x;
            }
            i = end + 1;
            start = i;
            continue;
        }
        i++;
    }
    if (!push(out, raw.ptr + start, raw.len - start, false)) {
        return X_BAD;
    }
    return unresolved ? X_UNRESOLVED : X_OK;
}

/* Why expand() said X_BAD: it stops with a full pview only when out of
 * segments. */
static const char *bad_why(const struct pview *v)
{
    return v->n == EVAL_MAX_SEGS ? WHY_VAR_COUNT : WHY_VAR_SYNTAX;
}

static bool has_var(struct tg_cur raw)
{
    for (size_t i = 0; i + 1 < raw.len; i++) {
        if (raw.ptr[i] == '$' && raw.ptr[i + 1] == '{') {
            return true;
        }
    }
    return false;
}

/* ---- wildcard matching over a pview ---------------------------------------- */

struct ppos {
    size_t seg;
    size_t off;
};

static void ppos_norm(const struct pview *v, struct ppos *p)
{
    while (p->seg < v->n && p->off >= v->s[p->seg].len) {
        p->seg++;
        p->off = 0;
    }
}

static void ppos_next(const struct pview *v, struct ppos *p)
{
    p->off++;
    ppos_norm(v, p);
}

/*
 * Whole-string match of s against v. With wild, '*' (any run, including
 * '/' and ':') and '?' (one character) in the policy's own text are
 * wildcards (spec 4.3, 4.4 StringLike); without, every byte is literal
 * (StringEquals: a '*' is a '*'). nocase folds ASCII letters. Linear
 * backtracking on the last '*' only: O(len(v) * len(s)) at worst.
 */
static bool pv_match(const struct pview *v, struct tg_cur s, bool wild, bool nocase)
{
    struct ppos p = {0, 0};
    struct ppos star = {0, 0};
    bool have_star = false;
    size_t si = 0;
    size_t star_si = 0;
    ppos_norm(v, &p);
    while (si < s.len) {
        if (p.seg < v->n) {
            const struct seg *g = &v->s[p.seg];
            uint8_t c = g->p[p.off];
            bool w = wild && !g->lit;
            if (w && c == '*') {
                ppos_next(v, &p);
                star = p;
                star_si = si;
                have_star = true;
                continue;
            }
            if (w && c == '?') {
                si = next_char(s, si);
                ppos_next(v, &p);
                continue;
            }
            uint8_t a = nocase ? lower(c) : c;
            uint8_t b = nocase ? lower(s.ptr[si]) : s.ptr[si];
            if (a == b) {
                si++;
                ppos_next(v, &p);
                continue;
            }
        }
        if (!have_star) {
            return false;
        }
        star_si = next_char(s, star_si);
        si = star_si;
        p = star;
    }
    while (p.seg < v->n) {
        const struct seg *g = &v->s[p.seg];
        if (!wild || g->lit || g->p[p.off] != '*') {
            return false;
        }
        ppos_next(v, &p);
    }
    return true;
}

static bool glob_plain(struct tg_cur pattern, struct tg_cur s, bool nocase)
{
    struct pview v;
    v.n = 0;
    (void)push(&v, pattern.ptr, pattern.len, false); /* one segment always fits */
    return pv_match(&v, s, true, nocase);
}

/* ---- ARNs ------------------------------------------------------------------- */

/* The six ':'-separated parts of an ARN (the last takes the rest, colons
 * included). With vars, colons inside "${...}" do not split. False when
 * there are fewer than six parts. */
static bool arn_split(struct tg_cur s, bool vars, struct tg_cur part[6])
{
    size_t n = 0;
    size_t start = 0;
    bool in_var = false;
    bool in_quote = false;
    for (size_t i = 0; i < s.len && n < 5; i++) {
        uint8_t c = s.ptr[i];
        if (in_var) {
            if (c == '\'') {
                in_quote = !in_quote;
            } else if (c == '}' && !in_quote) {
                in_var = false;
            }
            continue;
        }
        if (vars && c == '$' && i + 1 < s.len && s.ptr[i + 1] == '{') {
            in_var = true;
            i++;
            continue;
        }
        if (c == ':') {
            part[n++] = tg_cur_make(s.ptr + start, i - start);
            start = i + 1;
        }
    }
    if (n < 5) {
        return false;
    }
    part[5] = tg_cur_make(s.ptr + start, s.len - start);
    return true;
}

/*
 * ArnLike and ArnEquals (identical, spec 4.4): each of the six parts is
 * matched on its own with wildcards, so a '*' cannot cross a colon except
 * in the resource part. Fewer than six parts on either side: no match.
 * vars_anywhere: variables allowed in every part (Arn operators) or only in
 * the resource part (Resource, spec 4.4 "after the 5th colon").
 */
static enum match arn_match(struct ectx *e, struct tg_cur pat, bool vars, bool vars_anywhere,
                            struct tg_cur val)
{
    struct tg_cur pp[6];
    struct tg_cur vp[6];
    if (!arn_split(pat, vars, pp) || !arn_split(val, false, vp)) {
        return MATCH_NO;
    }
    for (size_t k = 0; k < 6; k++) {
        if (vars && !vars_anywhere && k < 5 && has_var(pp[k])) {
            return unsupported(e, WHY_VAR_PLACE);
        }
        struct pview v;
        enum xres x = expand(pp[k], vars, e->req, &v);
        if (x == X_BAD) {
            return unsupported(e, bad_why(&v));
        }
        if (x == X_UNRESOLVED || !pv_match(&v, vp[k], true, false)) {
            return MATCH_NO;
        }
    }
    return MATCH_YES;
}

/* ---- numbers ------------------------------------------------------------------ */

/* A decimal as digit strings, compared exactly (no floating point: "900"
 * < "3600" numerically, and 2^63 + 1 keeps its last digit). */
struct dec {
    bool neg;
    const uint8_t *ip; /* integer digits without leading zeros */
    size_t il;
    const uint8_t *fp; /* fraction digits without trailing zeros */
    size_t fl;
};

/* [+-]digits[.digits] or [+-].digits; no exponent, no spaces. */
static bool dec_parse(struct tg_cur s, struct dec *d)
{
    size_t i = 0;
    d->neg = false;
    if (i < s.len && (s.ptr[i] == '-' || s.ptr[i] == '+')) {
        d->neg = s.ptr[i] == '-';
        i++;
    }
    size_t i0 = i;
    while (i < s.len && is_digit(s.ptr[i])) {
        i++;
    }
    size_t i1 = i;
    size_t f0 = i;
    size_t f1 = i;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        f0 = i;
        while (i < s.len && is_digit(s.ptr[i])) {
            i++;
        }
        f1 = i;
    }
    if (i != s.len || (i1 == i0 && f1 == f0)) {
        return false;
    }
    while (i0 < i1 && s.ptr[i0] == '0') {
        i0++;
    }
    while (f1 > f0 && s.ptr[f1 - 1] == '0') {
        f1--;
    }
    d->ip = s.ptr + i0;
    d->il = i1 - i0;
    d->fp = s.ptr + f0;
    d->fl = f1 - f0;
    if (d->il == 0 && d->fl == 0) {
        d->neg = false; /* -0 == 0 */
    }
    return true;
}

static int dec_cmp(const struct dec *a, const struct dec *b)
{
    if (a->neg != b->neg) {
        return a->neg ? -1 : 1;
    }
    int mag = 0;
    if (a->il != b->il) {
        mag = a->il < b->il ? -1 : 1;
    } else {
        int r = a->il == 0 ? 0 : memcmp(a->ip, b->ip, a->il);
        if (r != 0) {
            mag = r < 0 ? -1 : 1;
        } else {
            size_t n = a->fl > b->fl ? a->fl : b->fl;
            for (size_t i = 0; i < n && mag == 0; i++) {
                uint8_t x = i < a->fl ? a->fp[i] : '0';
                uint8_t y = i < b->fl ? b->fp[i] : '0';
                if (x != y) {
                    mag = x < y ? -1 : 1;
                }
            }
        }
    }
    return a->neg ? -mag : mag;
}

/* ---- dates ------------------------------------------------------------------ */

struct tstamp {
    int64_t sec;
    int32_t nsec;
};

static bool fixed_digits(struct tg_cur s, size_t at, size_t n, int *out)
{
    if (at + n > s.len) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s.ptr[at + i])) {
            return false;
        }
        v = v * 10 + (s.ptr[at + i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Zone: Z, or +hh, +hh:mm, +hhmm (and '-'); nothing means UTC. */
static bool zone_parse(struct tg_cur s, size_t i, int64_t *offset)
{
    *offset = 0;
    if (i == s.len) {
        return true;
    }
    if ((s.ptr[i] == 'Z' || s.ptr[i] == 'z') && i + 1 == s.len) {
        return true;
    }
    if (s.ptr[i] != '+' && s.ptr[i] != '-') {
        return false;
    }
    int64_t sign = s.ptr[i] == '-' ? -1 : 1;
    int hh = 0;
    int mm = 0;
    if (!fixed_digits(s, i + 1, 2, &hh) || hh > 23) {
        return false;
    }
    size_t j = i + 3;
    if (j < s.len && s.ptr[j] == ':') {
        j++;
    }
    if (j < s.len) {
        if (!fixed_digits(s, j, 2, &mm) || mm > 59 || j + 2 != s.len) {
            return false;
        }
    }
    *offset = sign * (hh * 3600 + mm * 60);
    return true;
}

/*
 * The W3C profile of ISO 8601 that IAM documents (spec 4.4 Date): YYYY-MM
 * (the first of the month) or YYYY-MM-DD, then optionally
 * Thh:mm[:ss[.fraction]] and a zone; or epoch seconds (digits only, so a
 * bare YYYY reads as seconds, as the parser takes it).
 */
static bool date_parse(struct tg_cur s, struct tstamp *t)
{
    t->nsec = 0;
    bool digits = s.len > 0;
    for (size_t i = 0; i < s.len; i++) {
        digits = digits && is_digit(s.ptr[i]);
    }
    if (digits) {
        return tg_cur_to_i64(s, &t->sec) == 0;
    }
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int se = 0;
    if (!fixed_digits(s, 0, 4, &y) || s.len < 7 || s.ptr[4] != '-' || !fixed_digits(s, 5, 2, &mo) ||
        mo < 1 || mo > 12) {
        return false;
    }
    /* YYYY-MM is a date of the W3C profile too (spec 4.4 Date), and the
     * parser accepts it: the month starts at its first midnight UTC. */
    if (s.len == 7) {
        t->sec = tg_time_from_civil(y, mo, 1, 0, 0, 0);
        return true;
    }
    if (s.len < 10 || s.ptr[7] != '-' || !fixed_digits(s, 8, 2, &d) || d < 1 ||
        d > days_in_month(y, mo)) {
        return false;
    }
    size_t i = 10;
    if (i < s.len && (s.ptr[i] == 'T' || s.ptr[i] == 't')) {
        if (!fixed_digits(s, i + 1, 2, &h) || i + 3 >= s.len || s.ptr[i + 3] != ':' ||
            !fixed_digits(s, i + 4, 2, &mi) || h > 23 || mi > 59) {
            return false;
        }
        i += 6;
        if (i < s.len && s.ptr[i] == ':') {
            if (!fixed_digits(s, i + 1, 2, &se) || se > 59) {
                return false;
            }
            i += 3;
            if (i < s.len && s.ptr[i] == '.') {
                i++;
                size_t f0 = i;
                int32_t ns = 0;
                int32_t scale = 100000000;
                while (i < s.len && is_digit(s.ptr[i])) {
                    ns += (int32_t)(s.ptr[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i == f0) {
                    return false;
                }
                t->nsec = ns;
            }
        }
    } else if (i != s.len) {
        return false;
    }
    int64_t off = 0;
    if (!zone_parse(s, i, &off)) {
        return false;
    }
    t->sec = tg_time_from_civil(y, mo, d, h, mi, se) - off;
    return true;
}

static int ts_cmp(const struct tstamp *a, const struct tstamp *b)
{
    if (a->sec != b->sec) {
        return a->sec < b->sec ? -1 : 1;
    }
    if (a->nsec != b->nsec) {
        return a->nsec < b->nsec ? -1 : 1;
    }
    return 0;
}

/* ---- binary, IP --------------------------------------------------------------- */

/* BinaryEquals: the policy holds base64 (RFC 4648 §4, padded); the request
 * value is the bytes. Encodes the request on the fly and compares. */
static bool b64_equals(struct tg_cur b64, struct tg_cur raw)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (raw.len > (SIZE_MAX / 4) - 3 || b64.len != 4 * ((raw.len + 2) / 3)) {
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < raw.len; i += 3) {
        size_t n = raw.len - i < 3 ? raw.len - i : 3;
        uint32_t w = (uint32_t)raw.ptr[i] << 16;
        w |= n > 1 ? (uint32_t)raw.ptr[i + 1] << 8 : 0;
        w |= n > 2 ? (uint32_t)raw.ptr[i + 2] : 0;
        char q[4] = {tbl[(w >> 18) & 63], tbl[(w >> 12) & 63], n > 1 ? tbl[(w >> 6) & 63] : '=',
                     n > 2 ? tbl[w & 63] : '='};
        if (memcmp(b64.ptr + o, q, 4) != 0) {
            return false;
        }
        o += 4;
    }
    return true;
}

struct cidr {
    bool v6;
    uint8_t a[16];
    unsigned bits;
};

/* "addr" or (with prefix) "addr/len"; a bare address is /32 or /128
 * (spec 4.4 IP). An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is taken as
 * the IPv4 address, as a dual-stack listener reports IPv4 clients. */
static bool ip_parse(struct tg_cur s, bool allow_prefix, struct cidr *c)
{
    size_t slash = s.len;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '/') {
            slash = i;
            break;
        }
    }
    if (slash >= IP_TEXT_MAX || (slash < s.len && !allow_prefix)) {
        return false;
    }
    char buf[IP_TEXT_MAX];
    memcpy(buf, s.ptr, slash);
    buf[slash] = '\0';
    c->v6 = memchr(buf, ':', slash) != NULL;
    memset(c->a, 0, sizeof(c->a));
    if (inet_pton(c->v6 ? AF_INET6 : AF_INET, buf, c->a) != 1) {
        return false;
    }
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->v6 && !allow_prefix && memcmp(c->a, mapped, 12) == 0) {
        memmove(c->a, c->a + 12, 4);
        memset(c->a + 4, 0, 12);
        c->v6 = false;
    }
    unsigned max = c->v6 ? 128 : 32;
    c->bits = max;
    if (slash < s.len) {
        struct tg_cur pl = tg_cur_make(s.ptr + slash + 1, s.len - slash - 1);
        int64_t bits = 0;
        if (pl.len == 0 || pl.len > 3 || !is_digit(pl.ptr[0]) || tg_cur_to_i64(pl, &bits) < 0 ||
            bits < 0 || bits > (int64_t)max) {
            return false;
        }
        c->bits = (unsigned)bits;
    }
    return true;
}

static bool ip_in(const struct cidr *net, const struct cidr *addr)
{
    if (net->v6 != addr->v6) {
        return false;
    }
    unsigned full = net->bits / 8;
    if (full > 0 && memcmp(net->a, addr->a, full) != 0) {
        return false;
    }
    unsigned rest = net->bits % 8;
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (net->a[full] & mask) == (addr->a[full] & mask);
}

/* ---- operators ------------------------------------------------------------------ */

/* Negated operators: a request value satisfies them when it matches none of
 * the policy values (spec 4.4 Logic). */
static bool op_negated(enum cond_op op)
{
    switch (op) {
    case OP_STRING_NOT_EQUALS:
    case OP_STRING_NOT_EQUALS_IGNORE_CASE:
    case OP_STRING_NOT_LIKE:
    case OP_NUMERIC_NOT_EQUALS:
    case OP_DATE_NOT_EQUALS:
    case OP_NOT_IP_ADDRESS:
    case OP_ARN_NOT_EQUALS:
    case OP_ARN_NOT_LIKE:
        return true;
    default:
        return false;
    }
}

static bool cmp_holds(enum cond_op op, int c)
{
    switch (op) {
    case OP_NUMERIC_EQUALS:
    case OP_NUMERIC_NOT_EQUALS:
    case OP_DATE_EQUALS:
    case OP_DATE_NOT_EQUALS:
        return c == 0;
    case OP_NUMERIC_LESS_THAN:
    case OP_DATE_LESS_THAN:
        return c < 0;
    case OP_NUMERIC_LESS_THAN_EQUALS:
    case OP_DATE_LESS_THAN_EQUALS:
        return c <= 0;
    case OP_NUMERIC_GREATER_THAN:
    case OP_DATE_GREATER_THAN:
        return c > 0;
    case OP_NUMERIC_GREATER_THAN_EQUALS:
    case OP_DATE_GREATER_THAN_EQUALS:
        return c >= 0;
    default:
        return false;
    }
}

/* String family through pv_match; variables substitute (spec 4.4: String
 * and Arn operators, and Bool per the operator page). An unresolvable
 * variable matches nothing, so negated operators then hold. */
static enum match string_match(struct ectx *e, const struct pattern *pat, struct tg_cur v,
                               bool wild, bool nocase)
{
    struct pview pv;
    struct tg_cur raw = tg_cur_make(pat->text.s, pat->text.len);
    enum xres x = expand(raw, (pat->flags & PAT_VAR) != 0, e->req, &pv);
    if (x == X_BAD) {
        return unsupported(e, bad_why(&pv));
    }
    if (x == X_UNRESOLVED) {
        return MATCH_NO;
    }
    return pv_match(&pv, v, wild, nocase) ? MATCH_YES : MATCH_NO;
}

static int bool_of(struct tg_cur c)
{
    if (eq_nocase_lit(c, "true")) {
        return 1;
    }
    if (eq_nocase_lit(c, "false")) {
        return 0;
    }
    return -1;
}

/* Does request value v match policy value pat under the positive form of
 * op? Negation is applied by the caller. */
static enum match value_match(struct ectx *e, enum cond_op op, const struct pattern *pat,
                              struct tg_cur v)
{
    struct tg_cur raw = tg_cur_make(pat->text.s, pat->text.len);
    switch (op) {
    case OP_STRING_EQUALS:
    case OP_STRING_NOT_EQUALS:
        return string_match(e, pat, v, false, false);
    case OP_STRING_EQUALS_IGNORE_CASE:
    case OP_STRING_NOT_EQUALS_IGNORE_CASE:
        return string_match(e, pat, v, false, true);
    case OP_STRING_LIKE:
    case OP_STRING_NOT_LIKE:
        return string_match(e, pat, v, true, false);
    case OP_NUMERIC_EQUALS:
    case OP_NUMERIC_NOT_EQUALS:
    case OP_NUMERIC_LESS_THAN:
    case OP_NUMERIC_LESS_THAN_EQUALS:
    case OP_NUMERIC_GREATER_THAN:
    case OP_NUMERIC_GREATER_THAN_EQUALS: {
        struct dec a;
        struct dec b;
        if (!dec_parse(v, &a) || !dec_parse(raw, &b)) {
            return MATCH_NO;
        }
        return cmp_holds(op, dec_cmp(&a, &b)) ? MATCH_YES : MATCH_NO;
    }
    case OP_DATE_EQUALS:
    case OP_DATE_NOT_EQUALS:
    case OP_DATE_LESS_THAN:
    case OP_DATE_LESS_THAN_EQUALS:
    case OP_DATE_GREATER_THAN:
    case OP_DATE_GREATER_THAN_EQUALS: {
        struct tstamp a;
        struct tstamp b;
        if (!date_parse(v, &a) || !date_parse(raw, &b)) {
            return MATCH_NO;
        }
        return cmp_holds(op, ts_cmp(&a, &b)) ? MATCH_YES : MATCH_NO;
    }
    case OP_BOOL: {
        struct pview pv;
        enum xres x = expand(raw, (pat->flags & PAT_VAR) != 0, e->req, &pv);
        if (x == X_BAD) {
            return unsupported(e, bad_why(&pv));
        }
        /* A substituted value is at most one segment here in practice;
         * compare through pv_match against both spellings. */
        int rb = bool_of(v);
        if (x == X_UNRESOLVED || rb < 0) {
            return MATCH_NO;
        }
        bool pt = pv_match(&pv, tg_cur_make("true", 4), false, true);
        bool pf = pv_match(&pv, tg_cur_make("false", 5), false, true);
        return (rb == 1 && pt) || (rb == 0 && pf) ? MATCH_YES : MATCH_NO;
    }
    case OP_BINARY_EQUALS:
        return b64_equals(raw, v) ? MATCH_YES : MATCH_NO;
    case OP_IP_ADDRESS:
    case OP_NOT_IP_ADDRESS: {
        struct cidr net;
        struct cidr addr;
        if (!ip_parse(raw, true, &net) || !ip_parse(v, false, &addr)) {
            return MATCH_NO;
        }
        return ip_in(&net, &addr) ? MATCH_YES : MATCH_NO;
    }
    case OP_ARN_EQUALS:
    case OP_ARN_LIKE:
    case OP_ARN_NOT_EQUALS:
    case OP_ARN_NOT_LIKE:
        return arn_match(e, raw, (pat->flags & PAT_VAR) != 0, true, v);
    case OP_NULL:
    case OP_COUNT:
        break;
    }
    return unsupported(e, "unsupported: operator");
}

/* One request value against all policy values: OR over policy values, or
 * "none of them" for a negated operator (spec 4.4 Logic). */
static enum match one_value(struct ectx *e, const struct condition *cd, struct tg_cur v)
{
    bool unsup = false;
    bool any = false;
    for (size_t i = 0; i < cd->n_values && !any; i++) {
        enum match m = value_match(e, cd->op, &cd->values[i], v);
        any = m == MATCH_YES;
        unsup = unsup || m == MATCH_UNSUPPORTED;
    }
    if (!any && unsup) {
        return MATCH_UNSUPPORTED; /* a later value might have matched */
    }
    return any != op_negated(cd->op) ? MATCH_YES : MATCH_NO;
}

/* Null: "true" = the key is absent (or has no value), "false" = present
 * (spec 4.4 Existence). */
static enum match null_eval(struct ectx *e, const struct condition *cd, bool present)
{
    if (cd->if_exists || cd->qual != SQ_NONE) {
        return unsupported(e, WHY_NULL_QUAL);
    }
    for (size_t i = 0; i < cd->n_values; i++) {
        int b = bool_of(tg_cur_make(cd->values[i].text.s, cd->values[i].text.len));
        if ((b == 1 && !present) || (b == 0 && present)) {
            return MATCH_YES;
        }
    }
    return MATCH_NO;
}

/* A request set that "resolves to an empty data set": no values, or only
 * empty strings (spec 4.4 Set operators: ForAllValues: is true "when the
 * request set is empty / only empty string", ForAnyValue: false). */
static bool set_empty(const struct tg_policy_ctx_entry *entry)
{
    for (size_t i = 0; i < entry->n_values; i++) {
        if (entry->values[i] != NULL && entry->values[i][0] != '\0') {
            return false;
        }
    }
    return true;
}

/*
 * One (operator, key) of a statement:
 *   - key absent: IfExists -> true; ForAnyValue: -> false; ForAllValues: ->
 *     true; otherwise false, or true for a negated operator (spec 4.4
 *     "Important" box). A present key without values counts as absent
 *     when there is no set operator; with one, a present key without
 *     values or with only empty strings is the empty set (IfExists does
 *     not apply: the key exists).
 *   - ForAllValues: every request value satisfies the operator;
 *     ForAnyValue: and plain operators: at least one does (for a plain
 *     operator on a multi-valued key, AWS's single-valued rule: any).
 */
static enum match cond_eval(struct ectx *e, const struct condition *cd,
                            const struct tg_policy_ctx_entry *entry)
{
    bool present = entry != NULL && entry->n_values > 0;
    if (cd->op == OP_NULL) {
        return null_eval(e, cd, present);
    }
    if (entry == NULL || (cd->qual == SQ_NONE && !present)) {
        if (cd->if_exists) {
            return MATCH_YES;
        }
        if (cd->qual != SQ_NONE) {
            return cd->qual == SQ_FOR_ALL_VALUES ? MATCH_YES : MATCH_NO;
        }
        return op_negated(cd->op) ? MATCH_YES : MATCH_NO;
    }
    if (cd->qual != SQ_NONE && set_empty(entry)) {
        return cd->qual == SQ_FOR_ALL_VALUES ? MATCH_YES : MATCH_NO;
    }
    bool all = cd->qual == SQ_FOR_ALL_VALUES;
    bool unsup = false;
    for (size_t i = 0; i < entry->n_values; i++) {
        if (entry->values[i] == NULL) {
            continue;
        }
        enum match m = one_value(e, cd, cstr(entry->values[i]));
        if (m == MATCH_UNSUPPORTED) {
            unsup = true;
        } else if (all && m == MATCH_NO) {
            return MATCH_NO;
        } else if (!all && m == MATCH_YES) {
            return MATCH_YES;
        }
    }
    if (unsup) {
        return MATCH_UNSUPPORTED;
    }
    return all ? MATCH_YES : MATCH_NO;
}

/* ---- principal, action, resource -------------------------------------------- */

/* Principal "*" (stored as {"AWS":"*"}, spec 4.2) is everyone; otherwise
 * the type and the value must be equal exactly (no partial wildcards in
 * principals, spec 4.2). */
static bool principal_match(const struct statement *st, const struct tg_policy_request *req)
{
    for (size_t i = 0; i < st->n_principals; i++) {
        const struct principal *pr = &st->principals[i];
        struct tg_cur val = tg_cur_make(pr->value.s, pr->value.len);
        if (tg_cur_eq_str(val, "*")) {
            return true;
        }
        if (req->principal_type == NULL || req->principal == NULL) {
            continue;
        }
        if (strcmp(tg_policy_principal_type_names[pr->type], req->principal_type) == 0 &&
            tg_cur_eq(val, cstr(req->principal))) {
            return true;
        }
    }
    return false;
}

bool tg_policy_glob(struct tg_cur pattern, struct tg_cur s, bool nocase)
{
    return glob_plain(pattern, s, nocase);
}

/* Actions were lower-cased by the parser; the request is folded here
 * (spec 4.3: case-insensitive). Variables do not apply to actions. */
static bool action_match(const struct statement *st, struct tg_cur action)
{
    for (size_t i = 0; i < st->n_actions; i++) {
        struct tg_cur pat = tg_cur_make(st->actions[i].text.s, st->actions[i].text.len);
        if (glob_plain(pat, action, true)) {
            return true;
        }
    }
    return false;
}

/* Resources are case-sensitive; "*" is every resource; otherwise the ARN
 * parts match one by one (spec 4.3), variables only in the resource part.
 * A pattern or request that is not a six-part ARN is matched as a whole. */
static enum match resource_match(struct ectx *e, const struct statement *st, struct tg_cur res)
{
    bool unsup = false;
    for (size_t i = 0; i < st->n_resources; i++) {
        const struct pattern *pat = &st->resources[i];
        struct tg_cur raw = tg_cur_make(pat->text.s, pat->text.len);
        bool vars = (pat->flags & PAT_VAR) != 0;
        struct tg_cur pp[6];
        struct tg_cur vp[6];
        enum match m;
        if (arn_split(raw, vars, pp) && arn_split(res, false, vp)) {
            m = arn_match(e, raw, vars, false, res);
        } else if (vars) {
            m = unsupported(e, WHY_VAR_PLACE);
        } else {
            m = glob_plain(raw, res, false) ? MATCH_YES : MATCH_NO;
        }
        if (m == MATCH_YES) {
            return MATCH_YES;
        }
        unsup = unsup || m == MATCH_UNSUPPORTED;
    }
    return unsup ? MATCH_UNSUPPORTED : MATCH_NO;
}

/* ---- trace ------------------------------------------------------------------------ */

static void trace_condition(struct tg_json_w *w, const struct condition *cd,
                            const struct tg_policy_ctx_entry *entry, enum match m, const char *why)
{
    char name[96];
    static const char *const quals[] = {"", "ForAnyValue:", "ForAllValues:"};
    (void)tg_concat(name, sizeof(name), quals[cd->qual], tg_policy_op_names[cd->op],
                    cd->if_exists ? "IfExists" : "", NULL);
    tg_json_w_object(w);
    tg_json_w_key(w, "operator");
    tg_json_w_string(w, name);
    tg_json_w_key(w, "key");
    tg_json_w_stringn(w, cd->key.s, cd->key.len);
    tg_json_w_key(w, "request_values");
    if (entry != NULL) {
        tg_json_w_array(w);
        for (size_t i = 0; i < entry->n_values && i < TRACE_MAX_VALUES; i++) {
            tg_json_w_string(w, entry->values[i]);
        }
        tg_json_w_array_end(w);
        if (entry->n_values > TRACE_MAX_VALUES) {
            tg_json_w_key(w, "request_values_total");
            tg_json_w_int(w, (int64_t)entry->n_values);
        }
    } else {
        tg_json_w_null(w);
    }
    tg_json_w_key(w, "policy_values");
    tg_json_w_array(w);
    for (size_t i = 0; i < cd->n_values && i < TRACE_MAX_VALUES; i++) {
        tg_json_w_stringn(w, cd->values[i].text.s, cd->values[i].text.len);
    }
    tg_json_w_array_end(w);
    if (cd->n_values > TRACE_MAX_VALUES) {
        tg_json_w_key(w, "policy_values_total");
        tg_json_w_int(w, (int64_t)cd->n_values);
    }
    tg_json_w_key(w, "result");
    tg_json_w_bool(w, m == MATCH_YES);
    if (m == MATCH_UNSUPPORTED && why != NULL) {
        tg_json_w_key(w, "unsupported");
        tg_json_w_string(w, why);
    }
    tg_json_w_object_end(w);
}

/* ---- results ------------------------------------------------------------------ */

static void note_missing(struct tg_policy_result *res, const struct condition *cd)
{
    size_t stored = res->n_missing < TG_POLICY_MAX_MISSING ? res->n_missing : TG_POLICY_MAX_MISSING;
    for (size_t i = 0; i < stored; i++) {
        if (strcasecmp(res->missing[i], cd->key.s) == 0) {
            return;
        }
    }
    if (res->n_missing < TG_POLICY_MAX_MISSING) {
        res->missing[res->n_missing] = cd->key.s;
    }
    res->n_missing++;
}

static void note_matched(struct tg_policy_result *res, enum tg_policy_set set, size_t policy,
                         size_t statement)
{
    if (res->n_matched < TG_POLICY_MAX_MATCHED) {
        res->matched[res->n_matched].set = set;
        res->matched[res->n_matched].policy = policy;
        res->matched[res->n_matched].statement = statement;
    }
    res->n_matched++;
}

/* ---- statements ---------------------------------------------------------------------- */

/*
 * Does st apply to the request? MATCH_UNSUPPORTED when it cannot be
 * decided. With a trace (conds != NULL, inside the statement's "conditions"
 * array) every condition is evaluated and recorded; without, evaluation
 * stops at the first false one. Both give
 * the same result: a false condition makes the statement not apply
 * whatever the others say, else any undecidable one fails closed.
 */
static enum match statement_eval(struct ectx *e, const struct statement *st, const char **reason,
                                 struct tg_json_w *conds)
{
    const struct tg_policy_request *req = e->req;
    *reason = NULL;
    e->unsupported = NULL;
    if (st->principal_kind != PK_NONE) {
        bool m = principal_match(st, req);
        if (m != (st->principal_kind == PK_PRINCIPAL)) {
            *reason = "principal";
            return MATCH_NO;
        }
    }
    if (req->action == NULL) {
        *reason = "action";
        return MATCH_NO;
    }
    if (st->action_kind != LK_NONE) {
        bool m = action_match(st, cstr(req->action));
        if (m != (st->action_kind == LK_POSITIVE)) {
            *reason = "action";
            return MATCH_NO;
        }
    }
    if (st->resource_kind != LK_NONE && req->resource != NULL) {
        enum match m = resource_match(e, st, cstr(req->resource));
        if (m == MATCH_UNSUPPORTED) {
            *reason = e->unsupported;
            return MATCH_UNSUPPORTED;
        }
        if ((m == MATCH_YES) != (st->resource_kind == LK_POSITIVE)) {
            *reason = "resource";
            return MATCH_NO;
        }
    }
    bool failed = false;
    bool unsup = false;
    for (size_t i = 0; i < st->n_conditions && (conds != NULL || e->res != NULL || !failed); i++) {
        const struct condition *cd = &st->conditions[i];
        const struct tg_policy_ctx_entry *entry =
            ctx_find(req, tg_cur_make(cd->key_lower.s, cd->key_lower.len));
        if (entry == NULL && e->res != NULL) {
            note_missing(e->res, cd);
        }
        const char *before = e->unsupported;
        e->unsupported = NULL;
        enum match m = cond_eval(e, cd, entry);
        const char *why = e->unsupported;
        e->unsupported = before != NULL ? before : why;
        if (conds != NULL) {
            trace_condition(conds, cd, entry, m, why);
        }
        failed = failed || m == MATCH_NO;
        unsup = unsup || m == MATCH_UNSUPPORTED;
    }
    if (failed) {
        *reason = "condition";
        return MATCH_NO;
    }
    if (unsup) {
        *reason = e->unsupported;
        return MATCH_UNSUPPORTED;
    }
    return MATCH_YES;
}

const char *tg_policy_decision_name(enum tg_policy_decision d)
{
    switch (d) {
    case TG_POLICY_ALLOW:
        return "allowed";
    case TG_POLICY_DENY_EXPLICIT:
        return "explicitDeny";
    case TG_POLICY_DENY_IMPLICIT:
        break;
    }
    return "implicitDeny";
}

/* The statements a set of policies matched, until the decision says which
 * of them decided. */
struct matches {
    struct tg_policy_result *res; /* NULL: nothing collected */
    struct {
        enum tg_policy_set set;
        size_t policy, statement;
    } deny[TG_POLICY_MAX_MATCHED];
    size_t n_deny;
};

/* One policy: its decision; with m, its deciding statements (Allows into
 * m->res, Denies and fail-closed ones into m->deny). */
static enum tg_policy_decision policy_run(const struct tg_policy *p, struct ectx *e,
                                          struct tg_json_w *trace, struct matches *m,
                                          enum tg_policy_set set, size_t index)
{
    bool allow = false;
    bool deny = false;
    bool full = trace != NULL || m != NULL;
    if (trace != NULL) {
        tg_json_w_array(trace);
    }
    for (size_t i = 0; i < p->n_statements; i++) {
        const struct statement *st = &p->statements[i];
        const char *reason = NULL;
        enum match r = statement_eval(e, st, &reason, NULL);
        bool denies = r == MATCH_UNSUPPORTED || (r == MATCH_YES && !st->allow);
        if (denies) {
            deny = true; /* an unsupported statement fails closed */
        } else if (r == MATCH_YES) {
            allow = true;
        }
        if (m != NULL && (denies || r == MATCH_YES)) {
            if (!denies) {
                note_matched(m->res, set, index, i);
            } else {
                if (m->n_deny < TG_POLICY_MAX_MATCHED) {
                    m->deny[m->n_deny].set = set;
                    m->deny[m->n_deny].policy = index;
                    m->deny[m->n_deny].statement = i;
                }
                m->n_deny++;
            }
        }
        if (trace != NULL) {
            /* JSON is written in order and the outcome comes before the
             * conditions: the statement is evaluated again, this time
             * recording every condition (same result, statement_eval). */
            tg_json_w_object(trace);
            tg_json_w_key(trace, "statement");
            tg_json_w_int(trace, (int64_t)st->index);
            tg_json_w_key(trace, "sid");
            if (st->has_sid) {
                tg_json_w_stringn(trace, st->sid.s, st->sid.len);
            } else {
                tg_json_w_null(trace);
            }
            tg_json_w_key(trace, "effect");
            tg_json_w_string(trace, st->allow ? "Allow" : "Deny");
            tg_json_w_key(trace, "matched");
            tg_json_w_bool(trace, r == MATCH_YES);
            tg_json_w_key(trace, "reason");
            tg_json_w_string(trace, reason);
            tg_json_w_key(trace, "conditions");
            tg_json_w_array(trace);
            const char *again = NULL;
            struct tg_policy_result *res = e->res;
            e->res = NULL; /* missing keys were noted in the first pass */
            (void)statement_eval(e, st, &again, trace);
            e->res = res;
            tg_json_w_array_end(trace);
            tg_json_w_object_end(trace);
        }
        if (deny && !full) {
            break; /* nothing can undo an explicit deny */
        }
    }
    if (trace != NULL) {
        tg_json_w_array_end(trace);
    }
    if (deny) {
        return TG_POLICY_DENY_EXPLICIT;
    }
    return allow ? TG_POLICY_ALLOW : TG_POLICY_DENY_IMPLICIT;
}

enum tg_policy_decision tg_policy_evaluate(const struct tg_policy *p,
                                           const struct tg_policy_request *req,
                                           struct tg_json_w *trace)
{
    if (p == NULL || req == NULL) {
        if (trace != NULL) {
            tg_json_w_array(trace);
            tg_json_w_array_end(trace);
        }
        return TG_POLICY_DENY_IMPLICIT;
    }
    struct ectx e = {req, NULL, NULL};
    return policy_run(p, &e, trace, NULL, TG_POLICY_SET_IDENTITY, 0);
}

/* Runs one set; *allow and *deny say whether any of its policies allowed
 * or denied. */
static void set_run(const struct tg_policy *const *ps, size_t n, enum tg_policy_set set,
                    struct ectx *e, struct matches *m, struct tg_json_w *trace, bool *allow,
                    bool *deny)
{
    for (size_t i = 0; i < n && (m != NULL || trace != NULL || !*deny); i++) {
        if (ps[i] == NULL) {
            continue;
        }
        if (trace != NULL) {
            tg_json_w_object(trace);
            tg_json_w_key(trace, "set");
            tg_json_w_string(trace, set == TG_POLICY_SET_SESSION ? "session" : "identity");
            tg_json_w_key(trace, "policy");
            tg_json_w_int(trace, (int64_t)i);
            /* The decision comes after the statements, which decide it. */
            tg_json_w_key(trace, "statements");
        }
        enum tg_policy_decision d = policy_run(ps[i], e, trace, m, set, i);
        if (trace != NULL) {
            tg_json_w_key(trace, "decision");
            tg_json_w_string(trace, tg_policy_decision_name(d));
            tg_json_w_object_end(trace);
        }
        *allow = *allow || d == TG_POLICY_ALLOW;
        *deny = *deny || d == TG_POLICY_DENY_EXPLICIT;
    }
}

enum tg_policy_decision tg_policy_authorize(const struct tg_policy *const *identity,
                                            size_t n_identity,
                                            const struct tg_policy *const *session,
                                            size_t n_session, const struct tg_policy_request *req,
                                            struct tg_policy_result *res, struct tg_json_w *trace)
{
    struct matches m;
    struct matches *mp = NULL;
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
        m.res = res;
        m.n_deny = 0;
        mp = &m;
    }
    if (trace != NULL) {
        tg_json_w_array(trace);
    }
    bool id_allow = false, s_allow = false, deny = false;
    enum tg_policy_decision d = TG_POLICY_DENY_IMPLICIT;
    if (req != NULL) {
        struct ectx e = {req, NULL, res};
        set_run(identity, n_identity, TG_POLICY_SET_IDENTITY, &e, mp, trace, &id_allow, &deny);
        set_run(session, n_session, TG_POLICY_SET_SESSION, &e, mp, trace, &s_allow, &deny);
        /* spec 4.5: a Deny anywhere wins; the session policies can only
         * narrow what the identity policies allow (a NULL one, gone,
         * allows nothing but still narrows). */
        if (deny) {
            d = TG_POLICY_DENY_EXPLICIT;
        } else if (id_allow && (n_session == 0 || s_allow)) {
            d = TG_POLICY_ALLOW;
        }
    }
    if (trace != NULL) {
        tg_json_w_array_end(trace);
    }
    if (res != NULL) {
        res->decision = d;
        if (d == TG_POLICY_DENY_EXPLICIT) {
            size_t stored = m.n_deny < TG_POLICY_MAX_MATCHED ? m.n_deny : TG_POLICY_MAX_MATCHED;
            for (size_t i = 0; i < stored; i++) {
                res->matched[i].set = m.deny[i].set;
                res->matched[i].policy = m.deny[i].policy;
                res->matched[i].statement = m.deny[i].statement;
            }
            res->n_matched = m.n_deny;
        } else if (d == TG_POLICY_DENY_IMPLICIT) {
            res->n_matched = 0;
        }
    }
    return d;
}
