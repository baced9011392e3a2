"""A commitment payment that names only the subcontractor invoice it pays: the connector
reads the invoice (requisition) for its commitment and project, as Procore posts a payment
to its contract. This is what lets a QBO bill payment, which names only bills, become a
Procore payment issued on the right commitment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from connectors.base import NotFound


def _requisitions(connector: Any, read_all: Any) -> dict[str, dict[str, Any]]:
    return {r["invoice_number"]: r for r in read_all(connector, "requisitions")}


def _payment_posts(box: Any) -> list[Any]:
    return [e for e in box.control.log.writes("/contract_payments") if e.method == "POST"]


def test_a_payment_naming_only_its_invoice_is_posted_to_the_invoices_commitment(
    connector: Any, box: Any, read_all: Any
) -> None:
    req = _requisitions(connector, read_all)["BREL-77"]
    # a rule's ref() gives the id as text; Procore's ids are numbers
    made = connector.create(
        "commitment_payments",
        {
            "requisition_id": str(req["id"]),
            "date": "2024-05-02",
            "amount": Decimal("54000.00"),
            "check_number": "2310",
            "payment_method": "check",
        },
        idempotency_key="joist:bill_payments:201",
    )
    assert (made["contract_id"], made["project_id"], made["requisition_id"]) == (
        req["commitment_id"],
        req["project_id"],
        req["id"],
    )
    assert made["amount"] == Decimal("54000.00") and made["date"] == "2024-05-02"
    [stored] = box.store.rows("contract_payments", origin_id="joist:bill_payments:201")
    assert (stored["contract_id"], stored["project_id"], stored["requisition_id"]) == (
        req["commitment_id"],
        req["project_id"],
        req["id"],
    )
    # it is listed among the payments issued on that commitment
    issued = [p for p in read_all(connector, "commitment_payments") if p["contract_id"] == req["commitment_id"]]
    assert [p["id"] for p in issued] == [made["id"]]


def test_the_same_key_again_finds_the_payment_instead_of_posting_a_second(
    connector: Any, box: Any, read_all: Any
) -> None:
    req = _requisitions(connector, read_all)["SUMC-1001"]
    payload = {"requisition_id": req["id"], "date": "2024-05-10", "amount": Decimal("5000.00")}
    first = connector.create("commitment_payments", payload, idempotency_key="joist:bill_payments:202")
    again = connector.create("commitment_payments", payload, idempotency_key="joist:bill_payments:202")
    assert again["id"] == first["id"]
    assert len(box.store.rows("contract_payments", origin_id="joist:bill_payments:202")) == 1


def test_a_lost_answer_is_recovered_without_a_second_payment(connector: Any, box: Any, read_all: Any) -> None:
    req = _requisitions(connector, read_all)["SUMC-1001"]
    box.control.set_faults(drop_after_rate=1.0, path_pattern=r"^/rest/v1\.0/contract_payments$")
    try:
        with pytest.raises(Exception):
            connector.create(
                "commitment_payments",
                {"requisition_id": req["id"], "date": "2024-05-11", "amount": Decimal("7.01")},
                idempotency_key="joist:bill_payments:203",
            )
    finally:
        box.control.set_faults()
    made = connector.find_created("commitment_payments", "joist:bill_payments:203")
    assert made is not None and made["contract_id"] == req["commitment_id"]
    again = connector.create(
        "commitment_payments",
        {"requisition_id": req["id"], "date": "2024-05-11", "amount": Decimal("7.01")},
        idempotency_key="joist:bill_payments:203",
    )
    assert again["id"] == made["id"]
    assert len(box.store.rows("contract_payments", origin_id="joist:bill_payments:203")) == 1


def test_a_project_in_the_payload_reads_the_invoice_in_that_project_only(
    connector: Any, box: Any, read_all: Any
) -> None:
    req = _requisitions(connector, read_all)["BREL-77"]
    box.control.log.clear()
    made = connector.create(
        "commitment_payments",
        {
            "project_id": req["project_id"],
            "requisition_id": req["id"],
            "date": "2024-05-03",
            "amount": Decimal("100.10"),
        },
        idempotency_key="joist:bill_payments:204",
    )
    assert made["contract_id"] == req["commitment_id"]
    reads = [e.path for e in box.control.log.entries if e.method == "GET"]
    assert f"/rest/v1.0/requisitions/{req['id']}" in reads
    assert "/rest/v1.0/projects" not in reads  # no search across the company's projects


def test_a_contract_in_the_payload_is_kept_and_no_invoice_is_read(connector: Any, box: Any, read_all: Any) -> None:
    reqs = _requisitions(connector, read_all)
    box.control.log.clear()
    # an unusual but explicit choice: the rule names the contract itself
    made = connector.create(
        "commitment_payments",
        {
            "project_id": reqs["BREL-77"]["project_id"],
            "contract_id": reqs["SUMC-1001"]["commitment_id"],
            "requisition_id": reqs["BREL-77"]["id"],
            "date": "2024-05-04",
            "amount": Decimal("1.00"),
        },
        idempotency_key="joist:bill_payments:205",
    )
    assert made["contract_id"] == reqs["SUMC-1001"]["commitment_id"]
    assert not [e for e in box.control.log.entries if e.method == "GET" and "/requisitions" in e.path]


def test_an_invoice_procore_does_not_have_is_a_not_found_and_nothing_is_posted(connector: Any, box: Any) -> None:
    box.control.log.clear()
    with pytest.raises(NotFound) as caught:
        connector.create(
            "commitment_payments",
            {"requisition_id": 999999, "date": "2024-05-05", "amount": Decimal("10.00")},
            idempotency_key="joist:bill_payments:206",
        )
    assert caught.value.element == "requisition_id" and "999999" in caught.value.message
    assert _payment_posts(box) == []


def test_a_payment_without_invoice_or_contract_is_still_refused_for_its_contract(
    connector: Any, box: Any, read_all: Any
) -> None:
    project = read_all(connector, "requisitions")[0]["project_id"]
    with pytest.raises(Exception) as caught:
        connector.create(
            "commitment_payments",
            {"project_id": project, "date": "2024-05-06", "amount": Decimal("10.00")},
            idempotency_key="joist:bill_payments:207",
        )
    assert "contract_id" in str(caught.value.message)


def test_an_update_to_another_invoice_moves_the_payment_to_that_invoices_commitment(
    connector: Any, box: Any, read_all: Any
) -> None:
    reqs = _requisitions(connector, read_all)
    # the seed's payment keyed in by hand (no origin_id, so Procore lets it be edited)
    [keyed] = [p for p in read_all(connector, "commitment_payments") if p["origin_id"] is None]
    assert keyed["contract_id"] == reqs["SUMC-1001"]["commitment_id"]
    moved = connector.update(
        "commitment_payments", str(keyed["id"]), {"requisition_id": reqs["BREL-77"]["id"]}, current=keyed
    )
    assert (moved["requisition_id"], moved["contract_id"]) == (reqs["BREL-77"]["id"], reqs["BREL-77"]["commitment_id"])
    # a change that does not name an invoice reads none
    box.control.log.clear()
    connector.update("commitment_payments", str(keyed["id"]), {"notes": "moved"}, current=moved)
    assert not [e for e in box.control.log.entries if e.method == "GET" and "/requisitions" in e.path]
