/*
 * util: byte cursors, bounded buffers, encodings, time formats, the error
 * type and the AWS error table, secret handling.
 *
 * Pure: nothing here does I/O, except tg_time_now() and tg_random(), which
 * are the shell's clock and randomness and are never called by the core.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/limits.h"

#define TG_MUST_USE __attribute__((warn_unused_result))
#define TG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- results ---------------------------------------------------------
 * Functions that can fail return int: 0 on success, -1 on failure, marked
 * TG_MUST_USE. Those whose failure reaches a caller of the API also fill a
 * struct tg_error. */
#define TG_GUARD(x)                                                                                \
    do {                                                                                           \
        if ((x) < 0) {                                                                             \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
#define TG_GUARD_GOTO(x, label)                                                                    \
    do {                                                                                           \
        if ((x) < 0) {                                                                             \
            goto label;                                                                            \
        }                                                                                          \
    } while (0)
/* ENSURE: if cond is false, set the error and return -1. */
#define TG_ENSURE(cond, err, code, ...)                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return tg_error_set((err), (code), __VA_ARGS__);                                       \
        }                                                                                          \
    } while (0)

/* ---- AWS error codes ---------------------------------------------------
 * One table (util/error.c) maps each to its wire code, HTTP status and
 * Sender/Receiver type. */
enum tg_code {
    TG_OK = 0,
    /* common errors of every AWS Query service */
    TG_E_INTERNAL_FAILURE,              /* InternalFailure 500 */
    TG_E_SERVICE_UNAVAILABLE,           /* ServiceUnavailable 503 */
    TG_E_INVALID_ACTION,                /* InvalidAction 400 */
    TG_E_MISSING_ACTION,                /* MissingAction 400 */
    TG_E_MISSING_PARAMETER,             /* MissingParameter 400 */
    TG_E_INVALID_PARAMETER_VALUE,       /* InvalidParameterValue 400 */
    TG_E_INVALID_PARAMETER_COMBINATION, /* InvalidParameterCombination 400 */
    TG_E_INVALID_QUERY_PARAMETER,       /* InvalidQueryParameter 400 */
    TG_E_MALFORMED_QUERY_STRING,        /* MalformedQueryString 404 */
    TG_E_VALIDATION_ERROR,              /* ValidationError 400 */
    TG_E_REQUEST_TOO_LARGE,             /* RequestEntityTooLarge 413 */
    TG_E_THROTTLING,                    /* Throttling 400 */
    /* authentication */
    TG_E_MISSING_AUTHENTICATION_TOKEN, /* MissingAuthenticationToken 403 */
    TG_E_INCOMPLETE_SIGNATURE,         /* IncompleteSignature 400 */
    TG_E_INVALID_CLIENT_TOKEN_ID,      /* InvalidClientTokenId 403 */
    TG_E_SIGNATURE_DOES_NOT_MATCH,     /* SignatureDoesNotMatch 403 */
    TG_E_REQUEST_EXPIRED,              /* RequestExpired 400 */
    TG_E_EXPIRED_TOKEN,                /* ExpiredToken 403 (caller's session) */
    TG_E_ACCESS_DENIED,                /* AccessDenied 403 */
    /* IAM */
    TG_E_NO_SUCH_ENTITY,            /* NoSuchEntity 404 */
    TG_E_ENTITY_ALREADY_EXISTS,     /* EntityAlreadyExists 409 */
    TG_E_LIMIT_EXCEEDED,            /* LimitExceeded 409 */
    TG_E_MALFORMED_POLICY_DOCUMENT, /* MalformedPolicyDocument 400 */
    TG_E_INVALID_INPUT,             /* InvalidInput 400 */
    TG_E_CONCURRENT_MODIFICATION,   /* ConcurrentModification 409 */
    TG_E_DELETE_CONFLICT,           /* DeleteConflict 409 */
    TG_E_UNMODIFIABLE_ENTITY,       /* UnmodifiableEntity 400 */
    TG_E_POLICY_NOT_ATTACHABLE,     /* PolicyNotAttachable 400 */
    TG_E_OPENID_IDP_COMMUNICATION,  /* OpenIdIdpCommunicationError 400 */
    TG_E_SERVICE_FAILURE,           /* ServiceFailure 500 (IAM's internal error) */
    /* STS */
    TG_E_INVALID_IDENTITY_TOKEN,  /* InvalidIdentityToken 400 */
    TG_E_EXPIRED_TOKEN_EXCEPTION, /* ExpiredTokenException 400 (web identity token) */
    TG_E_IDP_REJECTED_CLAIM,      /* IDPRejectedClaim 403 */
    TG_E_IDP_COMMUNICATION_ERROR, /* IDPCommunicationError 400 */
    TG_E_PACKED_POLICY_TOO_LARGE, /* PackedPolicyTooLarge 400 */
    TG_E_REGION_DISABLED,         /* RegionDisabledException 403 */
    TG_CODE_COUNT
};

/* An error for the API caller (code + AWS-style message) and, separately,
 * the full reason for the operator's log (detail). Neither may ever hold a
 * secret. */
struct tg_error {
    enum tg_code code;
    char message[TG_ERROR_MESSAGE_MAX];
    char detail[TG_ERROR_DETAIL_MAX];
};

/* Sets code and message (printf-style, truncated to fit); returns -1 so it
 * can end a function: `return tg_error_set(err, TG_E_..., "...")`.
 * err may be NULL (then only -1 is returned). */
int tg_error_set(struct tg_error *err, enum tg_code code, const char *fmt, ...) TG_PRINTF(3, 4);
/* Same, with the default message of the code (tg_code_message). */
int tg_error_code(struct tg_error *err, enum tg_code code);
/* Sets the operator-only detail; returns -1. */
int tg_error_detail(struct tg_error *err, const char *fmt, ...) TG_PRINTF(2, 3);
void tg_error_clear(struct tg_error *err);

const char *tg_code_name(enum tg_code code);    /* "NoSuchEntity" */
int tg_code_http_status(enum tg_code code);     /* 404 */
bool tg_code_is_sender(enum tg_code code);      /* Type Sender (4xx) or Receiver (5xx) */
const char *tg_code_message(enum tg_code code); /* AWS's default message, "" if none */

/* ---- cursors: borrowed (ptr, len) views, never NUL-terminated ---------- */
struct tg_cur {
    const uint8_t *ptr;
    size_t len;
};

static inline struct tg_cur tg_cur_make(const void *p, size_t n)
{
    struct tg_cur c = {(const uint8_t *)p, n};
    return c;
}
/* Only for trusted, NUL-terminated strings (literals, our own data). */
struct tg_cur tg_cur_str(const char *s);
bool tg_cur_eq(struct tg_cur a, struct tg_cur b);
bool tg_cur_eq_str(struct tg_cur a, const char *s);
bool tg_cur_eq_nocase(struct tg_cur a, struct tg_cur b); /* ASCII case-insensitive */
bool tg_cur_eq_nocase_str(struct tg_cur a, const char *s);
bool tg_cur_starts_with(struct tg_cur a, const char *prefix);
/* Index of the first byte c at or after from, or -1. */
long tg_cur_find(struct tg_cur a, uint8_t c, size_t from);

/* ---- formatting without printf (the request path formats a few dozen
 * numbers and names per request; vsnprintf costs ~1 µs each) ---- */
#define TG_I64_LEN 21 /* "-9223372036854775808" + NUL */
/* v in decimal; returns the length (NUL not counted). */
size_t tg_fmt_i64(int64_t v, char out[TG_I64_LEN]);
/* The NULL-terminated list of strings, one after another, into out (cap
 * bytes, always NUL-terminated, cut like snprintf). Returns the length the
 * whole would have, so a result >= cap means it was cut. */
size_t tg_concat(char *out, size_t cap, ...) __attribute__((sentinel));

/* ---- scanning runs of plain bytes ------------------------------------------
 * The escapers and decoders copy long runs of bytes that need nothing done
 * (a token, a session token, an ARN) and stop only at the few that do. These
 * find the end of such a run eight bytes at a time (SWAR: a byte-wise
 * "is zero" and "is below" on a 64-bit word), then byte by byte. Inline:
 * with the specials known at the call, the loop is a few instructions. */
#define TG_SWAR_ONES 0x0101010101010101ULL
#define TG_SWAR_HIGHS 0x8080808080808080ULL

/* Does word x hold the byte c? */
static inline uint64_t tg_swar_has(uint64_t x, uint8_t c)
{
    uint64_t y = x ^ (TG_SWAR_ONES * c);
    return (y - TG_SWAR_ONES) & ~y & TG_SWAR_HIGHS;
}

/* The length of the prefix of p[0..n) without any of specials[0..ns) and,
 * if text, only bytes in 0x20..0x7f. */
static inline size_t tg_span(const uint8_t *p, size_t n, const uint8_t *specials, size_t ns,
                             bool text)
{
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        /* a byte >= 0x80, or below 0x20 */
        uint64_t hit = text ? (x | ((x - TG_SWAR_ONES * 0x20) & ~x)) & TG_SWAR_HIGHS : 0;
        for (size_t k = 0; k < ns; k++) {
            hit |= tg_swar_has(x, specials[k]);
        }
        if (hit != 0) {
            break;
        }
        i += 8;
    }
    for (; i < n; i++) {
        uint8_t c = p[i];
        bool special = text && (c < 0x20 || c >= 0x80);
        for (size_t k = 0; k < ns && !special; k++) {
            special = c == specials[k];
        }
        if (special) {
            break;
        }
    }
    return i;
}

static inline size_t tg_span_text(const uint8_t *p, size_t n, const uint8_t *specials, size_t ns)
{
    return tg_span(p, n, specials, ns, true);
}

static inline size_t tg_span_without(const uint8_t *p, size_t n, const uint8_t *specials, size_t ns)
{
    return tg_span(p, n, specials, ns, false);
}
/* Parses a decimal integer made only of digits (optional leading '-'),
 * no spaces, no '+', at most 18 digits. */
int tg_cur_to_i64(struct tg_cur a, int64_t *out) TG_MUST_USE;
/* Returns a malloc'd NUL-terminated copy (free with free), NULL on OOM.
 * Embedded NULs are kept as they are; use only where the caller has checked. */
char *tg_cur_strdup(struct tg_cur a);

/* ---- buffers: owned bytes with a capacity and a hard maximum ------------ */
struct tg_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
    size_t max;  /* appends past max fail */
    bool secret; /* wipe on free and on every reallocation */
};

/* The buffer starts empty; nothing is allocated until the first append. */
void tg_buf_init(struct tg_buf *b, size_t max);
void tg_buf_init_secret(struct tg_buf *b, size_t max);
/* Makes room for n more bytes without appending (a hint for a buffer about
 * to grow by steps); -1 past max or on OOM, b unchanged. */
int tg_buf_reserve(struct tg_buf *b, size_t n);
int tg_buf_append(struct tg_buf *b, const void *p, size_t n) TG_MUST_USE;
int tg_buf_append_byte(struct tg_buf *b, uint8_t c) TG_MUST_USE;
int tg_buf_append_str(struct tg_buf *b, const char *s) TG_MUST_USE;
int tg_buf_append_cur(struct tg_buf *b, struct tg_cur c) TG_MUST_USE;
int tg_buf_appendf(struct tg_buf *b, const char *fmt, ...) TG_PRINTF(2, 3) TG_MUST_USE;
/* Ensures ptr[len] == 0 without counting it in len, so ptr can be passed to
 * a library that wants a C string. */
int tg_buf_nul(struct tg_buf *b) TG_MUST_USE;
struct tg_cur tg_buf_cur(const struct tg_buf *b);
void tg_buf_reset(struct tg_buf *b); /* len = 0, keeps memory (wiped if secret) */
void tg_buf_free(struct tg_buf *b);  /* wipes if secret; b is then empty */
/* Takes the bytes out as a NUL-terminated malloc'd string (free with free);
 * b is left empty. NULL on OOM. */
char *tg_buf_steal(struct tg_buf *b);

/* ---- encodings ---------------------------------------------------------- */
/* Lower-case hex of n bytes into out (2n chars + NUL). */
void tg_hex_encode(const uint8_t *in, size_t n, char *out);
/* Strict: even length, [0-9a-fA-F] only; out must hold len/2 bytes. */
int tg_hex_decode(struct tg_cur in, uint8_t *out, size_t out_cap, size_t *out_len) TG_MUST_USE;
/* RFC 4648 §4 with padding. */
int tg_base64_encode(struct tg_buf *out, const uint8_t *in, size_t n) TG_MUST_USE;
/* Strict: padding required, no whitespace, canonical trailing bits. */
int tg_base64_decode(struct tg_buf *out, struct tg_cur in) TG_MUST_USE;
/* RFC 4648 §5 without padding. */
int tg_base64url_encode(struct tg_buf *out, const uint8_t *in, size_t n) TG_MUST_USE;
/* Strict: no padding, no whitespace, canonical trailing bits (RFC 7515 §2). */
int tg_base64url_decode(struct tg_buf *out, struct tg_cur in) TG_MUST_USE;
/* RFC 3986 percent-encoding: A-Za-z0-9-_.~ kept, every other byte %XX with
 * upper-case hex (what SigV4 and IAM's URL-encoded policy documents use). */
int tg_url_encode(struct tg_buf *out, struct tg_cur in) TG_MUST_USE;
/* Percent-decoding; '+' becomes a space when plus_is_space (form encoding).
 * A '%' not followed by two hex digits fails. */
int tg_url_decode(struct tg_buf *out, struct tg_cur in, bool plus_is_space) TG_MUST_USE;
/* Random base32 (A-Z2-7) identifier: prefix + n characters from rnd. */
void tg_id_base32(const char *prefix, const uint8_t *rnd, size_t n, char *out);

/* ---- text checks -------------------------------------------------------- */
/* Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
/* The length of the well-formed UTF-8 sequence (RFC 3629 §4) that starts
 * at p (1 for ASCII), or 0 if none does. */
size_t tg_utf8_seq(const uint8_t *p, size_t avail);
bool tg_utf8_valid(struct tg_cur s);
/* Number of Unicode code points of valid UTF-8 (AWS lengths count these). */
size_t tg_utf8_len(struct tg_cur s);

/* ---- time ----------------------------------------------------------------
 * Times are int64 seconds (or milliseconds where named _ms) since the epoch,
 * UTC. */
#define TG_ISO8601_LEN 21    /* "2026-01-01T00:00:00Z" + NUL */
#define TG_ISO8601_MS_LEN 25 /* "2026-01-01T00:00:00.000Z" + NUL */
#define TG_AMZDATE_LEN 17    /* "20260101T000000Z" + NUL */
void tg_time_iso8601(int64_t t, char out[TG_ISO8601_LEN]);
void tg_time_iso8601_ms(int64_t t_ms, char out[TG_ISO8601_MS_LEN]);
void tg_time_amzdate(int64_t t, char out[TG_AMZDATE_LEN]);
/* Parses "YYYYMMDDTHHMMSSZ" exactly. */
int tg_time_parse_amzdate(struct tg_cur s, int64_t *out) TG_MUST_USE;
/* Days-from-civil and back (proleptic Gregorian). */
int64_t tg_time_from_civil(int y, int mon, int d, int h, int min, int s);
/* Shell only: the wall clock. */
int64_t tg_time_now(void);
int64_t tg_time_now_ms(void);

/* ---- randomness ------------------------------------------------------------
 * The core takes randomness as a parameter: a function that fills n bytes.
 * tg_random is the shell's (OpenSSL RAND_bytes; aborts if the CSPRNG fails,
 * since nothing safe can continue without it). */
typedef void (*tg_random_fn)(void *ctx, uint8_t *out, size_t n);
void tg_random(void *ctx, uint8_t *out, size_t n);

/* A request's random bytes, taken from the CSPRNG with one RAND_bytes call
 * (each call costs a fork check and a lock) and handed out in order; once
 * they run out, draws fall through to tg_random. Drawn bytes are wiped from
 * the pool; tg_random_pool_wipe wipes the rest. Lives on the stack of one
 * request, never shared between threads. */
#define TG_RANDOM_POOL_LEN 128
struct tg_random_pool {
    uint8_t bytes[TG_RANDOM_POOL_LEN];
    size_t used;
};
void tg_random_pool_fill(struct tg_random_pool *p);
/* A tg_random_fn; ctx is the struct tg_random_pool. */
void tg_random_pool_draw(void *ctx, uint8_t *out, size_t n);
void tg_random_pool_wipe(struct tg_random_pool *p);
/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from 16 random bytes. */
#define TG_UUID_LEN 37
void tg_uuid_format(const uint8_t rnd[16], char out[TG_UUID_LEN]);

/* ---- secrets -------------------------------------------------------------- */
void tg_wipe(void *p, size_t n);                                      /* OPENSSL_cleanse */
bool tg_ct_equal(const void *a, const void *b, size_t n) TG_MUST_USE; /* CRYPTO_memcmp */

#endif
