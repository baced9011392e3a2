"""Issue 8's reverse payables flows end to end between the seeded sandboxes: purchase orders,
bills and vendor credits entered in QBO become Procore purchase order commitments and
invoice direct costs (S7, S10), to the cent, once the params switch them on. Nothing Joist
wrote from Procore comes back, nothing imported goes out again, and a second sync writes
nothing on either side."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox_pair import sandbox_pair

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params, synced  # noqa: F401

ON = {"qbo_purchase_orders_to_commitments": True, "qbo_bills_to_invoice_direct_costs": True}
REVERSE = (
    "qbo_purchase_orders_to_commitments",
    "qbo_bills_to_invoice_direct_costs",
    "qbo_vendor_credits_to_invoice_direct_costs",
)


def _linked(pair: Any, link_set: str) -> dict[str, str]:
    """Procore id -> QBO id of one link set."""
    return {str(l.procore_id): str(l.qbo_id) for l in pair.session.state.links(link_set)}


def _ids(pair: Any, project_number: str) -> dict[str, Any]:
    """The QBO ids of a project's customer, a linked vendor and linked items of the project's WBS codes."""
    procore = pair.session.connectors({"procore"})["procore"]
    project = next(p for p in records(procore, "projects") if p["project_number"] == project_number)
    wbs = _linked(pair, "wbs_items")
    codes = [
        w
        for w in records(procore, "wbs_codes")
        if str(w.get("project_id")) == str(project["id"]) and str(w["id"]) in wbs
    ]
    vendors = _linked(pair, "vendors")
    vendor = next(v for v in records(procore, "vendors") if v.get("is_active") and str(v["id"]) in vendors)
    return {
        "project": project["id"],
        "customer": _linked(pair, "projects")[str(project["id"])],
        "vendor": vendor["id"],
        "qbo_vendor": vendors[str(vendor["id"])],
        "wbs": [c["id"] for c in codes[:2]],
        "items": [wbs[str(c["id"])] for c in codes[:2]],
    }


def _line(amount: str, description: str, item: str, customer: str) -> dict[str, Any]:
    return {
        "DetailType": "ItemBasedExpenseLineDetail",
        "Amount": Decimal(amount),
        "Description": description,
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "CustomerRef": {"value": customer}},
    }


def _flows(report: Any) -> dict[str, Any]:
    return {f.flow: f for f in report.flows}


def _resync_writes_nothing(pair: Any) -> None:
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
    assert report.totals().get("create", 0) == 0 and report.totals().get("update", 0) == 0


def test_a_purchase_order_entered_in_qbo_becomes_a_procore_commitment(synced: Any) -> None:
    pair, _ = synced
    ids = _ids(pair, "2024-001")
    qbo = pair.session.connectors({"qbo"})["qbo"]
    po = qbo.create(
        "PurchaseOrder",
        {
            "VendorRef": {"value": ids["qbo_vendor"]},
            "DocNumber": "Q-7001",
            "TxnDate": "2024-04-02",
            "Memo": "Door hardware, level 2",
            "Line": [
                _line("3960.00", "Lever sets", ids["items"][0], ids["customer"]),
                _line("350.05", "Door stops", ids["items"][1], ids["customer"]),
            ],
        },
        idempotency_key="test-q-7001",
    )
    # off by default: nothing reaches Procore
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    assert all(_flows(report)[flow].disabled for flow in REVERSE)
    assert pair.writes("procore") == []

    session = set_params(pair, **ON)
    pair.clear_logs()
    report = session.run(MINE)
    flow = _flows(report)["qbo_purchase_orders_to_commitments"]
    assert dict(flow.counts) == {"create": 1, "skip": flow.reads - 1} and flow.reads >= 4  # Joist's own POs skipped
    assert pair.writes("qbo") == []  # the commitment is not exported back as a new purchase order
    procore = session.connectors({"procore"})["procore"]
    made = next(c for c in records(procore, "purchase_order_contracts") if c["number"] == "Q-7001")
    assert (made["project_id"], made["vendor"]["id"], made["status"]) == (ids["project"], ids["vendor"], "Draft")
    assert made["title"] == "Door hardware, level 2" and made["contract_date"] == "2024-04-02"
    assert [(Decimal(li["amount"]), li["description"], li["wbs_code"]["id"]) for li in made["line_items"]] == [
        (Decimal("3960.00"), "Lever sets", ids["wbs"][0]),
        (Decimal("350.05"), "Door stops", ids["wbs"][1]),
    ]
    assert sum(Decimal(li["amount"]) for li in made["line_items"]) == po["TotalAmt"] == Decimal("4310.05")
    assert _linked(pair, "commitments")[str(made["id"])] == po["Id"]
    _resync_writes_nothing(pair)

    # edited in QBO while still a draft in Procore: the same lines change, none is added
    qbo, procore = (pair.session.connectors({"qbo", "procore"})[name] for name in ("qbo", "procore"))
    po = qbo.get("PurchaseOrder", po["Id"])
    lines = [dict(line) for line in po["Line"] if line.get("DetailType") == "ItemBasedExpenseLineDetail"]
    lines[1]["Amount"] = Decimal("412.35")
    qbo.update("PurchaseOrder", po["Id"], {"Line": lines}, current=po)
    report = reopen(pair).run(MINE)
    assert dict(_flows(report)["qbo_purchase_orders_to_commitments"].counts) == {"update": 1}
    procore = pair.session.connectors({"procore"})["procore"]
    again = next(c for c in records(procore, "purchase_order_contracts") if c["number"] == "Q-7001")
    assert [(li["id"], Decimal(li["amount"])) for li in again["line_items"]] == [
        (made["line_items"][0]["id"], Decimal("3960.00")),
        (made["line_items"][1]["id"], Decimal("412.35")),
    ]
    _resync_writes_nothing(pair)

    # the shared link set: a bill entered against the imported purchase order comes back on its commitment
    session = set_params(pair, bills_to_requisitions=True)
    qbo = session.connectors({"qbo"})["qbo"]
    po = qbo.get("PurchaseOrder", po["Id"])
    line = _line("1980.00", "Lever sets, first half", ids["items"][0], ids["customer"])
    line["LinkedTxn"] = [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": po["Line"][0]["Id"]}]
    qbo.create(
        "Bill",
        {"VendorRef": {"value": ids["qbo_vendor"]}, "DocNumber": "RL-881", "TxnDate": "2024-04-20", "Line": [line]},
        idempotency_key="test-rl-881",
    )
    report = session.run(MINE)
    assert _flows(report)["bills_to_requisitions"].counts["create"] == 1
    assert _flows(report)["qbo_bills_to_invoice_direct_costs"].counts.get("create", 0) == 0
    procore = session.connectors({"procore"})["procore"]
    requisition = next(r for r in records(procore, "requisitions") if r["invoice_number"] == "RL-881")
    assert requisition["commitment_id"] == made["id"]
    _resync_writes_nothing(pair)

    # approved in Procore, the commitment is the forward flow's: its purchase order follows
    # Procore (same lines and total), and nothing comes back
    procore = pair.session.connectors({"procore"})["procore"]
    current = procore.get("purchase_order_contracts", str(made["id"]), scope={"project_id": ids["project"]})
    procore.update("purchase_order_contracts", str(made["id"]), {"status": "Approved"}, current=current)
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    assert _flows(report)["purchase_orders_to_purchase_orders"].counts["update"] == 1
    assert _flows(report)["qbo_purchase_orders_to_commitments"].counts.get("update", 0) == 0
    assert pair.writes("procore") == []
    qbo = pair.session.connectors({"qbo"})["qbo"]
    po = qbo.get("PurchaseOrder", po["Id"])
    assert po["TotalAmt"] == Decimal("4372.35") and po["PrivateNote"].startswith("Procore ")
    assert [line["Amount"] for line in po["Line"] if line.get("DetailType") == "ItemBasedExpenseLineDetail"] == [
        Decimal("3960.00"),
        Decimal("412.35"),
    ]
    _resync_writes_nothing(pair)


def test_bills_and_vendor_credits_entered_in_qbo_become_invoice_direct_costs(synced: Any) -> None:
    pair, _ = synced
    one, two = _ids(pair, "2024-001"), _ids(pair, "2024-002")
    session = set_params(pair, **ON)
    qbo = session.connectors({"qbo"})["qbo"]
    vendor = {"value": one["qbo_vendor"]}
    bill = qbo.create(
        "Bill",
        {
            "VendorRef": vendor,
            "DocNumber": "AE-6010",
            "TxnDate": "2024-04-08",
            "Line": [
                _line("1650.00", "Scissor lift, two weeks", one["items"][0], one["customer"]),
                _line("225.45", "Delivery and pickup", one["items"][1], one["customer"]),
                _line("99.90", "Generator fuel", two["items"][0], two["customer"]),
            ],
        },
        idempotency_key="test-ae-6010",
    )
    qbo.create(
        "VendorCredit",
        {
            "VendorRef": vendor,
            "DocNumber": "AE-6010-CR",
            "TxnDate": "2024-04-15",
            "PrivateNote": "Lift returned three days early",
            "Line": [_line("330.00", "Scissor lift, three days", one["items"][0], one["customer"])],
        },
        idempotency_key="test-ae-6010-cr",
    )
    # a person paid as a vendor stays in QBO (vendors_to_companies takes companies), so no link
    stranger = qbo.create(
        "Vendor", {"DisplayName": "Pat Lee", "GivenName": "Pat", "FamilyName": "Lee"}, idempotency_key="test-stranger"
    )
    qbo.create(
        "Bill",
        {
            "VendorRef": {"value": stranger["Id"]},
            "DocNumber": "CH-1",
            "TxnDate": "2024-04-09",
            "Line": [_line("12.34", "Screws", one["items"][0], one["customer"])],
        },
        idempotency_key="test-ch-1",
    )
    pair.clear_logs()
    report = session.run(MINE)
    flows = _flows(report)
    bills = flows["qbo_bills_to_invoice_direct_costs"]
    assert bills.counts["create"] == 2 and bills.counts["defer"] == 1  # one direct cost per project; CH-1 waits
    waiting = next(o for o in bills.outcomes if o.action == "defer")
    assert f"vendors:{stranger['Id']}" in (waiting.reason or "")
    assert flows["qbo_vendor_credits_to_invoice_direct_costs"].counts["create"] == 1
    # the seed's bills Joist wrote from Procore (AE-5521, SUMC-1001) did not come back
    assert bills.counts["skip"] >= 2
    assert pair.writes("qbo") == []

    procore = session.connectors({"procore"})["procore"]
    costs = {
        (d["invoice_number"], d["project_id"]): d
        for d in records(procore, "direct_costs")
        if d.get("origin_data", "") and d["origin_data"].startswith("joist:qbo:")
    }
    assert set(costs) == {("AE-6010", one["project"]), ("AE-6010", two["project"]), ("AE-6010-CR", one["project"])}

    def lines(key: tuple[str, Any]) -> list[tuple[Decimal, Any]]:
        return [(Decimal(li["amount"]), li["wbs_code"]["id"]) for li in costs[key]["line_items"]]

    assert lines(("AE-6010", one["project"])) == [
        (Decimal("1650.00"), one["wbs"][0]),
        (Decimal("225.45"), one["wbs"][1]),
    ]
    assert lines(("AE-6010", two["project"])) == [(Decimal("99.90"), two["wbs"][0])]
    assert lines(("AE-6010-CR", one["project"])) == [(Decimal("-330.00"), one["wbs"][0])]
    assert sum(Decimal(d["grand_total"]) for (number, _), d in costs.items() if number == "AE-6010") == bill["TotalAmt"]
    for cost in costs.values():
        assert (cost["direct_cost_type"], cost["status"], cost["vendor_id"]) == ("invoice", "approved", one["vendor"])
    _resync_writes_nothing(pair)

    # Procore froze the imported costs: a bill changed in QBO afterwards is reported as locked, not sent
    qbo = pair.session.connectors({"qbo"})["qbo"]
    bill = qbo.get("Bill", bill["Id"])
    lines = [dict(line) for line in bill["Line"] if line.get("DetailType") == "ItemBasedExpenseLineDetail"]
    lines[0]["Amount"] = Decimal("1700.00")
    qbo.update("Bill", bill["Id"], {"Line": lines}, current=bill)
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    locked = {
        o.source_id: o for o in _flows(report)["qbo_bills_to_invoice_direct_costs"].outcomes if o.action == "lock"
    }
    changed = locked[f"{bill['Id']}#{one['customer']}"]
    assert any(c.path == "line_items[0].amount" and c.new == Decimal("1700.00") for c in changed.changes)
    assert pair.writes("procore") == [] and pair.writes("qbo") == []


def test_a_bill_scan_goes_to_each_projects_direct_cost(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "bills_with_files.yaml").write_text("flow: qbo_bills_to_invoice_direct_costs\nattachments: true\n")
    with sandbox_pair(tmp_path / "project", packs=[*PACKS, str(layer)]) as pair:
        prepare(pair)
        pair.session.run(MINE)
        one, two = _ids(pair, "2024-001"), _ids(pair, "2024-002")
        session = set_params(pair, **ON)
        qbo = session.connectors({"qbo"})["qbo"]
        bill = qbo.create(
            "Bill",
            {
                "VendorRef": {"value": one["qbo_vendor"]},
                "DocNumber": "AE-6011",
                "TxnDate": "2024-04-08",
                "Line": [
                    _line("10.00", "Lift", one["items"][0], one["customer"]),
                    _line("20.00", "Lift", two["items"][0], two["customer"]),
                ],
            },
            idempotency_key="test-ae-6011",
        )
        qbo.upload(
            "Bill", bill["Id"], "AE-6011.pdf", b"%PDF-1.4 AE-6011", "application/pdf", idempotency_key="test-scan"
        )
        session.run(MINE)
        procore = session.connectors({"procore"})["procore"]
        costs = [d for d in records(procore, "direct_costs") if d["invoice_number"] == "AE-6011"]
        assert [[f["filename"] for f in d["attachments"]] for d in costs] == [["AE-6011.pdf"], ["AE-6011.pdf"]]
