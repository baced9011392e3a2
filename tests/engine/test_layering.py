"""Layers: a later pack overrides one field, removes one with `~`, or replaces a flow whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.language.rules import RuleSet
from engine.mapping.mapper import Mapper

if TYPE_CHECKING:
    from conftest import ErrorCheck, RuleBench

BASE = """\
flow: companies_to_vendors
description: Vendors from the directory.
direction: procore > qbo
source:
  system: procore
  entity: vendors
target:
  system: qbo
  entity: Vendor
links: vendors
lock_when: "target.Active == `false`"
on_delete: deactivate
fields:
  DisplayName: "source.name"
  CompanyName: "source.legal_name"
  PrimaryEmailAddr.Address: "source.email_address"
  BillAddr:
    City: "source.city"
    PostalCode: "source.zip"
"""

RECORD = {
    "id": 1,
    "name": "Acme",
    "legal_name": "Acme Drywall LLC",
    "email_address": "ap@acme.test",
    "city": "Austin",
    "zip": "78701",
    "abbreviated_name": "ACME",
}


@pytest.fixture
def layered(bench: RuleBench) -> RuleBench:
    bench.write("companies_to_vendors.yaml", BASE, layer="base")
    return bench


def mapped(ruleset: RuleSet) -> dict[str, object]:
    rule = ruleset["companies_to_vendors"]
    return Mapper(rule).map(RECORD).payload


def test_override_one_field_keeps_the_rest(layered: RuleBench) -> None:
    layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
fields:
  CompanyName: "upper(source.legal_name)"
""",
        layer="custom",
    )
    payload = mapped(layered.load("base", "custom"))
    assert payload == {
        "DisplayName": "Acme",
        "CompanyName": "ACME DRYWALL LLC",
        "PrimaryEmailAddr": {"Address": "ap@acme.test"},
        "BillAddr": {"City": "Austin", "PostalCode": "78701"},
    }


def test_override_adds_a_field_and_a_nested_one(layered: RuleBench) -> None:
    layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
fields:
  AcctNum: "source.abbreviated_name"
  BillAddr:
    City: "upper(source.city)"
""",
        layer="custom",
    )
    payload = mapped(layered.load("base", "custom"))
    assert payload["AcctNum"] == "ACME"
    assert payload["BillAddr"] == {"City": "AUSTIN", "PostalCode": "78701"}


def test_tilde_removes_a_field(layered: RuleBench) -> None:
    layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
fields:
  CompanyName: ~
  PrimaryEmailAddr.Address: ~
  BillAddr:
    PostalCode: ~
""",
        layer="custom",
    )
    payload = mapped(layered.load("base", "custom"))
    assert payload == {"DisplayName": "Acme", "BillAddr": {"City": "Austin"}}


def test_tilde_removes_a_top_level_key(layered: RuleBench) -> None:
    layered.write("vendors.yaml", "flow: companies_to_vendors\nlock_when: ~\non_delete: ignore\n", layer="custom")
    rule = layered.load("base", "custom")["companies_to_vendors"]
    assert rule.lock_when is None and rule.on_delete == "ignore"
    assert rule.description == "Vendors from the directory."


def test_replace_true_swaps_the_whole_flow(layered: RuleBench) -> None:
    layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
replace: true
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
links: vendors
fields:
  DisplayName: "concat(source.name, ' (Procore)')"
""",
        layer="custom",
    )
    rule = layered.load("base", "custom")["companies_to_vendors"]
    assert Mapper(rule).map(RECORD).payload == {"DisplayName": "Acme (Procore)"}
    assert rule.lock_when is None and rule.on_delete == "ignore" and rule.description == ""


def test_replace_without_required_keys_is_an_error(layered: RuleBench) -> None:
    path = layered.write(
        "vendors.yaml",
        "flow: companies_to_vendors\nreplace: true\nfields:\n  DisplayName: source.name\n",
        layer="custom",
    )
    errors = layered.errors("base", "custom")
    assert {e.code for e in errors} == {"R103"}
    assert {e.message for e in errors} == {
        "missing required key 'direction'",
        "missing required key 'source'",
        "missing required key 'target'",
    }
    assert all(e.location.file == str(path) for e in errors)


def test_override_errors_point_at_the_override_file(layered: RuleBench, expect_error: ErrorCheck) -> None:
    path = layered.write(
        "vendors.yaml", 'flow: companies_to_vendors\nfields:\n  CompanyNam: "source.legal_name"\n', layer="custom"
    )
    err = layered.error("base", "custom")
    expect_error(err, "R107", path, 3, 3, hint="did you mean 'CompanyName'?")


def test_explain_shows_the_layer_of_each_field(layered: RuleBench) -> None:
    override = layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
fields:
  CompanyName: "upper(source.legal_name)"
  BillAddr:
    City: "upper(source.city)"
""",
        layer="custom",
    )
    rule = layered.load("base", "custom")["companies_to_vendors"]
    traces = {t.path: t for t in Mapper(rule).explain(RECORD)}
    layers = {path: t.layer for path, t in traces.items()}
    assert layers == {
        "DisplayName": "base",
        "CompanyName": "custom",
        "PrimaryEmailAddr.Address": "base",
        "BillAddr.City": "custom",
        "BillAddr.PostalCode": "base",
    }
    assert traces["CompanyName"].location == f"{override}:3:16"
    assert traces["CompanyName"].value == "ACME DRYWALL LLC"
    assert sorted(rule.files) == sorted([str(layered.folder("base") / "companies_to_vendors.yaml"), str(override)])


def test_a_flow_only_in_a_later_layer_is_added(layered: RuleBench) -> None:
    layered.write(
        "customers.yaml",
        """\
flow: owners
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Customer}
fields: {DisplayName: source.name}
""",
        layer="custom",
    )
    rules = layered.load("base", "custom")
    assert set(rules.rules) == {"companies_to_vendors", "owners"}
    assert rules["owners"].layer == "custom"


def test_later_lookup_tables_override_keys(bench: RuleBench) -> None:
    bench.lookup("classes.yaml", "L: '100'\nM: '200'\n", layer="base")
    bench.lookup("classes.yaml", "M: '201'\n", layer="custom")
    bench.write("v.yaml", BASE, layer="base")
    assert bench.load("base", "custom").lookups == {"classes": {"L": "100", "M": "201"}}


def test_same_flow_twice_in_one_layer_is_r108_even_with_layers(layered: RuleBench) -> None:
    layered.write("a.yaml", "flow: companies_to_vendors\nfields: {CompanyName: source.name}\n", layer="custom")
    layered.write("b.yaml", "flow: companies_to_vendors\nfields: {AcctNum: source.name}\n", layer="custom")
    (err,) = layered.errors("base", "custom")
    assert err.code == "R108" and "layer 'custom'" in err.message


def test_override_must_use_the_base_spelling_of_a_field(layered: RuleBench, expect_error: ErrorCheck) -> None:
    path = layered.write(
        "vendors.yaml",
        """\
flow: companies_to_vendors
fields:
  PrimaryEmailAddr:
    Address: "upper(source.email_address)"
""",
        layer="custom",
    )
    err = layered.error("base", "custom")
    expect_error(err, "R114", path, 3, 3, hint="an override layer must use the spelling", message="set twice")


def test_lookups_inside_or_beside_a_layer_folder(bench: RuleBench) -> None:
    bench.write("lookups/shared.yaml", "a: '1'\n", layer="")  # beside base/ (like rules/lookups for rules/master)
    bench.lookup("own.yaml", "b: '2'\n", layer="base")  # inside base/
    bench.write("v.yaml", BASE, layer="base")
    assert bench.load("base").lookups == {"shared": {"a": "1"}, "own": {"b": "2"}}
