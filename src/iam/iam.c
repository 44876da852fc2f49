/* iam: the action table and the output of actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/iam_internal.h"

const struct tg_iam_action *tg_iam_action_find(struct tg_cur name)
{
    const struct tg_iam_action *tables[] = {tg_iam_provider_actions, tg_iam_role_actions,
                                            tg_iam_policy_actions, tg_iam_simulate_actions};
    const size_t counts[] = {tg_iam_provider_actions_n, tg_iam_role_actions_n,
                             tg_iam_policy_actions_n, tg_iam_simulate_actions_n};
    for (size_t t = 0; t < TG_ARRAY_LEN(tables); t++) {
        for (size_t i = 0; i < counts[t]; i++) {
            if (tg_cur_eq_str(name, tables[t][i].name)) {
                return &tables[t][i];
            }
        }
    }
    return NULL;
}

void tg_iam_out_init(struct tg_iam_out *o, struct tg_xml *xml)
{
    memset(o, 0, sizeof(*o));
    o->xml = xml;
}

void tg_iam_out_free(struct tg_iam_out *o)
{
    for (size_t i = 0; i < o->n_owned; i++) {
        free(o->owned[i]);
    }
    o->n_owned = 0;
    o->n_ops = 0;
}

static int out_add(struct tg_iam_out *o, enum tg_store_op_type type, enum tg_entity_kind kind,
                   const char *key, const json_t *doc, int64_t expect_version)
{
    if (o->n_ops >= TG_STORE_MAX_OPS || o->n_owned + 2 > TG_ARRAY_LEN(o->owned)) {
        return -1;
    }
    char *k = strdup(key);
    if (k == NULL) {
        return -1;
    }
    char *d = NULL;
    if (doc != NULL) {
        d = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (d == NULL) {
            free(k);
            return -1;
        }
        o->owned[o->n_owned++] = d;
    }
    o->owned[o->n_owned++] = k;
    struct tg_store_op *op = &o->ops[o->n_ops++];
    op->type = type;
    op->kind = kind;
    op->key = k;
    op->doc = d;
    op->expect_version = expect_version;
    return 0;
}

int tg_iam_out_put(struct tg_iam_out *o, enum tg_entity_kind kind, const char *key,
                   const json_t *doc, int64_t expect_version)
{
    return out_add(o, TG_STORE_PUT, kind, key, doc, expect_version);
}

int tg_iam_out_delete(struct tg_iam_out *o, enum tg_entity_kind kind, const char *key,
                      int64_t expect_version)
{
    return out_add(o, TG_STORE_DELETE, kind, key, NULL, expect_version);
}

void tg_iam_out_warn(struct tg_iam_out *o, const char *fmt, ...)
{
    if (o->n_warnings >= TG_IAM_MAX_WARNINGS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->warnings[o->n_warnings], sizeof(o->warnings[0]), fmt, ap);
    va_end(ap);
    o->n_warnings++;
}
