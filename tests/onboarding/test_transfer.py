"""`joist link --import FILE`: another connector's mapping becomes links, or nothing does.

Over loopback (the CLI opens the project's connections as a user's `joist` would).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sandbox_pair import SandboxPair, sandbox_pair

from cli import main


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    with sandbox_pair(tmp_path / "p", packs=["joist:master", "joist:payables"], loopback=True) as made:
        yield made


def _ids(pair: SandboxPair, system: str, entity: str) -> list[str]:
    conn = pair.session.connectors({system})[system]
    return [conn.record_id(entity, r) for p in conn.read(entity) for r in p.records]


def _joist(pair: SandboxPair, *args: str) -> Any:
    return CliRunner().invoke(main, ["--project", str(pair.project_dir), *args])


def test_a_good_file_links_every_pair_and_the_plan_creates_none_of_them(pair: SandboxPair, tmp_path: Path) -> None:
    vendors, qbo_vendors = _ids(pair, "procore", "vendors"), _ids(pair, "qbo", "Vendor")
    commitment = _ids(pair, "procore", "work_order_contracts")[0]
    qbo = pair.boxes["qbo"].company()
    item = next(i for i, r in qbo.realm.table("Item").items() if r["Name"] == "Services")
    line = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": "5.00"}
    line["ItemBasedExpenseLineDetail"] = {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": "5.00"}
    po = qbo.create("PurchaseOrder", {"VendorRef": {"value": qbo_vendors[0]}, "Line": [line]})["Id"]
    mapping = tmp_path / "export.csv"
    mapping.write_text(
        "# exported by the old connector\n"
        "Entity,Procore_ID,QBO_ID\n"
        f"vendors,{vendors[0]},{qbo_vendors[0]}\n"
        f"companies_to_vendors,PROCORE:{vendors[1]},QBO:{qbo_vendors[1]}\n"
        "\n"
        f"commitments,{commitment},{po}\n"
    )
    result = _joist(pair, "link", "--import", str(mapping))
    assert result.exit_code == 0, result.output
    assert "linked 1 commitments, 2 vendors" in result.output
    state = pair.reopen().state
    link = state.find_link("vendors", procore_id=vendors[1])
    assert link is not None and (link.qbo_id, link.origin) == (qbo_vendors[1], "imported")
    assert state.find_link("commitments", qbo_id=po) is not None
    report = pair.session.run("companies_to_vendors commitments_to_purchase_orders", dry_run=True)
    created = {o.source_id for f in report.flows for o in f.outcomes if o.action == "create"}
    assert not created & {vendors[0], vendors[1], commitment}


def test_bad_rows_are_named_by_file_and_line_and_nothing_is_stored(pair: SandboxPair, tmp_path: Path) -> None:
    vendors, qbo_vendors = _ids(pair, "procore", "vendors"), _ids(pair, "qbo", "Vendor")
    mapping = tmp_path / "export.csv"
    mapping.write_text(
        "entity,procore_id,qbo_id\n"
        f"vendors,{vendors[0]},{qbo_vendors[0]}\n"  # good, but not stored: the file has bad rows
        f"vendor,{vendors[1]},{qbo_vendors[1]}\n"  # line 3: no such link set
        f"vendors,QBO:{qbo_vendors[1]},{vendors[1]}\n"  # line 4: ids the wrong way round
        f"vendors,{vendors[2]},999999\n"  # line 5: no such QBO vendor
        f"vendors,{vendors[0]},{qbo_vendors[2]}\n"  # line 6: a second partner for line 2's vendor
    )
    result = _joist(pair, "link", "--import", str(mapping))
    assert result.exit_code == 1
    out = result.output
    assert "Traceback" not in out
    assert f"{mapping}:3  S693 no flow links 'vendor' records" in out and "did you mean 'vendors'?" in out
    assert f"{mapping}:4  S693" in out and "is a QBO id" in out
    assert f"{mapping}:5  S693 QBO has no Vendor 999999" in out
    assert f"{mapping}:6  S693" in out and "line 2" in out
    assert pair.reopen().state.links("vendors") == []


def test_a_file_without_the_columns_says_which_are_missing(pair: SandboxPair, tmp_path: Path) -> None:
    mapping = tmp_path / "export.csv"
    mapping.write_text("entity;procore;qbo\nvendors;1;2\n")
    result = _joist(pair, "link", "--import", str(mapping))
    assert result.exit_code == 1 and f"{mapping}:1  S692 the header names no column" in result.output
    missing = _joist(pair, "link", "--import", str(tmp_path / "nothere.csv"))
    assert missing.exit_code == 1 and "S692 cannot read the mapping file" in missing.output
    both = _joist(pair, "link", "vendors", "1", "2", "--import", str(mapping))
    assert both.exit_code == 2 and "not both" in both.output
