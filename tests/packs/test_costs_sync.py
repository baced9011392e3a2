"""The job-cost pack end to end between the seeded sandboxes, through the shipped master pack.

Procore's expense and payroll direct costs go to QBO as expenses; expenses and journal
entries an accountant enters in QBO against a project come back as Procore expense direct
costs. Afterwards the job cost per project and cost code is equal on both sides, a re-sync
writes nothing, and with every flow and its reverse enabled nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.reports.job_cost import CostReconciliation, reconcile_costs, reconcile_session_costs
from terminal.reconcile import render_costs

RULES = Path(__file__).resolve().parents[2] / "rules"
COST_FLOWS = (
    "expense_costs_to_purchases",
    "payroll_costs_to_purchases",
    "bank_feed_expenses_to_costs",
    "expenses_to_costs",
    "journal_entries_to_costs",
)
PROJECT = "Riverside Medical Office"


def _all(connector: Any, entity: str) -> list[dict[str, Any]]:
    return [r for page in connector.read(entity) for r in page.records]


def _conns(pair: SandboxPair) -> tuple[Any, Any]:
    conns = pair.session.connectors({"procore", "qbo"})
    return conns["procore"], conns["qbo"]


def _set_params(pair: SandboxPair, **params: Any) -> None:
    path = pair.project_dir / "joist.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["params"] = {**(doc.get("params") or {}), **params}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    pair.reopen()


def _errors(report: Any) -> list[tuple[str, str, str]]:
    return [(f.flow, o.source_id, o.reason or "") for f in report.flows for o in f.outcomes if o.action == "error"]


def _flow(report: Any, name: str) -> Any:
    return next(f for f in report.flows if f.flow == name)


def _costs(pair: SandboxPair) -> CostReconciliation:
    procore, qbo = _conns(pair)
    return reconcile_costs(
        procore, qbo, pair.session.state, session_params(pair.session), lookups=pair.session.ruleset.lookups
    )


def _qbo_entries(pair: SandboxPair, ids: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What an accountant enters in QBO against the project: a card charge from the bank feed,
    a check, a journal entry with project and overhead lines; and an expense without a project."""
    _, qbo = _conns(pair)
    customer, materials, supervision = ids["customer"], ids["item_06_100_M"], ids["item_01_100_L"]
    card = qbo.create(
        "Purchase",
        {
            "PaymentType": "CreditCard",
            "AccountRef": {"value": ids["Company Card"]},
            "TxnDate": "2024-04-02",
            "EntityRef": {"value": ids["lumber_vendor"], "type": "Vendor"},
            "PrivateNote": "Lumber yard card purchase",
            "Line": [
                {
                    "Amount": Decimal("612.30"),
                    "Description": "2x4 studs",
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": materials}, "CustomerRef": {"value": customer}},
                },
                {
                    "Amount": Decimal("230.00"),
                    "Description": "Fasteners",
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": materials}, "CustomerRef": {"value": customer}},
                },
            ],
        },
        idempotency_key="test-costs-card",
    )
    check = qbo.create(
        "Purchase",
        {
            "PaymentType": "Check",
            "AccountRef": {"value": ids["Checking"]},
            "TxnDate": "2024-04-05",
            "DocNumber": "1045",
            "PrivateNote": "Site supervisor per diem",
            "Line": [
                {
                    "Amount": Decimal("180.00"),
                    "Description": "Per diem",
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": {"value": supervision},
                        "CustomerRef": {"value": customer},
                    },
                },
                {
                    "Amount": Decimal("15.00"),
                    "Description": "Office coffee",
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["Job Expenses"]}},
                },
            ],
        },
        idempotency_key="test-costs-check",
    )
    journal = qbo.create(
        "JournalEntry",
        {
            "TxnDate": "2024-04-30",
            "PrivateNote": "April supervision accrual",
            "Line": [
                {
                    "Amount": Decimal("1100.00"),
                    "Description": "Supervision, Riverside",
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": ids["Payroll Expenses"]},
                        "Entity": {"Type": "Customer", "EntityRef": {"value": customer}},
                    },
                },
                {
                    "Amount": Decimal("400.00"),
                    "Description": "Yard, overhead",
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": ids["Job Expenses"]}},
                },
                {
                    "Amount": Decimal("150.00"),
                    "Description": "Reversal, Riverside",
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Credit",
                        "AccountRef": {"value": ids["Payroll Expenses"]},
                        "Entity": {"Type": "Customer", "EntityRef": {"value": customer}},
                    },
                },
                {
                    "Amount": Decimal("1350.00"),
                    "Description": "Accrued",
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Credit",
                        "AccountRef": {"value": ids["Retainage Payable"]},
                    },
                },
            ],
        },
        idempotency_key="test-costs-journal",
    )
    overhead = qbo.create(
        "Purchase",
        {
            "PaymentType": "Cash",
            "AccountRef": {"value": ids["Checking"]},
            "TxnDate": "2024-04-06",
            "Line": [
                {
                    "Amount": Decimal("42.00"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["Job Expenses"]}},
                }
            ],
        },
        idempotency_key="test-costs-overhead",
    )
    return {"card": card, "check": check, "journal": journal, "overhead": overhead}


def _receipt_on_seeded_expense(pair: SandboxPair) -> None:
    procore, _ = _conns(pair)
    cost = next(c for c in _all(procore, "direct_costs") if c["direct_cost_type"] == "expense")
    procore.attach(
        "direct_costs",
        str(cost["id"]),
        [("safety-receipt.pdf", b"%PDF-1.4 safety supplies", "application/pdf")],
        scope={"project_id": cost["project_id"]},
    )


def open_pair(tmp: Path, packs: list[str], *, before: Any = None) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Seeded sandboxes, the params the seeds need, and a first sync of every flow (after `before(pair)`)."""
    with sandbox_pair(tmp, packs=packs) as pair:
        if before is not None:
            before(pair)
        procore, qbo = _conns(pair)
        accounts = {a["Name"]: a["Id"] for a in _all(qbo, "Account")}
        owner = next(v for v in _all(procore, "vendors") if v["name"] == "Northside Development Corp")
        _set_params(
            pair,
            item_income_account=accounts["Construction Income"],
            default_owner_company_id=owner["id"],
            costs_expense_payment_account=accounts["Checking"],
            costs_payroll_payment_account=accounts["Checking"],
            costs_expense_account=accounts["Job Expenses"],
            costs_payroll_expense_account=accounts["Payroll Expenses"],
            costs_bank_feed_accounts=accounts["Company Card"],
            costs_journal_cost_accounts=",".join(
                accounts[n] for n in ("Subcontractors", "Materials", "Job Expenses", "Payroll Expenses")
            ),
        )
        procore, qbo = _conns(pair)  # the reopened session's connectors (the old ones are closed)
        report = pair.session.run(None)
        assert _errors(report) == []
        project = next(p for p in _all(procore, "projects") if p["name"] == PROJECT)
        state = pair.session.state
        wbs = {w["flat_code"]: str(w["id"]) for w in _all(procore, "wbs_codes") if w["project_id"] == project["id"]}
        items = state.resolver("wbs_items", toward="qbo")
        ids: dict[str, Any] = dict(accounts)
        ids.update(
            project_id=project["id"],
            customer=state.resolver("projects", toward="qbo")(str(project["id"])),
            item_06_100_M=items(wbs["06-100.M"]),
            item_01_100_L=items(wbs["01-100.L"]),
            lumber_vendor=state.resolver("vendors", toward="qbo")(
                str(next(v["id"] for v in _all(procore, "vendors") if v["name"] == "Redwood Lumber Supply"))
            ),
        )
        assert ids["customer"] and ids["item_06_100_M"] and ids["lumber_vendor"]
        yield pair, ids


@pytest.fixture(scope="module")
def costs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Master and costs packs synced, QBO entries made, and synced again."""
    packs = [str(RULES / "master"), str(RULES / "costs")]
    for pair, ids in open_pair(tmp_path_factory.mktemp("costs") / "project", packs, before=_receipt_on_seeded_expense):
        ids["entries"] = _qbo_entries(pair, ids)
        report = pair.session.run(None)
        assert _errors(report) == []
        ids["second"] = report
        yield pair, ids


def test_expense_direct_cost_becomes_a_purchase_line_by_line(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    seeded = next(c for c in _all(procore, "direct_costs") if c["direct_cost_type"] == "expense" and not c["origin_id"])
    link = pair.session.state.find_link("expense_costs", procore_id=str(seeded["id"]))
    assert link is not None and link.origin == "procore"
    purchase = qbo.get("Purchase", link.qbo_id)
    assert purchase["TotalAmt"] == Decimal("486.77")
    assert purchase["AccountRef"]["value"] == ids["Checking"] and purchase["PaymentType"] == "Cash"
    lines = [(ln["Amount"], ln["ItemBasedExpenseLineDetail"]["CustomerRef"]["value"]) for ln in purchase["Line"]]
    assert lines == [(Decimal("356.78"), ids["customer"]), (Decimal("129.99"), ids["customer"])]
    assert [a["FileName"] for a in qbo.attachments("Purchase", purchase["Id"])] == ["safety-receipt.pdf"]
    classes = {c["Id"]: c["Name"] for c in _all(qbo, "Class")}
    assert [classes[ln["ItemBasedExpenseLineDetail"]["ClassRef"]["value"]] for ln in purchase["Line"]] == [
        "Material",
        "Other",
    ]


def test_payroll_direct_cost_becomes_a_purchase(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    payroll = next(c for c in _all(procore, "direct_costs") if c["direct_cost_type"] == "payroll")
    link = pair.session.state.find_link("payroll_costs", procore_id=str(payroll["id"]))
    purchase = qbo.get("Purchase", link.qbo_id)
    assert purchase["TotalAmt"] == Decimal("3120.00")
    assert purchase["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"]["value"] == ids["item_01_100_L"]


def test_qbo_expenses_and_journal_entries_become_expense_direct_costs(
    costs: tuple[SandboxPair, dict[str, Any]],
) -> None:
    pair, ids = costs
    procore, _ = _conns(pair)
    entries, state = ids["entries"], pair.session.state
    made = {}
    for name, link_set in (("card", "expense_costs"), ("check", "expense_costs"), ("journal", "journal_costs")):
        link = state.find_link(link_set, qbo_id=entries[name]["Id"])
        assert link is not None and link.origin == "qbo", name
        made[name] = procore.get("direct_costs", link.procore_id, scope={"project_id": ids["project_id"]})
    card, check, journal = made["card"], made["check"], made["journal"]
    assert card["direct_cost_type"] == "expense" and card["vendor_name"] == "Redwood Lumber Supply"
    assert [(ln["amount"], ln["wbs_code"]["flat_code"]) for ln in card["line_items"]] == [
        (Decimal("612.30"), "06-100.M"),
        (Decimal("230.00"), "06-100.M"),
    ]
    assert [ln["amount"] for ln in check["line_items"]] == [Decimal("180.00")]  # the overhead line stays in QBO
    assert [ln["amount"] for ln in journal["line_items"]] == [Decimal("1100.00"), Decimal("-150.00")]
    assert _flow(ids["second"], "bank_feed_expenses_to_costs").counts["create"] == 1
    assert _flow(ids["second"], "expenses_to_costs").counts["create"] == 1
    overhead = entries["overhead"]["Id"]
    assert state.find_link("expense_costs", qbo_id=overhead) is None


def test_job_cost_per_project_and_cost_code_is_equal_on_both_sides(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    report = _costs(pair)
    assert report.ok, report.to_dict()
    project = str(ids["project_id"])
    assert report.row(project, "01-200").procore == Decimal("486.77")
    assert report.row(project, "06-100").qbo == Decimal("842.30")
    assert report.row(project, "01-100").qbo == Decimal("3120.00") + Decimal("180.00")
    assert report.row(project, "").qbo == Decimal("950.00")  # journal lines: an account without a WBS item
    procore_total, qbo_total = report.totals()
    assert (
        procore_total
        == qbo_total
        == Decimal("486.77") + Decimal("3120.00") + Decimal("842.30") + Decimal("180.00") + Decimal("950.00")
    )


def test_a_resync_writes_nothing_and_counts_nothing_twice(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    before = (len(_all(qbo, "Purchase")), len(_all(procore, "direct_costs")))
    pair.clear_logs()
    report = pair.reopen().run(None)
    assert _errors(report) == []
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
    procore, qbo = _conns(pair)
    assert (len(_all(qbo, "Purchase")), len(_all(procore, "direct_costs"))) == before
    # the purchases Joist wrote are never imported back, the direct costs it made never sent back
    assert before == (2 + 3, 4 + 3)
    assert _costs(pair).ok


def test_a_full_resync_still_writes_nothing(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, _ = costs
    pair.clear_logs()
    report = pair.reopen().run(None, full=True)
    assert _errors(report) == []
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
    for flow in COST_FLOWS:
        assert _flow(report, flow).counts.get("create", 0) == 0


def test_the_reconciliation_shows_a_difference_and_a_cost_off_the_projects(
    costs: tuple[SandboxPair, dict[str, Any]],
) -> None:
    """Last in this module: it changes QBO behind Joist's back."""
    pair, ids = costs
    procore, qbo = _conns(pair)
    seeded = next(c for c in _all(procore, "direct_costs") if c["direct_cost_type"] == "expense" and not c["origin_id"])
    purchase = qbo.get("Purchase", pair.session.state.find_link("expense_costs", procore_id=str(seeded["id"])).qbo_id)
    lines = [dict(ln) for ln in purchase["Line"]]
    lines[0]["Amount"] = Decimal("350.00")  # an accountant edits the amount in QBO
    qbo.update("Purchase", purchase["Id"], {"PaymentType": purchase["PaymentType"], "Line": lines}, current=purchase)
    fairview = next(c for c in _all(qbo, "Customer") if c["DisplayName"] == "City of Fairview")
    qbo.create(
        "Purchase",
        {
            "PaymentType": "Cash",
            "AccountRef": {"value": ids["Checking"]},
            "TxnDate": "2024-04-09",
            "Line": [
                {
                    "Amount": Decimal("75.00"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {
                        "AccountRef": {"value": ids["Job Expenses"]},
                        "CustomerRef": {"value": fairview["Id"]},
                    },
                }
            ],
        },
        idempotency_key="test-costs-fairview",
    )
    report = pair.session.run(None)
    assert _errors(report) == []
    assert [o.action for o in _flow(report, "expenses_to_costs").outcomes if o.action != "skip"] == ["defer"]
    result = reconcile_session_costs(pair.session)
    assert not result.ok
    row = result.row(str(ids["project_id"]), "01-200")
    assert (row.procore, row.qbo, row.difference) == (Decimal("486.77"), Decimal("479.99"), Decimal("-6.78"))
    assert [(u.customer_id, u.amount) for u in result.unassigned] == [(fairview["Id"], Decimal("75.00"))]
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    render_costs(result, Console(file=out, width=160))
    text = out.getvalue()
    assert "DIFFERS" in text and "not linked to a Procore project" in text and "job cost differs" in text
