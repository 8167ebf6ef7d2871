"""asyncio: the loop never blocks, one client across loops, shared single-flight."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest

import synapsestream_auth as sa

from conftest import DEV_CLIENT, Server


def test_asyncio_run_twice_with_one_client(srv: Server) -> None:
    client = sa.AsyncClient.from_client(srv.client())

    async def once() -> str:
        token = await client.get_token()
        response = await client.request("GET", "/v1/models")
        assert response.status == 200
        return token.token

    first = asyncio.run(once())
    client.invalidate()  # force the second loop to go through the runtime again
    second = asyncio.run(once())
    assert first != second
    third = asyncio.run(once())  # cache hit on a third loop
    assert third == second


def test_gather_many_makes_one_token_request(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 100})

    async def main() -> List[sa.AccessToken]:
        async with sa.AsyncClient(
            client_id=DEV_CLIENT, client_secret=srv.secret(), base_url=srv.base_url, ca_file=srv.ca_file
        ) as client:
            return await asyncio.gather(*(client.get_token() for _ in range(500)))

    tokens = asyncio.run(main())
    assert len({id(t) for t in tokens}) == 1
    assert srv.token_requests() == 1


def test_event_loop_keeps_running_during_a_slow_fetch(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 400})
    client = sa.AsyncClient.from_client(srv.client())

    async def main() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(ticker())
        started = time.monotonic()
        await client.get_token()
        assert time.monotonic() - started >= 0.3
        stop.set()
        await task
        return ticks

    assert asyncio.run(main()) >= 15


def test_cache_hit_is_already_complete(srv: Server) -> None:
    client = srv.client()
    token = client.get_token()
    awaitable = client.get_token_async()  # works even outside a running loop on a hit
    assert type(awaitable).__name__ == "Ready"

    async def direct() -> sa.AccessToken:
        return await awaitable

    # Driving the coroutine by hand: it finishes on the first send, so it never
    # yielded to an event loop (nothing was scheduled).
    coro = direct()
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value is token

    async def via_async_client() -> sa.AccessToken:
        return await sa.AsyncClient.from_client(client).get_token()

    coro2 = via_async_client()
    with pytest.raises(StopIteration) as done2:
        coro2.send(None)
    assert done2.value.value is token


def test_sync_threads_and_async_tasks_share_one_flight(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 300})
    client = srv.client()
    results: List[str] = []
    barrier = threading.Barrier(9)

    def worker() -> None:
        barrier.wait()
        results.append(client.get_token().token)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()

    async def main() -> List[sa.AccessToken]:
        barrier.wait()
        return await asyncio.gather(*(client.get_token_async() for _ in range(8)))

    tokens = asyncio.run(main())
    for t in threads:
        t.join()
    assert len(set(results) | {t.token for t in tokens}) == 1
    assert srv.token_requests() == 1


def test_async_errors_are_mapped(srv: Server) -> None:
    async def main() -> None:
        async with sa.AsyncClient(
            client_id=DEV_CLIENT, client_secret="wrong", base_url=srv.base_url, ca_file=srv.ca_file
        ) as bad:
            with pytest.raises(sa.InvalidCredentialsError) as info:
                await bad.get_token()
            assert info.value.status == 401
        client = sa.AsyncClient.from_client(srv.client())
        with pytest.raises(sa.ApiError):
            await client.get("/v1/nope")
        with pytest.raises(sa.InvalidTokenError):
            await client.verify("not-a-jwt")
        claims = await client.verify((await client.get_token()).token)
        assert claims["sub"] == DEV_CLIENT
        token = await client.get_token_for(["training"])
        assert token.scopes == ("training",)
        posted = await client.post("/v1/data/stream", json={"stream_id": "a", "data": []}, scopes=["training"])
        assert posted.status == 202

    asyncio.run(main())


def test_cancelling_a_request_leaves_the_client_usable(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "api", "latency_ms": 1000})
    client = sa.AsyncClient.from_client(srv.client())

    async def main() -> None:
        await client.get_token()
        task = asyncio.ensure_future(client.request("GET", "/v1/models"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        srv.admin("DELETE", "/admin/faults")
        assert (await client.get("/v1/models")).status == 200

    asyncio.run(main())


def test_wait_for_timeout_on_a_slow_token(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 800})
    client = sa.AsyncClient.from_client(srv.client())

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get_token(), 0.1)
        # The shared flight was not cancelled by the impatient caller.
        token = await client.get_token()
        assert token.token

    asyncio.run(main())
    assert srv.token_requests() == 1


def test_sync_client_async_twins(srv: Server) -> None:
    client = srv.client()

    async def main() -> None:
        token = await client.get_token_async()
        assert token is client.get_token()
        r = await client.request_async("GET", "/v1/models")
        assert r.status == 200
        claims = await client.verify_async(token.token)
        assert claims["sub"] == DEV_CLIENT

    asyncio.run(main())


def test_async_client_from_env(srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in srv.env().items():
        if key.startswith("SYNAPSE_"):
            monkeypatch.setenv(key, value)

    async def main() -> None:
        async with sa.AsyncClient.from_env() as client:
            assert (await client.get_token()).token
            assert client.stats()["token_requests"] == 1
            assert "AsyncClient" in repr(client)
        assert client.closed

    asyncio.run(main())
