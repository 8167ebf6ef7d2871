"""The exception hierarchy: one subclass per core code, fields, pickling."""

from __future__ import annotations

import pickle

import pytest

import synapsestream_auth as sa
from synapsestream_auth import errors

from conftest import Server

EXPECTED = {
    "invalid_credentials": sa.InvalidCredentialsError,
    "insufficient_scope": sa.InsufficientScopeError,
    "token_expired": sa.TokenExpiredError,
    "rate_limited": sa.RateLimitedError,
    "circuit_open": sa.CircuitOpenError,
    "transport": sa.TransportError,
    "protocol": sa.ProtocolError,
    "config": sa.ConfigError,
    "invalid_token": sa.InvalidTokenError,
    "api": sa.ApiError,
}


def test_one_subclass_per_core_code() -> None:
    assert set(sa.ERROR_CODES) == set(EXPECTED)
    for code, cls in EXPECTED.items():
        assert issubclass(cls, sa.SynapseAuthError)
        assert cls.code == code
        assert errors._BY_CODE[code] is cls


def test_pickle_round_trip_keeps_fields() -> None:
    e = sa.RateLimitedError("rate_limited: slow down", code="rate_limited", status=429, retry_after=2.5)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is sa.RateLimitedError
    assert (back.code, back.status, back.retry_after, str(back)) == ("rate_limited", 429, 2.5, str(e))


def test_rate_limited_from_the_token_endpoint(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "rate_limit_next": 1, "retry_after": 7})
    with srv.client() as client, pytest.raises(sa.RateLimitedError) as info:
        client.get_token()
    e = info.value
    assert e.code == "rate_limited" and e.status == 429
    assert e.retry_after is not None and 5 <= e.retry_after <= 7
    assert str(e).startswith("rate_limited: ")
    assert e.message and e.message in str(e)


def test_circuit_open(srv: Server) -> None:
    with srv.client(client_secret="nope", circuit_threshold=1, circuit_cooldown=60) as client:
        with pytest.raises(sa.InvalidCredentialsError):
            client.get_token()
        with pytest.raises(sa.CircuitOpenError) as info:
            client.get_token()
        assert info.value.code == "circuit_open"
        assert client.stats()["circuit_state"] == "open"


def test_protocol_error(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "malformed_next": 1})
    with srv.client(max_attempts=1) as client, pytest.raises(sa.ProtocolError):
        client.get_token()


def test_transport_error_is_a_connection_error() -> None:
    with sa.Client(client_id="x", client_secret="y", base_url="https://127.0.0.1:9", max_attempts=1) as client:
        with pytest.raises(ConnectionError) as info:
            client.get_token()
    assert isinstance(info.value, sa.TransportError)
