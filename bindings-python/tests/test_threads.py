"""Threads: the GIL is released around every blocking call; one token request for all."""

from __future__ import annotations

import threading
import time
from typing import List

from conftest import Server


def test_32_threads_at_cold_start_make_one_token_request(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 200})
    client = srv.client()
    barrier = threading.Barrier(32)
    tokens: List[str] = []
    errors: List[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            tokens.append(client.get_token().token)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(tokens) == 32 and len(set(tokens)) == 1
    assert srv.token_requests() == 1
    assert client.stats()["token_requests"] == 1


def test_the_gil_is_released_while_a_token_is_fetched(srv: Server) -> None:
    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 500})
    client = srv.client()
    done = threading.Event()

    def fetch() -> None:
        client.get_token()
        done.set()

    t = threading.Thread(target=fetch)
    t.start()
    spins = 0
    started = time.monotonic()
    while not done.is_set():
        spins += 1  # pure Python work: only runs if the fetching thread let go of the GIL
    elapsed = time.monotonic() - started
    t.join()
    assert elapsed >= 0.3
    assert spins > 100_000


def test_the_gil_is_released_during_requests(srv: Server) -> None:
    client = srv.client()
    client.get_token()
    srv.admin("POST", "/admin/faults", {"target": "api", "latency_ms": 300})
    done = threading.Event()

    def call() -> None:
        assert client.request("GET", "/v1/models").status == 200
        done.set()

    t = threading.Thread(target=call)
    t.start()
    spins = 0
    while not done.is_set():
        spins += 1
    t.join()
    assert spins > 100_000


def test_many_threads_hammering_the_cache(srv: Server) -> None:
    client = srv.client()
    first = client.get_token()

    def worker() -> None:
        for _ in range(20_000):
            assert client.get_token() is first

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert srv.token_requests() == 1


def test_ctrl_c_interrupts_a_blocking_call(srv: Server) -> None:
    """A signal handler raising KeyboardInterrupt gets through a blocked get_token()."""
    import subprocess
    import sys

    srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 5000})
    code = f"""
import signal, time, synapsestream_auth as sa
def on_alarm(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, on_alarm)
c = sa.Client(client_id="synapse-dev-client", client_secret={srv.secret()!r},
              base_url={srv.base_url!r}, ca_file={srv.ca_file!r})
signal.setitimer(signal.ITIMER_REAL, 0.3)
started = time.monotonic()
try:
    c.get_token()
except KeyboardInterrupt:
    elapsed = time.monotonic() - started
    assert elapsed < 2, elapsed
    print("interrupted after", round(elapsed, 2))
else:
    raise SystemExit("not interrupted")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interrupted after" in result.stdout
