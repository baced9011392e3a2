"""Engine behaviour the master pack relies on, each the smallest case that shows it.

- a shipped pack reads the shared lookup tables beside it (rules/lookups);
- `match:` expressions can read lookup tables;
- a link set made by a flow and its reverse flow: naming one of them in depends_on is enough;
- `!source.x` in JMESPath is `(!source).x`: the pack writes `!(source.x)`;
- an error evaluating a `match:` expression fails that record (M404), not the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import JoistError, Location
from engine.expressions.compiler import compile_expression
from engine.expressions.functions import Runtime
from engine.language.loading import load_rules

RULES = Path(__file__).resolve().parents[2] / "rules"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


VENDORS = """
flow: {flow}
direction: {direction}
source: {{system: {src}, entity: {src_entity}}}
target: {{system: {tgt}, entity: {tgt_entity}}}
links: vendors
fields:
  {field}: "source.{read}"
"""


def test_the_shipped_master_pack_sees_the_shared_lookup_tables() -> None:
    ruleset = load_rules([("joist:master", [RULES / "master"])])
    assert {"master_account_for_cost_code", "master_class_for_cost_type", "master_tax_codes"} <= set(ruleset.lookups)
    assert ruleset.lookups["master_account_for_cost_code"]["01-100"]["account"] == "18"


def test_a_pack_folder_reads_its_own_lookups_and_the_ones_beside_it(tmp_path: Path) -> None:
    write(tmp_path, "lookups/shared.yaml", "a: '1'\n")
    write(tmp_path, "pack/lookups/own.yaml", "b: '2'\n")
    write(
        tmp_path,
        "pack/classes.yaml",
        """
flow: classes
direction: procore > qbo
source: {system: procore, entity: line_item_types}
target: {system: qbo, entity: Class}
fields:
  Name: "concat(lookup('shared', 'a'), lookup('own', 'b'))"
""",
    )
    ruleset = load_rules([("pack", [tmp_path / "pack"])])
    assert ruleset.lookups == {"shared": {"a": "1"}, "own": {"b": "2"}}


def test_naming_one_producer_of_a_link_set_in_depends_on_is_enough(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p/a_forward.yaml",
        VENDORS.format(
            flow="a_forward",
            direction="procore > qbo",
            src="procore",
            src_entity="vendors",
            tgt="qbo",
            tgt_entity="Vendor",
            field="DisplayName",
            read="name",
        ),
    )
    write(
        tmp_path,
        "p/b_reverse.yaml",
        VENDORS.format(
            flow="b_reverse",
            direction="qbo > procore",
            src="qbo",
            src_entity="Vendor",
            tgt="procore",
            tgt_entity="vendors",
            field="name",
            read="DisplayName",
        ),
    )
    write(
        tmp_path,
        "p/c_bills.yaml",
        """
flow: c_bills
direction: procore > qbo
depends_on: [a_forward]
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  VendorRef.value: "ref('vendors', source.vendor_id)"
""",
    )
    ruleset = load_rules([("p", [tmp_path / "p"])])
    from engine.language.graph import build_graph

    graph = build_graph(ruleset)
    assert graph.has_edge("a_forward", "c_bills") and graph.has_edge("b_reverse", "c_bills")
    assert [w for w in ruleset.warnings if w.code == "R303"] == []


def test_a_link_set_read_without_naming_any_producer_still_warns(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p/a_forward.yaml",
        VENDORS.format(
            flow="a_forward",
            direction="procore > qbo",
            src="procore",
            src_entity="vendors",
            tgt="qbo",
            tgt_entity="Vendor",
            field="DisplayName",
            read="name",
        ),
    )
    write(
        tmp_path,
        "p/c_bills.yaml",
        """
flow: c_bills
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  VendorRef.value: "ref('vendors', source.vendor_id)"
""",
    )
    ruleset = load_rules([("p", [tmp_path / "p"])])
    from engine.language.graph import build_graph

    build_graph(ruleset)
    assert [w.code for w in ruleset.warnings] == ["R303"]


def _value(text: str, source: dict[str, Any], lookups: dict[str, Any] | None = None) -> Any:
    return compile_expression(text, Location("t.yaml", 1, 1)).evaluate(
        {"source": source}, Runtime(lookups=lookups or {})
    )


def test_negation_binds_before_the_dot_so_the_pack_writes_it_in_parentheses() -> None:
    record = {"Job": False, "deleted_at": None}
    with pytest.raises(JoistError) as info:  # (!source).Job: refused at load time
        _value("!source.Job", record)
    assert info.value.code == "R208" and info.value.hint == "write !(source.Job)"
    assert _value("!(source.Job)", record) is True
    assert _value("!(source.deleted_at)", record) is True


def test_a_match_key_can_come_from_a_lookup_table() -> None:
    from engine.sync.twins import MatchIndex

    ruleset = load_rules([("joist:master", [RULES / "master"])])
    rule = ruleset.rules["cost_types_to_classes"]

    class OneClass:
        def read(self, entity: str, **_: Any) -> Any:
            from connectors.base import Page

            yield Page([{"Id": "23", "Name": "Material"}], cursor=None)

        def record_id(self, entity: str, record: Any) -> str:
            return str(record["Id"])

        def is_deleted(self, entity: str, record: Any) -> bool:
            return False

    index = MatchIndex(OneClass(), "Class", rule.match)  # type: ignore[arg-type]
    ctx = {"source": {"code": "M", "name": "Materials"}, "params": {}}
    key = index.key_for(ctx, Runtime(lookups=ruleset.lookups))
    assert [c["Id"] for c in index.candidates(key)] == ["23"]


def test_an_error_in_a_match_template_fails_the_record_not_the_run() -> None:
    from engine.sync.twins import MatchIndex

    ruleset = load_rules([("joist:master", [RULES / "master"])])
    index = MatchIndex(None, "Department", ruleset.rules["projects_to_locations"].match)  # type: ignore[arg-type]
    with pytest.raises(JoistError) as caught:
        index.key_for({"source": {"name": "No number field"}, "params": {}}, Runtime())
    assert caught.value.code == "M404" and "project_number" in caught.value.message


def test_joist_sandbox_up_writes_the_pack_s_list_params_as_lists(tmp_path: Path) -> None:
    import yaml

    from engine.project.config import load_project
    from engine.project.writing import write_sandbox_project
    from sandbox.server import create

    boxes = {n: create(n) for n in ("procore", "qbo")}
    path = write_sandbox_project(
        tmp_path, {n: b.connection_info(f"http://127.0.0.1:{p}") for (n, b), p in zip(boxes.items(), (8710, 8720))}
    )
    params = yaml.safe_load(path.read_text())["params"]
    assert params["customer_company_ids"] == ["5000000026"] and params["customer_group_ids"] == ["1"]
    assert load_project(path).params["customer_company_ids"] == ["5000000026"]
