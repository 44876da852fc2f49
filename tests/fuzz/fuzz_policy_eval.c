/* Fuzzes policy evaluation: a random policy and request context; the
 * decision must be the same with and without a trace, and
 * tg_policy_authorize must agree with tg_policy_evaluate wherever spec 4.5
 * says it must: the policy alone as the identity set, the policy in both
 * sets, the policy as the only session policy of an allow-everything role,
 * and (never allowed) as a session policy without identity policies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy/policy.h"

#define ALLOW_ALL                                                                                  \
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","            \
    "\"Resource\":\"*\"}}"

/* What decided must fit the decision (policy.h): Allow and explicit Deny
 * name their statements, implicit deny none. */
static void result_check(const struct tg_policy_result *res, enum tg_policy_decision d)
{
    if (res->decision != d) {
        abort();
    }
    if ((d == TG_POLICY_DENY_IMPLICIT) != (res->n_matched == 0)) {
        abort();
    }
}

/* The decision of tg_policy_authorize with and without a result and a
 * trace; all must agree, and the trace must be one JSON array. */
static enum tg_policy_decision authorize_all(const struct tg_policy *const *id, size_t n_id,
                                             const struct tg_policy *const *se, size_t n_se,
                                             const struct tg_policy_request *req)
{
    enum tg_policy_decision d = tg_policy_authorize(id, n_id, se, n_se, req, NULL, NULL);
    struct tg_policy_result res;
    if (tg_policy_authorize(id, n_id, se, n_se, req, &res, NULL) != d) {
        abort();
    }
    result_check(&res, d);
    struct tg_buf tb;
    tg_buf_init(&tb, 1 << 24);
    struct tg_json_w w;
    tg_json_w_init(&w, &tb);
    if (tg_policy_authorize(id, n_id, se, n_se, req, &res, &w) != d) {
        abort();
    }
    result_check(&res, d);
    json_t *t = NULL;
    if (tg_json_w_finish(&w) == 0) {
        json_error_t jerr;
        t = json_loadb((const char *)tb.ptr, tb.len, 0, &jerr);
    }
    if (t == NULL || !json_is_array(t) || json_array_size(t) != n_id + n_se) {
        abort();
    }
    json_decref(t);
    tg_buf_free(&tb);
    return d;
}

/* spec 4.5: a Deny anywhere denies; otherwise an identity Allow is needed
 * and, when there are session policies, a session Allow too. */
static void authorize_checks(const struct tg_policy *p, const struct tg_policy_request *req,
                             enum tg_policy_decision alone)
{
    const struct tg_policy *one[1] = {p};
    if (authorize_all(one, 1, NULL, 0, req) != alone) {
        abort();
    }
    if (authorize_all(one, 1, one, 1, req) != alone) {
        abort();
    }
    enum tg_policy_decision only_session = authorize_all(NULL, 0, one, 1, req);
    if (only_session !=
        (alone == TG_POLICY_DENY_EXPLICIT ? TG_POLICY_DENY_EXPLICIT : TG_POLICY_DENY_IMPLICIT)) {
        abort();
    }
    struct tg_policy *all = NULL;
    struct tg_error err;
    if (tg_policy_parse((const uint8_t *)ALLOW_ALL, strlen(ALLOW_ALL), TG_POLICY_IDENTITY, &all,
                        &err) != 0) {
        abort();
    }
    const struct tg_policy *everything[1] = {all};
    if (authorize_all(everything, 1, one, 1, req) != alone) {
        abort();
    }
    tg_policy_free(all);
}

/* input: kind byte, policy doc, '\x01', then lines: action \n resource \n ptype \n principal \n
 * key=v1|v2 ... */
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 2)
        return 0;
    enum tg_policy_kind kind = (d[0] % 2) ? TG_POLICY_TRUST : TG_POLICY_IDENTITY;
    d++;
    n--;
    const uint8_t *sep = memchr(d, 1, n);
    if (!sep)
        return 0;
    size_t dl = (size_t)(sep - d);
    struct tg_policy *p = NULL;
    struct tg_error err;
    if (tg_policy_parse(d, dl, kind, &p, &err) != 0)
        return 0;
    size_t rl = n - dl - 1;
    char *rest = malloc(rl + 1);
    memcpy(rest, sep + 1, rl);
    rest[rl] = 0;
    for (size_t i = 0; i < rl; i++)
        if (rest[i] == 0)
            rest[i] = 'x';
    char *lines[64];
    size_t nl = 0;
    char *s = rest;
    while (nl < 64) {
        lines[nl++] = s;
        char *e = strchr(s, '\n');
        if (!e)
            break;
        *e = 0;
        s = e + 1;
    }
    struct tg_policy_ctx_entry ctx[60];
    const char *vals[60][8];
    size_t nc = 0;
    for (size_t i = 4; i < nl && nc < 60; i++) {
        char *eq = strchr(lines[i], '=');
        ctx[nc].key = lines[i];
        ctx[nc].values = vals[nc];
        ctx[nc].n_values = 0;
        if (eq) {
            *eq = 0;
            char *v = eq + 1;
            while (ctx[nc].n_values < 8) {
                vals[nc][ctx[nc].n_values++] = v;
                char *b = strchr(v, '|');
                if (!b)
                    break;
                *b = 0;
                v = b + 1;
            }
        }
        nc++;
    }
    struct tg_policy_request req = {nl > 0 ? lines[0] : NULL,
                                    nl > 1 && lines[1][0] ? lines[1] : NULL,
                                    nl > 2 ? lines[2] : NULL,
                                    nl > 3 ? lines[3] : NULL,
                                    ctx,
                                    nc};
    enum tg_policy_decision a = tg_policy_evaluate(p, &req, NULL);
    struct tg_buf tb;
    tg_buf_init(&tb, 1 << 24);
    struct tg_json_w w;
    tg_json_w_init(&w, &tb);
    enum tg_policy_decision b = tg_policy_evaluate(p, &req, &w);
    if (a != b)
        abort();
    /* The trace is one JSON array. */
    json_t *t = NULL;
    if (tg_json_w_finish(&w) == 0) {
        json_error_t jerr;
        t = json_loadb((const char *)tb.ptr, tb.len, 0, &jerr);
    }
    if (t == NULL || !json_is_array(t))
        abort();
    json_decref(t);
    tg_buf_free(&tb);
    authorize_checks(p, &req, a);
    tg_policy_free(p);
    free(rest);
    return 0;
}
