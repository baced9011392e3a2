"""The connector's own duties: OAuth, paging, cursors, pacing, typed errors, Decimal money."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from connectors.base import Connector, Credentials, Rejected
from connectors.qbo import errors
from connectors.qbo.auth import OAuthClient, authorize_local, endpoints_for
from connectors.qbo.client import BatchOp, QBOConnector, request_id
from connectors.qbo.query import Where, quote, select
from connectors.tokens import FileTokenStore, MemoryTokenStore
from sandbox.qbo.app import AU_REALM, US_REALM, QBOSandbox
from sandbox.transport import InProcessTransport


def test_is_a_connector(qbo: QBOConnector) -> None:
    assert isinstance(qbo, Connector) and qbo.system == "qbo"
    assert "Invoice" in qbo.entities() and "TimeActivity" in qbo.entities()


def test_authorization_code_flow_with_local_redirect(box: QBOSandbox, transport: InProcessTransport) -> None:
    sandbox_http = httpx.Client(transport=transport, base_url="http://qbo.test")
    oauth = OAuthClient(
        Credentials(box.client_id, box.client_secret), endpoints_for("http://qbo.test"), client=sandbox_http
    )

    def browser(url: str) -> None:
        consent = sandbox_http.get(url)
        assert consent.status_code == 302
        with httpx.Client() as real:
            assert real.get(consent.headers["location"]).status_code == 200

    tokens, realm = authorize_local(oauth, open_browser=browser, timeout=10)
    assert realm == US_REALM and tokens["access_token"] and tokens["refresh_token"]
    store = MemoryTokenStore({f"qbo:{realm}": tokens})
    qbo = QBOConnector(
        "http://qbo.test",
        realm,
        Credentials(box.client_id, box.client_secret),
        store,
        transport=transport,
        sleep=lambda s: None,
    )
    assert qbo.get("Customer", "34")["DisplayName"] == "Riverside Medical Center"


def test_refresh_saves_rotated_token_before_use(box: QBOSandbox, transport: InProcessTransport, tmp_path: Path) -> None:
    seed_token = box.refresh_token()
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    saved: list[dict[str, Any]] = []
    original_save = store.save

    def spy(key: str, tokens: dict[str, Any]) -> None:
        saved.append(dict(tokens))
        original_save(key, tokens)

    store.save = spy  # type: ignore[method-assign]
    used: list[str] = []

    def watch(request: httpx.Request) -> httpx.Response:
        if "/v3/" in request.url.path:
            token = request.headers["authorization"].split()[1]
            used.append(token)
            assert any(s.get("access_token") == token for s in saved), "access token used before it was saved"
        return transport.handle_request(request)

    qbo = QBOConnector(
        "http://qbo.test",
        US_REALM,
        Credentials(box.client_id, box.client_secret, refresh_token=seed_token),
        store,
        transport=httpx.MockTransport(watch),
        sleep=lambda s: None,
    )
    qbo.get("Customer", "34")
    assert used and saved[-1]["refresh_token"] != seed_token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert seed_token not in path.read_text()


def test_two_workers_share_the_store_without_burning_the_token(
    box: QBOSandbox, make_connector: Callable[..., QBOConnector]
) -> None:
    store = MemoryTokenStore()
    first = make_connector(token_store=store)
    first.get("Customer", "34")
    second = QBOConnector(
        "http://qbo.test",
        US_REALM,
        Credentials(box.client_id, box.client_secret),
        store,
        transport=first.http._transport,
        sleep=lambda s: None,
    )
    assert second.get("Customer", "34") is not None
    assert first.get("Customer", "35") is not None


def test_expired_access_token_is_refreshed_on_401(box: QBOSandbox, qbo: QBOConnector) -> None:
    qbo.get("Customer", "34")
    box.control.clock.advance(3700)
    assert qbo.get("Customer", "34")["Id"] == "34"
    box.store.oauth["access"].clear()
    assert qbo.get("Customer", "35")["Id"] == "35"


def test_read_pages_until_exhausted(box: QBOSandbox, qbo: QBOConnector) -> None:
    company = box.company()
    for n in range(1203):
        company.create("Vendor", {"DisplayName": f"Bulk Vendor {n:04d}"})
    pages = list(qbo.read("Vendor"))
    assert [len(p.records) for p in pages] == [1000, 206]
    assert pages[0].cursor is None and pages[-1].cursor
    assert len({v["Id"] for p in pages for v in p.records}) == 1206
    assert len(list(qbo.find("Vendor", Where().raw("DisplayName LIKE 'Bulk Vendor 1%'")))) == 203


def test_get_many_reads_two_hundred_ids_a_query_inactive_names_too(box: QBOSandbox, qbo: QBOConnector) -> None:
    company = box.company()
    made = [str(company.create("Vendor", {"DisplayName": f"Many Vendor {n:03d}"})["Id"]) for n in range(450)]
    company.update("Vendor", {"Id": made[7], "SyncToken": "0", "sparse": True, "Active": False})
    box.control.log.clear()
    found = qbo.get_many("Vendor", [*made, made[0], "99999", "not-an-id"])
    assert sorted(found) == sorted(made)
    assert found[made[7]]["Active"] is False
    assert found[made[3]] == qbo.get("Vendor", made[3])
    assert len([e for e in box.control.log.entries if e.path.endswith("/query")]) == 3  # 200 + 200 + 50


def test_cursor_sees_every_change_after_it(box: QBOSandbox, qbo: QBOConnector) -> None:
    box.control.clock.advance(10)
    cursor = list(qbo.read("Customer"))[-1].cursor
    made = qbo.create("Customer", {"DisplayName": "Right After"}, idempotency_key="ra")
    box.control.clock.advance(10)
    changes = list(qbo.read("Customer", since=cursor))
    assert [r["Id"] for r in changes[0].records] == [made["Id"]]
    assert list(qbo.read("Customer", since=changes[-1].cursor))[0].records == []


def test_create_replay_and_find_created(qbo: QBOConnector, box: QBOSandbox) -> None:
    key = "procore:vendor:991:create"
    first = qbo.create("Vendor", {"DisplayName": "Replayed Vendor"}, idempotency_key=key)
    again = qbo.create("Vendor", {"DisplayName": "Replayed Vendor"}, idempotency_key=key)
    assert again["Id"] == first["Id"]
    assert qbo.find_created("Vendor", key)["Id"] == first["Id"]
    assert qbo.find_created("Vendor", "never-used") is None
    assert len(request_id("x" * 80)) == 36 and request_id("abc-123") == "abc-123"


def test_update_rereads_and_keeps_purchase_payment_type(qbo: QBOConnector) -> None:
    bank = next(qbo.find("Account", Where().eq("Name", "Checking")))
    expense = next(qbo.find("Account", Where().eq("Name", "Job Expenses")))
    purchase = qbo.create(
        "Purchase",
        {
            "PaymentType": "Check",
            "AccountRef": {"value": bank["Id"]},
            "Line": [
                {
                    "Amount": Decimal("12.34"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense["Id"]}},
                }
            ],
        },
        idempotency_key="pu1",
    )
    updated = qbo.update("Purchase", purchase["Id"], {"PrivateNote": "receipt 7"})
    assert updated["PaymentType"] == "Check" and updated["TotalAmt"] == Decimal("12.34")
    assert updated["PrivateNote"] == "receipt 7"


def test_errors_are_typed_with_code_element_and_hint(qbo: QBOConnector, box: QBOSandbox) -> None:
    with pytest.raises(errors.QBOMissingField) as missing:
        qbo.create("Invoice", {"CustomerRef": {"value": "34"}}, idempotency_key="e1")
    assert missing.value.api_code == "2020" and missing.value.element == "Line" and missing.value.hint
    assert isinstance(missing.value, Rejected) and not missing.value.retryable
    vendor = qbo.create("Vendor", {"DisplayName": "Inactive Vendor"}, idempotency_key="e2")
    qbo.delete("Vendor", vendor["Id"], mode="deactivate")
    account = next(qbo.find("Account", Where().eq("Name", "Job Expenses")))
    with pytest.raises(errors.QBOInactiveReference) as inactive:
        qbo.create(
            "Bill",
            {
                "VendorRef": {"value": vendor["Id"]},
                "Line": [
                    {
                        "Amount": 5,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account["Id"]}},
                    }
                ],
            },
            idempotency_key="e3",
        )
    assert inactive.value.api_code == "610" and "Reactivate" in inactive.value.hint
    with pytest.raises(errors.QBOQueryError):
        qbo.query("SELECT * FROM Customer WHERE Nonsense = 'x'")
    box.control.set_faults(error_rate=1.0, path_pattern="/v3/")
    with pytest.raises(errors.QBOUnavailable) as down:
        qbo.get("Customer", "34")
    assert down.value.retryable and down.value.code == "C524"


def test_doc_number_duplicates(qbo: QBOConnector, h: SimpleNamespace) -> None:
    item = h.item_id(qbo)
    payload = {"CustomerRef": {"value": "34"}, "DocNumber": "INV-7", "Line": h.invoice_lines(item)}
    qbo.create("Invoice", payload, idempotency_key="dn1")
    with pytest.raises(errors.QBODuplicateDocNumber) as dup:
        qbo.create("Invoice", payload, idempotency_key="dn2")
    assert dup.value.api_code == "6140"
    allowed = qbo.create(
        "Invoice", payload, idempotency_key="dn3", scope={"params": {"include": "allowduplicatedocnum"}}
    )
    assert allowed["DocNumber"] == "INV-7"


def test_token_bucket_paces_calls(box: QBOSandbox, make_connector: Callable[..., QBOConnector]) -> None:
    clock = {"t": 0.0}

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    qbo = make_connector(sleep=sleep, now=lambda: clock["t"])
    for _ in range(30):
        qbo.get("Term", "1")
    expected = (30 - 10) * 60 / 490
    assert expected - 0.01 <= clock["t"] <= expected + 0.5


def test_query_quoting() -> None:
    assert quote("O'Brien \\ Sons") == "'O\\'Brien \\\\ Sons'"
    assert quote(True) == "true" and quote(Decimal("1.50")) == "1.50"
    where = Where().eq("DisplayName", "O\u2019Brien")
    assert "LIKE 'O%Brien'" in select("Customer", where)
    assert where.accepts({"DisplayName": "O\u2019Brien"}) and not where.accepts({"DisplayName": "OxBrien"})
    with pytest.raises(ValueError):
        select("Customer", page=1001)


def test_money_stays_decimal_both_ways(qbo: QBOConnector, h: SimpleNamespace) -> None:
    item = h.item_id(qbo)
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": "34"},
            "Line": [
                {
                    "Amount": Decimal("0.30"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item},
                        "Qty": Decimal("3"),
                        "UnitPrice": Decimal("0.10"),
                    },
                }
            ],
        },
        idempotency_key="m1",
    )
    assert invoice["TotalAmt"] == Decimal("0.30") and isinstance(invoice["Line"][0]["Amount"], Decimal)
    with pytest.raises(TypeError):
        qbo.create("Invoice", {"CustomerRef": {"value": "34"}, "Line": [{"Amount": 0.1}]}, idempotency_key="m2")


def test_au_realm_connector(make_connector: Callable[..., QBOConnector]) -> None:
    au = make_connector(AU_REALM)
    info = au.query("SELECT * FROM CompanyInfo")["CompanyInfo"][0]
    assert info["Country"] == "AU"


def test_xml_throttle_body_is_still_a_typed_error(box: QBOSandbox, qbo: QBOConnector) -> None:
    qbo.get("Term", "1")
    box.throttle_as_xml = True
    box.control.set_faults(throttle_rate=1.0, path_pattern="^/v3/")
    with pytest.raises(errors.QBOThrottled) as caught:
        qbo.get("Term", "1")
    assert caught.value.api_code == "3001" and caught.value.status == 429 and caught.value.retryable
    throttled = [e for e in box.control.log.entries if e.fault == "throttle"]
    assert len(throttled) == qbo.policy.attempts


def test_batch_with_request_id_replays_after_a_crash(box: QBOSandbox, qbo: QBOConnector) -> None:
    ops = [BatchOp("create", "Customer", {"DisplayName": f"Crash Batch {n}"}, bid=str(n + 1)) for n in range(3)]
    key = "batch:owners_to_customers:" + "x" * 40
    first = qbo.batch(ops, request_id=key)
    again = qbo.batch(ops, request_id=key)
    assert [r.record["Id"] for r in first] == [r.record["Id"] for r in again]
    rows = list(qbo.find("Customer", Where().raw("DisplayName LIKE 'Crash Batch%'")))
    assert len(rows) == 3


def test_old_cursor_is_a_full_read_without_asking_cdc(box: QBOSandbox, qbo: QBOConnector) -> None:
    pages = list(qbo.read("Term", since="2020-01-01T00:00:00-08:00"))
    assert sum(len(p.records) for p in pages) == 3 and pages[-1].cursor
    assert not any(e.path.endswith("/cdc") for e in box.control.log.entries)
