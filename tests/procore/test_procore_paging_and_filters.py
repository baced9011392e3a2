"""Fidelity checks 1 and 5: paging headers and links, filters and sorting."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.procore.app import create_sandbox
from sandbox.transport import InProcessTransport

BASE = "http://127.0.0.1:8710"


def five_vendor_box() -> tuple[object, httpx.Client, dict[str, str], int]:
    box = create_sandbox(seed=False, deliver_webhooks=False)
    client = httpx.Client(transport=InProcessTransport(box.app), base_url=BASE)
    headers = {"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    for n in range(5):
        answer = client.post(
            "/rest/v1.0/vendors", json={"company_id": box.company_id, "vendor": {"name": f"V{n}"}}, headers=headers
        )
        assert answer.status_code == 201, answer.text
    return box, client, headers, box.company_id


def links(response: httpx.Response) -> dict[str, str]:
    found = {}
    for part in response.headers.get("Link", "").split(","):
        if part.strip():
            url, rel = part.split(";")
            found[rel.strip().split("=")[1].strip('"')] = url.strip()[1:-1]
    return found


def test_pagination_contract_headers_and_links() -> None:
    box, client, headers, company = five_vendor_box()
    page2 = client.get("/rest/v1.0/vendors", params={"company_id": company, "per_page": 2, "page": 2}, headers=headers)
    assert page2.status_code == 200 and len(page2.json()) == 2
    assert page2.headers["Total"] == "5" and page2.headers["Per-Page"] == "2"
    rels = links(page2)
    assert set(rels) == {"first", "prev", "next", "last"}
    for url in rels.values():
        assert url.startswith("http://127.0.0.1:8710/rest/v1.0/vendors?") and f"company_id={company}" in url
    assert "page=3" in rels["next"] and "page=3" in rels["last"] and "page=1" in rels["first"]
    page1 = client.get("/rest/v1.0/vendors", params={"company_id": company, "per_page": 2}, headers=headers)
    assert set(links(page1)) == {"next", "last"}
    page3 = client.get("/rest/v1.0/vendors", params={"company_id": company, "per_page": 2, "page": 3}, headers=headers)
    assert set(links(page3)) == {"first", "prev"} and len(page3.json()) == 1
    page4 = client.get("/rest/v1.0/vendors", params={"company_id": company, "per_page": 2, "page": 4}, headers=headers)
    assert page4.json() == [] and page4.headers["Total"] == "5"


def test_an_httpx_loop_following_next_links_collects_each_vendor_once() -> None:
    box, client, headers, company = five_vendor_box()
    url: str | None = f"/rest/v1.0/vendors?company_id={company}&per_page=2"
    seen: list[int] = []
    while url:
        answer = client.get(url, headers=headers)
        seen += [v["id"] for v in answer.json()]
        url = links(answer).get("next")
    assert len(seen) == 5 == len(set(seen))


def test_connector_reads_every_page(box: Any, new_connector: Any, read_all: Any) -> None:
    connector = new_connector(per_page=2)
    vendors = read_all(connector, "vendors")
    assert len(vendors) == len({v["id"] for v in vendors}) == 8  # 7 active + 1 inactive from its own list
    assert any(v["is_active"] is False for v in vendors)


def test_per_page_above_the_cap_is_clamped(raw: Any) -> None:
    answer = raw.get("/rest/v1.0/vendors", company_id=raw.company, per_page=50000)
    assert answer.headers["Per-Page"] == "2000"


def test_updated_at_ranges_in_date_datetime_and_quoted_forms_agree(raw: Any, box: Any) -> None:
    vendors = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company))
    for vendor, stamp in zip(vendors[:3], ("2024-01-05T10:00:00Z", "2024-01-31T23:00:00Z", "2024-02-01T00:00:01Z")):
        box.store.tables["vendors"][vendor["id"]]["updated_at"] = stamp
    forms = [
        "2024-01-01...2024-01-31",
        "2024-01-01T00:00:00Z...2024-01-31T23:59:59Z",
        '"2024-01-01...2024-01-31"',
        "2024-01-01T00:00:00+00:00...2024-01-31T23:59:59+00:00",
    ]
    results = [
        {v["id"] for v in raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company, **{"filters[updated_at]": f}))}
        for f in forms
    ]
    assert results[0] == {vendors[0]["id"], vendors[1]["id"]}
    assert all(r == results[0] for r in results)


def test_id_origin_and_sort_filters(raw: Any, box: Any) -> None:
    vendors = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company))
    a, b, c = vendors[0]["id"], vendors[1]["id"], vendors[2]["id"]
    picked = raw.client.get(
        "/rest/v1.0/vendors",
        params=[("company_id", raw.company), ("filters[id][]", a), ("filters[id][]", c)],
        headers=raw.headers(),
    )
    assert {v["id"] for v in picked.json()} == {a, c}
    raw.send("PATCH", f"/rest/v1.0/vendors/{b}", {"company_id": raw.company, "vendor": {"origin_id": "QBO-7"}})
    found = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company, **{"filters[origin_id]": "QBO-7"}))
    assert [v["id"] for v in found] == [b]
    box.store.tables["vendors"][a]["updated_at"] = "2030-01-01T00:00:00Z"
    newest_first = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company, sort="-updated_at"))
    assert newest_first[0]["id"] == a
    by_name = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company, sort="name"))
    assert [v["name"] for v in by_name] == sorted(v["name"] for v in by_name)


def test_include_deleted_on_work_order_contracts(raw: Any) -> None:
    project = raw.project()
    contracts = raw.data(raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"]))
    gone = contracts[-1]["id"]
    assert raw.send("DELETE", f"/rest/v1.0/work_order_contracts/{gone}", project_id=project["id"]).status_code == 204
    default = {c["id"] for c in raw.data(raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"]))}
    only = raw.data(
        raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"], **{"filters[include_deleted]": "only"})
    )
    both = raw.data(
        raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"], **{"filters[include_deleted]": "with"})
    )
    assert gone not in default and [c["id"] for c in only] == [gone] and len(both) == len(default) + 1
    assert only[0]["deleted_at"]


def test_projects_hide_inactive_unless_by_status_all(raw: Any) -> None:
    active = raw.data(raw.get("/rest/v1.0/projects", company_id=raw.company))
    every = raw.data(raw.get("/rest/v1.0/projects", company_id=raw.company, **{"filters[by_status]": "All"}))
    inactive = raw.data(raw.get("/rest/v1.0/projects", company_id=raw.company, **{"filters[by_status]": "Inactive"}))
    assert all(p["active"] for p in active) and len(every) == len(active) + 1
    assert [p["active"] for p in inactive] == [False]


def test_requisitions_filter_by_commitment_id(raw: Any) -> None:
    project = raw.project()
    contracts = raw.data(raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"]))
    first = contracts[0]["id"]
    found = raw.data(raw.get("/rest/v1.0/requisitions", project_id=project["id"], **{"filters[commitment_id]": first}))
    assert found and all(r["commitment_id"] == first for r in found)
    assert len(raw.data(raw.get("/rest/v1.0/requisitions", project_id=project["id"]))) > len(found)


def test_cost_codes_live_at_cost_codes_with_project_id_not_nested(raw: Any) -> None:
    project = raw.project()
    assert raw.get(f"/rest/v1.0/projects/{project['id']}/cost_codes").status_code == 404
    assert raw.get("/rest/v1.0/cost_codes", project_id=project["id"]).status_code == 200
