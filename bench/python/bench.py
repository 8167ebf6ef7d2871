"""Python rows of the benchmark suite (run by bench/run.sh; see bench/README.md).

Prints one JSON line per result, prefixed with "@@ ". Usage:

    python bench.py --rs SERVER_JSON --es SERVER_JSON [--only NAME,...] [--quick]

SERVER_JSON files hold the line printed by `synapse-auth serve --json` for an RS256
and an ES256 reference server. Peers: msal, azure-identity and google-auth (their
token endpoint is the reference server; msal and azure-identity read OpenID
discovery from a small local stub started here, since the reference server has
none), pyca/cryptography, PyJWT, joserfc and authlib.jose, and requests.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import logging
import os
import ssl
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

import requests

import synapsestream_auth
from synapsestream_auth import Client
from synapsestream_auth.requests import SynapseAuth

logging.getLogger("azure").setLevel(logging.ERROR)
logging.getLogger("msal").setLevel(logging.ERROR)

QUICK = False


def emit(id: str, **fields: Any) -> None:
    fields["id"] = id
    print("@@ " + json.dumps(fields), flush=True)


def note(msg: str) -> None:
    print(f"[python] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measurement


def per_call_ns(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def calibrate(fn: Callable[[], Any], batch_s: float = 0.02) -> int:
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > batch_s / 4 or n > 10_000_000:
            dt = (time.perf_counter() - t0) / n
            return max(1, int(batch_s / max(dt, 1e-9)))
        n *= 4


def paired(fns: Dict[str, Callable[[], Any]], rounds: int = 15, batch_s: float = 0.02) -> Dict[str, Any]:
    """Times each callable in batches, rotating the order every round. Returns the
    median ns per call of each, and the per-round ratio of each to the first."""
    names = list(fns)
    counts = {k: calibrate(f, batch_s) for k, f in fns.items()}
    if QUICK:
        rounds = max(3, rounds // 3)
    per: Dict[str, List[float]] = {k: [] for k in names}
    ratios: Dict[str, List[float]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        got = {k: per_call_ns(fns[k], counts[k]) for k in order}
        for k in names:
            per[k].append(got[k])
            ratios[k].append(got[k] / got[names[0]])
    return {
        "ns": {k: statistics.median(v) for k, v in per.items()},
        "ratio_to_first": {k: statistics.median(v) for k, v in ratios.items()},
        "rounds": rounds,
    }


def pct(values: List[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, min(len(s), int(-(-p * len(s) // 1))))
    return s[k - 1]


# ---------------------------------------------------------------- servers


class Server:
    def __init__(self, path: str) -> None:
        with open(path) as f:
            info = json.loads(f.readline())
        self.info = info
        self.base_url: str = info["base_url"]
        self.ca: str = info["ca_pem_path"]
        self.admin_token: str = info["admin_token"]
        dev = info["clients"][0]
        self.client_id: str = dev["client_id"]
        self.client_secret: str = dev["client_secret"]
        self.issuer: str = info.get("issuer") or self.base_url
        self.audience: str = info.get("audience") or "https://api.synapsestream.io"
        self.http = requests.Session()
        self.http.verify = self.ca

    def admin(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        r = self.http.request(
            method, self.base_url + path, json=body, headers={"X-Admin-Token": self.admin_token}, verify=self.ca
        )
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self.admin("POST", "/admin/reset")

    def token_requests(self) -> int:
        return int(self.admin("GET", "/admin/counters")["token_requests"]["total"])

    def token_latency(self, ms: int) -> None:
        self.admin("DELETE", "/admin/faults")
        if ms:
            self.admin("POST", "/admin/faults", {"target": "token", "latency_ms": ms})

    def token_ttl(self, secs: int) -> None:
        self.admin("POST", "/admin/config", {"token_ttl_secs": secs})

    def client(self, **extra: Any) -> Client:
        return Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=["inference", "training"],
            base_url=self.base_url,
            ca_file=self.ca,
            **extra,
        )

    def refresh_token(self) -> str:
        r = self.http.post(
            self.base_url + "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "inference training"},
            auth=(self.client_id, self.client_secret),
            verify=self.ca,
        )
        r.raise_for_status()
        return str(r.json()["refresh_token"])


class DiscoveryStub:
    """OpenID discovery for msal / azure-identity, pointing at the reference server's
    token endpoint (the reference server serves no discovery document). HTTPS with a
    throw-away self-signed certificate; answers any */.well-known/openid-configuration."""

    def __init__(self, ref: Server, workdir: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-discovery-stub")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256())
        )
        self.cert_path = os.path.join(workdir, "stub-cert.pem")
        key_path = os.path.join(workdir, "stub-key.pem")
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        token_endpoint = ref.base_url + "/oauth2/token"
        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.requests += 1
                if not self.path.split("?")[0].endswith("/.well-known/openid-configuration"):
                    self.send_error(404)
                    return
                base = "https://%s:%d%s" % (
                    self.server.server_address[0],
                    self.server.server_address[1],
                    self.path.split("/.well-known")[0],
                )
                doc = {
                    "issuer": base,
                    "authorization_endpoint": base + "/oauth2/authorize",
                    "token_endpoint": token_endpoint,
                    "jwks_uri": ref.base_url + "/.well-known/jwks.json",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Httpd(ThreadingHTTPServer):
            request_queue_size = 256  # 50 threads connect at once (the default backlog is 5)
            daemon_threads = True

        self.httpd = Httpd(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, key_path)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"


class StubProcess:
    """The discovery stub in a child process (`bench.py --stub ...`), so that serving
    discovery never competes for this interpreter's GIL with the threads measured.
    It exits when its stdin (a pipe held by this process) closes."""

    def __init__(self, ref_json: str, workdir: str) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--stub", ref_json, workdir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2:
            raise RuntimeError("the discovery stub did not start")
        self.host, self.cert_path = line

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def run_stub(ref_json: str, workdir: str) -> None:
    stub = DiscoveryStub(Server(ref_json), workdir)
    print(stub.host, stub.cert_path, flush=True)
    threading.Thread(target=stub.httpd.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes the pipe


# ---------------------------------------------------------------- peers' clients


def make_msal(ref: Server, stub: StubProcess) -> Any:
    import msal

    return msal.ConfidentialClientApplication(
        ref.client_id,
        client_credential=ref.client_secret,
        authority=f"https://{stub.host}/bench-tenant",
        validate_authority=False,
        instance_discovery=False,
    )


def msal_token(app: Any) -> str:
    result = app.acquire_token_for_client(scopes=["inference"])
    if "access_token" not in result:
        raise RuntimeError(f"msal: {result.get('error')}: {result.get('error_description')}")
    return str(result["access_token"])


def make_azure(ref: Server, stub: StubProcess) -> Any:
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        "bench-tenant",
        ref.client_id,
        ref.client_secret,
        authority=stub.host,
        disable_instance_discovery=True,
    )


def make_google(ref: Server) -> Any:
    import google.auth.transport.requests
    import google.oauth2.credentials

    creds = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=ref.refresh_token(),
        token_uri=ref.base_url + "/oauth2/token",
        client_id=ref.client_id,
        client_secret=ref.client_secret,
    )
    session = requests.Session()
    session.verify = ref.ca
    return creds, google.auth.transport.requests.Request(session)


def google_token(creds: Any, req: Any) -> str:
    # The cached path every google-auth user runs (AuthorizedSession.before_request).
    if not creds.valid:
        creds.refresh(req)
    return str(creds.token)


# ---------------------------------------------------------------- sections


def bench_cached(ref: Server, stub: StubProcess) -> None:
    client = ref.client()
    token = client.get_token()
    cache: Dict[str, Any] = {"inference training": (token.token, time.time() + 3000)}
    key = "inference training"
    now = time.time

    def dict_lookup() -> Optional[str]:
        entry = cache.get(key)
        if entry is not None and entry[1] > now():
            return entry[0]
        return None

    get = client.get_token
    app = make_msal(ref, stub)
    msal_token(app)
    cred = make_azure(ref, stub)
    cred.get_token("inference")
    creds, greq = make_google(ref)
    google_token(creds, greq)
    before = ref.token_requests()
    res = paired(
        {
            "ours": get,
            "dict": dict_lookup,
            "msal": lambda: msal_token(app),
            "azure": lambda: cred.get_token("inference"),
            "google": lambda: google_token(creds, greq),
        }
    )
    sent = ref.token_requests() - before
    ns = res["ns"]
    r = res["ratio_to_first"]
    common = {"rounds": res["rounds"], "token_requests_during": sent}
    emit("py_cached_vs_dict", ours_ns=ns["ours"], peer_ns=ns["dict"], ratio=1 / r["dict"], **common)
    for peer in ("msal", "azure", "google"):
        emit(f"py_cached_vs_{peer}", ours_ns=ns["ours"], peer_ns=ns[peer], ratio=r[peer], **common)
    client.close()


def jwk_for(server: Server, token: str) -> Dict[str, Any]:
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    jwks = server.http.get(server.base_url + "/.well-known/jwks.json").json()
    return next(k for k in jwks["keys"] if k.get("kid") == header["kid"])


def bench_verify(server: Server, alg: str) -> None:
    import jwt as pyjwt
    from authlib.jose import JsonWebKey, JsonWebToken
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey, RSAKey

    client = server.client(jwt_issuer=server.issuer, jwt_audience=server.audience, jwt_algorithms=alg)
    token = client.get_token().token
    claims = client.verify(token)
    assert claims["sub"] == server.client_id, claims
    jwk = jwk_for(server, token)
    pub = pyjwt.PyJWK(jwk).key  # a pyca public key object, parsed once

    signing_input, _, sig_b64 = token.rpartition(".")
    signing_input_b = signing_input.encode()
    sig = base64.urlsafe_b64decode(sig_b64 + "==")
    if alg == "RS256":

        def raw() -> None:
            pub.verify(sig, signing_input_b, padding.PKCS1v15(), hashes.SHA256())

    else:
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        ecdsa = ec.ECDSA(hashes.SHA256())

        def raw() -> None:
            pub.verify(der, signing_input_b, ecdsa)

    def with_pyjwt() -> Any:
        return pyjwt.decode(token, pub, algorithms=[alg], audience=server.audience, issuer=server.issuer)

    jkey = (RSAKey if alg == "RS256" else ECKey).import_key(jwk)
    registry = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.issuer}, aud={"essential": True, "value": server.audience}
    )

    def with_joserfc() -> Any:
        t = jose_jwt.decode(token, jkey, algorithms=[alg])
        registry.validate(t.claims)
        return t.claims

    akey = JsonWebKey.import_key(jwk)
    ajwt = JsonWebToken([alg])
    opts = {"iss": {"essential": True, "value": server.issuer}, "aud": {"essential": True, "value": server.audience}}

    def with_authlib() -> Any:
        c = ajwt.decode(token, akey, claims_options=opts)
        c.validate()
        return c

    verify = client.verify
    for f in (raw, with_pyjwt, with_joserfc, with_authlib):
        f()
    # Diagnostics: a call that only makes the binding's trip to the engine's runtime
    # and back (get_token_for on a cached token), and json.loads of the claims.
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    scopes = ["inference", "training"]
    res = paired(
        {
            "ours": lambda: verify(token),
            "pyca": raw,
            "pyjwt": with_pyjwt,
            "joserfc": with_joserfc,
            "authlib": with_authlib,
            "hop": lambda: client.get_token_for(scopes),
            "claims": lambda: json.loads(payload),
        }
    )
    ns, r = res["ns"], res["ratio_to_first"]
    a = alg.lower()
    emit(
        f"py_verify_{a}_vs_pyca",
        ours_ns=ns["ours"],
        peer_ns=ns["pyca"],
        ratio=1 / r["pyca"],
        rounds=res["rounds"],
        diag_runtime_round_trip_ns=ns["hop"],
        diag_claims_json_loads_ns=ns["claims"],
    )
    for peer in ("pyjwt", "joserfc", "authlib"):
        emit(f"py_verify_{a}_vs_{peer}", ours_ns=ns["ours"], peer_ns=ns[peer], ratio=r[peer], rounds=res["rounds"])
    client.close()


class CannedAdapter(requests.adapters.BaseAdapter):
    """A transport that answers every request with a canned 200, without I/O: what
    is left is requests' own work plus the auth handler's."""

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        resp = requests.Response()
        resp.status_code = 200
        resp._content = b'{"data":[]}'
        resp.headers["Content-Type"] = "application/json"
        resp.request = request
        resp.url = request.url
        resp.connection = self
        return resp

    def close(self) -> None:
        pass


def bench_requests(ref: Server) -> None:
    """requests with SynapseAuth against requests with a static Authorization header
    set once on the session (the cheapest way to send a fixed header). Both sessions
    have trust_env off: requests' scan of the environment for proxy settings costs
    about 100 us per call here and varies far more than what is measured."""
    client = ref.client()
    header = client.get_token().authorization
    auth = SynapseAuth(client)
    url = ref.base_url + "/v1/models"

    def sessions(adapter: Optional[requests.adapters.BaseAdapter]) -> Any:
        ours, peer = requests.Session(), requests.Session()
        for sess in (ours, peer):
            sess.trust_env = False
            sess.verify = ref.ca
            if adapter is not None:
                sess.mount("https://", adapter)
        ours.auth = auth
        peer.headers["Authorization"] = header
        return ours, peer

    # 1) No network: the adapter's own cost inside a full requests call.
    ours, peer = sessions(CannedAdapter())
    res = paired({"ours": lambda: ours.get(url), "static": lambda: peer.get(url)}, rounds=21)
    ns = res["ns"]
    emit(
        "py_requests_overhead_nonet",
        ours_ns=ns["ours"],
        peer_ns=ns["static"],
        overhead_us=(ns["ours"] - ns["static"]) / 1000,
        ratio=1 / res["ratio_to_first"]["static"],
        rounds=res["rounds"],
    )

    # 1b) The adapter alone: its __call__ and its response hook on a prepared request,
    # against setting the header (what the profile of 1 points at).
    req = requests.Request("GET", url).prepare()
    resp = requests.Response()
    resp.status_code = 200
    resp.request = req

    def adapter_alone() -> None:
        req.hooks = {"response": []}
        auth(req)
        for hook in req.hooks["response"]:
            hook(resp)

    def header_alone() -> None:
        req.hooks = {"response": []}
        req.headers["Authorization"] = header

    res = paired({"ours": adapter_alone, "static": header_alone}, rounds=15)
    ns = res["ns"]
    emit("py_requests_adapter_alone", ours_ns=ns["ours"], peer_ns=ns["static"],
         overhead_us=(ns["ours"] - ns["static"]) / 1000, rounds=res["rounds"])

    # 2) Over loopback HTTPS (HTTP/1.1 keep-alive), one request of each in turn.
    ours, peer = sessions(None)
    for _ in range(30):
        ours.get(url).raise_for_status()
        peer.get(url).raise_for_status()
    rounds = 5 if QUICK else 15
    per_round = 100
    diffs, ratios, ours_all, peer_all = [], [], [], []
    for _ in range(rounds):
        a: List[float] = []
        b: List[float] = []
        for i in range(per_round):
            for side in (0, 1) if i % 2 == 0 else (1, 0):
                t0 = time.perf_counter_ns()
                if side == 0:
                    ours.get(url)
                    a.append(time.perf_counter_ns() - t0)
                else:
                    peer.get(url)
                    b.append(time.perf_counter_ns() - t0)
        ma, mb = statistics.median(a), statistics.median(b)
        diffs.append((ma - mb) / 1000)
        ratios.append(ma / mb)
        ours_all.append(ma)
        peer_all.append(mb)
    emit(
        "py_requests_overhead_loopback",
        ours_ns=statistics.median(ours_all),
        peer_ns=statistics.median(peer_all),
        overhead_us=statistics.median(diffs),
        iqr_us=[pct(diffs, 0.25), pct(diffs, 0.75)],
        ratio=statistics.median(ratios),
        rounds=rounds,
    )
    client.close()


def run_threads(n: int, fn: Callable[[], Any]) -> Dict[str, Any]:
    """n threads released together by a barrier, each calling fn once."""
    threading.stack_size(256 * 1024)
    barrier = threading.Barrier(n)
    lat: List[float] = [0.0] * n
    errors: List[str] = []

    def worker(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as e:  # peers fail under a stampede; count it
            errors.append(type(e).__name__)
        lat[i] = (time.perf_counter() - t0) * 1e3

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "max_ms": max(lat), "failed": len(errors),
            "errors": sorted(set(errors))}


def stampede(ref: Server, name: str, callers: int, phase: str, make: Callable[[], Any], call: Callable[[Any], Any]) -> None:
    ref.reset()
    ref.token_latency(0)
    if phase == "expiry":
        ref.token_ttl(3)
    obj = make()
    if phase == "expiry":
        call(obj)  # one token, then let it expire untouched
        time.sleep(3.3)
    ref.token_latency(50)
    before = ref.token_requests()
    res = run_threads(callers, lambda: call(obj))
    sent = ref.token_requests() - before
    ref.token_latency(0)
    ref.token_ttl(3600)
    emit(f"py_stampede_{name}_{phase}", callers=callers, token_requests=sent, **res)


def bench_stampede(ref: Server, stub: StubProcess) -> None:
    for phase in ("cold", "expiry"):
        clients: List[Client] = []

        def make() -> Client:
            c = ref.client()
            clients.append(c)
            return c

        stampede(ref, "ours", 1000, phase, make, lambda c: c.get_token())
        stampede(ref, "msal", 50, phase, lambda: make_msal(ref, stub), msal_token)
        stampede(ref, "azure", 50, phase, lambda: make_azure(ref, stub), lambda c: c.get_token("inference"))
        stampede(ref, "google", 50, phase, lambda: make_google(ref), lambda g: google_token(*g))
        for c in clients:
            c.close()


def bench_refresh_window(ref: Server) -> None:
    """get_token() latency from 2 threads, on a fresh token, then across the refresh
    window of a 4 s token while the token endpoint takes 50 ms."""
    ref.reset()
    ref.token_ttl(4)
    ref.token_latency(50)
    client = ref.client()
    first = client.get_token()
    issued = time.monotonic()
    expires_in = first.expires_in

    def measure(until: float) -> List[int]:
        out: List[List[int]] = []
        stop = threading.Event()

        def loop() -> None:
            lat: List[int] = []
            get, clock = client.get_token, time.perf_counter_ns
            while not stop.is_set():
                t0 = clock()
                get()
                lat.append(clock() - t0)
            out.append(lat)

        ts = [threading.Thread(target=loop) for _ in range(2)]
        for t in ts:
            t.start()
        time.sleep(max(0.0, until - time.monotonic()))
        stop.set()
        for t in ts:
            t.join()
        return [x for lat in out for x in lat]

    steady = measure(issued + 1.0)
    s0 = client.stats()
    r0 = ref.token_requests()
    time.sleep(max(0.0, issued + 1.2 - time.monotonic()))
    window = measure(issued + expires_in + 0.3)
    s1 = client.stats()
    sent = ref.token_requests() - r0
    last = client.get_token()
    ref.token_latency(0)
    ref.token_ttl(3600)
    emit(
        "py_refresh_window",
        steady_calls=len(steady),
        window_calls=len(window),
        steady_p50_ns=pct(steady, 0.5),
        steady_p99_ns=pct(steady, 0.99),
        steady_max_ns=max(steady),
        window_p50_ns=pct(window, 0.5),
        window_p99_ns=pct(window, 0.99),
        window_max_ns=max(window),
        steady_calls_over_1ms=sum(1 for x in steady if x > 1_000_000),
        window_calls_over_1ms=sum(1 for x in window if x > 1_000_000),
        cache_misses=s1["cache_misses"] - s0["cache_misses"],
        background_refreshes=s1["background_refreshes"] - s0["background_refreshes"],
        token_replaced=last.token != first.token,
        token_requests=sent,
    )
    client.close()


def main() -> None:
    global QUICK
    if sys.argv[1:2] == ["--stub"]:
        run_stub(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--rs", required=True)
    ap.add_argument("--es", required=True)
    ap.add_argument("--only", default="cached,verify,requests,stampede,refresh")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    QUICK = args.quick
    rs, es = Server(args.rs), Server(args.es)
    workdir = tempfile.mkdtemp(prefix="synapse-bench-py-")
    stub = StubProcess(args.rs, workdir)
    # requests (msal, azure-core, google-auth) trusts the reference CA and the stub's
    # certificate through this bundle; nothing here leaves loopback.
    bundle = os.path.join(workdir, "bundle.pem")
    with open(bundle, "w") as out:
        for p in (rs.ca, es.ca, stub.cert_path):
            out.write(open(p).read())
    os.environ["REQUESTS_CA_BUNDLE"] = bundle
    os.environ["SSL_CERT_FILE"] = bundle
    note(f"synapsestream_auth {synapsestream_auth.__version__}, python {sys.version.split()[0]}")
    only = set(args.only.split(","))
    sections = [
        ("cached", lambda: bench_cached(rs, stub)),
        ("verify", lambda: (bench_verify(rs, "RS256"), bench_verify(es, "ES256"))),
        ("requests", lambda: bench_requests(rs)),
        ("stampede", lambda: bench_stampede(rs, stub)),
        ("refresh", lambda: bench_refresh_window(rs)),
    ]
    for name, fn in sections:
        if name in only:
            t0 = time.perf_counter()
            fn()
            note(f"{name}: {time.perf_counter() - t0:.1f} s")
    stub.close()
    emit("py_versions", **versions())


def versions() -> Dict[str, str]:
    from importlib.metadata import version

    out = {}
    for pkg in ("msal", "azure-identity", "google-auth", "PyJWT", "joserfc", "authlib", "cryptography", "requests"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "?"
    out["python"] = sys.version.split()[0]
    return out


if __name__ == "__main__":
    main()
