/*
 * Fuzz target for tg_jose_jws_parse and tg_jose_jws_verify: any bytes,
 * parsed as a compact JWS with every algorithm allowed (and once more as a
 * generic JWS), then verified against a fixed key set of one RSA and one
 * EC P-256 key (RFC 7515 A.2 and A.3).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jose/jose.h"

static const char keyset_json[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"rsa\","
    "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4"
    "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
    "bSf63kpaSHSXndS5z5rexMdbBYU"
    "sLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
    "DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

static struct tg_jose_keyset *keyset(void)
{
    static struct tg_jose_keyset *ks;
    if (ks == NULL) {
        struct tg_error err;
        size_t skipped = 0;
        if (tg_jose_keyset_parse((const uint8_t *)keyset_json, strlen(keyset_json), &ks, &skipped,
                                 &err) != 0 ||
            ks->n != 2) {
            __builtin_trap();
        }
    }
    return ks;
}

static void one(const uint8_t *data, size_t size, uint32_t allowed)
{
    struct tg_jws jws;
    struct tg_error err;
    memset(&jws, 0x5a, sizeof(jws)); /* must stay untouched on failure */
    if (tg_jose_jws_parse(data, size, allowed, &jws, &err) != 0) {
        if (err.code != TG_E_INVALID_IDENTITY_TOKEN) {
            __builtin_trap();
        }
        return;
    }
    if (jws.alg == TG_JOSE_ALG_NONE || (allowed & TG_JOSE_ALG_BIT(jws.alg)) == 0 ||
        jws.signature.len == 0 || jws.header.mem == NULL ||
        ((allowed & TG_JOSE_JWS_ANY_PAYLOAD) == 0 && !jws.has_claims)) {
        __builtin_trap();
    }
    const struct tg_jose_key *used = NULL;
    bool no_key = false;
    if (tg_jose_jws_verify(&jws, keyset(), &used, &no_key) == 0) {
        /* Only a real signature by one of the two keys gets here. */
        if (used == NULL || no_key) {
            __builtin_trap();
        }
    }
    tg_jose_jws_free(&jws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, TG_JOSE_ALGS_ALL);
    one(data, size, TG_JOSE_ALGS_ALL | TG_JOSE_JWS_ANY_PAYLOAD);
    return 0;
}
