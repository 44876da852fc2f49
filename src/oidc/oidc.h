/*
 * oidc: OIDC discovery and JWKS fetching (spec 2), with a shared key cache
 * (ARCHITECTURE decision 3). The I/O shell around jose: libcurl, HTTPS only
 * (plain HTTP only for loopback issuers in development mode).
 *
 * For an issuer ISS: GET ISS/.well-known/openid-configuration, whose
 * "issuer" must equal ISS exactly, then GET its "jwks_uri" (https, same
 * rules). Connect and total timeouts TG_OIDC_TIMEOUT_MS, bodies at most
 * TG_OIDC_MAX_RESPONSE, no redirects to other schemes, at most 3 redirects.
 * TLS: the system CAs plus --ca-file; when the provider has thumbprints and
 * the chain does not verify with the CAs, the SHA-1 thumbprint of the top
 * intermediate (or root) certificate of the served chain must be one of
 * them (spec 2, AWS's thumbprint rule).
 */
#ifndef TG_OIDC_H
#define TG_OIDC_H

#include "jose/jose.h"
#include "util/util.h"

struct tg_oidc_config {
    const char *ca_file; /* extra CAs (PEM), NULL for none; borrowed for the cache's life */
    bool dev;            /* allow http:// for loopback hosts */
    int64_t timeout_ms;  /* 0: TG_OIDC_TIMEOUT_MS */
};

struct tg_oidc_cache;

/* Returns owned (free with tg_oidc_cache_free). Calls curl_global_init once. */
int tg_oidc_cache_new(const struct tg_oidc_config *cfg, struct tg_oidc_cache **out,
                      struct tg_error *err) TG_MUST_USE;
void tg_oidc_cache_free(struct tg_oidc_cache *c);

/*
 * The key set of issuer (its exact URL as registered, e.g.
 * "https://token.actions.githubusercontent.com"), fetched on first use and
 * cached for the response's Cache-Control max-age clamped to
 * [TG_OIDC_MIN_TTL, TG_OIDC_MAX_TTL] seconds (TG_OIDC_MIN_TTL without a
 * max-age), refreshed ahead of expiry by the first caller that sees less
 * than a tenth of the TTL left. One fetch per issuer at a time: concurrent
 * callers for the same issuer wait for that fetch (single flight). When kid
 * (may be empty) is not in the cached set, one refetch is made, at most
 * once per TG_OIDC_REFETCH_INTERVAL per issuer. When a fetch fails, the
 * last good set is returned while it exists (and the failure is logged
 * through the log callback); with no good set: -1 with
 * InvalidIdentityToken "Couldn't retrieve verification key from your
 * identity provider,  please reference AssumeRoleWithWebIdentity
 * documentation for requirements" (two spaces, as AWS), or, when the
 * thumbprint check is what failed, "OpenIDConnect provider's HTTPS
 * certificate doesn't match configured thumbprint" (spec 2); err->detail
 * says what failed. thumbprints: the provider's 40-hex SHA-1 list
 * (borrowed), n may be 0. now is the clock in seconds. Returns a new
 * reference in *out (tg_jose_keyset_release).
 */
int tg_oidc_keys(struct tg_oidc_cache *c, const char *issuer, const char *const *thumbprints,
                 size_t n_thumbprints, struct tg_cur kid, int64_t now, struct tg_jose_keyset **out,
                 struct tg_error *err) TG_MUST_USE;

/* Where the cache reports fetch failures and refreshes (the server log). */
typedef void (*tg_oidc_log_fn)(const char *line);
void tg_oidc_set_log(struct tg_oidc_cache *c, tg_oidc_log_fn fn);

#endif
