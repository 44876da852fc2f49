/* Unit tests of the command line: help, version, and usage errors (exit 2)
 * that must be caught before anything is created on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_serve_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
