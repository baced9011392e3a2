"""`joist sandbox up` on a busy port, and the Procore sandbox's lenient company header, over loopback.

A busy default port is replaced by a free one (and said so); a busy `--port` is an error
naming the port and how to choose another, never `internal error: RuntimeError`.
`--lenient-company-header` serves clients that send only a `company_id` parameter.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from sandbox.server import SANDBOXES, free_port


@contextmanager
def _listening(port: int) -> Iterator[None]:
    """Hold `port` busy (when nothing else already does)."""
    holder = socket.socket()
    try:
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError:
            pass  # already busy: just as good
        yield
    finally:
        holder.close()


def test_a_busy_port_given_with_port_is_a_clear_error(joist: Any) -> None:
    port = free_port()
    with _listening(port):
        result = joist("sandbox", "up", "qbo", "--port", str(port))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port} on 127.0.0.1 is busy" in result.stderr and "--port" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_busy_default_port_is_replaced_by_a_free_one(serving: Any) -> None:
    default = SANDBOXES["qbo"][1]
    with _listening(default), serving("sandbox", "up", "qbo") as lines:
        text = "\n".join(lines)
        assert f"port {default} is busy: the qbo sandbox serves on another" in text
        base = re.search(r"base_url\s+(http://127\.0\.0\.1:(\d+))", text)
        assert base and int(base[2]) != default
        assert httpx.get(base[1] + "/_sandbox/requests", timeout=10).status_code == 200


def _procore_token(text: str) -> tuple[str, str, str]:
    found = {k: re.search(rf"^\s+{k}\s+(\S+)$", text, re.M) for k in ("base_url", "client_id", "client_secret")}
    refresh = re.search(r"^\s+refresh_token\s+(\S+)$", text, re.M)
    company = re.search(r"^\s+company_id\s+(\S+)$", text, re.M)
    assert all(found.values()) and refresh and company, text
    base = found["base_url"][1]  # type: ignore[index]
    token = httpx.post(
        base + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh[1],
            "client_id": found["client_id"][1],  # type: ignore[index]
            "client_secret": found["client_secret"][1],  # type: ignore[index]
        },
        timeout=10,
    ).json()["access_token"]
    return base, token, company[1]


def test_lenient_company_header_accepts_a_company_id_parameter(serving: Any) -> None:
    for lenient, expected in ((False, 400), (True, 200)):
        args = ["sandbox", "up", "procore", "--port", str(free_port()), "--show-secrets"]
        with serving(*args, *(["--lenient-company-header"] if lenient else [])) as lines:
            base, token, company = _procore_token("\n".join(lines))
            answer = httpx.get(
                f"{base}/rest/v1.0/projects",
                params={"company_id": company},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == expected, answer.text


def test_lenient_company_header_is_a_procore_option(joist: Any) -> None:
    result = joist("sandbox", "up", "qbo", "--lenient-company-header")
    assert result.returncode == 2 and "procore sandbox" in result.stderr
