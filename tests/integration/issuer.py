"""A test OIDC issuer for the integration tests and the benchmark.

A threaded HTTPS server on 127.0.0.1 (a free port) with a certificate
authority and a server certificate generated at start
(python3-cryptography); the CA is written as PEM to a temporary file, for
`tegata serve --ca-file`. It serves, for any number of issuers that differ by
path (`/gh`, `/vstoken.dev.azure.com/<guid>`, ...):

    <path>/.well-known/openid-configuration   discovery; "issuer" is exactly
                                              https://127.0.0.1:PORT<path>
    <path>/.well-known/jwks                   the key set (GitHub's layout)

Tokens are signed by Debian's python3-jwt (PyJWT 2.6) with keys made by
python3-cryptography: an implementation independent of tegata's jose module.
The hand-crafted bad tokens (alg none, HS256 keyed with the RSA public key,
a `jwk` header, a tampered payload, an ECDSA signature of zeros, ...) are
built here byte by byte, since PyJWT refuses to make most of them.

Switches for the tests: per issuer, the JWKS (or discovery) endpoint can
answer 500, drop the connection or hang; the whole server can stop listening
(connection refused) and come back on the same port; keys can be added and
removed (rotation); every request is counted.

Run alone (`python3 tests/integration/issuer.py /gh`), it serves until
interrupted and prints the issuer URL, the CA file and an RS256 token.
"""

import base64
import datetime
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import shutil
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

# Every algorithm the issue names (spec 1.2: AWS accepts RS* and ES*;
# tegata adds PS* and EdDSA per provider).
RSA_ALGS = ("RS256", "RS384", "RS512")
PSS_ALGS = ("PS256", "PS384", "PS512")
EC_ALGS = ("ES256", "ES384", "ES512")
ALL_ALGS = RSA_ALGS + PSS_ALGS + EC_ALGS + ("EdDSA",)
AWS_ALGS = RSA_ALGS + EC_ALGS

# RSA sizes: 2048 is the minimum tegata accepts; larger sizes for the
# larger hashes exercise other moduli without slowing key generation much.
_RSA_BITS = {"RS256": 2048, "RS384": 3072, "RS512": 2048, "PS256": 2048, "PS384": 2048,
             "PS512": 3072}
_EC_CURVES = {"ES256": (ec.SECP256R1, "P-256", 32), "ES384": (ec.SECP384R1, "P-384", 48),
              "ES512": (ec.SECP521R1, "P-521", 66)}
_EC_HASH = {"ES256": hashes.SHA256, "ES384": hashes.SHA384, "ES512": hashes.SHA512}


def b64u(data):
    """base64url without padding (RFC 7515 section 2)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint_b64u(n, length=None):
    """An unsigned big-endian integer, minimal or zero-padded to length
    bytes (RFC 7518 section 6.2.1.2 / 6.3.1.1)."""
    length = length or max(1, (n.bit_length() + 7) // 8)
    return b64u(n.to_bytes(length, "big"))


def compact(header, payload, signature=b""):
    """A JWS in compact serialization from a header dict, a payload (dict or
    bytes) and raw signature bytes, with no check at all."""
    h = b64u(json.dumps(header, separators=(",", ":")))
    p = b64u(payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")))
    return f"{h}.{p}.{b64u(signature)}"


def split(token):
    """(header dict, payload dict, signature bytes) of a compact JWS."""
    h, p, s = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p)), b64u_decode(s)


class Key:
    """One signing key and its public JWK."""

    def __init__(self, alg, kid=None):
        self.alg = alg
        self.kid = kid or f"{alg.lower()}-{uuid.uuid4().hex[:12]}"
        if alg in RSA_ALGS or alg in PSS_ALGS:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[alg])
        elif alg in EC_ALGS:
            self.private = ec.generate_private_key(_EC_CURVES[alg][0]())
        elif alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(f"unsupported algorithm {alg}")
        self.public = self.private.public_key()

    def jwk(self):
        """The public JWK, built by hand from the key's numbers."""
        d = {"kid": self.kid, "use": "sig", "alg": self.alg}
        if isinstance(self.public, rsa.RSAPublicKey):
            nums = self.public.public_numbers()
            d.update(kty="RSA", n=_uint_b64u(nums.n), e=_uint_b64u(nums.e))
        elif isinstance(self.public, ec.EllipticCurvePublicKey):
            _curve, crv, size = _EC_CURVES[self.alg]
            nums = self.public.public_numbers()
            d.update(kty="EC", crv=crv, x=_uint_b64u(nums.x, size), y=_uint_b64u(nums.y, size))
        else:
            raw = self.public.public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
            d.update(kty="OKP", crv="Ed25519", x=b64u(raw))
        return d

    def public_pem(self):
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims, headers=None):
        """A token signed by PyJWT with this key; headers are added to
        {"alg", "typ": "JWT", "kid"} (None values remove a member)."""
        hdr = {"kid": self.kid, "typ": "JWT"}
        hdr.update(headers or {})
        # PyJWT 2.6 always writes alg and typ; it leaves out a kid we set to None
        # only if we remove it ourselves.
        hdr = {k: v for k, v in hdr.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=hdr)


class Issuer:
    """One issuer (a path on the server) with its keys and switches."""

    def __init__(self, server, path, algs=("RS256",)):
        self.server = server
        self.path = path
        self.keys = {}  # kid -> Key, in insertion order (the JWKS order)
        self.extra_jwks = []  # raw JWK dicts published as they are
        self.lock = threading.Lock()
        self.counts = {"discovery": 0, "jwks": 0}
        self.last_fetch = 0.0  # time.monotonic() of the last discovery or JWKS request
        # None: serve; an int: that HTTP status; "reset": close without an
        # answer; ("hang", seconds): answer 200 after a delay.
        self.jwks_failure = None
        self.discovery_failure = None
        self.cache_control = "public, max-age=300"
        self.discovery_issuer = None  # override the "issuer" member (a mismatch test)
        for alg in algs:
            self.add_key(alg)

    @property
    def url(self):
        """The issuer URL, the exact iss of its tokens."""
        return self.server.base_url + self.path

    @property
    def host_path(self):
        """The URL without https://, as in provider ARNs and condition keys."""
        return self.url[len("https://"):]

    @property
    def jwks_uri(self):
        return self.url + "/.well-known/jwks"

    # ---- keys -----------------------------------------------------------

    def add_key(self, alg, kid=None):
        key = Key(alg, kid)
        with self.lock:
            self.keys[key.kid] = key
        return key

    def remove_key(self, kid):
        with self.lock:
            del self.keys[kid]

    def key(self, alg=None):
        """The first key of alg (any alg when None)."""
        with self.lock:
            for k in self.keys.values():
                if alg is None or k.alg == alg:
                    return k
        raise KeyError(alg)

    def jwks(self):
        with self.lock:
            return {"keys": [k.jwk() for k in self.keys.values()] + list(self.extra_jwks)}

    def discovery(self):
        return {
            "issuer": self.discovery_issuer or self.url,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": sorted({k.alg for k in self.keys.values()}),
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf", "jti"],
        }

    # ---- tokens -----------------------------------------------------------

    def mint(self, claims, alg=None, kid=None, headers=None):
        """A good token for claims: iss is set to this issuer unless claims
        has one. Signed by PyJWT with the key kid, else the first key of alg."""
        claims = dict(claims)
        claims.setdefault("iss", self.url)
        key = self.keys[kid] if kid else self.key(alg)
        return key.sign(claims, headers)

    # ---- switches -----------------------------------------------------------

    def fail_jwks(self, mode=500):
        """mode: an HTTP status, "reset", ("hang", seconds), or None to serve."""
        self.jwks_failure = mode

    def fail_discovery(self, mode=500):
        self.discovery_failure = mode

    def reset_counts(self):
        with self.lock:
            self.counts = {"discovery": 0, "jwks": 0}


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped listener refuses
    # every later request (no kept-alive connection outlives it).
    protocol_version = "HTTP/1.0"
    server_version = "tegata-test-issuer"

    def setup(self):
        self.request.settimeout(10)
        try:
            self.request.do_handshake()
        except (OSError, ssl.SSLError):
            self.request.close()
            raise
        super().setup()

    def log_message(self, fmt, *args):  # quiet; the counters tell the tests
        pass

    def _send(self, status, body, content_type="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _failure(self, mode):
        """Carries out a failure switch; True when the request is answered."""
        if mode is None:
            return False
        if mode == "reset":
            # No status line at all: libcurl reports "Empty reply from server".
            self.close_connection = True
            return True
        if isinstance(mode, tuple) and mode[0] == "hang":
            time.sleep(mode[1])
            return False
        self._send(int(mode), {"error": "test issuer: failure switch on"})
        return True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.owner.count_request(self.path)
        iss, rest = self.server.owner.route(self.path.split("?", 1)[0])
        if iss is None:
            self._send(404, {"error": "no such issuer"})
            return
        if rest == "/.well-known/openid-configuration":
            with iss.lock:
                iss.counts["discovery"] += 1
                iss.last_fetch = time.monotonic()
            if self._failure(iss.discovery_failure):
                return
            self._send(200, iss.discovery())
        elif rest == "/.well-known/jwks":
            with iss.lock:
                iss.counts["jwks"] += 1
                iss.last_fetch = time.monotonic()
            if self._failure(iss.jwks_failure):
                return
            self._send(200, iss.jwks(), "application/json",
                       {"Cache-Control": iss.cache_control} if iss.cache_control else None)
        else:
            self._send(404, {"error": "not found"})


class _HTTPSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, owner, context):
        self.owner = owner
        self.context = context
        super().__init__(addr, _Handler)

    def get_request(self):
        # The TLS handshake runs in the handler thread (_Handler.setup), so a
        # slow client never blocks the accept loop.
        sock, addr = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # handshake failures and resets are part of the tests


def _make_ca_and_cert(tmpdir):
    """A CA and a server certificate for 127.0.0.1 and localhost, valid from
    a day ago (a server under libfaketime may run behind) for 30 days.
    Returns (ca_pem_path, chain_pem_path, key_pem_path, the CA's SHA-1
    thumbprint in hex)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tegata test issuer CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = []
    for name, data in (
        ("ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        # The chain as servers send it, leaf then CA: AWS's thumbprint is the
        # SHA-1 of the last certificate served (spec 2 step 4).
        ("cert.pem", cert.public_bytes(serialization.Encoding.PEM)
         + ca.public_bytes(serialization.Encoding.PEM)),
        ("key.pem", key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())),
    ):
        p = os.path.join(tmpdir, name)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    thumbprint = hashlib.sha1(ca.public_bytes(serialization.Encoding.DER)).hexdigest()
    return (*paths, thumbprint)


class TestIssuer:
    """The HTTPS server holding any number of issuers."""

    __test__ = False  # not a pytest test class

    def __init__(self):
        self.tmpdir = tempfile.mkdtemp(prefix="tegata-issuer-")
        self.ca_file, cert, key, self.thumbprint = _make_ca_and_cert(self.tmpdir)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.issuers = {}  # path -> Issuer
        self.port = None
        self.requests = 0  # every request, whatever its path
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        self._listen(0)
        return self

    def _listen(self, port):
        self._httpd = _HTTPSServer(("127.0.0.1", port), self, self.context)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop_listening(self):
        """Closes the listening socket: connections are refused until
        resume_listening()."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None

    def resume_listening(self):
        """Listens again on the same port (retrying while it is in TIME_WAIT
        trouble for a moment)."""
        if self._httpd is not None:
            return
        deadline = time.monotonic() + 5
        while True:
            try:
                self._listen(self.port)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self):
        self.stop_listening()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # ---- issuers ------------------------------------------------------------

    def add_issuer(self, path, algs=("RS256",)):
        """A new issuer at path ("/gh", "/vstoken.dev.azure.com/<guid>"),
        with one key per algorithm of algs."""
        if not path.startswith("/") or path.endswith("/"):
            raise ValueError("an issuer path starts with / and does not end with /")
        iss = Issuer(self, path, algs)
        with self._lock:
            self.issuers[path] = iss
        return iss

    def route(self, path):
        """(issuer, rest of the path) by the longest issuer path prefix."""
        with self._lock:
            best = None
            for p, iss in self.issuers.items():
                if path.startswith(p + "/") and (best is None or len(p) > len(best.path)):
                    best = iss
        if best is None:
            return None, None
        return best, path[len(best.path):]

    def count_request(self, _path):
        with self._lock:
            self.requests += 1


# ---- claims shaped like the CI platforms' tokens (spec ci-tokens.md) ----------


def _times(lifetime, nbf_before=0, now=None):
    now = int(time.time() if now is None else now)
    t = {"iat": now, "exp": now + lifetime}
    if nbf_before is not None:
        t["nbf"] = now - nbf_before
    return t


def github_claims(repo="acme/app", context="ref:refs/heads/main", aud="sts.amazonaws.com",
                  now=None, **extra):
    """GitHub Actions (ci-tokens.md 1.3): exp = iat + 300, nbf = iat - 600;
    every custom claim a string."""
    owner = repo.split("/")[0]
    c = {
        "jti": str(uuid.uuid4()),
        "sub": f"repo:{repo}:{context}",
        "aud": aud,
        "ref": "refs/heads/main",
        "sha": hashlib.sha1(repo.encode()).hexdigest(),
        "repository": repo,
        "repository_owner": owner,
        "repository_owner_id": "65",
        "repository_visibility": "private",
        "repository_id": "74",
        "actor_id": "12",
        "actor": "octocat",
        "run_id": "5234567890",
        "run_number": "10",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "workflow": "deploy",
        "workflow_ref": f"{repo}/.github/workflows/deploy.yml@refs/heads/main",
        "job_workflow_ref": f"{repo}/.github/workflows/deploy.yml@refs/heads/main",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        **_times(300, 600, now),
    }
    c.update(extra)
    return c


def gitlab_claims(project="acme/app", ref="main", ref_type="branch", aud="sts.amazonaws.com",
                  now=None, **extra):
    """GitLab CI id_tokens (ci-tokens.md 2): nbf = iat - 5; ref_protected a
    string; runner_id a number."""
    group = project.rsplit("/", 1)[0]
    c = {
        "jti": str(uuid.uuid4()),
        "sub": f"project_path:{project}:ref_type:{ref_type}:ref:{ref}",
        "aud": aud,
        "namespace_id": "72",
        "namespace_path": group,
        "project_id": "20",
        "project_path": project,
        "user_id": "1",
        "user_login": "dev",
        "user_email": "dev@example.com",
        "user_access_level": "maintainer",
        "pipeline_id": "574",
        "pipeline_source": "push",
        "job_id": "302",
        "ref": ref,
        "ref_type": ref_type,
        "ref_path": f"refs/heads/{ref}" if ref_type == "branch" else f"refs/tags/{ref}",
        "ref_protected": "true" if ref == "main" else "false",
        "runner_id": 42,
        "runner_environment": "gitlab-hosted",
        "sha": hashlib.sha1(project.encode()).hexdigest(),
        "project_visibility": "private",
        "ci_config_ref_uri": f"gitlab.example.com/{project}//.gitlab-ci.yml@refs/heads/{ref}",
        "ci_config_sha": hashlib.sha1(ref.encode()).hexdigest(),
        "groups_direct": [group, f"{group}/platform"],
        **_times(3600, 5, now),
    }
    c.update(extra)
    return c


def circleci_claims(org_id, project_id, user_id, context_ids=(), vcs_ref="refs/heads/main",
                    aud=None, now=None, **extra):
    """CircleCI (ci-tokens.md 3): per-org issuer, aud = the org id, V1
    subject, namespaced claims, exp = iat + 1 h."""
    c = {
        "sub": f"org/{org_id}/project/{project_id}/user/{user_id}",
        "aud": aud or org_id,
        "oidc.circleci.com/project-id": project_id,
        "oidc.circleci.com/vcs-origin": "github.com/acme/app",
        "oidc.circleci.com/vcs-ref": vcs_ref,
        "oidc.circleci.com/context-ids": list(context_ids),
        "oidc.circleci.com/ssh-rerun": False,
        **_times(3600, None, now),
    }
    c.update(extra)
    return c


def azure_devops_claims(org="acme", project="web", connection="aws-prod",
                        aud="api://AzureADTokenExchange", now=None, **extra):
    """Azure DevOps legacy issuer (ci-tokens.md 4): sub
    sc://ORG/PROJECT/CONNECTION, aud api://AzureADTokenExchange."""
    c = {
        "jti": str(uuid.uuid4()),
        "sub": f"sc://{org}/{project}/{connection}",
        "aud": aud,
        **_times(600, 0, now),
    }
    c.update(extra)
    return c


# ---- hand-crafted bad tokens ----------------------------------------------------


def token_alg_none(claims, kid=None):
    """alg "none" with an empty signature (RFC 7519 6.1, the unsecured JWT)."""
    hdr = {"alg": "none", "typ": "JWT"}
    if kid:
        hdr["kid"] = kid
    return compact(hdr, claims)


def token_hs256_with_public_key(claims, key):
    """HS256 keyed with the RSA key's public PEM, the key-confusion attack
    (CVE-2015-9235 and kin): a verifier that takes alg from the token and
    feeds it the "key" it found would accept this. PyJWT refuses to make it."""
    hdr = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    h = b64u(json.dumps(hdr, separators=(",", ":")))
    p = b64u(json.dumps(claims, separators=(",", ":")))
    mac = hmac.new(key.public_pem(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64u(mac)}"


def token_with_jwk_header(claims, kid):
    """RS256 signed by an attacker's fresh key, which the header carries as
    `jwk` (RFC 7515 4.1.3); kid names the issuer's real key, so only a
    verifier that uses the header key accepts it (CVE-2018-0114)."""
    attacker = Key("RS256")
    return attacker.sign(claims, {"kid": kid, "jwk": {k: v for k, v in attacker.jwk().items()
                                                         if k in ("kty", "n", "e")}})


def token_unknown_kid(claims, alg="RS256"):
    """Signed by a key the issuer does not publish, under a kid nobody has."""
    return Key(alg, kid=f"unknown-{uuid.uuid4().hex[:8]}").sign(claims)


def tamper_payload(token, **changes):
    """The token with claims changed and the original signature kept."""
    h, p, s = token.split(".")
    claims = json.loads(b64u_decode(p))
    claims.update(changes)
    return f"{h}.{b64u(json.dumps(claims, separators=(',', ':')))}.{s}"


def token_ecdsa_zero_signature(claims, key):
    """ES* with r = s = 0 (CVE-2022-21449, "psychic signatures"): the raw
    r||s form of the right length, all zero bytes."""
    size = _EC_CURVES[key.alg][2]
    return compact({"alg": key.alg, "typ": "JWT", "kid": key.kid}, claims, b"\0" * (2 * size))


def token_ecdsa_der_signature(claims, key):
    """ES* with a valid signature in DER instead of JWS's raw r||s: a
    verifier must refuse it (RFC 7518 3.4)."""
    h = b64u(json.dumps({"alg": key.alg, "typ": "JWT", "kid": key.kid}, separators=(",", ":")))
    p = b64u(json.dumps(claims, separators=(",", ":")))
    der = key.private.sign(f"{h}.{p}".encode(), ec.ECDSA(_EC_HASH[key.alg]()))
    return f"{h}.{p}.{b64u(der)}"


def token_rsa_pss_as_rs256(claims, key):
    """A PSS signature under the RS256 label (a padding confusion)."""
    h = b64u(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key.kid}, separators=(",", ":")))
    p = b64u(json.dumps(claims, separators=(",", ":")))
    sig = key.private.sign(f"{h}.{p}".encode(),
                           padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                           hashes.SHA256())
    return f"{h}.{p}.{b64u(sig)}"


def main(argv):
    paths = argv[1:] or ["/test"]
    srv = TestIssuer().start()
    for p in paths:
        iss = srv.add_issuer(p, ALL_ALGS)
        print(f"issuer {iss.url}")
        print(f"  jwks   {iss.jwks_uri}")
        print(f"  token  {iss.mint(github_claims(), 'RS256')}")
    print(f"CA file {srv.ca_file}  (tegata serve --dev --ca-file {srv.ca_file})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
