/* Unit tests of the server pipeline: first start, persistence, SigV4
 * authentication, dispatch and error documents, with a real data directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server.h"
#include "sign_fixture.h"

struct fx {
    char dir[64];
    char akid[32];
    char secret[64];
    struct tg_server *srv;
};

static void rm_rf(const char *dir)
{
    const char *files[] = {"tegata.db", "tegata.db-wal", "tegata.db-shm", "master.key",
                           "admin.credentials"};
    char path[160];
    for (size_t i = 0; i < TG_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(1 << 22);
    size_t n = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len) {
        *len = n;
    }
    return buf;
}

/* Reads "key = value" from the credentials file. */
static void cred_value(const char *text, const char *key, char *out, size_t cap)
{
    const char *p = strstr(text, key);
    assert_non_null(p);
    p = strchr(p, '=');
    assert_non_null(p);
    p++;
    while (*p == ' ') {
        p++;
    }
    size_t n = strcspn(p, "\n");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

static int open_server(struct fx *f, const char *account, const char *region)
{
    struct tg_server_config cfg = {f->dir, account, region, false, TG_POLICY_TRUST_SIZE_DEFAULT,
                                   NULL,   NULL};
    struct tg_error err;
    tg_error_clear(&err);
    int rc = tg_server_open(&cfg, &f->srv, &err);
    if (rc < 0) {
        return err.code;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/admin.credentials", f->dir);
    char *text = read_all(path, NULL);
    assert_non_null(text);
    cred_value(text, "aws_access_key_id", f->akid, sizeof(f->akid));
    cred_value(text, "aws_secret_access_key", f->secret, sizeof(f->secret));
    free(text);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg-server-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rmdir(f->dir); /* the server creates it */
    assert_int_equal(open_server(f, NULL, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tg_server_close(f->srv);
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* Sends a POST with body, signed unless secret is NULL. */
static int post(struct fx *f, const char *body, const char *akid, const char *secret, int64_t t,
                const char *service, struct tg_response *resp)
{
    struct signed_req sr;
    memset(&sr, 0, sizeof(sr));
    if (secret != NULL) {
        assert_int_equal(
            sign_post(&sr, "127.0.0.1:8080", body, akid, secret, t, "us-east-1", service), 0);
    } else {
        sr.headers[0] = (struct tg_sigv4_header){tg_cur_str("Content-Type"),
                                                 tg_cur_str("application/x-www-form-urlencoded")};
        sr.headers[1] = (struct tg_sigv4_header){tg_cur_str("Host"), tg_cur_str("127.0.0.1")};
        sr.n_headers = 2;
    }
    struct tg_request req = {tg_cur_str("POST"), tg_cur_str("/"),  tg_cur_str(""), sr.headers,
                             sr.n_headers,       tg_cur_str(body), "127.0.0.1",    false};
    tg_server_handle(f->srv, &req, resp);
    assert_int_equal(tg_buf_nul(&resp->body), 0);
    return resp->status;
}

static int admin_post(struct fx *f, const char *body, struct tg_response *resp)
{
    return post(f, body, f->akid, f->secret, tg_time_now(), "iam", resp);
}

static void assert_error(struct tg_response *resp, int status, const char *code)
{
    char want[128];
    snprintf(want, sizeof(want), "<Code>%s</Code>", code);
    assert_int_equal(resp->status, status);
    if (strstr((const char *)resp->body.ptr, want) == NULL) {
        fail_msg("expected %s in %s", want, (const char *)resp->body.ptr);
    }
    assert_non_null(strstr((const char *)resp->body.ptr, resp->request_id));
    tg_response_free(resp);
}

static void test_first_start_files(void **state)
{
    struct fx *f = *state;
    struct stat st;
    char path[160];
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/master.key", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    snprintf(path, sizeof(path), "%s/admin.credentials", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    const char *acct = tg_server_account_id(f->srv);
    assert_int_equal(strlen(acct), 12);
    assert_int_equal(strspn(acct, "0123456789"), 12);
    assert_int_equal(strlen(f->akid), 20);
    assert_memory_equal(f->akid, "AKIA", 4);
    assert_string_equal(f->akid, tg_server_admin_access_key_id(f->srv));
    assert_int_equal(strlen(f->secret), 40);

    /* The secret is stored only sealed: it is nowhere in the database files. */
    const char *dbs[] = {"tegata.db", "tegata.db-wal"};
    bool akid_seen = false;
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/%s", f->dir, dbs[i]);
        char *bytes = read_all(path, &n);
        if (bytes == NULL) {
            continue;
        }
        assert_null(memmem(bytes, n, f->secret, strlen(f->secret)));
        akid_seen = akid_seen || memmem(bytes, n, f->akid, strlen(f->akid)) != NULL;
        free(bytes);
    }
    assert_true(akid_seen); /* the search itself works */
}

static void test_healthz(void **state)
{
    struct fx *f = *state;
    struct tg_request req = {tg_cur_str("GET"),
                             tg_cur_str("/healthz"),
                             tg_cur_str(""),
                             NULL,
                             0,
                             tg_cur_str(""),
                             NULL,
                             false};
    struct tg_response resp;
    tg_server_handle(f->srv, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, 3);
    assert_memory_equal(resp.body.ptr, "ok\n", 3);
    tg_response_free(&resp);
}

static void test_auth_errors(void **state)
{
    struct fx *f = *state;
    struct tg_response resp;
    const char *body = "Action=ListRoles&Version=2010-05-08";
    post(f, body, NULL, NULL, 0, "iam", &resp);
    assert_error(&resp, 403, "MissingAuthenticationToken");

    char wrong[64];
    snprintf(wrong, sizeof(wrong), "%s", f->secret);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    post(f, body, f->akid, wrong, tg_time_now(), "iam", &resp);
    assert_error(&resp, 403, "SignatureDoesNotMatch");

    post(f, body, "AKIAAAAAAAAAAAAAAAAA", f->secret, tg_time_now(), "iam", &resp);
    assert_error(&resp, 403, "InvalidClientTokenId");

    post(f, body, f->akid, f->secret, tg_time_now(), "sts", &resp);
    assert_error(&resp, 403, "SignatureDoesNotMatch");

    /* 20 minutes off: outside AWS's 15-minute window */
    post(f, body, f->akid, f->secret, tg_time_now() - 20 * 60, "iam", &resp);
    assert_error(&resp, 403, "SignatureDoesNotMatch");
    post(f, body, f->akid, f->secret, tg_time_now() + 20 * 60, "iam", &resp);
    assert_error(&resp, 403, "SignatureDoesNotMatch");

    /* a signed body that was changed after signing */
    struct signed_req sr;
    assert_int_equal(
        sign_post(&sr, "h", body, f->akid, f->secret, tg_time_now(), "us-east-1", "iam"), 0);
    struct tg_request req = {tg_cur_str("POST"),
                             tg_cur_str("/"),
                             tg_cur_str(""),
                             sr.headers,
                             sr.n_headers,
                             tg_cur_str("Action=ListRoles&Version=2010-05-09"),
                             NULL,
                             false};
    tg_server_handle(f->srv, &req, &resp);
    assert_int_equal(tg_buf_nul(&resp.body), 0);
    assert_error(&resp, 403, "SignatureDoesNotMatch");
}

static void test_dispatch_errors(void **state)
{
    struct fx *f = *state;
    struct tg_response resp;
    admin_post(f, "Version=2010-05-08", &resp);
    assert_error(&resp, 400, "MissingAction");
    admin_post(f, "Action=NoSuchThing&Version=2010-05-08", &resp);
    assert_error(&resp, 400, "InvalidAction");
    admin_post(f, "Action=ListRoles&Action=ListRoles", &resp);
    assert_error(&resp, 400, "ValidationError");
    admin_post(f, "Action=GetRole&RoleName=%zz", &resp);
    assert_error(&resp, 404, "MalformedQueryString");

    struct tg_request req = {
        tg_cur_str("PUT"), tg_cur_str("/"), tg_cur_str(""), NULL, 0, tg_cur_str(""), NULL, false};
    tg_server_handle(f->srv, &req, &resp);
    assert_int_equal(tg_buf_nul(&resp.body), 0);
    assert_error(&resp, 400, "InvalidAction");

    req.method = tg_cur_str("POST");
    req.body_too_large = true;
    tg_server_handle(f->srv, &req, &resp);
    assert_int_equal(tg_buf_nul(&resp.body), 0);
    assert_error(&resp, 413, "RequestEntityTooLarge");
}

/* GitHub with a sub condition: the identity-provider guard refuses one
 * without (spec 3.3). */
static const char trust[] =
    "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2"
    "C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Aoidc-provid"
    "er%2Ftoken.actions.githubusercontent.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithWeb"
    "Identity%22%2C%22Condition%22%3A%7B%22StringLike%22%3A%7B%22token.actions.githubuserconten"
    "t.com%3Asub%22%3A%22repo%3Aacme%2Fapp%3A%2A%22%7D%7D%7D%5D%7D";

static void test_write_then_reopen(void **state)
{
    struct fx *f = *state;
    struct tg_response resp;
    char body[1024];
    snprintf(body, sizeof(body),
             "Action=CreateRole&Version=2010-05-08&RoleName=deploy&AssumeRolePolicyDocument=%s",
             trust);
    assert_int_equal(admin_post(f, body, &resp), 200);
    assert_non_null(strstr((const char *)resp.body.ptr, "<CreateRoleResponse xmlns="));
    assert_non_null(strstr((const char *)resp.body.ptr, "<RoleName>deploy</RoleName>"));
    assert_non_null(strstr((const char *)resp.body.ptr, resp.request_id));
    tg_response_free(&resp);

    /* the snapshot was swapped: a read sees the write at once */
    assert_int_equal(admin_post(f, "Action=GetRole&RoleName=DEPLOY", &resp), 200);
    assert_non_null(strstr((const char *)resp.body.ptr, "<RoleName>deploy</RoleName>"));
    tg_response_free(&resp);
    assert_int_equal(admin_post(f, body, &resp), 409);
    assert_error(&resp, 409, "EntityAlreadyExists");

    /* restart: same account, same key, same role */
    char account[13], akid[32];
    snprintf(account, sizeof(account), "%s", tg_server_account_id(f->srv));
    snprintf(akid, sizeof(akid), "%s", f->akid);
    tg_server_close(f->srv);
    f->srv = NULL;
    assert_int_equal(open_server(f, NULL, NULL), 0);
    assert_string_equal(tg_server_account_id(f->srv), account);
    assert_string_equal(f->akid, akid);
    assert_int_equal(admin_post(f, "Action=GetRole&RoleName=deploy", &resp), 200);
    tg_response_free(&resp);

    /* a different --account-id than the stored one is refused */
    tg_server_close(f->srv);
    f->srv = NULL;
    const char *other = strcmp(account, "111111111111") == 0 ? "222222222222" : "111111111111";
    assert_int_equal(open_server(f, other, NULL), TG_E_INVALID_PARAMETER_VALUE);
    assert_int_equal(open_server(f, account, NULL), 0);
}

static void test_region_restriction(void **state)
{
    struct fx *f = *state;
    tg_server_close(f->srv);
    f->srv = NULL;
    assert_int_equal(open_server(f, NULL, "eu-west-1"), 0);
    struct tg_response resp;
    admin_post(f, "Action=ListRoles", &resp); /* signed for us-east-1 */
    assert_error(&resp, 403, "SignatureDoesNotMatch");
}

static void test_missing_master_key(void **state)
{
    struct fx *f = *state;
    tg_server_close(f->srv);
    f->srv = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%s/master.key", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(open_server(f, NULL, NULL), TG_E_SERVICE_FAILURE);
    /* a different key cannot open the sealed secret either */
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    uint8_t zero[32] = {0};
    assert_int_equal(write(fd, zero, sizeof(zero)), 32);
    close(fd);
    assert_int_equal(open_server(f, NULL, NULL), TG_E_SERVICE_FAILURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_then_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_restriction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_master_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
