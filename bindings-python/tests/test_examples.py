"""The README's examples: they are the files in examples/, they pass mypy --strict,
and they run as written against the reference server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import PACKAGE_DIR, Server

EXAMPLES_DIR = PACKAGE_DIR / "examples"
README = PACKAGE_DIR / "README.md"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))

# What each example must print (besides exiting with 0).
EXPECTED_OUTPUT: Dict[str, List[str]] = {
    "quickstart.py": ["token for", "models:", "stream: 202", "token subject: synapse-dev-client", "as expected: insufficient_scope 403"],
    "explicit_config.py": ["config error in field client_secret", "rejected: invalid_credentials 401", "now valid for"],
    "async_quickstart.py": ["1 distinct token(s); 1 request(s)", "200"],
    "requests_session.py": ["200"],
    "httpx_client.py": ["sync: 200", "async: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]"],
}


def readme_blocks() -> List[str]:
    return [m.group(1) for m in re.finditer(r"```python\n(.*?)```", README.read_text(), re.S)]


def test_every_example_is_known() -> None:
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED_OUTPUT)


def test_readme_python_blocks_are_the_example_files() -> None:
    files = {p.name: p.read_text() for p in EXAMPLES}
    blocks = readme_blocks()
    assert blocks, "the README has no python examples"
    for block in blocks:
        assert block in files.values(), f"README block is not an examples/*.py file verbatim:\n{block[:300]}"
    shown = [name for name, text in files.items() if text in blocks]
    assert sorted(shown) == sorted(files), "every example file appears in the README"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(server: Server, example: Path) -> None:
    server.reset()
    result = subprocess.run(
        [sys.executable, str(example)],
        env=server.env(),
        cwd=str(EXAMPLES_DIR),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    for expected in EXPECTED_OUTPUT[example.name]:
        assert expected in result.stdout, f"{expected!r} not in:\n{result.stdout}"
    for secret in server.secrets.values():
        assert secret not in result.stdout + result.stderr


def run_mypy(*targets: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *targets],
        cwd=str(PACKAGE_DIR),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_examples() -> None:
    run_mypy("examples")


def test_mypy_strict_on_the_package_sources() -> None:
    # The sources next to the hand-written _native.pyi, checked the same way.
    run_mypy("python/synapsestream_auth")
