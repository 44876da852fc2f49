/*
 * sigv4: AWS Signature Version 4 verification (spec 9). Pure: the clock
 * and the secret are parameters.
 *
 * Verification is two steps, because the secret is looked up between them:
 *   1. tg_sigv4_parse: find the Authorization header or the presigned query
 *      parameters, parse them, check the date and the skew/expiry.
 *   2. the caller checks service and region of the scope and finds the
 *      secret (and session) of auth.access_key_id.
 *   3. tg_sigv4_verify: canonical request, string to sign, signing key,
 *      constant-time comparison.
 */
#ifndef TG_SIGV4_H
#define TG_SIGV4_H

#include "util/util.h"

struct tg_sigv4_header {
    struct tg_cur name;  /* as received; compared case-insensitively */
    struct tg_cur value; /* as received; trimmed and folded for the canonical form */
};

/* A request as it came off the wire. Everything is borrowed. */
struct tg_sigv4_request {
    struct tg_cur method; /* "GET", "POST" */
    struct tg_cur path;   /* raw path, still %-encoded, without the query: "/" */
    struct tg_cur query;  /* raw query string after '?', still encoded; may be empty */
    const struct tg_sigv4_header *headers; /* a name may repeat */
    size_t n_headers;
    struct tg_cur payload; /* the body */
    bool normalize_path;   /* true for every service but S3 (we always pass true) */
};

enum tg_sigv4_form {
    TG_SIGV4_HEADER = 1, /* Authorization: AWS4-HMAC-SHA256 ... */
    TG_SIGV4_QUERY,      /* presigned: X-Amz-Algorithm=AWS4-HMAC-SHA256&... */
};

/* The parsed authentication of a request. Cursors point into the request
 * (valid as long as it is), except where a decoded copy is needed: those
 * are in the fixed arrays. */
struct tg_sigv4_auth {
    enum tg_sigv4_form form;
    char access_key_id[TG_SIGV4_MAX_ACCESS_KEY_ID + 1];
    char date[9];     /* scope date YYYYMMDD */
    char region[64];  /* scope region */
    char service[32]; /* scope service */
    char amzdate[17]; /* X-Amz-Date YYYYMMDDTHHMMSSZ (or from Date: header) */
    int64_t time;     /* amzdate as epoch seconds */
    int64_t expires;  /* presigned: X-Amz-Expires seconds; 0 for the header form */
    /* lower-case signed header names in the client's order, ';'-joined */
    char signed_headers[1024];
    uint8_t signature[32]; /* decoded from 64 hex */
    /* X-Amz-Security-Token (header or query) if present, decoded; len 0 if absent */
    char security_token[TG_SIGV4_MAX_SESSION_TOKEN + 1];
    size_t security_token_len;
};

/*
 * Step 1. now is the server's clock (epoch seconds). Errors (spec 9):
 *   MissingAuthenticationToken  neither form present
 *   IncompleteSignature         malformed header/parameters, missing parts,
 *                               scope date != X-Amz-Date date, "host" not signed,
 *                               both header and query forms present
 *   SignatureDoesNotMatch       "Signature expired: ... is now earlier than ..."
 *                               and "Signature not yet current: ..." (±15 min, header form)
 *   RequestExpired              presigned and now > X-Amz-Date + X-Amz-Expires
 * The messages are AWS's (spec 9).
 */
int tg_sigv4_parse(const struct tg_sigv4_request *req, int64_t now, struct tg_sigv4_auth *auth,
                   struct tg_error *err) TG_MUST_USE;

/*
 * Step 3: compares the request's signature with the one computed from
 * secret (borrowed; the derived keys are wiped). SignatureDoesNotMatch with
 * AWS's message on mismatch.
 */
int tg_sigv4_verify(const struct tg_sigv4_request *req, const struct tg_sigv4_auth *auth,
                    const uint8_t *secret, size_t secret_len, struct tg_error *err) TG_MUST_USE;

/* ---- the stages, exposed for the test vectors and for client signing ---- */

/* The canonical request (spec 9) for the headers named in signed_headers
 * (';'-joined lower-case names). For the query form, X-Amz-Signature is
 * left out of the canonical query string. Appends to out. */
int tg_sigv4_canonical_request(const struct tg_sigv4_request *req, const char *signed_headers,
                               struct tg_buf *out) TG_MUST_USE;
/* "AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256(creq)>"; appends to out. */
int tg_sigv4_string_to_sign(const char *amzdate, const char *scope, struct tg_cur creq,
                            struct tg_buf *out) TG_MUST_USE;
/* kSigning from the secret and the scope parts. out is 32 bytes; wipe it. */
int tg_sigv4_signing_key(const uint8_t *secret, size_t secret_len, const char *date,
                         const char *region, const char *service, uint8_t out[32]) TG_MUST_USE;

#endif
