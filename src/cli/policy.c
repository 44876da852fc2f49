/*
 * cli: tegata policy check | simulate (issue 4 items 9 and 10).
 *
 * check lints policy files with tg_policy_lint. simulate evaluates a policy
 * (a file, or a role of the data directory) for a web identity, with the
 * condition keys built by the same code as AssumeRoleWithWebIdentity
 * (tg_sts_claim_ctx_build), and tells the decision and its trace in words.
 * A token is never printed; one given on the command line is wiped from
 * argv once copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "jose/jose.h"
#include "json/json.h"
#include "oidc/oidc.h"
#include "policy/policy.h"
#include "snapshot/snapshot.h"
#include "store/store.h"
#include "sts/sts.h"

#define NO_ACCOUNT "000000000000"
#define POLICY_FILE_MAX (2 * (size_t)TG_POLICY_MAX_DOCUMENT)
#define VALUES_SHOWN 8 /* request or policy values printed per condition */

static const char policy_usage[] =
    "Usage: tegata policy check [--trust | --identity] [--strict] FILE...\n"
    "       tegata policy simulate (--policy FILE | --role NAME [--data DIR])\n"
    "                              (--token JWT [--no-verify] | --claims FILE)\n"
    "                              [--action ACTION [--resource ARN]] [--context KEY=VALUE]...\n"
    "\n"
    "check validates and lints IAM policy documents: each finding is printed as\n"
    "FILE:LINE:COLUMN: error|warning: MESSAGE [RULE]; the exit status is 1 if\n"
    "there is an error (or, with --strict, a warning).\n"
    "\n"
    "simulate evaluates a trust policy for sts:AssumeRoleWithWebIdentity with a\n"
    "token's claims as condition keys, exactly as tegata serve does, or with\n"
    "--action permission policies; it prints allow or deny and why. Exit status\n"
    "0 allow, 1 deny, 2 usage error.\n"
    "\n"
    "check options:\n"
    "  --trust             check every FILE as a trust policy\n"
    "  --identity          check every FILE as an identity (permission) policy\n"
    "                      (default: a trust policy if a statement has a Principal)\n"
    "  --strict            exit 1 on warnings too\n"
    "\n"
    "simulate options:\n"
    "  --policy FILE       the policy to evaluate (a trust policy, or an identity\n"
    "                      policy with --action; --trust/--identity force the kind)\n"
    "  --role NAME         a role of the data directory: its trust policy, or with\n"
    "                      --action its permission policies (inline and attached)\n"
    "  --data DIR          data directory for --role (default $TEGATA_DATA, else ./var)\n"
    "  --token JWT         an OIDC ID token (@FILE reads it from FILE), verified with\n"
    "                      the issuer's JWKS unless --no-verify\n"
    "  --no-verify         use the token's claims without checking its signature,\n"
    "                      exp, nbf or iat\n"
    "  --claims FILE       a JSON object of claims instead of a token\n"
    "  --ca-file PEM       extra CA certificates for fetching the JWKS\n"
    "  --dev               UNSAFE: allow http:// issuers on loopback hosts\n"
    "  --account ID        account of the provider ARN for --policy (default\n"
    "                      000000000000)\n"
    "  --action ACTION     evaluate permission policies for ACTION\n"
    "  --resource ARN      ... on ARN (default *)\n"
    "  --context KEY=VALUE a request context key (repeat a key for several values)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Details: docs/policy.md\n";

static int usage_error(const char *cmd, const char *fmt, ...) TG_PRINTF(2, 3);

static int usage_error(const char *cmd, const char *fmt, ...)
{
    fprintf(stderr, "tegata policy %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'tegata policy --help'.\n");
    return 2;
}

/* Reads path ("-": stdin) into out, at most max bytes. 0, or -1 with why. */
static int read_file(const char *path, size_t max, struct tg_buf *out, char *why, size_t cap)
{
    bool in = strcmp(path, "-") == 0;
    int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "is a directory");
        if (!in) {
            close(fd);
        }
        return -1;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        snprintf(why, cap, "larger than %zu bytes", max);
        if (!in) {
            close(fd);
        }
        return -1;
    }
    int rc = 0;
    uint8_t chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(why, cap, "%s", strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0) {
            break;
        }
        if (out->len + (size_t)n > max || tg_buf_append(out, chunk, (size_t)n) < 0) {
            snprintf(why, cap, "larger than %zu bytes", max);
            rc = -1;
            break;
        }
    }
    tg_wipe(chunk, sizeof(chunk));
    if (!in) {
        close(fd);
    }
    return rc;
}

/* ---- check ------------------------------------------------------------------ */

static int policy_check(int argc, char **argv)
{
    enum { OPT_TRUST = 1, OPT_IDENTITY, OPT_STRICT };
    static const struct option opts[] = {
        {"trust", no_argument, NULL, OPT_TRUST},
        {"identity", no_argument, NULL, OPT_IDENTITY},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum tg_policy_kind forced = 0;
    bool strict = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_TRUST:
        case OPT_IDENTITY: {
            enum tg_policy_kind k = c == OPT_TRUST ? TG_POLICY_TRUST : TG_POLICY_IDENTITY;
            if (forced != 0 && forced != k) {
                return usage_error("check", "--trust and --identity exclude each other");
            }
            forced = k;
            break;
        }
        case OPT_STRICT:
            strict = true;
            break;
        case 'h':
            fputs(policy_usage, stdout);
            return 0;
        default:
            fputs(policy_usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        return usage_error("check", "no FILE to check");
    }
    int status = 0;
    size_t files = 0, errors = 0, warnings = 0;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        struct tg_buf doc;
        char why[256];
        tg_buf_init(&doc, POLICY_FILE_MAX);
        if (read_file(path, POLICY_FILE_MAX, &doc, why, sizeof(why)) < 0) {
            tg_buf_free(&doc);
            if (strncmp(why, "larger than", 11) == 0) {
                /* bad input, not a bad command line */
                printf("%s:1:1: error: %s (2 x the 131072 characters of IAM's largest policy) "
                       "[size]\n",
                       path, why);
                errors++;
                files++;
                continue;
            }
            fprintf(stderr, "tegata policy check: %s: %s\n", path, why);
            status = 2;
            continue;
        }
        files++;
        enum tg_policy_kind kind = forced != 0 ? forced : tg_policy_kind_guess(doc.ptr, doc.len);
        struct tg_policy_report r;
        if (tg_policy_lint(doc.ptr, doc.len, kind, NULL, NULL, &r) < 0) {
            tg_buf_free(&doc);
            fprintf(stderr, "tegata policy check: out of memory\n");
            return 1;
        }
        for (size_t k = 0; k < r.n; k++) {
            const struct tg_policy_finding *f = &r.findings[k];
            printf("%s:%u:%u: %s: %s [%s]\n", path, (unsigned)f->pos.line, (unsigned)f->pos.column,
                   f->severity == TG_POLICY_ERROR ? "error" : "warning", f->message, f->rule);
        }
        if (r.n_errors + r.n_warnings > r.n) {
            printf("%s:1:1: warning: %zu more findings not shown [limit]\n", path,
                   r.n_errors + r.n_warnings - r.n);
        }
        errors += r.n_errors;
        warnings += r.n_warnings;
        tg_policy_report_free(&r);
        tg_buf_free(&doc);
    }
    fflush(stdout);
    fprintf(stderr, "tegata policy check: %zu file%s, %zu error%s, %zu warning%s\n", files,
            files == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
            warnings == 1 ? "" : "s");
    if (status != 0) {
        return status;
    }
    return errors > 0 || (strict && warnings > 0) ? 1 : 0;
}

/* ---- simulate: inputs --------------------------------------------------------- */

/* One --context KEY=VALUE: the key owned, the value borrowed from argv. */
struct ctx_opt {
    char *key;
    const char *value;
};

struct sim {
    /* options */
    const char *policy_file, *role, *data, *token_arg, *claims_file, *ca_file, *account;
    const char *action, *resource;
    bool no_verify, dev;
    enum tg_policy_kind forced;
    struct ctx_opt ctx[TG_CLI_MAX_CONTEXT]; /* in the order given */
    size_t n_ctx;
    /* grouped by key (case-insensitively, as keys compare): one entry per
     * key, its values consecutive in ctx_values */
    struct tg_policy_ctx_entry ctx_entries[TG_CLI_MAX_CONTEXT];
    size_t n_ctx_entries;
    const char *ctx_values[TG_CLI_MAX_CONTEXT];
    /* loaded */
    struct tg_buf policy_text;
    struct tg_policy *file_policy;
    struct tg_store *store;
    struct tg_snapshot *snap;
    const struct tg_snap_role *snap_role;
    const struct tg_snap_provider *provider;
    struct tg_buf token; /* secret */
    struct tg_buf claims_text;
    struct tg_jws jws;
    bool jws_ok;
    struct tg_json_object claims_obj;
    bool claims_ok;
    const struct tg_json_object *claims; /* jws.claims or claims_obj */
    char provider_key[TG_IAM_MAX_URL + 1];
    char provider_arn[TG_IAM_MAX_ARN + 1];
    const char *audience;
    const char *subject;
    struct tg_sts_claim_ctx *cc;
    struct tg_sts_session_ctx *session; /* --role --action: the server's session context */
    struct tg_creds_session sess;       /* ... of this session (no secret: none is minted) */
    /* the policies evaluated */
    const struct tg_policy *policies[1 + TG_IAM_MAX_INLINE_POLICIES + TG_IAM_MAX_ATTACHED_POLICIES];
    char *labels[1 + TG_IAM_MAX_INLINE_POLICIES + TG_IAM_MAX_ATTACHED_POLICIES];
    size_t n_policies;
    bool trust;
};

static void sim_free(struct sim *s)
{
    for (size_t i = 0; i < s->n_ctx; i++) {
        free(s->ctx[i].key);
    }
    tg_buf_free(&s->policy_text);
    tg_policy_free(s->file_policy);
    for (size_t i = 0; i < s->n_policies; i++) {
        free(s->labels[i]);
    }
    if (s->cc != NULL) {
        tg_sts_claim_ctx_free(s->cc);
        free(s->cc);
    }
    free(s->session);
    if (s->jws_ok) {
        tg_jose_jws_free(&s->jws);
    }
    if (s->claims_ok) {
        tg_json_object_free(&s->claims_obj);
    }
    tg_buf_free(&s->token);
    tg_buf_free(&s->claims_text);
    tg_snapshot_release(s->snap);
    tg_store_close(s->store);
}

static int add_label(struct sim *s, const struct tg_policy *p, const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *label = malloc(n);
    if (label == NULL) {
        return -1;
    }
    (void)tg_concat(label, n, a, b, NULL);
    s->policies[s->n_policies] = p;
    s->labels[s->n_policies] = label;
    s->n_policies++;
    return 0;
}

static int add_context(struct sim *s, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        return usage_error("simulate", "--context wants KEY=VALUE, not '%s'", arg);
    }
    if (s->n_ctx >= TG_CLI_MAX_CONTEXT) {
        return usage_error("simulate", "more than %d --context options", TG_CLI_MAX_CONTEXT);
    }
    s->ctx[s->n_ctx].key = strndup(arg, (size_t)(eq - arg));
    if (s->ctx[s->n_ctx].key == NULL) {
        return 1;
    }
    s->ctx[s->n_ctx].value = eq + 1;
    s->n_ctx++;
    return 0;
}

/* One entry per --context key, with every value given for it. */
static void group_context(struct sim *s)
{
    bool used[TG_CLI_MAX_CONTEXT] = {false};
    size_t nv = 0;
    for (size_t i = 0; i < s->n_ctx; i++) {
        if (used[i]) {
            continue;
        }
        struct tg_policy_ctx_entry *e = &s->ctx_entries[s->n_ctx_entries++];
        e->key = s->ctx[i].key;
        e->values = &s->ctx_values[nv];
        e->n_values = 0;
        for (size_t j = i; j < s->n_ctx; j++) {
            if (!used[j] && strcasecmp(s->ctx[j].key, s->ctx[i].key) == 0) {
                used[j] = true;
                s->ctx_values[nv++] = s->ctx[j].value;
                e->n_values++;
            }
        }
    }
}

/* The policies to evaluate. 0, or an exit status. */
static int load_policies(struct sim *s)
{
    char why[256];
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (s->policy_file != NULL) {
        tg_buf_init(&s->policy_text, POLICY_FILE_MAX);
        if (read_file(s->policy_file, POLICY_FILE_MAX, &s->policy_text, why, sizeof(why)) < 0) {
            return usage_error("simulate", "%s: %s", s->policy_file, why);
        }
        enum tg_policy_kind kind =
            s->forced != 0 ? s->forced
                           : tg_policy_kind_guess(s->policy_text.ptr, s->policy_text.len);
        s->trust = kind == TG_POLICY_TRUST;
        if (s->trust && s->action != NULL) {
            return usage_error("simulate",
                               "%s is a trust policy: it is evaluated for "
                               "sts:AssumeRoleWithWebIdentity, without --action (--identity "
                               "forces an identity policy)",
                               s->policy_file);
        }
        if (!s->trust && s->action == NULL) {
            return usage_error("simulate", "%s is an identity policy: give --action",
                               s->policy_file);
        }
        if (tg_policy_parse(s->policy_text.ptr, s->policy_text.len, kind, &s->file_policy, &err) <
            0) {
            return usage_error("simulate", "%s: %s%s%s (see tegata policy check %s)",
                               s->policy_file, tg_code_name(err.code), err.message[0] ? ": " : "",
                               err.message, s->policy_file);
        }
        return add_label(s, s->file_policy, s->trust ? "trust policy " : "policy ",
                         s->policy_file) < 0
                   ? 1
                   : 0;
    }
    char db[4096];
    struct stat st;
    if (tg_concat(db, sizeof(db), s->data, "/", TG_STORE_SQLITE_FILE, NULL) >= sizeof(db) ||
        stat(db, &st) < 0) {
        return usage_error("simulate", "no tegata data directory at %s", s->data);
    }
    if (tg_store_open_sqlite(db, &s->store, &err) < 0 ||
        tg_snapshot_load(s->store, 1, &s->snap, &err) < 0) {
        fprintf(stderr, "tegata policy simulate: %s: %s%s%s\n", s->data, err.message,
                err.detail[0] ? ": " : "", err.detail);
        return 1;
    }
    s->snap_role = tg_snapshot_role(s->snap, tg_cur_str(s->role));
    if (s->snap_role == NULL) {
        return usage_error("simulate", "no role named %s in %s", s->role, s->data);
    }
    s->trust = s->action == NULL;
    if (s->trust) {
        return add_label(s, s->snap_role->trust, "trust policy of role ", s->snap_role->name) < 0
                   ? 1
                   : 0;
    }
    const json_t *inl = json_object_get(s->snap_role->e.doc, "inline_policies");
    for (size_t i = 0; i < s->snap_role->n_inline && i < json_array_size(inl) &&
                       s->n_policies < TG_ARRAY_LEN(s->policies);
         i++) {
        const char *name = json_string_value(json_object_get(json_array_get(inl, i), "name"));
        if (add_label(s, s->snap_role->inline_compiled[i], "inline policy ",
                      name != NULL ? name : "?") < 0) {
            return 1;
        }
    }
    const json_t *att = json_object_get(s->snap_role->e.doc, "attached");
    size_t i;
    const json_t *a;
    json_array_foreach(att, i, a)
    {
        const char *arn = json_string_value(a);
        const struct tg_snap_policy *mp =
            arn != NULL ? tg_snapshot_policy_by_arn(s->snap, tg_cur_str(arn)) : NULL;
        if (mp != NULL && s->n_policies < TG_ARRAY_LEN(s->policies) &&
            add_label(s, mp->compiled, "attached policy ", mp->arn) < 0) {
            return 1;
        }
    }
    return 0;
}

/* The claims, from --claims or the token. 0, or an exit status. */
static int load_claims(struct sim *s)
{
    char why[256];
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (s->claims_file != NULL) {
        tg_buf_init(&s->claims_text, TG_CLI_MAX_CLAIMS_FILE);
        if (read_file(s->claims_file, TG_CLI_MAX_CLAIMS_FILE, &s->claims_text, why, sizeof(why)) <
            0) {
            return usage_error("simulate", "%s: %s", s->claims_file, why);
        }
        /* the same reader, limits and rules as a token's payload */
        if (tg_json_object_parse(tg_buf_cur(&s->claims_text), TG_JOSE_MAX_CLAIMS, TG_JSON_MAX_DEPTH,
                                 &s->claims_obj, why, sizeof(why)) < 0) {
            return usage_error("simulate", "%s: not a JSON object of claims: %s", s->claims_file,
                               why);
        }
        s->claims_ok = true;
        s->claims = &s->claims_obj;
        return 0;
    }
    if (s->token_arg == NULL) {
        return 0;
    }
    tg_buf_init_secret(&s->token, TG_JOSE_MAX_TOKEN + 2);
    if (s->token_arg[0] == '@') {
        if (read_file(s->token_arg + 1, TG_JOSE_MAX_TOKEN + 2, &s->token, why, sizeof(why)) < 0) {
            return usage_error("simulate", "--token %s: %s", s->token_arg, why);
        }
        while (s->token.len > 0 &&
               (s->token.ptr[s->token.len - 1] == '\n' || s->token.ptr[s->token.len - 1] == '\r' ||
                s->token.ptr[s->token.len - 1] == ' ')) {
            s->token.len--;
        }
    } else if (tg_buf_append_str(&s->token, s->token_arg) < 0) {
        return usage_error("simulate", "--token: longer than %d characters", TG_JOSE_MAX_TOKEN);
    }
    return 0;
}

static void deny(const char *what, const struct tg_error *err)
{
    printf("deny: %s: %s%s%s%s%s\n", what, tg_code_name(err->code), err->message[0] ? ": " : "",
           err->message, err->detail[0] ? " - " : "", err->detail);
}

static const char *claim_string(const struct tg_json_object *o, const char *name)
{
    const struct tg_json_member *m = tg_json_object_get(o, name);
    return m != NULL && m->type == TG_JSON_STRING ? m->str : NULL;
}

/* The signature, as AssumeRoleWithWebIdentity checks it (spec 2 steps 4
 * and 5): the provider's algorithms, then a key of the issuer's JWKS.
 * Returns true if it verifies; else prints the denial. */
static bool verify_signature(struct sim *s, const char *iss, uint32_t allowed)
{
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if ((TG_JOSE_ALG_BIT(s->jws.alg) & allowed) == 0) {
        tg_error_set(&err, TG_E_INVALID_IDENTITY_TOKEN, "Unsupported token signing algorithm %s",
                     tg_jose_alg_name(s->jws.alg));
        deny("the token", &err);
        return false;
    }
    const char *tps[TG_IAM_MAX_THUMBPRINTS];
    size_t n_tps = s->provider != NULL ? tg_sts_provider_thumbprints(s->provider, tps) : 0;
    struct tg_oidc_config oc = {s->ca_file, s->dev, 0};
    struct tg_oidc_cache *cache = NULL;
    struct tg_jose_keyset *ks = NULL;
    struct tg_cur kid = s->jws.has_kid ? tg_cur_str(s->jws.kid) : tg_cur_make("", 0);
    if (tg_oidc_cache_new(&oc, &cache, &err) < 0 ||
        tg_oidc_keys(cache, iss, tps, n_tps, kid, tg_time_now(), &ks, &err) < 0) {
        tg_oidc_cache_free(cache);
        deny("the issuer's keys", &err);
        return false;
    }
    const char *used = NULL;
    char used_kid[TG_JOSE_MAX_KID + 1] = "";
    bool ok = tg_sts_token_signature(&s->jws, ks, &used, &err) == 0;
    if (ok) {
        (void)tg_concat(used_kid, sizeof(used_kid), used, NULL);
    }
    tg_jose_keyset_release(ks); /* used is borrowed from it */
    tg_oidc_cache_free(cache);
    if (!ok) {
        deny("the token", &err);
        return false;
    }
    printf("token: signature verified with key %s of %s\n", used_kid, iss);
    return true;
}

/* ---- simulate: the trace in words ------------------------------------------------ */

static void print_values(const json_t *vals, const json_t *total)
{
    size_t i;
    const json_t *v;
    json_array_foreach(vals, i, v)
    {
        if (i >= VALUES_SHOWN) {
            break;
        }
        char q[512];
        const char *t = json_string_value(v);
        size_t n = t != NULL ? strlen(t) : 0;
        size_t o = 0;
        for (size_t k = 0; k < n && o + 8 < sizeof(q) - 8; k++) {
            unsigned char c = (unsigned char)t[k];
            if (c < 0x20 || c == '"' || c == '\\') {
                o += (size_t)snprintf(q + o, sizeof(q) - o, c < 0x20 ? "\\x%02x" : "\\%c", c);
            } else {
                q[o++] = (char)c;
            }
        }
        q[o] = '\0';
        printf("%s\"%s\"%s", i > 0 ? ", " : "", q, o < n ? "..." : "");
    }
    size_t all = json_is_integer(total) ? (size_t)json_integer_value(total) : json_array_size(vals);
    if (all > VALUES_SHOWN || all > json_array_size(vals)) {
        printf(" (%zu in all)", all);
    }
}

static const char *reason_words(const char *reason)
{
    if (reason == NULL) {
        return "";
    }
    if (strcmp(reason, "principal") == 0) {
        return "the principal does not match";
    }
    if (strcmp(reason, "action") == 0) {
        return "the action does not match";
    }
    if (strcmp(reason, "resource") == 0) {
        return "the resource does not match";
    }
    if (strcmp(reason, "condition") == 0) {
        return "a condition is false";
    }
    return reason;
}

/* What a statement that did not apply names instead: its principals or
 * its actions (from the compiled form, tg_policy_to_json). */
static void print_instead(const struct sim *s, const struct tg_policy *p, size_t idx,
                          const char *reason, const struct tg_policy_request *req)
{
    json_t *doc = tg_policy_to_json(p);
    const json_t *st = json_array_get(json_object_get(doc, "statements"), idx);
    if (strcmp(reason, "principal") == 0) {
        const json_t *prs = json_object_get(st, "Principal");
        bool not = prs == NULL;
        prs = not ? json_object_get(st, "NotPrincipal") : prs;
        printf("    the statement %s", not ? "excludes" : "trusts");
        size_t i;
        const json_t *pr;
        bool same_provider = false;
        json_array_foreach(prs, i, pr)
        {
            const char *v = json_string_value(json_object_get(pr, "value"));
            printf("%s %s %s", i > 0 ? "," : "", json_string_value(json_object_get(pr, "type")),
                   v != NULL ? v : "?");
            const char *a = v != NULL ? strstr(v, ":oidc-provider/") : NULL;
            const char *b =
                req->principal != NULL ? strstr(req->principal, ":oidc-provider/") : NULL;
            same_provider = same_provider || (a != NULL && b != NULL && strcmp(a, b) == 0);
        }
        printf("\n");
        if (same_provider && s->policy_file != NULL) {
            printf("    (the same provider in another account: --account sets the request's)\n");
        }
    } else if (strcmp(reason, "action") == 0 || strcmp(reason, "resource") == 0) {
        bool action = reason[0] == 'a';
        const json_t *acts = json_object_get(st, action ? "Action" : "Resource");
        bool not = acts == NULL;
        acts = not ? json_object_get(st, action ? "NotAction" : "NotResource") : acts;
        printf("    the statement %s", not ? "excludes" : "names");
        size_t i;
        const json_t *a;
        json_array_foreach(acts, i, a)
        {
            printf("%s %s", i > 0 ? "," : "", json_string_value(a));
        }
        printf("\n");
    }
    json_decref(doc);
}

static void print_statement(const struct sim *s, const struct tg_policy *p, const json_t *st,
                            const struct tg_policy_request *req)
{
    size_t idx = (size_t)json_integer_value(json_object_get(st, "statement"));
    const char *sid = json_string_value(json_object_get(st, "sid"));
    const char *effect = json_string_value(json_object_get(st, "effect"));
    bool matched = json_is_true(json_object_get(st, "matched"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    printf("  statement %zu (%s", idx, effect != NULL ? effect : "?");
    if (sid != NULL && sid[0] != '\0') {
        printf(", Sid \"%s\"", sid);
    }
    if (s->policy_file != NULL) {
        struct tg_policy_pos a, b;
        tg_policy_statement_span(p, idx, &a, &b);
        if (a.line > 0) {
            printf(", line %u column %u", (unsigned)a.line, (unsigned)a.column);
        }
    }
    printf("): ");
    bool unsupported = reason != NULL && strncmp(reason, "unsupported", 11) == 0;
    if (matched) {
        printf("applies%s\n",
               effect != NULL && strcmp(effect, "Deny") == 0 ? ", and denies" : ", and allows");
    } else if (unsupported) {
        printf("cannot be decided (%s), so it counts as an explicit Deny\n", reason);
    } else {
        printf("does not apply: %s\n", reason_words(reason));
        if (reason != NULL) {
            print_instead(s, p, idx, reason, req);
        }
    }
    size_t i;
    const json_t *cd;
    json_array_foreach(json_object_get(st, "conditions"), i, cd)
    {
        const json_t *req = json_object_get(cd, "request_values");
        printf("    %s %s: ", json_string_value(json_object_get(cd, "operator")),
               json_string_value(json_object_get(cd, "key")));
        if (json_is_array(req)) {
            printf("compared request value%s ", json_array_size(req) == 1 ? "" : "s");
            if (json_array_size(req) == 0) {
                printf("(none)");
            }
            print_values(req, json_object_get(cd, "request_values_total"));
            printf(" with ");
        } else {
            printf("the request has no such key; ");
        }
        const json_t *pol = json_object_get(cd, "policy_values");
        printf("policy value%s ", json_array_size(pol) == 1 ? "" : "s");
        print_values(pol, json_object_get(cd, "policy_values_total"));
        const char *u = json_string_value(json_object_get(cd, "unsupported"));
        printf(": %s%s%s\n", json_is_true(json_object_get(cd, "result")) ? "true" : "false",
               u != NULL ? " - " : "", u != NULL ? u : "");
    }
}

/* A role's permission policies: the context of a call made with the
 * role's temporary credentials, built by the server's own function
 * (tg_sts_session_context): the session as AssumeRoleWithWebIdentity would
 * issue it now for the claims (session name: --context
 * sts:RoleSessionName, else "simulate"). The keys of the call itself
 * (aws:SourceIp, aws:UserAgent, aws:SecureTransport, aws:RequestTag/...,
 * aws:TagKeys) come only from --context. */
static int session_context(struct sim *s)
{
    struct tg_creds_session *sess = &s->sess; /* the context borrows from it */
    memset(sess, 0, sizeof(*sess));
    const char *session_name = "simulate";
    for (size_t i = 0; i < s->n_ctx; i++) {
        if (strcasecmp(s->ctx[i].key, "sts:RoleSessionName") == 0) {
            session_name = s->ctx[i].value;
        }
    }
    size_t name_len = strlen(session_name);
    if (name_len < 2 || name_len > TG_SESSION_NAME_MAX) {
        usage_error("simulate", "sts:RoleSessionName must have 2 to %d characters",
                    TG_SESSION_NAME_MAX);
        return -1;
    }
    const char *role_id = json_string_value(json_object_get(s->snap_role->e.doc, "role_id"));
    (void)tg_concat(sess->account_id, sizeof(sess->account_id), s->snap->account_id, NULL);
    (void)tg_concat(sess->role_name, sizeof(sess->role_name), s->snap_role->name, NULL);
    (void)tg_concat(sess->role_id, sizeof(sess->role_id), role_id != NULL ? role_id : "", NULL);
    (void)tg_concat(sess->session_name, sizeof(sess->session_name), session_name, NULL);
    if (s->claims != NULL) {
        (void)tg_concat(sess->provider_arn, sizeof(sess->provider_arn), s->provider_arn, NULL);
        (void)tg_concat(sess->subject, sizeof(sess->subject), s->subject, NULL);
        (void)tg_concat(sess->audience, sizeof(sess->audience), s->audience, NULL);
    }
    sess->issued = tg_time_now();
    sess->expires = sess->issued + TG_SESSION_DEFAULT_DURATION;
    struct tg_sts_call call = {sess->issued, NULL, NULL, false, NULL, 0};
    s->session = malloc(sizeof(*s->session));
    if (s->session == NULL) {
        fprintf(stderr, "tegata policy simulate: out of memory\n");
        return -1;
    }
    tg_sts_session_context(s->session, sess, s->snap_role, &call);
    return 0;
}

/* Is key one the shell sets from the call rather than the session? */
static bool call_key(const char *key)
{
    return strcasecmp(key, "aws:SecureTransport") == 0;
}

static int simulate_run(struct sim *s)
{
    struct tg_policy_request req;
    memset(&req, 0, sizeof(req));
    /* the context: --context first (the evaluator takes the first entry of
     * a key), then the claims as AssumeRoleWithWebIdentity builds them */
    _Static_assert(TG_STS_SESSION_KEYS <= TG_STS_CLAIM_CTX_MAX, "a session's keys fit");
    struct tg_policy_ctx_entry entries[TG_CLI_MAX_CONTEXT + TG_STS_CLAIM_CTX_MAX];
    size_t n = 0, from_claims = 0;
    group_context(s);
    for (size_t i = 0; i < s->n_ctx_entries; i++) {
        entries[n++] = s->ctx_entries[i];
    }
    bool in_session = !s->trust && s->snap_role != NULL;
    if (in_session && session_context(s) < 0) {
        return 2;
    }
    const struct tg_policy_ctx_entry *more = in_session      ? s->session->entries
                                             : s->cc != NULL ? s->cc->entries
                                                             : NULL;
    size_t n_more = in_session ? s->session->n : s->cc != NULL ? s->cc->n : 0;
    for (size_t i = 0; i < n_more; i++) {
        const char *k = more[i].key;
        bool shadowed = false;
        for (size_t j = 0; j < s->n_ctx_entries && !shadowed; j++) {
            shadowed = strcasecmp(s->ctx_entries[j].key, k) == 0;
        }
        size_t kl = strlen(k);
        /* permission policies see only the keys AWS keeps in the session */
        if (shadowed ||
            (!s->trust && kl > 4 &&
             (strcmp(k + kl - 4, ":azp") == 0 || strcmp(k + kl - 4, ":amr") == 0)) ||
            (in_session && call_key(k))) {
            continue;
        }
        entries[n++] = more[i];
        from_claims++;
    }
    if (s->trust) {
        req.action = "sts:AssumeRoleWithWebIdentity";
        req.principal_type = "Federated";
        req.principal = s->provider_arn;
        printf("request: sts:AssumeRoleWithWebIdentity by Federated %s\n", s->provider_arn);
    } else {
        req.action = s->action;
        req.resource = s->resource != NULL ? s->resource : "*";
        printf("request: %s on %s\n", req.action, req.resource);
    }
    req.ctx = entries;
    req.n_ctx = n;
    if (in_session) {
        printf("context: %zu key%s (%zu of a session of role %s%s, %zu from --context)\n", n,
               n == 1 ? "" : "s", from_claims, s->snap_role->name,
               s->claims != NULL ? " for the claims" : " without claims", s->n_ctx_entries);
    } else if (s->claims != NULL) {
        printf("context: %zu key%s (%zu from the claims, %zu from --context)\n", n,
               n == 1 ? "" : "s", from_claims, s->n_ctx_entries);
    } else {
        printf("context: %zu key%s (no claims, %zu from --context)\n", n, n == 1 ? "" : "s",
               s->n_ctx_entries);
    }

    struct tg_buf tb;
    struct tg_json_w w;
    struct tg_policy_result res;
    tg_buf_init(&tb, TG_AUDIT_DECISION_MAX);
    tg_json_w_init(&w, &tb);
    enum tg_policy_decision d =
        tg_policy_authorize(s->policies, s->n_policies, NULL, 0, &req, &res, &w);
    json_t *trace = NULL;
    if (tg_json_w_finish(&w) == 0) {
        trace = json_loadb((const char *)tb.ptr, tb.len, 0, NULL);
    }
    tg_buf_free(&tb);
    if (trace == NULL) {
        printf("(the trace is larger than %d bytes and is not shown)\n", TG_AUDIT_DECISION_MAX);
    }
    size_t i;
    const json_t *pe;
    json_array_foreach(trace, i, pe)
    {
        size_t pi = (size_t)json_integer_value(json_object_get(pe, "policy"));
        if (pi >= s->n_policies) {
            continue;
        }
        printf("%s:\n", s->labels[pi]);
        size_t k;
        const json_t *st;
        json_array_foreach(json_object_get(pe, "statements"), k, st)
        {
            print_statement(s, s->policies[pi], st, &req);
        }
        const char *pd = json_string_value(json_object_get(pe, "decision"));
        printf("  result: %s\n", pd != NULL ? pd : "?");
    }
    json_decref(trace);
    if (s->n_policies == 0) {
        printf("(the role has no permission policies)\n");
    }
    size_t shown = res.n_missing < TG_POLICY_MAX_MISSING ? res.n_missing : TG_POLICY_MAX_MISSING;
    if (shown > 0) {
        printf("keys the policies test that the request does not have:");
        for (size_t m = 0; m < shown; m++) {
            printf(" %s", res.missing[m]);
        }
        printf("\n");
    }
    const char *what = s->trust ? "sts:AssumeRoleWithWebIdentity" : s->action;
    if (d == TG_POLICY_DENY_IMPLICIT) {
        printf("deny: no statement allows %s (implicit deny)\n", what);
        return 1;
    }
    printf("%s: ", d == TG_POLICY_ALLOW ? "allow" : "deny");
    size_t nm = res.n_matched < TG_POLICY_MAX_MATCHED ? res.n_matched : TG_POLICY_MAX_MATCHED;
    for (size_t m = 0; m < nm; m++) {
        size_t pi = res.matched[m].policy;
        printf("%sstatement %zu of the %s", m > 0 ? "; " : "", res.matched[m].statement,
               pi < s->n_policies ? s->labels[pi] : "?");
    }
    printf(" %s %s%s\n", d == TG_POLICY_ALLOW ? (nm > 1 ? "allow" : "allows") : "denies", what,
           d == TG_POLICY_ALLOW ? "" : " (explicit deny)");
    return d == TG_POLICY_ALLOW ? 0 : 1;
}

/* The provider and the request context. 0 to go on, or an exit status
 * (a denial already printed). */
static int build_request(struct sim *s)
{
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    uint32_t allowed = TG_JOSE_ALGS_ALL;
    if (s->token.len > 0) {
        /* as AssumeRoleWithWebIdentity: every algorithm tegata knows, then
         * the provider's own set once the issuer is known */
        if (tg_jose_jws_parse(s->token.ptr, s->token.len, TG_JOSE_ALGS_ALL, &s->jws, &err) < 0) {
            deny("the token", &err);
            return 1;
        }
        s->jws_ok = true;
        s->claims = &s->jws.claims;
    }
    if (s->claims == NULL) {
        return 0; /* permission policies with --context only */
    }
    const char *iss = claim_string(s->claims, "iss");
    const char *key = NULL;
    if (iss != NULL && strncmp(iss, "https://", 8) == 0) {
        key = iss + 8;
    } else if (iss != NULL && strncmp(iss, "http://", 7) == 0) {
        key = iss + 7;
    }
    if (key == NULL || strlen(key) > TG_IAM_MAX_URL || key[0] == '\0') {
        tg_error_set(&err, TG_E_INVALID_IDENTITY_TOKEN, "%s",
                     iss == NULL ? "Missing a required claim: iss"
                                 : "iss is not an https:// URL of at most 255 characters");
        deny("the claims", &err);
        return 1;
    }
    memcpy(s->provider_key, key, strlen(key) + 1);
    bool aws_only = false;
    if (s->snap != NULL) {
        const struct tg_snap_provider *p = tg_sts_provider_for_iss(s->snap, iss);
        if (p == NULL) {
            tg_error_set(&err, TG_E_INVALID_IDENTITY_TOKEN,
                         "No OpenIDConnect provider found in your account for %.512s", iss);
            deny("the claims", &err);
            return 1;
        }
        s->provider = p;
        (void)tg_concat(s->provider_arn, sizeof(s->provider_arn), p->arn, NULL);
        allowed = tg_sts_provider_algs(p);
        const char *mode = tg_sts_provider_tag(p, TG_STS_TAG_CONDITION_KEYS);
        aws_only = mode != NULL && strcmp(mode, "aws") == 0;
    } else {
        (void)tg_concat(s->provider_arn, sizeof(s->provider_arn),
                        "arn:aws:iam::", s->account != NULL ? s->account : NO_ACCOUNT,
                        ":oidc-provider/", key, NULL);
    }
    bool verify = s->token.len > 0 && !s->no_verify;
    if (verify && !verify_signature(s, iss, allowed)) {
        return 1;
    }
    if (s->token.len > 0 && s->no_verify) {
        printf("token: not verified (--no-verify): signature, exp, nbf and iat unchecked\n");
    }
    /* the audience of the request context: the matched client id (--role),
     * or the token's aud (a lone --policy has no client id list) */
    struct tg_sts_token_claims tc;
    const json_t *ids =
        s->provider != NULL ? json_object_get(s->provider->e.doc, "client_ids") : NULL;
    if (tg_sts_token_check_claims(s->claims, ids, tg_time_now(), verify, &tc, &err) < 0) {
        deny(verify ? "the token" : "the claims", &err);
        return 1;
    }
    s->audience = tc.audience;
    s->subject = tc.subject;
    if (tc.n_audiences > 1) {
        printf("note: aud has %zu values; without a provider's client id list the first is "
               "the request's %s:aud\n",
               tc.n_audiences, s->provider_key);
    }
    s->cc = malloc(sizeof(*s->cc));
    if (s->cc == NULL) {
        fprintf(stderr, "tegata policy simulate: out of memory\n");
        return 1;
    }
    tg_sts_claim_ctx_init(s->cc);
    /* Permission policies: the web identity keys AWS keeps in the session
     * (aud and sub; spec 3.1; simulate_run drops azp and amr), and
     * aws:FederatedProvider. */
    if (tg_sts_claim_ctx_build(s->cc, s->provider_key, s->claims, s->audience,
                               aws_only || !s->trust) < 0 ||
        tg_sts_claim_ctx_add(s->cc, "aws:FederatedProvider", s->provider_arn) < 0) {
        tg_error_set(&err, TG_E_INVALID_IDENTITY_TOKEN, "too many claims");
        deny("the claims", &err);
        return 1;
    }
    return 0;
}

static int policy_simulate(int argc, char **argv)
{
    enum {
        OPT_POLICY = 1,
        OPT_ROLE,
        OPT_DATA,
        OPT_TOKEN,
        OPT_NO_VERIFY,
        OPT_CLAIMS,
        OPT_CA_FILE,
        OPT_DEV,
        OPT_ACCOUNT,
        OPT_ACTION,
        OPT_RESOURCE,
        OPT_CONTEXT,
        OPT_TRUST,
        OPT_IDENTITY,
    };
    static const struct option opts[] = {
        {"policy", required_argument, NULL, OPT_POLICY},
        {"role", required_argument, NULL, OPT_ROLE},
        {"data", required_argument, NULL, OPT_DATA},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
        {"claims", required_argument, NULL, OPT_CLAIMS},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"dev", no_argument, NULL, OPT_DEV},
        {"account", required_argument, NULL, OPT_ACCOUNT},
        {"action", required_argument, NULL, OPT_ACTION},
        {"resource", required_argument, NULL, OPT_RESOURCE},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"trust", no_argument, NULL, OPT_TRUST},
        {"identity", no_argument, NULL, OPT_IDENTITY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sim *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fprintf(stderr, "tegata policy simulate: out of memory\n");
        return 1;
    }
    const char *env_data = getenv("TEGATA_DATA");
    s->data = (env_data && *env_data) ? env_data : "./var";
    int rc = 2;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_POLICY:
            s->policy_file = optarg;
            break;
        case OPT_ROLE:
            if (*optarg == '\0' || strlen(optarg) > TG_IAM_MAX_ROLE_NAME) {
                rc = usage_error("simulate", "--role wants a role name of 1..%d characters",
                                 TG_IAM_MAX_ROLE_NAME);
                goto out;
            }
            s->role = optarg;
            break;
        case OPT_DATA:
            if (*optarg == '\0') {
                rc = usage_error("simulate", "--data wants a directory");
                goto out;
            }
            s->data = optarg;
            break;
        case OPT_TOKEN:
            if (s->token_arg != NULL) {
                rc = usage_error("simulate", "--token given twice");
                goto out;
            }
            /* kept as a copy, and wiped from argv (/proc/PID/cmdline) */
            s->token_arg = strdup(optarg);
            if (s->token_arg == NULL) {
                rc = 1;
                goto out;
            }
            if (optarg[0] != '@') {
                tg_wipe(optarg, strlen(optarg));
            }
            break;
        case OPT_NO_VERIFY:
            s->no_verify = true;
            break;
        case OPT_CLAIMS:
            s->claims_file = optarg;
            break;
        case OPT_CA_FILE:
            if (access(optarg, R_OK) != 0) {
                rc = usage_error("simulate", "--ca-file: cannot read '%s'", optarg);
                goto out;
            }
            s->ca_file = optarg;
            break;
        case OPT_DEV:
            s->dev = true;
            break;
        case OPT_ACCOUNT:
            if (strlen(optarg) != 12 || strspn(optarg, "0123456789") != 12) {
                rc = usage_error("simulate", "--account wants exactly 12 digits, not '%s'", optarg);
                goto out;
            }
            s->account = optarg;
            break;
        case OPT_ACTION:
            if (*optarg == '\0' || strchr(optarg, ':') == NULL) {
                rc = usage_error("simulate", "--action wants SERVICE:ACTION, not '%s'", optarg);
                goto out;
            }
            s->action = optarg;
            break;
        case OPT_RESOURCE:
            if (*optarg == '\0') {
                rc = usage_error("simulate", "--resource wants an ARN or *");
                goto out;
            }
            s->resource = optarg;
            break;
        case OPT_CONTEXT:
            if (add_context(s, optarg) != 0) {
                goto out;
            }
            break;
        case OPT_TRUST:
        case OPT_IDENTITY: {
            enum tg_policy_kind k = c == OPT_TRUST ? TG_POLICY_TRUST : TG_POLICY_IDENTITY;
            if (s->forced != 0 && s->forced != k) {
                rc = usage_error("simulate", "--trust and --identity exclude each other");
                goto out;
            }
            s->forced = k;
            break;
        }
        case 'h':
            fputs(policy_usage, stdout);
            rc = 0;
            goto out;
        default:
            fputs(policy_usage, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        rc = usage_error("simulate", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if ((s->policy_file == NULL) == (s->role == NULL)) {
        rc = usage_error("simulate", "give one of --policy FILE and --role NAME");
        goto out;
    }
    if (s->token_arg != NULL && s->claims_file != NULL) {
        rc = usage_error("simulate", "--token and --claims exclude each other");
        goto out;
    }
    if (s->no_verify && s->token_arg == NULL) {
        rc = usage_error("simulate", "--no-verify is for --token");
        goto out;
    }
    if (s->resource != NULL && s->action == NULL) {
        rc = usage_error("simulate", "--resource is for permission policies: give --action");
        goto out;
    }
    if (s->account != NULL && s->role != NULL) {
        rc = usage_error("simulate", "--account is for --policy: a role's account is its own");
        goto out;
    }
    if (s->forced != 0 && s->role != NULL) {
        rc = usage_error("simulate", "--trust and --identity are for --policy");
        goto out;
    }
    rc = load_policies(s);
    if (rc != 0) {
        goto out;
    }
    if (s->trust && s->token_arg == NULL && s->claims_file == NULL) {
        rc = usage_error("simulate", "a trust policy is evaluated for a token: give --token or "
                                     "--claims");
        goto out;
    }
    rc = load_claims(s);
    if (rc != 0) {
        goto out;
    }
    rc = build_request(s);
    if (rc != 0) {
        goto out;
    }
    rc = simulate_run(s);
out:
    if (s->token_arg != NULL) {
        tg_wipe((char *)s->token_arg, strlen(s->token_arg));
        free((char *)s->token_arg);
    }
    sim_free(s);
    free(s);
    fflush(stdout);
    return rc;
}

int tg_cli_policy(int argc, char **argv)
{
    if (argc < 2) {
        fputs(policy_usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(policy_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "check") == 0) {
        return policy_check(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "simulate") == 0) {
        return policy_simulate(argc - 1, argv + 1);
    }
    fprintf(stderr, "tegata policy: unknown subcommand '%s'\n\n%s", argv[1], policy_usage);
    return 2;
}
