"""Core's tracing events reach `logging`; no secret ever shows in a log line,
repr(), str() or an exception text."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Callable, List

import pytest

import synapsestream_auth as sa

from conftest import API_KEY, DEV_CLIENT, Server

LOGGER = "synapsestream_auth"


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Log records are handed to `logging` by a background thread: poll briefly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def ours(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_debug_events_reach_logging(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with srv.client() as client:
        client.get_token()
    assert wait_for(lambda: any("obtained a token" in r.getMessage() for r in ours(caplog)))
    record = next(r for r in ours(caplog) if "obtained a token" in r.getMessage())
    assert record.levelno == logging.DEBUG
    assert "scopes=" in record.getMessage()


def test_warnings_reach_logging(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with srv.client(client_secret="wrong-secret", circuit_threshold=1) as client:
        for _ in range(2):
            with pytest.raises(sa.SynapseAuthError):
                client.get_token()
    assert wait_for(lambda: any("circuit opened" in r.getMessage() for r in ours(caplog)))
    assert all(r.levelno >= logging.WARNING for r in ours(caplog))


def test_a_quiet_logger_gets_nothing(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=LOGGER)
    with srv.client() as client:
        client.get_token()
        client.request("GET", "/v1/models")
    time.sleep(0.3)
    assert ours(caplog) == []


def exercise(srv: Server) -> List[str]:
    """Runs through most of the API (successes and failures) and returns every text it produced."""
    texts: List[str] = []

    def grab(obj: object) -> None:
        texts.append(repr(obj))
        texts.append(str(obj))

    def grab_error(e: BaseException) -> None:
        grab(e)
        texts.append("".join(traceback.format_exception(type(e), e, e.__traceback__)))
        if isinstance(e, sa.SynapseAuthError):
            texts.extend(str(v) for v in vars(e).values())

    with srv.client(scopes=["inference", "training"], max_attempts=2) as client:
        grab(client)
        token = client.get_token()
        grab(token)
        grab(client.stats())
        response = client.request("GET", "/v1/models")
        grab(response)
        srv.admin("POST", "/admin/expire-tokens")
        client.request("GET", "/v1/models")  # 418 -> refresh grant -> retry
        srv.admin("POST", "/admin/faults", {"target": "token", "fail_next": 1, "fail_status": 503})
        client.invalidate()
        client.get_token()  # retried after a 503
        grab(client.verify(client.get_token().token))
        try:
            client.verify(client.get_token().token + "x")
        except sa.SynapseAuthError as e:
            grab_error(e)
        grab(sa.AsyncClient.from_client(client))
    with srv.client(client_secret="wrong-" + srv.secret()) as bad:
        grab(bad)
        try:
            bad.get_token()
        except sa.SynapseAuthError as e:
            grab_error(e)
    with srv.api_key_client() as keyed:
        grab(keyed)
        keyed.request("GET", "/v1/models")
    with srv.api_key_client(API_KEY + "x") as wrong_key:
        try:
            wrong_key.request("GET", "/v1/models")
        except sa.SynapseAuthError as e:
            grab_error(e)

    async def async_part() -> None:
        client = sa.AsyncClient(
            client_id=DEV_CLIENT, client_secret="nope-" + srv.secret(), base_url=srv.base_url, ca_file=srv.ca_file
        )
        grab(client)
        try:
            await client.get_token()
        except sa.SynapseAuthError as e:
            grab_error(e)

    asyncio.run(async_part())
    return texts


def test_no_secret_in_repr_str_errors_or_logs(srv: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    tokens_seen: List[str] = []
    texts = exercise(srv)
    with srv.client() as client:
        tokens_seen.append(client.get_token().token)
        tokens_seen.append(client.get_token_for(["training"]).token)
    assert wait_for(lambda: any("obtained a token" in r.getMessage() for r in ours(caplog)))
    time.sleep(0.2)
    log_lines = [r.getMessage() for r in ours(caplog)]
    assert len(log_lines) >= 3
    secrets = [srv.secret(), API_KEY] + tokens_seen
    for text in texts + log_lines:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:200]}"
        assert "eyJ" not in text, f"something token-like leaked into: {text[:200]}"


def test_token_repr_is_redacted(srv: Server) -> None:
    with srv.client() as client:
        token = client.get_token()
    for text in (repr(token), str(token), f"{token}", "%s" % token):
        assert token.token not in text
        assert "token='***'" in text
        assert "expires_at=" in text and "scopes=" in text
