"""The Procore sandbox serves each financial document's currency: its project's (issue 20)."""

from __future__ import annotations

from typing import Any

from sandbox.procore.app import ProcoreSandbox

DOCUMENTS = (
    ("/rest/v1.0/prime_contracts", {}),
    ("/rest/v1.0/payment_applications", {}),
    ("/rest/v1.0/work_order_contracts", {}),
    ("/rest/v1.1/requisitions", {"view": "extended"}),
    ("/rest/v1.0/projects/{p}/direct_costs", {}),
)


def currencies(raw: Any, project_id: int) -> list[dict[str, Any]]:
    found = []
    for path, params in DOCUMENTS:
        rows = raw.get(path.format(p=project_id), project_id=project_id, **params).json()
        assert rows, path
        found += [row["currency_configuration"] for row in rows]
    return found


def test_documents_carry_their_project_currency(raw: Any, box: ProcoreSandbox) -> None:
    busy = box.store.rows("requisitions")[0]["project_id"]
    project = next(p for p in (raw.project(i) for i in range(3)) if p["id"] == busy)
    other = next(p for p in (raw.project(i) for i in range(3)) if p["id"] != busy)
    assert {c["currency_iso_code"] for c in currencies(raw, project["id"])} == {"USD"}
    box.set_project_currency(project["id"], "cad")
    shown = currencies(raw, project["id"])
    assert {c["currency_iso_code"] for c in shown} == {"CAD"}
    apps = raw.get("/rest/v1.0/payment_applications", project_id=project["id"]).json()
    assert apps[0]["currency_configuration"] == {
        "currency_iso_code": "CAD",
        "currency_exchange_rate": "1.0",
        "base_currency_iso_code": "USD",
    }
    contract = raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"]).json()[0]
    one = raw.get(f"/rest/v1.0/work_order_contracts/{contract['id']}", project_id=project["id"]).json()
    assert one["currency_configuration"] == {"currency_iso_code": "CAD"}
    # a project keeps its own currency
    rows = raw.get("/rest/v1.0/work_order_contracts", project_id=other["id"]).json()
    assert {row["currency_configuration"]["currency_iso_code"] for row in rows} <= {"USD"}
