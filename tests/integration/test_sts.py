"""AssumeRoleWithWebIdentity, temporary credentials and GetCallerIdentity
(issue 3) against the real server, with boto3 and the AWS CLI.

Tokens come from tests/integration/issuer.py: an HTTPS issuer on loopback
whose CA the server trusts through --ca-file, signing with Debian's
python3-jwt, never with tegata's own code. Every token, secret and session
token the module handles is recorded; the last test reads the audit file and
the server log and checks that none of them appears there, and that each
denial left its decision trace.

Times: the server allows 5 minutes of clock skew (spec 2 step 7), so the
"expired" and "not yet valid" tokens are an hour off.
"""

import concurrent.futures
import datetime
import itertools
import json
import os
import re
import subprocess
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest

import issuer as I
from conftest import (
    AWS_CLI,
    REPO,
    STS_NS,
    UUID_RE,
    aws_cli_env,
    cli_error_code,
    create_role,
    register_provider,
    run_tegata,
    sts_client,
    tegata_bin,
    web_identity_trust,
)

AWS_AUD = "sts.amazonaws.com"
ACCESS_KEY_RE = re.compile(r"ASIA[A-Z2-7]{16}")
SECRET_RE = re.compile(r"[A-Za-z0-9+/]{40}")
EXPIRATION_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ROLE_ID_RE = r"AROA[A-Z2-7]{17}"
ACCESS_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
NO_KEY = ("Couldn't retrieve verification key from your identity provider,  please reference "
          "AssumeRoleWithWebIdentity documentation for requirements")
HOUR = 3600


class Ledger:
    """What the module exchanged: secrets that must never be logged, and the
    denials whose decision trace the audit file must hold."""

    def __init__(self):
        self.secrets = []  # (what, value)
        self.denials = []  # (session name, error code, must-contain strings)
        self.successes = []  # (session name, access key id)

    def secret(self, what, value):
        if value:
            self.secrets.append((what, value))


class World:
    """The module's server, issuer, account and helpers."""

    _seq = itertools.count(1)

    def __init__(self, server, oidc):
        self.server = server
        self.oidc = oidc
        self.account = server.account_id()
        self.sts = sts_client(server)
        self.ledger = Ledger()
        self.early = {}

    def warm(self, paths):
        """Issuers (and a role each) whose key set is fetched now: the
        server refetches on an unknown kid at most once per 30 s per issuer
        (TG_OIDC_REFETCH_INTERVAL), counting the first fetch, so the tests
        that need a refetch run best half a minute after this."""
        for path in paths:
            iss, role = _issuer_role(self, path)
            self.assume(role, iss.mint(I.github_claims()))
            self.early[path] = (iss, role)

    def session_name(self, label="s"):
        # [\w+=,.@-]{2,64}, unique in the module so the audit events can be
        # matched to the calls.
        return f"{label[:40]}.{next(self._seq)}.{uuid.uuid4().hex[:6]}"

    def role_arn(self, name):
        return f"arn:aws:iam::{self.account}:role/{name}"

    def assume(self, role_arn, token, session=None, duration=None, client=None):
        """A successful AssumeRoleWithWebIdentity through boto3; returns the
        response dict and records its secrets."""
        session = session or self.session_name()
        self.ledger.secret("web identity token", token)
        kw = {"DurationSeconds": duration} if duration else {}
        try:
            r = (client or self.sts).assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=session, WebIdentityToken=token, **kw)
        except botocore.exceptions.ClientError as e:
            raise AssertionError(f"AssumeRoleWithWebIdentity failed: {e.response['Error']}") from e
        c = r["Credentials"]
        self.ledger.secret("secret access key", c["SecretAccessKey"])
        self.ledger.secret("session token", c["SessionToken"])
        self.ledger.successes.append((session, c["AccessKeyId"]))
        assert ACCESS_KEY_RE.fullmatch(c["AccessKeyId"]), c["AccessKeyId"]
        assert r["AssumedRoleUser"]["Arn"].endswith(f"/{session}")
        return r

    def refused(self, role_arn, token, code, status, message=None, session=None,
                duration=None, trace=(), audited=True):
        """An AssumeRoleWithWebIdentity that must fail with code and HTTP
        status (and message: a regex the whole message must match). trace:
        strings the audit event's decision must contain. Returns the error."""
        session = session or self.session_name("deny")
        self.ledger.secret("web identity token", token)
        kw = {"DurationSeconds": duration} if duration is not None else {}
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            self.sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=session, WebIdentityToken=token, **kw)
        err = ei.value.response["Error"]
        meta = ei.value.response["ResponseMetadata"]
        assert (err["Code"], meta["HTTPStatusCode"]) == (code, status), ei.value.response
        assert err.get("Type") == "Sender", err
        if message is not None:
            assert re.fullmatch(message, err["Message"]), err["Message"]
        if audited:
            self.ledger.denials.append((session, code, tuple(trace)))
        return err

    def caller(self, creds):
        """GetCallerIdentity signed with the temporary credentials."""
        return sts_client(self.server, creds).get_caller_identity()

    def check_identity(self, resp, role_name):
        """GetCallerIdentity with resp's credentials names the session."""
        session = resp["AssumedRoleUser"]["Arn"].rsplit("/", 1)[1]
        ident = self.caller(resp["Credentials"])
        arn = f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{session}"
        assert ident["Arn"] == arn
        assert ident["Account"] == self.account
        assert re.fullmatch(ROLE_ID_RE + ":" + re.escape(session), ident["UserId"]), ident
        assert ident["UserId"] == resp["AssumedRoleUser"]["AssumedRoleId"]
        return ident

    def cli(self, *args, creds=None, check=True):
        """/usr/bin/aws ARGS --endpoint-url URL with only creds (or none)."""
        proc = subprocess.run(
            [AWS_CLI, *args, "--endpoint-url", self.server.url, "--output", "json",
             "--no-cli-pager"],
            env=aws_cli_env(creds), stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60)
        if check:
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout)
        return proc


REFETCH_INTERVAL = 30  # TG_OIDC_REFETCH_INTERVAL
EARLY = ["/down-later-500", "/down-later-reset", "/down-later-refused", "/rotate"]


@pytest.fixture(scope="module")
def world(sts_server, oidc_issuer):
    w = World(sts_server, oidc_issuer)
    w.warm(EARLY)
    return w


def wait_refetch_window(iss):
    """Sleeps until an unknown kid may cause a refetch (usually not at all:
    the issuer was warmed at the start of the module)."""
    left = iss.last_fetch + REFETCH_INTERVAL + 1 - time.monotonic()
    if left > 0:
        time.sleep(left)


# ---- the four seed scenarios ---------------------------------------------------


@pytest.fixture(scope="module")
def gh(world):
    """GitHub Actions: aud sts.amazonaws.com, sub repo:acme/app:* with
    StringLike (the seed trust policy). ES256 is there for the psychic
    signature test."""
    iss = world.oidc.add_issuer("/gh", ("RS256", "ES256"))
    prov = register_provider(world.server, iss, [AWS_AUD])
    host = iss.host_path
    trust = web_identity_trust(prov, {
        "StringEquals": {f"{host}:aud": AWS_AUD},
        "StringLike": {f"{host}:sub": "repo:acme/app:*"},
    })
    role = create_role(world.server, "gh-deploy", trust)
    return type("GH", (), {"iss": iss, "prov": prov, "role": role, "host": host, "trust": trust})


def test_github_seed_scenario_boto3_then_cli(world, gh):
    token = gh.iss.mint(I.github_claims("acme/app"))
    r = world.assume(gh.role, token, session="gha-run-1")
    assert r["Provider"] == gh.prov
    assert r["Audience"] == AWS_AUD
    assert r["SubjectFromWebIdentityToken"] == "repo:acme/app:ref:refs/heads/main"
    arn = f"arn:aws:sts::{world.account}:assumed-role/gh-deploy/gha-run-1"
    assert r["AssumedRoleUser"]["Arn"] == arn
    assert re.fullmatch(ROLE_ID_RE + ":gha-run-1", r["AssumedRoleUser"]["AssumedRoleId"])
    assert "PackedPolicySize" not in r and "SourceIdentity" not in r
    exp = r["Credentials"]["Expiration"]
    left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 3600 - 60 < left <= 3600 + 5, exp  # default DurationSeconds
    world.check_identity(r, "gh-deploy")
    out = world.cli("sts", "get-caller-identity", creds=r["Credentials"])
    assert out["Arn"] == arn
    assert out["Account"] == world.account


def test_github_environment_and_pull_request_subjects(world, gh):
    for ctx in ("environment:production", "pull_request", "ref:refs/tags/v1.2.3"):
        r = world.assume(gh.role, gh.iss.mint(I.github_claims("acme/app", ctx)))
        assert r["SubjectFromWebIdentityToken"] == f"repo:acme/app:{ctx}"


@pytest.fixture(scope="module")
def ado(world):
    """Azure DevOps: issuer /vstoken.dev.azure.com/<org-guid>, aud
    api://AzureADTokenExchange, sub sc://ORG/PROJECT/CONNECTION with
    StringEquals."""
    org_guid = str(uuid.uuid4())
    iss = world.oidc.add_issuer(f"/vstoken.dev.azure.com/{org_guid}", ("RS256",))
    prov = register_provider(world.server, iss, ["api://AzureADTokenExchange"])
    assert prov == f"arn:aws:iam::{world.account}:oidc-provider/{iss.host_path}"
    host = iss.host_path
    role = create_role(world.server, "ado-deploy", web_identity_trust(prov, {
        "StringEquals": {
            f"{host}:aud": "api://AzureADTokenExchange",
            f"{host}:sub": "sc://acme/web/aws-prod",
        }}))
    return type("ADO", (), {"iss": iss, "prov": prov, "role": role})


def test_azure_devops_seed_scenario(world, ado):
    r = world.assume(ado.role, ado.iss.mint(I.azure_devops_claims("acme", "web", "aws-prod")))
    assert r["Provider"] == ado.prov
    assert r["Audience"] == "api://AzureADTokenExchange"
    assert r["SubjectFromWebIdentityToken"] == "sc://acme/web/aws-prod"
    ident = world.check_identity(r, "ado-deploy")
    out = world.cli("sts", "get-caller-identity", creds=r["Credentials"])
    assert out["Arn"] == ident["Arn"]
    # Another service connection of the same organization.
    world.refused(ado.role, ado.iss.mint(I.azure_devops_claims("acme", "web", "aws-dev")),
                  "AccessDenied", 403, ACCESS_DENIED, trace=["sc://acme/web/aws-dev"])
    # A token for Entra's audience only.
    world.refused(ado.role, ado.iss.mint(I.azure_devops_claims(aud="api://other")),
                  "InvalidIdentityToken", 400, "Incorrect token audience")


@pytest.fixture(scope="module")
def gitlab(world):
    iss = world.oidc.add_issuer("/gitlab", ("RS256",))
    prov = register_provider(world.server, iss, [AWS_AUD])
    host = iss.host_path
    role = create_role(world.server, "gitlab-deploy", web_identity_trust(prov, {
        "StringEquals": {
            f"{host}:aud": AWS_AUD,
            f"{host}:sub": "project_path:acme/app:ref_type:branch:ref:main",
        }}))
    return type("GL", (), {"iss": iss, "prov": prov, "role": role, "host": host})


def test_gitlab_seed_scenario(world, gitlab):
    r = world.assume(gitlab.role, gitlab.iss.mint(I.gitlab_claims("acme/app", "main")))
    assert r["SubjectFromWebIdentityToken"] == "project_path:acme/app:ref_type:branch:ref:main"
    assert r["Provider"] == gitlab.prov
    ident = world.check_identity(r, "gitlab-deploy")
    out = world.cli("sts", "get-caller-identity", creds=r["Credentials"])
    assert out["Arn"] == ident["Arn"]
    for project, ref, ref_type in (("acme/app", "feature-1", "branch"),
                                   ("acme/app", "main", "tag"),
                                   ("acme/app-evil", "main", "branch")):
        world.refused(gitlab.role, gitlab.iss.mint(I.gitlab_claims(project, ref, ref_type)),
                      "AccessDenied", 403, ACCESS_DENIED,
                      trace=[f"project_path:{project}:ref_type:{ref_type}:ref:{ref}"])


@pytest.fixture(scope="module")
def circleci(world):
    """CircleCI: per-organization issuer, aud = the org id. deploy: one
    user, the main branch and the production context (a condition on
    CircleCI's own claims); preview: every member of the organization."""
    org, proj = str(uuid.uuid4()), str(uuid.uuid4())
    deployer, ctx_prod = str(uuid.uuid4()), str(uuid.uuid4())
    iss = world.oidc.add_issuer(f"/oidc.circleci.com/org/{org}", ("ES256",))
    prov = register_provider(world.server, iss, [org])
    h = iss.host_path
    deploy = create_role(world.server, "circleci-deploy", web_identity_trust(prov, {
        "StringEquals": {f"{h}:aud": org,
                         f"{h}:oidc.circleci.com/project-id": proj,
                         f"{h}:oidc.circleci.com/vcs-ref": "refs/heads/main"},
        "StringLike": {f"{h}:sub": f"org/{org}/project/{proj}/user/{deployer}"},
        "ForAnyValue:StringEquals": {f"{h}:oidc.circleci.com/context-ids": ctx_prod},
        "Bool": {f"{h}:oidc.circleci.com/ssh-rerun": "false"},
    }))
    preview = create_role(world.server, "circleci-preview", web_identity_trust(prov, {
        "StringEquals": {f"{h}:aud": org},
        "StringLike": {f"{h}:sub": f"org/{org}/project/*/user/*"},
    }))
    return type("CC", (), {"iss": iss, "prov": prov, "deploy": deploy, "preview": preview,
                           "org": org, "proj": proj, "deployer": deployer, "ctx": ctx_prod})


def test_circleci_seed_scenario(world, circleci):
    c = circleci
    good = c.iss.mint(I.circleci_claims(c.org, c.proj, c.deployer, [str(uuid.uuid4()), c.ctx]))
    r = world.assume(c.deploy, good)
    assert r["Audience"] == c.org
    ident = world.check_identity(r, "circleci-deploy")
    out = world.cli("sts", "get-caller-identity", creds=r["Credentials"])
    assert out["Arn"] == ident["Arn"]
    world.check_identity(world.assume(c.preview, good), "circleci-preview")

    other = str(uuid.uuid4())
    member = c.iss.mint(I.circleci_claims(c.org, c.proj, other, [c.ctx]))
    world.refused(c.deploy, member, "AccessDenied", 403, ACCESS_DENIED, trace=[other])
    r = world.assume(c.preview, member)
    out = world.cli("sts", "get-caller-identity", creds=r["Credentials"])
    assert out["Arn"].startswith(f"arn:aws:sts::{world.account}:assumed-role/circleci-preview/")
    # The deployer, but outside the production context, on a branch, or in an
    # SSH rerun (a boolean claim).
    for claims in (I.circleci_claims(c.org, c.proj, c.deployer, []),
                   I.circleci_claims(c.org, c.proj, c.deployer, [c.ctx], "refs/heads/dev"),
                   I.circleci_claims(c.org, c.proj, c.deployer, [c.ctx],
                                     **{"oidc.circleci.com/ssh-rerun": True})):
        world.refused(c.deploy, c.iss.mint(claims), "AccessDenied", 403, ACCESS_DENIED)


# ---- every algorithm ---------------------------------------------------------------


@pytest.fixture(scope="module")
def algs(world):
    """One issuer with a key per algorithm. "all": a provider allowing the
    ten (tag tegata:allowed-algorithms); "default": the same keys under
    another issuer path with AWS's default set."""
    out = {}
    for name, tags in (("all", {"tegata:allowed-algorithms": " ".join(I.ALL_ALGS)}),
                       ("default", None)):
        iss = world.oidc.add_issuer(f"/algs-{name}", I.ALL_ALGS)
        prov = register_provider(world.server, iss, [AWS_AUD], tags)
        role = create_role(world.server, f"algs-{name}", web_identity_trust(prov, {
            "StringEquals": {f"{iss.host_path}:aud": AWS_AUD},
            "StringLike": {f"{iss.host_path}:sub": "repo:acme/*"}}))
        out[name] = type("A", (), {"iss": iss, "prov": prov, "role": role})
    return out


@pytest.mark.parametrize("alg", I.ALL_ALGS)
def test_each_algorithm(world, algs, alg):
    a = algs["all"]
    r = world.assume(a.role, a.iss.mint(I.github_claims("acme/app"), alg), session=f"alg-{alg}")
    assert r["Provider"] == a.prov
    world.check_identity(r, "algs-all")


@pytest.mark.parametrize("alg", I.ALL_ALGS)
def test_default_algorithm_set_is_aws(world, algs, alg):
    """Without the tag a provider takes AWS's RS256/384/512 and ES256/384/512
    only (spec 1.2)."""
    a = algs["default"]
    token = a.iss.mint(I.github_claims("acme/app"), alg)
    if alg in I.AWS_ALGS:
        world.assume(a.role, token)
    else:
        world.refused(a.role, token, "InvalidIdentityToken", 400, trace=[alg])


# ---- each failure, on the code boto3 raises ---------------------------------------------


@pytest.fixture(scope="module")
def kid_issuer(world):
    """Its own issuer for the unknown-kid case: an unknown kid costs a JWKS
    refetch, which is rate-limited per issuer."""
    iss = world.oidc.add_issuer("/unknown-kid", ("RS256",))
    prov = register_provider(world.server, iss, [AWS_AUD])
    role = create_role(world.server, "unknown-kid", web_identity_trust(prov, {
        "StringEquals": {f"{iss.host_path}:aud": AWS_AUD}}))
    return type("K", (), {"iss": iss, "role": role})


def _now():
    return int(time.time())


# (id, token builder(gh) -> token, code, status, message regex or None, trace strings)
FAILURES = [
    ("wrong-sub", lambda g: g.iss.mint(I.github_claims("other-org/app")),
     "AccessDenied", 403, ACCESS_DENIED, ["repo:other-org/app:ref:refs/heads/main"]),
    ("sibling-repo", lambda g: g.iss.mint(I.github_claims("acme/app-evil")),
     "AccessDenied", 403, ACCESS_DENIED, ["repo:acme/app-evil:ref:refs/heads/main"]),
    ("wrong-aud", lambda g: g.iss.mint(I.github_claims(aud="https://github.com/acme")),
     "InvalidIdentityToken", 400, "Incorrect token audience", []),
    ("aud-array-without-match", lambda g: g.iss.mint(I.github_claims(aud=["a", "b"])),
     "InvalidIdentityToken", 400, "Incorrect token audience", []),
    ("no-aud", lambda g: g.iss.mint({k: v for k, v in I.github_claims().items() if k != "aud"}),
     "InvalidIdentityToken", 400, "Missing a required claim: aud", []),
    ("expired", lambda g: g.iss.mint(I.github_claims(now=_now() - 2 * HOUR)),
     "ExpiredTokenException", 400,
     r"Token expired: current date/time \d+ must be before the expiration date/time \d+", []),
    ("no-exp", lambda g: g.iss.mint({k: v for k, v in I.github_claims().items() if k != "exp"}),
     "InvalidIdentityToken", 400, None, []),
    ("exp-not-integer", lambda g: g.iss.mint(I.github_claims(exp=_now() + 300.5)),
     "InvalidIdentityToken", 400, None, []),
    ("exp-string", lambda g: g.iss.mint(I.github_claims(exp=str(_now() + 300))),
     "InvalidIdentityToken", 400, None, []),
    ("nbf-future", lambda g: g.iss.mint(I.github_claims(nbf=_now() + HOUR, exp=_now() + 2 * HOUR)),
     "InvalidIdentityToken", 400, None, []),
    ("iat-future", lambda g: g.iss.mint(I.github_claims(iat=_now() + HOUR, exp=_now() + 2 * HOUR)),
     "InvalidIdentityToken", 400, None, []),
    ("alg-none", lambda g: I.token_alg_none(I.github_claims(iss=g.iss.url), g.iss.key("RS256").kid),
     "InvalidIdentityToken", 400, None, []),
    ("hs256-rsa-public-key",
     lambda g: I.token_hs256_with_public_key(I.github_claims(iss=g.iss.url), g.iss.key("RS256")),
     "InvalidIdentityToken", 400, None, []),
    ("jwk-header",
     lambda g: I.token_with_jwk_header(I.github_claims(iss=g.iss.url), g.iss.key("RS256").kid),
     "InvalidIdentityToken", 400, None, []),
    ("tampered-payload",
     lambda g: I.tamper_payload(g.iss.mint(I.github_claims("acme/app-evil")),
                                sub="repo:acme/app:ref:refs/heads/main", repository="acme/app"),
     "InvalidIdentityToken", 400, None, []),
    ("ecdsa-zero-signature",
     lambda g: I.token_ecdsa_zero_signature(I.github_claims(iss=g.iss.url), g.iss.key("ES256")),
     "InvalidIdentityToken", 400, None, []),
    ("ecdsa-der-signature",
     lambda g: I.token_ecdsa_der_signature(I.github_claims(iss=g.iss.url), g.iss.key("ES256")),
     "InvalidIdentityToken", 400, None, []),
    ("pss-labelled-rs256",
     lambda g: I.token_rsa_pss_as_rs256(I.github_claims(iss=g.iss.url), g.iss.key("RS256")),
     "InvalidIdentityToken", 400, None, []),
    ("signed-by-other-key-same-kid",
     lambda g: I.Key("RS256", g.iss.key("RS256").kid).sign(I.github_claims(iss=g.iss.url)),
     "InvalidIdentityToken", 400, None, []),
    ("unknown-crit", lambda g: g.iss.mint(I.github_claims(), headers={"crit": ["x-tegata"],
                                                                     "x-tegata": 1}),
     "InvalidIdentityToken", 400, None, []),
    ("trailing-slash-issuer", lambda g: g.iss.mint(I.github_claims(iss=g.iss.url + "/")),
     "InvalidIdentityToken", 400, None, ["slash"]),
    ("unregistered-issuer",
     lambda g: g.iss.mint(I.github_claims(iss="https://token.actions.githubusercontent.com")),
     "InvalidIdentityToken", 400,
     "No OpenIDConnect provider found in your account for "
     "https://token.actions.githubusercontent.com", []),
    ("http-issuer",
     lambda g: g.iss.mint(I.github_claims(iss=g.iss.url.replace("https://", "http://"))),
     "InvalidIdentityToken", 400, None, []),
    ("not-a-jwt", lambda g: "not.a.jwt", "InvalidIdentityToken", 400, None, []),
    ("two-parts", lambda g: ".".join(g.iss.mint(I.github_claims()).split(".")[:2]),
     "InvalidIdentityToken", 400, None, []),
    ("padded-base64", lambda g: g.iss.mint(I.github_claims()) + "=",
     "InvalidIdentityToken", 400, None, []),
]


@pytest.mark.parametrize("case", FAILURES, ids=[f[0] for f in FAILURES])
def test_token_failures(world, gh, case):
    _id, build, code, status, message, trace = case
    token = build(gh)
    if _id == "trailing-slash-issuer":
        message = re.escape(f"No OpenIDConnect provider found in your account for {gh.iss.url}/")
    world.refused(gh.role, token, code, status, message, trace=trace)


def test_unknown_kid(world, kid_issuer):
    k = kid_issuer
    world.assume(k.role, k.iss.mint(I.github_claims()))  # the key set is cached
    before = k.iss.counts["jwks"]
    world.refused(k.role, I.token_unknown_kid(I.github_claims(iss=k.iss.url)),
                  "InvalidIdentityToken", 400, None)
    # The unknown kid cost at most one refetch, and a second one none.
    world.refused(k.role, I.token_unknown_kid(I.github_claims(iss=k.iss.url)),
                  "InvalidIdentityToken", 400, None)
    assert k.iss.counts["jwks"] - before <= 1


def test_expiry_within_skew_accepted(world, gh):
    """exp two minutes ago is inside AWS's 5 minutes of skew (spec 2 step 7);
    nbf and iat two minutes ahead likewise."""
    now = _now()
    world.assume(gh.role, gh.iss.mint(I.github_claims(now=now - 420)))  # exp = now - 120
    world.assume(gh.role, gh.iss.mint(I.github_claims(nbf=now + 120, iat=now + 120)))


def test_audience_array_with_a_match(world, gh):
    r = world.assume(gh.role, gh.iss.mint(I.github_claims(aud=["https://x.example", AWS_AUD])))
    assert r["Audience"] == AWS_AUD


def test_issuer_with_a_trailing_slash(world):
    """An Auth0-style issuer whose iss ends in '/', registered with the slash
    (spec 2 step 3): it works, its condition keys keep the slash, and
    discovery drops the slash before /.well-known (OpenID Connect Discovery
    section 4)."""
    iss = world.oidc.add_issuer("/auth0", ("RS256",))
    iss.discovery_issuer = iss.url + "/"
    prov = register_provider(world.server, iss, [AWS_AUD], url=iss.url + "/")
    assert prov.endswith(f":oidc-provider/{iss.host_path}/")
    role = create_role(world.server, "auth0", web_identity_trust(prov, {
        "StringEquals": {f"{iss.host_path}/:aud": AWS_AUD},
        "StringLike": {f"{iss.host_path}/:sub": "repo:acme/*"}}))
    r = world.assume(role, iss.mint(I.github_claims(iss=iss.url + "/")))
    assert r["Provider"] == prov
    # Without the slash the token names no registered provider.
    world.refused(role, iss.mint(I.github_claims()), "InvalidIdentityToken", 400,
                  re.escape(f"No OpenIDConnect provider found in your account for {iss.url}"),
                  trace=["slash"])


def test_role_that_does_not_exist(world, gh):
    world.refused(world.role_arn("no-such-role"), gh.iss.mint(I.github_claims()),
                  "AccessDenied", 403, ACCESS_DENIED, trace=["role"])


def test_role_trusting_another_provider(world, gh, gitlab):
    """A valid GitHub token for a role that trusts only the GitLab provider."""
    world.refused(gitlab.role, gh.iss.mint(I.github_claims()), "AccessDenied", 403,
                  ACCESS_DENIED)


def test_duration(world, gh):
    token = lambda: gh.iss.mint(I.github_claims())  # noqa: E731
    world.refused(gh.role, token(), "ValidationError", 400,
                  "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                  duration=7200)
    r = world.assume(gh.role, token(), duration=900)
    left = (r["Credentials"]["Expiration"]
            - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 900 - 60 < left <= 905
    long_role = create_role(world.server, "gh-long", gh.trust, max_session=43200)
    r = world.assume(long_role, token(), duration=43200)
    left = (r["Credentials"]["Expiration"]
            - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 43200 - 60 < left <= 43205
    # botocore refuses 899 itself; the server must refuse both.
    for bad in ("899", "43201", "3600.5", "-1", "x"):
        r = _raw_awrwi(world, long_role, token(), world.session_name("bad-duration"),
                       DurationSeconds=bad)
        code, _msg, _rid = _sts_error(r)
        assert (r.status, code) == (400, "ValidationError"), (bad, r.body[:300])


def test_parameter_validation(world, gh):
    token = gh.iss.mint(I.github_claims())
    world.refused(gh.role, token, "ValidationError", 400,
                  re.escape("1 validation error detected: Value 'a:b' at 'roleSessionName' failed "
                            "to satisfy constraint: Member must satisfy regular expression "
                            r"pattern: [\w+=,.@-]*"), session="a:b", audited=False)
    world.refused(gh.role, token, "ValidationError", 400, session="s" * 65, audited=False)
    world.refused("arn:aws:iam::role/nothing-here", token, "ValidationError", 400, audited=False)
    # botocore validates minimum lengths itself; the server must too.
    for params in ({"RoleSessionName": "a"}, {"WebIdentityToken": "abc"},
                   {"WebIdentityToken": ("t0k" * 6667)[:20001]}, {"RoleArn": ""}):
        r = _raw_awrwi(world, gh.role, token, "ok-name", **params)
        code, _msg, _rid = _sts_error(r)
        assert (r.status, code) == (400, "ValidationError"), (params.keys(), r.body[:300])


# ---- the wire: POST and GET, unsigned, element for element ----------------------------


def _raw_awrwi(world, role_arn, token, session, **params):
    """A raw unsigned POST; params override or add form fields."""
    body = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role_arn,
            "RoleSessionName": session, "WebIdentityToken": token, **params}
    world.ledger.secret("web identity token", body["WebIdentityToken"])
    return world.server.request("POST", "/", body=urllib.parse.urlencode(body).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})


def _sts_error(r):
    root = ET.fromstring(r.body)
    assert root.tag == STS_NS + "ErrorResponse", r.body
    err = root.find(STS_NS + "Error")
    assert err.findtext(STS_NS + "Type") == "Sender"
    rid = root.findtext(STS_NS + "RequestId")
    assert rid and UUID_RE.fullmatch(rid), r.body
    return err.findtext(STS_NS + "Code"), err.findtext(STS_NS + "Message"), rid


def _check_result_xml(world, gh, r, session):
    assert r.status == 200, r.body
    assert r.headers["content-type"].startswith("text/xml"), r.headers
    root = ET.fromstring(r.body)
    assert root.tag == STS_NS + "AssumeRoleWithWebIdentityResponse"
    result = root.find(STS_NS + "AssumeRoleWithWebIdentityResult")
    tags = [c.tag[len(STS_NS):] for c in result]
    # The order of AWS's own example (spec 1.3); PackedPolicySize and
    # SourceIdentity do not apply.
    assert tags == ["SubjectFromWebIdentityToken", "Audience", "AssumedRoleUser",
                    "Credentials", "Provider"], tags
    creds = {c.tag[len(STS_NS):]: c.text for c in result.find(STS_NS + "Credentials")}
    assert set(creds) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert ACCESS_KEY_RE.fullmatch(creds["AccessKeyId"])
    assert SECRET_RE.fullmatch(creds["SecretAccessKey"])
    assert EXPIRATION_RE.fullmatch(creds["Expiration"])
    assert 200 <= len(creds["SessionToken"]) <= 4096
    assert re.fullmatch(r"[A-Za-z0-9+/=_-]+", creds["SessionToken"]), "header-safe token"
    world.ledger.secret("secret access key", creds["SecretAccessKey"])
    world.ledger.secret("session token", creds["SessionToken"])
    world.ledger.successes.append((session, creds["AccessKeyId"]))
    user = {c.tag[len(STS_NS):]: c.text for c in result.find(STS_NS + "AssumedRoleUser")}
    assert user["Arn"] == f"arn:aws:sts::{world.account}:assumed-role/gh-deploy/{session}"
    assert re.fullmatch(ROLE_ID_RE + ":" + session, user["AssumedRoleId"])
    assert result.findtext(STS_NS + "Provider") == gh.prov
    assert result.findtext(STS_NS + "Audience") == AWS_AUD
    assert result.findtext(STS_NS + "SubjectFromWebIdentityToken") == \
        "repo:acme/app:ref:refs/heads/main"
    rid = root.find(STS_NS + "ResponseMetadata").findtext(STS_NS + "RequestId")
    assert UUID_RE.fullmatch(rid) and r.headers.get("x-amzn-requestid") == rid
    return creds


def test_raw_post_unsigned(world, gh):
    token = gh.iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    session = world.session_name("raw-post")
    body = urllib.parse.urlencode({
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": gh.role,
        "RoleSessionName": session, "WebIdentityToken": token, "DurationSeconds": "1800"})
    r = world.server.request("POST", "/", body=body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    creds = _check_result_xml(world, gh, r, session)
    exp = datetime.datetime.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() - 1800) < 60


def test_raw_get_query_string(world, gh):
    """AWS's API-reference sample is a plain GET (spec 1.1)."""
    token = gh.iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    session = world.session_name("raw-get")
    q = urllib.parse.urlencode({
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": gh.role,
        "RoleSessionName": session, "WebIdentityToken": token})
    creds = _check_result_xml(world, gh, world.server.request("GET", "/?" + q), session)
    ident = world.caller(creds)
    assert ident["Arn"].endswith(f"/gh-deploy/{session}")


def test_raw_error_document(world, gh):
    token = gh.iss.mint(I.github_claims("acme/app-evil"))
    world.ledger.secret("web identity token", token)
    q = urllib.parse.urlencode({
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": gh.role,
        "RoleSessionName": world.session_name("raw-deny"), "WebIdentityToken": token})
    r = world.server.request("GET", "/?" + q)
    assert r.status == 403
    code, msg, rid = _sts_error(r)
    assert (code, msg) == ("AccessDenied", ACCESS_DENIED)
    assert r.headers.get("x-amzn-requestid") == rid
    assert token not in r.body.decode()


def test_signed_request_is_still_web_identity(world, gh):
    """An Authorization header on the unsigned action is ignored (spec 1.1):
    the admin-signed call still answers from the token."""
    token = gh.iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    session = world.session_name("signed")
    r = world.server.signed_request({
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": gh.role,
        "RoleSessionName": session, "WebIdentityToken": token}, service="sts")
    _check_result_xml(world, gh, r, session)


# ---- condition keys from claims --------------------------------------------------------


@pytest.fixture(scope="module")
def aws_keys(world):
    """A GitHub-shaped issuer whose provider restricts condition keys to
    AWS's set (tag tegata:condition-keys=aws)."""
    iss = world.oidc.add_issuer("/gh-aws-keys", ("RS256",))
    prov = register_provider(world.server, iss, [AWS_AUD], {"tegata:condition-keys": "aws"})
    return type("AK", (), {"iss": iss, "prov": prov})


CLAIM_CONDITIONS = [
    # (id, condition block with {h} for the provider host/path, claims overrides, allowed)
    ("custom-string-claim", {"StringEquals": {
        "{h}:repository": "acme/app",
        "{h}:job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main"}},
     {}, True),
    ("custom-claim-mismatch", {"StringEquals": {"{h}:repository_owner_id": "66"}}, {}, False),
    ("number-claim", {"StringEquals": {"{h}:run_number": "7"}}, {"run_number": 7}, True),
    ("bool-claim", {"Bool": {"{h}:ephemeral": "true"}}, {"ephemeral": True}, True),
    ("bool-claim-false", {"Bool": {"{h}:ephemeral": "true"}}, {"ephemeral": False}, False),
    ("array-any", {"ForAnyValue:StringEquals": {"{h}:groups": "acme/platform"}},
     {"groups": ["acme", "acme/platform"]}, True),
    ("array-all", {"ForAllValues:StringLike": {"{h}:groups": "acme*"}},
     {"groups": ["acme", "acme/platform"]}, True),
    ("array-all-one-outside", {"ForAllValues:StringEquals": {"{h}:groups": ["acme"]}},
     {"groups": ["acme", "evil"]}, False),
    ("null-absent", {"Null": {"{h}:environment": "true"}}, {}, True),
    ("null-present", {"Null": {"{h}:environment": "true"}}, {"environment": "prod"}, False),
    ("if-exists-absent", {"StringEqualsIfExists": {"{h}:environment": "prod"}}, {}, True),
    ("if-exists-other", {"StringEqualsIfExists": {"{h}:environment": "prod"}},
     {"environment": "dev"}, False),
    ("string-not-equals", {"StringNotEquals": {"{h}:event_name": "pull_request"}}, {}, True),
    ("ignore-case", {"StringEqualsIgnoreCase": {"{h}:actor": "OctoCat"}}, {}, True),
    ("nested-claim-not-a-key", {"StringEquals": {"{h}:nested": "x"}}, {"nested": {"a": "x"}},
     False),
    ("key-name-case-insensitive", {"StringEquals": {"{h}:REPOSITORY": "acme/app"}}, {}, True),
]


@pytest.mark.parametrize("case", CLAIM_CONDITIONS, ids=[c[0] for c in CLAIM_CONDITIONS])
def test_claims_as_condition_keys(world, gh, case):
    """Beyond AWS, every top-level string, number or boolean claim (and each
    array of strings, multi-valued) is a condition key (issue 3, item 4)."""
    name, cond, extra, allowed = case
    block = json.loads(json.dumps(cond).replace("{h}", gh.host))
    sub = {f"{gh.host}:sub": "repo:acme/app:*"}
    role = create_role(world.server, f"claims-{name}", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": gh.prov},
                       "Action": "sts:AssumeRoleWithWebIdentity",
                       "Condition": {**block, "StringLike": sub}}]})
    token = gh.iss.mint(I.github_claims("acme/app", **extra))
    if allowed:
        world.assume(role, token)
    else:
        world.refused(role, token, "AccessDenied", 403, ACCESS_DENIED)


def test_aws_only_condition_keys(world, aws_keys):
    """With tegata:condition-keys=aws, a custom claim never matches (as at
    AWS, spec 2), while aud and sub still do."""
    h = aws_keys.iss.host_path
    on_sub = create_role(world.server, "awskeys-sub", web_identity_trust(aws_keys.prov, {
        "StringEquals": {f"{h}:aud": AWS_AUD}, "StringLike": {f"{h}:sub": "repo:acme/app:*"}}))
    on_repo = create_role(world.server, "awskeys-repo", web_identity_trust(aws_keys.prov, {
        "StringEquals": {f"{h}:aud": AWS_AUD, f"{h}:repository": "acme/app"}}))
    token = aws_keys.iss.mint(I.github_claims("acme/app"))
    world.assume(on_sub, token)
    world.refused(on_repo, aws_keys.iss.mint(I.github_claims("acme/app")), "AccessDenied", 403,
                  ACCESS_DENIED)


# ---- the key cache and a failing issuer ------------------------------------------------


def _issuer_role(world, path, algs=("RS256",)):
    iss = world.oidc.add_issuer(path, algs)
    prov = register_provider(world.server, iss, [AWS_AUD])
    role = create_role(world.server, path.strip("/").replace("/", "-"), web_identity_trust(
        prov, {"StringEquals": {f"{iss.host_path}:aud": AWS_AUD}}))
    return iss, role


def test_warm_cache_and_single_flight(world):
    """Ten concurrent first calls for a new issuer: one discovery and one
    JWKS fetch (single flight); later calls: none (warm cache)."""
    iss, role = _issuer_role(world, "/single-flight")
    tokens = [iss.mint(I.github_claims()) for _ in range(10)]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        clients = [sts_client(world.server) for _ in range(10)]
        list(pool.map(lambda i: world.assume(role, tokens[i], client=clients[i]), range(10)))
    assert iss.counts == {"discovery": 1, "jwks": 1}, iss.counts
    for _ in range(5):
        world.assume(role, iss.mint(I.github_claims()))
    assert iss.counts == {"discovery": 1, "jwks": 1}, iss.counts


@pytest.mark.parametrize("mode", [500, "reset", "refused"])
def test_jwks_down_after_a_good_fetch(world, mode):
    """The last good key set is kept while the issuer fails: known kids are
    still served; a new kid cannot be fetched."""
    iss, role = world.early[f"/down-later-{mode}"]  # fetched at the start
    world.assume(role, iss.mint(I.github_claims()))
    wait_refetch_window(iss)
    if mode == "refused":
        world.oidc.stop_listening()
    else:
        iss.fail_jwks(mode)
        iss.fail_discovery(mode)
    try:
        fetches = iss.counts["jwks"] + iss.counts["discovery"]
        world.assume(role, iss.mint(I.github_claims()))
        # A kid the cached set lacks forces a refetch, which fails.
        new = iss.add_key("RS256")
        world.refused(role, iss.mint(I.github_claims(), kid=new.kid), "InvalidIdentityToken", 400)
        if mode != "refused":
            assert iss.counts["jwks"] + iss.counts["discovery"] > fetches, "no refetch tried"
        world.assume(role, iss.mint(I.github_claims(), alg="RS256", kid=next(iter(iss.keys))))
    finally:
        world.oidc.resume_listening()
        iss.fail_jwks(None)
        iss.fail_discovery(None)


@pytest.mark.parametrize("mode", [500, "reset", "refused", "discovery-500"])
def test_jwks_down_from_the_start(world, mode):
    """No good key set yet: InvalidIdentityToken with AWS's message; as soon
    as the issuer is back, success."""
    iss, role = _issuer_role(world, f"/down-first-{mode}")
    if mode == "refused":
        world.oidc.stop_listening()
    elif mode == "discovery-500":
        iss.fail_discovery(500)
    else:
        iss.fail_jwks(mode)
    try:
        world.refused(role, iss.mint(I.github_claims()), "InvalidIdentityToken", 400,
                      re.escape(NO_KEY))
    finally:
        world.oidc.resume_listening()
        iss.fail_jwks(None)
        iss.fail_discovery(None)
    world.assume(role, iss.mint(I.github_claims()))


def test_jwks_timeout(world):
    """An issuer that does not answer: the fetch gives up within about 5 s
    (libcurl timeouts) and the call fails rather than hanging."""
    iss, role = _issuer_role(world, "/hang")
    iss.fail_jwks(("hang", 9))
    t0 = time.monotonic()
    world.refused(role, iss.mint(I.github_claims()), "InvalidIdentityToken", 400,
                  re.escape(NO_KEY))
    assert time.monotonic() - t0 < 8, "the JWKS fetch should time out after about 5 s"
    iss.fail_jwks(None)


def test_discovery_issuer_mismatch(world):
    iss, role = _issuer_role(world, "/mismatch")
    iss.discovery_issuer = iss.url + "-other"
    world.refused(role, iss.mint(I.github_claims()), "InvalidIdentityToken", 400)


def test_key_rotation_at_the_issuer(world):
    """A new kid works without a restart; a removed key stops working once
    the new set is fetched."""
    iss, role = world.early["/rotate"]  # fetched at the start
    old = iss.key("RS256")
    world.assume(role, iss.mint(I.github_claims(), kid=old.kid))
    wait_refetch_window(iss)
    new = iss.add_key("ES256")
    iss.remove_key(old.kid)
    world.assume(role, iss.mint(I.github_claims(), kid=new.kid))
    world.refused(role, old.sign(I.github_claims(iss=iss.url)), "InvalidIdentityToken", 400)


def test_thumbprint_instead_of_ca_file(world, make_server, oidc_issuer):
    """A server without --ca-file cannot verify the test CA; the provider's
    SHA-1 thumbprint of the top certificate of the served chain (the CA)
    then decides (spec 2 step 4, AWS's rule)."""
    srv = make_server("--dev")
    iss = oidc_issuer.add_issuer("/thumbprint", ("RS256",))
    wrong = oidc_issuer.add_issuer("/thumbprint-wrong", ("RS256",))
    roles = {}
    for i, tps in ((iss, [oidc_issuer.thumbprint]), (wrong, ["0" * 40])):
        prov = register_provider(srv, i, [AWS_AUD], thumbprints=tps)
        roles[i.path] = create_role(srv, i.path.strip("/"), web_identity_trust(
            prov, {"StringEquals": {f"{i.host_path}:aud": AWS_AUD}}))
    sts = sts_client(srv)
    token = iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    r = sts.assume_role_with_web_identity(RoleArn=roles["/thumbprint"], RoleSessionName="tp",
                                          WebIdentityToken=token)
    assert r["AssumedRoleUser"]["Arn"].endswith("/thumbprint/tp")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        sts.assume_role_with_web_identity(RoleArn=roles["/thumbprint-wrong"],
                                          RoleSessionName="tp",
                                          WebIdentityToken=wrong.mint(I.github_claims()))
    assert ei.value.response["Error"]["Code"] == "InvalidIdentityToken"


# ---- temporary credentials ----------------------------------------------------------------


def _flip(text, index):
    ch = text[index]
    return text[:index] + ("A" if ch != "A" else "B") + text[index + 1:]


def test_get_caller_identity_failures(world, gh):
    r = world.assume(gh.role, gh.iss.mint(I.github_claims()))
    c = dict(r["Credentials"])
    cases = [
        ("tampered session token", {**c, "SessionToken": _flip(c["SessionToken"],
                                                                len(c["SessionToken"]) // 2)},
         "InvalidClientTokenId"),
        ("truncated session token", {**c, "SessionToken": c["SessionToken"][:-8]},
         "InvalidClientTokenId"),
        ("no session token", {**c, "SessionToken": None}, "InvalidClientTokenId"),
        ("other access key id", {**c, "AccessKeyId": "ASIA" + "A" * 16}, "InvalidClientTokenId"),
        ("wrong secret", {**c, "SecretAccessKey": _flip(c["SecretAccessKey"], 5)},
         "SignatureDoesNotMatch"),
    ]
    for what, creds, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            world.caller(creds)
        resp = ei.value.response
        assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == \
            (code, 403), (what, resp)
    world.check_identity(r, "gh-deploy")  # the real credentials still work


def test_admin_get_caller_identity(world):
    akid, sk = world.server.credentials()
    ident = sts_client(world.server, {"AccessKeyId": akid, "SecretAccessKey": sk}) \
        .get_caller_identity()
    assert ident["Account"] == world.account
    assert ident["Arn"] == f"arn:aws:iam::{world.account}:root"


def test_keys_rotate_keeps_old_sessions(world, gh):
    """`tegata keys rotate` on the running server's data directory: sessions
    sealed before keep working, new ones work too."""
    before = world.assume(gh.role, gh.iss.mint(I.github_claims()))
    proc = run_tegata("keys", "rotate", "--data", str(world.server.data_dir))
    assert proc.returncode == 0, proc.stderr
    time.sleep(5.5)  # the server reloads the key ring within about 5 s
    after = world.assume(gh.role, gh.iss.mint(I.github_claims()))
    world.check_identity(before, "gh-deploy")
    world.check_identity(after, "gh-deploy")
    proc = run_tegata("keys", "rotate", "--data", str(world.server.data_dir))
    assert proc.returncode == 0, proc.stderr
    world.check_identity(before, "gh-deploy")


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def _sanitized(binary):
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__ubsan_handle" in data


def test_foreign_session_token(world, make_server, oidc_issuer):
    """Credentials of another tegata (another key ring) are refused with
    InvalidClientTokenId (403), not accepted and not a 500."""
    other = make_server("--dev", "--ca-file", oidc_issuer.ca_file)
    iss = oidc_issuer.add_issuer("/foreign", ("ES256",))
    prov = register_provider(other, iss, [AWS_AUD])
    role = create_role(other, "foreign", web_identity_trust(
        prov, {"StringEquals": {f"{iss.host_path}:aud": AWS_AUD}}))
    token = iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    creds = sts_client(other).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="foreign", WebIdentityToken=token)["Credentials"]
    world.ledger.secret("secret access key", creds["SecretAccessKey"])
    world.ledger.secret("session token", creds["SessionToken"])
    assert sts_client(other, creds).get_caller_identity()["Arn"].endswith("/foreign/foreign")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        sts_client(world.server, creds).get_caller_identity()
    resp = ei.value.response
    assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("InvalidClientTokenId", 403), resp


def test_expired_and_foreign_sessions(world, make_server, oidc_issuer):
    """A session minted while the server's clock ran 2 hours behind
    (libfaketime) has expired once the server runs on the real clock with
    the same data directory: ExpiredToken (403). For the module's server,
    whose key ring differs, the same session token is foreign:
    InvalidClientTokenId (403)."""
    if not os.path.exists(FAKETIME_LIB):
        pytest.skip(f"libfaketime not installed ({FAKETIME_LIB}; Debian package faketime)")
    binary = tegata_bin()
    if _sanitized(binary):
        # libfaketime's clock_gettime recurses into the ASan runtime's
        # interceptors at start-up and the server hangs: use the plain build
        # that scripts/test.sh makes first (build/tegata), if there is one.
        plain = os.environ.get("TEGATA_PLAIN_BIN") or str(REPO / "build" / "tegata")
        if not os.access(plain, os.X_OK) or _sanitized(plain):
            pytest.skip("libfaketime cannot preload into a sanitizer build, and no plain build "
                        f"at {plain}")
        binary = plain
    iss = oidc_issuer.add_issuer("/faketime", ("RS256",))
    args = ["--dev", "--ca-file", oidc_issuer.ca_file]
    # IAM calls are signed, so the setup runs on the real clock.
    setup = make_server(*args, binary=binary)
    prov = register_provider(setup, iss, [AWS_AUD])
    role = create_role(setup, "faketime", web_identity_trust(
        prov, {"StringEquals": {f"{iss.host_path}:aud": AWS_AUD}}))
    assert setup.stop() == 0
    env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "-7200", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    past = make_server(*args, data_dir=setup.data_dir, env=env, binary=binary)
    token = iss.mint(I.github_claims(now=_now() - 7200))  # on the lagging clock
    world.ledger.secret("web identity token", token)
    r = sts_client(past).assume_role_with_web_identity(  # unsigned: no clock check
        RoleArn=role, RoleSessionName="lagging", WebIdentityToken=token, DurationSeconds=900)
    creds = r["Credentials"]
    world.ledger.secret("secret access key", creds["SecretAccessKey"])
    world.ledger.secret("session token", creds["SessionToken"])
    assert past.stop() == 0
    now = make_server(*args, data_dir=setup.data_dir, binary=binary)
    for srv, code in ((now, "ExpiredToken"), (world.server, "InvalidClientTokenId")):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            sts_client(srv, creds).get_caller_identity()
        resp = ei.value.response
        assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == \
            (code, 403), resp


# ---- the AWS CLI ------------------------------------------------------------------------------


def test_aws_cli_assume_role_with_web_identity(world, gh):
    token = gh.iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    out = world.cli("sts", "assume-role-with-web-identity", "--role-arn", gh.role,
                    "--role-session-name", "cli-session", "--web-identity-token", token,
                    "--duration-seconds", "900")
    c = out["Credentials"]
    world.ledger.secret("secret access key", c["SecretAccessKey"])
    world.ledger.secret("session token", c["SessionToken"])
    world.ledger.successes.append(("cli-session", c["AccessKeyId"]))
    arn = f"arn:aws:sts::{world.account}:assumed-role/gh-deploy/cli-session"
    assert out["AssumedRoleUser"]["Arn"] == arn
    assert out["Provider"] == gh.prov
    who = world.cli("sts", "get-caller-identity", creds=c)
    assert who["Arn"] == arn
    # A refusal through the CLI: its error line names AWS's code.
    bad = gh.iss.mint(I.github_claims("acme/app-evil"))
    world.ledger.secret("web identity token", bad)
    proc = world.cli("sts", "assume-role-with-web-identity", "--role-arn", gh.role,
                     "--role-session-name", "cli-denied", "--web-identity-token", bad, check=False)
    assert proc.returncode != 0 and cli_error_code(proc) == "AccessDenied", proc.stderr
    world.ledger.denials.append(("cli-denied", "AccessDenied", ("repo:acme/app-evil",)))


# ---- session policies (spec 1.2, 1.3, 4.5) -------------------------------------------


def _packed(policy_text, arns=()):
    """tegata's PackedPolicySize: characters of the policy, whitespace not
    counted, and of the ARNs, as a percentage of 2,048, rounded up."""
    chars = sum(1 for c in policy_text if c not in " \t\r\n") + sum(len(a) for a in arns)
    return (chars * 100 + 2047) // 2048, chars


def _assume_with(world, role_arn, token, session, **kw):
    world.ledger.secret("web identity token", token)
    r = world.sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName=session, WebIdentityToken=token, **kw)
    c = r["Credentials"]
    world.ledger.secret("secret access key", c["SecretAccessKey"])
    world.ledger.secret("session token", c["SessionToken"])
    world.ledger.successes.append((session, c["AccessKeyId"]))
    return r


def _refused_with(world, role_arn, token, code, message, trace=(), audited=True, **kw):
    session = world.session_name("sp-deny")
    world.ledger.secret("web identity token", token)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        world.sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName=session, WebIdentityToken=token, **kw)
    err = ei.value.response["Error"]
    status = ei.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert (err["Code"], status, err.get("Type")) == (code, 400, "Sender"), ei.value.response
    assert err["Message"] == message, err["Message"]
    if audited:
        world.ledger.denials.append((session, code, tuple(trace)))
    return session


def _audit_events(world):
    return [json.loads(line) for line in world.server.audit_path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sp(world, gh):
    """A role whose own policies allow much, and managed policies to pass
    as session policies."""
    admin = world.server.iam()
    name = "gh-session-policies"
    role_arn = create_role(world.server, name, gh.trust)
    admin.put_role_policy(RoleName=name, PolicyName="wide", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Resource": "*",
             "Action": ["iam:GetRole", "iam:ListRoles", "iam:ListRoleTags", "iam:GetPolicy"]}]}))
    tags = admin.create_policy(PolicyName="session-list-tags", Path="/sessions/", PolicyDocument=
                               json.dumps({"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": "iam:ListRoleTags",
                                    "Resource": "*"}]}))["Policy"]["Arn"]
    return type("SP", (), {"name": name, "role": role_arn, "tags": tags, "admin": admin})


def _denied(call, r, action, resource, why):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    err = ei.value.response["Error"]
    assert (err["Code"], ei.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("AccessDenied", 403), err
    assert err["Message"] == (f"User: {r['AssumedRoleUser']['Arn']} is not authorized to "
                              f"perform: {action} on resource: {resource} {why}"), err["Message"]


def test_session_policies_narrow_the_role(world, gh, sp):
    """Effective permissions = the role's policies AND the session policies
    (spec 4.5): a call both allow succeeds, one only the role allows is
    AccessDenied with AWS's session-policy message."""
    marker = f"arn:aws:iam::*:role/marker-{uuid.uuid4().hex}"
    inline = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:GetRole", "iam:CreateRole"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:GetRole", "Resource": ["arn:aws:iam::*:role/gh-deploy",
                                                                  marker]}]}
    text = json.dumps(inline, indent=2)  # whitespace is not counted
    session = world.session_name("sp-narrow")
    r = _assume_with(world, sp.role, gh.iss.mint(I.github_claims()), session, Policy=text,
                     PolicyArns=[{"arn": sp.tags}])
    want, chars = _packed(text, [sp.tags])
    assert r["PackedPolicySize"] == want and 0 < want <= 100, (r["PackedPolicySize"], chars)
    iam = iam_client(world.server, r["Credentials"])
    acct = world.account

    # both allow: the inline policy for GetRole, the managed one for ListRoleTags
    assert iam.get_role(RoleName=sp.name)["Role"]["Arn"] == sp.role
    assert iam.list_role_tags(RoleName=sp.name)["Tags"] == []
    # the role allows, no session policy does
    _denied(iam.list_roles, r, "iam:ListRoles", "*",
            "because no session policy allows the iam:ListRoles action")
    _denied(lambda: iam.get_policy(PolicyArn=sp.tags), r, "iam:GetPolicy", sp.tags,
            "because no session policy allows the iam:GetPolicy action")
    # a session policy denies explicitly
    _denied(lambda: iam.get_role(RoleName="gh-deploy"), r, "iam:GetRole",
            f"arn:aws:iam::{acct}:role/gh-deploy", "with an explicit deny in a session policy")
    # a session policy allows what the role does not: the role decides
    _denied(lambda: iam.create_role(RoleName="nope", AssumeRolePolicyDocument=json.dumps(gh.trust)),
            r, "iam:CreateRole", f"arn:aws:iam::{acct}:role/nope",
            "because no identity-based policy allows the iam:CreateRole action")

    # A session of the same role without session policies has the role's
    # permissions, and no PackedPolicySize.
    plain = world.assume(sp.role, gh.iss.mint(I.github_claims()))
    assert "PackedPolicySize" not in plain
    assert sp.name in [x["RoleName"] for x in
                       iam_client(world.server, plain["Credentials"]).list_roles()["Roles"]]

    # The audit event of the call records the ARNs, the policy's length and
    # the packed size, never the policy's text; the IAM events say which
    # session policy is which.
    events = _audit_events(world)
    ev = [e for e in events if e["eventName"] == "AssumeRoleWithWebIdentity"
          and e["requestParameters"].get("roleSessionName") == session]
    assert len(ev) == 1, ev
    ev = ev[0]
    assert ev["requestParameters"]["policyArns"] == [{"arn": sp.tags}]
    assert ev["requestParameters"]["policyLength"] == len(text)
    assert ev["responseElements"]["packedPolicySize"] == want
    assert ev["decision"]["session_policies"] == {"policy_length": len(text),
                                                  "policy_arns": [sp.tags]}
    assert ev["decision"]["packed_policy_size"] == want
    dump = json.dumps(events)
    assert marker not in dump
    mine = [e for e in events if e["eventSource"] == "iam.amazonaws.com"
            and e["userIdentity"].get("accessKeyId") == r["Credentials"]["AccessKeyId"]]
    lr = [e for e in mine if e["eventName"] == "ListRoles"][0]
    assert lr["errorCode"] == "AccessDenied"
    assert lr["decision"]["session_policies"] == [
        {"policy": 0, "inline_length": chars - len(sp.tags)}, {"policy": 1, "arn": sp.tags}]
    assert [(p["set"], p["decision"]) for p in lr["decision"]["policies"]] == [
        ("identity", "allowed"), ("session", "implicitDeny"), ("session", "implicitDeny")]


def test_session_policy_deleted_after_issue_grants_nothing(world, gh, sp):
    """A managed session policy deleted after the session was issued grants
    nothing (deny, not fail open), and the audit event says so."""
    admin = sp.admin
    gone = admin.create_policy(PolicyName="session-get-role", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}))["Policy"]["Arn"]
    r = _assume_with(world, sp.role, gh.iss.mint(I.github_claims()),
                     world.session_name("sp-gone"), PolicyArns=[{"arn": gone}])
    assert r["PackedPolicySize"] == _packed("", [gone])[0]
    iam = iam_client(world.server, r["Credentials"])
    assert iam.get_role(RoleName=sp.name)["Role"]["RoleName"] == sp.name
    admin.delete_policy(PolicyArn=gone)
    _denied(lambda: iam.get_role(RoleName=sp.name), r, "iam:GetRole", sp.role,
            "because no session policy allows the iam:GetRole action")
    ev = [e for e in _audit_events(world) if e["eventSource"] == "iam.amazonaws.com"
          and e["userIdentity"].get("accessKeyId") == r["Credentials"]["AccessKeyId"]][-1]
    assert ev["errorCode"] == "AccessDenied"
    assert ev["decision"]["session_policies"][0]["policy"] is None
    assert "deleted" in ev["decision"]["session_policies"][0]["reason"]
    assert ev["decision"]["decision"] == "implicitDeny"


def test_session_policy_errors(world, gh, sp):
    token = lambda: gh.iss.mint(I.github_claims())  # noqa: E731
    # PackedPolicyTooLarge: a policy that fits alone, with an ARN too many
    resources = ",".join(f'"arn:aws:iam::*:role/r{i:04d}"' for i in range(69))
    big = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole",'
           f'"Resource":[{resources}]}}]}}')
    assert 2000 < len(big) <= 2048, len(big)
    pct, chars = _packed(big, [sp.tags])
    assert chars > 2048
    _refused_with(world, sp.role, token(), "PackedPolicyTooLarge",
                  f"Packed policy consumes {pct}% of allotted space, please use smaller policy "
                  "for session.", ("packed_policy_size",), Policy=big,
                  PolicyArns=[{"arn": sp.tags}])
    r = _assume_with(world, sp.role, token(), world.session_name("sp-big"), Policy=big)
    assert r["PackedPolicySize"] == _packed(big)[0] <= 100
    # MalformedPolicyDocument with the parser's message
    _refused_with(world, sp.role, token(), "MalformedPolicyDocument", "Syntax errors in policy.",
                  ("session policy",), Policy='{"Version":"2012-10-17"')
    _refused_with(world, sp.role, token(), "MalformedPolicyDocument",
                  "Policy document should not specify a principal.", ("malformed",),
                  Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                      {"Effect": "Allow", "Principal": "*", "Action": "iam:GetRole",
                       "Resource": "*"}]}))
    missing = f"arn:aws:iam::{world.account}:policy/sessions/not-there"
    _refused_with(world, sp.role, token(), "MalformedPolicyDocument",
                  f"Policy {missing} does not exist or is not attachable.",
                  ("names no managed policy",), PolicyArns=[{"arn": missing}])
    # ValidationError: AWS's constraints
    _refused_with(world, sp.role, token(), "ValidationError",
                  "1 validation error detected: Value at 'policyArns' failed to satisfy "
                  "constraint: Member must have length less than or equal to 10",
                  audited=False, PolicyArns=[{"arn": sp.tags}] * 11)
    too_long = '{"Version":"2012-10-17"' + " " * 2048 + "}"
    r = _raw_awrwi(world, sp.role, token(), world.session_name("sp-long"), Policy=too_long)
    code, msg, _ = _sts_error(r)
    assert (r.status, code) == (400, "ValidationError"), r.body
    assert msg.endswith("at 'policy' failed to satisfy constraint: Member must have length "
                        "less than or equal to 2048"), msg
    r = _raw_awrwi(world, sp.role, token(), world.session_name("sp-char"), Policy="{\u0100}")
    code, msg, _ = _sts_error(r)
    assert (r.status, code) == (400, "ValidationError"), r.body
    assert "Member must satisfy regular expression pattern" in msg, msg


def test_session_policy_xml_order(world, gh, sp):
    """PackedPolicySize sits after AssumedRoleUser and before Provider."""
    session = world.session_name("sp-xml")
    r = _raw_awrwi(world, sp.role, gh.iss.mint(I.github_claims()), session,
                   **{"PolicyArns.member.1.arn": sp.tags})
    assert r.status == 200, r.body
    root = ET.fromstring(r.body)
    result = root.find(STS_NS + "AssumeRoleWithWebIdentityResult")
    tags = [c.tag[len(STS_NS):] for c in result]
    assert tags == ["SubjectFromWebIdentityToken", "Audience", "AssumedRoleUser", "Credentials",
                    "PackedPolicySize", "Provider"], tags
    assert result.findtext(STS_NS + "PackedPolicySize") == str(_packed("", [sp.tags])[0])
    creds = {c.tag[len(STS_NS):]: c.text for c in result.find(STS_NS + "Credentials")}
    world.ledger.secret("secret access key", creds["SecretAccessKey"])
    world.ledger.secret("session token", creds["SessionToken"])
    world.ledger.successes.append((session, creds["AccessKeyId"]))


def test_aws_cli_session_policy(world, gh, sp):
    token = gh.iss.mint(I.github_claims())
    world.ledger.secret("web identity token", token)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]})
    out = world.cli("sts", "assume-role-with-web-identity", "--role-arn", sp.role,
                    "--role-session-name", "cli-sp", "--web-identity-token", token,
                    "--policy", policy, "--policy-arns", f"arn={sp.tags}")
    c = out["Credentials"]
    world.ledger.secret("secret access key", c["SecretAccessKey"])
    world.ledger.secret("session token", c["SessionToken"])
    world.ledger.successes.append(("cli-sp", c["AccessKeyId"]))
    assert out["PackedPolicySize"] == _packed(policy, [sp.tags])[0]
    got = world.cli("iam", "get-role", "--role-name", sp.name, creds=c)
    assert got["Role"]["Arn"] == sp.role
    proc = world.cli("iam", "list-roles", creds=c, check=False)
    assert proc.returncode != 0 and cli_error_code(proc) == "AccessDenied", proc.stderr
    assert "because no session policy allows the iam:ListRoles action" in proc.stderr


# ---- the audit file (keep this test last) ---------------------------------------------


def _fragments(value):
    """The value and pieces of it long enough to be unmistakable: a log that
    truncates a token still leaks it."""
    out = {value}
    if value.count(".") == 2:  # a JWT: its signature alone is the secret part
        out.add(value.rsplit(".", 1)[1])
    if len(value) > 64:
        out.update({value[:32], value[len(value) // 2:len(value) // 2 + 32], value[-32:]})
    return {f for f in out if len(f) >= 20}


def test_audit_file_and_log_hold_no_secret_and_every_decision(world):
    time.sleep(0.2)  # the last events are flushed per event; be generous
    text = world.server.audit_path.read_text()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines, "the audit file is empty"
    events = [json.loads(ln) for ln in lines]  # one JSON object per line
    log = world.server.log()
    def where(hay, frag):
        i = hay.index(frag)
        return hay[max(0, i - 200):i + len(frag) + 50]

    for what, value in world.ledger.secrets:
        for frag in _fragments(value):
            assert frag not in text, f"a {what} (part: {frag!r}) is in the audit file: " \
                f"...{where(text, frag)}..."
            assert frag not in log, f"a {what} (part: {frag!r}) is in the server log: " \
                f"...{where(log, frag)}..."

    for ev in events:
        for key in ("eventTime", "eventName", "sourceIPAddress", "requestParameters"):
            assert key in ev, (key, ev)
    awrwi = [e for e in events if e.get("eventName") == "AssumeRoleWithWebIdentity"]
    assert any(e.get("eventName") == "GetCallerIdentity" for e in events)

    def event_for(session):
        found = [e for e in awrwi if session in json.dumps(e.get("requestParameters"))]
        assert len(found) == 1, f"{len(found)} audit events for session {session}"
        return found[0]

    for session, akid in world.ledger.successes:
        ev = event_for(session)
        assert not ev.get("errorCode"), ev
        assert akid in json.dumps(ev.get("responseElements")), ev
        ident = json.dumps(ev.get("userIdentity"))
        assert "oidc-provider/" in ident or "sub" in ident, ev
    for session, code, trace in world.ledger.denials:
        ev = event_for(session)
        assert ev.get("errorCode") == code, ev
        assert ev.get("errorMessage"), ev
        decision = ev.get("decision")
        assert isinstance(decision, dict) and decision, f"no decision trace: {ev}"
        dump = json.dumps(decision).lower()
        for s in trace:
            assert s.lower() in dump, f"decision for {session} lacks {s!r}: {decision}"


# ---- calls made with the temporary credentials (issue 4 item 5) ------------------------


def iam_client(server, creds):
    import boto3
    import botocore.config
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name="us-east-1").client(
        "iam", endpoint_url=server.url,
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def test_session_permissions_decide_iam_calls(world, gh):
    """Temporary credentials may call what their role's inline and attached
    policies allow, for the entity the call names, with the session's
    context keys (spec 4.5): the role's own tags, the token's aud and sub
    carried into the session (spec 3.1; not its other claims),
    aws:PrincipalArn."""
    admin = world.server.iam()
    host = gh.host
    name = "gh-operator"
    role_arn = create_role(world.server, name, gh.trust)
    admin.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "platform"}])
    admin.put_role_policy(RoleName=name, PolicyName="self", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoleTags"],
             "Resource": "arn:aws:iam::*:role/${aws:PrincipalTag/team}-*"},
            {"Effect": "Allow", "Action": "iam:GetRole",
             "Resource": f"arn:aws:iam::*:role/{name}",
             "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/gh-oper*"}}},
            {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
             "Condition": {"StringLike": {f"{host}:sub": "repo:acme/app:ref:refs/heads/*"}}},
            {"Effect": "Allow", "Action": "iam:ListPolicies", "Resource": "*",
             "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}},
            {"Effect": "Allow", "Action": "iam:ListOpenIDConnectProviders", "Resource": "*",
             "Condition": {"StringEquals": {f"{host}:repository": "acme/app"}}},
        ]}))
    managed = admin.create_policy(PolicyName="no-tagging", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "iam:ListRoleTags", "Resource": "*"}]}))["Policy"]["Arn"]
    admin.attach_role_policy(RoleName=name, PolicyArn=managed)
    create_role(world.server, "platform-builds", gh.trust)

    r = world.assume(role_arn, gh.iss.mint(I.github_claims()))
    iam = iam_client(world.server, r["Credentials"])
    # Its own role, on the condition of aws:PrincipalArn; another by the
    # policy variable of its tag.
    assert iam.get_role(RoleName=name)["Role"]["Arn"] == role_arn
    assert iam.get_role(RoleName="platform-builds")["Role"]["RoleName"] == "platform-builds"
    # The sub of the token, carried into the session, allows ListRoles.
    names = [x["RoleName"] for x in iam.list_roles()["Roles"]]
    assert name in names
    # So does its aud; a claim AWS does not carry (repository) is absent.
    assert "Policies" in iam.list_policies()

    def denied(call, action, resource, explicit=False):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        err = ei.value.response["Error"]
        assert (err["Code"], ei.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
            ("AccessDenied", 403), err
        user = r["AssumedRoleUser"]["Arn"]
        why = ("with an explicit deny in an identity-based policy" if explicit
               else f"because no identity-based policy allows the {action} action")
        assert err["Message"] == (f"User: {user} is not authorized to perform: {action} on "
                                  f"resource: {resource} {why}")

    denied(lambda: iam.get_role(RoleName="gh-deploy"), "iam:GetRole",
           f"arn:aws:iam::{world.account}:role/gh-deploy")
    denied(lambda: iam.list_role_tags(RoleName="platform-builds"), "iam:ListRoleTags",
           f"arn:aws:iam::{world.account}:role/platform-builds", explicit=True)
    denied(lambda: iam.create_role(RoleName="x", AssumeRolePolicyDocument=json.dumps(gh.trust)),
           "iam:CreateRole", f"arn:aws:iam::{world.account}:role/x")
    denied(lambda: iam.delete_role_policy(RoleName=name, PolicyName="self"),
           "iam:DeleteRolePolicy", role_arn)
    denied(lambda: iam.list_open_id_connect_providers(), "iam:ListOpenIDConnectProviders", "*")

    # Each call is in the audit log, with the decision of the role's
    # policies; the session token is not.
    events = [json.loads(line) for line in
              world.server.audit_path.read_text().splitlines()]
    mine = [e for e in events if e["eventSource"] == "iam.amazonaws.com"
            and e["userIdentity"].get("accessKeyId") == r["Credentials"]["AccessKeyId"]]
    by_name = {}
    for e in mine:
        by_name.setdefault(e["eventName"], []).append(e)
    assert {"GetRole", "ListRoles", "ListRoleTags", "CreateRole"} <= set(by_name)
    tags = by_name["ListRoleTags"][0]
    assert tags["errorCode"] == "AccessDenied"
    assert tags["decision"]["decision"] == "explicitDeny"
    assert tags["decision"]["resource"] == f"arn:aws:iam::{world.account}:role/platform-builds"
    assert [p["decision"] for p in tags["decision"]["policies"]] == ["allowed", "explicitDeny"]
    ok = [e for e in by_name["GetRole"] if "errorCode" not in e]
    assert ok and ok[0]["decision"]["decision"] == "allowed"
    assert ok[0]["decision"]["role"] == role_arn
    assert r["Credentials"]["SessionToken"] not in json.dumps(mine)

    # A pull-request token's session: the sub no longer matches ListRoles.
    pr = world.assume(role_arn, gh.iss.mint(I.github_claims(context="pull_request")))
    iam_pr = iam_client(world.server, pr["Credentials"])
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam_pr.list_roles()
    assert ei.value.response["Error"]["Code"] == "AccessDenied"

    # The role changes take effect on live sessions; a role made again is
    # another role: the old sessions get nothing from it.
    admin.detach_role_policy(RoleName=name, PolicyArn=managed)
    assert iam.list_role_tags(RoleName="platform-builds")["Tags"] == []
    admin.delete_role_policy(RoleName=name, PolicyName="self")
    admin.untag_role(RoleName=name, TagKeys=["team"])
    admin.delete_role(RoleName=name)
    create_role(world.server, name, gh.trust)
    admin.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.get_role(RoleName=name)
    assert ei.value.response["Error"]["Code"] == "AccessDenied"
    admin.delete_role_policy(RoleName=name, PolicyName="all")
    admin.delete_role(RoleName=name)
    admin.delete_role(RoleName="platform-builds")
    admin.delete_policy(PolicyArn=managed)
