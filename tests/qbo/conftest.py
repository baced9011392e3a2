"""Fixtures: a fresh QBO sandbox per test, reached in-process, and a connector on it."""

from __future__ import annotations

import base64
import types
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.base import Credentials
from connectors.qbo.client import QBOConnector
from connectors.qbo.query import Where
from connectors.qbo.wire import dumps, loads
from connectors.tokens import MemoryTokenStore
from sandbox.qbo.app import AU_REALM, US_REALM, QBOSandbox, create_sandbox
from sandbox.transport import InProcessTransport

BASE = "http://qbo.test"


@pytest.fixture
def box() -> QBOSandbox:
    return create_sandbox()


@pytest.fixture
def transport(box: QBOSandbox) -> Iterator[InProcessTransport]:
    t = InProcessTransport(box.app)
    yield t
    t.close()


def bearer(client: httpx.Client, box: QBOSandbox, realm: str = US_REALM) -> str:
    """An access token got the way python-quickbooks gets one: a refresh grant."""
    basic = base64.b64encode(f"{box.client_id}:{box.client_secret}".encode()).decode()
    response = client.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": box.refresh_token(realm)},
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class FakeClock:
    """Monotonic time that only moves when the connector sleeps: backoff and pacing cost nothing."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds


class Raw:
    """A bare HTTP client speaking to one realm, for requests shaped like other clients send them."""

    def __init__(self, client: httpx.Client, token: str, realm: str) -> None:
        self.client, self.token, self.realm = client, token, realm

    def renew(self, box: QBOSandbox) -> None:
        """A fresh access token (after the clock moved past the old one's hour)."""
        self.token = bearer(self.client, box, self.realm)

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": "python-quickbooks V3 library",
            **(extra or {}),
        }

    def post(self, path: str, body: Any, params: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else dumps(body)
        return self.client.post(
            self.url(path),
            content=content,
            params={"minorversion": "75", **(params or {})},
            headers=self.headers({"Content-Type": "application/json"}),
        )

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self.client.get(self.url(path), params={"minorversion": "75", **(params or {})}, headers=self.headers())

    def query(self, sql: str) -> httpx.Response:
        return self.client.post(
            self.url("query"),
            content=sql.encode(),
            params={"minorversion": "75"},
            headers=self.headers({"Content-Type": "application/text"}),
        )

    @staticmethod
    def data(response: httpx.Response) -> Any:
        return loads(response.content)


@pytest.fixture
def client(transport: InProcessTransport) -> Iterator[httpx.Client]:
    with httpx.Client(transport=transport, base_url=BASE) as c:
        yield c


@pytest.fixture
def raw(client: httpx.Client, box: QBOSandbox) -> Raw:
    return Raw(client, bearer(client, box), US_REALM)


@pytest.fixture
def raw_au(client: httpx.Client, box: QBOSandbox) -> Raw:
    return Raw(client, bearer(client, box, AU_REALM), AU_REALM)


@pytest.fixture
def make_connector(box: QBOSandbox, transport: InProcessTransport) -> Callable[..., QBOConnector]:
    def make(realm: str = US_REALM, **options: Any) -> QBOConnector:
        if "sleep" not in options:
            clock = FakeClock()
            options.update(sleep=clock.sleep, now=clock.now)
        store = options.pop("token_store", None) or MemoryTokenStore()
        credentials = Credentials(box.client_id, box.client_secret, refresh_token=box.refresh_token(realm))
        return QBOConnector(BASE, realm, credentials, store, transport=transport, **options)

    return make


@pytest.fixture
def qbo(make_connector: Callable[..., QBOConnector]) -> QBOConnector:
    return make_connector()


def item_id(qbo: QBOConnector, name: str = "Services") -> str:
    return next(qbo.find("Item", Where().eq("Name", name)))["Id"]


def invoice_lines(item: str) -> list[dict[str, Any]]:
    """Qty 2 x 50 = 100 and Qty 1 x 25 = 25."""
    return [
        {
            "Amount": Decimal("100.00"),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": Decimal("2"), "UnitPrice": Decimal("50")},
        },
        {
            "Amount": Decimal("25.00"),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": Decimal("1"), "UnitPrice": Decimal("25")},
        },
    ]


@pytest.fixture
def h() -> types.SimpleNamespace:
    """Shared builders: `h.item_id(qbo)`, `h.invoice_lines(item)`."""
    return types.SimpleNamespace(item_id=item_id, invoice_lines=invoice_lines)
