/*
 * Fuzz target for tg_jose_keyset_parse (and through it every JWK rule):
 * any bytes as a JWKS, then candidate lookups for every algorithm with and
 * without a kid, and one verification per candidate.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jose/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_jose_keyset *ks = NULL;
    struct tg_error err;
    size_t skipped = 0;
    if (tg_jose_keyset_parse(data, size, &ks, &skipped, &err) != 0) {
        if (ks != NULL || err.code != TG_E_INVALID_IDENTITY_TOKEN) {
            __builtin_trap();
        }
        return 0;
    }
    if (ks->n + skipped > TG_JOSE_MAX_KEYS) {
        __builtin_trap();
    }
    static const uint8_t sig[132] = {1};
    const struct tg_jose_key *c[TG_JOSE_MAX_KEYS];
    for (int a = TG_JOSE_ALG_NONE; a < TG_JOSE_ALG_COUNT; a++) {
        for (size_t i = 0; i <= ks->n; i++) {
            /* No kid, then each key's own kid. */
            struct tg_cur kid = tg_cur_make(NULL, 0);
            if (i < ks->n && ks->keys[i].has_kid) {
                kid = tg_cur_str(ks->keys[i].kid);
            }
            size_t n = tg_jose_keyset_candidates(ks, kid, (enum tg_jose_alg)a, c, TG_ARRAY_LEN(c));
            if (n > ks->n || (a == TG_JOSE_ALG_NONE && n != 0)) {
                __builtin_trap();
            }
            for (size_t j = 0; j < n && i == 0; j++) {
                if (c[j]->pkey == NULL) {
                    __builtin_trap();
                }
                /* A fixed non-signature is never valid. */
                if (tg_jose_verify(c[j], (enum tg_jose_alg)a, tg_cur_make(data, size),
                                   tg_cur_make(sig, sizeof(sig))) == 0) {
                    __builtin_trap();
                }
            }
        }
    }
    struct tg_jose_keyset *r = tg_jose_keyset_ref(ks);
    tg_jose_keyset_release(r);
    tg_jose_keyset_release(ks);
    return 0;
}
