"""R3xx and the graph: edges from depends_on and ref(), cycles, implied dependencies, selectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.language.graph import BadSelector, build_graph, order, select

if TYPE_CHECKING:
    from conftest import ErrorCheck, RuleBench


FLOW = """\
flow: {flow}
direction: procore > qbo
tags: [{tags}]
source: {{system: procore, entity: {entity}}}
target: {{system: qbo, entity: {target}}}
links: {links}
depends_on: [{deps}]
fields:
  {field}: "{expr}"
"""


def flow(
    bench: RuleBench,
    name: str,
    *,
    folder: str = "",
    tags: str = "",
    entity: str = "vendors",
    target: str = "Vendor",
    links: str | None = None,
    deps: str = "",
    field: str = "DisplayName",
    expr: str = "source.name",
) -> None:
    text = FLOW.format(
        flow=name, tags=tags, entity=entity, target=target, links=links or name, deps=deps, field=field, expr=expr
    )
    bench.write(f"{folder}{name}.yaml", text)


@pytest.fixture
def project(bench: RuleBench) -> RuleBench:
    """vendors <- items; vendors + items <- purchase_orders <- bills (by ref); customers alone."""
    flow(bench, "vendors", folder="master/", tags="master")
    flow(bench, "customers", folder="master/", tags="master", target="Customer")
    flow(
        bench,
        "items",
        folder="master/",
        tags="master",
        entity="wbs_codes",
        target="Item",
        field="Name",
        expr="source.flat_code",
        deps="vendors",
    )
    flow(
        bench,
        "purchase_orders",
        folder="payables/",
        tags="payables",
        entity="work_order_contracts",
        target="PurchaseOrder",
        field="VendorRef.value",
        expr="ref('vendors', source.vendor.id)",
        deps="vendors, items",
    )
    flow(
        bench,
        "bills",
        folder="payables/",
        tags="payables, money",
        entity="requisitions",
        target="Bill",
        field="VendorRef.value",
        expr="ref('purchase_orders', source.commitment_id)",
        deps="purchase_orders",
    )
    return bench


def test_edges_from_depends_on_and_ref(project: RuleBench) -> None:
    rules = project.load()
    graph = build_graph(rules)
    assert set(graph.edges) == {
        ("vendors", "items"),
        ("vendors", "purchase_orders"),
        ("items", "purchase_orders"),
        ("purchase_orders", "bills"),
    }
    assert order(graph) == ["customers", "vendors", "items", "purchase_orders", "bills"]


def test_ref_alone_makes_an_edge_and_an_implied_dependency_warning(bench: RuleBench, expect_error: ErrorCheck) -> None:
    flow(bench, "vendors")
    flow(
        bench,
        "bills",
        entity="requisitions",
        target="Bill",
        field="VendorRef.value",
        expr="ref('vendors', source.vendor_id)",
    )
    rules = bench.load()
    assert ("vendors", "bills") in build_graph(rules).edges
    (warning,) = rules.warnings
    expect_error(
        warning,
        "R303",
        bench.folder() / "bills.yaml",
        9,
        20,
        hint="add vendors to depends_on",
        path="flow bills",
        message="ref('vendors', ...) needs flow 'vendors' to run first",
    )


def test_listed_dependency_gives_no_warning(bench: RuleBench) -> None:
    flow(bench, "vendors")
    flow(
        bench,
        "bills",
        entity="requisitions",
        target="Bill",
        field="VendorRef.value",
        expr="ref('vendors', source.vendor_id)",
        deps="vendors",
    )
    assert bench.load().warnings == []


def test_ref_to_a_links_name_shared_by_a_flow(bench: RuleBench) -> None:
    flow(bench, "companies_to_vendors", links="vendors")
    flow(
        bench,
        "bills",
        entity="requisitions",
        target="Bill",
        field="VendorRef.value",
        expr="ref('vendors', source.vendor_id)",
        deps="companies_to_vendors",
    )
    rules = bench.load()
    assert rules.producers("vendors") == ["companies_to_vendors"]
    assert ("companies_to_vendors", "bills") in build_graph(rules).edges


def test_r301_cycle_named_in_order(bench: RuleBench, expect_error: ErrorCheck) -> None:
    flow(bench, "a", deps="c")
    flow(bench, "b", deps="a", target="Customer")
    flow(bench, "c", deps="b", target="Item", field="Name")
    err = bench.error()
    expect_error(
        err,
        "R301",
        bench.folder() / "a.yaml",
        1,
        1,
        path="flow a",
        hint="remove one of these dependencies or ref() calls",
    )
    assert err.message == "flows depend on each other: a -> b -> c -> a"


def test_r301_cycle_through_ref(bench: RuleBench) -> None:
    flow(bench, "a", expr="ref('b', source.id)")
    flow(bench, "b", deps="a", target="Customer")
    err = bench.error()
    assert err.code == "R301" and err.message.endswith("a -> b -> a")


def test_r302_unknown_dependency(bench: RuleBench, expect_error: ErrorCheck) -> None:
    flow(bench, "vendors")
    flow(
        bench,
        "bills",
        entity="requisitions",
        target="Bill",
        deps="vendor",
        field="DocNumber",
        expr="source.invoice_number",
    )
    err = bench.error()
    expect_error(
        err,
        "R302",
        bench.folder() / "bills.yaml",
        7,
        14,
        hint="did you mean 'vendors'?",
        path="flow bills, depends_on",
        message="depends_on names 'vendor', which is not a flow",
    )


def test_r304_unknown_link_set(bench: RuleBench, expect_error: ErrorCheck) -> None:
    flow(bench, "vendors")
    flow(
        bench,
        "bills",
        entity="requisitions",
        target="Bill",
        field="VendorRef.value",
        expr="ref('vendor', source.vendor_id)",
    )
    err = bench.error()
    expect_error(err, "R304", bench.folder() / "bills.yaml", 9, 20, hint="did you mean 'vendors'?", path="flow bills")


def test_r306_unknown_flow(project: RuleBench, expect_error: ErrorCheck) -> None:
    rules = project.load()
    with pytest.raises(Exception) as info:
        rules["bils"]
    expect_error(info.value, "R306", None, None, None, hint="did you mean 'bills'?")
    assert "vendors" in info.value.allowed


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, ["customers", "vendors", "items", "purchase_orders", "bills"]),
        ("bills", ["bills"]),
        ("+bills", ["vendors", "items", "purchase_orders", "bills"]),
        ("vendors+", ["vendors", "items", "purchase_orders", "bills"]),
        ("+items+", ["vendors", "items", "purchase_orders", "bills"]),
        ("items+", ["items", "purchase_orders", "bills"]),
        ("tag:master", ["customers", "vendors", "items"]),
        ("tag:money", ["bills"]),
        ("path:payables", ["purchase_orders", "bills"]),
        ("customers bills", ["customers", "bills"]),
        ("vendors bills", ["vendors", "bills"]),
        ("bills vendors", ["vendors", "bills"]),
        ("tag:master purchase_orders", ["customers", "vendors", "items", "purchase_orders"]),
        ("tag:master,+items", ["vendors", "items"]),
        ("tag:payables,vendors+", ["purchase_orders", "bills"]),
        ("path:master,tag:master,customers", ["customers"]),
    ],
)
def test_selectors(project: RuleBench, selector: str | None, expected: list[str]) -> None:
    graph = build_graph(project.load())
    if selector and selector.startswith("path:"):
        selector = selector.replace("path:", f"path:{project.folder()}/", 1)
    assert select(graph, selector) == expected


def test_path_selector_relative_to_a_project_root(project: RuleBench) -> None:
    graph = build_graph(project.load())
    assert select(graph, "path:base/payables", root=project.root) == ["purchase_orders", "bills"]


def test_r305_selector_naming_no_flow(project: RuleBench, expect_error: ErrorCheck) -> None:
    graph = build_graph(project.load())
    with pytest.raises(BadSelector) as info:
        select(graph, "+bils")
    expect_error(info.value, "R305", None, None, None, hint="did you mean 'bills'?", message="no flow named 'bils'")


@pytest.mark.parametrize("selector", ["tag:nothing", "path:/nowhere", "tag:master,tag:payables"])
def test_r305_selector_matching_nothing(project: RuleBench, selector: str | None) -> None:
    graph = build_graph(project.load())
    with pytest.raises(BadSelector) as info:
        select(graph, selector)
    assert info.value.code == "R305" and "matches no flow" in info.value.message
    assert "joist ls" in info.value.hint
