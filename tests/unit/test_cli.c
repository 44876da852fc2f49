/* Unit tests of the command line: help, version, and usage errors (exit 2)
 * that must be caught before anything is created on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int run(int argc, const char **argv)
{
    return tg_cli_main(argc, (char **)argv);
}

static void test_help_and_version(void **state)
{
    (void)state;
    const char *help[] = {"tegata", "--help"};
    assert_int_equal(run(2, help), 0);
    const char *version[] = {"tegata", "--version"};
    assert_int_equal(run(2, version), 0);
    const char *serve_help[] = {"tegata", "serve", "--help"};
    assert_int_equal(run(3, serve_help), 0);
    const char *none[] = {"tegata"};
    assert_int_equal(run(1, none), 2);
    const char *unknown[] = {"tegata", "frobnicate"};
    assert_int_equal(run(2, unknown), 2);
}

static void test_serve_usage_errors(void **state)
{
    (void)state;
    const char *dir = "/tmp/tg-cli-test-never-created";
    const char *cases[][4] = {
        {"serve", "--listen", "127.0.0.1", NULL},       /* no port */
        {"serve", "--listen", "127.0.0.1:99999", NULL}, /* port out of range */
        {"serve", "--listen", "::1:8080", NULL},        /* IPv6 without brackets */
        {"serve", "--account-id", "12345", NULL},
        {"serve", "--account-id", "12345678901a", NULL},
        {"serve", "--region", "US_EAST", NULL},
        {"serve", "--trust-policy-max", "1000", NULL},
        {"serve", "--trust-policy-max", "5000", NULL},
        {"serve", "--threads", "0", NULL},
        {"serve", "--no-such-option", NULL, NULL},
        {"serve", "extra-argument", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[8] = {"tegata", "serve", "--data", dir};
        int argc = 4;
        for (int j = 1; j < 4 && cases[i][j] != NULL; j++) {
            argv[argc++] = cases[i][j];
        }
        if (run(argc, argv) != 2) {
            fail_msg("case %zu (%s %s) did not exit 2", i, cases[i][1], cases[i][2]);
        }
    }
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0);
}

/* ---- tegata policy ----------------------------------------------------------- */

#define GH "token.actions.githubusercontent.com"
#define TRUST_AUD_ONLY                                                                             \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"              \
    "{\"Federated\":\"arn:aws:iam::000000000000:oidc-provider/" GH "\"},"                          \
    "\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{\"StringEquals\":"                \
    "{\"" GH ":aud\":\"sts.amazonaws.com\"%s}}}]}\n"

/* A temporary file holding text; its path in path (64 bytes). */
static void temp_file(char *path, const char *text)
{
    snprintf(path, 64, "/tmp/tg-cli-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void test_policy_dispatch(void **state)
{
    (void)state;
    const char *help[] = {"tegata", "policy", "--help"};
    assert_int_equal(run(3, help), 0);
    const char *check_help[] = {"tegata", "policy", "check", "--help"};
    assert_int_equal(run(4, check_help), 0);
    const char *none[] = {"tegata", "policy"};
    assert_int_equal(run(2, none), 2);
    const char *unknown[] = {"tegata", "policy", "lint"};
    assert_int_equal(run(3, unknown), 2);
}

static void test_policy_check(void **state)
{
    (void)state;
    char bad[64], good[64], doc[1024];
    snprintf(doc, sizeof(doc), TRUST_AUD_ONLY, "");
    temp_file(bad, doc);
    snprintf(doc, sizeof(doc), TRUST_AUD_ONLY,
             ",\"" GH ":sub\":\"repo:octo-org/octo-repo:ref:refs/heads/main\","
             "\"" GH ":repository_id\":\"74\"");
    temp_file(good, doc);
    const char *fails[] = {"tegata", "policy", "check", bad};
    assert_int_equal(run(4, fails), 1);
    const char *passes[] = {"tegata", "policy", "check", good};
    assert_int_equal(run(4, passes), 0);
    /* good has a warning (the old GitHub subject format): --strict fails */
    const char *strict[] = {"tegata", "policy", "check", "--strict", good};
    assert_int_equal(run(5, strict), 1);
    /* as an identity policy it has a Principal: refused */
    const char *identity[] = {"tegata", "policy", "check", "--identity", good};
    assert_int_equal(run(5, identity), 1);
    const char *both[] = {"tegata", "policy", "check", "--trust", "--identity", good};
    assert_int_equal(run(6, both), 2);
    const char *nofile[] = {"tegata", "policy", "check"};
    assert_int_equal(run(3, nofile), 2);
    const char *missing[] = {"tegata", "policy", "check", "/tmp/tg-cli-test-no-such-file"};
    assert_int_equal(run(4, missing), 2);
    unlink(bad);
    unlink(good);
}

static void test_policy_simulate(void **state)
{
    (void)state;
    char pol[64], ok[64], other[64], doc[1024];
    snprintf(doc, sizeof(doc), TRUST_AUD_ONLY, ",\"" GH ":sub\":\"repo:o/r:ref:refs/heads/main\"");
    temp_file(pol, doc);
    temp_file(ok, "{\"iss\":\"https://" GH "\",\"aud\":\"sts.amazonaws.com\","
                  "\"sub\":\"repo:o/r:ref:refs/heads/main\"}");
    temp_file(other, "{\"iss\":\"https://" GH "\",\"aud\":\"sts.amazonaws.com\","
                     "\"sub\":\"repo:o/x:ref:refs/heads/main\"}");
    const char *allow[] = {"tegata", "policy", "simulate", "--policy", pol, "--claims", ok};
    assert_int_equal(run(7, allow), 0);
    const char *deny[] = {"tegata", "policy", "simulate", "--policy", pol, "--claims", other};
    assert_int_equal(run(7, deny), 1);
    /* another account than the policy's: the principal does not match */
    const char *acct[] = {"tegata",   "policy", "simulate",  "--policy",    pol,
                          "--claims", ok,       "--account", "111111111111"};
    assert_int_equal(run(9, acct), 1);
    /* usage errors, before anything is read or created */
    const char *dir = "/tmp/tg-cli-test-never-created";
    const char *cases[][6] = {
        {"--claims", ok, NULL},
        {"--policy", pol, NULL},
        {"--policy", pol, "--role", "r", "--claims", ok},
        {"--policy", pol, "--claims", ok, "--no-verify", NULL},
        {"--policy", pol, "--claims", ok, "--action", "s3:GetObject"},
        {"--policy", pol, "--claims", ok, "--context", "nokey"},
        {"--role", "r", "--claims", ok, "--data", dir},
        {"--policy", pol, "--claims", ok, "--bogus", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[10] = {"tegata", "policy", "simulate"};
        int argc = 3;
        for (int j = 0; j < 6 && cases[i][j] != NULL; j++) {
            argv[argc++] = cases[i][j];
        }
        if (run(argc, argv) != 2) {
            fail_msg("simulate case %zu (%s %s) did not exit 2", i, cases[i][0], cases[i][2]);
        }
    }
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0);
    unlink(pol);
    unlink(ok);
    unlink(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version), cmocka_unit_test(test_serve_usage_errors),
        cmocka_unit_test(test_policy_dispatch),  cmocka_unit_test(test_policy_check),
        cmocka_unit_test(test_policy_simulate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
