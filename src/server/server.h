/*
 * server: the request pipeline (parse -> authenticate -> act -> commit ->
 * respond -> log) and the server's state: the store, the configuration
 * snapshot, the master key and the administrator key. Independent of the
 * HTTP library: src/http turns libmicrohttpd requests into tg_request.
 */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include "sigv4/sigv4.h"
#include "util/util.h"

struct tg_server_config {
    const char *data_dir;    /* created 0700 if missing */
    const char *account_id;  /* 12 digits; NULL: the stored one, or a new one on first start */
    const char *region;      /* NULL: any region the client signs for */
    bool dev;                /* allow http:// and ports for loopback provider URLs */
    size_t trust_policy_max; /* ACLSizePerRole, 2048..4096 */
    const char *ca_file;     /* extra CAs for discovery/JWKS fetching; NULL: system CAs only */
    const char *audit_file;  /* NULL: DIR/audit.log */
};

/* A request as received. Everything is borrowed for the duration of
 * tg_server_handle. */
struct tg_request {
    struct tg_cur method;
    struct tg_cur path;  /* raw, %-encoded, without the query */
    struct tg_cur query; /* raw, after '?' */
    const struct tg_sigv4_header *headers;
    size_t n_headers;
    struct tg_cur body;
    const char *source_ip; /* text form, for the log */
    bool body_too_large;   /* the body was cut at TG_HTTP_MAX_BODY */
};

struct tg_response {
    int status;
    const char *content_type; /* a literal */
    struct tg_buf body;       /* owned; free with tg_response_free */
    char request_id[TG_UUID_LEN];
};

struct tg_server;

/*
 * Opens the data directory (creating it, the master key, the database, the
 * account and the administrator key on first start, see docs/serve.md) and
 * loads the configuration snapshot. Borrows cfg during the call. Errors:
 * InvalidParameterValue for a configuration the stored data contradicts
 * (another account id), ServiceFailure for I/O, with err->detail saying
 * what failed. Returns owned (free with tg_server_close).
 */
int tg_server_open(const struct tg_server_config *cfg, struct tg_server **out,
                   struct tg_error *err) TG_MUST_USE;
void tg_server_close(struct tg_server *s);

const char *tg_server_account_id(const struct tg_server *s);
const char *tg_server_admin_access_key_id(const struct tg_server *s);

/* Handles one request; always fills resp (an AWS error document on
 * failure). Thread-safe. */
void tg_server_handle(struct tg_server *s, const struct tg_request *req, struct tg_response *resp);
void tg_response_free(struct tg_response *resp);

/*
 * `tegata keys rotate`: adds a new session sealing key to the key ring of
 * the data directory and makes it current; the old keys keep opening the
 * sessions they sealed until those expire. A running server picks the
 * change up within a second or two. Writes the new key id to new_id.
 */
int tg_server_keys_rotate(const char *data_dir, char *new_id, size_t cap,
                          struct tg_error *err) TG_MUST_USE;

/* Log a line to the server log (stderr), prefixed with the time. */
void tg_server_log(const char *fmt, ...) TG_PRINTF(1, 2);

#endif
