"""The wire: /healthz, the Query protocol over POST and GET, SigV4 checks
(spec 9), AWS error documents and the x-amzn-RequestId header. Requests are
signed with botocore's own SigV4Auth and sent with http.client, so that the
clock and the bytes are under the test's control."""

import os
import selectors
import signal
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import IAM_NS, UUID_RE, xml_error


def assert_error(resp, code, status):
    assert resp.status == status, (resp.status, resp.body)
    got_code, message, request_id = xml_error(resp.body)
    assert got_code == code, resp.body
    assert message, resp.body
    # The header and the document carry the same request id.
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-requestid", "")), resp.headers
    assert request_id == resp.headers["x-amzn-requestid"]
    return message


def test_healthz(server):
    r = server.request("GET", "/healthz")
    assert r.status == 200
    assert r.body.strip() == b"ok"


def test_listening_line_in_log(server):
    assert f"listening on http://127.0.0.1:{server.port}" in server.log()


def test_signed_post_succeeds(server):
    """Positive control for the signing helper used below."""
    r = server.signed_request({"Action": "ListRoles"})
    assert r.status == 200, r.body
    root = ET.fromstring(r.body)
    assert root.tag == IAM_NS + "ListRolesResponse"
    assert root.find(f"{IAM_NS}ListRolesResult/{IAM_NS}Roles") is not None
    rid = root.findtext(f"{IAM_NS}ResponseMetadata/{IAM_NS}RequestId")
    assert UUID_RE.fullmatch(rid)
    assert r.headers["x-amzn-requestid"] == rid


def test_signed_get_query_string(server):
    r = server.signed_request({"Action": "ListOpenIDConnectProviders"}, method="GET")
    assert r.status == 200, r.body
    root = ET.fromstring(r.body)
    assert root.tag == IAM_NS + "ListOpenIDConnectProvidersResponse"


def test_request_ids_are_unique(server):
    ids = {server.signed_request({"Action": "ListRoles"}).headers["x-amzn-requestid"]
           for _ in range(3)}
    assert len(ids) == 3


def test_unsigned_post_is_refused(server):
    body = urllib.parse.urlencode({"Action": "ListRoles", "Version": "2010-05-08"}).encode()
    r = server.request("POST", "/", body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, "MissingAuthenticationToken", 403)


def test_unknown_action(server):
    r = server.signed_request({"Action": "DescribeEverything"})
    assert_error(r, "InvalidAction", 400)


def test_missing_action(server):
    r = server.signed_request({})
    code, _, _ = xml_error(r.body)
    assert r.status == 400
    assert code in ("MissingAction", "InvalidAction")
    assert_error(server.request("GET", "/"), "MissingAction", 400)


def test_body_too_large(server):
    """A declared body over 1 MiB (TG_HTTP_MAX_BODY) is refused at once,
    before it is sent: only the headers go out, the answer comes back."""
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {1024 * 1024 + 1}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode())
        resp = b""
        while b"</ErrorResponse>" not in resp:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    status, _, rest = resp.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413"), resp[:300]
    assert b"<Code>RequestEntityTooLarge</Code>" in rest
    # The server is still fine afterwards.
    assert server.signed_request({"Action": "ListRoles"}).status == 200


def raw_exchange(server, head):
    """Sends head (request line and headers, no body) on a new connection;
    returns (status line, the rest of the response)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode())
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    status, _, rest = resp.partition(b"\r\n")
    return status, rest


@pytest.mark.parametrize("target_len", [8000, 16384])
def test_long_request_target_reaches_the_server(server, target_len):
    """A request target up to TG_HTTP_MAX_URI (16 KiB: a presigned GET with a
    policy and a session token) with large headers besides still fits the
    connection's memory (TG_HTTP_CONNECTION_MEMORY) and gets an AWS answer."""
    prefix = "/?Action=ListRoles&Version=2010-05-08&X-Pad="
    target = prefix + "a" * (target_len - len(prefix))
    assert len(target) == target_len
    head = (
        f"GET {target} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"X-Amz-Security-Token: {'t' * 8000}\r\n"
        f"User-Agent: {'u' * 2000}\r\n"
        "Connection: close\r\n\r\n"
    )
    status, rest = raw_exchange(server, head)
    assert status.startswith(b"HTTP/1.1 403"), (status, rest[:300])
    assert b"<Code>MissingAuthenticationToken</Code>" in rest


def test_request_target_too_long(server):
    target = "/?Action=ListRoles&X-Pad=" + "a" * 16384
    status, _ = raw_exchange(server, f"GET {target} HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 414"), status
    assert server.signed_request({"Action": "ListRoles"}).status == 200


@pytest.mark.parametrize("skew", [-20 * 60, 20 * 60])
def test_skewed_clock_is_refused(server, skew):
    """Spec 9: +-15 minutes; AWS answers SignatureDoesNotMatch "Signature
    expired" (RequestExpired is the presigned-URL variant)."""
    r = server.signed_request({"Action": "ListRoles"}, skew=skew)
    assert r.status in (400, 403), r.body
    code, message, _ = xml_error(r.body)
    assert code in ("SignatureDoesNotMatch", "RequestExpired"), r.body
    assert UUID_RE.fullmatch(r.headers.get("x-amzn-requestid", ""))


def test_small_skew_is_accepted(server):
    r = server.signed_request({"Action": "ListRoles"}, skew=-5 * 60)
    assert r.status == 200, r.body


def test_wrong_secret_raw(server):
    _, secret = server.credentials()
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    r = server.signed_request({"Action": "ListRoles"}, secret=wrong)
    assert_error(r, "SignatureDoesNotMatch", 403)


def test_tampered_body_is_refused(server):
    method, target, headers, body = server.sign({"Action": "ListRoles", "MaxItems": "1"})
    assert b"MaxItems=1" in body
    body = body.replace(b"MaxItems=1", b"MaxItems=2")
    r = server.request(method, target, body=body, headers=headers)
    assert_error(r, "SignatureDoesNotMatch", 403)


def test_wrong_service_scope(server):
    r = server.signed_request({"Action": "ListRoles"}, service="sts")
    assert_error(r, "SignatureDoesNotMatch", 403)


def test_any_region_by_default(server):
    r = server.signed_request({"Action": "ListRoles"}, region="eu-central-1")
    assert r.status == 200, r.body


def test_unsupported_method(server):
    r = server.request("DELETE", "/")
    assert 400 <= r.status < 500
    assert "x-amzn-requestid" in r.headers


def test_presigned_get(server):
    r = server.signed_request({"Action": "ListRoles"}, method="GET", presign_expires=300)
    assert r.status == 200, r.body
    assert ET.fromstring(r.body).tag == IAM_NS + "ListRolesResponse"


def test_presigned_get_expired(server):
    """Signed 10 minutes ago, valid for 60 s: RequestExpired (spec 9)."""
    method, target, headers, body = server.sign(
        {"Action": "ListRoles"}, method="GET", presign_expires=60, skew=-600)
    assert "X-Amz-Signature=" in target
    assert "Authorization" not in headers
    r = server.request(method, target, body=body, headers=headers)
    assert_error(r, "RequestExpired", 400)


def test_presigned_get_tampered(server):
    method, target, headers, body = server.sign(
        {"Action": "ListRoles", "MaxItems": "1"}, method="GET", presign_expires=300)
    assert "MaxItems=1" in target
    r = server.request(method, target.replace("MaxItems=1", "MaxItems=2"), headers=headers)
    assert_error(r, "SignatureDoesNotMatch", 403)


@pytest.mark.parametrize("n", [128, 256])
def test_many_requests_ready_at_once(make_server, n):
    """n keep-alive connections whose requests all arrive while the server is
    stopped (SIGSTOP) are all answered once it runs again. libmicrohttpd
    0.9.75 (Debian 12) in its epoll mode takes up to 128 events per
    epoll_wait and, when it got exactly 128, waits again with the full
    timeout before serving them: with 128 or 256 requests ready at once
    nothing was answered until the 30 s connection timeout. tegata runs it
    in poll mode."""
    srv = make_server("--threads", "1")
    head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode()
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(n)]
    try:
        def answer_all(deadline_s):
            sel = selectors.DefaultSelector()
            got = {}
            for s in socks:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
                got[s] = b""
            deadline = time.monotonic() + deadline_s
            done = 0
            while done < n and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.1):
                    chunk = key.fileobj.recv(4096)
                    assert chunk, "the server closed a keep-alive connection"
                    got[key.fileobj] += chunk
                    if got[key.fileobj].endswith(b"\r\n\r\nok\n"):
                        sel.unregister(key.fileobj)
                        done += 1
            sel.close()
            for s in socks:
                s.setblocking(True)
            assert done == n, f"{n - done} of {n} requests unanswered after {deadline_s} s"
            assert all(v.startswith(b"HTTP/1.1 200") for v in got.values())

        # Every connection accepted and served once, then idle.
        for s in socks:
            s.sendall(head)
        answer_all(10)
        for _ in range(2):
            os.kill(srv.proc.pid, signal.SIGSTOP)
            try:
                for s in socks:
                    s.sendall(head)
                time.sleep(0.2)
            finally:
                os.kill(srv.proc.pid, signal.SIGCONT)
            answer_all(5)
    finally:
        for s in socks:
            s.close()
