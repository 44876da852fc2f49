/*
 * oidc: discovery and JWKS fetching with libcurl, and the shared key cache
 * (spec aws-sts.md 2 step 4, ARCHITECTURE decision 3).
 *
 * The cache is a sorted array of issuers under one mutex. The mutex is never
 * held during a fetch: the fetching caller marks the entry "fetching", drops
 * the lock, and concurrent callers that need fresh keys wait on the
 * condition variable for that fetch's outcome (single flight), while callers
 * whose kid is already in the cached set are served at once.
 */
#include "oidc/oidc.h"

#include "json/json.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef TEGATA_VERSION
#define TEGATA_VERSION "dev"
#endif

/* AWS's message, two spaces included (spec 1.4, header comment). */
#define OIDC_MSG_NO_KEY                                                                            \
    "Couldn't retrieve verification key from your identity provider,  please reference "           \
    "AssumeRoleWithWebIdentity documentation for requirements"
/* AWS's message when the thumbprint check fails (spec 2 step 4, TLS trust). */
#define OIDC_MSG_THUMBPRINT                                                                        \
    "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"

#define OIDC_MAX_URL 2048          /* jwks_uri from a discovery document */
#define OIDC_MAX_CACHE_CONTROL 512 /* joined Cache-Control values of one response */
#define OIDC_MAX_REDIRECTS 3L
#define OIDC_DETAIL_MAX 512 /* the last failure kept per issuer for waiting callers */
#define OIDC_THUMBPRINT_HEX 40

struct entry {
    char *issuer;              /* owned, the key of the sorted array */
    struct tg_jose_keyset *ks; /* the last good set (one reference), NULL before the first */
    int64_t refresh_at;        /* when a refresh is due (a tenth of the TTL early) */
    int64_t retry_at;          /* after a failed refresh: no new attempt before this */
    int64_t last_attempt;      /* last fetch of any kind, success or not */
    int64_t last_kid_refetch;  /* last refetch caused by an unknown kid; 0: none yet */
    bool kid_refetch_done;     /* last_kid_refetch is set */
    int64_t last_used;         /* for eviction */
    uint64_t gen;              /* bumped when a fetch ends; waiters watch it */
    unsigned busy;             /* callers inside tg_oidc_keys on this entry */
    bool fetching;             /* a fetch is in flight (its caller holds no lock) */
    bool last_thumbprint;      /* the last failure was a thumbprint mismatch */
    char last_detail[OIDC_DETAIL_MAX];
};

struct tg_oidc_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct entry **entries; /* sorted by strcmp(issuer) */
    size_t n;
    size_t cap;
    const char *ca_file; /* borrowed */
    bool dev;
    long timeout_ms;
    tg_oidc_log_fn log;
};

/* One fetch (discovery + JWKS) with its own curl handle. */
struct fetch {
    const struct tg_oidc_cache *c;
    CURL *h;
    struct curl_slist *headers;
    struct tg_buf body;
    bool too_large;
    char cache_control[OIDC_MAX_CACHE_CONTROL + 1];
    size_t cc_len;
    const char *const *thumbprints;
    size_t n_thumbprints;
    int thumbprint_state; /* 0 unused, 1 matched, -1 no match */
    int64_t deadline_ms;  /* monotonic */
    char errbuf[CURL_ERROR_SIZE];
    /* results */
    int64_t ttl;
    bool thumbprint_failure;
    char detail[OIDC_DETAIL_MAX];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* snprintf through a va_list: details are cut to fit on purpose, which
 * gcc's -Wformat-truncation would otherwise flag at every call. */
static void TG_PRINTF(3, 4) fmt_into(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    if (r < 0 && n > 0) {
        dst[0] = '\0';
    }
}

#define fdetail(f, ...) fmt_into((f)->detail, sizeof((f)->detail), __VA_ARGS__)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- URLs ---------------------------------------------------------------- */

/* localhost, 127.0.0.0/8 and ::1: the only hosts plain HTTP may reach, and
 * only in development mode (issue 3, ARCHITECTURE decision 3). */
static bool host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0) {
        return true;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    char v6[64];
    size_t hl = strlen(host);
    if (hl >= 2 && hl < sizeof(v6) + 2 && host[0] == '[' && host[hl - 1] == ']') {
        memcpy(v6, host + 1, hl - 2);
        v6[hl - 2] = '\0';
        host = v6;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
    }
    return false;
}

/* Whether url may be fetched: https, or http to a loopback host in dev
 * mode. *plain says it is the http case. detail (may be NULL) says why not. */
static bool url_allowed(const struct tg_oidc_cache *c, const char *url, bool *plain, char *detail,
                        size_t dsz)
{
    bool ok = false;
    char *scheme = NULL;
    char *host = NULL;
    *plain = false;
    CURLU *u = curl_url();
    if (u == NULL) {
        fmt_into(detail, dsz, "out of memory");
        return false;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        fmt_into(detail, dsz, "not a valid URL: %.200s", url);
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        ok = true;
    } else if (strcmp(scheme, "http") == 0 && c->dev && host_is_loopback(host)) {
        *plain = true;
        ok = true;
    } else {
        fmt_into(detail, dsz, "refusing %s URL %.200s: only https%s", scheme, url,
                 c->dev ? " (or http to a loopback host)" : "");
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* ---- curl callbacks -------------------------------------------------------- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch *f = ud;
    size_t n = size * nmemb;
    if (tg_buf_append(&f->body, ptr, n) < 0) {
        /* Past TG_OIDC_MAX_RESPONSE (or out of memory): a short count makes
         * curl abort the transfer with CURLE_WRITE_ERROR. */
        f->too_large = true;
        return 0;
    }
    return n;
}

/* Collects the Cache-Control header values of the final response (a new
 * status line, e.g. after a redirect, starts over). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch *f = ud;
    size_t n = size * nmemb;
    struct tg_cur line = tg_cur_make(ptr, n);
    if (tg_cur_starts_with(line, "HTTP/")) {
        f->cc_len = 0;
        f->cache_control[0] = '\0';
        return n;
    }
    static const char name[] = "cache-control:";
    size_t nl = sizeof(name) - 1;
    if (n < nl || !tg_cur_eq_nocase_str(tg_cur_make(ptr, nl), name)) {
        return n;
    }
    size_t i = nl;
    size_t end = n;
    while (end > i && (ptr[end - 1] == '\r' || ptr[end - 1] == '\n')) {
        end--;
    }
    /* Several Cache-Control fields are one comma-separated list (RFC 9110
     * 5.3). What does not fit is dropped: the TTL then falls back to the
     * clamp bounds, never to something unbounded. */
    if (f->cc_len > 0 && f->cc_len < OIDC_MAX_CACHE_CONTROL) {
        f->cache_control[f->cc_len++] = ',';
    }
    for (; i < end && f->cc_len < OIDC_MAX_CACHE_CONTROL; i++) {
        f->cache_control[f->cc_len++] = ptr[i];
    }
    f->cache_control[f->cc_len] = '\0';
    return n;
}

static bool is_ows(uint8_t ch)
{
    return ch == ' ' || ch == '\t';
}

/*
 * The TTL of a JWKS response: max-age (RFC 9111 5.2.2.1, token or quoted
 * form) clamped to [TG_OIDC_MIN_TTL, TG_OIDC_MAX_TTL]; no-cache, no-store,
 * max-age=0 or no header give the minimum. AWS had to stop honouring
 * no-cache literally because uncached JWKS broke STS under load (spec 2,
 * GitLab MR !138405), so the minimum always applies.
 */
static int64_t ttl_from_cache_control(struct tg_cur cc)
{
    int64_t ttl = TG_OIDC_MIN_TTL;
    size_t i = 0;
    while (i < cc.len) {
        size_t start = i;
        while (i < cc.len && cc.ptr[i] != ',') {
            i++;
        }
        struct tg_cur d = tg_cur_make(cc.ptr + start, i - start);
        i++; /* the comma */
        while (d.len > 0 && is_ows(d.ptr[0])) {
            d.ptr++;
            d.len--;
        }
        while (d.len > 0 && is_ows(d.ptr[d.len - 1])) {
            d.len--;
        }
        static const char key[] = "max-age";
        size_t kl = sizeof(key) - 1;
        if (d.len <= kl || !tg_cur_eq_nocase_str(tg_cur_make(d.ptr, kl), key)) {
            continue;
        }
        struct tg_cur v = tg_cur_make(d.ptr + kl, d.len - kl);
        while (v.len > 0 && is_ows(v.ptr[0])) {
            v.ptr++;
            v.len--;
        }
        if (v.len == 0 || v.ptr[0] != '=') {
            continue;
        }
        v.ptr++;
        v.len--;
        while (v.len > 0 && is_ows(v.ptr[0])) {
            v.ptr++;
            v.len--;
        }
        if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
            v.ptr++;
            v.len -= 2;
        }
        bool digits = v.len > 0;
        for (size_t k = 0; k < v.len; k++) {
            if (v.ptr[k] < '0' || v.ptr[k] > '9') {
                digits = false;
            }
        }
        if (!digits) {
            continue;
        }
        int64_t secs = 0;
        if (v.len > 10) {
            secs = TG_OIDC_MAX_TTL; /* delta-seconds overflow: "as large as possible" */
        } else if (tg_cur_to_i64(v, &secs) < 0) {
            continue;
        }
        ttl = secs;
        break; /* the first max-age wins */
    }
    if (ttl < TG_OIDC_MIN_TTL) {
        ttl = TG_OIDC_MIN_TTL;
    }
    if (ttl > TG_OIDC_MAX_TTL) {
        ttl = TG_OIDC_MAX_TTL;
    }
    return ttl;
}

/* ---- TLS: CAs first, then the provider's thumbprints ------------------------ */

static bool thumbprint_listed(const struct fetch *f, X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(cert, EVP_sha1(), md, &mdlen) != 1 || mdlen != SHA_DIGEST_LENGTH) {
        return false;
    }
    char hex[2 * SHA_DIGEST_LENGTH + 1];
    tg_hex_encode(md, mdlen, hex);
    for (size_t i = 0; i < f->n_thumbprints; i++) {
        const char *t = f->thumbprints[i];
        /* Thumbprints are public values: no constant-time compare needed.
         * IAM accepts either case (bc-iam ThumbprintList). */
        if (t != NULL && strlen(t) == OIDC_THUMBPRINT_HEX &&
            tg_cur_eq_nocase_str(tg_cur_make(hex, OIDC_THUMBPRINT_HEX), t)) {
            return true;
        }
    }
    return false;
}

/*
 * The certificate verification of every TLS connection of a fetch whose
 * provider has thumbprints. First the normal verification against the CAs
 * (system store plus --ca-file). If that fails, AWS's rule (spec 2 step 4,
 * bc-iam CreateOpenIDConnectProvider): the SHA-1 of the top certificate of
 * the served chain (the last one sent) must be a configured thumbprint. A
 * thumbprint is public, so anyone could append that certificate to a chain
 * of their own; the served chain must therefore also verify up to it, with
 * that certificate as the only trust anchor. curl still checks the host name.
 */
static int verify_cert(X509_STORE_CTX *xctx, void *arg)
{
    struct fetch *f = arg;
    if (X509_verify_cert(xctx) == 1) {
        return 1;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(xctx);
    X509 *leaf = X509_STORE_CTX_get0_cert(xctx);
    int n = chain != NULL ? sk_X509_num(chain) : 0;
    X509 *top = n > 0 ? sk_X509_value(chain, n - 1) : leaf;
    if (top == NULL || leaf == NULL || !thumbprint_listed(f, top)) {
        f->thumbprint_state = -1;
        return 0;
    }
    int ok = 0;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *c2 = X509_STORE_CTX_new();
    if (store == NULL || c2 == NULL || X509_STORE_add_cert(store, top) != 1) {
        goto out;
    }
    /* The pinned certificate may be an intermediate: accept it as an anchor. */
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_STORE_CTX_init(c2, store, leaf, chain) != 1 ||
        X509_STORE_CTX_set_default(c2, "ssl_server") != 1) {
        goto out;
    }
    ok = X509_verify_cert(c2) == 1;
out:
    X509_STORE_CTX_free(c2);
    X509_STORE_free(store);
    if (ok) {
        /* libssl records this as the verify result that curl checks. */
        X509_STORE_CTX_set_error(xctx, X509_V_OK);
        f->thumbprint_state = 1;
        return 1;
    }
    f->thumbprint_state = -1;
    return 0;
}

static CURLcode on_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
    (void)h;
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)sslctx, verify_cert, arg);
    return CURLE_OK;
}

/* ---- fetching ------------------------------------------------------------------ */

static int fetch_setup(struct fetch *f)
{
    const struct tg_oidc_cache *c = f->c;
    f->h = curl_easy_init();
    if (f->h == NULL) {
        fdetail(f, "curl_easy_init failed");
        return -1;
    }
    f->headers = curl_slist_append(NULL, "Accept: application/json");
    if (f->headers == NULL) {
        fdetail(f, "out of memory");
        return -1;
    }
    CURL *h = f->h;
    CURLcode rc = CURLE_OK;
    /* Every option below is required for safety; a failure to set one fails
     * the fetch rather than running a looser transfer. */
#define SETOPT(o, v)                                                                               \
    do {                                                                                           \
        if (rc == CURLE_OK) {                                                                      \
            rc = curl_easy_setopt(h, o, v);                                                        \
        }                                                                                          \
    } while (0)
    SETOPT(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    SETOPT(CURLOPT_ERRORBUFFER, f->errbuf);
    SETOPT(CURLOPT_PROTOCOLS_STR, c->dev ? "http,https" : "https");
    /* Redirects must stay https, whatever dev says (issue 3). */
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    SETOPT(CURLOPT_MAXREDIRS, OIDC_MAX_REDIRECTS);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TG_OIDC_MAX_RESPONSE);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, f);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, f);
    SETOPT(CURLOPT_HTTPHEADER, f->headers);
    SETOPT(CURLOPT_USERAGENT, "tegata/" TEGATA_VERSION);
    /* Loopback never goes through a proxy from the environment. */
    SETOPT(CURLOPT_NOPROXY, "localhost,127.0.0.0/8,::1");
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca_file != NULL) {
        /* CURLOPT_CAINFO replaces the system bundle; the system CAs stay
         * trusted through the hashed directory (Debian's curl default). */
        SETOPT(CURLOPT_CAINFO, c->ca_file);
        SETOPT(CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    if (f->n_thumbprints > 0) {
        SETOPT(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        SETOPT(CURLOPT_SSL_CTX_DATA, f);
    }
#undef SETOPT
    if (rc != CURLE_OK) {
        fdetail(f, "curl option refused: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

/* GET url into f->body; 0 on HTTP 200. The time left before the fetch's
 * deadline bounds both the connect and the whole transfer. */
static int fetch_get(struct fetch *f, const char *url, const char *what)
{
    bool plain = false;
    char why[OIDC_DETAIL_MAX];
    if (!url_allowed(f->c, url, &plain, why, sizeof(why))) {
        fdetail(f, "%s: %s", what, why);
        return -1;
    }
    long left = (long)(f->deadline_ms - mono_ms());
    if (left <= 0) {
        fdetail(f, "%s: no time left for GET %.200s", what, url);
        return -1;
    }
    tg_buf_reset(&f->body);
    f->too_large = false;
    f->cc_len = 0;
    f->cache_control[0] = '\0';
    f->errbuf[0] = '\0';
    f->thumbprint_state = 0;
    CURLcode rc = curl_easy_setopt(f->h, CURLOPT_URL, url);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(f->h, CURLOPT_TIMEOUT_MS, left);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT_MS, left);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_perform(f->h);
    }
    if (rc != CURLE_OK) {
        if (f->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            fdetail(f, "%s: GET %.200s: response larger than %d bytes", what, url,
                    TG_OIDC_MAX_RESPONSE);
        } else {
            if (f->thumbprint_state < 0) {
                f->thumbprint_failure = true;
            }
            fdetail(f, "%s: GET %.200s: %s%s%s%s", what, url, curl_easy_strerror(rc),
                    f->errbuf[0] != '\0' ? " (" : "", f->errbuf, f->errbuf[0] != '\0' ? ")" : "");
            if (f->thumbprint_failure) {
                size_t dl = strlen(f->detail);
                fmt_into(f->detail + dl, sizeof(f->detail) - dl,
                         "; the served chain matches no configured thumbprint");
            }
        }
        return -1;
    }
    long status = 0;
    (void)curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        fdetail(f, "%s: GET %.200s: HTTP status %ld", what, url, status);
        return -1;
    }
    return 0;
}

/* The discovery URL: issuer + "/.well-known/openid-configuration", with a
 * terminating "/" of the issuer removed first (OpenID Connect Discovery 1.0
 * 4: "any terminating / MUST be removed before appending"). */
static char *discovery_url(const char *issuer)
{
    static const char suffix[] = "/.well-known/openid-configuration";
    size_t il = strlen(issuer);
    if (il > 0 && issuer[il - 1] == '/') {
        il--;
    }
    struct tg_buf b;
    tg_buf_init(&b, il + sizeof(suffix));
    if (tg_buf_append(&b, issuer, il) < 0 || tg_buf_append_str(&b, suffix) < 0) {
        tg_buf_free(&b);
        return NULL;
    }
    return tg_buf_steal(&b);
}

/* Discovery then JWKS. On success *out holds the new set (one reference)
 * and f->ttl its lifetime; otherwise f->detail says what failed. */
static int fetch_keys(struct fetch *f, const char *issuer, struct tg_jose_keyset **out)
{
    int ret = -1;
    char *disc = NULL;
    char *jwks_uri = NULL;
    json_t *doc = NULL;
    *out = NULL;
    f->deadline_ms = mono_ms() + f->c->timeout_ms;
    tg_buf_init(&f->body, TG_OIDC_MAX_RESPONSE);
    TG_GUARD_GOTO(fetch_setup(f), out);
    disc = discovery_url(issuer);
    if (disc == NULL) {
        fdetail(f, "out of memory");
        goto out;
    }
    TG_GUARD_GOTO(fetch_get(f, disc, "discovery"), out);

    json_error_t jerr;
    if (!tg_json_depth_ok(f->body.ptr, f->body.len, TG_JSON_MAX_DEPTH)) {
        fdetail(f, "discovery: %.200s nests deeper than %d", disc, TG_JSON_MAX_DEPTH);
        goto out;
    }
    doc = json_loadb((const char *)f->body.ptr, f->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        fdetail(f, "discovery: %.200s is not a JSON object%s%.200s", disc, doc == NULL ? ": " : "",
                doc == NULL ? jerr.text : "");
        goto out;
    }
    /* OpenID Connect Discovery 1.0 4.3: the issuer value returned MUST be
     * identical to the issuer URL used; AWS compares exactly (spec 2). */
    json_t *iss = json_object_get(doc, "issuer");
    size_t il = strlen(issuer);
    if (!json_is_string(iss) || json_string_length(iss) != il ||
        memcmp(json_string_value(iss), issuer, il) != 0) {
        fdetail(f, "discovery: %.200s: \"issuer\" is not exactly the issuer URL", disc);
        goto out;
    }
    json_t *ju = json_object_get(doc, "jwks_uri");
    if (!json_is_string(ju) || json_string_length(ju) == 0 ||
        json_string_length(ju) > OIDC_MAX_URL ||
        strlen(json_string_value(ju)) != json_string_length(ju)) {
        fdetail(f, "discovery: %.200s: no usable \"jwks_uri\"", disc);
        goto out;
    }
    jwks_uri = strdup(json_string_value(ju));
    if (jwks_uri == NULL) {
        fdetail(f, "out of memory");
        goto out;
    }
    json_decref(doc);
    doc = NULL;

    TG_GUARD_GOTO(fetch_get(f, jwks_uri, "jwks"), out);
    size_t skipped = 0;
    struct tg_error jerr2;
    tg_error_clear(&jerr2);
    struct tg_jose_keyset *ks = NULL;
    if (tg_jose_keyset_parse(f->body.ptr, f->body.len, &ks, &skipped, &jerr2) < 0) {
        fdetail(f, "jwks: %.200s: not a usable JWKS: %.200s%s%.200s", jwks_uri, jerr2.message,
                jerr2.detail[0] != '\0' ? ": " : "", jerr2.detail);
        goto out;
    }
    if (ks->n == 0) {
        /* Kept as a failure so that the last good set keeps serving: an
         * issuer that suddenly publishes nothing usable is more likely broken
         * than revoking every key at once. */
        fdetail(f, "jwks: %.200s: no usable key (%zu skipped)", jwks_uri, skipped);
        tg_jose_keyset_release(ks);
        goto out;
    }
    f->ttl = ttl_from_cache_control(tg_cur_make(f->cache_control, f->cc_len));
    fdetail(f, "%zu keys (%zu skipped) from %.200s, ttl %lld s", ks->n, skipped, jwks_uri,
            (long long)f->ttl);
    *out = ks;
    ret = 0;
out:
    json_decref(doc);
    free(disc);
    free(jwks_uri);
    tg_buf_free(&f->body);
    curl_slist_free_all(f->headers);
    f->headers = NULL;
    if (f->h != NULL) {
        curl_easy_cleanup(f->h);
        f->h = NULL;
    }
    return ret;
}

/* ---- the cache ------------------------------------------------------------- */

int tg_oidc_cache_new(const struct tg_oidc_config *cfg, struct tg_oidc_cache **out,
                      struct tg_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    TG_ENSURE(curl_init_rc == CURLE_OK, err, TG_E_INTERNAL_FAILURE, "curl_global_init failed");
    struct tg_oidc_cache *c = calloc(1, sizeof(*c));
    TG_ENSURE(c != NULL, err, TG_E_INTERNAL_FAILURE, "out of memory");
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return tg_error_set(err, TG_E_INTERNAL_FAILURE, "pthread_mutex_init failed");
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return tg_error_set(err, TG_E_INTERNAL_FAILURE, "pthread_cond_init failed");
    }
    c->ca_file = cfg->ca_file;
    c->dev = cfg->dev;
    /* 5 s at most (issue 3; AWS gives up after about 5 s, spec 2). */
    int64_t t = cfg->timeout_ms;
    if (t <= 0 || t > TG_OIDC_TIMEOUT_MS) {
        t = TG_OIDC_TIMEOUT_MS;
    }
    c->timeout_ms = (long)t;
    *out = c;
    return 0;
}

static void entry_free(struct entry *e)
{
    if (e == NULL) {
        return;
    }
    tg_jose_keyset_release(e->ks);
    free(e->issuer);
    free(e);
}

void tg_oidc_cache_free(struct tg_oidc_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        entry_free(c->entries[i]);
    }
    free(c->entries);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void tg_oidc_set_log(struct tg_oidc_cache *c, tg_oidc_log_fn fn)
{
    pthread_mutex_lock(&c->mu);
    c->log = fn;
    pthread_mutex_unlock(&c->mu);
}

/* Index of issuer in the sorted array, or where it would go (*found false). */
static size_t entry_find(const struct tg_oidc_cache *c, const char *issuer, bool *found)
{
    size_t lo = 0;
    size_t hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->entries[mid]->issuer, issuer);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static void entry_remove_at(struct tg_oidc_cache *c, size_t i)
{
    entry_free(c->entries[i]);
    memmove(&c->entries[i], &c->entries[i + 1], (c->n - i - 1) * sizeof(c->entries[0]));
    c->n--;
}

/* The entry of issuer, created if new; at TG_OIDC_MAX_ISSUERS the least
 * recently used idle entry makes room. NULL if none can. Called locked. */
static struct entry *entry_get(struct tg_oidc_cache *c, const char *issuer)
{
    bool found = false;
    size_t at = entry_find(c, issuer, &found);
    if (found) {
        return c->entries[at];
    }
    if (c->n >= TG_OIDC_MAX_ISSUERS) {
        size_t victim = c->n;
        for (size_t i = 0; i < c->n; i++) {
            const struct entry *e = c->entries[i];
            if (e->busy == 0 && (victim == c->n || e->last_used < c->entries[victim]->last_used)) {
                victim = i;
            }
        }
        if (victim == c->n) {
            return NULL;
        }
        entry_remove_at(c, victim);
        at = entry_find(c, issuer, &found);
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap == 0 ? 16 : c->cap * 2;
        struct entry **ne = realloc(c->entries, ncap * sizeof(*ne));
        if (ne == NULL) {
            return NULL;
        }
        c->entries = ne;
        c->cap = ncap;
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->issuer = strdup(issuer);
    if (e->issuer == NULL) {
        free(e);
        return NULL;
    }
    memmove(&c->entries[at + 1], &c->entries[at], (c->n - at) * sizeof(c->entries[0]));
    c->entries[at] = e;
    c->n++;
    return e;
}

static bool keyset_has_kid(const struct tg_jose_keyset *ks, struct tg_cur kid)
{
    for (size_t i = 0; i < ks->n; i++) {
        const struct tg_jose_key *k = &ks->keys[i];
        if (k->has_kid && tg_cur_eq_str(kid, k->kid)) {
            return true;
        }
    }
    return false;
}

/* Whether a fetch is due now, and whether it is an unknown-kid refetch.
 * Called locked, with no fetch in flight. */
static bool need_fetch(const struct entry *e, struct tg_cur kid, int64_t now, bool *for_kid)
{
    *for_kid = false;
    if (e->ks == NULL) {
        /* Nothing to serve: every request tries (concurrent ones share one
         * fetch), so a provider that comes back works at once. */
        return true;
    }
    if (now >= e->refresh_at && now >= e->retry_at) {
        return true;
    }
    /* An unknown kid may be a key the issuer just rotated in: refetch, at
     * most once per TG_OIDC_REFETCH_INTERVAL, so tokens with invented kids
     * cannot make us hammer the issuer (issue 3). Only such refetches count:
     * a key rotated in just after the first fetch is found at once. After a
     * failed fetch, nothing is retried before retry_at. */
    if (kid.len > 0 && !keyset_has_kid(e->ks, kid) && now >= e->retry_at &&
        (!e->kid_refetch_done || now - e->last_kid_refetch >= TG_OIDC_REFETCH_INTERVAL)) {
        *for_kid = true;
        return true;
    }
    return false;
}

int tg_oidc_keys(struct tg_oidc_cache *c, const char *issuer, const char *const *thumbprints,
                 size_t n_thumbprints, struct tg_cur kid, int64_t now, struct tg_jose_keyset **out,
                 struct tg_error *err)
{
    *out = NULL;
    int ret = -1;
    char logline[OIDC_DETAIL_MAX + 256];
    logline[0] = '\0';
    tg_oidc_log_fn log = NULL;

    size_t ilen = strlen(issuer);
    TG_ENSURE(ilen > 0 && ilen <= TG_STORE_MAX_KEY, err, TG_E_INVALID_IDENTITY_TOKEN,
              OIDC_MSG_NO_KEY);

    pthread_mutex_lock(&c->mu);
    log = c->log;
    struct entry *e = entry_get(c, issuer);
    if (e == NULL) {
        pthread_mutex_unlock(&c->mu);
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, OIDC_MSG_NO_KEY);
        return tg_error_detail(err, "oidc: key cache full or out of memory for %.200s", issuer);
    }
    e->busy++;
    if (now > e->last_used) {
        e->last_used = now;
    }

    if (e->fetching) {
        if (e->ks != NULL && (kid.len == 0 || keyset_has_kid(e->ks, kid))) {
            goto answer; /* a refresh is running; the current set serves */
        }
        /* Single flight: wait for the running fetch; its result is the
         * freshest there is, so no second fetch follows. */
        uint64_t gen = e->gen;
        while (e->gen == gen) {
            pthread_cond_wait(&c->cv, &c->mu);
        }
        goto answer;
    }
    bool for_kid = false;
    if (!need_fetch(e, kid, now, &for_kid)) {
        goto answer;
    }
    if (for_kid) {
        e->last_kid_refetch = now;
        e->kid_refetch_done = true;
    }

    e->fetching = true;
    pthread_mutex_unlock(&c->mu);

    struct fetch f;
    memset(&f, 0, sizeof(f));
    f.c = c;
    f.thumbprints = thumbprints;
    f.n_thumbprints = n_thumbprints;
    struct tg_jose_keyset *fresh = NULL;
    int frc = fetch_keys(&f, e->issuer, &fresh); /* e->issuer is stable: busy > 0 */

    pthread_mutex_lock(&c->mu);
    e->last_attempt = now;
    if (frc == 0) {
        tg_jose_keyset_release(e->ks);
        e->ks = fresh;
        e->refresh_at = now + f.ttl - f.ttl / 10;
        e->retry_at = now;
        e->last_thumbprint = false;
        e->last_detail[0] = '\0';
        fmt_into(logline, sizeof(logline), "oidc: fetched keys of %.200s: %s", e->issuer, f.detail);
    } else {
        /* Keep the last good set; do not retry a failing refresh before the
         * refetch interval (the set keeps serving meanwhile). */
        e->retry_at = now + TG_OIDC_REFETCH_INTERVAL;
        e->last_thumbprint = f.thumbprint_failure;
        fmt_into(e->last_detail, sizeof(e->last_detail), "%s", f.detail);
        fmt_into(logline, sizeof(logline), "oidc: fetching keys of %.200s failed%s: %s", e->issuer,
                 e->ks != NULL ? " (serving the last good set)" : "", f.detail);
    }
    e->fetching = false;
    e->gen++;
    pthread_cond_broadcast(&c->cv);

answer:
    if (e->ks != NULL) {
        *out = tg_jose_keyset_ref(e->ks);
        ret = 0;
    } else {
        tg_error_set(err, TG_E_INVALID_IDENTITY_TOKEN, "%s",
                     e->last_thumbprint ? OIDC_MSG_THUMBPRINT : OIDC_MSG_NO_KEY);
        tg_error_detail(err, "oidc: no key set for %.200s: %s", e->issuer,
                        e->last_detail[0] != '\0' ? e->last_detail : "fetch failed");
    }
    e->busy--;
    pthread_mutex_unlock(&c->mu);
    if (logline[0] != '\0' && log != NULL) {
        log(logline);
    }
    return ret;
}
