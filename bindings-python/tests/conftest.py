"""Shared fixtures: one reference server per test session, plus helpers."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import synapsestream_auth

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE.parent  # bindings-python
REPO = PACKAGE_DIR.parent
SERVER_BIN = Path(os.environ.get("SYNAPSE_AUTH_BIN", REPO / "target" / "debug" / "synapse-auth"))

DEV_CLIENT = "synapse-dev-client"
API_KEY = "sk_live_1a2b3c4d5e6f7g8h9i0j"


class Server:
    """The running reference server: its JSON line, admin calls and client helpers."""

    def __init__(self, info: Dict[str, Any], process: "subprocess.Popen[bytes]") -> None:
        self.info = info
        self.process = process
        self.base_url: str = info["base_url"]
        self.ca_file: str = info["ca_pem_path"]
        self.admin_token: str = info["admin_token"]
        self.secrets: Dict[str, str] = {c["client_id"]: c["client_secret"] for c in info["clients"]}
        self.api_keys = [k["key"] for k in info["api_keys"]]
        self._ssl = ssl.create_default_context(cafile=self.ca_file)

    def admin(self, method: str, path: str, body: Optional[Any] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("X-Admin-Token", self.admin_token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self._ssl, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def reset(self, token_ttl_secs: int = 3600) -> None:
        self.admin("POST", "/admin/reset")
        self.admin("POST", "/admin/config", {"token_ttl_secs": token_ttl_secs})

    def counters(self) -> Dict[str, Any]:
        result: Dict[str, Any] = self.admin("GET", "/admin/counters")
        return result

    def token_requests(self) -> int:
        return int(self.counters()["token_requests"]["total"])

    def secret(self, client_id: str = DEV_CLIENT) -> str:
        return self.secrets[client_id]

    def client(self, client_id: str = DEV_CLIENT, **kwargs: Any) -> synapsestream_auth.Client:
        kwargs.setdefault("scopes", ["inference"])
        return synapsestream_auth.Client(
            client_id=client_id,
            client_secret=kwargs.pop("client_secret", self.secret(client_id)),
            base_url=self.base_url,
            ca_file=self.ca_file,
            **kwargs,
        )

    def api_key_client(self, api_key: str = API_KEY, **kwargs: Any) -> synapsestream_auth.Client:
        return synapsestream_auth.Client(api_key=api_key, base_url=self.base_url, ca_file=self.ca_file, **kwargs)

    def env(self, client_id: str = DEV_CLIENT, scopes: str = "inference training") -> Dict[str, str]:
        """SYNAPSE_* variables for the examples, on top of a clean copy of os.environ."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNAPSE_")}
        env.update(
            SYNAPSE_BASE_URL=self.base_url,
            SYNAPSE_CA_FILE=self.ca_file,
            SYNAPSE_CLIENT_ID=client_id,
            SYNAPSE_CLIENT_SECRET=self.secret(client_id),
            SYNAPSE_SCOPES=scopes,
        )
        return env


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not SERVER_BIN.exists():
        pytest.fail(f"reference server binary not found at {SERVER_BIN}: cargo build -p synapse-auth-cli")
    process = subprocess.Popen(
        [str(SERVER_BIN), "serve", "--json", "--addr", "127.0.0.1:0", "--exit-on-stdin-close"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("the reference server exited without printing its JSON line")
    srv = Server(json.loads(line), process)
    try:
        yield srv
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def srv(server: Server) -> Server:
    """The server, reset (counters, faults, one-hour tokens) before the test."""
    server.reset()
    return server


def python() -> str:
    return sys.executable
