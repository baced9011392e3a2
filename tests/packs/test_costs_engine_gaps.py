"""What the job-cost pack needed from the engine: receipts on imported costs, one cost per project.

Both were gaps when the pack was written (shown then as strict xfails): receipts now go
with the create, and `source.split` makes one direct cost per project of an expense.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from .test_costs_sync import RULES, _all, _conns, _errors, open_pair

ATTACHMENTS_ON = """\
flow: bank_feed_expenses_to_costs
attachments: true
"""


def test_a_receipt_on_a_bank_feed_expense_reaches_the_imported_direct_cost(tmp_path: Path) -> None:
    layer = tmp_path / "files_on"
    layer.mkdir()
    (layer / "bank_feed_expenses_to_costs.yaml").write_text(ATTACHMENTS_ON)
    packs = [str(RULES / "master"), str(RULES / "costs"), str(layer)]
    for pair, ids in open_pair(tmp_path / "project", packs):
        procore, qbo = _conns(pair)
        card = qbo.create(
            "Purchase",
            {
                "PaymentType": "CreditCard",
                "AccountRef": {"value": ids["Company Card"]},
                "TxnDate": "2024-04-02",
                "Line": [
                    {
                        "Amount": Decimal("61.20"),
                        "DetailType": "ItemBasedExpenseLineDetail",
                        "ItemBasedExpenseLineDetail": {
                            "ItemRef": {"value": ids["item_06_100_M"]},
                            "CustomerRef": {"value": ids["customer"]},
                        },
                    }
                ],
            },
            idempotency_key="test-gap-card",
        )
        qbo.upload(
            "Purchase", card["Id"], "card-slip.png", b"\x89PNG card slip", "image/png", idempotency_key="test-gap-slip"
        )
        report = pair.session.run("bank_feed_expenses_to_costs")
        assert _errors(report) == []
        link = pair.session.state.find_link("expense_costs", qbo_id=card["Id"])
        cost: dict[str, Any] = procore.get("direct_costs", link.procore_id, scope={"project_id": ids["project_id"]})
        assert [a["filename"] for a in cost["attachments"]] == ["card-slip.png"]
        assert len(_all(procore, "direct_costs")) == 5
        pair.session.run("bank_feed_expenses_to_costs", full=True)  # the receipt is not sent twice
        again = procore.get("direct_costs", link.procore_id, scope={"project_id": ids["project_id"]})
        assert [a["filename"] for a in again["attachments"]] == ["card-slip.png"]


def test_an_expense_over_two_projects_becomes_one_direct_cost_per_project(tmp_path: Path) -> None:
    packs = [str(RULES / "master"), str(RULES / "costs")]
    for pair, ids in open_pair(tmp_path / "project", packs):
        procore, qbo = _conns(pair)
        other = next(p for p in _all(procore, "projects") if p["name"] == "Maple Street Townhomes")
        other_customer = pair.session.state.resolver("projects", toward="qbo")(str(other["id"]))
        lines = [(ids["customer"], "70.00"), (other_customer, "30.00")]
        card = qbo.create(
            "Purchase",
            {
                "PaymentType": "CreditCard",
                "AccountRef": {"value": ids["Company Card"]},
                "TxnDate": "2024-04-02",
                "Line": [
                    {
                        "Amount": Decimal(amount),
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {
                            "AccountRef": {"value": ids["Materials"]},
                            "CustomerRef": {"value": customer},
                        },
                    }
                    for customer, amount in lines
                ],
            },
            idempotency_key="test-gap-two-projects",
        )
        report = pair.session.run("bank_feed_expenses_to_costs")
        assert _errors(report) == []
        made = [c for c in _all(procore, "direct_costs") if c.get("origin_data") == f"joist:qbo:Purchase:{card['Id']}"]
        assert sorted((c["project_id"], c["line_items"][0]["amount"]) for c in made) == sorted(
            [(ids["project_id"], Decimal("70.00")), (other["id"], Decimal("30.00"))]
        )
