/*
 * iam_authz: what a call made with temporary credentials asks for, so that
 * the role's permission policies can decide it (spec 4.5): the IAM action's
 * resource ARN and the tags it sets. Pure over the snapshot.
 *
 * The resource of an action is its entity: the role of RoleName (the role
 * is also the resource of AttachRolePolicy and PutRolePolicy, as at AWS),
 * else the policy of PolicyArn, else the provider of
 * OpenIDConnectProviderArn, the entity a Create* makes, or "*" for the
 * listings and simulations that name none.
 */
#include <stdio.h>
#include <string.h>

#include "iam/iam_internal.h"

/* 0 if tg_concat's result of length n fitted in cap bytes. */
static int fits(size_t cap, size_t n)
{
    return n < cap ? 0 : -1;
}

int tg_iam_request_resource(const struct tg_snapshot *snap, const char *action,
                            const struct tg_form *in, char *out, size_t cap)
{
    const char *acct = snap->account_id;
    const struct tg_cur *role = tg_form_get(in, "RoleName");
    const struct tg_cur *policy = tg_form_get(in, "PolicyArn");
    const struct tg_cur *provider = tg_form_get(in, "OpenIDConnectProviderArn");
    char name[TG_IAM_MAX_ARN + 1];
    if (role != NULL && role->len <= TG_IAM_MAX_ROLE_NAME) {
        memcpy(name, role->ptr, role->len);
        name[role->len] = '\0';
        char key[TG_IAM_ROLE_KEY_CAP];
        const struct tg_snap_role *r = tg_snapshot_key_lower(*role, key, sizeof(key)) == 0
                                           ? tg_snapshot_role(snap, tg_cur_str(key))
                                           : NULL;
        if (r != NULL) {
            return fits(cap, tg_concat(out, cap, r->arn, NULL));
        }
        /* CreateRole, or a role that does not exist: the path given, or /. */
        const struct tg_cur *path = tg_form_get(in, "Path");
        char p[TG_IAM_MAX_PATH + 1] = "/";
        if (path != NULL && path->len > 0 && path->len <= TG_IAM_MAX_PATH) {
            memcpy(p, path->ptr, path->len);
            p[path->len] = '\0';
        }
        return fits(cap, tg_concat(out, cap, "arn:aws:iam::", acct, ":role", p, name, NULL));
    }
    const struct tg_cur *arn = policy != NULL ? policy : provider;
    if (arn != NULL && arn->len < cap) {
        memcpy(out, arn->ptr, arn->len);
        out[arn->len] = '\0';
        return 0;
    }
    if (strcmp(action, "CreatePolicy") == 0) {
        const struct tg_cur *pname = tg_form_get(in, "PolicyName");
        const struct tg_cur *path = tg_form_get(in, "Path");
        if (pname != NULL && pname->len <= TG_IAM_MAX_POLICY_NAME) {
            char p[TG_IAM_MAX_PATH + 1] = "/";
            if (path != NULL && path->len > 0 && path->len <= TG_IAM_MAX_PATH) {
                memcpy(p, path->ptr, path->len);
                p[path->len] = '\0';
            }
            memcpy(name, pname->ptr, pname->len);
            name[pname->len] = '\0';
            return fits(cap, tg_concat(out, cap, "arn:aws:iam::", acct, ":policy", p, name, NULL));
        }
    }
    if (strcmp(action, "CreateOpenIDConnectProvider") == 0) {
        const struct tg_cur *url = tg_form_get(in, "Url");
        static const char scheme[] = "https://";
        if (url != NULL && url->len > sizeof(scheme) - 1 && url->len <= TG_IAM_MAX_URL &&
            strncmp((const char *)url->ptr, scheme, sizeof(scheme) - 1) == 0) {
            size_t n = url->len - (sizeof(scheme) - 1);
            memcpy(name, url->ptr + sizeof(scheme) - 1, n);
            name[n] = '\0';
            return fits(cap,
                        tg_concat(out, cap, "arn:aws:iam::", acct, ":oidc-provider/", name, NULL));
        }
    }
    return fits(cap, tg_concat(out, cap, "*", NULL));
}

size_t tg_iam_request_tags(const struct tg_form *in, struct tg_kv *out, size_t max)
{
    struct tg_kv tags[TG_IAM_MAX_TAGS + 1];
    size_t n = 0;
    struct tg_error err;
    /* An invalid list is refused by the action itself; here it sets no
     * tags. */
    if (tg_iam_param_tags(in, tags, &n, &err) < 0) {
        return 0;
    }
    if (n > max) {
        n = max;
    }
    memcpy(out, tags, n * sizeof(*out));
    return n;
}
