#!/usr/bin/python3
"""AssumeRoleWithWebIdentity throughput, compared with this machine's RSA
verification speed (issue 3: the goal is a ratio of 0.5 or better).

What it does:
  1. starts the test OIDC issuer of tests/integration/issuer.py (HTTPS on
     loopback, an RS256 key) and `tegata serve --dev --ca-file CA` on a fresh
     data directory, pinned to the "server" CPUs with --threads = their count;
  2. registers the issuer as a provider and a role trusting it (boto3, with
     the administrator key), pre-mints --tokens distinct RS256 tokens, and
     warms the key cache with one exchange;
  3. runs wrk (Debian package wrk) with bench/awrwi.lua, pinned to the
     "client" CPUs: --connections keep-alive connections for --duration
     seconds, each request the next token of the list; without wrk, a
     Python client (much slower: use wrk);
  4. runs `openssl speed -seconds 3 -elapsed rsa2048` on one server CPU and
     takes the 2048-bit verify/s;
  5. runs wrk on GET /healthz the same way (the HTTP and kernel work of a
     request alone, a baseline from the same run);
  6. prints requests/s, requests/s per server core, openssl verify/s and
     their ratio: (requests/s / server cores) / (verify/s on one core), and
     the time of one request split into the RSA verification, the HTTP
     baseline and the rest.

The server and the load generator share the machine; by default the upper
half of the CPUs serve and the lower half load (2 CPUs: one each). Run by
hand, not in CI:  bench/awrwi.py --tegata build/tegata
"""

import argparse
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
import urllib.parse

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.dont_write_bytecode = True

import issuer as I  # noqa: E402

for _k in list(os.environ):  # never the user's AWS configuration or a proxy
    if _k.startswith("AWS_") or _k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[_k]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import boto3  # noqa: E402
import botocore.config  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_split(spec_server, spec_client):
    cpus = sorted(os.sched_getaffinity(0))
    if spec_server:
        server = [int(c) for c in spec_server.split(",")]
    elif len(cpus) >= 2:
        server = cpus[len(cpus) // 2:]
    else:
        server = cpus
    if spec_client:
        client = [int(c) for c in spec_client.split(",")]
    else:
        client = [c for c in cpus if c not in server] or cpus
    return server, client


def taskset(cpus):
    return ["taskset", "-c", ",".join(map(str, cpus))] if shutil.which("taskset") else []


def openssl_verify_per_s(cpu, seconds):
    """2048-bit RSA verify/s of `openssl speed` on one CPU."""
    out = subprocess.run([*taskset([cpu]), "openssl", "speed", "-seconds", str(seconds),
                          "-elapsed", "rsa2048"], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    header = next(ln.split() for ln in out.splitlines() if "verify/s" in ln)
    row = next(ln for ln in out.splitlines() if re.match(r"\s*rsa\s+2048\s+bits", ln))
    values = row.split("bits", 1)[1].split()
    # header: sign verify sign/s verify/s (OpenSSL 3.0; later versions add
    # encrypt/decrypt columns): the values line up with the header names.
    return float(values[header.index("verify/s")].rstrip("s"))


class Tegata:
    def __init__(self, binary, cpus, ca_file, workdir, wrap=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = workdir / "data"
        self.log = open(workdir / "server.log", "wb")
        cmd = [*taskset(cpus), *wrap, binary, "serve", "--listen", f"127.0.0.1:{self.port}",
               "--data", str(self.data), "--dev", "--ca-file", ca_file,
               "--threads", str(len(cpus)), "--audit-file", str(workdir / "audit.log")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + (60 if wrap else 15)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"tegata serve did not start; see {workdir}/server.log")
                time.sleep(0.05)
        creds = (self.data / "admin.credentials").read_text()
        self.akid = re.search(r"aws_access_key_id\s*=\s*(\S+)", creds).group(1)
        self.secret = re.search(r"aws_secret_access_key\s*=\s*(\S+)", creds).group(1)

    def client(self, service):
        cfg = botocore.config.Config(retries={"total_max_attempts": 1})
        return boto3.session.Session(
            aws_access_key_id=self.akid, aws_secret_access_key=self.secret,
            region_name="us-east-1").client(service, endpoint_url=self.url, config=cfg)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def python_load(url, bodies, connections, duration):
    """A fallback load generator: one process per connection, keep-alive."""
    import http.client
    import multiprocessing

    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port

    def worker(i, q):
        conn = http.client.HTTPConnection(host, port)
        n = fails = 0
        k = i * 7919
        end = time.monotonic() + duration
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        while time.monotonic() < end:
            conn.request("POST", "/", body=bodies[k % len(bodies)], headers=hdr)
            r = conn.getresponse()
            r.read()
            n += 1
            fails += r.status != 200
            k += 1
        q.put((n, fails))

    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(i, q)) for i in range(connections)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - t0
    total = sum(r[0] for r in results)
    return total / elapsed, sum(r[1] for r in results), total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tegata", default=os.environ.get("TEGATA_BIN", str(REPO / "build/tegata")))
    ap.add_argument("--duration", type=int, default=10, help="seconds of load (default 10)")
    ap.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    ap.add_argument("--wrk-threads", type=int, default=0, help="default: client CPUs")
    ap.add_argument("--tokens", type=int, default=2000, help="distinct pre-minted tokens")
    ap.add_argument("--server-cpus", help="e.g. 2,3 (default: upper half of the CPUs)")
    ap.add_argument("--client-cpus", help="e.g. 0,1 (default: the other CPUs)")
    ap.add_argument("--openssl-seconds", type=int, default=3)
    ap.add_argument("--healthz-seconds", type=int, default=5,
                    help="seconds of GET /healthz load for the HTTP baseline (0: none)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON too")
    ap.add_argument("--server-wrap", default="",
                    help="a command to run the server under, for profiling "
                         "(e.g. 'valgrind --tool=callgrind')")
    args = ap.parse_args()
    if not os.access(args.tegata, os.X_OK):
        raise SystemExit(f"no tegata binary at {args.tegata} (build it, or --tegata PATH)")

    server_cpus, client_cpus = cpu_split(args.server_cpus, args.client_cpus)
    work = pathlib.Path(tempfile.mkdtemp(prefix="tegata-bench-"))
    oidc = I.TestIssuer().start()
    srv = None
    try:
        iss = oidc.add_issuer("/bench", ("RS256",))
        srv = Tegata(args.tegata, server_cpus, oidc.ca_file, work, args.server_wrap.split())
        iam = srv.client("iam")
        prov = iam.create_open_id_connect_provider(
            Url=iss.url, ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=[oidc.thumbprint])["OpenIDConnectProviderArn"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": prov},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{iss.host_path}:aud": "sts.amazonaws.com"},
                          "StringLike": {f"{iss.host_path}:sub": "repo:acme/app:*"}}}]}
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust),
                               MaxSessionDuration=3600)["Role"]["Arn"]

        t0 = time.monotonic()
        now = int(time.time())
        bodies = []
        for i in range(args.tokens):
            # GitHub-shaped claims, valid for the whole run; jti makes each distinct.
            claims = I.github_claims("acme/app", now=now, exp=now + 3600, run_id=str(i))
            bodies.append(urllib.parse.urlencode({
                "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                "RoleArn": role, "RoleSessionName": f"bench-{i}",
                "WebIdentityToken": iss.mint(claims)}))
        print(f"minted {len(bodies)} RS256 tokens in {time.monotonic() - t0:.1f} s", flush=True)
        bodies_file = work / "bodies.txt"
        bodies_file.write_text("\n".join(bodies) + "\n")

        # Warm the key cache (and check the setup) with one exchange.
        sts = boto3.session.Session(region_name="us-east-1").client(
            "sts", endpoint_url=srv.url,
            config=botocore.config.Config(retries={"total_max_attempts": 1}))
        sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="warm",
            WebIdentityToken=iss.mint(I.github_claims("acme/app")))
        fetches = dict(iss.counts)

        print(f"server: {args.tegata}, CPUs {server_cpus} ({len(server_cpus)} threads); "
              f"load: CPUs {client_cpus}, {args.connections} connections, {args.duration} s",
              flush=True)
        wrk = shutil.which("wrk")
        threads = args.wrk_threads or max(1, len(client_cpus))
        if wrk:
            out = subprocess.run(
                [*taskset(client_cpus), wrk, f"-t{threads}", f"-c{args.connections}",
                 f"-d{args.duration}s", "--latency", "-s", str(REPO / "bench/awrwi.lua"),
                 srv.url + "/", "--", str(bodies_file)],
                capture_output=True, text=True, timeout=args.duration + 120)
            print(out.stdout, out.stderr, sep="", end="")
            if out.returncode != 0:
                raise SystemExit(f"wrk failed ({out.returncode})")
            rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out.stdout).group(1))
            m = re.search(r"awrwi.lua: (\d+) requests, (\d+) failures", out.stdout)
            failures = int(m.group(2)) if m else 0
            m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out.stdout)
            failures = max(failures, int(m.group(1)) if m else 0)
        else:
            print("wrk not found (apt-get install wrk): using the slow Python client")
            rps, failures, _total = python_load(srv.url, [b.encode() for b in bodies],
                                                args.connections, args.duration)
        if iss.counts != fetches:
            print(f"note: the issuer was fetched during the run: {iss.counts}")

        # The same server and load generator on GET /healthz: the HTTP and
        # kernel work of a request with nothing else, as a baseline.
        healthz = None
        if wrk and args.healthz_seconds > 0:
            out = subprocess.run(
                [*taskset(client_cpus), wrk, f"-t{threads}", f"-c{args.connections}",
                 f"-d{args.healthz_seconds}s", srv.url + "/healthz"],
                capture_output=True, text=True, timeout=args.healthz_seconds + 60)
            m = re.search(r"Requests/sec:\s*([\d.]+)", out.stdout)
            healthz = float(m.group(1)) if m and out.returncode == 0 else None

        verify = openssl_verify_per_s(server_cpus[0], args.openssl_seconds)
        per_core = rps / len(server_cpus)
        ratio = per_core / verify
        print()
        print(f"AssumeRoleWithWebIdentity: {rps:.0f} requests/s "
              f"({per_core:.0f} per server core, {failures} failed)")
        print(f"openssl speed rsa2048 (one core): {verify:.0f} verify/s")
        print(f"ratio (requests/s per server core / verify/s): {ratio:.2f} (goal: 0.5 or better)")
        split = None
        if healthz:
            h_core = healthz / len(server_cpus)
            total, rsa, http = 1e6 / per_core, 1e6 / verify, 1e6 / h_core
            split = {"total_us": total, "rsa_us": rsa, "http_us": http,
                     "rest_us": total - rsa - http}
            print(f"GET /healthz (HTTP and kernel only): {healthz:.0f} requests/s")
            print(f"per request on one core: {total:.1f} us = RSA verify {rsa:.1f} + HTTP "
                  f"{http:.1f} + the rest {total - rsa - http:.1f}; with the rest at zero the "
                  f"ratio would be {h_core / (h_core + verify):.2f}")
        if args.json:
            print(json.dumps({"requests_per_s": rps, "server_cores": len(server_cpus),
                              "failures": failures, "openssl_verify_per_s": verify,
                              "ratio": ratio, "healthz_per_s": healthz, "split": split}))
        if failures:
            raise SystemExit(f"{failures} requests failed: see {work}/server.log")
    finally:
        if srv is not None:
            srv.stop()
        oidc.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
