"""The same exchange from the AWS SDK for JavaScript v3 (@aws-sdk/client-sts
from npm, pinned in tests/integration/js/package-lock.json): the script
js/awrwi.mjs calls AssumeRoleWithWebIdentity, then GetCallerIdentity signed
with the returned credentials.

`npm ci` runs in a temporary copy of js/ with its download cache in
$TMPDIR/tegata-npm-cache, so the source tree gets no node_modules. The test
is skipped only when node/npm are missing or the npm registry cannot be
reached."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

import issuer as I
from conftest import create_role, register_provider, web_identity_trust

JS_DIR = pathlib.Path(__file__).resolve().parent / "js"
NPM_CACHE = pathlib.Path(tempfile.gettempdir()) / "tegata-npm-cache"
OFFLINE = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|"
                     r"EHOSTUNREACH|network request|request to \S+ failed")


@pytest.fixture(scope="module")
def js_project(tmp_path_factory):
    """A directory with js/ installed by `npm ci`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node or npm is not installed (Debian packages nodejs, npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = int(re.match(r"v(\d+)", version).group(1)) if re.match(r"v\d+", version) else 0
    if major < 20:
        pytest.skip(f"@aws-sdk/client-sts needs node >= 20; this machine has {version or 'none'}")
    work = tmp_path_factory.mktemp("js")
    for name in ("package.json", "package-lock.json", "awrwi.mjs"):
        shutil.copy(JS_DIR / name, work / name)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ["HOME"],
           "npm_config_update_notifier": "false"}
    proc = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline",
         "--cache", str(NPM_CACHE)],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        if OFFLINE.search(proc.stderr + proc.stdout):
            pytest.skip(f"the npm registry is unreachable: {proc.stderr.strip()[-300:]}")
        pytest.fail(f"npm ci failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    assert (work / "node_modules" / "@aws-sdk" / "client-sts").is_dir()
    return work


@pytest.fixture(scope="module")
def js_world(sts_server, oidc_issuer):
    iss = oidc_issuer.add_issuer("/js-gh", ("RS256", "ES256"))
    prov = register_provider(sts_server, iss, ["sts.amazonaws.com"])
    h = iss.host_path
    role = create_role(sts_server, "js-deploy", web_identity_trust(prov, {
        "StringEquals": {f"{h}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{h}:sub": "repo:acme/app:*"}}))
    account = role.split(":")[4]
    return type("JS", (), {"server": sts_server, "iss": iss, "prov": prov, "role": role,
                           "account": account})


def run_script(project, world, token, session):
    token_file = project / f"token-{session}"
    token_file.write_text(token)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ["HOME"],
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_EC2_METADATA_DISABLED": "true", "ENDPOINT": world.server.url,
           "ROLE_ARN": world.role, "ROLE_SESSION_NAME": session,
           "WEB_IDENTITY_TOKEN_FILE": str(token_file)}
    proc = subprocess.run(["node", "awrwi.mjs"], cwd=project, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(lines[-1])


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_js_sdk_exchange_and_caller_identity(js_project, js_world, alg):
    session = f"js-{alg}"
    rc, out = run_script(js_project, js_world, js_world.iss.mint(I.github_claims(), alg), session)
    assert rc == 0, out
    arn = f"arn:aws:sts::{js_world.account}:assumed-role/js-deploy/{session}"
    assert out["assumedRoleUser"]["Arn"] == arn
    assert out["callerIdentity"]["Arn"] == arn
    assert out["callerIdentity"]["Account"] == js_world.account
    assert out["callerIdentity"]["UserId"] == out["assumedRoleUser"]["AssumedRoleId"]
    assert out["provider"] == js_world.prov
    assert out["audience"] == "sts.amazonaws.com"
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", out["accessKeyId"])


def test_js_sdk_sees_aws_errors(js_project, js_world):
    rc, out = run_script(js_project, js_world,
                         js_world.iss.mint(I.github_claims("acme/app-evil")), "js-denied")
    assert rc == 1
    assert (out["error"]["name"], out["error"]["status"]) == ("AccessDenied", 403), out
    rc, out = run_script(js_project, js_world,
                         js_world.iss.mint(I.github_claims(aud="https://github.com/acme")),
                         "js-bad-aud")
    assert rc == 1
    # A modelled error: the SDK raises its InvalidIdentityTokenException class.
    assert out["error"]["status"] == 400, out
    assert out["error"]["name"] in ("InvalidIdentityToken", "InvalidIdentityTokenException"), out
    assert out["error"]["message"] == "Incorrect token audience", out
