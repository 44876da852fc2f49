/* http: libmicrohttpd glue. */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct tg_http {
    struct MHD_Daemon *daemon;
    struct tg_server *srv; /* borrowed */
    atomic_int inflight;
    uint16_t port;
};

/* Per-request state, created by the URI log callback (the first thing
 * libmicrohttpd calls for a request, with the raw request target) and freed
 * when the request completes. */
struct req_ctx {
    struct tg_http *h;
    char *uri; /* raw request target as received: path?query, %-encoded */
    size_t uri_len;
    struct tg_buf body;
    bool started;
    bool too_large;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)con;
    struct tg_http *h = cls;
    struct req_ctx *c = calloc(1, sizeof(*c));
    atomic_fetch_add(&h->inflight, 1);
    if (c == NULL) {
        return NULL;
    }
    c->h = h;
    tg_buf_init(&c->body, TG_HTTP_MAX_BODY);
    size_t n = strnlen(uri, TG_HTTP_MAX_URI + 1);
    if (n <= TG_HTTP_MAX_URI) {
        c->uri = malloc(n + 1);
        if (c->uri != NULL) {
            memcpy(c->uri, uri, n + 1);
            c->uri_len = n;
        }
    }
    return c;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)con;
    (void)toe;
    struct tg_http *h = cls;
    struct req_ctx *c = *con_cls;
    if (c != NULL) {
        free(c->uri);
        tg_buf_free(&c->body);
        free(c);
        *con_cls = NULL;
    }
    atomic_fetch_sub(&h->inflight, 1);
}

struct header_list {
    struct tg_sigv4_header items[TG_HTTP_MAX_HEADERS];
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct header_list *l = cls;
    if (l->n >= TG_HTTP_MAX_HEADERS || value_size > TG_HTTP_MAX_HEADER_VALUE) {
        l->overflow = true;
        return MHD_NO;
    }
    l->items[l->n].name = tg_cur_make(key, key_size);
    l->items[l->n].value = tg_cur_make(value ? value : "", value ? value_size : 0);
    l->n++;
    return MHD_YES;
}

static enum MHD_Result send_plain(struct MHD_Connection *con, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return rc;
}

static void client_ip(struct MHD_Connection *con, char *out, size_t cap)
{
    snprintf(out, cap, "-");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(out, cap, "-");
    }
}

static enum MHD_Result respond(struct req_ctx *c, struct MHD_Connection *con, const char *method)
{
    struct header_list *hl = calloc(1, sizeof(*hl));
    if (hl == NULL) {
        return send_plain(con, 500, "out of memory\n");
    }
    MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_header, hl);
    if (hl->overflow) {
        free(hl);
        return send_plain(con, 431, "too many or too large request headers\n");
    }
    const char *q = memchr(c->uri, '?', c->uri_len);
    size_t path_len = q ? (size_t)(q - c->uri) : c->uri_len;
    char ip[64];
    client_ip(con, ip, sizeof(ip));
    struct tg_request req = {
        .method = tg_cur_str(method),
        .path = tg_cur_make(c->uri, path_len),
        .query = q ? tg_cur_make(q + 1, c->uri_len - path_len - 1) : tg_cur_make("", 0),
        .headers = hl->items,
        .n_headers = hl->n,
        .body = tg_buf_cur(&c->body),
        .source_ip = ip,
        .body_too_large = c->too_large,
    };
    struct tg_response resp;
    tg_server_handle(c->h->srv, &req, &resp);
    free(hl);

    struct MHD_Response *r;
    size_t len = resp.body.len;
    char *body = len > 0 ? tg_buf_steal(&resp.body) : NULL;
    if (body != NULL) {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(body);
        }
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    tg_response_free(&resp);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", resp.content_type);
    MHD_add_response_header(r, "x-amzn-RequestId", resp.request_id);
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    struct req_ctx *c = *con_cls;
    if (c == NULL) {
        return send_plain(con, 500, "out of memory\n");
    }
    if (c->uri == NULL) {
        return send_plain(con, 414, "request target too long\n");
    }
    if (!c->started) {
        c->started = true;
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL) {
            int64_t n = 0;
            if (tg_cur_to_i64(tg_cur_str(cl), &n) < 0 || n < 0 || n > TG_HTTP_MAX_BODY) {
                /* Answer at once instead of reading a body we would refuse. */
                c->too_large = true;
                return respond(c, con, method);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!c->too_large && tg_buf_append(&c->body, upload_data, *upload_data_size) < 0) {
            c->too_large = true;
            tg_buf_free(&c->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(c, con, method);
}

static int parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, unsigned *flags,
                      struct tg_error *err)
{
    memset(ss, 0, sizeof(*ss));
    char host[256];
    size_t n = strlen(addr);
    if (n >= sizeof(host)) {
        return tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE, "listen address too long");
    }
    memcpy(host, addr, n + 1);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (strcmp(host, "localhost") == 0) {
        memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return tg_error_set(err, TG_E_INVALID_PARAMETER_VALUE,
                        "listen address '%s' is not an IPv4 or IPv6 address", addr);
}

int tg_http_start(struct tg_server *srv, const char *addr, uint16_t port, unsigned threads,
                  struct tg_http **out, struct tg_error *err)
{
    struct tg_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return tg_error_set(err, TG_E_SERVICE_FAILURE, "out of memory");
    }
    h->srv = srv;
    atomic_init(&h->inflight, 0);
    /* poll(2), not epoll: libmicrohttpd 0.9.75 (Debian 12) takes at most
     * 128 events per epoll_wait and, when it got exactly 128, calls
     * epoll_wait again with the full timeout before serving the ones it
     * has. With 128 x k requests ready at once (a burst of CI jobs) nothing
     * is answered until the connection timeout. poll costs O(connections)
     * per loop, which at TG_HTTP_MAX_CONNECTIONS is small next to a token
     * verification (test_http_auth.py: test_many_requests_ready_at_once). */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct sockaddr_storage ss;
    if (parse_addr(addr, port, &ss, &flags, err) < 0) {
        free(h);
        return -1;
    }
    if (threads <= 1) {
        threads = 0; /* one thread: the polling thread itself, no pool */
    }
    h->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)TG_HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)TG_HTTP_CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)TG_HTTP_CONNECTION_MEMORY, MHD_OPTION_END);
    if (h->daemon == NULL) {
        free(h);
        return tg_error_set(err, TG_E_SERVICE_FAILURE,
                            "cannot listen on %s:%u (address in use or not available)", addr,
                            (unsigned)port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di != NULL ? di->port : port;
    *out = h;
    return 0;
}

uint16_t tg_http_port(const struct tg_http *h)
{
    return h->port;
}

unsigned tg_http_stop(struct tg_http *h, int64_t timeout_ms)
{
    if (h == NULL) {
        return 0;
    }
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    int64_t deadline = tg_time_now_ms() + timeout_ms;
    while (atomic_load(&h->inflight) > 0 && tg_time_now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&h->inflight);
    MHD_stop_daemon(h->daemon);
    free(h);
    return left > 0 ? (unsigned)left : 0;
}
