"""The synchronous Client: configuration, tokens, requests, verify, stats, lifecycle."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

import synapsestream_auth as sa
from synapsestream_auth import errors

from conftest import API_KEY, DEV_CLIENT, Server


# --- configuration ----------------------------------------------------------------


def test_missing_credentials_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(sa.ConfigError) as info:
        sa.Client()
    assert info.value.code == "config"
    assert info.value.field == "client_id"
    assert isinstance(info.value, ValueError)


def test_client_id_without_secret() -> None:
    with pytest.raises(sa.ConfigError) as info:
        sa.Client(client_id="x")
    assert info.value.field == "client_secret"


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(sa.ConfigError, match="unknown configuration key"):
        sa.Client(client_id="x", client_secret="y", no_such_option="1")


def test_bad_option_value_names_the_field() -> None:
    with pytest.raises(sa.ConfigError) as info:
        sa.Client(client_id="x", client_secret="y", max_attempts="many")
    assert info.value.field == "max_attempts"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_bad_timeout(timeout: float) -> None:
    with pytest.raises(sa.ConfigError) as info:
        sa.Client(client_id="x", client_secret="y", timeout=timeout)
    assert info.value.field == "timeout"


def test_option_types_are_converted(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    client = sa.Client(
        client_id="x",
        client_secret="y",
        scopes="inference, training",
        max_attempts=2,  # int
        refresh_fraction=0.5,  # float
        expired_statuses=[418, 401],  # list of ints
        jwt_algorithms=("RS256", "ES256"),  # tuple of str
        base_url="https://127.0.0.1:9",
    )
    assert client.scopes == ("inference", "training")
    assert client.client_id == "x"
    assert client.auth_method == "oauth"
    assert client.base_url == "https://127.0.0.1:9/"
    assert client.token_url == "https://127.0.0.1:9/oauth2/token"
    assert client.jwks_url == "https://127.0.0.1:9/.well-known/jwks.json"


def test_unsupported_option_type_is_a_type_error_without_the_value() -> None:
    with pytest.raises(TypeError) as info:
        sa.Client(client_id="x", client_secret="y", proxy=object())  # type: ignore[arg-type]
    assert "proxy" in str(info.value)


def test_bad_ca_file_path(tmp_path: Path) -> None:
    with pytest.raises(sa.ConfigError) as info:
        sa.Client(client_id="x", client_secret="y", ca_file=tmp_path / "missing.pem")
    assert info.value.field == "ca_file"


def test_config_keys_exported() -> None:
    assert "client_id" in sa.CONFIG_KEYS and "max_attempts" in sa.CONFIG_KEYS
    assert sorted(sa.ERROR_CODES) == sorted(errors._BY_CODE)


def test_from_env(srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in srv.env(scopes="inference").items():
        if key.startswith("SYNAPSE_"):
            monkeypatch.setenv(key, value)
    with sa.Client.from_env() as client:
        assert client.client_id == DEV_CLIENT
        assert client.scopes == ("inference",)
        assert "inference" in client.get_token().scopes
    # keyword arguments override the environment
    with sa.Client.from_env(scopes=["training"]) as client:
        assert client.scopes == ("training",)
    monkeypatch.setenv("SYNAPSE_MAX_ATTEMPTS", "zero")
    with pytest.raises(sa.ConfigError) as info:
        sa.Client.from_env()
    assert info.value.field == "max_attempts"


# --- tokens -----------------------------------------------------------------------


def test_access_token_fields(srv: Server) -> None:
    with srv.client(scopes=["inference", "training"]) as client:
        token = client.get_token()
    assert isinstance(token, sa.AccessToken)
    assert isinstance(token.token, str) and token.token.count(".") == 2
    assert token.token_type == "Bearer"
    assert token.authorization == "Bearer " + token.token
    assert set(token.scopes) == {"inference", "training"}
    assert isinstance(token.scopes, tuple)
    assert token.expires_at.tzinfo is not None
    assert token.expires_at.utcoffset() == dt.timedelta(0)
    now = dt.datetime.now(dt.timezone.utc)
    assert now + dt.timedelta(minutes=50) < token.expires_at < now + dt.timedelta(hours=1, minutes=1)
    assert 3000 < token.expires_in <= 3600
    assert abs(token.expires_at_timestamp - token.expires_at.timestamp()) < 1e-3


def test_cache_hit_returns_the_same_object(srv: Server) -> None:
    with srv.client() as client:
        first = client.get_token()
        assert all(client.get_token() is first for _ in range(1000))
        assert client.get_token().token is first.token  # one str per token, not per call
        stats = client.stats()
        assert stats["token_requests"] == 1
        assert stats["cache_hits"] >= 1000
        client.invalidate()
        second = client.get_token()
        assert second is not first and second.token != first.token
    assert srv.token_requests() == 2


def test_get_token_for_other_scopes(srv: Server) -> None:
    with srv.client(scopes=["inference"]) as client:
        t1 = client.get_token()
        t2 = client.get_token_for(["training"])
        assert t2.scopes == ("training",)
        assert t1.token != t2.token
        assert client.get_token_for("training") is t2
    assert srv.token_requests() == 2


def test_invalid_secret_and_rotation(srv: Server) -> None:
    with srv.client(client_secret="wrong", circuit_threshold=0) as client:
        with pytest.raises(sa.InvalidCredentialsError) as info:
            client.get_token()
        assert info.value.status == 401
        client.set_client_secret(srv.secret())
        assert client.get_token().token


# --- requests ---------------------------------------------------------------------


def test_request_get_json(srv: Server) -> None:
    with srv.client() as client:
        response = client.request("GET", "/v1/models")
        assert response.status == 200 and response.ok
        assert "application/json" in response.headers["content-type"]
        assert response.header("Content-Type") == response.headers["content-type"]
        assert response.header("x-missing", "d") == "d"
        assert isinstance(response.json(), (dict, list))
        assert response.text == response.content.decode()
        assert repr(response) == "<Response [200]>"
        assert client.get("/v1/models").status == 200


def test_request_post_json_and_data(srv: Server) -> None:
    with srv.client(scopes=["inference", "training"]) as client:
        r = client.request("POST", "/v1/data/stream", json={"stream_id": "s1", "data": [1, 2]})
        assert r.status == 202 and r.json()["accepted"] == 2
        r = client.post(
            "/v1/data/stream",
            data=b'{"stream_id":"s2","data":[1]}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status == 202
        with pytest.raises(TypeError):
            client.request("POST", "/v1/data/stream", json={}, data=b"")


def test_api_errors(srv: Server) -> None:
    with srv.client() as client:
        with pytest.raises(sa.ApiError) as info:
            client.request("GET", "/v1/does-not-exist")
        assert info.value.status == 404 and info.value.body
        with pytest.raises(sa.InsufficientScopeError) as scope_info:
            client.request("POST", "/v1/data/stream", json={"stream_id": "s", "data": []})
        assert scope_info.value.status == 403
        assert scope_info.value.required_scope == "training"
        with pytest.raises(sa.ConfigError) as url_info:
            client.request("GET", "https://example.com/v1/models")
        assert url_info.value.field == "url"


def test_request_scopes_and_timeout(srv: Server) -> None:
    with srv.client(scopes=["inference"]) as client:
        r = client.request("POST", "/v1/data/stream", json={"stream_id": "s", "data": []}, scopes=["training"])
        assert r.status == 202
        srv.admin("POST", "/admin/faults", {"target": "api", "latency_ms": 1500})
        with pytest.raises(sa.TransportError) as info:
            client.request("GET", "/v1/models", timeout=0.2)
        assert isinstance(info.value, ConnectionError)


def test_api_key_client(srv: Server) -> None:
    with srv.api_key_client() as client:
        assert client.auth_method == "api_key" and client.client_id is None
        assert client._api_key() == API_KEY
        assert client.request("GET", "/v1/models").status == 200
        client.set_api_key("sk_live_doesnotexist000000000")
        with pytest.raises(sa.InvalidCredentialsError):
            client.request("GET", "/v1/models")
    assert srv.token_requests() == 0


# --- verify, stats, lifecycle -----------------------------------------------------


def test_verify(srv: Server) -> None:
    with srv.client() as client:
        claims = client.verify(client.get_token().token)
        assert claims["sub"] == DEV_CLIENT
        assert isinstance(claims["exp"], int)
        with pytest.raises(sa.InvalidTokenError):
            client.verify("not-a-jwt")
        assert client.stats()["jwks_fetches"] == 1


def test_stats_keys(srv: Server) -> None:
    with srv.client() as client:
        stats = client.stats()
    assert stats["circuit_state"] == "closed"
    for key in ("token_requests", "refresh_grants", "cache_hits", "cache_misses", "retries", "api_requests"):
        assert stats[key] == 0


def test_close_and_context_manager(srv: Server) -> None:
    with srv.client() as client:
        client.get_token()
        assert not client.closed
    assert client.closed
    assert "closed" in repr(client)
    with pytest.raises(sa.ConfigError, match="closed"):
        client.get_token()
    with pytest.raises(sa.ConfigError, match="closed"):
        client.request("GET", "/v1/models")
    client.close()  # idempotent


def test_client_is_not_picklable(srv: Server) -> None:
    with srv.client() as client, pytest.raises(TypeError):
        pickle.dumps(client)


def test_subclassing_keeps_the_native_fast_path() -> None:
    assert issubclass(sa.Client, sa._native.Client)
    assert "get_token" not in sa.Client.__dict__  # inherited straight from the native class
    assert sa.Client.__slots__ == ()


def test_client_repr_is_pythonic_and_secret_free(srv: Server) -> None:
    with srv.client(scopes=["inference"]) as client:
        text = repr(client)
        assert text.startswith("<Client client_id='synapse-dev-client' auth_method='oauth' scopes=('inference',)")
        assert srv.secret() not in text and srv.secret() not in str(client)
    with srv.api_key_client() as keyed:
        assert "client_id=None auth_method='api_key'" in repr(keyed)
        assert API_KEY not in repr(keyed)
