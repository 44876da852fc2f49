/*
 * server: state and the request pipeline.
 *
 * Phases of a request (STYLE: nginx's phases): parse the Query form ->
 * find the action -> authenticate (SigV4) -> act over the current snapshot
 * -> for writes, commit to the store under the writer lock and swap in the
 * next snapshot -> write the XML -> log one line.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <stdatomic.h>

#include "api/api.h"
#include "audit/audit.h"
#include "creds/creds.h"
#include "iam/iam.h"
#include "jose/jose.h"
#include "oidc/oidc.h"
#include "snapshot/snapshot.h"
#include "store/store.h"
#include "sts/sts.h"

#define ADMIN_AAD_PREFIX "tegata admin secret "
#define MASTER_KEY_FILE "master.key"
#define ADMIN_CREDENTIALS_FILE "admin.credentials"
#define AUDIT_FILE "audit.log"
#define POLL_INTERVAL_MS 1000 /* how often the store is asked for other writers' commits */

/* The opened session key ring, shared by reference: requests hold it while
 * they seal or open a token; a rotation installs a new one. */
struct ring_ref {
    atomic_int refs;
    int64_t version; /* of the "keyring" entity it was opened from */
    struct tg_creds_keyring ring;
};

struct tg_server {
    char *data_dir;
    char *region;
    bool dev;
    size_t trust_policy_max;
    struct tg_store *store;
    struct tg_snapshot_holder holder;
    bool holder_ready;
    pthread_mutex_t write_mu; /* one writer at a time: commit + snapshot swap */
    int64_t generation;       /* guarded by write_mu */
    uint8_t master_key[TG_CREDS_KEY_LEN];
    char account_id[13];
    char admin_akid[TG_CREDS_ACCESS_KEY_ID_LEN + 1];
    uint8_t admin_secret[TG_CREDS_SECRET_LEN];
    size_t admin_secret_len;
    pthread_mutex_t ring_mu; /* guards ring (the pointer) */
    struct ring_ref *ring;
    struct tg_oidc_cache *oidc;
    struct tg_audit *audit;
    pthread_t poller;
    bool poller_running;
    atomic_bool stopping;
    int64_t data_version; /* guarded by write_mu */
};

/* ---- logging --------------------------------------------------------- */

void tg_server_log(const char *fmt, ...)
{
    char when[TG_ISO8601_LEN];
    tg_time_iso8601(tg_time_now(), when);
    /* stderr is unbuffered: three stdio calls would be three write(2)s per
     * request. The line is formatted here and written with one call; only a
     * line longer than line[] takes the slow path. */
    char line[1024];
    int head = (int)tg_concat(line, sizeof(line), when, " tegata: ", NULL);
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = head < 0 ? -1 : vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap);
    if (n >= 0 && (size_t)head + (size_t)n + 1 < sizeof(line)) {
        line[head + n] = '\n';
        fwrite(line, 1, (size_t)head + (size_t)n + 1, stderr);
    } else {
        flockfile(stderr);
        fprintf(stderr, "%s tegata: ", when);
        vfprintf(stderr, fmt, ap2);
        fputc('\n', stderr);
        funlockfile(stderr);
    }
    va_end(ap2);
    va_end(ap);
}

/* Copies s into out (cap bytes) replacing control characters and quotes,
 * so that text that came from a client cannot forge log lines. */
static const char *log_clean(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; s[i] != '\0' && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    out[j] = '\0';
    return out;
}

/* ---- files -------------------------------------------------------------- */

static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int mkdir_p(const char *path, struct tg_error *err)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp)) {
        return tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE, "data directory path is invalid");
    }
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char saved = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
                tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot create the data directory");
                return tg_error_detail(err, "mkdir %s: %s", tmp, strerror(errno));
            }
            tmp[i] = saved;
        }
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "the data directory is not a directory");
        return tg_error_detail(err, "%s is not a directory", path);
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes a file durably and atomically with mode 0600: a temporary file,
 * fsync, rename, fsync of the directory. */
static int write_file_0600(const char *dir, const char *name, const uint8_t *data, size_t len,
                           struct tg_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    if (path_join(path, sizeof(path), dir, name) < 0 ||
        snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return tg_error_set(err, TG_E_SERVICE_FAILURE, "data directory path too long");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        goto fail;
    }
    if (fchmod(fd, 0600) < 0) {
        goto fail_fd;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            goto fail_fd;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        goto fail_fd;
    }
    close(fd);
    if (rename(tmp, path) < 0 || fsync_dir(dir) < 0) {
        goto fail;
    }
    return 0;
fail_fd:
    close(fd);
fail:
    tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot write %s", name);
    tg_error_detail(err, "writing %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
}

/* Reads exactly n bytes of a small file; 1 if it does not exist. */
static int read_small_file(const char *path, uint8_t *out, size_t n, mode_t *mode,
                           struct tg_error *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        return 1;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size != n) {
        close(fd);
        tg_error_set(err, TG_E_SERVICE_FAILURE, "%s is damaged", path);
        return tg_error_detail(err, "%s: expected a regular file of %zu bytes", path, n);
    }
    *mode = st.st_mode & 0777;
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, out + off, n - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            close(fd);
            goto fail;
        }
        off += (size_t)r;
    }
    close(fd);
    return 0;
fail:
    tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot read %s", path);
    return tg_error_detail(err, "reading %s: %s", path, strerror(errno));
}

/* ---- the session key ring ---------------------------------------------- */

static struct ring_ref *ring_acquire(struct tg_server *s)
{
    pthread_mutex_lock(&s->ring_mu);
    struct ring_ref *r = s->ring;
    atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&s->ring_mu);
    return r;
}

static void ring_release(struct ring_ref *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        tg_creds_keyring_wipe(&r->ring);
        free(r);
    }
}

/* Opens the snapshot's key ring if it is not the one in use. Called with
 * write_mu held (or before the server is shared). */
static int ring_refresh(struct tg_server *s, const struct tg_snapshot *snap, struct tg_error *err)
{
    const struct tg_entity *e = tg_snapshot_meta(snap, "keyring");
    if (e == NULL) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "the session key ring is missing");
        return tg_error_detail(err, "no keyring entity in the store");
    }
    if (s->ring != NULL && s->ring->version == e->version) {
        return 0;
    }
    struct ring_ref *r = calloc(1, sizeof(*r));
    char *text = json_dumps(e->doc, JSON_COMPACT);
    int rc = -1;
    if (r == NULL || text == NULL) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
        goto out;
    }
    if (tg_creds_keyring_load(s->master_key, tg_cur_str(text), &r->ring, err) < 0) {
        goto out;
    }
    atomic_init(&r->refs, 1);
    r->version = e->version;
    pthread_mutex_lock(&s->ring_mu);
    struct ring_ref *old = s->ring;
    s->ring = r;
    pthread_mutex_unlock(&s->ring_mu);
    ring_release(old);
    if (old != NULL) {
        tg_server_log("session key ring reloaded (version %lld)", (long long)e->version);
    }
    r = NULL;
    rc = 0;
out:
    if (r != NULL) {
        tg_creds_keyring_wipe(&r->ring);
        free(r);
    }
    free(text);
    return rc;
}

/* Loads the next snapshot from the store and installs it (and its key
 * ring). Called with write_mu held. */
static int reload(struct tg_server *s, struct tg_error *err);

/* Watches the store for commits of other processes (tegata keys rotate,
 * other nodes) and reloads the snapshot when there are some. */
static void *poll_store(void *arg)
{
    struct tg_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        for (int i = 0; i < POLL_INTERVAL_MS / 50 && !atomic_load(&s->stopping); i++) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&s->stopping)) {
            break;
        }
        struct tg_error err;
        tg_error_clear(&err);
        int64_t v = 0;
        pthread_mutex_lock(&s->write_mu);
        if (tg_store_data_version(s->store, &v, &err) == 0 && v != s->data_version) {
            s->data_version = v;
            if (reload(s, &err) < 0) {
                tg_server_log("error: reloading the configuration after an outside change: %s",
                              err.detail[0] ? err.detail : err.message);
            }
        }
        pthread_mutex_unlock(&s->write_mu);
    }
    return NULL;
}

/* ---- first start ---------------------------------------------------------- */

static void random_account_id(char out[13])
{
    /* 12 decimal digits, the first not 0, without modulo bias. */
    size_t i = 0;
    while (i < 12) {
        uint8_t b;
        tg_random(NULL, &b, 1);
        if (b >= 250) {
            continue;
        }
        int d = b % 10;
        if (i == 0 && d == 0) {
            continue;
        }
        out[i++] = (char)('0' + d);
    }
    out[12] = '\0';
}

static bool account_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != 12) {
        return false;
    }
    for (size_t i = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static int load_snapshot(struct tg_server *s, struct tg_snapshot **out, struct tg_error *err)
{
    return tg_snapshot_load(s->store, ++s->generation, out, err);
}

static int reload(struct tg_server *s, struct tg_error *err)
{
    struct tg_snapshot *next = NULL;
    TG_GUARD(load_snapshot(s, &next, err));
    if (ring_refresh(s, next, err) < 0) {
        tg_snapshot_release(next);
        return -1;
    }
    tg_snapshot_swap(&s->holder, next);
    return 0;
}

static int master_key_init(struct tg_server *s, bool have_sealed_data, struct tg_error *err)
{
    char path[PATH_MAX];
    if (path_join(path, sizeof(path), s->data_dir, MASTER_KEY_FILE) < 0) {
        return tg_error_set(err, TG_E_SERVICE_FAILURE, "data directory path too long");
    }
    mode_t mode = 0;
    int rc = read_small_file(path, s->master_key, sizeof(s->master_key), &mode, err);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        if ((mode & 077) != 0) {
            tg_server_log("warning: %s is readable by other users (mode %03o); run chmod 600", path,
                          (unsigned)mode);
        }
        return 0;
    }
    if (have_sealed_data) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "master.key is missing");
        return tg_error_detail(err,
                               "%s is missing but the database holds secrets sealed under it; "
                               "restore the file from a backup",
                               path);
    }
    tg_random(NULL, s->master_key, sizeof(s->master_key));
    TG_GUARD(
        write_file_0600(s->data_dir, MASTER_KEY_FILE, s->master_key, sizeof(s->master_key), err));
    tg_server_log("created master key %s", path);
    return 0;
}

static int admin_aad(const char *akid, char *out, size_t cap)
{
    int n = snprintf(out, cap, ADMIN_AAD_PREFIX "%s", akid);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Creates the administrator key: writes admin.credentials first, then the
 * sealed secret to the store, so that a crash between the two leaves no
 * key without a credentials file (the next start makes a new one). */
static int admin_create(struct tg_server *s, struct tg_store_op *ops, size_t *n_ops, char **docs,
                        struct tg_error *err)
{
    char akid[TG_CREDS_ACCESS_KEY_ID_LEN + 1];
    char secret[TG_CREDS_SECRET_LEN + 1];
    char aad[64];
    struct tg_buf sealed, b64, file;
    tg_buf_init(&sealed, 256);
    tg_buf_init(&b64, 512);
    tg_buf_init_secret(&file, 1024);
    int rc = -1;

    tg_creds_access_key_id("AKIA", tg_random, NULL, akid);
    tg_creds_secret(tg_random, NULL, secret);
    if (admin_aad(akid, aad, sizeof(aad)) < 0 ||
        tg_creds_seal(s->master_key, tg_random, NULL, tg_cur_str(aad),
                      tg_cur_make(secret, TG_CREDS_SECRET_LEN), &sealed) < 0 ||
        tg_base64_encode(&b64, sealed.ptr, sealed.len) < 0 || tg_buf_nul(&b64) < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot seal the administrator secret");
        goto out;
    }
    char when[TG_ISO8601_LEN];
    tg_time_iso8601(tg_time_now(), when);
    if (tg_buf_appendf(&file,
                       "# tegata administrator key of account %s, created %s.\n"
                       "# Keep this file secret: it can change every role and provider.\n"
                       "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
                       s->account_id, when, akid, secret) < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot write the credentials file");
        goto out;
    }
    if (write_file_0600(s->data_dir, ADMIN_CREDENTIALS_FILE, file.ptr, file.len, err) < 0) {
        goto out;
    }
    json_t *doc = json_pack("{s:s, s:s, s:I}", "access_key_id", akid, "secret_sealed",
                            (const char *)b64.ptr, "create_date", (json_int_t)tg_time_now_ms());
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
        goto out;
    }
    docs[*n_ops] = text;
    ops[*n_ops] = (struct tg_store_op){TG_STORE_PUT, TG_ENTITY_META, "admin", text, 0};
    (*n_ops)++;
    tg_server_log("created administrator key %s; credentials written to %s/%s", akid, s->data_dir,
                  ADMIN_CREDENTIALS_FILE);
    rc = 0;
out:
    tg_wipe(secret, sizeof(secret));
    tg_buf_free(&sealed);
    tg_buf_free(&b64);
    tg_buf_free(&file);
    return rc;
}

static int admin_open(struct tg_server *s, const struct tg_snapshot *snap, struct tg_error *err)
{
    char aad[64];
    struct tg_buf sealed, secret;
    tg_buf_init(&sealed, 512);
    tg_buf_init_secret(&secret, 128);
    int rc = -1;
    if (snap->admin_secret_sealed == NULL ||
        admin_aad(snap->admin_access_key_id, aad, sizeof(aad)) < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "the administrator key is missing");
        goto out;
    }
    if (tg_base64_decode(&sealed, tg_cur_str(snap->admin_secret_sealed)) < 0 ||
        tg_creds_open(s->master_key, tg_cur_str(aad), tg_buf_cur(&sealed), &secret) < 0 ||
        secret.len != TG_CREDS_SECRET_LEN) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot open the administrator secret");
        tg_error_detail(err,
                        "the sealed administrator secret does not open under %s/%s: "
                        "wrong or replaced master key, or a damaged database",
                        s->data_dir, MASTER_KEY_FILE);
        goto out;
    }
    memcpy(s->admin_secret, secret.ptr, secret.len);
    s->admin_secret_len = secret.len;
    snprintf(s->admin_akid, sizeof(s->admin_akid), "%s", snap->admin_access_key_id);
    rc = 0;
out:
    tg_buf_free(&sealed);
    tg_buf_free(&secret);
    return rc;
}

static void oidc_log(const char *line)
{
    char clean[600];
    tg_server_log("%s", log_clean(line, clean, sizeof(clean)));
}

int tg_server_open(const struct tg_server_config *cfg, struct tg_server **out, struct tg_error *err)
{
    struct tg_server *s = calloc(1, sizeof(*s));
    struct tg_snapshot *snap = NULL;
    char *docs[3] = {NULL, NULL, NULL};
    struct tg_store_op ops[3];
    size_t n_ops = 0;
    if (s == NULL) {
        return tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
    }
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->ring_mu, NULL);
    atomic_init(&s->stopping, false);
    s->data_dir = strdup(cfg->data_dir);
    s->region = cfg->region ? strdup(cfg->region) : NULL;
    s->dev = cfg->dev;
    s->trust_policy_max =
        cfg->trust_policy_max ? cfg->trust_policy_max : TG_POLICY_TRUST_SIZE_DEFAULT;
    if (s->data_dir == NULL || (cfg->region && s->region == NULL)) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
        goto fail;
    }
    if (cfg->account_id != NULL && !account_id_valid(cfg->account_id)) {
        tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE, "the account id must be 12 digits");
        goto fail;
    }
    TG_GUARD_GOTO(mkdir_p(s->data_dir, err), fail);

    char db[PATH_MAX];
    if (path_join(db, sizeof(db), s->data_dir, TG_STORE_SQLITE_FILE) < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "data directory path too long");
        goto fail;
    }
    TG_GUARD_GOTO(tg_store_open_sqlite(db, &s->store, err), fail);
    TG_GUARD_GOTO(load_snapshot(s, &snap, err), fail);
    TG_GUARD_GOTO(master_key_init(s, snap->admin_secret_sealed != NULL, err), fail);

    if (snap->account_id[0] == '\0') {
        if (cfg->account_id != NULL) {
            snprintf(s->account_id, sizeof(s->account_id), "%s", cfg->account_id);
        } else {
            random_account_id(s->account_id);
        }
        json_t *doc = json_pack("{s:s, s:I}", "account_id", s->account_id, "create_date",
                                (json_int_t)tg_time_now_ms());
        docs[n_ops] = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (docs[n_ops] == NULL) {
            tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
            goto fail;
        }
        ops[n_ops] = (struct tg_store_op){TG_STORE_PUT, TG_ENTITY_META, "account", docs[n_ops], 0};
        n_ops++;
        tg_server_log("created account %s in %s", s->account_id, s->data_dir);
    } else {
        snprintf(s->account_id, sizeof(s->account_id), "%s", snap->account_id);
        if (cfg->account_id != NULL && strcmp(cfg->account_id, s->account_id) != 0) {
            tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE,
                         "the data directory %s belongs to account %s, not %s", s->data_dir,
                         s->account_id, cfg->account_id);
            goto fail;
        }
    }
    if (snap->admin_secret_sealed == NULL) {
        TG_GUARD_GOTO(admin_create(s, ops, &n_ops, docs, err), fail);
    }
    if (tg_snapshot_meta(snap, "keyring") == NULL) {
        TG_GUARD_GOTO(tg_creds_keyring_rotate(s->master_key, tg_cur_make("", 0), tg_time_now_ms(),
                                              tg_random, NULL, &docs[n_ops], err),
                      fail);
        ops[n_ops] = (struct tg_store_op){TG_STORE_PUT, TG_ENTITY_META, "keyring", docs[n_ops], 0};
        n_ops++;
        tg_server_log("created the session key ring");
    }
    if (n_ops > 0) {
        TG_GUARD_GOTO(tg_store_commit(s->store, ops, n_ops, err), fail);
        tg_snapshot_release(snap);
        snap = NULL;
        TG_GUARD_GOTO(load_snapshot(s, &snap, err), fail);
    }
    TG_GUARD_GOTO(admin_open(s, snap, err), fail);
    TG_GUARD_GOTO(ring_refresh(s, snap, err), fail);
    TG_GUARD_GOTO(tg_store_data_version(s->store, &s->data_version, err), fail);
    struct tg_oidc_config oc = {cfg->ca_file, cfg->dev, 0};
    TG_GUARD_GOTO(tg_oidc_cache_new(&oc, &s->oidc, err), fail);
    tg_oidc_set_log(s->oidc, oidc_log);
    char audit_path[PATH_MAX];
    if (cfg->audit_file != NULL) {
        snprintf(audit_path, sizeof(audit_path), "%s", cfg->audit_file);
    } else if (path_join(audit_path, sizeof(audit_path), s->data_dir, AUDIT_FILE) < 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "data directory path too long");
        goto fail;
    }
    TG_GUARD_GOTO(tg_audit_open(audit_path, &s->audit, err), fail);
    tg_snapshot_holder_init(&s->holder, snap);
    s->holder_ready = true;
    snap = NULL;
    if (pthread_create(&s->poller, NULL, poll_store, s) != 0) {
        tg_error_set(err, TG_E_SERVICE_FAILURE, "cannot start the store watcher thread");
        goto fail;
    }
    s->poller_running = true;
    for (size_t i = 0; i < n_ops; i++) {
        free(docs[i]);
    }
    *out = s;
    return 0;
fail:
    for (size_t i = 0; i < n_ops; i++) {
        free(docs[i]);
    }
    tg_snapshot_release(snap);
    tg_server_close(s);
    return -1;
}

void tg_server_close(struct tg_server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->poller_running) {
        atomic_store(&s->stopping, true);
        pthread_join(s->poller, NULL);
    }
    if (s->holder_ready) {
        tg_snapshot_holder_destroy(&s->holder);
    }
    tg_audit_close(s->audit);
    tg_oidc_cache_free(s->oidc);
    ring_release(s->ring);
    tg_store_close(s->store);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->ring_mu);
    tg_wipe(s->master_key, sizeof(s->master_key));
    tg_wipe(s->admin_secret, sizeof(s->admin_secret));
    free(s->data_dir);
    free(s->region);
    free(s);
}

int tg_server_keys_rotate(const char *data_dir, char *new_id, size_t cap, struct tg_error *err)
{
    struct tg_server tmp; /* only the fields the helpers below use */
    struct tg_snapshot *snap = NULL;
    char *old_text = NULL, *doc = NULL;
    json_t *parsed = NULL;
    int rc = -1;
    memset(&tmp, 0, sizeof(tmp));
    tmp.data_dir = (char *)data_dir;
    char db[PATH_MAX];
    struct stat st;
    if (path_join(db, sizeof(db), data_dir, TG_STORE_SQLITE_FILE) < 0 || stat(db, &st) < 0) {
        tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE, "no tegata data directory at %s", data_dir);
        return -1;
    }
    TG_GUARD_GOTO(tg_store_open_sqlite(db, &tmp.store, err), out);
    TG_GUARD_GOTO(tg_snapshot_load(tmp.store, 1, &snap, err), out);
    TG_GUARD_GOTO(master_key_init(&tmp, true, err), out);
    const struct tg_entity *e = tg_snapshot_meta(snap, "keyring");
    if (e != NULL) {
        old_text = json_dumps(e->doc, JSON_COMPACT);
        if (old_text == NULL) {
            tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
            goto out;
        }
    }
    TG_GUARD_GOTO(tg_creds_keyring_rotate(tmp.master_key,
                                          old_text ? tg_cur_str(old_text) : tg_cur_make("", 0),
                                          tg_time_now_ms(), tg_random, NULL, &doc, err),
                  out);
    struct tg_store_op op = {TG_STORE_PUT, TG_ENTITY_META, "keyring", doc, e ? e->version : 0};
    TG_GUARD_GOTO(tg_store_commit(tmp.store, &op, 1, err), out);
    parsed = json_loads(doc, 0, NULL);
    const char *cur = json_string_value(json_object_get(parsed, "current"));
    snprintf(new_id, cap, "%s", cur != NULL ? cur : "?");
    rc = 0;
out:
    json_decref(parsed);
    free(doc);
    free(old_text);
    tg_snapshot_release(snap);
    tg_store_close(tmp.store);
    tg_wipe(tmp.master_key, sizeof(tmp.master_key));
    return rc;
}

const char *tg_server_account_id(const struct tg_server *s)
{
    return s->account_id;
}

const char *tg_server_admin_access_key_id(const struct tg_server *s)
{
    return s->admin_akid;
}

/* ---- the request pipeline ----------------------------------------------------- */

void tg_response_free(struct tg_response *resp)
{
    tg_buf_free(&resp->body);
}

static const struct tg_cur *find_header(const struct tg_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (tg_cur_eq_nocase_str(req->headers[i].name, name)) {
            return &req->headers[i].value;
        }
    }
    return NULL;
}

/* "application/x-www-form-urlencoded" with optional parameters (charset). */
static bool is_form_content(const struct tg_request *req)
{
    const struct tg_cur *ct = find_header(req, "content-type");
    if (ct == NULL) {
        return false;
    }
    const char *want = "application/x-www-form-urlencoded";
    size_t n = strlen(want);
    if (ct->len < n || !tg_cur_eq_nocase_str(tg_cur_make(ct->ptr, n), want)) {
        return false;
    }
    return ct->len == n || ct->ptr[n] == ';' || ct->ptr[n] == ' ';
}

/* Who signed a request. */
struct caller {
    bool session;                 /* false: the administrator key */
    struct tg_creds_session sess; /* session: holds a secret; wiped after use */
};

/* A session's credentials: the SessionToken opens with the key ring and
 * names the signing access key id (spec 9). */
static int open_session(struct tg_server *s, const struct tg_sigv4_auth *auth,
                        struct tg_creds_session *sess, struct tg_error *err)
{
    struct ring_ref *ring = ring_acquire(s);
    int rc = tg_creds_session_open(
        &ring->ring, tg_cur_make(auth->security_token, auth->security_token_len), sess);
    ring_release(ring);
    if (rc < 0) {
        tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
        return tg_error_detail(err, "the session token does not open with this server's key "
                                    "ring (tampered, foreign, or sealed by a pruned key)");
    }
    if (strcmp(sess->access_key_id, auth->access_key_id) != 0 ||
        strcmp(sess->account_id, s->account_id) != 0) {
        tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
        return tg_error_detail(err, "the session token belongs to access key %s, not %s",
                               sess->access_key_id, auth->access_key_id);
    }
    if (tg_time_now() >= sess->expires) {
        tg_error_code(err, TG_E_EXPIRED_TOKEN);
        char when[TG_ISO8601_LEN];
        tg_time_iso8601(sess->expires, when);
        return tg_error_detail(err, "session %s of role %s expired at %s", sess->access_key_id,
                               sess->role_name, when);
    }
    return 0;
}

/* SigV4 with the administrator key or a session's temporary credentials. */
static int authenticate(struct tg_server *s, const struct tg_request *req, const char *service,
                        struct caller *who, struct tg_error *err)
{
    struct tg_sigv4_request sr = {req->method,    req->path, req->query, req->headers,
                                  req->n_headers, req->body, true};
    struct tg_sigv4_auth *auth = calloc(1, sizeof(*auth));
    int rc = -1;
    memset(who, 0, sizeof(*who));
    if (auth == NULL) {
        return tg_error_code(err, TG_E_INTERNAL_FAILURE);
    }
    if (tg_sigv4_parse(&sr, tg_time_now(), auth, err) < 0) {
        goto out;
    }
    /* spec 9: the scope must name this service, and the region if restricted */
    if (strcmp(auth->service, service) != 0) {
        tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH,
                     "Credential should be scoped to correct service: '%s'. ", service);
        goto out;
    }
    if (s->region != NULL && strcmp(auth->region, s->region) != 0) {
        tg_error_set(err, TG_E_SIGNATURE_DOES_NOT_MATCH,
                     "Credential should be scoped to a valid region, not '%s'. ", auth->region);
        tg_error_detail(err, "signed for region '%s'; this server accepts only '%s' (--region)",
                        auth->region, s->region);
        goto out;
    }
    const uint8_t *secret = s->admin_secret;
    size_t secret_len = s->admin_secret_len;
    if (auth->security_token_len > 0) {
        if (open_session(s, auth, &who->sess, err) < 0) {
            goto out;
        }
        who->session = true;
        secret = (const uint8_t *)who->sess.secret;
        secret_len = strlen(who->sess.secret);
    } else if (strcmp(auth->access_key_id, s->admin_akid) != 0) {
        tg_error_code(err, TG_E_INVALID_CLIENT_TOKEN_ID);
        tg_error_detail(err, "unknown access key id %s", auth->access_key_id);
        goto out;
    }
    if (tg_sigv4_verify(&sr, auth, secret, secret_len, err) < 0) {
        tg_error_detail(err, "signature mismatch for access key id %s", auth->access_key_id);
        goto out;
    }
    rc = 0;
out:
    tg_wipe(who->sess.secret, sizeof(who->sess.secret));
    if (rc < 0) {
        tg_wipe(who, sizeof(*who));
    }
    tg_wipe(auth, sizeof(*auth));
    free(auth);
    return rc;
}

/* Runs an IAM action; for writes, commits and installs the next snapshot. */
static int run_iam(struct tg_server *s, const struct tg_iam_action *a, const struct tg_form *form,
                   struct tg_response *resp, struct tg_error *err)
{
    struct tg_xml x;
    struct tg_iam_out out;
    int rc = -1;
    tg_xml_init(&x, &resp->body);
    tg_api_response_begin(&x, a->name, TG_NS_IAM, a->has_result);
    tg_iam_out_init(&out, &x);
    if (a->writes) {
        pthread_mutex_lock(&s->write_mu);
    }
    struct tg_snapshot *snap = tg_snapshot_acquire(&s->holder);
    struct tg_iam_ctx ctx = {snap, tg_time_now_ms(), tg_random, NULL, s->dev, s->trust_policy_max};
    if (a->fn(&ctx, form, &out, err) < 0) {
        goto out;
    }
    if (out.n_ops > 0) {
        if (!a->writes) {
            tg_error_code(err, TG_E_SERVICE_FAILURE);
            tg_error_detail(err, "read-only action %s produced writes", a->name);
            goto out;
        }
        if (tg_store_commit(s->store, out.ops, out.n_ops, err) < 0) {
            goto out;
        }
        if (reload(s, err) < 0) {
            /* The write is durable; readers keep the previous snapshot until
             * the next successful load. Say so loudly. */
            tg_server_log("error: committed %s but could not reload the configuration: %s", a->name,
                          err->detail);
            goto out;
        }
    }
    for (size_t i = 0; i < out.n_warnings; i++) {
        char clean[600];
        tg_server_log("warning: %s", log_clean(out.warnings[i], clean, sizeof(clean)));
    }
    tg_api_response_end(&x, resp->request_id);
    if (tg_xml_finish(&x) < 0) {
        tg_error_code(err, TG_E_SERVICE_FAILURE);
        tg_error_detail(err, "response larger than %d bytes", TG_HTTP_MAX_RESPONSE);
        goto out;
    }
    rc = 0;
out:
    tg_snapshot_release(snap);
    if (a->writes) {
        pthread_mutex_unlock(&s->write_mu);
    }
    tg_iam_out_free(&out);
    return rc;
}

/* ---- STS ------------------------------------------------------------------ */

/* A request header as text for the audit log (cut, control bytes replaced). */
static void header_text(const struct tg_request *req, const char *name, char *out, size_t cap)
{
    const struct tg_cur *v = find_header(req, name);
    size_t n = 0;
    for (size_t i = 0; v != NULL && i < v->len && n + 1 < cap; i++) {
        uint8_t c = v->ptr[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
}

/* A request parameter for the audit log: cut at TG_IAM_MAX_ARN bytes,
 * "(not UTF-8)" if it is not text, null if absent. */
static void form_string(struct tg_json_w *w, const struct tg_form *form, const char *name)
{
    const struct tg_cur *v = tg_form_get(form, name);
    if (v == NULL) {
        tg_json_w_null(w);
        return;
    }
    size_t n = v->len > TG_IAM_MAX_ARN ? TG_IAM_MAX_ARN : v->len;
    if (!tg_utf8_valid(tg_cur_make(v->ptr, n))) {
        tg_json_w_string(w, "(not UTF-8)");
        return;
    }
    tg_json_w_stringn(w, v->ptr, n);
}

/* Sets the event's key to what w wrote into its buffer, and empties the
 * buffer for the next field. */
static void audit_put(struct tg_audit_event *ev, const char *key, struct tg_json_w *w)
{
    if (tg_json_w_finish(w) < 0 || tg_audit_set_json(ev, key, tg_buf_cur(w->out)) < 0) {
        /* tg_audit_write then writes a stub that says so */
        ev->failed = true;
    }
    struct tg_buf *b = w->out;
    tg_buf_reset(b);
    tg_json_w_init(w, b);
}

/* The event's "decision": the trace, or (empty: it did not fit) a note. */
static void audit_put_decision(struct tg_audit_event *ev, struct tg_cur decision,
                               struct tg_json_w *w)
{
    if (decision.len > 0) {
        tg_json_w_raw(w, decision);
    } else {
        tg_json_w_object(w);
        tg_json_w_key(w, "reason");
        tg_json_w_string(w, "the decision trace could not be recorded (too large)");
        tg_json_w_object_end(w);
    }
    audit_put(ev, "decision", w);
}

static int audit_begin(struct tg_server *s, struct tg_audit_event *ev, const struct tg_request *req,
                       struct tg_random_pool *pool, const char *name, const char *request_id)
{
    char ua[512];
    header_text(req, "user-agent", ua, sizeof(ua));
    return tg_audit_event_begin(
        ev, tg_time_now_ms(), "sts.amazonaws.com", name, s->region ? s->region : "us-east-1",
        req->source_ip ? req->source_ip : "-", ua, request_id, tg_random_pool_draw, pool);
}

static void audit_error(struct tg_audit_event *ev, const struct tg_error *err)
{
    if (err != NULL && (tg_audit_set_string(ev, "errorCode", tg_code_name(err->code)) < 0 ||
                        tg_audit_set_string(ev, "errorMessage", err->message) < 0)) {
        ev->failed = true;
    }
}

static void audit_awrwi(struct tg_server *s, const struct tg_request *req,
                        const struct tg_form *form, struct tg_random_pool *pool,
                        struct tg_sts_awrwi *st, const struct tg_error *err, const char *request_id)
{
    struct tg_audit_event ev;
    if (audit_begin(s, &ev, req, pool, "AssumeRoleWithWebIdentity", request_id) < 0) {
        return;
    }
    const struct tg_cur *tok = tg_form_get(form, "WebIdentityToken");
    if (tok != NULL) {
        tg_audit_event_forbid(&ev, *tok);
    }
    tg_audit_event_forbid(&ev, tg_cur_str(st->secret));
    tg_audit_event_forbid(&ev, tg_buf_cur(&st->session_token));
    struct tg_buf scratch;
    tg_buf_init(&scratch, TG_AUDIT_MAX_LINE);
    (void)tg_buf_reserve(&scratch, 1024); /* the largest field but the decision */
    struct tg_json_w w;
    tg_json_w_init(&w, &scratch);

    /* CloudTrail's userIdentity of a web identity call */
    const char *prov = st->provider != NULL ? st->provider->arn : NULL;
    tg_json_w_object(&w);
    tg_json_w_key(&w, "type");
    tg_json_w_string(&w, "WebIdentityUser");
    if (prov != NULL) {
        char principal[TG_IAM_MAX_URL + 2 * TG_JOSE_MAX_TOKEN + 3];
        (void)tg_concat(principal, sizeof(principal), st->provider->url, ":",
                        st->audience ? st->audience : "", ":", st->subject ? st->subject : "",
                        NULL);
        tg_json_w_key(&w, "principalId");
        tg_json_w_string(&w, principal);
    }
    if (st->subject != NULL) {
        tg_json_w_key(&w, "userName");
        tg_json_w_string(&w, st->subject);
    }
    if (prov != NULL) {
        tg_json_w_key(&w, "identityProvider");
        tg_json_w_string(&w, prov);
    }
    tg_json_w_object_end(&w);
    audit_put(&ev, "userIdentity", &w);

    tg_json_w_object(&w);
    tg_json_w_key(&w, "roleArn");
    form_string(&w, form, "RoleArn");
    tg_json_w_key(&w, "roleSessionName");
    form_string(&w, form, "RoleSessionName");
    tg_json_w_key(&w, "durationSeconds");
    form_string(&w, form, "DurationSeconds");
    /* Session policies: the ARNs as CloudTrail lists them, and of the
     * inline policy only its length in characters (its text may be 2,048
     * characters; the audit log needs to know that one was given). */
    if (st->has_policy) {
        tg_json_w_key(&w, "policyLength");
        tg_json_w_int(&w, (int64_t)tg_utf8_len(st->policy));
    }
    if (st->n_policy_arns > 0) {
        tg_json_w_key(&w, "policyArns");
        tg_json_w_array(&w);
        for (size_t i = 0; i < st->n_policy_arns; i++) {
            tg_json_w_object(&w);
            tg_json_w_key(&w, "arn");
            tg_json_w_stringn(&w, st->policy_arns[i].ptr, st->policy_arns[i].len);
            tg_json_w_object_end(&w);
        }
        tg_json_w_array_end(&w);
    }
    tg_json_w_object_end(&w);
    audit_put(&ev, "requestParameters", &w);

    if (st->minted) {
        tg_json_w_object(&w);
        tg_json_w_key(&w, "credentials");
        tg_json_w_object(&w);
        tg_json_w_key(&w, "accessKeyId");
        tg_json_w_string(&w, st->access_key_id);
        tg_json_w_key(&w, "expiration");
        tg_json_w_string(&w, st->expiration);
        tg_json_w_object_end(&w);
        tg_json_w_key(&w, "assumedRoleUser");
        tg_json_w_object(&w);
        tg_json_w_key(&w, "arn");
        tg_json_w_string(&w, st->assumed_role_arn);
        tg_json_w_key(&w, "assumedRoleId");
        tg_json_w_string(&w, st->assumed_role_id);
        tg_json_w_object_end(&w);
        tg_json_w_key(&w, "provider");
        tg_json_w_string(&w, prov);
        tg_json_w_key(&w, "audience");
        tg_json_w_string(&w, st->audience);
        tg_json_w_key(&w, "subjectFromWebIdentityToken");
        tg_json_w_string(&w, st->subject);
        if (st->packed_policy_size >= 0) {
            tg_json_w_key(&w, "packedPolicySize");
            tg_json_w_int(&w, st->packed_policy_size);
        }
        tg_json_w_object_end(&w);
        audit_put(&ev, "responseElements", &w);
    }
    audit_put_decision(&ev, tg_sts_awrwi_decision(st), &w);
    tg_buf_free(&scratch);
    audit_error(&ev, err);
    if (tg_audit_write(s->audit, &ev) < 0) {
        tg_server_log("error: the audit event of %s was not written whole (see above)", request_id);
    }
}

static int run_awrwi(struct tg_server *s, const struct tg_request *req, const struct tg_form *form,
                     struct tg_random_pool *pool, struct tg_response *resp, struct tg_error *err)
{
    struct tg_xml x;
    (void)tg_buf_reserve(&resp->body, 2048); /* the response with its session token */
    tg_xml_init(&x, &resp->body);
    tg_api_response_begin(&x, "AssumeRoleWithWebIdentity", TG_NS_STS, true);
    struct tg_snapshot *snap = tg_snapshot_acquire(&s->holder);
    struct ring_ref *ring = ring_acquire(s);
    int64_t now = tg_time_now();
    struct tg_sts_ctx ctx = {snap, &ring->ring, now, tg_random_pool_draw, pool};
    struct tg_sts_awrwi st;
    int rc = tg_sts_awrwi_begin(&ctx, form, &st, err);
    if (rc == 0) {
        struct tg_jose_keyset *ks = NULL;
        struct tg_cur kid = st.jws.has_kid ? tg_cur_str(st.jws.kid) : tg_cur_make("", 0);
        rc = tg_oidc_keys(s->oidc, st.provider->url, st.thumbprints, st.n_thumbprints, kid, now,
                          &ks, err);
        if (rc < 0) {
            tg_sts_awrwi_note(&st, "reason", err->detail[0] ? err->detail : err->message);
        } else {
            rc = tg_sts_awrwi_finish(&ctx, &st, ks, &x, err);
            tg_jose_keyset_release(ks);
        }
    }
    if (rc == 0) {
        tg_api_response_end(&x, resp->request_id);
        if (tg_xml_finish(&x) < 0) {
            tg_error_code(err, TG_E_INTERNAL_FAILURE);
            rc = -1;
        }
    }
    audit_awrwi(s, req, form, pool, &st, rc == 0 ? NULL : err, resp->request_id);
    tg_sts_awrwi_free(&st);
    ring_release(ring);
    tg_snapshot_release(snap);
    return rc;
}

/* CloudTrail's userIdentity of a call signed with temporary credentials. */
static void put_session_identity(struct tg_json_w *w, const struct tg_creds_session *sess)
{
    char principal[TG_IAM_MAX_ARN + 128], arn[TG_IAM_MAX_ARN + 128];
    (void)tg_concat(principal, sizeof(principal), sess->role_id, ":", sess->session_name, NULL);
    (void)tg_concat(arn, sizeof(arn), "arn:aws:sts::", sess->account_id, ":assumed-role/",
                    sess->role_name, "/", sess->session_name, NULL);
    tg_json_w_object(w);
    tg_json_w_key(w, "type");
    tg_json_w_string(w, "AssumedRole");
    tg_json_w_key(w, "principalId");
    tg_json_w_string(w, principal);
    tg_json_w_key(w, "accountId");
    tg_json_w_string(w, sess->account_id);
    tg_json_w_key(w, "accessKeyId");
    tg_json_w_string(w, sess->access_key_id);
    tg_json_w_key(w, "arn");
    tg_json_w_string(w, arn);
    tg_json_w_key(w, "webIdFederationData");
    tg_json_w_object(w);
    tg_json_w_key(w, "federatedProvider");
    tg_json_w_string(w, sess->provider_arn);
    tg_json_w_key(w, "subject");
    tg_json_w_string(w, sess->subject);
    tg_json_w_object_end(w);
    tg_json_w_object_end(w);
}

/* The audit event of an IAM call made with temporary credentials: who, and
 * the decision of the role's permission policies with its trace. */
static void audit_iam(struct tg_server *s, const struct tg_request *req,
                      struct tg_random_pool *pool, const struct tg_creds_session *sess,
                      const char *name, struct tg_cur decision, const struct tg_error *err,
                      const char *request_id)
{
    struct tg_audit_event ev;
    char ua[512];
    header_text(req, "user-agent", ua, sizeof(ua));
    if (tg_audit_event_begin(
            &ev, tg_time_now_ms(), "iam.amazonaws.com", name, s->region ? s->region : "us-east-1",
            req->source_ip ? req->source_ip : "-", ua, request_id, tg_random_pool_draw, pool) < 0) {
        return;
    }
    const struct tg_cur *token = find_header(req, "x-amz-security-token");
    if (token != NULL) {
        tg_audit_event_forbid(&ev, *token);
    }
    struct tg_buf scratch;
    tg_buf_init(&scratch, TG_AUDIT_MAX_LINE);
    struct tg_json_w w;
    tg_json_w_init(&w, &scratch);
    put_session_identity(&w, sess);
    audit_put(&ev, "userIdentity", &w);
    audit_put_decision(&ev, decision, &w);
    tg_buf_free(&scratch);
    audit_error(&ev, err);
    if (tg_audit_write(s->audit, &ev) < 0) {
        tg_server_log("error: the audit event of %s was not written whole", request_id);
    }
}

static int run_caller_identity(struct tg_server *s, const struct tg_request *req,
                               struct tg_random_pool *pool, struct tg_response *resp,
                               struct tg_error *err)
{
    struct caller who;
    struct tg_audit_event ev;
    int rc = authenticate(s, req, "sts", &who, err);
    if (rc == 0) {
        struct tg_xml x;
        tg_xml_init(&x, &resp->body);
        tg_api_response_begin(&x, "GetCallerIdentity", TG_NS_STS, true);
        if (who.session) {
            tg_sts_caller_identity_session(&who.sess, &x);
        } else {
            tg_sts_caller_identity_root(s->account_id, &x);
        }
        tg_api_response_end(&x, resp->request_id);
        if (tg_xml_finish(&x) < 0) {
            tg_error_code(err, TG_E_INTERNAL_FAILURE);
            rc = -1;
        }
    }
    if (audit_begin(s, &ev, req, pool, "GetCallerIdentity", resp->request_id) == 0) {
        const struct tg_cur *token = find_header(req, "x-amz-security-token");
        if (token != NULL) {
            tg_audit_event_forbid(&ev, *token);
        }
        struct tg_buf scratch;
        tg_buf_init(&scratch, TG_AUDIT_MAX_LINE);
        struct tg_json_w w;
        tg_json_w_init(&w, &scratch);
        if (rc == 0 && who.session) {
            put_session_identity(&w, &who.sess);
        } else if (rc == 0) {
            tg_json_w_object(&w);
            tg_json_w_key(&w, "type");
            tg_json_w_string(&w, "Root");
            tg_json_w_key(&w, "accountId");
            tg_json_w_string(&w, s->account_id);
            tg_json_w_key(&w, "accessKeyId");
            tg_json_w_string(&w, s->admin_akid);
            tg_json_w_object_end(&w);
        } else {
            tg_json_w_null(&w);
        }
        audit_put(&ev, "userIdentity", &w);
        tg_buf_free(&scratch);
        audit_error(&ev, rc == 0 ? NULL : err);
        if (tg_audit_write(s->audit, &ev) < 0) {
            tg_server_log("error: the audit event of %s was not written whole", resp->request_id);
        }
    }
    tg_wipe(&who, sizeof(who));
    return rc;
}

/* The administrator key may call every IAM action; temporary credentials
 * what their role's permission policies allow (its inline and attached
 * managed policies, spec 4.5), for the action's resource (the entity it
 * names) and the session's request context. */
#define AUTHZ_MAX_POLICIES (TG_IAM_MAX_INLINE_POLICIES + TG_IAM_MAX_ATTACHED_POLICIES)

static int authorize(struct tg_server *s, const struct tg_request *req, const struct caller *who,
                     const struct tg_iam_action *a, const struct tg_form *form,
                     struct tg_buf *trace, struct tg_error *err)
{
    if (!who->session) {
        return 0;
    }
    int rc = -1;
    struct tg_policy *inline_session = NULL;
    struct tg_snapshot *snap = tg_snapshot_acquire(&s->holder);
    const struct tg_policy **pols = malloc(AUTHZ_MAX_POLICIES * sizeof(*pols));
    struct tg_sts_session_ctx *ctx = malloc(sizeof(*ctx));
    char user[TG_IAM_MAX_ARN + 128], action[80], resource[TG_IAM_MAX_ARN + 1];
    (void)tg_concat(user, sizeof(user), "arn:aws:sts::", who->sess.account_id, ":assumed-role/",
                    who->sess.role_name, "/", who->sess.session_name, NULL);
    (void)tg_concat(action, sizeof(action), "iam:", a->name, NULL);
    if (pols == NULL || ctx == NULL ||
        tg_iam_request_resource(snap, a->name, form, resource, sizeof(resource)) < 0) {
        tg_error_code(err, TG_E_INTERNAL_FAILURE);
        goto out;
    }
    /* The session's role as it is now: deleted, or deleted and made again
     * (another role id), it grants nothing. */
    char key[TG_IAM_MAX_ROLE_NAME + 1];
    const struct tg_snap_role *role =
        tg_snapshot_key_lower(tg_cur_str(who->sess.role_name), key, sizeof(key)) == 0
            ? tg_snapshot_role(snap, tg_cur_str(key))
            : NULL;
    const char *role_id =
        role != NULL ? json_string_value(json_object_get(role->e.doc, "role_id")) : NULL;
    size_t n = 0;
    if (role != NULL && role_id != NULL && strcmp(role_id, who->sess.role_id) == 0) {
        for (size_t i = 0; i < role->n_inline && n < AUTHZ_MAX_POLICIES; i++) {
            pols[n++] = role->inline_compiled[i];
        }
        const json_t *att = json_object_get(role->e.doc, "attached");
        for (size_t i = 0; i < json_array_size(att) && n < AUTHZ_MAX_POLICIES; i++) {
            const json_t *arn = json_array_get(att, i);
            const struct tg_snap_policy *mp =
                json_is_string(arn)
                    ? tg_snapshot_policy_by_arn(
                          snap, tg_cur_make(json_string_value(arn), json_string_length(arn)))
                    : NULL;
            if (mp != NULL && mp->compiled != NULL) {
                pols[n++] = mp->compiled;
            }
        }
    } else {
        role = NULL;
    }
    /* The session policies sealed in the session (spec 4.5), in order: the
     * inline one compiled again (it parsed when the session was issued),
     * the managed ones as their default version is now. One deleted since
     * is NULL: it allows nothing (tg_policy_authorize), so with none left
     * the session may do nothing. */
    const struct tg_policy *spols[1 + TG_STS_MAX_POLICY_ARNS];
    size_t n_session = 0, n_found = 0;
    if (who->sess.policy[0] != '\0') {
        struct tg_error perr;
        tg_error_clear(&perr);
        if (tg_policy_parse((const uint8_t *)who->sess.policy, strlen(who->sess.policy),
                            TG_POLICY_SESSION, &inline_session, &perr) < 0) {
            inline_session = NULL;
        }
        spols[n_session++] = inline_session;
    }
    for (size_t i = 0; i < who->sess.n_policy_arns; i++) {
        const struct tg_snap_policy *mp =
            tg_snapshot_policy_by_arn(snap, tg_cur_str(tg_creds_session_policy_arn(&who->sess, i)));
        spols[n_session++] = mp != NULL ? mp->compiled : NULL;
    }
    for (size_t i = 0; i < n_session; i++) {
        n_found += spols[i] != NULL;
    }
    struct tg_kv tags[TG_IAM_MAX_TAGS];
    char ua[512];
    header_text(req, "user-agent", ua, sizeof(ua));
    struct tg_sts_call call = {
        tg_time_now(), req->source_ip ? req->source_ip : "-",           ua, false,
        tags,          tg_iam_request_tags(form, tags, TG_IAM_MAX_TAGS)};
    tg_sts_session_context(ctx, &who->sess, role, &call);
    struct tg_policy_request preq = {action, resource, NULL, NULL, ctx->entries, ctx->n};
    /* The audit event's decision: what was asked, of which role, and the
     * trace of every policy, statement and condition. */
    struct tg_json_w w;
    tg_json_w_init(&w, trace);
    tg_json_w_object(&w);
    tg_json_w_key(&w, "action");
    tg_json_w_string(&w, action);
    tg_json_w_key(&w, "resource");
    tg_json_w_string(&w, resource);
    tg_json_w_key(&w, "role");
    tg_json_w_string(&w, role != NULL ? role->arn : NULL);
    if (n_session > 0) {
        /* Which session policy is which in the trace's "session" set (its
         * "policy" index), and those that are gone. Never their text. */
        tg_json_w_key(&w, "session_policies");
        tg_json_w_array(&w);
        bool has_inline = who->sess.policy[0] != '\0';
        for (size_t k = 0; k < n_session; k++) {
            bool is_inline = has_inline && k == 0;
            tg_json_w_object(&w);
            tg_json_w_key(&w, "policy");
            if (spols[k] != NULL) {
                tg_json_w_int(&w, (int64_t)k);
            } else {
                tg_json_w_null(&w);
            }
            if (is_inline) {
                tg_json_w_key(&w, "inline_length");
                tg_json_w_int(&w, (int64_t)strlen(who->sess.policy));
            } else {
                tg_json_w_key(&w, "arn");
                tg_json_w_string(&w,
                                 tg_creds_session_policy_arn(&who->sess, k - (size_t)has_inline));
            }
            if (spols[k] == NULL) {
                tg_json_w_key(&w, "reason");
                tg_json_w_string(&w, is_inline ? "the inline session policy no longer compiles: "
                                                 "it grants nothing"
                                               : "deleted since the session was issued: it "
                                                 "grants nothing");
            }
            tg_json_w_object_end(&w);
        }
        tg_json_w_array_end(&w);
    }
    tg_json_w_key(&w, "policies");
    enum tg_policy_decision d = tg_policy_authorize(pols, n, spols, n_session, &preq, NULL, &w);
    /* The identity policies alone, to name the policy type that denied
     * (AWS names one, spec 4.5). */
    enum tg_policy_decision d_identity = tg_policy_authorize(pols, n, NULL, 0, &preq, NULL, NULL);
    tg_json_w_key(&w, "decision");
    tg_json_w_string(&w, tg_policy_decision_name(d));
    tg_json_w_object_end(&w);
    if (tg_json_w_finish(&w) < 0) {
        tg_buf_reset(trace); /* the event then says the trace did not fit */
    }
    if (d == TG_POLICY_ALLOW) {
        rc = 0;
        goto out;
    }
    /* AWS's messages of a denial name the policy type that denied
     * (UG:troubleshoot_access-denied: "with an explicit deny in a <type>
     * policy", "because no <type> policy allows the <action> action"). */
    bool by_session = d == TG_POLICY_DENY_EXPLICIT ? d_identity != TG_POLICY_DENY_EXPLICIT
                                                   : d_identity == TG_POLICY_ALLOW;
    const char *type = by_session ? "session policy" : "identity-based policy";
    if (d == TG_POLICY_DENY_EXPLICIT) {
        tg_error_set(err, TG_E_ACCESS_DENIED,
                     "User: %s is not authorized to perform: %s on resource: %s with an explicit "
                     "deny in a%s %s",
                     user, action, resource, by_session ? "" : "n", type);
    } else {
        tg_error_set(err, TG_E_ACCESS_DENIED,
                     "User: %s is not authorized to perform: %s on resource: %s because no "
                     "%s allows the %s action",
                     user, action, resource, type, action);
    }
    tg_error_detail(err, "%s of role %s: %s by the %s (%zu identity, %zu of %zu session policies)",
                    action, role != NULL ? role->arn : "(gone)", tg_policy_decision_name(d),
                    by_session ? "session policies" : "identity policies", n, n_found, n_session);
out:
    tg_policy_free(inline_session);
    free(pols);
    free(ctx);
    tg_snapshot_release(snap);
    return rc;
}

static void respond_text(struct tg_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    tg_buf_reset(&resp->body);
    if (tg_buf_append_str(&resp->body, text) < 0) {
        resp->status = 500;
    }
}

void tg_server_handle(struct tg_server *s, const struct tg_request *req, struct tg_response *resp)
{
    int64_t t0 = tg_time_now_ms();
    struct tg_error err;
    struct tg_form form;
    const char *ns = TG_NS_IAM;
    char action[64] = "-";
    uint8_t rnd[16];
    struct tg_random_pool pool;

    tg_error_clear(&err);
    tg_form_init(&form);
    memset(resp, 0, sizeof(*resp));
    tg_buf_init(&resp->body, TG_HTTP_MAX_RESPONSE);
    /* One CSPRNG call for the request id and what the action mints. */
    tg_random_pool_fill(&pool);
    tg_random_pool_draw(&pool, rnd, sizeof(rnd));
    tg_uuid_format(rnd, resp->request_id);
    resp->status = 200;
    resp->content_type = "text/xml";

    bool is_get = tg_cur_eq_str(req->method, "GET");
    bool is_post = tg_cur_eq_str(req->method, "POST");
    if (is_get && tg_cur_eq_str(req->path, "/healthz")) {
        respond_text(resp, 200, "ok\n");
        tg_form_free(&form);
        tg_random_pool_wipe(&pool);
        return; /* not logged: load balancers poll it every few seconds */
    }
    if (!is_get && !is_post) {
        tg_error_set(&err, TG_E_INVALID_ACTION, "The HTTP method %.*s is not supported.",
                     (int)(req->method.len > 16 ? 16 : req->method.len),
                     (const char *)req->method.ptr);
        goto fail;
    }
    if (req->body_too_large) {
        tg_error_code(&err, TG_E_REQUEST_TOO_LARGE);
        goto fail;
    }
    if (tg_form_parse(&form, req->query.ptr, req->query.len, &err) < 0) {
        goto fail;
    }
    if (is_post && req->body.len > 0 && is_form_content(req) &&
        tg_form_parse(&form, req->body.ptr, req->body.len, &err) < 0) {
        goto fail;
    }
    const struct tg_cur *version = tg_form_get(&form, "Version");
    bool sts_version = version != NULL && tg_cur_eq_str(*version, "2011-06-15");
    if (sts_version) {
        ns = TG_NS_STS;
    }
    const struct tg_cur *act = tg_form_get(&form, "Action");
    if (act == NULL || act->len == 0) {
        tg_error_set(&err, TG_E_MISSING_ACTION, "Missing Action");
        goto fail;
    }
    snprintf(action, sizeof(action), "%.*s", (int)(act->len > 60 ? 60 : act->len),
             (const char *)act->ptr);
    if (tg_cur_eq_str(*act, "AssumeRoleWithWebIdentity")) {
        /* spec 1.1: unsigned; an Authorization header is ignored */
        ns = TG_NS_STS;
        if (run_awrwi(s, req, &form, &pool, resp, &err) < 0) {
            goto fail;
        }
        goto log;
    }
    if (tg_cur_eq_str(*act, "GetCallerIdentity")) {
        ns = TG_NS_STS;
        if (run_caller_identity(s, req, &pool, resp, &err) < 0) {
            goto fail;
        }
        goto log;
    }
    const struct tg_iam_action *a = tg_iam_action_find(*act);
    if (a == NULL) {
        char clean[64];
        tg_error_set(&err, TG_E_INVALID_ACTION, "Could not find operation %s for version %s",
                     log_clean(action, clean, sizeof(clean)),
                     sts_version ? "2011-06-15" : "2010-05-08");
        goto fail;
    }
    snprintf(action, sizeof(action), "%s", a->name);
    struct caller who;
    struct tg_buf trace;
    tg_buf_init(&trace, TG_AUDIT_DECISION_MAX);
    int rc = authenticate(s, req, "iam", &who, &err);
    bool audited = rc == 0 && who.session;
    if (rc == 0) {
        rc = authorize(s, req, &who, a, &form, &trace, &err);
    }
    if (rc == 0) {
        rc = run_iam(s, a, &form, resp, &err);
    }
    if (audited) {
        audit_iam(s, req, &pool, &who.sess, a->name, tg_buf_cur(&trace), rc == 0 ? NULL : &err,
                  resp->request_id);
    }
    tg_wipe(&who, sizeof(who));
    tg_buf_free(&trace);
    if (rc < 0) {
        goto fail;
    }
    goto log;

fail:
    if (err.code == TG_OK) {
        tg_error_code(&err, TG_E_INTERNAL_FAILURE);
    }
    resp->status = tg_code_http_status(err.code);
    resp->content_type = "text/xml";
    if (tg_api_error_xml(&resp->body, ns, &err, resp->request_id) < 0) {
        respond_text(resp, 500, "internal error\n");
    }
log:;
    char msg[300], detail[600], act_clean[64];
    log_clean(action, act_clean, sizeof(act_clean));
    if (err.code == TG_OK) {
        /* The line of every successful request, so no printf for it. */
        char status[TG_I64_LEN], ms[TG_I64_LEN], line[512];
        (void)tg_fmt_i64(resp->status, status);
        (void)tg_fmt_i64(tg_time_now_ms() - t0, ms);
        (void)tg_concat(line, sizeof(line), req->source_ip ? req->source_ip : "-", " ",
                        is_get    ? "GET"
                        : is_post ? "POST"
                                  : "?",
                        " ", act_clean, " ", status, " ", ms, "ms ", resp->request_id, NULL);
        tg_server_log("%s", line);
    } else {
        tg_server_log(
            "%s %s %s %d %s \"%s\"%s%s%s %lldms %s", req->source_ip ? req->source_ip : "-",
            is_get    ? "GET"
            : is_post ? "POST"
                      : "?",
            act_clean, resp->status, tg_code_name(err.code),
            log_clean(err.message, msg, sizeof(msg)), err.detail[0] ? " (" : "",
            err.detail[0] ? log_clean(err.detail, detail, sizeof(detail)) : "",
            err.detail[0] ? ")" : "", (long long)(tg_time_now_ms() - t0), resp->request_id);
    }
    tg_form_free(&form);
    tg_random_pool_wipe(&pool);
}
