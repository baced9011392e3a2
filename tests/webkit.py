"""The dashboard in-process for tests: a sandbox project, its service (no worker) and a client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox_pair import SandboxPair, sandbox_pair
from starlette.testclient import TestClient

from sandbox.transport import InProcessTransport
from serve.app import Service
from web.app import create_web_app

PASSWORD = "correct horse battery"


@contextmanager
def dashboard(project_dir: Path, **pair_options: Any) -> Iterator[tuple[SandboxPair, Service, Any]]:
    """A sandbox pair, a service on its project (webhooks not registered, worker not started) and the web app."""
    with sandbox_pair(project_dir, **pair_options) as pair:
        transports = {n: InProcessTransport(b.app) for n, b in pair.boxes.items()}
        service = Service(pair.project_dir, public_url="http://testserver", transports=transports, register=False)
        try:
            yield pair, service, create_web_app(service)
        finally:
            service.session.close()


def client(app: Any, **headers: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False, headers=headers)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(c: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "name": name, "password": password})


SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def shoot(page: Any, name: str) -> None:
    """A browser page photographed at desktop (1280x800) and phone (390 wide) size, full length."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
