/* cli: tegata serve. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "http/http.h"
#include "server/server.h"

#define DRAIN_TIMEOUT_MS 30000 /* how long SIGTERM waits for requests in flight */

static const char serve_usage[] =
    "Usage: tegata serve [options]\n"
    "\n"
    "Runs the tegata server: STS (AssumeRoleWithWebIdentity, GetCallerIdentity) and\n"
    "the IAM API for OIDC providers, roles and policies, SigV4-signed by the\n"
    "administrator key. On first start it creates the data\n"
    "directory, a SQLite database, a master key and an administrator key written\n"
    "to DIR/admin.credentials (an AWS shared-credentials file).\n"
    "\n"
    "Options:\n"
    "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080;\n"
    "                         [::1]:8080 for IPv6; port 0 picks a free port)\n"
    "  --data DIR             data directory (default $TEGATA_DATA, else ./var)\n"
    "  --account-id ID        12-digit account id; generated on first start and\n"
    "                         kept when not given\n"
    "  --region REGION        accept only requests signed for REGION (default: any)\n"
    "  --dev                  UNSAFE, for laptops and tests: allow http:// provider\n"
    "                         URLs and ports on loopback hosts\n"
    "  --trust-policy-max N   trust policy size quota (ACLSizePerRole), 2048..4096\n"
    "                         (default 2048)\n"
    "  --threads N            worker threads (default: the number of cores)\n"
    "  --ca-file PEM          extra CA certificates for fetching OIDC discovery\n"
    "                         documents and JWKS (default: the system CAs only)\n"
    "  --audit-file PATH      audit log, one JSON event per line (default DIR/audit.log)\n"
    "  -h, --help             show this help\n"
    "\n"
    "SIGTERM or SIGINT stops accepting connections, lets requests in flight\n"
    "finish, and exits 0. Details: docs/serve.md\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tegata serve: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'tegata serve --help'.\n");
    return 2;
}

static bool parse_uint(const char *s, long max, long *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 9) {
        return false;
    }
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = v * 10 + (*p - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* "ADDR:PORT", "[v6]:PORT" */
static bool parse_listen(const char *s, char *addr, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    long p = 0;
    if (colon == NULL || colon == s || !parse_uint(colon + 1, 65535, &p)) {
        return false;
    }
    size_t n = (size_t)(colon - s);
    if (n >= cap) {
        return false;
    }
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (addr[0] != '[' && strchr(addr, ':') != NULL) {
        return false; /* IPv6 needs brackets */
    }
    *port = (uint16_t)p;
    return true;
}

int tg_cli_serve(int argc, char **argv)
{
    enum {
        OPT_LISTEN = 1,
        OPT_DATA,
        OPT_ACCOUNT,
        OPT_REGION,
        OPT_DEV,
        OPT_TRUST,
        OPT_THREADS,
        OPT_CA_FILE,
        OPT_AUDIT_FILE
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"data", required_argument, NULL, OPT_DATA},
        {"account-id", required_argument, NULL, OPT_ACCOUNT},
        {"region", required_argument, NULL, OPT_REGION},
        {"dev", no_argument, NULL, OPT_DEV},
        {"trust-policy-max", required_argument, NULL, OPT_TRUST},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"audit-file", required_argument, NULL, OPT_AUDIT_FILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char addr[128] = "127.0.0.1";
    uint16_t port = 8080;
    const char *env_data = getenv("TEGATA_DATA");
    struct tg_server_config cfg = {
        .data_dir = (env_data && *env_data) ? env_data : "./var",
        .trust_policy_max = TG_POLICY_TRUST_SIZE_DEFAULT,
    };
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    long v;
    int c;
    optind = 0; /* GNU getopt: 0 re-initialises, for callers that parse twice */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (!parse_listen(optarg, addr, sizeof(addr), &port)) {
                return usage_error("--listen wants ADDR:PORT, not '%s'", optarg);
            }
            break;
        case OPT_DATA:
            if (*optarg == '\0') {
                return usage_error("--data wants a directory%s", "");
            }
            cfg.data_dir = optarg;
            break;
        case OPT_ACCOUNT:
            if (strlen(optarg) != 12 || strspn(optarg, "0123456789") != 12) {
                return usage_error("--account-id wants exactly 12 digits, not '%s'", optarg);
            }
            cfg.account_id = optarg;
            break;
        case OPT_REGION:
            if (*optarg == '\0' || strlen(optarg) > 32 ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(optarg)) {
                return usage_error("--region wants a region name like us-east-1, not '%s'", optarg);
            }
            cfg.region = optarg;
            break;
        case OPT_DEV:
            cfg.dev = true;
            break;
        case OPT_TRUST:
            if (!parse_uint(optarg, TG_POLICY_TRUST_SIZE_MAX, &v) ||
                v < TG_POLICY_TRUST_SIZE_DEFAULT) {
                return usage_error("--trust-policy-max wants 2048..4096, not '%s'", optarg);
            }
            cfg.trust_policy_max = (size_t)v;
            break;
        case OPT_THREADS:
            if (!parse_uint(optarg, 256, &v) || v < 1) {
                return usage_error("--threads wants 1..256, not '%s'", optarg);
            }
            threads = v;
            break;
        case OPT_CA_FILE:
            if (access(optarg, R_OK) != 0) {
                return usage_error("--ca-file: cannot read '%s'", optarg);
            }
            cfg.ca_file = optarg;
            break;
        case OPT_AUDIT_FILE:
            if (*optarg == '\0') {
                return usage_error("--audit-file wants a path%s", "");
            }
            cfg.audit_file = optarg;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 0;
        default:
            fputs(serve_usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (threads < 1) {
        threads = 1;
    }

    /* Signals: the worker threads inherit this mask, so only the main
     * thread's sigwait sees SIGTERM/SIGINT. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct tg_error err;
    tg_error_clear(&err);
    struct tg_server *srv = NULL;
    if (tg_server_open(&cfg, &srv, &err) < 0) {
        fprintf(stderr, "tegata serve: %s%s%s\n", err.message, err.detail[0] ? ": " : "",
                err.detail);
        return err.code == TG_E_INVALID_PARAMETER_VALUE ? 2 : 1;
    }
    if (cfg.dev) {
        tg_server_log("warning: --dev is on: http:// provider URLs on loopback hosts are "
                      "accepted; never use it in production");
    }
    struct tg_http *http = NULL;
    if (tg_http_start(srv, addr, port, (unsigned)threads, &http, &err) < 0) {
        fprintf(stderr, "tegata serve: %s\n", err.message);
        tg_server_close(srv);
        return 1;
    }
    const char *host = addr;
    tg_server_log("listening on http://%s:%u (account %s, data %s, %ld threads)", host,
                  (unsigned)tg_http_port(http), tg_server_account_id(srv), cfg.data_dir, threads);

    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    tg_server_log("received %s: draining requests in flight",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT");
    unsigned left = tg_http_stop(http, DRAIN_TIMEOUT_MS);
    if (left > 0) {
        tg_server_log("warning: %u requests were still running after %d ms", left,
                      DRAIN_TIMEOUT_MS);
    }
    tg_server_close(srv);
    tg_server_log("stopped");
    return 0;
}
