/*
 * Fuzz target for tg_creds_session_open with a fixed two-key ring (k1
 * retired, k2 current; keys are constants, so the seeds can be real tokens).
 *
 * The input is a SessionToken as a client would send it in
 * X-Amz-Security-Token. An input that starts with 'P' is instead a session
 * plaintext: the rest is sealed under k2 with the documented header (creds.c)
 * and opened, so the decoder behind the GCM tag is fuzzed too, which no
 * forged token could reach. Whatever opens is sealed again and must open to
 * the same session.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixed_ring(struct tg_creds_keyring *ring)
{
    memset(ring, 0, sizeof(*ring));
    for (size_t i = 0; i < 2; i++) {
        snprintf(ring->keys[i].id, sizeof(ring->keys[i].id), "k%zu", i + 1);
        for (size_t j = 0; j < TG_CREDS_KEY_LEN; j++) {
            ring->keys[i].key[j] = (uint8_t)(0x40 * (i + 1) + j);
        }
        ring->keys[i].create_date_ms = 1767225600000LL + (int64_t)i * 3600000;
    }
    ring->keys[0].retire_date_ms = 1767229200000LL;
    ring->n = 2;
    ring->current = 1;
}

static void counter_rand(void *ctx, uint8_t *out, size_t n)
{
    uint32_t *c = ctx;
    for (size_t i = 0; i < n; i++) {
        *c = *c * 1103515245u + 12345u;
        out[i] = (uint8_t)(*c >> 16);
    }
}

/* The token format of creds.c, built by hand around a chosen plaintext. */
static int seal_plaintext(const struct tg_creds_keyring *ring, const uint8_t *pt, size_t n,
                          struct tg_buf *token)
{
    static const uint8_t header[] = {'T', 'G', 1, 2, 'k', '2'};
    uint32_t c = 1;
    struct tg_buf sealed, raw;
    int rc = -1;
    tg_buf_init(&sealed, 1 << 16);
    tg_buf_init(&raw, 1 << 16);
    if (tg_creds_seal(ring->keys[1].key, counter_rand, &c, tg_cur_make(header, sizeof(header)),
                      tg_cur_make(pt, n), &sealed) < 0 ||
        tg_buf_append(&raw, header, sizeof(header)) < 0 ||
        tg_buf_append(&raw, sealed.ptr + 1, sealed.len - 1) < 0 ||
        tg_base64_encode(token, raw.ptr, raw.len) < 0) {
        goto out;
    }
    rc = 0;
out:
    tg_buf_free(&sealed);
    tg_buf_free(&raw);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_creds_keyring ring;
    struct tg_creds_session s, again;
    struct tg_buf token, resealed;
    uint8_t *copy = NULL;
    uint32_t c = 2;

    fixed_ring(&ring);
    tg_buf_init(&token, 1 << 17);
    tg_buf_init(&resealed, TG_SIGV4_MAX_SESSION_TOKEN);
    if (size > 0 && data[0] == 'P') {
        if (seal_plaintext(&ring, data + 1, size - 1, &token) < 0) {
            goto out;
        }
    } else if (tg_buf_append(&token, data, size) < 0) {
        goto out;
    }
    /* An exact-size heap copy, so ASan sees any read past the end. */
    copy = malloc(token.len > 0 ? token.len : 1);
    if (copy == NULL) {
        goto out;
    }
    if (token.len > 0) {
        memcpy(copy, token.ptr, token.len);
    }
    if (tg_creds_session_open(&ring, tg_cur_make(copy, token.len), &s) == 0) {
        /* Every field is NUL-terminated within its array. */
        if (strnlen(s.access_key_id, sizeof(s.access_key_id)) == sizeof(s.access_key_id) ||
            strnlen(s.provider_arn, sizeof(s.provider_arn)) == sizeof(s.provider_arn) ||
            strnlen(s.source_identity, sizeof(s.source_identity)) == sizeof(s.source_identity) ||
            strnlen(s.policy, sizeof(s.policy)) == sizeof(s.policy) ||
            s.n_policy_arns > TG_STS_MAX_POLICY_ARNS ||
            tg_creds_session_policy_chars(&s) > TG_STS_PACKED_POLICY_MAX) {
            abort();
        }
        /* A session that opened seals again (it came from a token, so it
         * fits one) and opens to the same thing. */
        if (tg_creds_session_seal(&ring, counter_rand, &c, &s, &resealed) < 0 ||
            tg_creds_session_open(&ring, tg_buf_cur(&resealed), &again) < 0 ||
            memcmp(&s, &again, sizeof(s)) != 0) {
            abort();
        }
        tg_wipe(&again, sizeof(again));
    }
    tg_wipe(&s, sizeof(s));
out:
    free(copy);
    tg_buf_free(&token);
    tg_buf_free(&resealed);
    tg_creds_keyring_wipe(&ring);
    return 0;
}
