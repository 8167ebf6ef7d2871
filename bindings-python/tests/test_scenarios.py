"""Runs every shared scenario of tests/scenarios/scenarios.json, twice: through
the synchronous Client (threads for concurrency) and through AsyncClient
(asyncio tasks for concurrency)."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import pytest

import synapsestream_auth as sa

from conftest import REPO, Server

SCENARIO_FILE = REPO / "tests" / "scenarios" / "scenarios.json"
SCENARIOS: List[Dict[str, Any]] = json.loads(SCENARIO_FILE.read_text())["scenarios"]


def test_scenario_file_is_not_empty() -> None:
    assert len(SCENARIOS) >= 10


def build_client(server: Server, spec: Dict[str, Any]) -> sa.Client:
    kwargs: Dict[str, Any] = {"base_url": server.base_url, "ca_file": server.ca_file}
    if spec["auth"] == "oauth":
        secret = spec["client_secret"]
        kwargs["client_id"] = spec["client_id"]
        kwargs["client_secret"] = server.secret(spec["client_id"]) if secret == "$server" else secret
    elif spec["auth"] == "api_key":
        kwargs["api_key"] = spec["api_key"]
    else:
        raise AssertionError(f"unknown auth {spec['auth']!r}")
    if "scopes" in spec:
        kwargs["scopes"] = spec["scopes"]
    kwargs.update(spec.get("options", {}))
    return sa.Client(**kwargs)


class Outcome:
    """What a call gave: a value or a SynapseAuthError."""

    def __init__(self, value: Any = None, error: Optional[sa.SynapseAuthError] = None) -> None:
        self.value = value
        self.error = error


class Run:
    """State of one scenario run and the checks shared by both modes."""

    def __init__(self, server: Server, scenario: Dict[str, Any]) -> None:
        self.server = server
        self.scenario = scenario
        self.last_token: Optional[str] = None
        self.previous_token: Optional[str] = None
        self.remembered: Optional[str] = None

    def where(self, i: int, step: Dict[str, Any]) -> str:
        return f"{self.scenario['name']} step {i} {step}"

    def check_error(self, where: str, outcome: Outcome, expect: Dict[str, Any]) -> None:
        assert outcome.error is not None, f"{where}: expected error {expect['error']}, got success"
        e = outcome.error
        assert e.code == expect["error"], f"{where}: expected {expect['error']}, got {e.code}: {e}"
        assert isinstance(e, sa.errors._BY_CODE[e.code]), f"{where}: wrong class {type(e)}"
        if "status" in expect:
            assert e.status == expect["status"], f"{where}: status {e.status}"
        if "retry_after_min" in expect:
            assert e.retry_after is not None and e.retry_after >= expect["retry_after_min"], (
                f"{where}: retry_after {e.retry_after}"
            )

    def check_ok(self, where: str, outcome: Outcome) -> None:
        if outcome.error is not None:
            raise AssertionError(f"{where}: expected success, got {outcome.error.code}: {outcome.error}")

    def token_step(self, where: str, outcome: Outcome, expect: Dict[str, Any]) -> None:
        if "error" in expect:
            self.check_error(where, outcome, expect)
            return
        self.check_ok(where, outcome)
        token: sa.AccessToken = outcome.value
        assert isinstance(token, sa.AccessToken)
        for scope in expect.get("scopes_include", []):
            assert scope in token.scopes, f"{where}: scopes {token.scopes}"
        if "same_token" in expect:
            same = token.token == self.last_token
            assert same == expect["same_token"], f"{where}: same_token is {same}"
        self.previous_token, self.last_token = self.last_token, token.token

    def request_step(self, where: str, outcome: Outcome, expect: Dict[str, Any]) -> None:
        if "error" in expect:
            self.check_error(where, outcome, expect)
            return
        self.check_ok(where, outcome)
        response: sa.Response = outcome.value
        if "status" in expect:
            assert response.status == expect["status"], f"{where}: status {response.status}"

    def verify_token(self, step: Dict[str, Any]) -> str:
        token = step["token"]
        if token == "$current":
            assert self.last_token is not None
            return self.last_token
        if token == "$remembered":
            assert self.remembered is not None
            return self.remembered
        return str(token)

    def verify_step(self, where: str, outcome: Outcome, expect: Dict[str, Any]) -> None:
        if "error" in expect:
            self.check_error(where, outcome, expect)
            return
        self.check_ok(where, outcome)
        claims: Dict[str, Any] = outcome.value
        assert isinstance(claims, dict)
        if "sub" in expect:
            assert claims.get("sub") == expect["sub"], f"{where}: sub {claims.get('sub')}"

    def counters_step(self, where: str, step: Dict[str, Any]) -> None:
        counters = self.server.counters()["token_requests"]
        by_grant = counters.get("by_grant", {})
        expected = {
            "token_requests": counters["total"],
            "refresh_grants": by_grant.get("refresh_token", 0),
            "client_credentials_grants": by_grant.get("client_credentials", 0),
        }
        for key, actual in expected.items():
            if key in step:
                assert actual == step[key], f"{where}: {key} is {actual}, expected {step[key]} ({counters})"

    def common_step(self, where: str, step: Dict[str, Any], client: sa.Client) -> bool:
        op = step["op"]
        if op == "remember_token":
            self.remembered = self.last_token
        elif op == "invalidate":
            client.invalidate()
        elif op == "admin":
            self.server.admin(step["method"], step["path"], step.get("body"))
        elif op == "expect_counters":
            self.counters_step(where, step)
        else:
            return False
        return True


def call(fn: Any, *args: Any, **kwargs: Any) -> Outcome:
    try:
        return Outcome(value=fn(*args, **kwargs))
    except sa.SynapseAuthError as e:
        return Outcome(error=e)


async def acall(awaitable: Any) -> Outcome:
    try:
        return Outcome(value=await awaitable)
    except sa.SynapseAuthError as e:
        return Outcome(error=e)


def run_sync(run: Run, client: sa.Client) -> None:
    for i, step in enumerate(run.scenario["steps"]):
        where = run.where(i, step)
        op = step["op"]
        if run.common_step(where, step, client):
            continue
        if op == "get_token":
            run.token_step(where, call(client.get_token), step["expect"])
        elif op == "concurrent_get_token":
            with ThreadPoolExecutor(max_workers=step["count"]) as pool:
                outcomes = list(pool.map(lambda _: call(client.get_token), range(step["count"])))
            for outcome in outcomes:
                run.token_step(where, outcome, step["expect"])
        elif op == "request":
            outcome = call(client.request, step["method"], step["path"], json=step.get("json"))
            run.request_step(where, outcome, step["expect"])
        elif op == "verify":
            run.verify_step(where, call(client.verify, run.verify_token(step)), step["expect"])
        elif op == "sleep":
            time.sleep(step["ms"] / 1000)
        else:
            raise AssertionError(f"{where}: unknown op {op!r}")


async def run_async(run: Run, client: sa.AsyncClient) -> None:
    for i, step in enumerate(run.scenario["steps"]):
        where = run.where(i, step)
        op = step["op"]
        if run.common_step(where, step, client.sync_client):
            continue
        if op == "get_token":
            run.token_step(where, await acall(client.get_token()), step["expect"])
        elif op == "concurrent_get_token":
            outcomes = await asyncio.gather(*(acall(client.get_token()) for _ in range(step["count"])))
            for outcome in outcomes:
                run.token_step(where, outcome, step["expect"])
        elif op == "request":
            outcome = await acall(client.request(step["method"], step["path"], json=step.get("json")))
            run.request_step(where, outcome, step["expect"])
        elif op == "verify":
            run.verify_step(where, await acall(client.verify(run.verify_token(step))), step["expect"])
        elif op == "sleep":
            await asyncio.sleep(step["ms"] / 1000)
        else:
            raise AssertionError(f"{where}: unknown op {op!r}")


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(server: Server, scenario: Dict[str, Any], mode: str) -> None:
    server.reset(scenario.get("server", {}).get("token_ttl_secs", 3600))
    run = Run(server, scenario)
    with build_client(server, scenario["client"]) as client:
        if mode == "sync":
            run_sync(run, client)
        else:
            asyncio.run(run_async(run, sa.AsyncClient.from_client(client)))
