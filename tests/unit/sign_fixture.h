/*
 * Test helper: signs a Query request with SigV4 the way botocore does,
 * through the sigv4 module's stage functions (canonical request, string to
 * sign, signing key) and OpenSSL's HMAC. The server-side verifier is then
 * checked against it end to end.
 */
#ifndef TG_TEST_SIGN_FIXTURE_H
#define TG_TEST_SIGN_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "sigv4/sigv4.h"

struct signed_req {
    char amzdate[TG_AMZDATE_LEN];
    char authorization[512];
    struct tg_sigv4_header headers[5];
    size_t n_headers;
};

/* Signs POST / with body, host "host", for akid/secret at time t, scope
 * region/service. headers[] then holds content-type, host, x-amz-date and
 * authorization (all borrowed from sr and the literals). Returns 0. */
static int sign_post(struct signed_req *sr, const char *host, const char *body, const char *akid,
                     const char *secret, int64_t t, const char *region, const char *service)
{
    tg_time_amzdate(t, sr->amzdate);
    sr->n_headers = 0;
    sr->headers[sr->n_headers++] = (struct tg_sigv4_header){
        tg_cur_str("Content-Type"), tg_cur_str("application/x-www-form-urlencoded; charset=utf-8")};
    sr->headers[sr->n_headers++] = (struct tg_sigv4_header){tg_cur_str("Host"), tg_cur_str(host)};
    sr->headers[sr->n_headers++] =
        (struct tg_sigv4_header){tg_cur_str("X-Amz-Date"), tg_cur_str(sr->amzdate)};
    struct tg_sigv4_request req = {tg_cur_str("POST"),
                                   tg_cur_str("/"),
                                   tg_cur_str(""),
                                   sr->headers,
                                   sr->n_headers,
                                   tg_cur_str(body),
                                   true};
    const char *signed_headers = "content-type;host;x-amz-date";
    struct tg_buf creq, sts;
    tg_buf_init(&creq, 1 << 20);
    tg_buf_init(&sts, 1 << 16);
    char date[9], scope[128];
    memcpy(date, sr->amzdate, 8);
    date[8] = '\0';
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, region, service);
    uint8_t key[32], mac[32];
    unsigned int mac_len = 0;
    int rc = -1;
    if (tg_sigv4_canonical_request(&req, signed_headers, &creq) < 0 ||
        tg_sigv4_string_to_sign(sr->amzdate, scope, tg_buf_cur(&creq), &sts) < 0 ||
        tg_sigv4_signing_key((const uint8_t *)secret, strlen(secret), date, region, service, key) <
            0 ||
        HMAC(EVP_sha256(), key, 32, sts.ptr, sts.len, mac, &mac_len) == NULL) {
        goto out;
    }
    char hex[65];
    tg_hex_encode(mac, 32, hex);
    snprintf(sr->authorization, sizeof(sr->authorization),
             "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", akid, scope,
             signed_headers, hex);
    sr->headers[sr->n_headers++] =
        (struct tg_sigv4_header){tg_cur_str("Authorization"), tg_cur_str(sr->authorization)};
    rc = 0;
out:
    tg_buf_free(&creq);
    tg_buf_free(&sts);
    return rc;
}

#endif
