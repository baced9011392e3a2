"""R1xx: every rule-loading error points at file:line:col and says how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.errors import ErrorGroup
from engine.language import yamlload
from engine.language.loading import load_rules
from engine.language.rules import RuleSet

if TYPE_CHECKING:
    from conftest import ErrorCheck, RuleBench


def test_r101_invalid_yaml_names_line_and_col(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append="  Notes: source.name: x\n")
    (err,) = bench.errors()
    expect_error(err, "R101", path, 12, 21, hint="indentation and quoting")
    assert "mapping values are not allowed" in err.message


def test_r102_duplicate_key_names_both_lines(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append='  DisplayName: "source.legal_name"\n')
    err = bench.error()
    expect_error(err, "R102", path, 12, 3, hint="keep one of them", message="first at line 11")


def test_r103_missing_key(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("direction: procore > qbo\n", ""))
    err = bench.error()
    expect_error(err, "R103", path, 1, 1, hint="add `direction:` here", path="flow companies_to_vendors")


def test_r103_list_item_without_fields(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(append="  Notes:\n    - each: source.trades\n")
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    expect_error(
        err,
        "R103",
        path,
        *bench.at(text, "each:"),
        hint="add `fields:` here",
        path="flow companies_to_vendors, fields.Notes[0]",
    )


def test_r104_unknown_key_did_you_mean_and_allowed(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("fields:", "feilds:"))
    errors = bench.errors()
    # the typo'd key is unknown, and so `fields` is missing: both reported, sorted by place
    assert [e.code for e in errors] == ["R103", "R104"]
    expect_error(
        errors[1], "R104", path, 10, 1, hint="did you mean 'fields'?", path="flow companies_to_vendors, feilds"
    )
    assert (
        "fields" in errors[1].allowed
        and "allowed here: attachments, checks, depends_on, description" in errors[1].format()
    )


def test_r104_unknown_key_inside_source(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("  entity: vendors\n", "  entity: vendors\n  wher: source.is_active\n"))
    err = bench.error()
    expect_error(err, "R104", path, 6, 3, hint="did you mean 'where'?", path="flow companies_to_vendors, source.wher")


def test_r105_wrong_type(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("links: vendors", "links: [vendors]"))
    err = bench.error()
    expect_error(
        err, "R105", path, 9, 8, path="flow companies_to_vendors, links", message="expected a string, got list"
    )


def test_r105_depends_on_must_be_a_list(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append="depends_on: wbs_to_items\n")
    err = bench.error()
    expect_error(err, "R105", path, 12, 13, message="expected a list, got string")


def test_r105_file_that_is_not_a_mapping(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.write("vendors.yaml", "- flow: a\n- flow: b\n")
    err = bench.error()
    expect_error(err, "R105", path, 1, 1, message="expected a mapping, got list")


def test_r106_unknown_source_entity(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("entity: vendors", "entity: vendor"))
    err = bench.error()
    expect_error(
        err, "R106", path, 5, 11, hint="did you mean 'vendors'?", path="flow companies_to_vendors, source.entity"
    )
    assert "requisitions" in err.allowed


def test_r106_unknown_target_entity(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("entity: Vendor", "entity: Vendors"))
    err = bench.error()
    expect_error(
        err, "R106", path, 8, 11, hint="did you mean 'Vendor'?", path="flow companies_to_vendors, target.entity"
    )


def test_r106_unknown_entity_in_entity_when(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(("entity: Vendor\n", "entity: Vendor\n  entity_when:\n    Custmer: source.is_active\n"))
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    expect_error(err, "R106", path, *bench.at(text, "Custmer"), hint="did you mean 'Customer'?")


def test_r107_unknown_source_field(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"source.nmae"'))
    err = bench.error()
    expect_error(
        err,
        "R107",
        path,
        11,
        16,
        hint="did you mean 'name'?",
        path="flow companies_to_vendors, fields.DisplayName",
        message="source.nmae is not a field of source",
    )


def test_r107_unknown_nested_source_field_in_jinja(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"{{ source.vendor_group.nmae }}"'))
    err = bench.error()
    expect_error(err, "R107", path, 11, 16, hint="did you mean 'name'?", message="source.vendor_group.nmae")


def test_r107_unknown_target_field_points_at_the_key(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("DisplayName:", "DisplayNme:"))
    err = bench.error()
    expect_error(
        err,
        "R107",
        path,
        11,
        3,
        hint="did you mean 'DisplayName'?",
        path="flow companies_to_vendors, fields.DisplayNme",
    )


def test_r107_unknown_dotted_target_field(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append='  PrimaryEmailAddr.Adress: "source.email_address"\n')
    err = bench.error()
    expect_error(err, "R107", path, 12, 3, hint="did you mean 'Address'?", message="target.PrimaryEmailAddr.Adress")


def test_r107_unknown_match_field(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append="match:\n  DisplayNam: source.name\n")
    err = bench.error()
    expect_error(
        err, "R107", path, 13, 3, hint="did you mean 'DisplayName'?", path="flow companies_to_vendors, match.DisplayNam"
    )


def test_r107_list_field_read_like_an_object(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"source.trades.name"'))
    err = bench.error()
    expect_error(err, "R107", path, 11, 16, hint="source.trades[*].name", message="is a list")


def test_r108_duplicate_flow_in_one_layer(bench: RuleBench, expect_error: ErrorCheck) -> None:
    first = bench.vendor(name="a.yaml")
    second = bench.vendor(name="b.yaml")
    err = bench.error()
    expect_error(err, "R108", second, 1, 1, hint=f"the other one is {first}")


def test_r109_unreadable_file(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.folder() / "vendors.yaml"
    path.write_bytes(b"flow: \xff\xfe broken\n")
    err = bench.error()
    expect_error(err, "R109", path, None, None, message=f"cannot read {path}")


def test_r109_missing_file() -> None:
    with pytest.raises(yamlload.UnreadableFile) as info:
        yamlload.load("/nonexistent/joist/rule.yaml")
    assert info.value.code == "R109"
    assert info.value.format().startswith("/nonexistent/joist/rule.yaml  R109 cannot read")


def test_r110_invalid_value_did_you_mean(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("procore > qbo", "procore -> qbo"))
    err = bench.error()
    expect_error(
        err, "R110", path, 2, 12, hint="did you mean 'procore > qbo'?", path="flow companies_to_vendors, direction"
    )
    assert "qbo > procore" in err.allowed


def test_r110_pattern_says_what_is_expected(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("flow: companies_to_vendors", "flow: CompaniesToVendors"))
    err = bench.error()
    expect_error(err, "R110", path, 1, 7, hint="lower_snake_case")


def test_r111_direction_mismatch(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("procore > qbo", "qbo > procore"))
    err = bench.error()
    expect_error(
        err, "R111", path, 2, 12, hint="did you mean 'procore > qbo'?", path="flow companies_to_vendors, direction"
    )


def test_r112_unknown_param_did_you_mean(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(('"source.name"', '"params.vendor_prefx"'), append="params:\n  vendor_prefix: {default: V-}\n")
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    expect_error(err, "R112", path, 11, 16, hint="did you mean 'vendor_prefix'?", message="params.vendor_prefx")


def test_r112_undeclared_param_says_how_to_declare(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("entity: vendors\n", "entity: vendors\n  where: params.only_active\n"))
    err = bench.error()
    expect_error(
        err,
        "R112",
        path,
        6,
        10,
        hint="declare it under `params: {only_active: {default: ...}}`",
        path="flow companies_to_vendors, source.where",
    )


def test_r113_unknown_lookup_table(bench: RuleBench, expect_error: ErrorCheck) -> None:
    bench.lookup("cost_type_classes.yaml", "L: '100'\nM: '200'\n")
    path = bench.vendor(('"source.name"', "\"lookup('cost_type_class', source.name)\""))
    err = bench.error()
    expect_error(err, "R113", path, 11, 16, hint="did you mean 'cost_type_classes'?")
    assert err.allowed == ["cost_type_classes"]


def test_r114_field_set_twice(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(
        append='  PrimaryEmailAddr.Address: "source.email_address"\n'
        '  PrimaryEmailAddr:\n    Address: "source.email_address"\n'
    )
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    expect_error(
        err, "R114", path, *bench.at(text, "PrimaryEmailAddr:"), message="set twice", hint="write each field once"
    )


def test_r115_csv_lookup_needs_two_columns(bench: RuleBench, expect_error: ErrorCheck) -> None:
    table = bench.lookup("classes.csv", "code\nL\n")
    bench.vendor()
    err = bench.error()
    expect_error(err, "R115", table, 1, 1, hint="cost_type,class_id")


def test_r115_csv_row_with_wrong_column_count(bench: RuleBench, expect_error: ErrorCheck) -> None:
    table = bench.lookup("classes.csv", "code,class\nL,100\nM,200,extra\n")
    bench.vendor()
    err = bench.error()
    expect_error(err, "R115", table, 3, 1, message="row has 3 columns, the header has 2")


def test_r115_yaml_lookup_must_be_a_mapping(bench: RuleBench, expect_error: ErrorCheck) -> None:
    table = bench.lookup("classes.yaml", "- L\n- M\n")
    bench.vendor()
    err = bench.error()
    expect_error(err, "R115", table, 1, 1, message="a YAML lookup is a mapping")


def test_errors_of_several_files_are_all_reported_sorted(bench: RuleBench) -> None:
    b = bench.vendor(("entity: Vendor", "entity: Vendr"), name="b.yaml")
    a = bench.vendor(
        ("flow: companies_to_vendors", "flow: other_vendors"), ('"source.name"', '"trimm(source.name)"'), name="a.yaml"
    )
    errors = bench.errors()
    assert [(e.location.file, e.code) for e in errors] == [(str(a), "R203"), (str(b), "R106")]


def test_error_group_formats_every_error(bench: RuleBench) -> None:
    bench.vendor(("entity: vendors", "entity: vendor"), ("entity: Vendor", "entity: Vendors"))
    with pytest.raises(ErrorGroup) as info:
        bench.load()
    text = info.value.format()
    assert text.count("R106") == 2 and text.index(":5:11") < text.index(":8:11")
    assert info.value.code == "R100"


def test_shipped_pack_loads_clean(pack: RuleSet) -> None:
    assert {"companies_to_vendors", "commitment_invoices_to_bills", "wbs_to_items"} <= set(pack.rules)
    assert pack.warnings == []


def test_a_missing_layer_folder_loads_nothing(tmp_path: Path) -> None:
    assert load_rules([("base", [tmp_path / "nowhere"])]).rules == {}
