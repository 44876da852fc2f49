/* Unit tests of the HTTP glue: a real libmicrohttpd daemon on a loopback
 * port, spoken to over a real socket. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"

struct fx {
    char dir[64];
    struct tg_server *srv;
    struct tg_http *http;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg-http-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct tg_server_config cfg = {f->dir, NULL, NULL, false, TG_POLICY_TRUST_SIZE_DEFAULT,
                                   NULL,   NULL};
    struct tg_error err;
    assert_int_equal(tg_server_open(&cfg, &f->srv, &err), 0);
    assert_int_equal(tg_http_start(f->srv, "127.0.0.1", 0, 2, &f->http, &err), 0);
    assert_true(tg_http_port(f->http) != 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tg_http_stop(f->http, 5000), 0);
    tg_server_close(f->srv);
    const char *files[] = {"tegata.db", "tegata.db-wal", "tegata.db-shm", "master.key",
                           "admin.credentials"};
    char path[160];
    for (size_t i = 0; i < TG_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Sends raw bytes, reads until the server closes; returns the response. */
static char *exchange(struct fx *f, const char *raw, size_t raw_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(tg_http_port(f->http));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    size_t off = 0;
    while (off < raw_len) {
        ssize_t w = write(fd, raw + off, raw_len - off);
        if (w <= 0) {
            break; /* the server may answer and close early (413) */
        }
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_healthz(void **state)
{
    struct fx *f = *state;
    const char *raw = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *resp = exchange(f, raw, strlen(raw));
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strcasestr(resp, "x-amzn-RequestId: "));
    assert_non_null(strstr(resp, "\r\n\r\nok\n"));
    free(resp);
}

static void test_query_reaches_pipeline(void **state)
{
    struct fx *f = *state;
    /* The raw query string reaches the form decoder: an unsigned ListRoles
     * is refused for its missing signature, not for a missing action. */
    const char *raw = "GET /?Action=ListRoles&Version=2010-05-08 HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n";
    char *resp = exchange(f, raw, strlen(raw));
    assert_non_null(strstr(resp, "HTTP/1.1 403"));
    assert_non_null(strstr(resp, "<Code>MissingAuthenticationToken</Code>"));
    assert_non_null(strcasestr(resp, "Content-Type: text/xml"));
    free(resp);

    const char *post = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: 14\r\n\r\nVersion=2010-0";
    resp = exchange(f, post, strlen(post));
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "<Code>MissingAction</Code>"));
    free(resp);
}

static void test_body_limit(void **state)
{
    struct fx *f = *state;
    char raw[256];
    snprintf(raw, sizeof(raw),
             "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n",
             TG_HTTP_MAX_BODY + 1);
    char *resp = exchange(f, raw, strlen(raw));
    assert_non_null(strstr(resp, "HTTP/1.1 413"));
    assert_non_null(strstr(resp, "<Code>RequestEntityTooLarge</Code>"));
    free(resp);

    /* a body that really is too large, sent without a Content-Length */
    size_t n = TG_HTTP_MAX_BODY + 4096;
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    char chunk_head[32];
    int ch = snprintf(chunk_head, sizeof(chunk_head), "%zx\r\n", n);
    size_t total = strlen(head) + (size_t)ch + n + 7;
    char *big = malloc(total + 1);
    size_t off = 0;
    memcpy(big, head, strlen(head));
    off += strlen(head);
    memcpy(big + off, chunk_head, (size_t)ch);
    off += (size_t)ch;
    memset(big + off, 'a', n);
    off += n;
    memcpy(big + off, "\r\n0\r\n\r\n", 7);
    off += 7;
    resp = exchange(f, big, off);
    assert_non_null(strstr(resp, "HTTP/1.1 413"));
    free(resp);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_reaches_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
