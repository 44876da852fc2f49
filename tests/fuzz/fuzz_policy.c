/*
 * Fuzz target for src/policy/policy.c: any bytes, parsed as each kind of
 * policy document; the compiled form is walked and freed.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy/policy.h"

/* policy.c's introspection hook (not yet in policy.h). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum tg_policy_kind kinds[] = {TG_POLICY_TRUST, TG_POLICY_IDENTITY,
                                                TG_POLICY_SESSION};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct tg_policy *p = NULL;
        struct tg_error err;
        if (tg_policy_parse(data, size, kinds[i], &p, &err) == 0) {
            if (tg_policy_statement_count(p) == 0) {
                __builtin_trap(); /* a parsed policy has at least one statement */
            }
            json_decref(tg_policy_to_json(p));
            tg_policy_free(p);
        } else if (p != NULL || err.code != TG_E_MALFORMED_POLICY_DOCUMENT) {
            __builtin_trap();
        }
    }
    (void)tg_policy_size(data, size);
    (void)tg_policy_chars_valid(data, size);
    return 0;
}
