/*
 * sts: the STS actions as functions (spec 1, 2, 3, 5.3, 6). Pure over a
 * configuration snapshot, a session key ring and a JWKS key set; the shell
 * (server) fetches the key set between the two phases of
 * AssumeRoleWithWebIdentity and writes the audit event.
 */
#ifndef TG_STS_H
#define TG_STS_H

#include <jansson.h>

#include "api/api.h"
#include "creds/creds.h"
#include "jose/jose.h"
#include "json/json.h"
#include "snapshot/snapshot.h"
#include "util/util.h"

/* Provider tags that configure tegata's extensions (AWS's API has no field
 * for them; tags keep the wire protocol unchanged). */
#define TG_STS_TAG_ALGORITHMS "tegata:allowed-algorithms" /* "RS256 PS256 EdDSA" */
#define TG_STS_TAG_CONDITION_KEYS "tegata:condition-keys" /* "aws": only AWS's keys */

struct tg_sts_ctx {
    const struct tg_snapshot *snap;      /* borrowed */
    const struct tg_creds_keyring *ring; /* borrowed */
    int64_t now;                         /* seconds */
    tg_random_fn rnd;
    void *rnd_ctx;
};

/* One AssumeRoleWithWebIdentity between its two phases. */
struct tg_sts_awrwi {
    /* parameters */
    struct tg_cur role_arn;     /* borrowed from the form */
    struct tg_cur session_name; /* borrowed from the form */
    int64_t duration;
    struct tg_cur token; /* borrowed from the form: never logged */
    /* session policies (spec 1.2, 4.5), borrowed from the form */
    bool has_policy;
    struct tg_cur policy; /* the Policy parameter when has_policy */
    struct tg_cur policy_arns[TG_STS_MAX_POLICY_ARNS];
    size_t n_policy_arns;
    int packed_policy_size; /* PackedPolicySize (a percentage) once checked; -1 before */
    /* the token and its provider */
    struct tg_jws jws;
    bool jws_ok;
    const struct tg_snap_provider *provider; /* borrowed from the snapshot */
    uint32_t allowed_algs;
    const char *thumbprints[TG_IAM_MAX_THUMBPRINTS]; /* borrowed from the snapshot */
    size_t n_thumbprints;
    /* results, for the response and the audit event */
    const char *subject;  /* the token's sub once checked (borrowed from jws), or NULL */
    const char *audience; /* the matched aud (borrowed from jws), or NULL */
    bool minted;          /* the credentials below were issued */
    char access_key_id[TG_CREDS_ACCESS_KEY_ID_LEN + 1];
    char secret[TG_CREDS_SECRET_LEN + 1]; /* secret: for the audit guard only; wiped by free */
    struct tg_buf session_token;          /* secret buffer: for the audit guard only */
    char expiration[TG_ISO8601_LEN];
    char assumed_role_arn[TG_IAM_MAX_ARN + 128];
    char assumed_role_id[TG_IAM_MAX_ARN + 128];
    /* The audit "decision" object (the trace of every step), written as
     * the steps happen; read it with tg_sts_awrwi_decision. */
    struct tg_buf decision; /* owned */
    struct tg_json_w dw;
};

/*
 * Phase 1: validates the parameters (ValidationError with AWS's messages),
 * parses the token (InvalidIdentityToken), and finds the provider whose URL
 * equals the token's iss exactly ("No OpenIDConnect provider found in your
 * account for <iss>"). On success st->provider is set and the caller
 * fetches the provider's key set. st must be freed with tg_sts_awrwi_free
 * whatever the result.
 */
int tg_sts_awrwi_begin(const struct tg_sts_ctx *ctx, const struct tg_form *in,
                       struct tg_sts_awrwi *st, struct tg_error *err) TG_MUST_USE;

/*
 * Phase 2: verifies the signature with ks, the claims (aud, exp, nbf, iat,
 * sub), evaluates the role's trust policy with the claims as condition keys
 * (spec 3), checks DurationSeconds against the role, then the session
 * policies (the inline Policy must parse: MalformedPolicyDocument; every
 * PolicyArns member must name a managed policy of the account:
 * MalformedPolicyDocument; together at most TG_STS_PACKED_POLICY_MAX
 * characters: PackedPolicyTooLarge), mints the credentials with the
 * session policies sealed in, and writes the inside of
 * <AssumeRoleWithWebIdentityResult> to xml (PackedPolicySize when session
 * policies were given).
 * Errors: InvalidIdentityToken, ExpiredTokenException, AccessDenied,
 * ValidationError, MalformedPolicyDocument, PackedPolicyTooLarge. The
 * decision object records every step for the audit log (of the session
 * policies: their ARNs, the inline policy's length and the packed size,
 * never the policy's text).
 */
int tg_sts_awrwi_finish(const struct tg_sts_ctx *ctx, struct tg_sts_awrwi *st,
                        const struct tg_jose_keyset *ks, struct tg_xml *xml,
                        struct tg_error *err) TG_MUST_USE;
/* Adds key: value (a string) to the decision object: the shell's own steps
 * between the phases (the key fetch). Each key at most once. */
void tg_sts_awrwi_note(struct tg_sts_awrwi *st, const char *key, const char *value);
/* Closes the decision object and returns its JSON text (borrowed from st),
 * or an empty cursor if it could not be written. Call once, after the last
 * phase. */
struct tg_cur tg_sts_awrwi_decision(struct tg_sts_awrwi *st);
void tg_sts_awrwi_free(struct tg_sts_awrwi *st);

/* ---- a token against its provider (spec 2) ---------------------------------
 * The steps of AssumeRoleWithWebIdentity that `tegata policy simulate`
 * repeats, so that both decide alike. Pure. */

/* The value of the provider's tag key, or NULL. */
const char *tg_sts_provider_tag(const struct tg_snap_provider *p, const char *key);
/* The algorithms the provider's tokens may be signed with: its
 * TG_STS_TAG_ALGORITHMS tag, or AWS's set (TG_JOSE_ALGS_AWS). */
uint32_t tg_sts_provider_algs(const struct tg_snap_provider *p);
/* The provider's certificate thumbprints (borrowed); returns how many. */
size_t tg_sts_provider_thumbprints(const struct tg_snap_provider *p,
                                   const char *out[TG_IAM_MAX_THUMBPRINTS]);
/* The provider whose URL equals iss exactly, scheme and trailing slash
 * included (spec 2 step 3), or NULL. */
const struct tg_snap_provider *tg_sts_provider_for_iss(const struct tg_snapshot *snap,
                                                       const char *iss);
/* Step 5: the signature of jws with a key of ks. On success *kid is the
 * kid of the key that verified it ("(no kid)"; borrowed from ks). -1 with
 * InvalidIdentityToken and AWS's message, the reason in err->detail. */
int tg_sts_token_signature(const struct tg_jws *jws, const struct tg_jose_keyset *ks,
                           const char **kid, struct tg_error *err) TG_MUST_USE;

struct tg_sts_token_claims {
    const char *audience; /* the matched aud (borrowed), set also when a later step fails */
    size_t n_audiences;   /* without client ids: how many aud values there were */
    const char *subject;  /* sub (borrowed) */
};
/*
 * Steps 6 to 8 on a token's claims: an aud value in client_ids (a JSON array
 * of strings; NULL takes the first aud value, for a policy without a
 * provider), with times exp (required), nbf and iat as integers within
 * TG_TOKEN_SKEW of now, and a non-empty sub. -1 with AWS's code and message
 * (InvalidIdentityToken, ExpiredTokenException), the reason in err->detail.
 */
int tg_sts_token_check_claims(const struct tg_json_object *claims, const json_t *client_ids,
                              int64_t now, bool times, struct tg_sts_token_claims *out,
                              struct tg_error *err) TG_MUST_USE;

/* ---- the request context of a session's calls (spec 4.4, 4.5, 3.1) ------
 * The condition keys of a call made with temporary credentials, for the
 * role's permission policies: aws:CurrentTime, aws:EpochTime,
 * aws:SourceIp, aws:UserAgent, aws:SecureTransport, aws:PrincipalArn (the
 * role), aws:PrincipalAccount, aws:PrincipalType ("AssumedRole"),
 * aws:userid ("AROA...:SESSION"), aws:TokenIssueTime,
 * aws:FederatedProvider, aws:SourceIdentity (when set),
 * aws:PrincipalTag/KEY (the role's tags), aws:RequestTag/KEY and
 * aws:TagKeys (the tags the call sets) and, carried from the token,
 * <provider>:aud and <provider>:sub. */

#define TG_STS_SESSION_KEYS (15 + 2 * TG_IAM_MAX_TAGS)

/* What the shell knows of the call. */
struct tg_sts_call {
    int64_t now; /* seconds */
    const char *source_ip;
    const char *user_agent;
    bool secure;              /* over TLS */
    const struct tg_kv *tags; /* the tags the call sets; borrowed */
    size_t n_tags;
};

struct tg_sts_session_ctx {
    struct tg_policy_ctx_entry entries[TG_STS_SESSION_KEYS];
    size_t n;
    const char *one[TG_STS_SESSION_KEYS]; /* each single value */
    const char *tag_keys[TG_IAM_MAX_TAGS];
    char text[32768]; /* keys and values that are not borrowed */
    size_t used;
};

/* Fills c for session s of role (its tags; may be NULL). Strings are
 * borrowed from s, role and call, which must outlive c. */
void tg_sts_session_context(struct tg_sts_session_ctx *c, const struct tg_creds_session *s,
                            const struct tg_snap_role *role, const struct tg_sts_call *call);

/* ---- the request context of a web identity (spec 3) ------------------------
 * The condition keys AssumeRoleWithWebIdentity evaluates a trust policy
 * with (docs/sts.md "Condition keys from the token's claims"); public for
 * `tegata policy simulate`, which must build the same context. */
#define TG_STS_CLAIM_CTX_MAX (TG_JOSE_MAX_CLAIMS + 4)

struct tg_sts_claim_ctx {
    struct tg_policy_ctx_entry entries[TG_STS_CLAIM_CTX_MAX]; /* the context, n of them */
    size_t n;
    char *owned[TG_STS_CLAIM_CTX_MAX * 2]; /* keys that did not fit the arena */
    size_t n_owned;
    char scalar_text[TG_STS_CLAIM_CTX_MAX][32]; /* numbers and booleans as text */
    const char *single[TG_STS_CLAIM_CTX_MAX];   /* one-value arrays */
    /* Keys are carved from here (one allocation per request instead of one
     * per claim); a key that does not fit is malloc'd and owned. */
    char key_arena[4096];
    size_t key_arena_used;
};

/* Makes c empty (it is about 25 KiB: the arrays are written before read). */
void tg_sts_claim_ctx_init(struct tg_sts_claim_ctx *c);
/*
 * Adds every top-level claim of claims as "<prefix>:<claim>" (prefix: the
 * provider URL without the scheme): aud as the one matched audience
 * (borrowed), strings as they are, numbers and booleans as text, arrays of
 * strings as multi-valued keys; with aws_only only aud, sub, azp and amr.
 * Values and claims are borrowed (valid while claims and audience are).
 * -1 when the context is full.
 */
int tg_sts_claim_ctx_build(struct tg_sts_claim_ctx *c, const char *prefix,
                           const struct tg_json_object *claims, const char *audience,
                           bool aws_only) TG_MUST_USE;
/* Adds a global key ("aws:FederatedProvider") with one value (both
 * borrowed). -1 when full. */
int tg_sts_claim_ctx_add(struct tg_sts_claim_ctx *c, const char *key,
                         const char *value) TG_MUST_USE;
void tg_sts_claim_ctx_free(struct tg_sts_claim_ctx *c);

/* GetCallerIdentity for an assumed-role session (spec 5.3): UserId
 * "AROA...:SESSION", Account, Arn "arn:aws:sts::ACCT:assumed-role/ROLE/SESSION". */
void tg_sts_caller_identity_session(const struct tg_creds_session *s, struct tg_xml *xml);
/* ... and for the administrator key: UserId = Account = the account id,
 * Arn "arn:aws:iam::ACCT:root". */
void tg_sts_caller_identity_root(const char *account_id, struct tg_xml *xml);

#endif
