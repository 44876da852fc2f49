/*
 * Fuzz target for src/policy/lint.c (`tegata policy check`): any bytes,
 * checked as a trust and as an identity policy, with and without an
 * operator-marked shared issuer. The report must be consistent: counts
 * match the kept findings, positions are 1-based and within the input,
 * messages are NUL-terminated, and a document the parser refuses has an
 * error.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"

static bool every_issuer_shared(const char *provider_key, void *ctx)
{
    (void)provider_key;
    (void)ctx;
    return true;
}

static void check_report(const uint8_t *data, size_t size, enum tg_policy_kind kind,
                         const struct tg_policy_report *r)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    size_t errors = 0, warnings = 0;
    if (r->n > TG_POLICY_LINT_MAX_FINDINGS || r->kind != kind) {
        __builtin_trap();
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct tg_policy_finding *f = &r->findings[i];
        if (f->rule == NULL || f->pos.line == 0 || f->pos.column == 0 || f->pos.line > lines ||
            memchr(f->message, '\0', sizeof(f->message)) == NULL) {
            __builtin_trap();
        }
        if (f->severity == TG_POLICY_ERROR) {
            errors++;
        } else if (f->severity == TG_POLICY_WARNING) {
            warnings++;
        } else {
            __builtin_trap();
        }
    }
    /* n_errors and n_warnings count also the findings not kept. */
    if (errors > r->n_errors || warnings > r->n_warnings) {
        __builtin_trap();
    }
    if (r->n < TG_POLICY_LINT_MAX_FINDINGS &&
        (errors != r->n_errors || warnings != r->n_warnings)) {
        __builtin_trap();
    }
    struct tg_policy *p = NULL;
    struct tg_error err;
    if (tg_policy_parse(data, size, kind, &p, &err) != 0 && r->n_errors == 0) {
        __builtin_trap(); /* IAM would refuse it: check must say so */
    }
    tg_policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum tg_policy_kind kinds[] = {TG_POLICY_TRUST, TG_POLICY_IDENTITY};
    (void)tg_policy_kind_guess(data, size);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        for (int shared = 0; shared < 2; shared++) {
            struct tg_policy_report r;
            if (tg_policy_lint(data, size, kinds[i], shared ? every_issuer_shared : NULL, NULL,
                               &r) != 0) {
                continue; /* out of memory */
            }
            check_report(data, size, kinds[i], &r);
            tg_policy_report_free(&r);
        }
    }
    return 0;
}
