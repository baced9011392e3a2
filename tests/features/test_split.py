"""`source.split`: one source record per group of its lines."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import ErrorGroup
from engine.language.loading import load_rules
from engine.mapping.split import groups, parent_id

RULE = """
flow: expenses_split
direction: qbo > procore
source:
  system: qbo
  entity: Purchase
  split:
    each: {each}
    key: "item.AccountBasedExpenseLineDetail.CustomerRef.value"
target: {system: procore, entity: direct_costs}
fields:
  description: "source.PrivateNote"
  line_items:
    - each: source.Line
      fields:
        amount: "money(item.Amount)"
"""


def _rule(tmp_path: Path, each: str = "source.Line") -> object:
    (tmp_path / "expenses_split.yaml").write_text(RULE.replace("{each}", each))
    return load_rules([("t", [tmp_path])])["expenses_split"]


def _line(amount: str, customer: str | None) -> dict:
    detail = {"AccountRef": {"value": "7"}}
    if customer:
        detail["CustomerRef"] = {"value": customer}
    return {
        "Amount": Decimal(amount),
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": detail,
    }


def test_lines_are_grouped_by_key_and_lines_without_a_key_left_out(tmp_path: Path) -> None:
    rule = _rule(tmp_path)
    record = {
        "Id": "9",
        "PrivateNote": "card",
        "Line": [_line("10", "55"), _line("5", None), _line("20", "56"), _line("1", "55")],
    }
    parts = list(groups(rule, record, "9"))
    assert [gid for gid, _ in parts] == ["9#55", "9#56"]
    assert [[line["Amount"] for line in part["Line"]] for _, part in parts] == [
        [Decimal("10"), Decimal("1")],
        [Decimal("20")],
    ]
    assert parts[0][1]["PrivateNote"] == "card" and len(record["Line"]) == 4  # the source record is untouched
    assert parent_id(rule, "9#56") == "9"


def test_a_record_with_one_group_keeps_its_own_id(tmp_path: Path) -> None:
    rule = _rule(tmp_path)
    parts = list(groups(rule, {"Id": "9", "Line": [_line("10", "55"), _line("3", None)]}, "9"))
    assert [(gid, len(part["Line"])) for gid, part in parts] == [("9", 1)]
    assert list(groups(rule, {"Id": "9", "Line": [_line("3", None)]}, "9")) == []


def test_each_must_be_a_plain_path(tmp_path: Path) -> None:
    with pytest.raises(ErrorGroup) as info:
        _rule(tmp_path, '"source.Line[?Amount > `0`]"')
    [error] = info.value.errors
    assert error.code == "R118" and (error.location.line, error.location.col) == (8, 11)
    assert "each: source.Line" in (error.hint or "")
