"""`tegata policy check` and `tegata policy simulate` (issue 4, items 9 and
10), run as the built binary ($TEGATA_BIN).

check: the trust policies of the five seed articles (data/seed_trust/, one
file each, see its README.md) pass, the GitHub trust policy that checks only
`aud` fails with the identity-provider guard's error at the place of its
Federated principal. Expected places are computed here from the files' text.

simulate: a policy file with a claims file (allow, deny, the trace), a token
made by python3-jwt with --no-verify and verified against the test issuer's
JWKS, and a role of a data directory written by a real `tegata serve` through
boto3 (its trust policy, and with --action its inline and attached policies).
"""

import json
import pathlib
import re
import time

import pytest

import issuer as I
from conftest import GITHUB_HOST, GITHUB_THUMBPRINT, GITHUB_URL, INLINE_POLICY
from conftest import run_tegata as _run_tegata

SEEDS = pathlib.Path(__file__).resolve().parent / "data" / "seed_trust"
AUD_ONLY = "github_aud_only.json"
GUARD_MESSAGE = (
    "Trust policy with trusted principal arn:aws:iam::123456789012:oidc-provider/"
    "token.actions.githubusercontent.com must evaluate, using StringEquals, StringLike or "
    "StringEqualsIgnoreCase, token.actions.githubusercontent.com:sub which is not scoped to all."
)
FINDING_RE = re.compile(r"^(.+):(\d+):(\d+): (error|warning): (.*) \[([a-z-]+)\]$")
# The rules each seed file is expected to trigger (warnings only: they pass).
EXPECTED_WARNINGS = {
    "000_azure_devops.json": set(),
    "001_circleci.json": set(),
    "002_gitlab_self_managed.json": {"no-subject"},
    "003_github_terraform.json": {"github-immutable-sub"},
    "004_github_console.json": {"github-immutable-sub"},
}
ACS = "sts:AssumeRoleWithWebIdentity"


def run_tegata(*args, **kw):
    """The binary to completion; with a sanitizer build (TEGATA_SANITIZE) a
    report would otherwise pass for a denial's exit status 1."""
    r = _run_tegata(*args, **kw)
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r.stderr
    return r


def findings(stdout):
    """[(path, line, column, severity, message, rule)] of check's output."""
    out = []
    for line in stdout.splitlines():
        m = FINDING_RE.match(line)
        assert m, f"not a finding line: {line!r}"
        out.append((m[1], int(m[2]), int(m[3]), m[4], m[5], m[6]))
    return out


def column_of(text, needle):
    """1-based column of the first needle in a one-line document."""
    assert "\n" not in text.rstrip("\n"), "seed files are one line each"
    i = text.index(needle)
    return i + 1


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return str(p)


def github_trust(account="000000000000", sub="repo:octo-org/octo-repo:*", sid="GitHub"):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"},
                "Action": ACS,
                "Condition": {
                    "StringEquals": {f"{GITHUB_HOST}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{GITHUB_HOST}:sub": sub},
                },
            }
        ],
    }


def claims(repo="octo-org/octo-repo", **extra):
    c = I.github_claims(repo=repo)
    c["iss"] = GITHUB_URL
    c.update(extra)
    return c


# ---- check: the seed articles ---------------------------------------------------


def seed_files():
    files = sorted(SEEDS.glob("*.json"))
    assert len(files) == 6, files
    return files


def test_seed_files_are_one_line_json_and_documented():
    readme = (SEEDS / "README.md").read_text()
    for f in seed_files():
        text = f.read_text()
        assert text.endswith("\n") and text.count("\n") == 1, f
        doc = json.loads(text)  # comment-free JSON
        assert doc["Statement"][0]["Action"] == ACS
        assert f.name in readme, f"{f.name} is not described in README.md"
    for seed in ("000_181066e8ebff4461", "001_781bbe52010f3198", "002_5b46e5b5a605b76a",
                 "003_78a32b19efc1a918", "004_252a88da4323816b"):
        assert seed in readme


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_check_passes_the_seed_trust_policies(name):
    path = str(SEEDS / name)
    r = run_tegata("policy", "check", path)
    assert r.returncode == 0, r.stdout + r.stderr
    got = findings(r.stdout)
    assert all(sev == "warning" for _, _, _, sev, _, _ in got), got
    assert {rule for *_, rule in got} == EXPECTED_WARNINGS[name], got
    assert all(p == path for p, *_ in got)
    assert "1 file, 0 errors" in r.stderr


def test_check_points_the_warnings_at_the_sub_key():
    text = (SEEDS / "004_github_console.json").read_text()
    path = str(SEEDS / "004_github_console.json")
    r = run_tegata("policy", "check", path)
    (f,) = findings(r.stdout)
    col = column_of(text, f'"{GITHUB_HOST}:sub"')
    assert f[1:4] == (1, col, "warning"), f
    assert "repo:OWNER@OWNER_ID/REPO@REPO_ID:" in f[4]
    gitlab = SEEDS / "002_gitlab_self_managed.json"
    r = run_tegata("policy", "check", str(gitlab))
    (f,) = findings(r.stdout)
    assert f[2] == column_of(gitlab.read_text(), '"arn:aws:iam::123456789012:oidc-provider/your')
    assert f[4].startswith("no condition on your-gitlab.example.com:sub")


def test_check_refuses_the_aud_only_github_trust_policy():
    path = str(SEEDS / AUD_ONLY)
    text = (SEEDS / AUD_ONLY).read_text()
    r = run_tegata("policy", "check", path)
    assert r.returncode == 1, r.stdout + r.stderr
    col = column_of(text, f'"arn:aws:iam::123456789012:oidc-provider/{GITHUB_HOST}"')
    assert r.stdout == f"{path}:1:{col}: error: {GUARD_MESSAGE} [guard]\n"
    assert "1 file, 1 error, 0 warnings" in r.stderr


def test_check_all_seed_files_at_once():
    paths = [str(f) for f in seed_files()]
    r = run_tegata("policy", "check", *paths)
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [f for f in findings(r.stdout) if f[3] == "error"]
    assert [(pathlib.Path(p).name, rule) for p, _, _, _, _, rule in errors] == [
        (AUD_ONLY, "guard")
    ]
    assert "6 files, 1 error, 3 warnings" in r.stderr
    # --strict makes warnings fail too; the safe ones alone then fail
    safe = [p for p in paths if not p.endswith(AUD_ONLY) and "000_" not in p and "001_" not in p]
    assert run_tegata("policy", "check", *safe).returncode == 0
    assert run_tegata("policy", "check", "--strict", *safe).returncode == 1
    clean = [p for p in paths if "000_" in p or "001_" in p]
    assert run_tegata("policy", "check", "--strict", *clean).returncode == 0


def test_check_kinds_and_errors(tmp_path):
    seed = str(SEEDS / "000_azure_devops.json")
    # the same trust policy checked as an identity policy: IAM's refusal
    r = run_tegata("policy", "check", "--identity", seed)
    assert r.returncode == 1
    (f,) = findings(r.stdout)
    assert f[3:] == ("error", "MalformedPolicyDocument: Policy document should not specify a "
                     "principal.", "malformed")
    assert f[1:3] == (1, column_of(open(seed).read(), '"Principal"'))
    # duplicate keys: at the second occurrence
    dup = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":'
           f'"arn:aws:iam::123456789012:oidc-provider/{GITHUB_HOST}"}},"Action":"{ACS}",'
           f'"Condition":{{"StringLike":{{"{GITHUB_HOST}:sub":"repo:a/b:*"}},'
           f'"StringLike":{{"{GITHUB_HOST}:sub":"repo:*"}}}}}}]}}')
    p = write(tmp_path, "dup.json", dup)
    r = run_tegata("policy", "check", p)
    assert r.returncode == 1
    (f,) = findings(r.stdout)
    assert f[5] == "duplicate-key" and f[4].startswith('duplicate key "StringLike"'), f
    assert f[2] == dup.rindex('"StringLike"') + 1
    # a JSON syntax error, on line 3
    p = write(tmp_path, "syntax.json", '{\n "Version": "2012-10-17",\n "Statement": [}\n')
    r = run_tegata("policy", "check", p)
    assert r.returncode == 1
    (f,) = findings(r.stdout)
    assert f[1:4] == (3, 16, "error") and "JSON:" in f[4], f
    # too large for any policy
    big = tmp_path / "big.json"
    big.write_text(" " * (2 * 131072 + 1))
    r = run_tegata("policy", "check", str(big))
    assert r.returncode == 1 and ":1:1: error: larger than" in r.stdout, r.stdout


def test_check_usage():
    assert run_tegata("policy", "check").returncode == 2
    assert run_tegata("policy", "check", "--trust", "--identity", "x.json").returncode == 2
    assert run_tegata("policy", "check", "/nonexistent/policy.json").returncode == 2
    assert run_tegata("policy", "check", "--bogus", "x.json").returncode == 2
    h = run_tegata("policy", "--help")
    assert h.returncode == 0 and "tegata policy check" in h.stdout and "--claims" in h.stdout
    assert run_tegata("policy").returncode == 2
    assert run_tegata("policy", "frobnicate").returncode == 2
    top = run_tegata("--help")
    assert "policy" in top.stdout


# ---- simulate: a policy file --------------------------------------------------------


def test_simulate_policy_with_claims_allow_and_deny(tmp_path):
    pol = write(tmp_path, "trust.json", github_trust())
    ok = write(tmp_path, "ok.json", claims())
    r = run_tegata("policy", "simulate", "--policy", pol, "--claims", ok)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert (f"request: {ACS} by Federated arn:aws:iam::000000000000:oidc-provider/{GITHUB_HOST}"
            in out)
    assert 'statement 0 (Allow, Sid "GitHub", line 1 column ' in out
    assert (f'StringLike {GITHUB_HOST}:sub: compared request value '
            f'"repo:octo-org/octo-repo:ref:refs/heads/main" with policy value '
            f'"repo:octo-org/octo-repo:*": true') in out
    assert (f'StringEquals {GITHUB_HOST}:aud: compared request value "sts.amazonaws.com" with '
            f'policy value "sts.amazonaws.com": true') in out
    assert out.rstrip().endswith(f"allow: statement 0 of the trust policy {pol} allows {ACS}")

    bad = write(tmp_path, "bad.json", claims(repo="evil-org/octo-repo"))
    r = run_tegata("policy", "simulate", "--policy", pol, "--claims", bad)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "does not apply: a condition is false" in r.stdout
    assert '"repo:evil-org/octo-repo:ref:refs/heads/main" with policy value ' in r.stdout
    assert r.stdout.rstrip().endswith(f"deny: no statement allows {ACS} (implicit deny)")

    # another account in the policy: the principal differs unless --account says so
    pol2 = write(tmp_path, "trust2.json", github_trust(account="123456789012"))
    r = run_tegata("policy", "simulate", "--policy", pol2, "--claims", ok)
    assert r.returncode == 1 and "the principal does not match" in r.stdout
    assert "--account" in r.stdout
    r = run_tegata("policy", "simulate", "--policy", pol2, "--claims", ok,
                   "--account", "123456789012")
    assert r.returncode == 0, r.stdout


def test_simulate_claim_keys_like_the_server(tmp_path):
    # a claim beyond AWS's four (spec 3.1 "beyond AWS"), a number as text, an
    # explicit Deny, and --context for a key the claims do not give
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow",
             "Principal": {"Federated": f"arn:aws:iam::000000000000:oidc-provider/{GITHUB_HOST}"},
             "Action": ACS,
             "Condition": {"StringEquals": {f"{GITHUB_HOST}:repository_id": "74",
                                            f"{GITHUB_HOST}:run_attempt": "1",
                                            "sts:RoleSessionName": "deploy"}}},
            {"Sid": "NoForks", "Effect": "Deny",
             "Principal": {"Federated": f"arn:aws:iam::000000000000:oidc-provider/{GITHUB_HOST}"},
             "Action": ACS,
             "Condition": {"StringEquals": {f"{GITHUB_HOST}:event_name": "pull_request"}}},
        ],
    }
    pol = write(tmp_path, "p.json", doc)
    c = claims(run_attempt=1)  # an integer claim becomes "1"
    cf = write(tmp_path, "c.json", c)
    r = run_tegata("policy", "simulate", "--policy", pol, "--claims", cf,
                   "--context", "sts:RoleSessionName=deploy")
    assert r.returncode == 0, r.stdout
    assert f'{GITHUB_HOST}:run_attempt: compared request value "1"' in r.stdout
    assert "1 from --context" in r.stdout
    r = run_tegata("policy", "simulate", "--policy", pol, "--claims", cf)
    assert r.returncode == 1
    assert "sts:RoleSessionName: the request has no such key" in r.stdout
    assert "keys the policies test that the request does not have: sts:RoleSessionName" in r.stdout
    pr = write(tmp_path, "pr.json", claims(event_name="pull_request"))
    r = run_tegata("policy", "simulate", "--policy", pol, "--claims", pr,
                   "--context", "sts:RoleSessionName=deploy")
    assert r.returncode == 1
    assert 'statement 1 (Deny, Sid "NoForks"' in r.stdout and "applies, and denies" in r.stdout
    assert r.stdout.rstrip().endswith(
        f"deny: statement 1 of the trust policy {pol} denies {ACS} (explicit deny)")


def test_simulate_identity_policy_with_context(tmp_path):
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}}]}
    pol = write(tmp_path, "id.json", doc)
    base = ["policy", "simulate", "--policy", pol, "--action", "s3:GetObject",
            "--resource", "arn:aws:s3:::b/k"]
    r = run_tegata(*base, "--context", "aws:TagKeys=env", "--context", "aws:TagKeys=team")
    assert r.returncode == 0, r.stdout
    assert ('aws:TagKeys: compared request values "env", "team" with policy value "team": '
            "true") in r.stdout
    r = run_tegata(*base, "--context", "aws:TagKeys=env")
    assert r.returncode == 1 and "implicit deny" in r.stdout
    r = run_tegata("policy", "simulate", "--policy", pol, "--action", "s3:PutObject",
                   "--context", "aws:TagKeys=team")
    assert r.returncode == 1
    assert "the action does not match" in r.stdout and "names s3:getobject" in r.stdout


def test_simulate_token_no_verify(tmp_path):
    key = I.Key("RS256")
    token = key.sign(claims())  # python3-jwt
    pol = write(tmp_path, "trust.json", github_trust())
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", token, "--no-verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not verified (--no-verify)" in r.stdout
    assert token not in r.stdout + r.stderr
    assert token.split(".")[2] not in r.stdout + r.stderr
    tf = tmp_path / "token"
    tf.write_text(key.sign(claims(repo="other/repo")) + "\n")
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", f"@{tf}", "--no-verify")
    assert r.returncode == 1 and '"repo:other/repo:ref:refs/heads/main"' in r.stdout
    # without --no-verify the issuer's keys are needed: here there are none
    unreachable = key.sign(claims(iss="https://127.0.0.1:1/nowhere"))
    pol_u = github_trust()
    pol_u["Statement"][0]["Principal"]["Federated"] = (
        "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:1/nowhere")
    pu = write(tmp_path, "u.json", pol_u)
    r = run_tegata("policy", "simulate", "--policy", pu, "--token", unreachable, timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("deny: the issuer's keys: InvalidIdentityToken")
    # a token that is not a JWS at all
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", "abc", "--no-verify")
    assert r.returncode == 1 and "deny: the token: InvalidIdentityToken" in r.stdout


def test_simulate_token_verified_with_the_issuers_jwks(tmp_path, oidc_issuer):
    iss = oidc_issuer.add_issuer("/policy-sim", ("RS256",))
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::000000000000:oidc-provider/{iss.host_path}"},
        "Action": ACS,
        "Condition": {"StringEquals": {f"{iss.host_path}:aud": "sts.amazonaws.com",
                                       f"{iss.host_path}:sub": "repo:acme/app:ref:refs/heads/main"}}}]}
    pol = write(tmp_path, "t.json", doc)
    good = iss.mint(I.github_claims())
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", good,
                   "--ca-file", oidc_issuer.ca_file, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"token: signature verified with key {iss.key('RS256').kid} of {iss.url}" in r.stdout
    # signed by a key the issuer does not publish, with the same kid
    stranger = I.Key("RS256", kid=iss.key("RS256").kid)
    forged = stranger.sign({**I.github_claims(), "iss": iss.url})
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", forged,
                   "--ca-file", oidc_issuer.ca_file, timeout=30)
    assert r.returncode == 1
    assert "deny: the token: InvalidIdentityToken: Signature verification failed" in r.stdout
    expired = iss.mint(I.github_claims(now=time.time() - 7200))
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", expired,
                   "--ca-file", oidc_issuer.ca_file, timeout=30)
    assert r.returncode == 1 and "ExpiredTokenException: Token expired" in r.stdout
    # without the CA the issuer cannot be reached over TLS
    r = run_tegata("policy", "simulate", "--policy", pol, "--token", good, timeout=30)
    assert r.returncode == 1 and "deny: the issuer's keys" in r.stdout


def test_simulate_usage(tmp_path):
    pol = write(tmp_path, "trust.json", github_trust())
    idp = write(tmp_path, "id.json", INLINE_POLICY)
    cf = write(tmp_path, "c.json", claims())
    cases = [
        ["--claims", cf],                                         # no policy
        ["--policy", pol, "--role", "r", "--claims", cf],           # both
        ["--policy", pol],                                        # trust without claims
        ["--policy", pol, "--claims", cf, "--token", "x.y.z"],      # both
        ["--policy", pol, "--claims", cf, "--no-verify"],           # no token
        ["--policy", pol, "--claims", cf, "--action", "s3:GetObject"],
        ["--policy", idp],                                        # identity without --action
        ["--policy", idp, "--action", "s3:GetObject", "--context", "novalue"],
        ["--policy", idp, "--action", "s3GetObject"],
        ["--policy", pol, "--claims", cf, "--account", "12"],
        ["--policy", pol, "--claims", str(tmp_path / "missing.json")],
        ["--policy", pol, "--claims", write(tmp_path, "arr.json", "[1]")],
        ["--role", "r", "--claims", cf, "--data", str(tmp_path / "no-data")],
        ["--policy", pol, "--claims", cf, "extra"],
    ]
    for args in cases:
        r = run_tegata("policy", "simulate", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("tegata policy simulate: ") or "Usage:" in r.stderr, r.stderr


# ---- simulate: a role of the data directory ------------------------------------------


@pytest.fixture
def role_server(make_server):
    """A server with the GitHub provider, a role trusting octo-org/octo-repo,
    an inline policy (read the artifacts bucket) and an attached managed
    policy (deny deleting from it)."""
    srv = make_server()
    iam = srv.iam()
    iam.create_open_id_connect_provider(
        Url=GITHUB_URL, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[GITHUB_THUMBPRINT])
    role_arn = iam.create_role(
        RoleName="Deploy", AssumeRolePolicyDocument=json.dumps(github_trust(
            account=srv.account_id()))
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName="Deploy", PolicyName="read-artifacts",
                        PolicyDocument=json.dumps(INLINE_POLICY))
    deny = {"Version": "2012-10-17", "Statement": [
        {"Sid": "KeepArtifacts", "Effect": "Deny", "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::octo-artifacts/*"},
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="no-delete", PolicyDocument=json.dumps(deny))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="Deploy", PolicyArn=arn)
    srv.role_arn = role_arn
    srv.managed_arn = arn
    return srv


def test_simulate_role(tmp_path, role_server):
    data = str(role_server.data_dir)
    account = role_server.role_arn.split(":")[4]
    ok = write(tmp_path, "ok.json", claims())
    r = run_tegata("policy", "simulate", "--role", "deploy", "--data", data, "--claims", ok)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (f"request: {ACS} by Federated arn:aws:iam::{account}:oidc-provider/{GITHUB_HOST}"
            in r.stdout)
    assert "trust policy of role Deploy:" in r.stdout
    assert r.stdout.rstrip().endswith(
        f"allow: statement 0 of the trust policy of role Deploy allows {ACS}")
    # $TEGATA_DATA instead of --data
    import os
    env = dict(os.environ, TEGATA_DATA=data)
    bad = write(tmp_path, "bad.json", claims(repo="octo-org/other"))
    r = run_tegata("policy", "simulate", "--role", "Deploy", "--claims", bad, env=env)
    assert r.returncode == 1 and "implicit deny" in r.stdout, r.stdout + r.stderr
    # the provider's client id list decides the audience, as at the server
    aud = write(tmp_path, "aud.json", claims(aud="https://github.com/octo-org"))
    r = run_tegata("policy", "simulate", "--role", "Deploy", "--data", data, "--claims", aud)
    assert r.returncode == 1
    assert "deny: the claims: InvalidIdentityToken: Incorrect token audience" in r.stdout
    other = write(tmp_path, "other.json", claims(iss="https://gitlab.com"))
    r = run_tegata("policy", "simulate", "--role", "Deploy", "--data", data, "--claims", other)
    assert r.returncode == 1
    assert "No OpenIDConnect provider found in your account for https://gitlab.com" in r.stdout
    # permission policies: inline allows reading, the attached one denies deleting
    base = ["policy", "simulate", "--role", "Deploy", "--data", data, "--claims", ok]
    r = run_tegata(*base, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::octo-artifacts/x")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "inline policy read-artifacts:" in r.stdout
    assert f"attached policy {role_server.managed_arn}:" in r.stdout
    assert "allow: statement 0 of the inline policy read-artifacts allows s3:GetObject" in r.stdout
    r = run_tegata(*base, "--action", "s3:DeleteObject",
                   "--resource", "arn:aws:s3:::octo-artifacts/x")
    assert r.returncode == 1
    assert 'statement 0 (Deny, Sid "KeepArtifacts"): applies, and denies' in r.stdout
    assert r.stdout.rstrip().endswith(
        f"deny: statement 0 of the attached policy {role_server.managed_arn} denies "
        "s3:DeleteObject (explicit deny)")
    r = run_tegata(*base, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::octo-artifacts/x")
    assert r.returncode == 1 and "deny: no statement allows s3:PutObject" in r.stdout
    # a role that does not exist is a usage error
    r = run_tegata("policy", "simulate", "--role", "Nope", "--data", data, "--claims", ok)
    assert r.returncode == 2 and "no role named Nope" in r.stderr


def test_simulate_role_permissions_see_the_session_context(tmp_path, role_server):
    """--role with --action evaluates with the context of a call made with the
    role's temporary credentials, built by the server's function: the role's
    tags, principal keys, aws:userid (ROLEID:SESSION) and the token's aud
    and sub."""
    data = str(role_server.data_dir)
    iam = role_server.iam()
    iam.tag_role(RoleName="Deploy", Tags=[{"Key": "team", "Value": "platform"}])
    role_id = iam.get_role(RoleName="Deploy")["Role"]["RoleId"]
    pol = {"Version": "2012-10-17", "Statement": [
        {"Sid": "TeamReads", "Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
         "Condition": {
             "StringEquals": {"aws:PrincipalTag/team": "platform",
                              "aws:PrincipalType": "AssumedRole",
                              f"{GITHUB_HOST}:aud": "sts.amazonaws.com"},
             "StringLike": {f"{GITHUB_HOST}:sub": "repo:octo-org/*"}}},
        {"Sid": "OwnPrefix", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::octo-artifacts/${aws:userid}/*"}]}
    iam.put_role_policy(RoleName="Deploy", PolicyName="session-keys",
                        PolicyDocument=json.dumps(pol))
    ok = write(tmp_path, "ok.json", claims())
    base = ["policy", "simulate", "--role", "Deploy", "--data", data, "--claims", ok]
    r = run_tegata(*base, "--action", "iam:GetRole")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "of a session of role Deploy for the claims" in r.stdout
    assert "allow: statement 0 of the inline policy session-keys allows iam:GetRole" in r.stdout
    # --context replaces a key of the session
    r = run_tegata(*base, "--action", "iam:GetRole", "--context", "aws:PrincipalTag/team=other")
    assert r.returncode == 1 and "deny: no statement allows iam:GetRole" in r.stdout, r.stdout
    # without claims the session has no sub: the condition is false
    r = run_tegata("policy", "simulate", "--role", "Deploy", "--data", data,
                   "--action", "iam:GetRole")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "without claims" in r.stdout
    # aws:userid is ROLEID:SESSION, the session name from sts:RoleSessionName
    res = f"arn:aws:s3:::octo-artifacts/{role_id}:ci-7/build.zip"
    r = run_tegata(*base, "--action", "s3:PutObject", "--resource", res,
                   "--context", "sts:RoleSessionName=ci-7")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_tegata(*base, "--action", "s3:PutObject", "--resource", res)
    assert r.returncode == 1, r.stdout + r.stderr  # the session is named "simulate"
    r = run_tegata(*base, "--action", "s3:PutObject",
                   "--resource", f"arn:aws:s3:::octo-artifacts/{role_id}:simulate/x")
    assert r.returncode == 0, r.stdout + r.stderr
