"""A client used in the parent keeps working in a child after fork()."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import traceback
import warnings
from typing import Optional, Tuple

import pytest

import synapsestream_auth as sa

from conftest import Server

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

_CLIENT: Optional[sa.Client] = None


def _child_work(_: int) -> Tuple[str, str, int]:
    """In a pool worker: the inherited cached token, then a fresh fetch and an API call."""
    assert _CLIENT is not None
    inherited = _CLIENT.get_token().token
    _CLIENT.invalidate()
    fresh = _CLIENT.get_token().token
    status = _CLIENT.request("GET", "/v1/models").status
    return inherited, fresh, status


def _wait_child(pid: int, timeout: float = 30.0) -> int:
    """The child's exit code; kills it and fails if it is still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child was still running after {timeout}s (deadlock after fork?)")


def _fork() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        return os.fork()


def test_os_fork_child_fetches_a_new_token(srv: Server) -> None:
    client = srv.client()
    parent_token = client.get_token().token
    read_end, write_end = os.pipe()
    pid = _fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_end)
            assert client.get_token().token == parent_token  # inherited cache, no runtime needed
            client.invalidate()
            fresh = client.get_token()  # a real token request on the child's new runtime
            assert fresh.token != parent_token
            assert client.request("GET", "/v1/models").status == 200
            os.write(write_end, fresh.token.encode())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        child_token = f.read().decode()
    assert _wait_child(pid) == 0
    assert child_token and child_token != parent_token
    # The parent is unaffected and still serves its own cached token.
    assert client.get_token().token == parent_token
    assert client.request("GET", "/v1/models").status == 200
    assert srv.token_requests() == 2


FORK_STRESS = int(os.environ.get("SYNAPSE_FORK_STRESS", "10"))


def test_fork_while_a_fetch_is_in_flight_in_another_thread(srv: Server) -> None:
    import threading

    for _ in range(FORK_STRESS):
        srv.reset()
        srv.admin("POST", "/admin/faults", {"target": "token", "latency_ms": 300})
        client = srv.client()
        t = threading.Thread(target=client.get_token)
        t.start()
        pid = _fork()
        if pid == 0:
            code = 1
            try:
                assert client.get_token().token  # the parent's flight is gone: the child starts its own
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        t.join()
        assert _wait_child(pid, timeout=15) == 0


def test_multiprocessing_pool_with_fork(srv: Server) -> None:
    global _CLIENT
    _CLIENT = srv.client()
    try:
        parent_token = _CLIENT.get_token().token
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(2) as pool:
                results = pool.map_async(_child_work, range(4)).get(timeout=60)
        for inherited, fresh, status in results:
            assert inherited in {parent_token} | {r[1] for r in results}
            assert fresh != parent_token
            assert status == 200
        assert _CLIENT.get_token().token == parent_token
        # One fetch per task; a refresh token inherited by two children and used by
        # both is "reuse" to the server (rotation), which revokes it and costs one
        # more client_credentials request: allowed, as long as every call succeeded.
        assert 1 + 4 <= srv.token_requests() <= 1 + 4 * 2
    finally:
        _CLIENT = None


def test_multiprocessing_process_with_fork(srv: Server) -> None:
    global _CLIENT
    _CLIENT = srv.client()
    try:
        _CLIENT.get_token()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = multiprocessing.get_context("fork")
            p = ctx.Process(target=_child_work, args=(0,))
            p.start()
            p.join(30)
        if p.is_alive():
            p.kill()
            pytest.fail("the forked process hung")
        assert p.exitcode == 0
    finally:
        _CLIENT = None


if sys.platform == "darwin":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="fork without exec is unsafe on macOS")
