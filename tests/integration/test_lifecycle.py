"""The process: command line, first start and the data directory, restarts,
crashes (SIGKILL), graceful shutdown (SIGTERM) and the server log."""

import base64
import json
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import botocore.exceptions
import pytest

from conftest import (
    AUDIENCE,
    GITHUB_THUMBPRINT,
    GITHUB_URL,
    INLINE_POLICY,
    STOP_TIMEOUT,
    free_port,
    run_tegata,
    seed_trust_policy,
)

SERVE_OPTIONS = ("--listen", "--data", "--account-id", "--region", "--dev",
                 "--trust-policy-max", "--threads")


# ---- command line ---------------------------------------------------------------


def test_help_and_version():
    r = run_tegata("--help")
    assert r.returncode == 0
    assert "serve" in r.stdout
    r = run_tegata("--version")
    assert r.returncode == 0
    assert re.fullmatch(r"tegata \d+\.\d+\.\d+\S*\n", r.stdout), r.stdout
    r = run_tegata("serve", "--help")
    assert r.returncode == 0
    for opt in SERVE_OPTIONS:
        assert opt in r.stdout, opt


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("no-such-command",),
        ("serve", "--no-such-option"),
        ("serve", "--account-id", "12345"),
        ("serve", "--account-id", "12345678901a"),
        ("serve", "--trust-policy-max", "2047"),
        ("serve", "--trust-policy-max", "4097"),
        ("serve", "--threads", "0"),
        ("serve", "--listen", "127.0.0.1"),
        ("serve", "--listen", "127.0.0.1:99999"),
        ("serve", "unexpected-argument"),
    ],
)
def test_usage_errors_exit_2(args, tmp_path):
    if args[:1] == ("serve",):
        # A scratch --data and an unused --listen, so that a command line
        # wrongly accepted cannot touch ./var or port 8080; a server that
        # starts anyway is killed at the timeout and the test fails.
        args = (*args, "--data", str(tmp_path / "d"))
        if "--listen" not in args:
            args = (*args, "--listen", f"127.0.0.1:{free_port()}")
    try:
        r = run_tegata(*args, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tegata {' '.join(args)} did not exit")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.strip(), "a usage error says what is wrong"
    assert not (tmp_path / "d").exists()


# ---- first start, files, secrets ------------------------------------------------


def test_first_start_files_and_modes(make_server):
    srv = make_server()
    d = srv.data_dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    # tegata.db holds sealed secrets: 0600 as well (ARCHITECTURE decision 7).
    for name in ("master.key", "admin.credentials", "tegata.db"):
        mode = stat.S_IMODE((d / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {mode:o}"
    assert (d / "master.key").stat().st_size == 32  # 256 bits
    assert (d / "tegata.db").is_file()
    assert (d / "tegata.db").read_bytes()[:16] == b"SQLite format 3\x00"

    text = srv.creds_file.read_text()
    assert re.search(r"^\[default\]$", text, re.M), text
    akid, secret = srv.credentials()
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", akid), akid
    assert len(secret) == 40

    # Write something so the database and its WAL hold real content.
    iam = srv.iam()
    iam.create_open_id_connect_provider(Url=GITHUB_URL, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])
    assert iam.list_roles()["Roles"] == []

    # The admin secret is stored sealed: never in plain text in the
    # database files, never in the log.
    needles = [secret.encode(), secret.encode("utf-16-le")]
    for f in d.iterdir():
        if f.name == "admin.credentials" or not f.is_file():
            continue
        data = f.read_bytes()
        for n in needles:
            assert n not in data, f"admin secret in plain text in {f.name}"
    log = srv.log()
    assert secret not in log
    key = (d / "master.key").read_bytes()
    for form in (key.hex(), key.hex().upper(), base64.b64encode(key).decode()):
        assert form not in log
    assert akid in log or "administrator key" in log  # the log says which key was created

    rc = srv.stop()
    assert rc == 0
    log = srv.log()
    assert secret not in log


def test_tegata_data_env_is_the_default(make_server, tmp_path):
    """Without --data the server uses $TEGATA_DATA."""
    d = tmp_path / "from-env"
    srv = make_server(data_dir=d, env={"TEGATA_DATA": str(d)}, data_flag=False)
    assert (d / "master.key").is_file()
    assert srv.iam().list_roles()["Roles"] == []


# ---- restart, account id ---------------------------------------------------------


def test_restart_keeps_everything(make_server):
    srv = make_server("--account-id", "123456789012")
    iam = srv.iam()
    parn = iam.create_open_id_connect_provider(
        Url=GITHUB_URL, ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT], Tags=[{"Key": "k", "Value": "v"}]
    )["OpenIDConnectProviderArn"]
    assert parn.startswith("arn:aws:iam::123456789012:oidc-provider/")
    trust = seed_trust_policy("123456789012")
    role = iam.create_role(RoleName="kept", AssumeRolePolicyDocument=json.dumps(trust),
                           Tags=[{"Key": "a", "Value": "b"}])["Role"]
    iam.put_role_policy(RoleName="kept", PolicyName="inline",
                        PolicyDocument=json.dumps(INLINE_POLICY))
    marn = iam.create_policy(PolicyName="managed",
                             PolicyDocument=json.dumps(INLINE_POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="kept", PolicyArn=marn)
    creds_before = srv.creds_file.read_bytes()
    key_before = (srv.data_dir / "master.key").read_bytes()

    assert srv.stop() == 0
    srv.start()  # same data directory, no --account-id: the stored one

    assert srv.creds_file.read_bytes() == creds_before
    assert (srv.data_dir / "master.key").read_bytes() == key_before
    iam = srv.iam()  # the same admin key still signs
    got = iam.get_role(RoleName="kept")["Role"]
    assert got["Arn"] == "arn:aws:iam::123456789012:role/kept"
    assert got["RoleId"] == role["RoleId"]
    assert got["AssumeRolePolicyDocument"] == trust
    assert got["Tags"] == [{"Key": "a", "Value": "b"}]
    assert iam.get_role_policy(RoleName="kept", PolicyName="inline")["PolicyDocument"] == (
        INLINE_POLICY)
    assert iam.list_attached_role_policies(RoleName="kept")["AttachedPolicies"] == [
        {"PolicyName": "managed", "PolicyArn": marn}]
    prov = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=parn)
    assert prov["ClientIDList"] == [AUDIENCE]
    assert prov["Tags"] == [{"Key": "k", "Value": "v"}]
    assert srv.stop() == 0

    # The same account id again is fine; another one is refused (exit 2).
    srv.start(["--account-id", "123456789012"])
    assert srv.iam().get_role(RoleName="kept")["Role"]["RoleId"] == role["RoleId"]
    assert srv.stop() == 0
    r = run_tegata("serve", "--data", str(srv.data_dir), "--listen", "127.0.0.1:1",
                   "--account-id", "210987654321")
    assert r.returncode == 2, r.stderr
    assert "123456789012" in r.stderr


def test_generated_account_id_is_kept(make_server):
    srv = make_server()
    account = srv.account_id()
    assert re.fullmatch(r"\d{12}", account)
    assert srv.stop() == 0
    srv.start()
    assert srv.account_id() == account


def test_crash_keeps_acknowledged_writes(make_server):
    """SIGKILL in the middle of a burst of CreateRole calls: after a restart
    every role whose CreateRole was answered 200 exists."""
    srv = make_server()
    account = srv.account_id()
    trust = json.dumps(seed_trust_policy(account))
    acked, lock = [], threading.Lock()
    enough = threading.Event()
    threads_n, per_thread = 3, 100

    def worker(t):
        iam = srv.iam()
        for i in range(per_thread):
            name = f"burst-{t}-{i:03d}"
            try:
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return  # the server is gone
            with lock:
                acked.append(name)
                if len(acked) >= 100:
                    enough.set()

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    assert enough.wait(120), f"only {len(acked)} acknowledgements"
    srv.kill()
    for w in workers:
        w.join(60)
    with lock:
        acknowledged = list(acked)
    assert len(acknowledged) >= 100
    # The kill landed in the middle of the burst, not after it.
    assert len(acknowledged) < threads_n * per_thread

    srv.start()
    iam = srv.iam()
    names = set()
    for page in iam.get_paginator("list_roles").paginate():
        names.update(r["RoleName"] for r in page["Roles"])
    missing = [n for n in acknowledged if n not in names]
    assert not missing, f"{len(missing)} acknowledged roles lost: {missing[:10]}"
    # Still writable and consistent after the crash.
    iam.create_role(RoleName="after-crash", AssumeRolePolicyDocument=trust)
    assert iam.get_role(RoleName=acknowledged[0])["Role"]["RoleName"] == acknowledged[0]


# ---- SIGTERM ---------------------------------------------------------------------


def raw_request(srv, params, close):
    """The bytes of a signed POST, to send by hand on a socket."""
    method, target, headers, body = srv.sign(params)
    names = {k.lower() for k in headers}
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items())
    if "content-length" not in names:
        head += f"Content-Length: {len(body)}\r\n"
    if "host" not in names:
        head += f"Host: 127.0.0.1:{srv.port}\r\n"
    head += "Connection: close\r\n\r\n" if close else "\r\n"
    return head.encode(), body


def read_response(sock):
    """One HTTP/1.1 response with a Content-Length: (status line, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed early: {data[:300]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    assert m, head
    while len(body) < int(m.group(1)):
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the body"
        body += chunk
    return head.split(b"\r\n", 1)[0], body


def test_sigterm_finishes_request_in_flight(make_server):
    srv = make_server()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as s:
        # A first request on a keep-alive connection proves the server has
        # accepted the connection before the signal arrives.
        head, body = raw_request(srv, {"Action": "ListRoles"}, close=False)
        s.sendall(head + body)
        status, _ = read_response(s)
        assert status.startswith(b"HTTP/1.1 200"), status
        # The second request: headers and part of the body, then SIGTERM.
        head, body = raw_request(srv, {"Action": "ListOpenIDConnectProviders"}, close=True)
        assert len(body) > 10
        s.sendall(head + body[:5])
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        assert srv.wait_log(r"SIGTERM", timeout=5), srv.log()
        time.sleep(0.3)
        assert srv.running(), "exited with a request in flight"
        # No new connections once draining.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        s.sendall(body[5:])
        status, resp = read_response(s)
    assert status.startswith(b"HTTP/1.1 200"), (status, resp[:300])
    assert b"<ListOpenIDConnectProvidersResponse" in resp
    rc = srv.stop(timeout=STOP_TIMEOUT)
    assert rc == 0, srv.log()


def test_sigint_exits_0(make_server):
    srv = make_server()
    srv.signal(signal.SIGINT)
    assert srv.proc.wait(STOP_TIMEOUT) == 0


# ---- --dev and the trailing slash --------------------------------------------------


def test_http_provider_needs_dev(server, make_server):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.iam().create_open_id_connect_provider(
            Url="http://127.0.0.1:9999/x", ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])
    assert e.value.response["Error"]["Code"] == "ValidationError"

    dev = make_server("--dev")
    assert re.search(r"--dev", dev.log()), "the log warns that --dev is on"
    arn = dev.iam().create_open_id_connect_provider(
        Url="http://127.0.0.1:9999/x", ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])["OpenIDConnectProviderArn"]
    assert arn.endswith(":oidc-provider/127.0.0.1:9999/x")
    # --dev is about loopback hosts only.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        dev.iam().create_open_id_connect_provider(
            Url="http://issuer.example.com/x", ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_trailing_slash_is_kept_and_warned(server):
    iam = server.iam()
    with_slash = iam.create_open_id_connect_provider(
        Url="https://example.com/", ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])["OpenIDConnectProviderArn"]
    assert with_slash.endswith(":oidc-provider/example.com/")
    m = server.wait_log(r"warning[^\n]*https://example\.com/[^\n]*", timeout=5)
    assert m, server.log()[-3000:]
    assert "/" in m.group(0)
    # Significant: without the slash it is another provider.
    without = iam.create_open_id_connect_provider(
        Url="https://example.com", ClientIDList=[AUDIENCE], ThumbprintList=[GITHUB_THUMBPRINT])["OpenIDConnectProviderArn"]
    assert without.endswith(":oidc-provider/example.com")
    assert without != with_slash
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=with_slash)["Url"] == (
        "example.com/")


# ---- options ----------------------------------------------------------------------


def test_region_restriction(make_server):
    srv = make_server("--region", "eu-west-1")
    assert srv.iam(region="eu-west-1").list_roles()["Roles"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        srv.iam(region="us-east-1").list_roles()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_trust_policy_max_and_threads(make_server):
    srv = make_server("--trust-policy-max", "4096", "--threads", "1")
    account = srv.account_id()
    trust = seed_trust_policy(account)
    subs = [f"repo:octo-org/repository-number-{i:04d}:*" for i in range(80)]
    trust["Statement"][0]["Condition"]["StringLike"][
        "token.actions.githubusercontent.com:sub"] = subs
    size = len(json.dumps(trust, separators=(",", ":")))
    assert 2048 < size < 4096, size
    iam = srv.iam()
    iam.create_role(RoleName="big-trust", AssumeRolePolicyDocument=json.dumps(trust))
    assert iam.get_role(RoleName="big-trust")["Role"]["AssumeRolePolicyDocument"] == trust
    subs += [f"repo:octo-org/repository-number-{i:04d}:*" for i in range(80, 130)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_assume_role_policy(RoleName="big-trust", PolicyDocument=json.dumps(trust))
    assert e.value.response["Error"]["Code"] == "LimitExceeded"
    assert "4096" in e.value.response["Error"]["Message"]

    # One worker thread still serves concurrent clients.
    errors = []

    def reader():
        try:
            for _ in range(5):
                srv.iam().get_role(RoleName="big-trust")
        except Exception as ex:  # collected and asserted below
            errors.append(ex)

    ts = [threading.Thread(target=reader) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
