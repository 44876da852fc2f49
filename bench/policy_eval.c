/*
 * bench/policy_eval: policy evaluations per second on one core (issue 4):
 *  - a typical GitHub Actions trust policy (aud and a StringLike on sub),
 *    evaluated against the request context the server builds for a GitHub
 *    token (every claim as a <provider>:<claim> key, sts:RoleSessionName,
 *    aws:FederatedProvider);
 *  - a 20-statement permission policy with wildcards in actions and
 *    resources and conditions of several families, for a request that only
 *    the last statements decide;
 * and, as a baseline measured in the same run, HMAC-SHA256 of 64 bytes per
 * second (OpenSSL), so that runs on busy or different machines compare by
 * their ratio. Prints one line per measurement; --json adds a JSON line.
 *
 * Run by hand, on a Release or RelWithDebInfo build:
 *   build/bench_policy_eval [--seconds S] [--json]
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define GH "token.actions.githubusercontent.com"
#define PROVIDER "arn:aws:iam::123456789012:oidc-provider/" GH

static const char trust_doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                                "\"Principal\":{\"Federated\":\"" PROVIDER "\"},"
                                "\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{"
                                "\"StringEquals\":{\"" GH ":aud\":\"sts.amazonaws.com\"},"
                                "\"StringLike\":{\"" GH ":sub\":\"repo:octo-org/octo-repo:*\"}}}]}";

/* The claims of a GitHub Actions token (spec ci-tokens.md), as the server
 * puts them in the context. */
static const char *const gh_claims[][2] = {
    {GH ":jti", "9d9a3f4e-2b1c-4f7e-8a55-1f2e3d4c5b6a"},
    {GH ":sub", "repo:octo-org/octo-repo:ref:refs/heads/main"},
    {GH ":aud", "sts.amazonaws.com"},
    {GH ":ref", "refs/heads/main"},
    {GH ":sha", "5324d6edc3cd4edc6ae44251ec13884b1e7d4242"},
    {GH ":repository", "octo-org/octo-repo"},
    {GH ":repository_owner", "octo-org"},
    {GH ":repository_owner_id", "65"},
    {GH ":repository_visibility", "private"},
    {GH ":repository_id", "74"},
    {GH ":actor_id", "12"},
    {GH ":actor", "octocat"},
    {GH ":run_id", "5234567890"},
    {GH ":run_number", "10"},
    {GH ":run_attempt", "1"},
    {GH ":runner_environment", "github-hosted"},
    {GH ":workflow", "deploy"},
    {GH ":workflow_ref", "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"},
    {GH ":job_workflow_ref", "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"},
    {GH ":head_ref", ""},
    {GH ":base_ref", ""},
    {GH ":event_name", "push"},
    {GH ":ref_type", "branch"},
    {GH ":iat", "1796358770"},
    {GH ":exp", "1796359070"},
    {GH ":nbf", "1796358170"},
    {GH ":iss", "https://" GH},
    {"sts:RoleSessionName", "GitHubActions"},
    {"aws:FederatedProvider", PROVIDER},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct tg_policy *compile(const char *doc, enum tg_policy_kind kind)
{
    struct tg_policy *p = NULL;
    struct tg_error err;
    memset(&err, 0, sizeof(err));
    if (tg_policy_parse((const uint8_t *)doc, strlen(doc), kind, &p, &err) != 0) {
        fprintf(stderr, "bench: policy does not compile: %s (%s)\n", err.message, err.detail);
        exit(1);
    }
    return p;
}

/* Evaluations per second of p for req over about `seconds`; checks the
 * decision every time. */
static double eval_rate(const struct tg_policy *p, const struct tg_policy_request *req,
                        enum tg_policy_decision want, double seconds)
{
    long n = 0;
    double t0 = now(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 10000; i++) {
            if (tg_policy_evaluate(p, req, NULL) != want) {
                fprintf(stderr, "bench: unexpected decision\n");
                exit(1);
            }
        }
        n += 10000;
        t = now();
    }
    return (double)n / (t - t0);
}

static double hmac_rate(double seconds)
{
    static const uint8_t key[32] = {1, 2, 3};
    uint8_t msg[64] = {4, 5, 6}, mac[32];
    unsigned len = 0;
    long n = 0;
    double t0 = now(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 10000; i++) {
            if (HMAC(EVP_sha256(), key, sizeof(key), msg, sizeof(msg), mac, &len) == NULL) {
                exit(1);
            }
            msg[0] = mac[0];
        }
        n += 10000;
        t = now();
    }
    return (double)n / (t - t0);
}

/* 20 statements: 18 that this request's action or resource does not
 * match, or whose conditions fail, then the Deny and the Allow that decide. */
static char *permission_doc(void)
{
    static const char *const actions[] = {"ec2:Describe*",
                                          "dynamodb:Get*",
                                          "dynamodb:Query",
                                          "sqs:Send*",
                                          "sns:Publish",
                                          "kms:Decrypt",
                                          "logs:Put*",
                                          "ecr:Batch*",
                                          "ecr:Get*",
                                          "lambda:Invoke*",
                                          "cloudwatch:Put*",
                                          "ssm:GetParam*",
                                          "secretsmanager:GetSecretValue",
                                          "sts:Tag*",
                                          "s3:PutObject*",
                                          "s3:Delete*",
                                          "s3:GetObject",
                                          "s3:List*"};
    size_t cap = 16384, len = 0;
    char *doc = malloc(cap);
    if (doc == NULL) {
        exit(1);
    }
    len += (size_t)snprintf(doc + len, cap - len, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        /* Statement 16 ("s3:GetObject") has the right action but its
         * condition fails; 17 lists the bucket only. */
        len += (size_t)snprintf(
            doc + len, cap - len,
            "{\"Sid\":\"S%zu\",\"Effect\":\"Allow\",\"Action\":\"%s\","
            "\"Resource\":[\"arn:aws:*:us-east-1:123456789012:*\",\"arn:aws:s3:::octo-%zu/*\"],"
            "\"Condition\":{\"StringEquals\":{\"aws:PrincipalTag/team\":\"team-%zu\"},"
            "\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"192.0.2.0/24\"]}}},",
            i, actions[i], i, i);
    }
    len += (size_t)snprintf(
        doc + len, cap - len,
        "{\"Sid\":\"NoUnencrypted\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}},"
        "{\"Sid\":\"Artifacts\",\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\",\"s3:List*\"],"
        "\"Resource\":[\"arn:aws:s3:::octo-artifacts\",\"arn:aws:s3:::octo-artifacts/*\"],"
        "\"Condition\":{\"StringLike\":{\"aws:PrincipalTag/team\":\"plat*\"},"
        "\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"},"
        "\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"build\",\"release\"]}}}]}");
    return doc;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (seconds <= 0) {
        seconds = 2.0;
    }

    struct tg_policy *trust = compile(trust_doc, TG_POLICY_TRUST);
    size_t n_claims = sizeof(gh_claims) / sizeof(gh_claims[0]);
    struct tg_policy_ctx_entry ctx[sizeof(gh_claims) / sizeof(gh_claims[0])];
    for (size_t i = 0; i < n_claims; i++) {
        ctx[i].key = gh_claims[i][0];
        ctx[i].values = &gh_claims[i][1];
        ctx[i].n_values = 1;
    }
    struct tg_policy_request treq = {
        "sts:AssumeRoleWithWebIdentity", NULL, "Federated", PROVIDER, ctx, n_claims};

    char *pdoc = permission_doc();
    struct tg_policy *perm = compile(pdoc, TG_POLICY_IDENTITY);
    static const char *const team[] = {"platform"};
    static const char *const ip[] = {"10.1.2.3"};
    static const char *const secure[] = {"true"};
    static const char *const when[] = {"2026-12-04T00:00:00Z"};
    static const char *const tags[] = {"owner", "release"};
    struct tg_policy_ctx_entry pctx[] = {
        {"aws:PrincipalTag/team", team, 1}, {"aws:SourceIp", ip, 1},
        {"aws:SecureTransport", secure, 1}, {"aws:CurrentTime", when, 1},
        {"aws:TagKeys", tags, 2},
    };
    struct tg_policy_request preq = {"s3:GetObject", "arn:aws:s3:::octo-artifacts/build/app.tar",
                                     NULL,           NULL,
                                     pctx,           sizeof(pctx) / sizeof(pctx[0])};

    double hmac = hmac_rate(seconds);
    double t_rate = eval_rate(trust, &treq, TG_POLICY_ALLOW, seconds);
    double p_rate = eval_rate(perm, &preq, TG_POLICY_ALLOW, seconds);
    printf("baseline HMAC-SHA256 (64 bytes): %.0f/s\n", hmac);
    printf("GitHub trust policy (%zu context keys): %.0f evaluations/s (%.3f x the baseline; goal: "
           "1,000,000/s)\n",
           n_claims, t_rate, t_rate / hmac);
    printf("20-statement permission policy: %.0f evaluations/s (%.3f x the baseline)\n", p_rate,
           p_rate / hmac);
    if (json) {
        printf("{\"hmac_per_s\":%.0f,\"trust_per_s\":%.0f,\"permission_per_s\":%.0f}\n", hmac,
               t_rate, p_rate);
    }
    tg_policy_free(trust);
    tg_policy_free(perm);
    free(pdoc);
    return 0;
}
