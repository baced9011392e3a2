"""Sub jobs as a dimension, end to end between the seeded sandboxes: Procore lines whose WBS
code has a sub job segment post to the QBO sub-customer `sub_jobs_to_customers` made of that
sub job, with `post_to_sub_jobs` on: per line on purchase orders and bills, per document on
estimates and invoices (every line on one sub job); the owner's payment of such an invoice
still reaches the project's prime contract, and `joist reconcile` counts the sub-customer's
documents with their project."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.reports.reconcile import reconcile
from sandbox.procore.render import WBS_COST_CODE, WBS_COST_TYPE, WBS_SUB_JOB
from sandbox.procore.resources import RESOURCES

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params

SHELL = "Phase 1 - Shell"


def _wbs_on_sub_job(pair: SandboxPair, project_id: int, sub_job: dict[str, Any], flat: str) -> int:
    """A WBS code on the sub job, made through Procore's API (sub job, cost code, cost type)."""
    store = pair.boxes["procore"].store
    [plain] = store.rows("wbs_codes", project_id=project_id, flat_code=flat)
    procore = reopen(pair).connectors({"procore"})["procore"]
    segments = [
        {"segment_id": WBS_SUB_JOB, "segment_item_id": sub_job["id"]},
        {"segment_id": WBS_COST_CODE, "segment_item_id": plain["cost_code_id"]},
        {"segment_id": WBS_COST_TYPE, "segment_item_id": plain["line_item_type_id"]},
    ]
    response = procore.send(
        "POST",
        f"/rest/v1.0/projects/{project_id}/work_breakdown_structure/wbs_codes",
        params={"project_id": project_id},
        json={"wbs_code": {"segment_items": segments}},
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["flat_code"] == f"{sub_job['code']}.{flat}"
    assert made["segment_items"][0]["segment"]["segment_type"] == "sub_job"
    return int(made["id"])


def _move_to_sub_job(pair: SandboxPair, project_id: int) -> dict[str, Any]:
    """Put the prime contract's schedule of values, its owner invoice and subcontract SC-001
    (and its invoice) on the first sub job; SC-002 stays on the project."""
    store = pair.boxes["procore"].store
    [shell] = [j for j in store.rows("sub_jobs", project_id=project_id) if j["name"] == SHELL]
    moved: dict[int, int] = {}
    for flat in ("01-100.L", "03-300.S", "16-100.S"):
        [plain] = store.rows("wbs_codes", project_id=project_id, flat_code=flat)
        moved[plain["id"]] = _wbs_on_sub_job(pair, project_id, shell, flat)
    [prime] = store.rows("prime_contracts", project_id=project_id)
    [sc1] = [c for c in store.rows("work_order_contracts") if c["number"] == "SC-001"]
    for holder, contract in (("PrimeContract", prime), ("WorkOrderContract", sc1)):
        for line in store.children(holder, contract["id"]):
            store.update(RESOURCES["line_items"], line, {"wbs_code_id": moved[line["wbs_code_id"]]})
    for table, key, contract in (
        ("payment_applications", "prime_contract_id", prime),
        ("requisitions", "commitment_id", sc1),
    ):
        for row in store.rows(table, **{key: contract["id"]}):
            for item in row.get("items") or []:
                if item.get("wbs_code_id") in moved:
                    item["wbs_code_id"] = moved[item["wbs_code_id"]]
    return shell


def _errors(report: Any) -> list[Any]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _doc(qbo: Any, entity: str, number: str) -> dict[str, Any]:
    return next(d for d in records(qbo, entity) if d.get("DocNumber") == number)


def _line_customers(doc: dict[str, Any]) -> list[str]:
    return [(ln.get(ln["DetailType"]) or {}).get("CustomerRef", {}).get("value") for ln in doc["Line"]]


def test_lines_on_a_sub_job_post_to_its_qbo_sub_customer(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        ids = prepare(pair)
        shell = _move_to_sub_job(pair, ids["project_id"])
        session = set_params(pair, post_to_sub_jobs=True)
        report = session.run(MINE)
        assert _errors(report) == []
        state = session.state
        project = state.find_link("projects", procore_id=str(ids["project_id"]))
        sub_customer = state.find_link("sub_jobs", procore_id=str(shell["id"]))
        assert project is not None and sub_customer is not None and project.qbo_id != sub_customer.qbo_id
        qbo = session.connectors({"qbo"})["qbo"]
        assert qbo.get("Customer", sub_customer.qbo_id)["ParentRef"]["value"] == project.qbo_id

        # per document: every line of the prime contract and its owner invoice is on the sub job
        assert _doc(qbo, "Estimate", "PC-001")["CustomerRef"]["value"] == sub_customer.qbo_id
        assert _doc(qbo, "Invoice", "NSDC-2024-01")["CustomerRef"]["value"] == sub_customer.qbo_id
        # per line: SC-001 and its bill are on the sub job (the bill's retainage line stays on
        # the project: it is on no WBS code); SC-002 is on the project
        po1, po2 = _doc(qbo, "PurchaseOrder", "SC-001"), _doc(qbo, "PurchaseOrder", "SC-002")
        assert _line_customers(po1)[0] == sub_customer.qbo_id
        assert set(_line_customers(po2)) == {project.qbo_id}
        bill = _doc(qbo, "Bill", "SUMC-1001")
        assert _line_customers(bill) == [sub_customer.qbo_id, project.qbo_id]

        # the owner pays the sub-customer's invoice in QBO: the payment reaches the prime contract
        invoice = _doc(qbo, "Invoice", "NSDC-2024-01")
        qbo.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": invoice["TotalAmt"],
                "TxnDate": "2024-04-30",
                "PaymentRefNum": "100777",
                "Line": [
                    {"Amount": invoice["TotalAmt"], "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                ],
            },
            idempotency_key="sub-job-payment",
        )
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        procore = pair.session.connectors({"procore"})["procore"]
        [paid] = [p for p in records(procore, "prime_contract_payments") if p.get("check_number") == "100777"]
        assert Decimal(str(paid["amount"])) == Decimal("207000.00")

        # the books agree with the sub-customer's documents counted on their project
        conns = pair.session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], pair.session.state, session_params(pair.session))
        assert result.ok, result.to_dict()
        riverside = result.project("2024-001 Riverside Medical Office")
        assert riverside.figure("billed").qbo == Decimal("230000.00")
        assert riverside.figure("paid").qbo == Decimal("207000.00")
        assert riverside.figure("contract value").qbo == riverside.figure("contract value").procore
        pair.clear_logs()
        reopen(pair).run(MINE)
        assert pair.writes("qbo") == [] and pair.writes("procore") == []


def _expense_on_sub_job(pair: SandboxPair) -> None:
    """Before the first sync: the seeded expense direct cost's lines on the first sub job, and
    `post_to_sub_jobs` on."""
    store = pair.boxes["procore"].store
    [project] = [p for p in store.rows("projects") if p["name"] == "Riverside Medical Office"]
    [shell] = [j for j in store.rows("sub_jobs", project_id=project["id"]) if j["name"] == SHELL]
    [cost] = [c for c in store.rows("direct_costs", project_id=project["id"]) if c["direct_cost_type"] == "expense"]
    for line in store.children("DirectCost", cost["id"]):
        [plain] = [w for w in store.rows("wbs_codes") if w["id"] == line["wbs_code_id"]]
        made = _wbs_on_sub_job(pair, project["id"], shell, plain["flat_code"])
        store.update(RESOURCES["line_items"], line, {"wbs_code_id": made})
    set_params(pair, post_to_sub_jobs=True)


def test_expense_lines_on_a_sub_job_post_to_its_sub_customer_and_job_cost_agrees(tmp_path: Path) -> None:
    from .test_costs_sync import RULES, _costs, open_pair

    packs = [str(RULES / "master"), str(RULES / "costs")]
    for pair, ids in open_pair(tmp_path / "project", packs, before=_expense_on_sub_job):
        procore, qbo = (pair.session.connectors({"procore", "qbo"})[s] for s in ("procore", "qbo"))
        [shell] = [j for j in records(procore, "sub_jobs") if j["name"] == SHELL]
        sub_customer = pair.session.state.find_link("sub_jobs", procore_id=str(shell["id"]))
        assert sub_customer is not None and sub_customer.qbo_id != ids["customer"]
        seeded = next(c for c in records(procore, "direct_costs") if c["direct_cost_type"] == "expense")
        link = pair.session.state.find_link("expense_costs", procore_id=str(seeded["id"]))
        assert link is not None
        purchase = qbo.get("Purchase", link.qbo_id)
        assert _line_customers(purchase) == [sub_customer.qbo_id, sub_customer.qbo_id]
        # the sub-customer's lines are the project's job cost, on their cost code (not the sub job's code)
        report = _costs(pair)
        assert report.ok, report.to_dict()
        assert report.unassigned == []
        row = report.row(str(ids["project_id"]), "01-200")
        assert row.procore == row.qbo == Decimal("486.77")
