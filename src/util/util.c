/*
 * util: cursors, bounded buffers, encodings, text checks, time formats,
 * randomness and secret handling. See util.h for the contracts.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/util.h"

/* ---- cursors ------------------------------------------------------------ */

struct tg_cur tg_cur_str(const char *s)
{
    if (s == NULL) {
        return tg_cur_make(NULL, 0);
    }
    return tg_cur_make(s, strlen(s));
}

bool tg_cur_eq(struct tg_cur a, struct tg_cur b)
{
    if (a.len != b.len) {
        return false;
    }
    return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

bool tg_cur_eq_str(struct tg_cur a, const char *s)
{
    return tg_cur_eq(a, tg_cur_str(s));
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

bool tg_cur_eq_nocase(struct tg_cur a, struct tg_cur b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (ascii_lower(a.ptr[i]) != ascii_lower(b.ptr[i])) {
            return false;
        }
    }
    return true;
}

bool tg_cur_eq_nocase_str(struct tg_cur a, const char *s)
{
    return tg_cur_eq_nocase(a, tg_cur_str(s));
}

bool tg_cur_starts_with(struct tg_cur a, const char *prefix)
{
    struct tg_cur p = tg_cur_str(prefix);
    if (p.len > a.len) {
        return false;
    }
    return p.len == 0 || memcmp(a.ptr, p.ptr, p.len) == 0;
}

long tg_cur_find(struct tg_cur a, uint8_t c, size_t from)
{
    if (from >= a.len) {
        return -1;
    }
    const uint8_t *hit = memchr(a.ptr + from, c, a.len - from);
    return hit != NULL ? (long)(hit - a.ptr) : -1;
}

int tg_cur_to_i64(struct tg_cur a, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (a.len > 0 && a.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t digits = a.len - i;
    /* 18 digits always fit in int64 (max 9.2e18), so no overflow checks. */
    if (digits == 0 || digits > 18) {
        return -1;
    }
    int64_t v = 0;
    for (; i < a.len; i++) {
        uint8_t c = a.ptr[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

char *tg_cur_strdup(struct tg_cur a)
{
    char *s = malloc(a.len + 1);
    if (s == NULL) {
        return NULL;
    }
    if (a.len > 0) {
        memcpy(s, a.ptr, a.len);
    }
    s[a.len] = '\0';
    return s;
}

/* ---- buffers -------------------------------------------------------------
 * Invariant: cap >= len + 1 once anything is allocated, so tg_buf_nul never
 * needs to grow past max + 1. */

void tg_buf_init(struct tg_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->secret = false;
}

void tg_buf_init_secret(struct tg_buf *b, size_t max)
{
    tg_buf_init(b, max);
    b->secret = true;
}

/* Makes room for extra more bytes plus a NUL slot. */
static int buf_reserve(struct tg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t limit = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
    size_t cap = b->cap > 0 ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    }
    if (cap > limit) {
        cap = limit;
    }
    if (cap < need) {
        return -1;
    }
    uint8_t *p;
    if (b->secret) {
        /* realloc could leave a copy of the secret behind in freed memory. */
        p = malloc(cap);
        if (p == NULL) {
            return -1;
        }
        if (b->ptr != NULL) {
            memcpy(p, b->ptr, b->len);
            OPENSSL_cleanse(b->ptr, b->cap);
            free(b->ptr);
        }
    } else {
        p = realloc(b->ptr, cap);
        if (p == NULL) {
            return -1;
        }
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int tg_buf_reserve(struct tg_buf *b, size_t n)
{
    return buf_reserve(b, n);
}

int tg_buf_append(struct tg_buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    /* The usual case, room already there (and the NUL slot after it). */
    if (b->cap - b->len <= n || b->max - b->len < n) {
        TG_GUARD(buf_reserve(b, n));
    }
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

int tg_buf_append_byte(struct tg_buf *b, uint8_t c)
{
    return tg_buf_append(b, &c, 1);
}

int tg_buf_append_str(struct tg_buf *b, const char *s)
{
    return tg_buf_append(b, s, strlen(s));
}

int tg_buf_append_cur(struct tg_buf *b, struct tg_cur c)
{
    return tg_buf_append(b, c.ptr, c.len);
}

int tg_buf_appendf(struct tg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    int rc = -1;
    if (n < 0) {
        goto out;
    }
    TG_GUARD_GOTO(buf_reserve(b, (size_t)n), out);
    /* buf_reserve left room for n bytes plus the NUL vsnprintf writes. */
    if (vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap2) != n) {
        goto out;
    }
    b->len += (size_t)n;
    rc = 0;
out:
    va_end(ap2);
    return rc;
}

int tg_buf_nul(struct tg_buf *b)
{
    if (b->cap < b->len + 1) {
        /* Only reached when nothing is allocated yet (len == 0). */
        TG_GUARD(buf_reserve(b, 0));
    }
    b->ptr[b->len] = 0;
    return 0;
}

struct tg_cur tg_buf_cur(const struct tg_buf *b)
{
    return tg_cur_make(b->ptr, b->len);
}

void tg_buf_reset(struct tg_buf *b)
{
    if (b->secret && b->ptr != NULL) {
        OPENSSL_cleanse(b->ptr, b->cap);
    }
    b->len = 0;
}

void tg_buf_free(struct tg_buf *b)
{
    if (b->ptr != NULL) {
        if (b->secret) {
            OPENSSL_cleanse(b->ptr, b->cap);
        }
        free(b->ptr);
    }
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

char *tg_buf_steal(struct tg_buf *b)
{
    if (tg_buf_nul(b) < 0) {
        return NULL;
    }
    char *s = (char *)b->ptr;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}

/* Drops bytes appended after a failed decode, wiping them if secret, so a
 * decoder leaves out as it found it. */
static void buf_truncate(struct tg_buf *b, size_t len)
{
    if (b->len > len) {
        if (b->secret) {
            OPENSSL_cleanse(b->ptr + len, b->len - len);
        }
        b->len = len;
    }
}

/* ---- encodings ------------------------------------------------------------ */

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

static int hex_val(uint8_t c)
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

void tg_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int tg_hex_decode(struct tg_cur in, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (in.len % 2 != 0 || in.len / 2 > out_cap) {
        return -1;
    }
    /* Validate everything before writing any output. */
    for (size_t i = 0; i < in.len; i++) {
        if (hex_val(in.ptr[i]) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < in.len / 2; i++) {
        out[i] = (uint8_t)((hex_val(in.ptr[2 * i]) << 4) | hex_val(in.ptr[2 * i + 1]));
    }
    *out_len = in.len / 2;
    return 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decoding tables: value + 1 for each character of the alphabet, 0 (the
 * default of a designated initializer) for every other byte. One lookup per
 * character instead of five range tests: every request decodes a token. */
#define B64_DEC_COMMON                                                                             \
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,        \
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, \
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23,            \
    ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,            \
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,            \
    ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44,            \
    ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,            \
    ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58,            \
    ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62
static const uint8_t b64_dec_std[256] = {B64_DEC_COMMON, ['+'] = 63, ['/'] = 64};
static const uint8_t b64_dec_url[256] = {B64_DEC_COMMON, ['-'] = 63, ['_'] = 64};
#undef B64_DEC_COMMON

static int b64_encode(struct tg_buf *out, const uint8_t *in, size_t n, bool url)
{
    const char *alpha = url ? b64_url : b64_std;
    /* RFC 4648 §5 as used by JOSE (RFC 7515 §2) omits the padding. */
    size_t rest = n % 3;
    size_t olen = n / 3 * 4 + (rest == 0 ? 0 : url ? rest + 1 : 4);
    if (n / 3 > (SIZE_MAX - 4) / 4) {
        return -1;
    }
    /* Room for the whole output at once, then written in place: one
     * bounds check instead of one per quantum. */
    TG_GUARD(buf_reserve(out, olen));
    char *o = (char *)out->ptr + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        *o++ = alpha[(v >> 18) & 63];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        *o++ = alpha[v & 63];
    }
    if (rest > 0) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (rest == 2) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        char q[4] = {alpha[(v >> 18) & 63], alpha[(v >> 12) & 63],
                     rest == 2 ? alpha[(v >> 6) & 63] : '=', '='};
        memcpy(o, q, url ? rest + 1 : 4);
    }
    out->len += olen;
    return 0;
}

/* Decodes len characters of which the last group may be partial (2 or 3
 * characters). Non-canonical encodings, whose unused trailing bits are not
 * zero, are refused (RFC 4648 §3.5) so each byte string has one encoding. */
static int b64_decode_chars(struct tg_buf *out, const uint8_t *p, size_t len, bool url)
{
    const uint8_t *t = url ? b64_dec_url : b64_dec_std;
    if (len % 4 == 1) {
        return -1;
    }
    size_t rest = len % 4;
    size_t olen = len / 4 * 3 + (rest > 0 ? rest - 1 : 0);
    /* Room for the whole output at once, then written in place; len is
     * reset on failure so out is left as it was found. */
    TG_GUARD(buf_reserve(out, olen));
    size_t start = out->len;
    uint8_t *o = out->ptr + out->len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        /* Table entries are value + 1, so a 0 (not in the alphabet) in any
         * of the four makes the product 0. */
        uint32_t a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]], d = t[p[i + 3]];
        if (a == 0 || b == 0 || c == 0 || d == 0) {
            goto fail;
        }
        uint32_t v = ((a - 1) << 18) | ((b - 1) << 12) | ((c - 1) << 6) | (d - 1);
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    if (rest >= 2) {
        uint32_t a = t[p[i]], b = t[p[i + 1]];
        uint32_t c = rest == 3 ? t[p[i + 2]] : 1;
        if (a == 0 || b == 0 || c == 0) {
            goto fail;
        }
        uint32_t v = ((a - 1) << 18) | ((b - 1) << 12) | ((c - 1) << 6);
        if (rest == 2 && (v & 0xffff) != 0) {
            goto fail;
        }
        if (rest == 3 && (v & 0xff) != 0) {
            goto fail;
        }
        *o++ = (uint8_t)(v >> 16);
        if (rest == 3) {
            *o++ = (uint8_t)(v >> 8);
        }
    }
    out->len += olen;
    return 0;
fail:
    /* Wipes what was written past len (out->len was not moved yet). */
    if (out->secret) {
        OPENSSL_cleanse(out->ptr + start, olen);
    }
    return -1;
}

int tg_base64_encode(struct tg_buf *out, const uint8_t *in, size_t n)
{
    return b64_encode(out, in, n, false);
}

int tg_base64_decode(struct tg_buf *out, struct tg_cur in)
{
    /* RFC 4648 §4: the input is whole quanta, padded with '=' at the end. */
    if (in.len % 4 != 0) {
        return -1;
    }
    size_t len = in.len;
    if (len > 0 && in.ptr[len - 1] == '=') {
        len--;
        if (in.ptr[len - 1] == '=') {
            len--;
        }
    }
    return b64_decode_chars(out, in.ptr, len, false);
}

int tg_base64url_encode(struct tg_buf *out, const uint8_t *in, size_t n)
{
    return b64_encode(out, in, n, true);
}

int tg_base64url_decode(struct tg_buf *out, struct tg_cur in)
{
    /* '=' is not in the url alphabet, so padding is refused by b64_val. */
    return b64_decode_chars(out, in.ptr, in.len, true);
}

static bool url_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int tg_url_encode(struct tg_buf *out, struct tg_cur in)
{
    size_t start = out->len;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (url_unreserved(c)) {
            TG_GUARD_GOTO(tg_buf_append_byte(out, c), fail);
        } else {
            char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
            TG_GUARD_GOTO(tg_buf_append(out, e, 3), fail);
        }
    }
    return 0;
fail:
    buf_truncate(out, start);
    return -1;
}

int tg_url_decode(struct tg_buf *out, struct tg_cur in, bool plus_is_space)
{
    size_t start = out->len;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (c == '%') {
            if (in.len - i < 3) {
                goto fail;
            }
            int hi = hex_val(in.ptr[i + 1]), lo = hex_val(in.ptr[i + 2]);
            if (hi < 0 || lo < 0) {
                goto fail;
            }
            c = (uint8_t)((hi << 4) | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        TG_GUARD_GOTO(tg_buf_append_byte(out, c), fail);
    }
    return 0;
fail:
    buf_truncate(out, start);
    return -1;
}

void tg_id_base32(const char *prefix, const uint8_t *rnd, size_t n, char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    /* 256 is a multiple of 32, so the low 5 bits of a uniform byte are
     * uniform. */
    for (size_t i = 0; i < n; i++) {
        out[p + i] = alpha[rnd[i] & 31];
    }
    out[p + n] = '\0';
}

/* ---- text checks ----------------------------------------------------------- */

/* RFC 3629 §4 syntax: refuses overlong forms, surrogates and code points
 * above U+10FFFF. */
size_t tg_utf8_seq(const uint8_t *p, size_t avail)
{
    if (avail == 0) {
        return 0;
    }
    uint8_t c = p[0];
    if (c < 0x80) {
        return 1;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return n;
}

bool tg_utf8_valid(struct tg_cur s)
{
    size_t i = 0;
    while (i < s.len) {
        size_t n = tg_utf8_seq(s.ptr + i, s.len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

size_t tg_utf8_len(struct tg_cur s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if ((s.ptr[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* ---- time ------------------------------------------------------------------
 * days_from_civil / civil_from_days: H. Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms" (proleptic Gregorian, exact for all int years). */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t tg_time_from_civil(int y, int mon, int d, int h, int min, int s)
{
    return days_from_civil(y, mon, d) * 86400 + (int64_t)h * 3600 + (int64_t)min * 60 + s;
}

struct civil {
    int64_t y;
    int mon, d, h, min, s;
};

/* The formats have four-digit years, so times are clamped to years
 * 0000..9999 rather than printing a field that does not fit. */
static struct civil to_civil(int64_t t)
{
    const int64_t lo = -62167219200; /* 0000-01-01T00:00:00Z */
    const int64_t hi = 253402300799; /* 9999-12-31T23:59:59Z */
    if (t < lo) {
        t = lo;
    } else if (t > hi) {
        t = hi;
    }
    struct civil c;
    int64_t days = t / 86400;
    int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    civil_from_days(days, &c.y, &c.mon, &c.d);
    c.h = (int)(secs / 3600);
    c.min = (int)(secs / 60 % 60);
    c.s = (int)(secs % 60);
    return c;
}

static char *put_num(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

static char *put_date_time(char *p, const struct civil *c, bool sep)
{
    p = put_num(p, c->y, 4);
    if (sep) {
        *p++ = '-';
    }
    p = put_num(p, c->mon, 2);
    if (sep) {
        *p++ = '-';
    }
    p = put_num(p, c->d, 2);
    *p++ = 'T';
    p = put_num(p, c->h, 2);
    if (sep) {
        *p++ = ':';
    }
    p = put_num(p, c->min, 2);
    if (sep) {
        *p++ = ':';
    }
    return put_num(p, c->s, 2);
}

void tg_time_iso8601(int64_t t, char out[TG_ISO8601_LEN])
{
    struct civil c = to_civil(t);
    char *p = put_date_time(out, &c, true);
    *p++ = 'Z';
    *p = '\0';
}

void tg_time_iso8601_ms(int64_t t_ms, char out[TG_ISO8601_MS_LEN])
{
    int64_t t = t_ms / 1000;
    int64_t ms = t_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        t--;
    }
    struct civil c = to_civil(t);
    char *p = put_date_time(out, &c, true);
    *p++ = '.';
    p = put_num(p, ms, 3);
    *p++ = 'Z';
    *p = '\0';
}

void tg_time_amzdate(int64_t t, char out[TG_AMZDATE_LEN])
{
    struct civil c = to_civil(t);
    char *p = put_date_time(out, &c, false);
    *p++ = 'Z';
    *p = '\0';
}

static bool parse_num(const uint8_t *p, int width, int *out)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (m == 2 && leap) ? 29 : days[m - 1];
}

int tg_time_parse_amzdate(struct tg_cur s, int64_t *out)
{
    /* SigV4 X-Amz-Date: ISO 8601 basic format, "YYYYMMDD'T'HHMMSS'Z'". */
    if (s.len != 16 || s.ptr[8] != 'T' || s.ptr[15] != 'Z') {
        return -1;
    }
    int y, mon, d, h, min, sec;
    if (!parse_num(s.ptr, 4, &y) || !parse_num(s.ptr + 4, 2, &mon) ||
        !parse_num(s.ptr + 6, 2, &d) || !parse_num(s.ptr + 9, 2, &h) ||
        !parse_num(s.ptr + 11, 2, &min) || !parse_num(s.ptr + 13, 2, &sec)) {
        return -1;
    }
    if (mon < 1 || mon > 12 || d < 1 || d > days_in_month(y, mon) || h > 23 || min > 59 ||
        sec > 59) {
        return -1;
    }
    *out = tg_time_from_civil(y, mon, d, h, min, sec);
    return 0;
}

int64_t tg_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t tg_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- randomness -------------------------------------------------------------- */

void tg_random(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(out, chunk) != 1) {
            /* Nothing safe can continue without a CSPRNG (util.h). */
            abort();
        }
        out += chunk;
        n -= (size_t)chunk;
    }
}

void tg_random_pool_fill(struct tg_random_pool *p)
{
    tg_random(NULL, p->bytes, sizeof(p->bytes));
    p->used = 0;
}

void tg_random_pool_draw(void *ctx, uint8_t *out, size_t n)
{
    struct tg_random_pool *p = ctx;
    if (n > sizeof(p->bytes) - p->used) {
        tg_random(NULL, out, n);
        return;
    }
    memcpy(out, p->bytes + p->used, n);
    /* No byte is handed out twice, and none stays behind once used. */
    OPENSSL_cleanse(p->bytes + p->used, n);
    p->used += n;
}

void tg_random_pool_wipe(struct tg_random_pool *p)
{
    OPENSSL_cleanse(p, sizeof(*p));
    p->used = sizeof(p->bytes);
}

size_t tg_fmt_i64(int64_t v, char out[TG_I64_LEN])
{
    char tmp[TG_I64_LEN];
    size_t n = 0;
    /* In unsigned arithmetic, so INT64_MIN has a magnitude too. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    size_t len = 0;
    if (v < 0) {
        out[len++] = '-';
    }
    while (n > 0) {
        out[len++] = tmp[--n];
    }
    out[len] = '\0';
    return len;
}

size_t tg_concat(char *out, size_t cap, ...)
{
    va_list ap;
    va_start(ap, cap);
    size_t total = 0;
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL) {
        size_t n = strlen(s);
        if (cap > 0 && total < cap - 1) {
            size_t room = cap - 1 - total;
            memcpy(out + total, s, n < room ? n : room);
        }
        total += n;
    }
    va_end(ap);
    if (cap > 0) {
        out[total < cap - 1 ? total : cap - 1] = '\0';
    }
    return total;
}

void tg_uuid_format(const uint8_t rnd[16], char out[TG_UUID_LEN])
{
    uint8_t b[16];
    memcpy(b, rnd, 16);
    /* RFC 4122 §4.4: version 4 and the RFC 4122 variant. */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex_lower[b[i] >> 4];
        *p++ = hex_lower[b[i] & 15];
    }
    *p = '\0';
}

/* ---- secrets ----------------------------------------------------------------- */

void tg_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

bool tg_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0) {
        return true;
    }
    return CRYPTO_memcmp(a, b, n) == 0;
}
