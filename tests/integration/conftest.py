"""Integration test fixtures: the real `tegata serve`, driven by the real AWS
clients (Debian's python3-boto3 and awscli).

Every server runs on a free loopback port with its own temporary --data
directory. The suite never reads the user's ~/.aws: all AWS_* variables are
removed from this process at import time, AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE point to /dev/null, HOME points to an empty
temporary directory, and every client gets its credentials explicitly (boto3)
or from the server's admin.credentials file (the AWS CLI, which runs with an
environment built from scratch).

The binary is $TEGATA_BIN (ctest sets it), else <repo>/build/tegata.
"""

import atexit
import configparser
import datetime
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.parse
import xml.etree.ElementTree as ET
from unittest import mock

import boto3
import botocore.auth
import botocore.config
import botocore.credentials
from botocore.awsrequest import AWSRequest
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
AWS_CLI = "/usr/bin/aws"
START_TIMEOUT = 10.0  # seconds until /healthz answers
STOP_TIMEOUT = 10.0  # seconds from SIGTERM to exit
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# GitHub Actions, the provider every test registers (spec 10.1: no trailing
# slash). The thumbprint is the value GitHub's documentation used; we only
# store and return it.
GITHUB_URL = "https://token.actions.githubusercontent.com"
GITHUB_HOST = "token.actions.githubusercontent.com"
GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
AUDIENCE = "sts.amazonaws.com"


def seed_trust_policy(account_id, repo="octo-org/octo-repo"):
    """The seed trust policy of the brief: GitHub OIDC, aud and sub pinned."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_HOST}"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_HOST}:aud": AUDIENCE},
                    "StringLike": {f"{GITHUB_HOST}:sub": f"repo:{repo}:*"},
                },
            }
        ],
    }


INLINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::octo-artifacts", "arn:aws:s3:::octo-artifacts/*"],
        }
    ],
}

# ---- isolation from the user's AWS configuration -------------------------

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

_HOME = tempfile.mkdtemp(prefix="tegata-it-home-")
atexit.register(shutil.rmtree, _HOME, True)

for _k in list(os.environ):
    # AWS_* could select a profile, credentials, a region or an endpoint;
    # proxies would route our loopback requests elsewhere.
    if _k.startswith("AWS_") or _k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[_k]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"  # never wait for an instance metadata service
os.environ["HOME"] = _HOME  # botocore also reads ~/.aws/models
os.environ["NO_PROXY"] = "127.0.0.1,localhost,::1"


def tegata_bin():
    path = os.environ.get("TEGATA_BIN") or str(REPO / "build" / "tegata")
    if not os.access(path, os.X_OK):
        pytest.fail(f"tegata binary not found at {path}: build it or set TEGATA_BIN")
    return path


def free_port():
    """A port that was free a moment ago on 127.0.0.1 (Server.start retries
    if another process takes it in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tegata(*args, timeout=10, env=None):
    """Runs the binary to completion (for --help, usage errors, ...)."""
    return subprocess.run(
        [tegata_bin(), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


class AwsCliError(AssertionError):
    def __init__(self, proc):
        super().__init__(
            f"aws exited {proc.returncode}\nargs: {proc.args}\nstdout: {proc.stdout}\n"
            f"stderr: {proc.stderr}"
        )
        self.proc = proc


def cli_error_code(proc):
    """The AWS error code from the CLI's "An error occurred (Code) when
    calling the X operation: ..." line, or None."""
    m = re.search(r"An error occurred \(([A-Za-z0-9.]+)\)", proc.stderr)
    return m.group(1) if m else None


def xml_error(body):
    """(Code, Message, RequestId) of an <ErrorResponse> document."""
    root = ET.fromstring(body)
    assert root.tag == IAM_NS + "ErrorResponse", body
    err = root.find(IAM_NS + "Error")
    assert err is not None, body
    return (
        err.findtext(IAM_NS + "Code"),
        err.findtext(IAM_NS + "Message"),
        root.findtext(IAM_NS + "RequestId"),
    )


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body


class Server:
    """One `tegata serve` process on a temporary data directory."""

    def __init__(self, base_dir, args=(), data_dir=None, env=None, data_flag=True, binary=None):
        self.binary = binary  # None: tegata_bin()
        self.base_dir = pathlib.Path(base_dir)
        self.extra_env = dict(env or {})
        self.data_flag = data_flag  # False: rely on $TEGATA_DATA (in env)
        self.data_dir = pathlib.Path(data_dir) if data_dir else self.base_dir / "data"
        self.creds_file = self.data_dir / "admin.credentials"
        self.args = list(args)
        self.log_path = self.base_dir / "server.log"
        self.proc = None
        self.port = None
        self.url = None
        self._log_file = None

    # ---- process ----------------------------------------------------------

    def start(self, args=None):
        """Starts the server and waits until GET /healthz answers 200."""
        if args is not None:
            self.args = list(args)
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            ok, why = self._wait_healthy()
            if ok:
                return self
            last = why
            text = self.log()[offset:]
            if self.proc.poll() is not None and "listen" in text and "in use" in text:
                continue  # somebody took the port between free_port() and bind
            break
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pytest.fail(f"tegata serve did not become healthy: {last}\n--- server log ---\n{self.log()}")

    def _spawn(self):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab")
        env = dict(os.environ)
        env.pop("TEGATA_DATA", None)
        env.update(self.extra_env)
        data = ["--data", str(self.data_dir)] if self.data_flag else []
        self.proc = subprocess.Popen(
            [self.binary or tegata_bin(), "serve", "--listen", f"127.0.0.1:{self.port}", *data,
             *self.args],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            env=env,
        )

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        why = "timeout"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                return False, f"exited with status {rc} before answering /healthz"
            try:
                r = self.request("GET", "/healthz", timeout=1)
                if r.status == 200:
                    return True, ""
                why = f"/healthz answered {r.status}"
            except OSError as e:
                why = f"/healthz: {e}"
            time.sleep(0.05)
        return False, f"no /healthz 200 within {START_TIMEOUT} s ({why})"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit status (None: still running after timeout,
        then killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._close_log()
        return rc

    def kill(self):
        """SIGKILL: a crash, no cleanup."""
        self.proc.kill()
        self.proc.wait()
        self._close_log()

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log(self):
        """Everything the server wrote to stderr and stdout, over all starts."""
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=5.0):
        """Waits until the log matches the regex; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log())
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    # ---- clients ----------------------------------------------------------

    def credentials(self):
        """(access key id, secret) from DIR/admin.credentials."""
        cp = configparser.ConfigParser()
        cp.read(self.creds_file)
        return cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]

    def iam(self, secret=None, access_key_id=None, region="us-east-1", **config):
        """A boto3 IAM client for this server with the admin key. No retries:
        a retry could hide a failed first attempt."""
        akid, sk = self.credentials()
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or akid,
            aws_secret_access_key=secret or sk,
            region_name=region,
        )
        cfg = botocore.config.Config(
            retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30, **config
        )
        return session.client("iam", endpoint_url=self.url, config=cfg)

    def aws(self, *args, check=True):
        """Runs `/usr/bin/aws ARGS --endpoint-url URL --output json` with an
        environment holding only PATH, HOME, LANG and the three AWS_* variables.
        check=True: returns the parsed JSON output (None when empty) and
        raises AwsCliError on a non-zero exit; check=False: returns the
        CompletedProcess."""
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": _HOME,
            "LANG": "C.UTF-8",
            "AWS_SHARED_CREDENTIALS_FILE": str(self.creds_file),
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        proc = subprocess.run(
            [AWS_CLI, *args, "--endpoint-url", self.url, "--output", "json", "--no-cli-pager"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if not check:
            return proc
        if proc.returncode != 0:
            raise AwsCliError(proc)
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def account_id(self):
        """The account id, read back from a provider ARN (creates and deletes
        a throwaway provider)."""
        iam = self.iam()
        url = f"https://account-probe-{time.monotonic_ns()}.example.com"
        arn = iam.create_open_id_connect_provider(
            Url=url, ClientIDList=["x"], ThumbprintList=[GITHUB_THUMBPRINT]
        )["OpenIDConnectProviderArn"]
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        m = re.fullmatch(r"arn:aws:iam::(\d{12}):oidc-provider/.*", arn)
        assert m, arn
        return m.group(1)

    # ---- raw HTTP -----------------------------------------------------------

    def request(self, method, target, body=b"", headers=None, timeout=30):
        """One HTTP request on a new connection; the response body as bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, target, body=body or None, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def sign(self, params, method="POST", secret=None, access_key_id=None, skew=0.0,
             region="us-east-1", service="iam", presign_expires=None):
        """Signs a Query request with botocore's own SigV4Auth (or, with
        presign_expires, SigV4QueryAuth: a presigned GET URL), its clock moved
        by skew seconds. Returns (method, target, headers, body) to send as is."""
        akid, sk = self.credentials()
        creds = botocore.credentials.Credentials(access_key_id or akid, secret or sk)
        params = {"Version": "2010-05-08", **params}
        encoded = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        if method == "POST":
            req = AWSRequest(
                method="POST",
                url=self.url + "/",
                data=encoded.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
        else:
            req = AWSRequest(method=method, url=f"{self.url}/?{encoded}")
        real = datetime.datetime

        class _Skewed(real):
            @classmethod
            def utcnow(cls):
                return real.utcnow() + datetime.timedelta(seconds=skew)

        with mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=_Skewed)):
            if presign_expires is None:
                botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
            else:
                botocore.auth.SigV4QueryAuth(
                    creds, service, region, expires=presign_expires
                ).add_auth(req)
        prepared = req.prepare()
        target = urllib.parse.urlsplit(prepared.url)
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        return method, path, dict(prepared.headers), prepared.body or b""

    def signed_request(self, params, **kw):
        method, target, headers, body = self.sign(params, **kw)
        return self.request(method, target, body=body, headers=headers)


# ---- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server shared by the tests of one module (they use distinct names)."""
    srv = Server(tmp_path_factory.mktemp("tegata")).start()
    yield srv
    rc = srv.stop()
    if rc != 0:
        print(f"--- tegata server log ({srv.log_path}) ---\n{srv.log()}")
    assert rc == 0, f"tegata serve exited with {rc} after SIGTERM (expected 0 within {STOP_TIMEOUT} s)"


@pytest.fixture
def make_server(request, tmp_path):
    """A factory of servers private to one test; each is stopped with SIGTERM
    at teardown and must exit 0 (tests that stop or kill a server themselves
    are not checked again)."""
    started = []
    request.node.tegata_servers = started  # for the failure report below

    def make(*args, data_dir=None, env=None, data_flag=True, start=True, binary=None):
        srv = Server(tmp_path / f"srv{len(started)}", args, data_dir=data_dir, env=env,
                     data_flag=data_flag, binary=binary)
        started.append(srv)
        return srv.start() if start else srv

    yield make
    failures = []
    for srv in started:
        if srv.running():
            rc = srv.stop()
            if rc != 0:
                print(f"--- tegata server log ({srv.log_path}) ---\n{srv.log()}")
                failures.append(f"{srv.url}: exit status {rc}")
    assert not failures, f"servers did not exit 0 after SIGTERM: {failures}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the logs of the servers the test used."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    servers = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, Server)]
    servers += getattr(item, "tegata_servers", [])
    for srv in servers:
        tail = srv.log()[-20000:]
        report.sections.append((f"tegata server log {srv.log_path}", tail))


# ---- STS: the test OIDC issuer, a server that trusts it, clients ---------------
# (issue 3; added by integration3. The fixtures above are unchanged.)

import issuer as _issuer_mod  # noqa: E402 (tests/integration is on sys.path under pytest)

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@pytest.fixture(scope="module")
def oidc_issuer():
    """A TestIssuer (tests/integration/issuer.py) on a free loopback port,
    shared by one module; each test adds the issuer paths it needs."""
    srv = _issuer_mod.TestIssuer().start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def sts_server(tmp_path_factory, oidc_issuer):
    """A server in --dev mode (loopback issuer URLs with a port) trusting
    the test issuer's CA, with its audit file at srv.audit_path."""
    base = tmp_path_factory.mktemp("tegata-sts")
    audit = base / "audit.jsonl"
    srv = Server(base, ["--dev", "--ca-file", oidc_issuer.ca_file, "--audit-file", str(audit)])
    srv.audit_path = audit
    srv.start()
    yield srv
    rc = srv.stop()
    if rc != 0:
        print(f"--- tegata server log ({srv.log_path}) ---\n{srv.log()}")
    assert rc == 0, f"tegata serve exited with {rc} after SIGTERM"


def sts_client(server, creds=None, region="us-east-1"):
    """A boto3 STS client for server. creds: None (no credentials at all, as
    a CI job before the exchange: AssumeRoleWithWebIdentity is unsigned), or
    a dict with AccessKeyId, SecretAccessKey, SessionToken (the shape of the
    Credentials element). No retries."""
    kw = {}
    if creds is not None:
        kw = dict(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
        )
    session = boto3.session.Session(region_name=region, **kw)
    cfg = botocore.config.Config(
        retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30
    )
    return session.client("sts", endpoint_url=server.url, config=cfg)


def register_provider(server, iss, client_ids=("sts.amazonaws.com",), tags=None,
                      thumbprints=None, url=None):
    """Registers the Issuer iss (issuer.py) as an OIDC provider; returns its
    ARN. tags: {"tegata:allowed-algorithms": "RS256,PS256", ...}.
    thumbprints: default the test CA's (Debian's botocore still requires a
    list; the server verifies with --ca-file first, so it is not used).
    url: the provider URL when it is not iss.url (a trailing slash)."""
    kw = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
    if thumbprints is None:
        thumbprints = [iss.server.thumbprint]
    return server.iam().create_open_id_connect_provider(
        Url=url or iss.url, ClientIDList=list(client_ids), ThumbprintList=list(thumbprints),
        **kw
    )["OpenIDConnectProviderArn"]


def web_identity_trust(provider_arn, conditions):
    """A trust policy with one statement allowing AssumeRoleWithWebIdentity
    for provider_arn under conditions (a Condition block)."""
    stmt = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if conditions:
        stmt["Condition"] = conditions
    return {"Version": "2012-10-17", "Statement": [stmt]}


def create_role(server, name, trust, max_session=None):
    """Creates a role; returns its ARN."""
    kw = {"MaxSessionDuration": max_session} if max_session else {}
    return server.iam().create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **kw
    )["Role"]["Arn"]


def aws_cli_env(creds=None):
    """An environment for /usr/bin/aws holding only PATH, HOME, LANG and,
    when creds is given, the temporary credentials."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": _HOME,
        "LANG": "C.UTF-8",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if creds is not None:
        env["AWS_ACCESS_KEY_ID"] = creds["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = creds["SecretAccessKey"]
        env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    return env
