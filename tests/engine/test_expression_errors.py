"""R2xx: expressions that do not compile are refused at load time, pointing at the place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.errors import Location
from engine.expressions.base import JMESPathSyntaxError, UnknownFunction, UnknownName
from engine.expressions.compiler import compile_expression
from engine.expressions.jmes import compile_jmespath
from engine.expressions.templates import compile_jinja

if TYPE_CHECKING:
    from conftest import ErrorCheck, RuleBench


def test_r201_bad_jmespath_points_into_the_expression(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(('"source.name"', '"source.name == \'Acme"'))
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    line, col = bench.at(text, "'Acme")
    expect_error(err, "R201", path, line, col, hint="backticks", message="unexpected")


def test_r201_incomplete_jmespath(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(('"source.name"', '"source.name =="'))
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    line, col = bench.at(text, '=="')
    expect_error(
        err, "R201", path, line, col + 2, message="ends too early", path="flow companies_to_vendors, fields.DisplayName"
    )


def test_r201_plain_scalar_offsets_without_a_quote() -> None:
    with pytest.raises(JMESPathSyntaxError) as info:
        compile_jmespath("source.a ==", Location("f.yaml", 3, 10), style=None)
    assert (info.value.location.line, info.value.location.col) == (3, 10 + len("source.a =="))
    with pytest.raises(JMESPathSyntaxError) as quoted:
        compile_jmespath("source.a ==", Location("f.yaml", 3, 10), style='"')
    assert quoted.value.location.col == 10 + 1 + len("source.a ==")


def test_r202_bad_jinja(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"{{ source.name }"'))
    err = bench.error()
    expect_error(err, "R202", path, 11, 16, hint="{{ expression }}", message="invalid Jinja")


def test_r202_bad_jinja_on_a_later_line_of_a_block(bench: RuleBench, expect_error: ErrorCheck) -> None:
    text = bench.variant(('"source.name"', "|\n    {% if source.name %}\n    {{ source.name }}\n"))
    path = bench.write("vendors.yaml", text)
    err = bench.error()
    # the block starts on line 11; Jinja finds the unclosed `if` at the end, two lines on
    expect_error(err, "R202", path, 13, 16, message="endif")


def test_r203_unknown_function_did_you_mean(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"trimm(source.name)"'))
    err = bench.error()
    expect_error(err, "R203", path, 11, 16, hint="did you mean trim()?", message="unknown function trimm()")
    assert "coalesce" in err.allowed and "allowed here: abs, add" in err.format()


def test_r203_unknown_jinja_function_and_filter() -> None:
    with pytest.raises(UnknownFunction) as call:
        compile_jinja("{{ decimall(source.x) }}", Location("f.yaml", 1, 1))
    assert call.value.hint == "did you mean decimal()?"
    with pytest.raises(UnknownFunction) as flt:
        compile_jinja("{{ source.x | uper }}", Location("f.yaml", 1, 1))
    assert flt.value.hint == "did you mean 'upper'?"


def test_r203_jmespath_builtins_are_allowed() -> None:
    compiled = compile_jmespath("length(source.items)", Location("f.yaml", 1, 1))
    assert compiled({"source": {"items": [1, 2]}}, None) == 2  # type: ignore[arg-type]


def test_r204_typo_in_context_name(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"sorce.name"'))
    err = bench.error()
    expect_error(err, "R204", path, 11, 16, hint="did you mean 'source'?", message="unknown name 'sorce'")


def test_r204_forgotten_const(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', "ItemBasedExpenseLineDetail"))
    err = bench.error()
    expect_error(err, "R204", path, 11, 16, hint="did you mean {const: ItemBasedExpenseLineDetail}?")


def test_r204_item_outside_each(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"item.name"'))
    err = bench.error()
    expect_error(err, "R204", path, 11, 16, hint="inside an `each:` list item", message="'item' is not available here")


def test_r204_target_not_in_source_where(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(("entity: vendors\n", "entity: vendors\n  where: target.Active\n"))
    err = bench.error()
    expect_error(err, "R204", path, 6, 10, hint="target is only defined in lock_when and fields")
    assert err.allowed == ["source", "params"]


def test_r204_unknown_name_in_jinja() -> None:
    with pytest.raises(UnknownName) as info:
        compile_jinja("Bill {{ sourse.number }}", Location("f.yaml", 4, 5))
    assert info.value.hint == "did you mean 'source'?"
    assert info.value.format().startswith("f.yaml:4:5  R204")


def test_r205_unsafe_template(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', "\"{{ ''.__class__.__mro__ }}\""))
    err = bench.error()
    expect_error(err, "R205", path, 11, 16, hint="only record fields and catalogue functions")


def test_r206_wrong_argument_count_shows_the_example(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"trim(source.name, source.city)"'))
    err = bench.error()
    expect_error(err, "R206", path, 11, 16, hint="example: trim('  a ')", message="trim() takes 1 argument(s), got 2")


def test_r206_in_jinja() -> None:
    with pytest.raises(Exception) as info:
        compile_jinja("{{ ref('vendors') }}", Location("f.yaml", 1, 1))
    assert info.value.code == "R206" and "ref() takes 2 to 3 argument(s), got 1" in info.value.message


def test_r207_ref_needs_a_literal_link_set(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(('"source.name"', '"ref(source.name, source.id)"'))
    err = bench.error()
    expect_error(err, "R207", path, 11, 16, hint="write ref('vendors', source.vendor.id)")


def test_r207_in_jinja() -> None:
    with pytest.raises(Exception) as info:
        compile_jinja("{{ ref(source.kind, source.id) }}", Location("f.yaml", 1, 1))
    assert info.value.code == "R207"


def test_several_expression_errors_in_one_file_all_reported_sorted(bench: RuleBench) -> None:
    text = bench.variant(
        ('"source.name"', '"trimm(source.name)"'),
        append='  CompanyName: "sorce.legal_name"\n  AcctNum: "{{ source.id }"\n',
    )
    bench.write("vendors.yaml", text)
    errors = bench.errors()
    assert [(e.code, e.location.line) for e in errors] == [("R203", 11), ("R204", 12), ("R202", 13)]


@pytest.mark.parametrize("text", ["source.name", "{{ source.name }}", "Hello {{ source.name }}"])
def test_compile_collects_reads(text: str) -> None:
    assert compile_expression(text, Location()).reads == [("source", ("name",))]


def test_compile_collects_refs_and_lookups() -> None:
    compiled = compile_expression(
        "coalesce(ref('vendors', source.vendor_id), lookup('classes', source.code))", Location()
    )
    assert compiled.refs == ["vendors"] and compiled.lookups == ["classes"]
    jinja = compile_expression("{{ ref('projects', source.project_id) }}", Location())
    assert jinja.refs == ["projects"] and jinja.kind == "jinja"


def test_r204_target_not_in_match(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(append="match:\n  DisplayName: target.DisplayName\n")
    err = bench.error()
    expect_error(err, "R204", path, 13, 16, hint="target is only defined in lock_when and fields")


@pytest.mark.parametrize("empty", ['""', "' '"])
def test_r201_empty_expression(bench: RuleBench, expect_error: ErrorCheck, empty: str) -> None:
    path = bench.vendor(('"source.name"', empty))
    err = bench.error()
    expect_error(err, "R201", path, 11, 16, hint="{const: ''}", message="an empty expression")


def test_a_ref_with_a_fallback_never_defers() -> None:
    from engine.expressions.compiler import compile_expression
    from engine.expressions.functions import Runtime

    expr = compile_expression("ref('wbs_items', source.item, '7')", Location("f.yaml", 1, 1))
    rt = Runtime(links=lambda link_set, key: None)
    assert expr({"source": {"item": 99}}, rt) == "7"
    assert rt.missing == []
    assert expr.refs == ["wbs_items"]


def test_r208_a_loose_negation_is_refused_with_the_fix() -> None:
    from engine.expressions.compiler import compile_expression

    with pytest.raises(Exception) as info:
        compile_expression("!source.active && source.name", Location("f.yaml", 4, 9))
    error = info.value
    assert error.code == "R208" and (error.location.line, error.location.col) == (4, 9)
    assert error.hint == "write !(source.active)"
    assert compile_expression("!(source.active)", Location("f.yaml", 4, 9))({"source": {"active": False}}, None) is True
