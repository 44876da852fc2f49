/* cli: the top-level command. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: tegata <command> [options]\n"
    "\n"
    "tegata is a self-hosted, AWS-STS-compatible workload identity federation\n"
    "server: CI jobs trade their OIDC ID tokens for short-lived credentials.\n"
    "\n"
    "Commands:\n"
    "  serve      run the server (STS and IAM Query APIs); see 'tegata serve --help'\n"
    "  keys       manage the session key ring; see 'tegata keys --help'\n"
    "  policy     check and simulate IAM policies; see 'tegata policy --help'\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  -V, --version  show the version\n"
    "\n"
    "Documentation: docs/index.md\n";

int tg_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tegata %s\n", TEGATA_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        return tg_cli_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "keys") == 0) {
        return tg_cli_keys(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "policy") == 0) {
        return tg_cli_policy(argc - 1, argv + 1);
    }
    fprintf(stderr, "tegata: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
