/*
 * Fuzz target for tg_json_object_parse, differential: every input goes
 * through tg_json and through jansson (tests/unit/json_oracle.h), as it is
 * and wrapped as a member ({"v":INPUT}); they must agree on accepting or
 * refusing it and, when both accept, on every top-level member. Any
 * disagreement traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/json_oracle.h"

static void check(const uint8_t *data, size_t size)
{
    char msg[300];
    if (json_oracle(data, size, TG_JSON_MAX_DEPTH, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "tg_json and jansson disagree: %s\n", msg);
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) {
        return 0;
    }
    check(data, size);
    uint8_t *w = malloc(size + 6);
    if (w == NULL) {
        return 0;
    }
    memcpy(w, "{\"v\":", 5);
    if (size > 0) {
        memcpy(w + 5, data, size);
    }
    w[size + 5] = '}';
    check(w, size + 6);
    free(w);
    return 0;
}
