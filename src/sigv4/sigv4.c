/*
 * sigv4: AWS Signature Version 4 verification (spec 9).
 *
 * Pure: the clock and the secret are parameters, nothing here does I/O.
 *
 * Decisions where AWS's behaviour is not pinned down by the spec or the
 * vectors (each one is also stated where it is implemented):
 *  - The canonical URI is the RFC 3986 encoding of the path *as received*
 *    (still %-encoded), after dot-segment removal: the double encoding that
 *    every non-S3 service uses (botocore quotes the already-quoted path with
 *    safe "/~"; aws-c-auth does the same with use_double_uri_encode).
 *  - Query parameters are decoded (a '%' must be followed by two hex
 *    digits, and '+' is a space, as in the API's form decoding), then
 *    re-encoded, so the client's own encoding choices do not matter. '+' as
 *    a space is what botocore needs: it signs a space as %20 but its
 *    AWSRequest puts a GET parameter's space in the URL as '+' (checked
 *    with botocore 1.43: header-signed GET with "a b" verifies only this
 *    way). A literal plus arrives as %2B from every SDK. No vector has a
 *    '+' in a query.
 *  - X-Amz-Signature is always left out of the canonical query string. With
 *    the header form, a query that carries it is refused by tg_sigv4_parse
 *    (both forms present), so this never changes a header-form signature.
 *  - SignedHeaders must be lower case, sorted, without duplicates, include
 *    "host" and name only headers present in the request; otherwise
 *    IncompleteSignature. Every SDK sends it that way (the SigV4 guide
 *    requires the sorted lower-case list), and a header that is signed but
 *    absent can never verify.
 *  - An X-Amz-Security-Token header that is not signed is allowed (the
 *    post-sts-header-after vector): the session token is sealed and names
 *    its own access key id, which the caller checks against the Credential.
 *  - The payload hash is always SHA-256 of the body, for both forms (non-S3
 *    services; spec 9). An x-amz-content-sha256 header is only an ordinary
 *    signed header here.
 */
#include "sigv4/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

/* The longest piece of a peer's input we echo back in an error message;
 * the message itself is capped at TG_ERROR_MESSAGE_MAX. */
#define ECHO_MAX 512

/* The most query parameters a canonical query string may have. The API
 * form parser refuses more than TG_FORM_MAX_PARAMS anyway; a presigned URL
 * adds seven of its own. */
#define MAX_QUERY_PARAMS (TG_FORM_MAX_PARAMS + 8)

static const char SIG_MISMATCH_MESSAGE[] =
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details.";

/* ---- small helpers ------------------------------------------------------ */

/* Python's str.split() whitespace, which botocore uses to collapse header
 * values (' '.join(value.split())). */
static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 §2.3 unreserved characters. */
static bool is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* A lower-case RFC 9110 §5.6.2 token character (header field names). */
static bool is_lower_tchar(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return false;
    }
    return (c >= 'a' && c <= 'z') || is_digit(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static struct tg_cur cur_sub(struct tg_cur c, size_t from, size_t to)
{
    if (c.ptr == NULL) {
        /* an empty buffer's cursor: no offset may be applied to NULL */
        return c;
    }
    return tg_cur_make(c.ptr + from, to - from);
}

static struct tg_cur cur_trim(struct tg_cur c)
{
    while (c.len > 0 && is_ws(c.ptr[0])) {
        c.ptr++;
        c.len--;
    }
    while (c.len > 0 && is_ws(c.ptr[c.len - 1])) {
        c.len--;
    }
    return c;
}

/* Copies c into out for an error message: printable ASCII only (others
 * become '?', so the XML error document stays valid) and at most cap - 1
 * bytes. */
static void echo(char *out, size_t cap, struct tg_cur c)
{
    size_t n = c.len < cap - 1 ? c.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = c.ptr[i];
        out[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '?';
    }
    out[n] = '\0';
}

/* Copies c into a fixed NUL-terminated field; the caller checked the
 * length. */
static void copy_field(char *out, size_t cap, struct tg_cur c)
{
    size_t n = c.len < cap - 1 ? c.len : cap - 1;
    memcpy(out, c.ptr, n);
    out[n] = '\0';
}

static int sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned int md_len = 0;
    if (EVP_Digest(p, n, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
        return -1;
    }
    tg_hex_encode(md, 32, out);
    return 0;
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
                       uint8_t out[32])
{
    unsigned int out_len = 0;
    if (key_len > (size_t)INT32_MAX) {
        return -1;
    }
    if (HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &out_len) == NULL ||
        out_len != 32) {
        return -1;
    }
    return 0;
}

/* RFC 3986 percent-encoding with upper-case hex (SigV4: "URI-encode each
 * byte"); '/' is kept when keep_slash (the canonical URI). */
static int append_encoded(struct tg_buf *out, struct tg_cur in, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            TG_GUARD(tg_buf_append_byte(out, c));
        } else {
            uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            TG_GUARD(tg_buf_append(out, e, 3));
        }
    }
    return 0;
}

/* ---- the request -------------------------------------------------------- */

/* The value of the only header called name, NULL if absent; *count is the
 * number of headers of that name. */
static const struct tg_cur *find_header(const struct tg_sigv4_request *req, const char *name,
                                        size_t *count)
{
    const struct tg_cur *found = NULL;
    *count = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (tg_cur_eq_nocase_str(req->headers[i].name, name)) {
            if (found == NULL) {
                found = &req->headers[i].value;
            }
            (*count)++;
        }
    }
    return found;
}

static bool has_header(const struct tg_sigv4_request *req, struct tg_cur name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (tg_cur_eq_nocase(req->headers[i].name, name)) {
            return true;
        }
    }
    return false;
}

/* ---- canonical request (spec 9) ------------------------------------------ */

/*
 * The path with "." and ".." segments removed and empty segments dropped
 * (RFC 3986 §5.2.4, plus "AWS services require consecutive slashes to be
 * removed"), keeping a trailing slash: botocore's remove_dot_segments, which
 * the normalize-path vectors pin. Appends to out.
 */
static int append_normalized_path(struct tg_buf *out, struct tg_cur path)
{
    size_t base = out->len;
    size_t n_segments = 0;
    size_t i = 0;
    while (i <= path.len) {
        size_t j = i;
        while (j < path.len && path.ptr[j] != '/') {
            j++;
        }
        struct tg_cur seg = cur_sub(path, i, j);
        if (seg.len == 0 || tg_cur_eq_str(seg, ".")) {
            /* dropped */
        } else if (tg_cur_eq_str(seg, "..")) {
            if (n_segments > 0) {
                /* segments never contain '/', so the last one starts at the
                 * last '/' written */
                size_t k = out->len;
                while (k > base && out->ptr[k - 1] != '/') {
                    k--;
                }
                out->len = k - 1;
                n_segments--;
            }
        } else {
            TG_GUARD(tg_buf_append_byte(out, '/'));
            TG_GUARD(tg_buf_append_cur(out, seg));
            n_segments++;
        }
        i = j + 1;
    }
    bool leading = path.len > 0 && path.ptr[0] == '/';
    if (!leading && n_segments > 0) {
        /* our segments carry a leading '/'; a relative path has none */
        memmove(out->ptr + base, out->ptr + base + 1, out->len - base - 1);
        out->len--;
    }
    if (n_segments == 0) {
        if (leading) {
            TG_GUARD(tg_buf_append_byte(out, '/'));
        }
    } else if (path.ptr[path.len - 1] == '/') {
        TG_GUARD(tg_buf_append_byte(out, '/'));
    }
    return 0;
}

static int append_canonical_uri(struct tg_buf *out, const struct tg_sigv4_request *req)
{
    struct tg_buf norm;
    int rc = -1;
    tg_buf_init(&norm, req->path.len + 2);
    struct tg_cur path = req->path;
    if (req->normalize_path) {
        TG_GUARD_GOTO(append_normalized_path(&norm, req->path), out);
        path = tg_buf_cur(&norm);
    }
    if (path.len == 0) {
        /* spec 9: "/" if empty */
        path = tg_cur_str("/");
    }
    /* Double encoding for non-S3 services: the path is still %-encoded as
     * received, and is encoded again (a '%' becomes "%25"). */
    TG_GUARD_GOTO(append_encoded(out, path, true), out);
    rc = 0;
out:
    tg_buf_free(&norm);
    return rc;
}

/* One query parameter: offsets of its encoded name and value in a scratch
 * buffer while that grows, then pointers once it no longer moves. */
struct qparam {
    size_t name_off, name_len;
    size_t value_off, value_len;
    const uint8_t *name, *value;
};

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

static int cmp_qparam(const void *pa, const void *pb)
{
    const struct qparam *a = pa;
    const struct qparam *b = pb;
    int c = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
    if (c != 0) {
        return c;
    }
    return cmp_bytes(a->value, a->value_len, b->value, b->value_len);
}

/* Decodes and re-encodes one name or value into scratch ('+' is a space:
 * see the decisions at the top). */
static int reencode(struct tg_buf *scratch, struct tg_cur in, size_t *off, size_t *len)
{
    struct tg_buf dec;
    int rc = -1;
    tg_buf_init(&dec, in.len + 1);
    if (in.len > 0) {
        TG_GUARD_GOTO(tg_url_decode(&dec, in, true), out);
    }
    *off = scratch->len;
    TG_GUARD_GOTO(append_encoded(scratch, tg_buf_cur(&dec), false), out);
    *len = scratch->len - *off;
    rc = 0;
out:
    tg_buf_free(&dec);
    return rc;
}

/*
 * CanonicalQueryString (spec 9): every parameter decoded and re-encoded
 * (RFC 3986, upper-case hex), sorted by encoded name then value, joined
 * with '&', an empty value keeping its '='. Empty pairs ("a=1&&b=2") are
 * skipped, as the API's form decoder skips them.
 */
static int append_canonical_query(struct tg_buf *out, struct tg_cur query)
{
    struct qparam *params = NULL;
    struct tg_buf scratch;
    size_t n = 0, cap = 1;
    int rc = -1;
    tg_buf_init(&scratch, TG_SIGV4_MAX_CANONICAL);
    for (size_t i = 0; i < query.len; i++) {
        if (query.ptr[i] == '&') {
            cap++;
        }
    }
    if (cap > MAX_QUERY_PARAMS) {
        goto out;
    }
    params = calloc(cap, sizeof(*params));
    if (params == NULL) {
        goto out;
    }
    size_t i = 0;
    while (i < query.len) {
        size_t j = i;
        while (j < query.len && query.ptr[j] != '&') {
            j++;
        }
        struct tg_cur pair = cur_sub(query, i, j);
        i = j + 1;
        if (pair.len == 0) {
            continue;
        }
        long eq = tg_cur_find(pair, '=', 0);
        struct tg_cur name = eq < 0 ? pair : cur_sub(pair, 0, (size_t)eq);
        struct tg_cur value =
            eq < 0 ? tg_cur_make(pair.ptr + pair.len, 0) : cur_sub(pair, (size_t)eq + 1, pair.len);
        struct qparam *p = &params[n];
        TG_GUARD_GOTO(reencode(&scratch, name, &p->name_off, &p->name_len), out);
        /* spec 9: the presigned form's canonical query has every parameter
         * except X-Amz-Signature */
        if (tg_cur_eq_str(cur_sub(tg_buf_cur(&scratch), p->name_off, p->name_off + p->name_len),
                          "X-Amz-Signature")) {
            scratch.len = p->name_off;
            continue;
        }
        TG_GUARD_GOTO(reencode(&scratch, value, &p->value_off, &p->value_len), out);
        n++;
    }
    /* the scratch buffer is complete; it is NULL only if every name and
     * value was empty */
    const uint8_t *base = scratch.ptr != NULL ? scratch.ptr : (const uint8_t *)"";
    for (size_t k = 0; k < n; k++) {
        params[k].name = base + params[k].name_off;
        params[k].value = base + params[k].value_off;
    }
    if (n > 1) {
        qsort(params, n, sizeof(*params), cmp_qparam);
    }
    for (size_t k = 0; k < n; k++) {
        if (k > 0) {
            TG_GUARD_GOTO(tg_buf_append_byte(out, '&'), out);
        }
        TG_GUARD_GOTO(tg_buf_append(out, params[k].name, params[k].name_len), out);
        TG_GUARD_GOTO(tg_buf_append_byte(out, '='), out);
        TG_GUARD_GOTO(tg_buf_append(out, params[k].value, params[k].value_len), out);
    }
    rc = 0;
out:
    free(params);
    tg_buf_free(&scratch);
    return rc;
}

/* A header value trimmed, with every run of whitespace inside it folded to
 * one space (spec 9; the get-header-value-trim vector shows this applies
 * inside quotes too, and get-header-value-multiline to obs-fold line
 * breaks). */
static int append_header_value(struct tg_buf *out, struct tg_cur v)
{
    v = cur_trim(v);
    bool in_ws = false;
    for (size_t i = 0; i < v.len; i++) {
        if (is_ws(v.ptr[i])) {
            in_ws = true;
            continue;
        }
        if (in_ws) {
            TG_GUARD(tg_buf_append_byte(out, ' '));
            in_ws = false;
        }
        TG_GUARD(tg_buf_append_byte(out, v.ptr[i]));
    }
    return 0;
}

/* CanonicalHeaders: for each name of signed_headers (already lower case and
 * sorted), "name:v1,v2\n" with the values of every header of that name in
 * the order received (get-header-key-duplicate, get-header-value-order). */
static int append_canonical_headers(struct tg_buf *out, const struct tg_sigv4_request *req,
                                    struct tg_cur signed_headers)
{
    size_t i = 0;
    while (i < signed_headers.len) {
        size_t j = i;
        while (j < signed_headers.len && signed_headers.ptr[j] != ';') {
            j++;
        }
        struct tg_cur name = cur_sub(signed_headers, i, j);
        i = j + 1;
        if (name.len == 0) {
            return -1;
        }
        for (size_t k = 0; k < name.len; k++) {
            TG_GUARD(tg_buf_append_byte(out, (uint8_t)(name.ptr[k] >= 'A' && name.ptr[k] <= 'Z'
                                                           ? name.ptr[k] + ('a' - 'A')
                                                           : name.ptr[k])));
        }
        TG_GUARD(tg_buf_append_byte(out, ':'));
        size_t found = 0;
        for (size_t h = 0; h < req->n_headers; h++) {
            if (!tg_cur_eq_nocase(req->headers[h].name, name)) {
                continue;
            }
            if (found > 0) {
                TG_GUARD(tg_buf_append_byte(out, ','));
            }
            TG_GUARD(append_header_value(out, req->headers[h].value));
            found++;
        }
        if (found == 0) {
            /* a signed header must be present (tg_sigv4_parse checks it) */
            return -1;
        }
        TG_GUARD(tg_buf_append_byte(out, '\n'));
    }
    return 0;
}

int tg_sigv4_canonical_request(const struct tg_sigv4_request *req, const char *signed_headers,
                               struct tg_buf *out)
{
    char hash[65];
    struct tg_cur sh = tg_cur_str(signed_headers);
    TG_GUARD(tg_buf_append_cur(out, req->method));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(append_canonical_uri(out, req));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(append_canonical_query(out, req->query));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(append_canonical_headers(out, req, sh));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(tg_buf_append_cur(out, sh));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(sha256_hex(req->payload.ptr, req->payload.len, hash));
    TG_GUARD(tg_buf_append(out, hash, 64));
    return 0;
}

int tg_sigv4_string_to_sign(const char *amzdate, const char *scope, struct tg_cur creq,
                            struct tg_buf *out)
{
    char hash[65];
    TG_GUARD(sha256_hex(creq.ptr, creq.len, hash));
    TG_GUARD(tg_buf_append_str(out, ALGORITHM "\n"));
    TG_GUARD(tg_buf_append_str(out, amzdate));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(tg_buf_append_str(out, scope));
    TG_GUARD(tg_buf_append_byte(out, '\n'));
    TG_GUARD(tg_buf_append(out, hash, 64));
    return 0;
}

/* spec 9: kDate = HMAC("AWS4" + secret, date), kRegion, kService,
 * kSigning = HMAC(kService, "aws4_request"). Every intermediate is wiped. */
int tg_sigv4_signing_key(const uint8_t *secret, size_t secret_len, const char *date,
                         const char *region, const char *service, uint8_t out[32])
{
    uint8_t *k0 = NULL;
    uint8_t k1[32], k2[32], k3[32];
    int rc = -1;
    if (secret_len > SIZE_MAX - 4) {
        return -1;
    }
    k0 = malloc(secret_len + 4);
    if (k0 == NULL) {
        return -1;
    }
    memcpy(k0, "AWS4", 4);
    if (secret_len > 0) {
        memcpy(k0 + 4, secret, secret_len);
    }
    TG_GUARD_GOTO(hmac_sha256(k0, secret_len + 4, date, strlen(date), k1), out);
    TG_GUARD_GOTO(hmac_sha256(k1, 32, region, strlen(region), k2), out);
    TG_GUARD_GOTO(hmac_sha256(k2, 32, service, strlen(service), k3), out);
    TG_GUARD_GOTO(hmac_sha256(k3, 32, TERMINATOR, strlen(TERMINATOR), out), out);
    rc = 0;
out:
    OPENSSL_cleanse(k0, secret_len + 4);
    free(k0);
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k3, sizeof(k3));
    if (rc < 0) {
        OPENSSL_cleanse(out, 32);
    }
    return rc;
}

/* ---- parsing ------------------------------------------------------------- */

static const char *const MONTHS[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const WEEKDAYS[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static bool digits(struct tg_cur s, size_t at, size_t n, int *out)
{
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

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the form
 * of a Date header; the obsolete RFC 850 and asctime forms are refused. */
static int parse_imf_fixdate(struct tg_cur s, int64_t *out)
{
    static const uint8_t days_in[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d, y, h, mi, sec, mon = -1;
    bool wd_ok = false;
    if (s.len != 29 || s.ptr[3] != ',' || s.ptr[4] != ' ' || s.ptr[7] != ' ' || s.ptr[11] != ' ' ||
        s.ptr[16] != ' ' || s.ptr[19] != ':' || s.ptr[22] != ':' ||
        !tg_cur_eq_str(cur_sub(s, 25, 29), " GMT")) {
        return -1;
    }
    for (int i = 0; i < 7; i++) {
        wd_ok = wd_ok || tg_cur_eq_str(cur_sub(s, 0, 3), WEEKDAYS[i]);
    }
    for (int i = 0; i < 12; i++) {
        if (tg_cur_eq_str(cur_sub(s, 8, 11), MONTHS[i])) {
            mon = i;
        }
    }
    if (!wd_ok || mon < 0 || !digits(s, 5, 2, &d) || !digits(s, 12, 4, &y) ||
        !digits(s, 17, 2, &h) || !digits(s, 20, 2, &mi) || !digits(s, 23, 2, &sec)) {
        return -1;
    }
    if (d < 1 || d > days_in[mon] || (mon == 1 && d == 29 && !leap(y)) || h > 23 || mi > 59 ||
        sec > 60) {
        return -1;
    }
    if (sec == 60) {
        sec = 59; /* a leap second; SigV4 dates have none */
    }
    *out = tg_time_from_civil(y, mon + 1, d, h, mi, sec);
    return 0;
}

/* "YYYYMMDDTHHMMSSZ" into auth (amzdate, time). */
static int take_amzdate(struct tg_cur s, struct tg_sigv4_auth *a)
{
    int64_t t = 0;
    if (s.len != 16 || tg_time_parse_amzdate(s, &t) < 0) {
        return -1;
    }
    copy_field(a->amzdate, sizeof(a->amzdate), s);
    a->time = t;
    return 0;
}

static bool valid_scope_word(struct tg_cur s, size_t max)
{
    if (s.len == 0 || s.len > max) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-')) {
            return false;
        }
    }
    return true;
}

/*
 * Credential = AKID/YYYYMMDD/region/service/aws4_request (spec 9). The
 * messages are AWS's where known.
 */
static int take_credential(struct tg_cur cred, struct tg_sigv4_auth *a, struct tg_error *err)
{
    struct tg_cur part[5];
    char e[ECHO_MAX];
    struct tg_cur last = cred;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= cred.len; i++) {
        if (i == cred.len || cred.ptr[i] == '/') {
            /* the terminator is the last piece, however many there are */
            last = cur_sub(cred, start, i);
            if (n < 5) {
                part[n] = last;
            }
            n++;
            start = i + 1;
        }
    }
    if (!tg_cur_eq_str(last, TERMINATOR)) {
        echo(e, sizeof(e), last);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Credential should be scoped with a valid terminator: 'aws4_request', "
                            "not '%s'.",
                            e);
    }
    if (n != 5) {
        echo(e, sizeof(e), cred);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Credential should be scoped to a valid region, not '%s'. ", e);
    }
    /* model accessKeyIdType: [\w]+, at most 128 */
    struct tg_cur akid = part[0];
    bool ok = akid.len > 0 && akid.len <= TG_SIGV4_MAX_ACCESS_KEY_ID;
    for (size_t k = 0; ok && k < akid.len; k++) {
        uint8_t c = akid.ptr[k];
        ok = is_unreserved(c) && c != '-' && c != '.' && c != '~';
    }
    if (!ok) {
        return tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
    }
    int ymd = 0;
    if (part[1].len != 8 || !digits(part[1], 0, 8, &ymd)) {
        echo(e, sizeof(e), part[1]);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Credential should be scoped to a valid date, not '%s'. ", e);
    }
    if (!valid_scope_word(part[2], sizeof(a->region) - 1)) {
        echo(e, sizeof(e), part[2]);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Credential should be scoped to a valid region, not '%s'. ", e);
    }
    if (!valid_scope_word(part[3], sizeof(a->service) - 1)) {
        echo(e, sizeof(e), part[3]);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Credential should be scoped to correct service: '%s'. ", e);
    }
    copy_field(a->access_key_id, sizeof(a->access_key_id), akid);
    copy_field(a->date, sizeof(a->date), part[1]);
    copy_field(a->region, sizeof(a->region), part[2]);
    copy_field(a->service, sizeof(a->service), part[3]);
    return 0;
}

/* SignedHeaders: lower case, sorted, unique, with "host", each present in
 * the request (see the decisions at the top). */
static int take_signed_headers(struct tg_cur sh, const struct tg_sigv4_request *req,
                               struct tg_sigv4_auth *a, struct tg_error *err)
{
    char e[ECHO_MAX];
    struct tg_cur prev = {NULL, 0};
    size_t count = 0, i = 0;
    bool host = false;
    if (sh.len == 0 || sh.len >= sizeof(a->signed_headers)) {
        echo(e, sizeof(e), sh);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE, "Invalid SignedHeaders: '%s'.", e);
    }
    while (i <= sh.len) {
        long semi = tg_cur_find(sh, ';', i);
        size_t end = semi < 0 ? sh.len : (size_t)semi;
        struct tg_cur name = cur_sub(sh, i, end);
        i = end + 1;
        bool ok = name.len > 0;
        for (size_t k = 0; ok && k < name.len; k++) {
            ok = is_lower_tchar(name.ptr[k]);
        }
        if (ok && prev.ptr != NULL) {
            ok = cmp_bytes(prev.ptr, prev.len, name.ptr, name.len) < 0;
        }
        if (!ok || ++count > TG_SIGV4_MAX_SIGNED_HEADERS) {
            echo(e, sizeof(e), sh);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "SignedHeaders must be a sorted, ';'-separated list of at most %d "
                                "distinct lower-case header names: '%s'.",
                                TG_SIGV4_MAX_SIGNED_HEADERS, e);
        }
        if (tg_cur_eq_str(name, "host")) {
            host = true;
        }
        if (!has_header(req, name)) {
            echo(e, sizeof(e), name);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "SignedHeaders names a header that is not in the request: '%s'.",
                                e);
        }
        prev = name;
        if (semi < 0) {
            break;
        }
    }
    if (!host) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                            "Authorization.");
    }
    copy_field(a->signed_headers, sizeof(a->signed_headers), sh);
    return 0;
}

static int take_signature(struct tg_cur sig, struct tg_sigv4_auth *a, struct tg_error *err)
{
    char e[ECHO_MAX];
    size_t n = 0;
    if (sig.len != 64 || tg_hex_decode(sig, a->signature, sizeof(a->signature), &n) < 0 ||
        n != 32) {
        echo(e, sizeof(e), sig);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Signature must be 64 hexadecimal characters, not '%s'.", e);
    }
    return 0;
}

static int take_token(struct tg_cur tok, struct tg_sigv4_auth *a, struct tg_error *err)
{
    if (tok.len > TG_SIGV4_MAX_SESSION_TOKEN) {
        /* longer than any token we issue: it cannot be one of ours */
        tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
        return tg_error_detail(err, "session token of %zu bytes (max %d)", tok.len,
                               TG_SIGV4_MAX_SESSION_TOKEN);
    }
    if (tok.len > 0) {
        memcpy(a->security_token, tok.ptr, tok.len);
    }
    a->security_token[tok.len] = '\0';
    a->security_token_len = tok.len;
    return 0;
}

/* The scope date must be the date part of X-Amz-Date (spec 9). */
static int check_scope_date(const struct tg_sigv4_auth *a, struct tg_error *err)
{
    if (memcmp(a->date, a->amzdate, 8) != 0) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                            "version of date from HTTP: '%s' != '%.8s', from '%s'.",
                            a->date, a->amzdate, a->amzdate);
    }
    return 0;
}

/* "Signature not yet current" (spec 9), both forms. */
static int check_not_future(const struct tg_sigv4_auth *a, int64_t now, struct tg_error *err)
{
    if (a->time > now + TG_SIGV4_MAX_SKEW) {
        char now_s[TG_AMZDATE_LEN], lim[TG_AMZDATE_LEN];
        tg_time_amzdate(now, now_s);
        tg_time_amzdate(now + TG_SIGV4_MAX_SKEW, lim);
        return tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH,
                            "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                            a->amzdate, lim, now_s);
    }
    return 0;
}

/* The Authorization header form. */
static int parse_header_form(const struct tg_sigv4_request *req, struct tg_cur h, int64_t now,
                             struct tg_sigv4_auth *a, struct tg_error *err)
{
    char e[ECHO_MAX];
    if (h.len > TG_SIGV4_MAX_AUTH_HEADER) {
        tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                     "Authorization header is longer than %d bytes.", TG_SIGV4_MAX_AUTH_HEADER);
        return -1;
    }
    echo(e, sizeof(e), h);
    h = cur_trim(h);
    /* "AWS4-HMAC-SHA256 Credential=..., ..." with no comma after the
     * algorithm (spec 9) */
    size_t sp = 0;
    while (sp < h.len && !is_ws(h.ptr[sp])) {
        sp++;
    }
    struct tg_cur alg = cur_sub(h, 0, sp);
    struct tg_cur rest = cur_trim(cur_sub(h, sp, h.len));
    struct tg_cur cred = {NULL, 0}, sh = {NULL, 0}, sig = {NULL, 0};
    bool have_cred = false, have_sh = false, have_sig = false;
    size_t i = 0;
    while (i <= rest.len && rest.len > 0) {
        long comma = tg_cur_find(rest, ',', i);
        size_t end = comma < 0 ? rest.len : (size_t)comma;
        struct tg_cur part = cur_trim(cur_sub(rest, i, end));
        i = end + 1;
        long eq = tg_cur_find(part, '=', 0);
        if (eq < 0) {
            char ep[ECHO_MAX];
            echo(ep, sizeof(ep), part);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "'%s' not a valid key=value pair (missing equal-sign) in "
                                "Authorization header: '%s'.",
                                ep, e);
        }
        struct tg_cur key = cur_sub(part, 0, (size_t)eq);
        struct tg_cur val = cur_sub(part, (size_t)eq + 1, part.len);
        bool *seen = NULL;
        struct tg_cur *slot = NULL;
        if (tg_cur_eq_str(key, "Credential")) {
            seen = &have_cred;
            slot = &cred;
        } else if (tg_cur_eq_str(key, "SignedHeaders")) {
            seen = &have_sh;
            slot = &sh;
        } else if (tg_cur_eq_str(key, "Signature")) {
            seen = &have_sig;
            slot = &sig;
        } else {
            char ek[ECHO_MAX];
            echo(ek, sizeof(ek), key);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "Unsupported parameter '%s' in Authorization header: '%s'.", ek, e);
        }
        if (*seen) {
            char ek[ECHO_MAX];
            echo(ek, sizeof(ek), key);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "Authorization header has more than one '%s' parameter: '%s'.", ek,
                                e);
        }
        *seen = true;
        *slot = val;
        if (comma < 0) {
            break;
        }
    }

    /* the date: X-Amz-Date, else Date (spec 9) */
    size_t n_amz = 0, n_date = 0;
    const struct tg_cur *amz = find_header(req, "x-amz-date", &n_amz);
    const struct tg_cur *date = find_header(req, "date", &n_date);
    bool have_date = amz != NULL || date != NULL;

    if (!have_cred || !have_sig || !have_sh || !have_date) {
        /* AWS lists every missing part, then echoes the header */
        return tg_error_set(
            err, TG_E_INCOMPLETE_SIGNATURE, "%s%s%s%sAuthorization=%s",
            have_cred ? "" : "Authorization header requires 'Credential' parameter. ",
            have_sig ? "" : "Authorization header requires 'Signature' parameter. ",
            have_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
            have_date ? ""
                      : "Authorization header requires existence of either a "
                        "'X-Amz-Date' or a 'Date' header. ",
            e);
    }
    /* after the key=value pairs and the missing parts, as AWS does: its
     * answer to "Bearer xyz" is the missing-equal-sign message */
    if (!tg_cur_eq_str(alg, ALGORITHM)) {
        char ea[ECHO_MAX];
        echo(ea, sizeof(ea), alg);
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE, "Unsupported AWS 'algorithm': '%s'",
                            ea);
    }
    TG_GUARD(take_credential(cred, a, err));
    TG_GUARD(take_signed_headers(sh, req, a, err));
    TG_GUARD(take_signature(sig, a, err));

    if (amz != NULL) {
        if (n_amz > 1 || take_amzdate(cur_trim(*amz), a) < 0) {
            char ed[ECHO_MAX];
            echo(ed, sizeof(ed), *amz);
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                                "http://en.wikipedia.org/wiki/ISO_8601",
                                ed);
        }
    } else {
        struct tg_cur d = cur_trim(*date);
        int64_t t = 0;
        if (n_date > 1) {
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "The request has more than one 'Date' header.");
        }
        if (take_amzdate(d, a) < 0) {
            /* also the HTTP form of a Date header */
            if (parse_imf_fixdate(d, &t) < 0) {
                char ed[ECHO_MAX];
                echo(ed, sizeof(ed), d);
                return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                    "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                                    "http://en.wikipedia.org/wiki/ISO_8601",
                                    ed);
            }
            a->time = t;
            tg_time_amzdate(t, a->amzdate);
        }
    }
    TG_GUARD(check_scope_date(a, err));

    /* ±15 minutes (spec 9) */
    if (a->time < now - TG_SIGV4_MAX_SKEW) {
        char now_s[TG_AMZDATE_LEN], lim[TG_AMZDATE_LEN];
        tg_time_amzdate(now, now_s);
        tg_time_amzdate(now - TG_SIGV4_MAX_SKEW, lim);
        return tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH,
                            "Signature expired: %s is now earlier than %s (%s - 15 min.)",
                            a->amzdate, lim, now_s);
    }
    TG_GUARD(check_not_future(a, now, err));

    size_t n_tok = 0;
    const struct tg_cur *tok = find_header(req, "x-amz-security-token", &n_tok);
    if (n_tok > 1) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "The request has more than one 'X-Amz-Security-Token' header.");
    }
    if (tok != NULL) {
        TG_GUARD(take_token(cur_trim(*tok), a, err));
    }
    a->form = TG_SIGV4_HEADER;
    a->expires = 0;
    return 0;
}

/* The presigned parameters, decoded. */
enum qp {
    QP_ALGORITHM,
    QP_CREDENTIAL,
    QP_DATE,
    QP_EXPIRES,
    QP_SIGNED_HEADERS,
    QP_SIGNATURE,
    QP_TOKEN,
    QP_COUNT
};
static const char *const QP_NAMES[QP_COUNT] = {
    "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",          "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token"};

struct qvals {
    struct tg_buf v[QP_COUNT];
    bool seen[QP_COUNT];
    bool dup;
};

static void qvals_free(struct qvals *q)
{
    for (int i = 0; i < QP_COUNT; i++) {
        tg_buf_free(&q->v[i]);
    }
}

static bool is_hex(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Every '%' is followed by two hex digits (RFC 3986 §2.1). */
static bool pct_ok(struct tg_cur v)
{
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] == '%') {
            if (v.len - i < 3 || !is_hex(v.ptr[i + 1]) || !is_hex(v.ptr[i + 2])) {
                return false;
            }
            i += 2;
        }
    }
    return true;
}

/*
 * Finds the presigned parameters in the raw query. A name that does not
 * decode cannot be one of them and is skipped (the canonical query string
 * then fails, and so does the signature); a value of ours that does not
 * decode, or is longer than any valid one, is an error.
 */
static int scan_query(struct tg_cur query, struct qvals *q, struct tg_error *err)
{
    size_t i = 0;
    for (int k = 0; k < QP_COUNT; k++) {
        tg_buf_init_secret(&q->v[k], TG_SIGV4_MAX_SESSION_TOKEN);
        q->seen[k] = false;
    }
    q->dup = false;
    while (i < query.len) {
        size_t j = i;
        while (j < query.len && query.ptr[j] != '&') {
            j++;
        }
        struct tg_cur pair = cur_sub(query, i, j);
        i = j + 1;
        long eq = tg_cur_find(pair, '=', 0);
        struct tg_cur name = eq < 0 ? pair : cur_sub(pair, 0, (size_t)eq);
        struct tg_cur value =
            eq < 0 ? tg_cur_make(pair.ptr + pair.len, 0) : cur_sub(pair, (size_t)eq + 1, pair.len);
        /* our names are 10 to 20 characters; decode only plausible ones */
        if (name.len == 0 || name.len > 64) {
            continue;
        }
        struct tg_buf dn;
        tg_buf_init(&dn, 64);
        if (tg_url_decode(&dn, name, true) < 0) {
            tg_buf_free(&dn);
            continue;
        }
        int which = -1;
        for (int k = 0; k < QP_COUNT; k++) {
            if (tg_cur_eq_str(tg_buf_cur(&dn), QP_NAMES[k])) {
                which = k;
            }
        }
        tg_buf_free(&dn);
        if (which < 0) {
            continue;
        }
        if (q->seen[which]) {
            q->dup = true;
            continue;
        }
        q->seen[which] = true;
        if (!pct_ok(value)) {
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "The query parameter '%s' is not correctly URI-encoded.",
                                QP_NAMES[which]);
        }
        /* with the encoding valid, decoding fails only past the maximum */
        if (value.len > 0 && tg_url_decode(&q->v[which], value, true) < 0) {
            if (which == QP_TOKEN) {
                /* longer than any token we issue: it cannot be one of ours */
                tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
                return tg_error_detail(err, "presigned session token longer than %d bytes",
                                       TG_SIGV4_MAX_SESSION_TOKEN);
            }
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "The query parameter '%s' is too long.", QP_NAMES[which]);
        }
    }
    return 0;
}

/* The presigned (query) form (spec 9, "Presigned (query) variant"). */
static int parse_query_form(const struct tg_sigv4_request *req, struct qvals *q, int64_t now,
                            struct tg_sigv4_auth *a, struct tg_error *err)
{
    char e[ECHO_MAX];
    if (q->dup) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "A query-string authentication parameter appears more than once.");
    }
    for (int k = 0; k < QP_TOKEN; k++) {
        if (!q->seen[k]) {
            /* AWS's (S3's) wording for a partial presigned URL */
            return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                                "Query-string authentication version 4 requires the "
                                "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
                                "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
        }
    }
    if (!tg_cur_eq_str(tg_buf_cur(&q->v[QP_ALGORITHM]), ALGORITHM)) {
        echo(e, sizeof(e), tg_buf_cur(&q->v[QP_ALGORITHM]));
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\", not '%s'.", e);
    }
    TG_GUARD(take_credential(tg_buf_cur(&q->v[QP_CREDENTIAL]), a, err));
    TG_GUARD(take_signed_headers(tg_buf_cur(&q->v[QP_SIGNED_HEADERS]), req, a, err));
    TG_GUARD(take_signature(tg_buf_cur(&q->v[QP_SIGNATURE]), a, err));
    if (take_amzdate(tg_buf_cur(&q->v[QP_DATE]), a) < 0) {
        echo(e, sizeof(e), tg_buf_cur(&q->v[QP_DATE]));
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "X-Amz-Date must be in the ISO8601 Long Format "
                            "\"yyyyMMdd'T'HHmmss'Z'\", not '%s'.",
                            e);
    }
    /* X-Amz-Expires: whole seconds, 1 to 604800 (7 days) */
    struct tg_cur ex = tg_buf_cur(&q->v[QP_EXPIRES]);
    int64_t expires = 0;
    bool num = ex.len > 0 && ex.len <= 18;
    for (size_t k = 0; num && k < ex.len; k++) {
        num = is_digit(ex.ptr[k]);
    }
    if (!num || tg_cur_to_i64(ex, &expires) < 0) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE, "X-Amz-Expires should be a number.");
    }
    if (expires < 1 || expires > TG_SIGV4_MAX_EXPIRES) {
        return tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                            "X-Amz-Expires must be between 1 and %d seconds (7 days).",
                            TG_SIGV4_MAX_EXPIRES);
    }
    a->expires = expires;
    TG_GUARD(check_scope_date(a, err));
    if (now > a->time + a->expires) {
        tg_error_set(err, TG_E_REQUEST_EXPIRED, "Request has expired.");
        char t[TG_AMZDATE_LEN];
        tg_time_amzdate(a->time + a->expires, t);
        return tg_error_detail(err, "presigned request expired at %s", t);
    }
    TG_GUARD(check_not_future(a, now, err));
    if (q->seen[QP_TOKEN]) {
        TG_GUARD(take_token(tg_buf_cur(&q->v[QP_TOKEN]), a, err));
    }
    a->form = TG_SIGV4_QUERY;
    return 0;
}

int tg_sigv4_parse(const struct tg_sigv4_request *req, int64_t now, struct tg_sigv4_auth *auth,
                   struct tg_error *err)
{
    /* Parsed into a local copy and handed out only when everything was
     * accepted. It holds the session token: wiped on the way out. */
    struct tg_sigv4_auth *a = NULL;
    struct qvals q;
    int rc = -1;
    size_t n_auth = 0;
    const struct tg_cur *h = find_header(req, "authorization", &n_auth);

    if (scan_query(req->query, &q, err) < 0) {
        goto out;
    }
    bool query_form = q.seen[QP_ALGORITHM] || q.seen[QP_CREDENTIAL] || q.seen[QP_SIGNATURE];
    if (h == NULL && !query_form) {
        tg_error_code(err, TG_E_MISSING_AUTHENTICATION_TOKEN);
        goto out;
    }
    if (h != NULL && query_form) {
        /* spec 9: header or query auth, never both (AWS's wording) */
        tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                     "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                     "Signature query string parameter or the Authorization header should be "
                     "specified");
        goto out;
    }
    if (n_auth > 1) {
        tg_error_set(err, TG_E_INCOMPLETE_SIGNATURE,
                     "The request has more than one Authorization header.");
        goto out;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    if (h != NULL) {
        TG_GUARD_GOTO(parse_header_form(req, *h, now, a, err), out);
    } else {
        TG_GUARD_GOTO(parse_query_form(req, &q, now, a, err), out);
    }
    memcpy(auth, a, sizeof(*auth));
    rc = 0;
out:
    qvals_free(&q);
    if (a != NULL) {
        OPENSSL_cleanse(a, sizeof(*a));
        free(a);
    }
    return rc;
}

/* ---- verification --------------------------------------------------------- */

int tg_sigv4_verify(const struct tg_sigv4_request *req, const struct tg_sigv4_auth *auth,
                    const uint8_t *secret, size_t secret_len, struct tg_error *err)
{
    struct tg_buf creq, sts;
    uint8_t key[32], mac[32];
    char scope[sizeof(auth->date) + sizeof(auth->region) + sizeof(auth->service) +
               sizeof(TERMINATOR) + 4];
    int rc = -1;
    tg_buf_init(&creq, TG_SIGV4_MAX_CANONICAL);
    tg_buf_init(&sts, 512);
    int n = snprintf(scope, sizeof(scope), "%s/%s/%s/" TERMINATOR, auth->date, auth->region,
                     auth->service);
    if (n < 0 || (size_t)n >= sizeof(scope)) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    if (tg_sigv4_canonical_request(req, auth->signed_headers, &creq) < 0) {
        /* a query that does not decode, or a request past the limits: no
         * signature can match it */
        tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH, "%s", SIG_MISMATCH_MESSAGE);
        tg_error_detail(err, "the canonical request could not be built (bad %%-encoding in the "
                             "query, or over the limits)");
        goto out;
    }
    if (tg_sigv4_string_to_sign(auth->amzdate, scope, tg_buf_cur(&creq), &sts) < 0 ||
        tg_sigv4_signing_key(secret, secret_len, auth->date, auth->region, auth->service, key) <
            0 ||
        hmac_sha256(key, sizeof(key), sts.ptr, sts.len, mac) < 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    if (CRYPTO_memcmp(mac, auth->signature, sizeof(mac)) != 0) {
        tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH, "%s", SIG_MISMATCH_MESSAGE);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    tg_buf_free(&creq);
    tg_buf_free(&sts);
    return rc;
}
