"""docs/rules.md: its complete rules load, its broken ones give their code, its links resolve."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from engine.errors import ErrorGroup
from engine.language.loading import load_rules
from engine.language.schema_check import load_schema
from engine.mapping.mapper import Mapper

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES_MD = DOCS / "rules.md"
BLOCK = re.compile(r"^```yaml\n(?P<body>.*?)^```$", re.M | re.S)


def blocks() -> list[str]:
    return [m["body"] for m in BLOCK.finditer(RULES_MD.read_text(encoding="utf-8"))]


def kind(body: str) -> str:
    first = body.splitlines()[0]
    if first.startswith("# error:"):
        return "error"
    if first.startswith("# layer:"):
        return "layer"
    if first.startswith("# lookups/"):
        return "lookup"
    return "rule" if re.search(r"^flow: ", body, re.M) else "fragment"


@pytest.fixture
def doc_pack(tmp_path: Path) -> Path:
    for n, body in enumerate(blocks()):
        first = body.splitlines()[0]
        if kind(body) == "rule":
            (tmp_path / "base").mkdir(exist_ok=True)
            (tmp_path / "base" / f"doc_{n:02d}.yaml").write_text(body, encoding="utf-8")
        elif kind(body) == "lookup":
            target = tmp_path / "base" / first[2:].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        elif kind(body) == "layer":
            layer = first.split(":", 1)[1].strip()
            (tmp_path / layer).mkdir(exist_ok=True)
            (tmp_path / layer / f"doc_{n:02d}.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def test_the_doc_has_each_kind_of_block() -> None:
    kinds = [kind(b) for b in blocks()]
    assert kinds.count("rule") >= 4 and "error" in kinds and "layer" in kinds and "lookup" in kinds


def test_fragments_are_valid_yaml() -> None:
    for body in blocks():
        if kind(body) == "fragment":
            assert isinstance(yaml.safe_load(body), dict)


def test_the_complete_rules_load_clean(doc_pack: Path) -> None:
    rules = load_rules([("base", [doc_pack / "base"])])
    assert {
        "companies_to_vendors",
        "commitment_invoices_to_bills",
        "wbs_to_items",
        "invoice_direct_costs_to_bills",
    } <= set(rules.rules)
    assert rules.warnings == []


@pytest.mark.parametrize("body", [b for b in blocks() if kind(b) == "error"])
def test_the_broken_examples_give_their_code(tmp_path: Path, body: str) -> None:
    code = body.splitlines()[0].split(":", 1)[1].strip()
    (tmp_path / "rule.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ErrorGroup) as info:
        load_rules([("base", [tmp_path])])
    assert [e.code for e in info.value.errors] == [code]


def test_the_bill_example_maps_as_described(doc_pack: Path) -> None:
    rules = load_rules([("base", [doc_pack / "base"])])
    mapper = Mapper(rules["commitment_invoices_to_bills"], None, rules.lookups)
    record = json.loads(
        """{"id": 7, "status": "approved", "vendor_id": 11, "invoice_number": null, "number": 3,
        "billing_date": "2026-03-31T12:00:00Z", "contract_name": "Drywall",
        "items": [{"net_amount": "100.10", "description_of_work": "Board", "item_type": "L", "wbs_code": {"id": 21}},
                  {"net_amount": "0.00", "description_of_work": "None", "item_type": "L", "wbs_code": {"id": 22}}],
        "summary": {"total_retainage": "10.01"}}""",
        parse_float=Decimal,
    )
    links = {("vendors", "11"): "57", ("wbs_items", "21"): "3"}
    result = mapper.map(record, links=lambda s, i: links.get((s, i)))
    assert result.outcome == "mapped", result
    p = result.payload
    assert p["DocNumber"] == "REQ-3" and p["TxnDate"] == "2026-03-31"
    assert [line["Amount"] for line in p["Line"]] == [Decimal("100.10"), Decimal("-10.01")]
    assert p["Line"][0]["Description"] == "1. Board ()"  # a null renders as nothing
    assert p["Line"][0]["ItemBasedExpenseLineDetail"] == {
        "ItemRef": {"value": "3"},
        "ClassRef": {"value": "5000000000000123456"},
    }
    assert p["Line"][1]["AccountBasedExpenseLineDetail"] == {"AccountRef": {"value": "91"}}


def test_the_override_layer_works_as_described(doc_pack: Path) -> None:
    rules = load_rules([("base", [doc_pack / "base"]), ("acme", [doc_pack / "acme"])])
    vendors = rules["companies_to_vendors"]
    record = {"id": 1, "name": " Acme ", "is_active": True, "address": "1 Main", "city": "Austin", "zip": "78701"}
    payload = Mapper(vendors).map(record).payload
    assert payload["DisplayName"] == "Acme (Procore)" and payload["BillAddr"] == {"Line1": "1 Main", "City": "Austin"}
    assert vendors.on_delete == "ignore"
    layers = {t.path: t.layer for t in Mapper(vendors).explain(record)}
    assert layers["DisplayName"] == "acme" and layers["BillAddr.City"] == "base"
    items = rules["wbs_to_items"]
    assert items.params == {} and Mapper(items).map({"id": 1, "flat_code": "01-100.L"}).payload == {
        "Name": "01-100.L",
        "Type": "NonInventory",
    }


def test_every_top_level_key_is_in_the_table() -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    for key in load_schema("rule.core.schema.json")["properties"]:
        assert f"| `{key}` |" in text, f"docs/rules.md: the top-level key table lacks `{key}`"


def _anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_docs_resolve() -> None:
    anchors = {
        doc.name: {_anchor(h) for h in re.findall(r"^#+ (.+)$", doc.read_text(encoding="utf-8"), re.M)}
        for doc in DOCS.glob("*.md")
    }
    for doc in DOCS.glob("*.md"):
        for target, fragment in re.findall(r"\]\(([\w.]*\.md)?#([\w\-]+)\)", doc.read_text(encoding="utf-8")):
            name = target or doc.name
            assert name in anchors, f"{doc.name} links to missing {name}"
            assert fragment in anchors[name], f"{doc.name} links to {name}#{fragment}, which has no such heading"
