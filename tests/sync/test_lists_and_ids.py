"""What the target's catalogue says about a payload (issue 16, items 3 and 5), end to end.

An empty list is a value: sent as `[]` on an update, refused (M412) where the entity needs
at least one line. Ids are strings: a number written into a field QBO types as an id goes
out as text. The QBO requests are read as they left Joist, through a recording transport in
front of the in-process sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from synckit import (
    BASES,
    VENDORS_TO_QBO,
    World,
    costs_to_bills,
    expense_account,
    seed_direct_costs,
    seed_procore_vendors,
    seed_project,
)

import cli
from sandbox.procore.resources import RESOURCES
from sandbox.qbo.app import US_REALM
from sandbox.server import create
from sandbox.transport import InProcessTransport


class Recording(httpx.BaseTransport):
    """Passes every request to the sandbox and keeps the JSON bodies Joist sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.bodies = inner, []  # type: ignore[var-annotated]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if body and request.headers.get("content-type", "").startswith("application/json"):
            self.bodies.append(json.loads(body))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[World, Recording]]:
    boxes = {"procore": create("procore", seed=False, deliver_webhooks=False), "qbo": create("qbo")}
    qbo = Recording(InProcessTransport(boxes["qbo"].app))
    w = World(tmp_path, boxes, BASES, {"procore": InProcessTransport(boxes["procore"].app), "qbo": qbo})
    yield w, qbo
    w.close()


WHEN_KEPT = 'each: "source.line_items"\n          when: "item.description != \'withdrawn\'"'


def withdraw(world: World, cost: dict[str, Any], description: str = "withdrawn") -> None:
    """Edit the cost's line (and the cost, so the change is read by cursor)."""
    world.procore.control.clock.advance(3600)
    store = world.procore.store
    for line in store.tables["line_items"].values():
        if line.get("holder_type") == "DirectCost" and line.get("holder_id") == cost["id"]:
            store.update(RESOURCES["line_items"], line, {"description": description})
    store.update(RESOURCES["direct_costs"], store.tables["direct_costs"][cost["id"]], {"description": description})


def test_a_bill_whose_lines_are_all_filtered_is_refused_with_m412_on_create_and_update(world: World) -> None:
    vendors = seed_procore_vendors(world.procore, 2)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 3)
    withdraw(world, costs[0])
    rule = costs_to_bills(expense_account(world.qbo)).replace('each: "source.line_items"', WHEN_KEPT)
    rules = world.rules(VENDORS_TO_QBO, rule)
    world.clear_logs()

    first = world.sync(rules)
    bills = {o.source_id: o for o in first.flows[1].outcomes}
    refused = bills[str(costs[0]["id"])]
    assert refused.action == "error" and refused.error and refused.error["code"] == "M412"
    assert "Bill needs at least one Line item" in (refused.reason or "")
    assert first.flows[1].counts["create"] == 2, "the rest of the run goes on"
    assert not any("/bill" in w.path.lower() and w.status >= 400 for w in world.writes("qbo")), (
        "nothing QBO refuses is sent"
    )
    assert [(f.flow, f.source_id, f.code) for f in world.state.failures()] == [
        ("costs_to_bills", str(costs[0]["id"]), "M412")
    ]

    # An update to no lines is refused too; the bill keeps its line.
    link = world.state.find_link("bills", procore_id=str(costs[1]["id"]))
    assert link and link.qbo_id
    withdraw(world, costs[1])
    second = world.sync(rules, ["costs_to_bills"])
    outcome = {o.source_id: o for o in second.flows[0].outcomes}[str(costs[1]["id"])]
    assert outcome.action == "error" and outcome.error and outcome.error["code"] == "M412"
    assert len(world.qbo.store.realms[US_REALM].table("Bill")[link.qbo_id]["Line"]) == 1

    # Fixed at the source: the failure is retried and goes through.
    withdraw(world, costs[0], "Work again")
    third = world.sync(rules, ["costs_to_bills"], retry_only=True)
    assert {o.source_id: o.action for o in third.flows[0].outcomes}[str(costs[0]["id"])] == "create"


def payments_rule(invoice: str) -> str:
    return f"""
    flow: costs_to_payments
    direction: procore > qbo
    source: {{system: procore, entity: direct_costs}}
    target: {{system: qbo, entity: Payment}}
    links: payments
    params:
      customer: {{default: 34}}
      invoice: {{default: {invoice}}}
    fields:
      CustomerRef.value: "params.customer"
      TotalAmt: "sum_decimal(source.line_items[*].amount)"
      PaymentRefNum: "source.invoice_number"
      Line:
        - {WHEN_KEPT}
          fields:
            Amount: "item.amount"
            LinkedTxn:
              - TxnId: "params.invoice"
                TxnType: {{const: Invoice}}
    """


def seed_invoice(world: World) -> str:
    company = world.qbo.company(US_REALM)
    with world.qbo.store.lock:
        made = company.create(
            "Invoice",
            {
                "CustomerRef": {"value": "34"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 5000,
                        "SalesItemLineDetail": {"ItemRef": {"value": "19"}},
                    }
                ],
            },
            set(),
        )
    return str(made["Id"])


def test_a_list_emptied_at_the_source_is_sent_empty_on_update(world: World) -> None:
    vendors = seed_procore_vendors(world.procore, 1)
    cost = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 1)[0]
    rules = world.rules(payments_rule(seed_invoice(world)))
    assert world.sync(rules).totals()["create"] == 1
    link = world.state.find_link("payments", procore_id=str(cost["id"]))
    assert link and link.qbo_id
    payment = world.qbo.store.realms[US_REALM].table("Payment")[link.qbo_id]
    assert len(payment["Line"]) == 1 and payment["UnappliedAmt"] == Decimal("0")

    withdraw(world, cost)
    report = world.sync(rules)
    assert report.totals()["update"] == 1 and report.ok
    payment = world.qbo.store.realms[US_REALM].table("Payment")[link.qbo_id]
    assert not payment.get("Line"), "QBO replaces a list whole: the emptied list removed the line"
    assert payment["UnappliedAmt"] == payment["TotalAmt"]
    world.clear_logs()
    again = world.sync(rules, full=True)
    assert again.totals()["update"] == 0 and world.writes("qbo") == [], "an empty list equals a list QBO leaves out"


def test_numbers_written_into_id_fields_are_sent_as_strings(recorded: tuple[World, Recording]) -> None:
    world, qbo = recorded
    vendors = seed_procore_vendors(world.procore, 1)
    seed_direct_costs(world.procore, seed_project(world.procore), vendors, 2)
    account = int(expense_account(world.qbo))
    rules = world.rules(
        VENDORS_TO_QBO, costs_to_bills(str(account)).replace(f'default: "{account}"', f"default: {account}")
    )
    invoice = seed_invoice(world)
    payments = world.rules(payments_rule(invoice))
    assert world.sync(rules).ok and world.sync(payments).ok

    refs = []
    for body in qbo.bodies:
        for item in body.get("BatchItemRequest", [body]):
            record = item.get("Bill") or item.get("Payment") or item
            for line in record.get("Line", []):
                refs.append(line.get("AccountBasedExpenseLineDetail", {}).get("AccountRef", {}).get("value"))
                refs += [t.get("TxnId") for t in line.get("LinkedTxn", [])]
            if "CustomerRef" in record:
                refs.append(record["CustomerRef"]["value"])
    refs = [r for r in refs if r is not None]
    assert sorted(refs) == sorted([str(account)] * 2 + [invoice, "34"] * 2)  # two bills, two payments
    assert all(isinstance(r, str) for r in refs)


def test_joist_map_sends_a_number_param_as_an_id_string(world: World, tmp_path: Path) -> None:
    rules = world.rules_dir(VENDORS_TO_QBO, costs_to_bills("1"))
    source = tmp_path / "costs.jsonl"
    record = {
        "id": 7,
        "vendor_id": 3,
        "invoice_number": "A-1",
        "direct_cost_date": "2024-03-20",
        "direct_cost_type": "invoice",
        "line_items": [{"amount": "10.00", "description": "x"}],
    }
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    links = tmp_path / "links.json"
    links.write_text(json.dumps({"vendors": {"3": "58"}}), encoding="utf-8")
    result = CliRunner().invoke(
        cli.main,
        [
            "map",
            "costs_to_bills",
            "-i",
            str(source),
            "--links",
            str(links),
            "-p",
            "expense_account=88",
            "--rules",
            str(rules),
        ],
    )
    assert result.exit_code == 0, result.output
    line = next(text for text in result.output.splitlines() if text.startswith("{"))
    mapped = json.loads(line)["payload"]
    assert mapped["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] == "88"
    assert mapped["VendorRef"]["value"] == "58"
