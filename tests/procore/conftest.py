"""Fixtures: a fresh Procore sandbox per test, a raw HTTP client and a connector on it.

The connector gets the sandbox clock for `now`/`wall` and `clock.advance` as `sleep`, so
backoff and rate-limit pauses move sandbox time instead of waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.base import Credentials
from connectors.procore import ProcoreConnector
from connectors.tokens import MemoryTokenStore
from sandbox.procore.app import ProcoreSandbox, create_sandbox
from sandbox.transport import InProcessTransport

BASE = "http://127.0.0.1:8710"


@pytest.fixture
def box() -> ProcoreSandbox:
    return create_sandbox(deliver_webhooks=False)


@pytest.fixture
def transport(box: ProcoreSandbox) -> Iterator[InProcessTransport]:
    t = InProcessTransport(box.app)
    yield t
    t.close()


@pytest.fixture
def client(transport: InProcessTransport) -> Iterator[httpx.Client]:
    with httpx.Client(transport=transport, base_url=BASE) as c:
        yield c


class Raw:
    """A bare client with a bearer token and the company header (unless told otherwise)."""

    def __init__(self, client: httpx.Client, box: ProcoreSandbox) -> None:
        self.client, self.box = client, box
        self.token = box.access_token()
        self.company = box.company_id

    def headers(self, company: bool = True) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.token}"}
        if company:
            found["Procore-Company-Id"] = str(self.company)
        return found

    def get(self, path: str, company: bool = True, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.headers(company))

    def send(self, method: str, path: str, body: Any = None, company: bool = True, **params: Any) -> httpx.Response:
        return self.client.request(method, path, json=body, params=params, headers=self.headers(company))

    @staticmethod
    def data(response: httpx.Response) -> Any:
        return response.json(parse_float=Decimal)

    def project(self, index: int = 0) -> dict[str, Any]:
        return self.data(self.get("/rest/v1.0/projects", company_id=self.company))[index]


@pytest.fixture
def raw(client: httpx.Client, box: ProcoreSandbox) -> Raw:
    return Raw(client, box)


def make_connector(box: ProcoreSandbox, transport: httpx.BaseTransport, **options: Any) -> ProcoreConnector:
    info = box.connection_info(BASE)
    clock = box.control.clock
    creds = Credentials(info["client_id"], info["client_secret"], refresh_token=info["refresh_token"])
    options = {"sleep": clock.advance, "now": clock.monotonic, "wall": clock.now, **options}
    return ProcoreConnector(
        info["base_url"],
        info["company_id"],
        creds,
        options.pop("store", MemoryTokenStore()),
        transport=transport,
        **options,
    )


@pytest.fixture
def connector(box: ProcoreSandbox, transport: InProcessTransport) -> ProcoreConnector:
    return make_connector(box, transport)


def everything(connector: ProcoreConnector, entity: str, **options: Any) -> list[dict[str, Any]]:
    return [r for page in connector.read(entity, **options) for r in page.records]


@pytest.fixture
def new_connector(box: ProcoreSandbox, transport: InProcessTransport) -> Any:
    """Build another connector on the same sandbox: new_connector(store=..., policy=...)."""
    return lambda **options: make_connector(box, options.pop("transport", transport), **options)


@pytest.fixture
def read_all() -> Any:
    """read_all(connector, entity, since=..., scope=...): every record of a read, pages joined."""
    return everything
