/* cli: tegata keys. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

static const char keys_usage[] =
    "Usage: tegata keys rotate [--data DIR]\n"
    "\n"
    "Adds a new AES-256-GCM session sealing key to the key ring of the data\n"
    "directory and makes it the current one. Session tokens sealed by older keys\n"
    "keep working until they expire (at most 12 hours); keys no session can still\n"
    "use are pruned at the next rotation. A running server picks the new key up\n"
    "within about a second; run this on one node only.\n"
    "\n"
    "Options:\n"
    "  --data DIR   data directory (default $TEGATA_DATA, else ./var)\n"
    "  -h, --help   show this help\n"
    "\n"
    "Details: docs/keys.md\n";

int tg_cli_keys(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2) {
        fputs(keys_usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(keys_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "rotate") != 0) {
        fprintf(stderr, "tegata keys: unknown subcommand '%s'\n\n%s", argv[1], keys_usage);
        return 2;
    }
    const char *env_data = getenv("TEGATA_DATA");
    const char *data = (env_data && *env_data) ? env_data : "./var";
    int c;
    optind = 0; /* GNU getopt: re-initialise */
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'h':
            fputs(keys_usage, stdout);
            return 0;
        default:
            fputs(keys_usage, stderr);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "tegata keys rotate: unexpected argument '%s'\n", argv[optind + 1]);
        return 2;
    }
    struct tg_error err;
    tg_error_clear(&err);
    char id[32];
    if (tg_server_keys_rotate(data, id, sizeof(id), &err) < 0) {
        fprintf(stderr, "tegata keys rotate: %s%s%s\n", err.message, err.detail[0] ? ": " : "",
                err.detail);
        return err.code == TG_E_INVALID_PARAMETER_VALUE ? 2 : 1;
    }
    printf("rotated: the current session key is now %s\n", id);
    return 0;
}
