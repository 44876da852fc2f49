/*
 * Every size and count that comes from outside, with the reason for its
 * value. Change a limit here and nowhere else.
 */
#ifndef TG_LIMITS_H
#define TG_LIMITS_H

/* A table: aligned by hand, one line per limit. */
/* clang-format off */

/* ---- errors ---- */
#define TG_ERROR_MESSAGE_MAX 1024 /* AWS messages echo inputs (names, ARNs); longer ones are cut */
#define TG_ERROR_DETAIL_MAX 2048  /* operator detail in the log line */

/* ---- HTTP ---- */
#define TG_HTTP_MAX_URI 16384      /* a presigned GET with a 4 KiB policy still fits */
#define TG_HTTP_MAX_BODY 1048576   /* IAM's largest parameter (131,072-char policy) URL-encoded x3 */
#define TG_HTTP_MAX_HEADERS 64     /* SDKs send about 10 */
#define TG_HTTP_MAX_HEADER_VALUE 12288 /* Authorization with many signed headers; a session token at TG_SIGV4_MAX_SESSION_TOKEN */
#define TG_HTTP_MAX_CONNECTIONS 1024  /* per node; beyond that libmicrohttpd refuses */
#define TG_HTTP_CONNECTION_TIMEOUT 30 /* seconds a slow client may hold a connection */
#define TG_HTTP_CONNECTION_MEMORY 32768 /* libmicrohttpd's per-connection pool: the request line and headers live there (the body does not); it zeroes all of it for every request */
#define TG_HTTP_MAX_RESPONSE 8388608  /* ListRoles of 1000 roles with 10 KiB policies */

/* ---- Query protocol form ---- */
#define TG_FORM_MAX_PARAMS 512      /* 100 client ids + 50 tags x 2 + the rest */
#define TG_FORM_MAX_NAME 128        /* "Tags.member.50.Value" is 20; AWS names are short */
#define TG_FORM_MAX_VALUE 262144    /* 131,072-char policy documents, with room for UTF-8 */
#define TG_FORM_MAX_SOURCES 2       /* the query string and the body */
#define TG_FORM_MAX_LIST 1000       /* ".member.N": N above this is refused */

/* ---- SigV4 ---- */
#define TG_SIGV4_MAX_SKEW 900            /* 15 minutes, as AWS */
#define TG_SIGV4_MAX_EXPIRES 604800      /* presigned X-Amz-Expires: 7 days, as AWS */
#define TG_SIGV4_MAX_SIGNED_HEADERS 32   /* botocore signs about 5 */
#define TG_SIGV4_MAX_AUTH_HEADER 4096    /* Authorization header value */
#define TG_SIGV4_MAX_CANONICAL 2097152   /* canonical request: URI + query + headers */
#define TG_SIGV4_MAX_ACCESS_KEY_ID 128   /* model accessKeyIdType 16..128 */
#define TG_SIGV4_MAX_SESSION_TOKEN 10240 /* ours are about 400 chars, ~3,200 with a 2,048-char session policy; every session field at its maximum with the largest session policies is 9,712 */

/* ---- JSON and policies ---- */
#define TG_JSON_MAX_DEPTH 32                /* IAM policies nest 5 deep; deeper is an attack */
#define TG_POLICY_MAX_DOCUMENT 131072       /* bc-iam policyDocumentType max length */
#define TG_POLICY_MAX_STATEMENTS 1000       /* 131,072 chars cannot hold more useful ones */
#define TG_POLICY_MAX_VALUES 1000           /* values in one Action/Resource/condition list */
#define TG_POLICY_TRUST_SIZE_DEFAULT 2048   /* ACLSizePerRole, AWS default (spec 4.6) */
#define TG_POLICY_TRUST_SIZE_MAX 4096       /* ACLSizePerRole, AWS maximum */
#define TG_POLICY_MANAGED_SIZE 6144         /* PolicySize (spec 4.6) */
#define TG_POLICY_INLINE_ROLE_SIZE 10240    /* aggregate inline policies per role (spec 4.6) */
#define TG_POLICY_LINT_MAX_FINDINGS 1000    /* findings kept for one document; more are only counted */
#define TG_POLICY_LINT_MESSAGE 1024         /* one finding's text; the values it quotes are cut */
#define TG_CLI_MAX_CLAIMS_FILE 65536        /* --claims: a token's payload is < 20,000 chars; room for indentation */
#define TG_CLI_MAX_CONTEXT 256              /* --context options of one simulation; IAM's requests have ~30 keys */

/* ---- IAM entities (spec 4.6, 7) ---- */
#define TG_IAM_MAX_PROVIDERS 100          /* OIDC providers per account */
#define TG_IAM_MAX_ROLES 5000             /* roles per account (AWS maximum quota) */
#define TG_IAM_MAX_POLICIES 5000          /* customer managed policies per account */
#define TG_IAM_MAX_CLIENT_IDS 100         /* ClientIdsPerOpenIdConnectProvider */
#define TG_IAM_MAX_THUMBPRINTS 5          /* thumbprints per provider */
#define TG_IAM_MAX_TAGS 50                /* tags per provider, role, policy */
#define TG_IAM_MAX_ATTACHED_POLICIES 20   /* PoliciesPerRole (AWS maximum quota) */
#define TG_IAM_POLICIES_PER_ROLE 10       /* PoliciesPerRole (AWS default quota, enforced) */
#define TG_IAM_MAX_POLICY_VERSIONS 5      /* versions of a managed policy (spec 4.6) */
#define TG_IAM_MAX_INLINE_POLICIES 1000   /* names; the 10,240-char aggregate binds first */
#define TG_IAM_MAX_URL 255                /* provider Url */
#define TG_IAM_MAX_CLIENT_ID 255          /* ClientID */
#define TG_IAM_MAX_ROLE_NAME 64
#define TG_IAM_MAX_POLICY_NAME 128
#define TG_IAM_MAX_PATH 512
#define TG_IAM_MAX_DESCRIPTION 1000
#define TG_IAM_MAX_TAG_KEY 128
#define TG_IAM_MAX_TAG_VALUE 256
#define TG_IAM_MAX_ARN 2048
#define TG_IAM_MAX_ITEMS 1000             /* MaxItems upper bound */
#define TG_IAM_DEFAULT_ITEMS 100          /* MaxItems default */
#define TG_IAM_SIM_MAX_POLICIES 100       /* PolicyInputList members; a role's own policies come on top */
#define TG_IAM_SIM_MAX_ACTIONS 100        /* ActionNames members */
#define TG_IAM_SIM_MAX_RESOURCES 100      /* ResourceArns members */
#define TG_IAM_SIM_MAX_CONTEXT 100        /* ContextEntries members */
#define TG_IAM_SIM_MAX_CONTEXT_VALUES 100 /* ContextKeyValues of one entry */
#define TG_IAM_SIM_MAX_CONTEXT_BYTES 262144 /* all context keys and values together */

/* ---- store ---- */
#define TG_STORE_MAX_DOC 4194304 /* one entity: 5 policy versions of 131,072 chars, JSON-escaped */
#define TG_STORE_MAX_OPS 64      /* entities written by one action */
#define TG_STORE_MAX_KEY 1024    /* an entity key: provider URL (255) or a lower-case name */

/* ---- JOSE and OIDC (spec 1.2, 2) ---- */
#define TG_JOSE_MAX_TOKEN 20000        /* WebIdentityToken max length (bc-sts) */
#define TG_JOSE_MAX_KID 256            /* real kids are 20..64 chars */
#define TG_JOSE_MAX_KEYS 100           /* keys in one JWKS (GitHub publishes 2..4) */
#define TG_JOSE_MAX_RSA_BITS 16384     /* larger RSA keys only make verification slow */
#define TG_JOSE_MAX_JWKS 1048576       /* JWKS document bytes */
#define TG_JOSE_MAX_CLAIMS 256         /* top-level claims of a token */
#define TG_JOSE_MAX_AUDIENCES 64       /* aud array elements */
#define TG_OIDC_MAX_RESPONSE 1048576   /* discovery or JWKS response body */
#define TG_OIDC_TIMEOUT_MS 5000        /* connect + total; AWS gives up after about 5 s */
#define TG_OIDC_MIN_TTL 300            /* Cache-Control max-age clamp, seconds: 5 min */
#define TG_OIDC_MAX_TTL 86400          /* ... and 24 h */
#define TG_OIDC_REFETCH_INTERVAL 30    /* unknown kid: at most one refetch per issuer per 30 s */
#define TG_OIDC_MAX_ISSUERS 1000       /* issuers in the key cache */
#define TG_TOKEN_SKEW 300              /* exp/nbf/iat clock skew, seconds (spec 2) */

/* ---- audit ---- */
#define TG_AUDIT_MAX_LINE 4194304    /* an IAM event echoing a 131,072-char policy stays far below */
#define TG_AUDIT_DECISION_MAX 1048576 /* a trust policy's trace with every claim value it compared */

/* ---- sessions (spec 1.2, 6) ---- */
#define TG_SESSION_MIN_DURATION 900
#define TG_SESSION_MAX_DURATION 43200
#define TG_SESSION_DEFAULT_DURATION 3600
#define TG_SESSION_NAME_MAX 64
#define TG_KEYRING_MAX_KEYS 16         /* live sealing keys; old ones are pruned after 12 h */
#define TG_STS_POLICY_MAX 2048         /* Policy, characters (bc-sts sessionPolicyDocumentType 1..2048) */
#define TG_STS_MAX_POLICY_ARNS 10      /* PolicyArns members (bc-sts doc: "up to 10") */
#define TG_STS_PACKED_POLICY_MAX 2048  /* plaintext of inline + managed session policies, whitespace not counted (spec 1.2) */

/* clang-format on */

#endif
