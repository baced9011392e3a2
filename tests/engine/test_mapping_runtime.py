"""Mapping one record: ref() deferral, lookups, M4xx runtime errors, lists, entity_when, explain."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from engine.mapping.mapper import Mapper

if TYPE_CHECKING:
    from conftest import ErrorCheck, LinksFactory, MapperFactory, RuleBench

BILL_RULE = """\
flow: bills
direction: procore > qbo
source:
  system: procore
  entity: requisitions
  where: "source.status == 'approved'"
target:
  system: qbo
  entity: Bill
  entity_when:
    VendorCredit: "decimal(source.total_claimed_amount) < `0`"
params:
  retention_account: {default: "91"}
fields:
  VendorRef.value: "ref('vendors', source.vendor_id)"
  DocNumber: "source.invoice_number"
  PrivateNote: "Requisition {{ source.number }} for {{ source.contract_name }}"
  DepartmentRef.value: "lookup('departments', source.comment)"
  Line:
    - each: "source.items"
      when: "decimal(item.net_amount) != `0`"
      fields:
        DetailType: {const: ItemBasedExpenseLineDetail}
        Amount: "decimal(item.net_amount)"
        Description: "{{ index }}: {{ item.description_of_work }} ({{ parent.invoice_number }})"
        ItemBasedExpenseLineDetail.ItemRef.value: "ref('wbs_items', item.wbs_code.id)"
    - when: "decimal(source.summary.total_retainage) > `0`"
      fields:
        DetailType: {const: AccountBasedExpenseLineDetail}
        Amount: "negate(source.summary.total_retainage)"
        AccountBasedExpenseLineDetail.AccountRef.value: "params.retention_account"
"""

PRODUCERS = {
    "vendors.yaml": """\
flow: vendors
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
fields: {DisplayName: source.name}
""",
    "wbs_items.yaml": """\
flow: wbs_items
direction: procore > qbo
source: {system: procore, entity: wbs_codes}
target: {system: qbo, entity: Item}
fields: {Name: source.flat_code}
""",
}

DEPARTMENTS = "Site A: '1'\nSite B: '2'\nWarehouse: '3'\n"

LINKED = {("vendors", "11"): "57", ("wbs_items", "21"): "3", ("wbs_items", "22"): "4"}


def record(**changes: object) -> dict:
    base = {
        "id": 7,
        "status": "approved",
        "vendor_id": 11,
        "invoice_number": "INV-1",
        "number": 3,
        "contract_name": "Drywall",
        "comment": "Site A",
        "total_claimed_amount": "300.00",
        "items": [
            {"net_amount": "100.00", "description_of_work": "Board", "wbs_code": {"id": 21}},
            {"net_amount": "0", "description_of_work": "Nothing", "wbs_code": {"id": 99}},
            {"net_amount": "200.00", "description_of_work": "Tape", "wbs_code": {"id": 22}},
        ],
        "summary": {"total_retainage": "30.00"},
    }
    base.update(changes)
    return base


@pytest.fixture
def bills(bench: RuleBench, mapper_for: MapperFactory) -> Mapper:
    bench.lookup("departments.yaml", DEPARTMENTS)
    return mapper_for(BILL_RULE, flow="bills", extra=PRODUCERS)


def test_mapped_payload(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(), links=links(LINKED))
    assert result.outcome == "mapped" and result.entity == "Bill", result.error and result.error.format()
    p = result.payload
    assert p["VendorRef"] == {"value": "57"} and p["DepartmentRef"] == {"value": "1"}
    assert p["PrivateNote"] == "Requisition 3 for Drywall"
    assert [(line["Amount"], line.get("Description")) for line in p["Line"]] == [
        (Decimal("100.00"), "0: Board (INV-1)"),
        (Decimal("200.00"), "2: Tape (INV-1)"),
        (Decimal("-30.00"), None),
    ]
    assert p["Line"][2]["AccountBasedExpenseLineDetail"] == {"AccountRef": {"value": "91"}}


def test_params_override_defaults(bench: RuleBench, mapper_for: MapperFactory, links: LinksFactory) -> None:
    bench.lookup("departments.yaml", DEPARTMENTS)
    mapper = mapper_for(BILL_RULE, flow="bills", extra=PRODUCERS, params={"retention_account": "123"})
    payload = mapper.map(record(), links=links(LINKED)).payload
    assert payload["Line"][-1]["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] == "123"


def test_where_false_is_skipped_with_reason(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(status="draft"), links=links(LINKED))
    assert result.outcome == "skipped"
    assert result.reason == "source.where is false: source.status == 'approved'"


def test_entity_when_picks_another_entity(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(total_claimed_amount="-5.00"), links=links(LINKED))
    assert result.outcome == "mapped" and result.entity == "VendorCredit"


def test_ref_deferral_names_every_missing_link(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(), links=links({("wbs_items", "21"): "3"}))
    assert result.outcome == "deferred"
    assert result.missing == [("vendors", "11"), ("wbs_items", "22")]
    assert result.reason == "waiting for link vendors:11, wbs_items:22"
    assert result.payload is None


def test_ref_with_no_resolver_defers_everything(bills: Mapper) -> None:
    result = bills.map(record())
    assert result.outcome == "deferred"
    assert result.missing == [("vendors", "11"), ("wbs_items", "21"), ("wbs_items", "22")]


def test_ref_null_id_gives_null_not_deferral(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(vendor_id=None), links=links(LINKED))
    assert result.outcome == "mapped"
    assert "VendorRef" not in result.payload  # an empty object is left out


def test_ref_empty_id_gives_null(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(vendor_id=""), links=links(LINKED))
    assert result.outcome == "mapped" and "VendorRef" not in result.payload


def test_deferral_wins_over_a_failure_it_caused(bench: RuleBench, mapper_for: MapperFactory) -> None:
    text = """\
flow: x
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  DocNumber: "upper(ref('vendors', source.vendor_id))"
  PrivateNote: "{{ ref('vendors', source.vendor_id) ~ 1 }}"
  ExchangeRate: "add(ref('vendors', source.vendor_id), `1`)"
"""
    mapper = mapper_for(text, flow="x", extra={"vendors.yaml": PRODUCERS["vendors.yaml"]})
    result = mapper.map({"id": 1, "vendor_id": 5})
    assert result.outcome == "deferred" and result.missing == [("vendors", "5")]


def test_m401_function_error_names_flow_record_field(
    bills: Mapper, links: LinksFactory, expect_error: ErrorCheck, bench: RuleBench
) -> None:
    result = bills.map(record(items=[{"net_amount": "ten", "wbs_code": {"id": 21}}]), links=links(LINKED))
    assert result.outcome == "error"
    err = result.error
    line, col = bench.at(BILL_RULE, '"decimal(item.net_amount) != `0`"')
    expect_error(
        err,
        "M401",
        bench.folder() / "bills.yaml",
        line,
        col,
        path="flow bills, record 7, field Line[].when, in decimal(item.net_amount) != `0`",
        message="decimal() expected a number, got 'ten'",
    )


def test_m401_null_number_hints_at_coalesce(bills: Mapper, links: LinksFactory) -> None:
    result = bills.map(record(summary={"total_retainage": None}), links=links(LINKED))
    assert result.outcome == "error"
    assert result.error.code == "M401" and "coalesce" in result.error.hint
    assert result.error.path == (
        "flow bills, record 7, field Line[].when, in decimal(source.summary.total_retainage) > `0`"
    )


def test_m402_lookup_miss_names_table_and_closest_keys(
    bills: Mapper, links: LinksFactory, expect_error: ErrorCheck, bench: RuleBench
) -> None:
    result = bills.map(record(comment="Site C"), links=links(LINKED))
    assert result.outcome == "error"
    line, col = bench.at(BILL_RULE, "\"lookup('departments'")
    expect_error(
        result.error,
        "M402",
        bench.folder() / "bills.yaml",
        line,
        col,
        hint="closest keys: ",
        path="flow bills, record 7, field DepartmentRef.value, in lookup('departments', source.comment)",
        message="lookup table 'departments' has no key 'Site C'",
    )
    assert "Site A" in result.error.hint and "Site B" in result.error.hint and "Warehouse" not in result.error.hint


def test_lookup_default_and_csv_tables(bench: RuleBench, mapper_for: MapperFactory) -> None:
    bench.lookup("classes.csv", "cost_type,class_id\nL,100\nM,200\n")
    bench.lookup("accounts.csv", "code,account,memo\n01-100,80,Labour\n")
    text = """\
flow: x
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  DocNumber: "lookup('classes', source.invoice_number, 'none')"
  PrivateNote: "lookup('classes', source.comment)"
  APAccountRef.value: "lookup('accounts', source.vendor_name).account"
"""
    mapper = mapper_for(text, flow="x")
    payload = mapper.map({"id": 1, "invoice_number": "Z", "comment": "M", "vendor_name": "01-100"}).payload
    assert payload == {"DocNumber": "none", "PrivateNote": "200", "APAccountRef": {"value": "80"}}


def test_m403_unknown_table_at_run_time(
    bills: Mapper, links: LinksFactory, expect_error: ErrorCheck, bench: RuleBench
) -> None:
    mapper = Mapper(bills.rule, None, {"departmants": {"Site A": "1"}})
    result = mapper.map(record(), links=links(LINKED))
    assert result.outcome == "error"
    line, col = bench.at(BILL_RULE, "\"lookup('departments'")
    expect_error(
        result.error,
        "M403",
        bench.folder() / "bills.yaml",
        line,
        col,
        hint="did you mean 'departmants'?",
        path="flow bills, record 7, field DepartmentRef.value, in lookup('departments', source.comment)",
    )


def test_m404_evaluation_error_names_flow_record_field_expression(
    bench: RuleBench, mapper_for: MapperFactory, expect_error: ErrorCheck
) -> None:
    text = """\
flow: x
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  DocNumber: "{{ source.number + source.invoice_number }}"
"""
    mapper = mapper_for(text, flow="x")
    result = mapper.map({"id": "R-9", "number": 3, "invoice_number": "A"})
    assert result.outcome == "error"
    err = result.error
    expect_error(
        err,
        "M404",
        bench.folder() / "x.yaml",
        6,
        14,
        path="flow x, record R-9, field DocNumber",
        hint="{% if source.x is defined %}",
    )
    assert err.message.startswith("'{{ source.number + source.invoice_number }}' failed:")


def test_m404_missing_field_in_a_template(bench: RuleBench, mapper_for: MapperFactory) -> None:
    text = """\
flow: x
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  PrivateNote: "For {{ source.contract_name }}"
"""
    result = mapper_for(text, flow="x").map({"id": 4})
    assert result.outcome == "error" and result.error.code == "M404"
    assert "contract_name" in result.error.message and "Traceback" not in result.error.format()
    # docs/rules.md: in a template default() cannot rescue an absent field; the hint must not offer it as the fix
    assert "guard the expression with coalesce()/default()" not in result.error.hint
    assert "is defined" in result.error.hint


def test_m404_in_jmespath_hints_at_coalesce_and_default(bench: RuleBench, mapper_for: MapperFactory) -> None:
    text = """\
flow: x
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  DocNumber: "length(source.number)"
"""
    result = mapper_for(text, flow="x").map({"id": 4, "number": 12})
    assert result.outcome == "error", result
    assert "coalesce()/default()" in result.error.hint


def test_mapping_never_raises_for_bad_data(bills: Mapper, links: LinksFactory) -> None:
    for bad in (record(items="not a list"), record(items=[None]), record(summary=None), {"id": 1}, {}):
        result = bills.map(bad, links=links(LINKED))
        assert result.outcome in ("mapped", "skipped", "deferred", "error")


def test_explain_names_the_layer_expression_reads_and_value(bills: Mapper, links: LinksFactory) -> None:
    traces = {t.path: t for t in bills.explain(record(), links=links(LINKED))}
    vendor = traces["VendorRef.value"]
    assert vendor.layer == "base" and vendor.expression == "ref('vendors', source.vendor_id)"
    assert vendor.reads == {"source.vendor_id": 11} and vendor.value == "57"
    assert vendor.location.endswith("bills.yaml:15:20")
    assert traces["Line[0].Amount"].value == Decimal("100.00")
    assert traces["Line[0].Amount"].reads == {"item.net_amount": "100.00"}


def test_explain_numbers_list_items_as_they_appear_in_the_payload(bills: Mapper, links: LinksFactory) -> None:
    payload = bills.map(record(), links=links(LINKED)).payload
    traces = [t for t in bills.explain(record(), links=links(LINKED)) if t.path.endswith(".Amount")]
    assert [t.path for t in traces] == ["Line[0].Amount", "Line[1].Amount", "Line[2].Amount"]
    assert [t.value for t in traces] == [line["Amount"] for line in payload["Line"]]
