/*
 * Fuzz target for sigv4: the input is split on '\n' into
 *   Authorization value \n query string \n X-Amz-Date value \n
 *   X-Amz-Security-Token value \n Date value \n path \n body
 * (a field that is missing or empty leaves its header out; an empty path is "/"; the
 * method is POST when there is a body field, else GET). The request, with
 * the vectors' Host header, goes through tg_sigv4_parse and,
 * when that accepts it, tg_sigv4_verify with a fixed secret. The clock is
 * pinned to the vectors' 2015-08-30T12:36:00Z, so dates in the seeds parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/sigv4.h"

#define FIELDS 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {"Authorization", NULL, "X-Amz-Date", "X-Amz-Security-Token",
                                  "Date"};
    static const uint8_t secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    struct tg_cur field[FIELDS];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < FIELDS; i++) {
        if (i == size || (data[i] == '\n' && n < FIELDS - 1)) {
            field[n++] = tg_cur_make(data + start, i - start);
            start = i + 1;
        }
    }
    /* a heap copy of each field, so ASan sees any read past its end */
    uint8_t *copy[FIELDS] = {NULL};
    for (size_t i = 0; i < n; i++) {
        copy[i] = malloc(field[i].len > 0 ? field[i].len : 1);
        if (copy[i] == NULL) {
            goto out;
        }
        if (field[i].len > 0) {
            memcpy(copy[i], field[i].ptr, field[i].len);
        }
        field[i].ptr = copy[i];
    }

    struct tg_sigv4_header headers[8];
    size_t nh = 0;
    headers[nh++] =
        (struct tg_sigv4_header){tg_cur_str("Host"), tg_cur_str("example.amazonaws.com")};
    headers[nh++] = (struct tg_sigv4_header){tg_cur_str("Content-Type"),
                                             tg_cur_str("application/x-www-form-urlencoded")};
    for (size_t i = 0; i < n && i < TG_ARRAY_LEN(names); i++) {
        if (names[i] != NULL && field[i].len > 0) {
            headers[nh++] = (struct tg_sigv4_header){tg_cur_str(names[i]), field[i]};
        }
    }
    struct tg_sigv4_request req = {
        .method = tg_cur_str(n > 6 ? "POST" : "GET"),
        .path = n > 5 && field[5].len > 0 ? field[5] : tg_cur_str("/"),
        .query = n > 1 ? field[1] : tg_cur_str(""),
        .headers = headers,
        .n_headers = nh,
        .payload = n > 6 ? field[6] : tg_cur_str(""),
        .normalize_path = size % 2 == 0,
    };
    struct tg_sigv4_auth auth;
    struct tg_error err;
    int64_t now = tg_time_from_civil(2015, 8, 30, 12, 36, 0);
    if (tg_sigv4_parse(&req, now, &auth, &err) == 0) {
        /* what parse promises */
        if (auth.security_token_len > TG_SIGV4_MAX_SESSION_TOKEN ||
            strlen(auth.signed_headers) >= sizeof(auth.signed_headers) ||
            strlen(auth.access_key_id) == 0 || strlen(auth.amzdate) != 16 ||
            memcmp(auth.date, auth.amzdate, 8) != 0 ||
            (auth.form != TG_SIGV4_HEADER && auth.form != TG_SIGV4_QUERY)) {
            abort();
        }
        /* only the seeds taken from the vectors verify */
        if (tg_sigv4_verify(&req, &auth, secret, sizeof(secret) - 1, &err) < 0 &&
            err.code != TG_E_SIGNATURE_DOES_NOT_MATCH) {
            abort();
        }
    } else {
        /* every failure names an error, and the message (which echoes
         * input) holds printable ASCII only */
        if (err.code == TG_OK || err.message[0] == '\0') {
            abort();
        }
        for (const char *p = err.message; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
                abort();
            }
        }
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(copy[i]);
    }
    return 0;
}
