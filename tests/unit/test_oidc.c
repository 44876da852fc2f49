/*
 * Unit tests of the OIDC key cache: a real libmicrohttpd server on
 * 127.0.0.1 (port 0) serves discovery and JWKS from the test's state and
 * counts requests; the cache reaches it over plain HTTP, which dev mode
 * allows for loopback issuers. The clock is the test's `now`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "oidc/oidc.h"

#ifndef TG_SHARED_DIR
#define TG_SHARED_DIR "/work/shared"
#endif

#define T0 1760000000
#define MSG_NO_KEY                                                                                 \
    "Couldn't retrieve verification key from your identity provider,  please reference "           \
    "AssumeRoleWithWebIdentity documentation for requirements"

/* ---- the test issuer ------------------------------------------------------- */

struct srv {
    struct MHD_Daemon *d;
    int port;
    char issuer[96];
    pthread_mutex_t mu;
    /* what to serve (under mu) */
    int disc_status;
    char *disc_body; /* NULL: a correct document for issuer with jwks_uri issuer/jwks */
    char *location;  /* discovery answers 302 to this when set */
    int jwks_status;
    char *jwks_body;
    char cache_control[128]; /* "" for no header */
    int jwks_delay_ms;
    /* what was asked */
    atomic_int n_disc;
    atomic_int n_jwks;
    atomic_int n_other;
};

static char *jwks_k1; /* the RFC 7520 RSA key with kid k1 */
static char *jwks_k2; /* the RFC 7520 P-521 key with kid k2 */

static int log_count;
static char log_last[1024];

static void test_log(const char *line)
{
    log_count++;
    snprintf(log_last, sizeof(log_last), "%s", line);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum MHD_Result respond(struct MHD_Connection *conn, int status, const char *body,
                               const char *cc, const char *location)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (cc != NULL && cc[0] != '\0') {
        MHD_add_response_header(r, "Cache-Control", cc);
    }
    if (location != NULL) {
        MHD_add_response_header(r, "Location", location);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **req)
{
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    struct srv *s = cls;
    enum MHD_Result ret;
    pthread_mutex_lock(&s->mu);
    if (strcmp(url, "/.well-known/openid-configuration") == 0) {
        atomic_fetch_add(&s->n_disc, 1);
        char def[256];
        snprintf(def, sizeof(def), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}", s->issuer,
                 s->issuer);
        if (s->location != NULL) {
            ret = respond(conn, 302, "", NULL, s->location);
        } else {
            ret = respond(conn, s->disc_status, s->disc_body != NULL ? s->disc_body : def, NULL,
                          NULL);
        }
        pthread_mutex_unlock(&s->mu);
        return ret;
    }
    if (strcmp(url, "/jwks") == 0) {
        atomic_fetch_add(&s->n_jwks, 1);
        int delay = s->jwks_delay_ms;
        char *body = strdup(s->jwks_body);
        char cc[128];
        snprintf(cc, sizeof(cc), "%s", s->cache_control);
        int status = s->jwks_status;
        pthread_mutex_unlock(&s->mu);
        if (delay > 0) {
            sleep_ms(delay);
        }
        ret = respond(conn, status, body, cc, NULL);
        free(body);
        return ret;
    }
    atomic_fetch_add(&s->n_other, 1);
    pthread_mutex_unlock(&s->mu);
    return respond(conn, 404, "{}", NULL, NULL);
}

static void srv_set_jwks(struct srv *s, const char *body)
{
    pthread_mutex_lock(&s->mu);
    free(s->jwks_body);
    s->jwks_body = strdup(body);
    pthread_mutex_unlock(&s->mu);
}

static void srv_set_disc(struct srv *s, const char *body)
{
    pthread_mutex_lock(&s->mu);
    free(s->disc_body);
    s->disc_body = body != NULL ? strdup(body) : NULL;
    pthread_mutex_unlock(&s->mu);
}

static void srv_set_cc(struct srv *s, const char *cc)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->cache_control, sizeof(s->cache_control), "%s", cc);
    pthread_mutex_unlock(&s->mu);
}

static void srv_set_status(struct srv *s, int disc, int jwks)
{
    pthread_mutex_lock(&s->mu);
    s->disc_status = disc;
    s->jwks_status = jwks;
    pthread_mutex_unlock(&s->mu);
}

static struct srv *srv_start_tls(const char *key_pem, const char *cert_pem)
{
    struct srv *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    s->disc_status = 200;
    s->jwks_status = 200;
    s->jwks_body = strdup(jwks_k1);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    /* A thread per connection, so a slow response does not hold others. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (key_pem != NULL) {
        s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handler, s,
                                MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_END);
    }
    assert_non_null(s->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    s->port = info->port;
    assert_true(s->port > 0);
    snprintf(s->issuer, sizeof(s->issuer), "%s://127.0.0.1:%d", key_pem != NULL ? "https" : "http",
             s->port);
    return s;
}

static struct srv *srv_start(void)
{
    return srv_start_tls(NULL, NULL);
}

static void srv_stop(struct srv *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s->disc_body);
    free(s->jwks_body);
    free(s->location);
    free(s);
}

/* ---- fixture ------------------------------------------------------------------ */

struct fx {
    struct srv *s;
    struct tg_oidc_cache *c;
};

static struct tg_oidc_cache *cache_new(bool dev, int64_t timeout_ms)
{
    struct tg_oidc_config cfg = {NULL, dev, timeout_ms};
    struct tg_oidc_cache *c = NULL;
    struct tg_error err;
    assert_int_equal(tg_oidc_cache_new(&cfg, &c, &err), 0);
    assert_non_null(c);
    tg_oidc_set_log(c, test_log);
    return c;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->s = srv_start();
    f->c = cache_new(true, 2000);
    log_count = 0;
    log_last[0] = '\0';
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tg_oidc_cache_free(f->c);
    srv_stop(f->s);
    free(f);
    return 0;
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* {"keys":[<the vector JWK with its kid replaced>]} */
static char *make_jwks(const char *file, const char *kid)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/vectors/jose/cookbook/jwk/%s", TG_SHARED_DIR, file);
    json_error_t e;
    json_t *k = json_loads(read_file(path), 0, &e);
    assert_non_null(k);
    json_object_set_new(k, "kid", json_string(kid));
    json_t *doc = json_pack("{s:[o]}", "keys", k);
    assert_non_null(doc);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

static int group_setup(void **state)
{
    (void)state;
    jwks_k1 = make_jwks("3_3.rsa_public_key.json", "k1");
    jwks_k2 = make_jwks("3_1.ec_public_key.json", "k2");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(jwks_k1);
    free(jwks_k2);
    return 0;
}

/* Asks for issuer's keys with kid at now; returns the rc and checks the
 * set holds want_kid when given. */
static int ask_tp(struct fx *f, const char *const *tp, size_t n_tp, const char *kid, int64_t now,
                  const char *want_kid, struct tg_error *err)
{
    struct tg_jose_keyset *ks = NULL;
    tg_error_clear(err);
    int rc = tg_oidc_keys(f->c, f->s->issuer, tp, n_tp, tg_cur_str(kid), now, &ks, err);
    if (rc == 0) {
        assert_non_null(ks);
        assert_true(ks->n > 0);
        if (want_kid != NULL) {
            bool found = false;
            for (size_t i = 0; i < ks->n; i++) {
                found = found || (ks->keys[i].has_kid && strcmp(ks->keys[i].kid, want_kid) == 0);
            }
            assert_true(found);
        }
        tg_jose_keyset_release(ks);
    } else {
        assert_null(ks);
    }
    return rc;
}

static int ask(struct fx *f, const char *kid, int64_t now, const char *want_kid,
               struct tg_error *err)
{
    return ask_tp(f, NULL, 0, kid, now, want_kid, err);
}

static void assert_counts(struct fx *f, int disc, int jwks)
{
    assert_int_equal(atomic_load(&f->s->n_disc), disc);
    assert_int_equal(atomic_load(&f->s->n_jwks), jwks);
}

static void assert_no_key_error(const struct tg_error *err)
{
    assert_int_equal(err->code, TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(err->message, MSG_NO_KEY);
    assert_true(err->detail[0] != '\0');
}

/* ---- tests -------------------------------------------------------------------- */

static void test_first_fetch_then_cached(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_counts(f, 1, 1);
    assert_int_equal(f->s->n_other, 0);
    /* Cached: no second request, with or without a kid. */
    assert_int_equal(ask(f, "k1", T0 + 10, "k1", &err), 0);
    assert_int_equal(ask(f, "", T0 + 20, "k1", &err), 0);
    assert_counts(f, 1, 1);
    /* A refresh logs what it fetched. */
    assert_true(log_count >= 1);
    assert_non_null(strstr(log_last, "fetched keys"));
}

/* No header, max-age below the minimum, no-cache: all TG_OIDC_MIN_TTL,
 * refreshed a tenth early (at 270 s). */
static void check_min_ttl(struct fx *f, const char *cc)
{
    struct tg_error err;
    srv_set_cc(f->s, cc);
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_counts(f, 1, 1);
    assert_int_equal(ask(f, "k1", T0 + 260, "k1", &err), 0);
    assert_counts(f, 1, 1);
    assert_int_equal(ask(f, "k1", T0 + 271, "k1", &err), 0);
    assert_counts(f, 2, 2);
}

static void test_ttl_default(void **state)
{
    check_min_ttl(*state, "");
}

static void test_ttl_clamped_low(void **state)
{
    check_min_ttl(*state, "public, max-age=10");
}

static void test_ttl_no_cache(void **state)
{
    check_min_ttl(*state, "no-cache, no-store, max-age=0");
}

/* Above the maximum: 24 h, refreshed at 90% = 77,760 s. */
static void check_max_ttl(struct fx *f, const char *cc)
{
    struct tg_error err;
    srv_set_cc(f->s, cc);
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_int_equal(ask(f, "k1", T0 + 77000, "k1", &err), 0);
    assert_counts(f, 1, 1);
    assert_int_equal(ask(f, "k1", T0 + 77761, "k1", &err), 0);
    assert_counts(f, 2, 2);
}

static void test_ttl_clamped_high(void **state)
{
    check_max_ttl(*state, "max-age=172800");
}

static void test_ttl_overflow(void **state)
{
    check_max_ttl(*state, "max-age=99999999999999999999");
}

static void test_ttl_within_bounds(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    /* Quoted form (RFC 9111 5.2.2.1) and other directives around it. */
    srv_set_cc(f->s, "public , max-age = \"3600\", must-revalidate");
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_int_equal(ask(f, "k1", T0 + 3000, "k1", &err), 0);
    assert_counts(f, 1, 1);
    assert_int_equal(ask(f, "k1", T0 + 3241, "k1", &err), 0);
    assert_counts(f, 2, 2);
}

static void test_unknown_kid_refetch_rate_limited(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_counts(f, 1, 1);
    /* An unknown kid refetches once, even just after the first fetch (it may
     * be a key rotated in); the set is returned (the kid is still unknown:
     * the caller's verification finds no key). */
    assert_int_equal(ask(f, "nope", T0 + 5, "k1", &err), 0);
    assert_counts(f, 2, 2);
    /* Then at most once per 30 s, whatever the kid. */
    assert_int_equal(ask(f, "nope", T0 + 6, "k1", &err), 0);
    assert_int_equal(ask(f, "nope2", T0 + 34, "k1", &err), 0);
    assert_counts(f, 2, 2);
    assert_int_equal(ask(f, "nope", T0 + 35, "k1", &err), 0);
    assert_counts(f, 3, 3);
    assert_int_equal(ask(f, "nope", T0 + 64, "k1", &err), 0);
    assert_counts(f, 3, 3);
    /* A known kid never refetches early. */
    assert_int_equal(ask(f, "k1", T0 + 66, "k1", &err), 0);
    assert_counts(f, 3, 3);
}

static void test_rotation(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    srv_set_jwks(f->s, jwks_k2);
    /* The old set is still cached for a known kid. */
    assert_int_equal(ask(f, "k1", T0 + 40, "k1", &err), 0);
    assert_counts(f, 1, 1);
    /* The new kid appears: found after one refetch, no restart. */
    assert_int_equal(ask(f, "k2", T0 + 41, "k2", &err), 0);
    assert_counts(f, 2, 2);
    assert_int_equal(ask(f, "k2", T0 + 42, "k2", &err), 0);
    assert_counts(f, 2, 2);
}

static void test_last_good_kept_on_500(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    srv_set_status(f->s, 200, 500);
    int logs = log_count;
    /* Refresh due: it fails, the last good set serves, the failure is logged. */
    assert_int_equal(ask(f, "k1", T0 + 280, "k1", &err), 0);
    assert_counts(f, 2, 2);
    assert_int_equal(log_count, logs + 1);
    assert_non_null(strstr(log_last, "failed"));
    assert_non_null(strstr(log_last, "500"));
    /* A failing refresh is not retried on every request... */
    assert_int_equal(ask(f, "k1", T0 + 290, "k1", &err), 0);
    assert_int_equal(ask(f, "k9", T0 + 300, "k1", &err), 0);
    assert_counts(f, 2, 2);
    /* ...and still served long after its TTL. */
    assert_int_equal(ask(f, "k1", T0 + 100000, "k1", &err), 0);
    assert_counts(f, 3, 3);
    /* Discovery down too: same. */
    srv_set_status(f->s, 503, 200);
    assert_int_equal(ask(f, "k1", T0 + 100031, "k1", &err), 0);
    assert_counts(f, 4, 3);
    /* Back up: refreshed. */
    srv_set_status(f->s, 200, 200);
    srv_set_jwks(f->s, jwks_k2);
    assert_int_equal(ask(f, "k2", T0 + 100062, "k2", &err), 0);
    assert_counts(f, 5, 4);
}

static void test_down_from_start_then_up(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    srv_set_status(f->s, 200, 500);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_non_null(strstr(err.detail, "500"));
    /* With no set to serve, the next request tries again at once. */
    assert_int_equal(ask(f, "k1", T0 + 1, NULL, &err), -1);
    assert_counts(f, 2, 2);
    srv_set_status(f->s, 200, 200);
    assert_int_equal(ask(f, "k1", T0 + 2, "k1", &err), 0);
    assert_counts(f, 3, 3);
}

static void test_connection_refused(void **state)
{
    (void)state;
    /* A port nobody listens on: bind, learn it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char issuer[64];
    snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    struct tg_oidc_cache *c = cache_new(true, 1000);
    struct tg_jose_keyset *ks = NULL;
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_oidc_keys(c, issuer, NULL, 0, tg_cur_str("k1"), T0, &ks, &err), -1);
    assert_null(ks);
    assert_no_key_error(&err);
    tg_oidc_cache_free(c);
}

static void test_issuer_mismatch(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    char doc[256];
    /* A trailing slash is a different issuer (spec 2: exact comparison). */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s/\",\"jwks_uri\":\"%s/jwks\"}", f->s->issuer,
             f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_non_null(strstr(err.detail, "issuer"));
    assert_counts(f, 1, 0);
    /* Missing issuer, issuer of another type. */
    snprintf(doc, sizeof(doc), "{\"jwks_uri\":\"%s/jwks\"}", f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    snprintf(doc, sizeof(doc), "{\"issuer\":1,\"jwks_uri\":\"%s/jwks\"}", f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_counts(f, 3, 0);
}

static void test_issuer_with_trailing_slash(void **state)
{
    struct fx *f = *state;
    /* OIDC Discovery 4: the terminating "/" is removed before appending the
     * well-known path; the document's issuer must keep it. */
    char doc[256];
    char issuer[128];
    snprintf(issuer, sizeof(issuer), "%s/", f->s->issuer);
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}", issuer,
             f->s->issuer);
    srv_set_disc(f->s, doc);
    struct tg_jose_keyset *ks = NULL;
    struct tg_error err;
    assert_int_equal(tg_oidc_keys(f->c, issuer, NULL, 0, tg_cur_str("k1"), T0, &ks, &err), 0);
    tg_jose_keyset_release(ks);
    assert_counts(f, 1, 1);
    assert_int_equal(f->s->n_other, 0);
}

static void test_non_json(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    srv_set_jwks(f->s, "<html>not json</html>");
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_counts(f, 1, 1);
    srv_set_jwks(f->s, "{\"keys\":[]}"); /* a JWKS with no usable key */
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    srv_set_jwks(f->s, jwks_k1);
    srv_set_disc(f->s, "<html>");
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    srv_set_disc(f->s, "[]");
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    srv_set_disc(f->s, "{\"issuer\":\"x\",\"issuer\":\"y\"}");
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_counts(f, 5, 2);
}

static void test_oversize(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    size_t n = TG_OIDC_MAX_RESPONSE + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    srv_set_jwks(f->s, big);
    free(big);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_non_null(strstr(err.detail, "larger"));
    /* Exactly the cap is fine as far as size goes (it is then a bad JWKS). */
    n = TG_OIDC_MAX_RESPONSE;
    big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    srv_set_jwks(f->s, big);
    free(big);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_null(strstr(err.detail, "larger"));
}

static void test_slow_server_times_out(void **state)
{
    struct fx *f = *state;
    tg_oidc_cache_free(f->c);
    f->c = cache_new(true, 1000);
    pthread_mutex_lock(&f->s->mu);
    f->s->jwks_delay_ms = 2500;
    pthread_mutex_unlock(&f->s->mu);
    struct timespec a;
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_no_key_error(&err);
    /* The 1 s budget covers discovery and JWKS together. */
    assert_true(ms >= 900);
    assert_true(ms < 2000);
}

static void test_dev_false_refuses_http(void **state)
{
    struct fx *f = *state;
    tg_oidc_cache_free(f->c);
    f->c = cache_new(false, 1000);
    struct tg_error err;
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_non_null(strstr(err.detail, "https"));
    assert_counts(f, 0, 0);
}

static void test_jwks_uri_rules(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    char doc[256];
    /* http to a non-loopback host, even in dev mode: refused before any
     * connection is attempted. */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"http://192.0.2.1/jwks\"}",
             f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_non_null(strstr(err.detail, "refusing"));
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"ftp://127.0.0.1/jwks\"}",
             f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"\"}", f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\"}", f->s->issuer);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_counts(f, 4, 0);
    /* localhost and [::1] count as loopback. */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"http://localhost:%d/jwks\"}",
             f->s->issuer, f->s->port);
    srv_set_disc(f->s, doc);
    assert_int_equal(ask(f, "k1", T0, "k1", &err), 0);
    assert_counts(f, 5, 1);
}

static void test_redirect_must_stay_https(void **state)
{
    struct fx *f = *state;
    struct tg_error err;
    char loc[128];
    snprintf(loc, sizeof(loc), "%s/elsewhere", f->s->issuer);
    pthread_mutex_lock(&f->s->mu);
    f->s->location = strdup(loc);
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(ask(f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_counts(f, 1, 0);
    assert_int_equal(atomic_load(&f->s->n_other), 0);
}

struct flight {
    struct fx *f;
    pthread_barrier_t *b;
    int rc;
};

static void *flight_run(void *arg)
{
    struct flight *fl = arg;
    struct tg_jose_keyset *ks = NULL;
    struct tg_error err;
    pthread_barrier_wait(fl->b);
    fl->rc = tg_oidc_keys(fl->f->c, fl->f->s->issuer, NULL, 0, tg_cur_str("k1"), T0, &ks, &err);
    if (fl->rc == 0 && (ks == NULL || ks->n != 1)) {
        fl->rc = -2;
    }
    tg_jose_keyset_release(ks);
    return NULL;
}

static void test_single_flight(void **state)
{
    struct fx *f = *state;
    pthread_mutex_lock(&f->s->mu);
    f->s->jwks_delay_ms = 300; /* everyone arrives while the fetch runs */
    pthread_mutex_unlock(&f->s->mu);
    enum { N = 8 };
    pthread_t th[N];
    struct flight fl[N];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, N);
    for (int i = 0; i < N; i++) {
        fl[i].f = f;
        fl[i].b = &b;
        fl[i].rc = -3;
        assert_int_equal(pthread_create(&th[i], NULL, flight_run, &fl[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(fl[i].rc, 0);
    }
    pthread_barrier_destroy(&b);
    assert_counts(f, 1, 1);
}

static void test_single_flight_failure_shared(void **state)
{
    struct fx *f = *state;
    pthread_mutex_lock(&f->s->mu);
    f->s->jwks_delay_ms = 300;
    f->s->jwks_status = 500;
    pthread_mutex_unlock(&f->s->mu);
    enum { N = 4 };
    pthread_t th[N];
    struct flight fl[N];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, N);
    for (int i = 0; i < N; i++) {
        fl[i].f = f;
        fl[i].b = &b;
        fl[i].rc = -3;
        assert_int_equal(pthread_create(&th[i], NULL, flight_run, &fl[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(fl[i].rc, -1);
    }
    pthread_barrier_destroy(&b);
    /* The waiters got the failure of the one fetch, not fetches of their own. */
    assert_counts(f, 1, 1);
}

static void test_bad_config_and_args(void **state)
{
    (void)state;
    struct tg_oidc_cache *c = cache_new(true, 999999); /* clamped to 5 s */
    struct tg_jose_keyset *ks = NULL;
    struct tg_error err;
    tg_error_clear(&err);
    assert_int_equal(tg_oidc_keys(c, "", NULL, 0, tg_cur_str(""), T0, &ks, &err), -1);
    assert_int_equal(err.code, TG_E_INVALID_IDENTITY_TOKEN);
    /* Not a URL, and a scheme curl does not speak. */
    assert_int_equal(tg_oidc_keys(c, "not a url", NULL, 0, tg_cur_str(""), T0, &ks, &err), -1);
    assert_no_key_error(&err);
    assert_int_equal(tg_oidc_keys(c, "file:///etc/passwd", NULL, 0, tg_cur_str(""), T0, &ks, &err),
                     -1);
    assert_no_key_error(&err);
    assert_null(ks);
    tg_oidc_cache_free(c);
    tg_oidc_cache_free(NULL);
}

/* ---- HTTPS: --ca-file and thumbprints --------------------------------------------- */

/* A throw-away PKI: CA signs leaf (for 127.0.0.1); CA2 signs leaf2; forged
 * names CA as its issuer but is signed by CA2's key. */
struct pki {
    EVP_PKEY *ca_key, *ca2_key, *leaf_key;
    X509 *ca, *ca2, *leaf, *leaf2, *forged;
    char thumb_ca[41];
    char thumb_ca2[41];
    char ca_file[64];
};

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn, bool ca)
{
    static long serial = 1;
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    if (ca) {
        add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, &ctx, NID_basic_constraints, "CA:FALSE");
        add_ext(x, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
    }
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    return x;
}

static char *bio_text(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static char *pem_chain(X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, a), 1);
    if (b != NULL) {
        assert_int_equal(PEM_write_bio_X509(bio, b), 1);
    }
    return bio_text(bio);
}

static char *pem_key(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    return bio_text(bio);
}

static void thumb(X509 *x, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_int_equal(X509_digest(x, EVP_sha1(), md, &n), 1);
    assert_int_equal(n, 20);
    for (unsigned i = 0; i < n; i++) {
        /* Upper case on purpose: IAM accepts either. */
        snprintf(out + 2 * i, 3, "%02X", md[i]);
    }
}

static struct pki *pki_new(void)
{
    struct pki *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->ca_key = EVP_EC_gen("P-256");
    p->ca2_key = EVP_EC_gen("P-256");
    p->leaf_key = EVP_EC_gen("P-256");
    assert_non_null(p->ca_key);
    assert_non_null(p->ca2_key);
    assert_non_null(p->leaf_key);
    p->ca = make_cert(p->ca_key, p->ca_key, NULL, "tegata test CA", true);
    p->ca2 = make_cert(p->ca2_key, p->ca2_key, NULL, "tegata other CA", true);
    p->leaf = make_cert(p->leaf_key, p->ca_key, p->ca, "127.0.0.1", false);
    p->leaf2 = make_cert(p->leaf_key, p->ca2_key, p->ca2, "127.0.0.1", false);
    p->forged = make_cert(p->leaf_key, p->ca2_key, p->ca, "127.0.0.1", false);
    thumb(p->ca, p->thumb_ca);
    thumb(p->ca2, p->thumb_ca2);
    snprintf(p->ca_file, sizeof(p->ca_file), "/tmp/tg-oidc-ca-XXXXXX");
    int fd = mkstemp(p->ca_file);
    assert_true(fd >= 0);
    char *pem = pem_chain(p->ca, NULL);
    assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
    close(fd);
    free(pem);
    return p;
}

static void pki_free(struct pki *p)
{
    unlink(p->ca_file);
    X509_free(p->ca);
    X509_free(p->ca2);
    X509_free(p->leaf);
    X509_free(p->leaf2);
    X509_free(p->forged);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->ca2_key);
    EVP_PKEY_free(p->leaf_key);
    free(p);
}

/* An HTTPS issuer serving leaf + top as its chain. */
static struct srv *srv_https(struct pki *p, X509 *leaf, X509 *top)
{
    char *key = pem_key(p->leaf_key);
    char *chain = pem_chain(leaf, top);
    struct srv *s = srv_start_tls(key, chain); /* libmicrohttpd copies neither: keep */
    free(key);
    free(chain);
    return s;
}

static void test_https_ca_file_and_thumbprints(void **state)
{
    (void)state;
    struct pki *p = pki_new();
    struct fx f;
    f.s = srv_https(p, p->leaf, p->ca);
    struct tg_error err;

    /* Not in the system store: refused (dev does not matter for https). */
    f.c = cache_new(false, 2000);
    assert_int_equal(ask(&f, "k1", T0, NULL, &err), -1);
    assert_no_key_error(&err);
    assert_counts(&f, 0, 0); /* the handshake failed: no request reached the server */

    /* A wrong thumbprint: AWS's thumbprint message. */
    const char *wrong[] = {p->thumb_ca2};
    assert_int_equal(ask_tp(&f, wrong, 1, "k1", T0, NULL, &err), -1);
    assert_int_equal(err.code, TG_E_INVALID_IDENTITY_TOKEN);
    assert_string_equal(err.message,
                        "OpenIDConnect provider's HTTPS certificate doesn't match configured "
                        "thumbprint");

    /* The thumbprint of the top certificate of the served chain: accepted
     * (in upper case, as the second of the list). */
    const char *good[] = {p->thumb_ca2, p->thumb_ca};
    assert_int_equal(ask_tp(&f, good, 2, "k1", T0, "k1", &err), 0);
    assert_counts(&f, 1, 1);
    tg_oidc_cache_free(f.c);

    /* --ca-file: trusted through the CA, no thumbprint needed. */
    struct tg_oidc_config cfg = {p->ca_file, false, 2000};
    assert_int_equal(tg_oidc_cache_new(&cfg, &f.c, &err), 0);
    assert_int_equal(ask(&f, "k1", T0, "k1", &err), 0);
    assert_counts(&f, 2, 2);
    tg_oidc_cache_free(f.c);
    srv_stop(f.s);
    pki_free(p);
}

/* A thumbprint is public: appending the pinned certificate to a chain it
 * did not sign must not pass. */
static void test_https_thumbprint_needs_real_chain(void **state)
{
    (void)state;
    struct pki *p = pki_new();
    struct fx f;
    f.s = srv_https(p, p->forged, p->ca); /* CA's name, CA2's signature */
    f.c = cache_new(false, 2000);
    struct tg_error err;
    const char *tp[] = {p->thumb_ca};
    assert_int_equal(ask_tp(&f, tp, 1, "k1", T0, NULL, &err), -1);
    assert_int_equal(err.code, TG_E_INVALID_IDENTITY_TOKEN);
    assert_non_null(strstr(err.message, "thumbprint"));
    assert_counts(&f, 0, 0);
    /* The chain's real issuer verifies. */
    srv_stop(f.s);
    f.s = srv_https(p, p->leaf2, p->ca2);
    const char *tp2[] = {p->thumb_ca2};
    assert_int_equal(ask_tp(&f, tp2, 1, "k1", T0, "k1", &err), 0);
    tg_oidc_cache_free(f.c);
    srv_stop(f.s);
    pki_free(p);
}

/* More issuers than TG_OIDC_MAX_ISSUERS: the least recently used idle entry
 * makes room, and the cache keeps answering. */
static void test_many_issuers(void **state)
{
    (void)state;
    struct tg_oidc_cache *c = cache_new(false, 1000);
    struct tg_error err;
    for (int i = 0; i < TG_OIDC_MAX_ISSUERS + 50; i++) {
        char issuer[64];
        /* http with dev off: refused before any connection, so this is fast. */
        snprintf(issuer, sizeof(issuer), "http://issuer-%d.example", i);
        struct tg_jose_keyset *ks = NULL;
        assert_int_equal(tg_oidc_keys(c, issuer, NULL, 0, tg_cur_str("k"), T0 + i, &ks, &err), -1);
        assert_int_equal(err.code, TG_E_INVALID_IDENTITY_TOKEN);
    }
    tg_oidc_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_fetch_then_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_clamped_low, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_no_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_clamped_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_within_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kid_refetch_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_good_kept_on_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_from_start_then_up, setup, teardown),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test_setup_teardown(test_issuer_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_with_trailing_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_false_refuses_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_uri_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_must_stay_https, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_flight_failure_shared, setup, teardown),
        cmocka_unit_test(test_bad_config_and_args),
        cmocka_unit_test(test_many_issuers),
        cmocka_unit_test(test_https_ca_file_and_thumbprints),
        cmocka_unit_test(test_https_thumbprint_needs_real_chain),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
