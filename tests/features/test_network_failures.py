"""A system that cannot be reached: the error names the address at once, retries say so, and a
loopback address (a local sandbox) asks whether the sandbox is running.

It used to be 9-11 s of nothing, then C503 without the address.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.http import RetryPolicy, send_with_retries
from connectors.qbo import errors as qbo_errors
from engine.project.writing import write_sandbox_project
from sandbox.server import create, free_port


def test_a_stopped_sandbox_is_named_with_its_address_quickly(tmp_path: Path, joist: Any) -> None:
    ports = {"procore": free_port(), "qbo": free_port()}  # nothing listens there
    boxes = {"procore": create("procore", seed=False), "qbo": create("qbo")}
    write_sandbox_project(tmp_path, {n: b.connection_info(f"http://127.0.0.1:{ports[n]}") for n, b in boxes.items()})
    started = time.monotonic()
    result = joist("plan", cwd=tmp_path)
    assert time.monotonic() - started < 8
    assert result.returncode == 1, result.stdout + result.stderr
    assert "C503" in result.stderr or "C524" in result.stderr
    assert f"http://127.0.0.1:{ports['procore']}/" in result.stderr or f"127.0.0.1:{ports['qbo']}" in result.stderr
    assert "is the sandbox running?" in result.stderr and "Traceback" not in result.stderr


def _refusing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_retries_say_what_they_wait_for(caplog: pytest.LogCaptureFixture) -> None:
    client = httpx.Client(transport=httpx.MockTransport(_refusing))
    request = client.build_request("GET", "https://quickbooks.example/v3/company/1/query?query=select")
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="joist.connectors"), pytest.raises(httpx.ConnectError):
        send_with_retries(client, request, safe_to_retry=True, policy=RetryPolicy(attempts=3), sleep=waits.append)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and len(waits) == 2
    assert lines[0].startswith(
        "cannot reach https://quickbooks.example/v3/company/1/query (ConnectError); retry 1 of 2"
    )
    error = qbo_errors.transport_failure(httpx.ConnectError("refused", request=request), request)
    assert "https://quickbooks.example/v3/company/1/query" in error.message
    assert "is the sandbox running?" not in (error.hint or "") and "base_url" in (error.hint or "")


def test_a_refused_loopback_connection_is_not_retried_for_a_minute() -> None:
    client = httpx.Client(transport=httpx.MockTransport(_refusing))
    request = client.build_request("GET", "http://127.0.0.1:9/v3/company/1/query")
    waits: list[float] = []
    with pytest.raises(httpx.ConnectError):
        send_with_retries(client, request, safe_to_retry=True, policy=RetryPolicy(attempts=6), sleep=waits.append)
    assert len(waits) == 1  # one retry, for a server that is just starting
