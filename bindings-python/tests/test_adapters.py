"""requests and httpx adapters against the reference server."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from typing import Dict

import httpx
import pytest
import requests

import synapsestream_auth as sa
from synapsestream_auth.httpx import SynapseAuth as HttpxAuth
from synapsestream_auth.requests import SynapseAuth as RequestsAuth

from conftest import API_KEY, Server


def ssl_context(srv: Server) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=srv.ca_file)


def grants(srv: Server) -> Dict[str, int]:
    return dict(srv.counters()["token_requests"]["by_grant"])


# --- requests --------------------------------------------------------------------


def test_requests_attaches_the_bearer_token(srv: Server) -> None:
    client = srv.client()
    with requests.Session() as session:
        session.auth = RequestsAuth(client)
        # per request: REQUESTS_CA_BUNDLE in the environment would win over session.verify
        r = session.get(srv.base_url + "/v1/models", verify=srv.ca_file)
        assert r.status_code == 200
        assert r.request.headers["Authorization"] == client.get_token().authorization
        for _ in range(5):
            assert session.get(srv.base_url + "/v1/models", verify=srv.ca_file).status_code == 200
    assert srv.token_requests() == 1


def test_requests_refreshes_and_retries_once_on_418(srv: Server) -> None:
    client = srv.client()
    old = client.get_token()
    srv.admin("POST", "/admin/expire-tokens")
    r = requests.get(srv.base_url + "/v1/models", auth=RequestsAuth(client), verify=srv.ca_file)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [418]
    assert r.request.headers["Authorization"] != old.authorization
    assert client.get_token() is not old
    assert srv.token_requests() == 2 and grants(srv).get("refresh_token") == 1


def test_requests_retries_only_once(srv: Server) -> None:
    client = srv.client()
    client.get_token()
    # The next two API answers are 418: the retry also gets one and is returned as is.
    srv.admin("POST", "/admin/faults", {"target": "api", "fail_next": 2, "fail_status": 418})
    r = requests.get(srv.base_url + "/v1/models", auth=RequestsAuth(client), verify=srv.ca_file)
    assert r.status_code == 418
    assert len(r.history) == 1


def test_requests_post_body_is_resent(srv: Server) -> None:
    client = srv.client(scopes=["training"])
    client.get_token()
    srv.admin("POST", "/admin/expire-tokens")
    r = requests.post(
        srv.base_url + "/v1/data/stream",
        json={"stream_id": "x", "data": [1, 2, 3]},
        auth=RequestsAuth(client),
        verify=srv.ca_file,
    )
    assert r.status_code == 202 and r.json()["accepted"] == 3


def test_requests_api_key(srv: Server) -> None:
    client = srv.api_key_client()
    r = requests.get(srv.base_url + "/v1/models", auth=RequestsAuth(client), verify=srv.ca_file)
    assert r.status_code == 200
    assert r.request.headers["X-API-Key"] == API_KEY
    assert "Authorization" not in r.request.headers
    bad = requests.get(
        srv.base_url + "/v1/models", auth=RequestsAuth(srv.api_key_client("sk_live_nope00000")), verify=srv.ca_file
    )
    assert bad.status_code == 401 and not bad.history
    assert srv.token_requests() == 0


def test_requests_scoped_token(srv: Server) -> None:
    client = srv.client(scopes=["inference"])
    r = requests.post(
        srv.base_url + "/v1/data/stream",
        json={"stream_id": "x", "data": []},
        auth=RequestsAuth(client, scopes=["training"]),
        verify=srv.ca_file,
    )
    assert r.status_code == 202


def test_requests_auth_repr_has_no_secret(srv: Server) -> None:
    auth = RequestsAuth(srv.client())
    assert srv.secret() not in repr(auth)


# --- httpx -----------------------------------------------------------------------


def test_httpx_sync(srv: Server) -> None:
    client = srv.client()
    with httpx.Client(auth=HttpxAuth(client), verify=ssl_context(srv), base_url=srv.base_url) as http:
        r = http.get("/v1/models")
        assert r.status_code == 200
        assert r.request.headers["Authorization"] == client.get_token().authorization
        srv.admin("POST", "/admin/expire-tokens")
        r = http.get("/v1/models")
        assert r.status_code == 200
        assert [h.status_code for h in r.history] == [418]
    assert srv.token_requests() == 2


def test_httpx_async(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 100})
    client = sa.AsyncClient(
        client_id="synapse-dev-client",
        client_secret=srv.secret(),
        scopes="inference training",
        base_url=srv.base_url,
        ca_file=srv.ca_file,
    )

    async def main() -> None:
        async with httpx.AsyncClient(auth=HttpxAuth(client), verify=ssl_context(srv), base_url=srv.base_url) as http:
            responses = await asyncio.gather(*(http.get("/v1/models") for _ in range(20)))
            assert all(r.status_code == 200 for r in responses)
            srv.admin("POST", "/admin/expire-tokens")
            r = await http.post("/v1/data/stream", json={"stream_id": "a", "data": [1]})
            assert r.status_code == 202 and [h.status_code for h in r.history] == [418]
            r = await http.get("/v1/models")
            assert r.status_code == 200

    asyncio.run(main())
    assert grants(srv).get("client_credentials") == 1
    assert grants(srv).get("refresh_token") == 1


def test_httpx_api_key(srv: Server) -> None:
    with httpx.Client(auth=HttpxAuth(srv.api_key_client()), verify=ssl_context(srv)) as http:
        r = http.get(srv.base_url + "/v1/models")
        assert r.status_code == 200
        assert r.request.headers["X-API-Key"] == API_KEY


def test_adapters_are_lazy_extras() -> None:
    code = (
        "import sys, synapsestream_auth\n"
        "assert 'requests' not in sys.modules and 'httpx' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", ["requests", "httpx"])
def test_missing_extra_gives_a_helpful_error(module: str) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "try:\n"
        f"    import synapsestream_auth.{module}\n"
        "except ImportError as e:\n"
        f"    assert 'synapsestream-auth[{module}]' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_credentials_only_go_to_the_configured_host(srv: Server) -> None:
    client = srv.client()
    other = srv.base_url.replace("127.0.0.1", "localhost")  # same server, another origin
    with pytest.raises(sa.ConfigError) as info:
        requests.get(other + "/v1/models", auth=RequestsAuth(client), verify=srv.ca_file)
    assert info.value.field == "url"
    with httpx.Client(auth=HttpxAuth(client), verify=ssl_context(srv)) as http, pytest.raises(sa.ConfigError):
        http.get(other + "/v1/models")

    async def main() -> None:
        async with httpx.AsyncClient(auth=HttpxAuth(client), verify=ssl_context(srv)) as http:
            with pytest.raises(sa.ConfigError):
                await http.get(other + "/v1/models")

    asyncio.run(main())
    assert srv.counters()["api_calls"]["total"] == 0
    # Opting out: the adapter attaches the token anyway (the TLS name check is the caller's business).
    r = requests.get(srv.base_url + "/v1/models", auth=RequestsAuth(client, any_host=True), verify=srv.ca_file)
    assert r.status_code == 200
