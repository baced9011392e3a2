"""`joist map FLOW` start-up: only the flows FLOW needs are checked, and a content-keyed cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import ErrorGroup
from engine.language import flowcache, loading
from engine.language.loading import load_rules
from engine.mapping.mapper import Mapper
from engine.project.workspace import layers_from

VENDORS = """\
flow: companies_to_vendors
direction: procore > qbo
source:
  system: procore
  entity: vendors
target:
  system: qbo
  entity: Vendor
links: vendors
fields:
  DisplayName: "source.name"
"""
BILLS = """\
flow: commitment_invoices_to_bills
direction: procore > qbo
source:
  system: procore
  entity: requisitions
target:
  system: qbo
  entity: Bill
depends_on: [companies_to_vendors]
fields:
  VendorRef.value: "ref('vendors', source.vendor_id)"
  PrivateNote: "{{ lookup('notes', source.status) }}"
"""
BROKEN = """\
flow: projects_to_customers
direction: procore > qbo
source:
  system: procore
  entity: projects
target:
  system: qbo
  entity: Customer
fields:
  DisplayName: "source.nmae"
"""


@pytest.fixture
def pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JOIST_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "rules"
    (root / "lookups").mkdir(parents=True)
    (root / "companies_to_vendors.yaml").write_text(VENDORS)
    (root / "commitment_invoices_to_bills.yaml").write_text(BILLS)
    (root / "lookups" / "notes.csv").write_text("key,value\napproved,Approved in Procore\n")
    return root


def _note(root: Path) -> object:
    rules = flowcache.load_flow(layers_from([root]), "commitment_invoices_to_bills")
    mapper = Mapper(rules["commitment_invoices_to_bills"], lookups=rules.lookups)
    result = mapper.map({"id": 1, "vendor_id": 5, "status": "approved"}, links=lambda s, k: "57")
    assert result.outcome == "mapped", result
    return result.payload["PrivateNote"]  # type: ignore[index]


def test_only_the_flows_it_needs_are_checked(pack: Path) -> None:
    (pack / "projects_to_customers.yaml").write_text(BROKEN)
    with pytest.raises(ErrorGroup):
        load_rules(layers_from([pack]))
    rules = flowcache.load_flow(layers_from([pack]), "commitment_invoices_to_bills")
    assert set(rules.rules) == {"commitment_invoices_to_bills", "companies_to_vendors"}
    # a flow it needs is checked: break the vendors flow and the bills flow fails to load
    (pack / "companies_to_vendors.yaml").write_text(VENDORS.replace("source.name", "source.nmae"))
    with pytest.raises(ErrorGroup) as caught:
        flowcache.load_flow(layers_from([pack]), "commitment_invoices_to_bills")
    assert [e.code for e in caught.value.errors] == ["R107"]


def test_a_link_set_no_flow_makes_is_an_error(pack: Path) -> None:
    (pack / "companies_to_vendors.yaml").write_text(VENDORS.replace("links: vendors", "links: vendorz"))
    with pytest.raises(ErrorGroup) as caught:
        flowcache.load_flow(layers_from([pack]), "commitment_invoices_to_bills")
    assert {e.code for e in caught.value.errors} == {"R304"}


def test_an_unknown_flow_says_so(pack: Path) -> None:
    with pytest.raises(Exception) as caught:
        flowcache.load_flow(layers_from([pack]), "commitment_invoice_to_bills")
    assert getattr(caught.value, "code", None) == "R306" and "commitment_invoices_to_bills" in str(caught.value.hint)


def test_a_second_start_reads_no_rule_file(pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _note(pack) == "Approved in Procore"
    assert len(list((pack.parent / "cache").glob("*.pickle"))) == 1

    def no_reading(layers: object) -> None:
        raise AssertionError("the rule files were read again")

    monkeypatch.setattr(loading, "read_documents", no_reading)
    assert _note(pack) == "Approved in Procore"


def test_any_change_to_a_rule_or_lookup_file_is_a_miss(pack: Path) -> None:
    assert _note(pack) == "Approved in Procore"
    (pack / "lookups" / "notes.csv").write_text("key,value\napproved,Changed\n")
    assert _note(pack) == "Changed"
    (pack / "commitment_invoices_to_bills.yaml").write_text(BILLS.replace("lookup('notes', source.status)", "'x'"))
    assert _note(pack) == "x"
    assert len(list((pack.parent / "cache").glob("*.pickle"))) == 3


def test_a_damaged_entry_is_a_miss_and_is_rewritten(pack: Path) -> None:
    assert _note(pack) == "Approved in Procore"
    (entry,) = (pack.parent / "cache").glob("*.pickle")
    entry.write_bytes(b"\x80\x05half a pick")
    assert _note(pack) == "Approved in Procore"
    assert entry.read_bytes() != b"\x80\x05half a pick"
    assert not list((pack.parent / "cache").glob("*.tmp"))


def test_two_processes_sharing_the_cache(pack: Path) -> None:
    code = (
        "import sys; from engine.language.flowcache import load_flow; "
        "from engine.project.workspace import layers_from\n"
        "for _ in range(15):\n"
        "    assert 'commitment_invoices_to_bills' in load_flow(layers_from([sys.argv[1]]), "
        "'commitment_invoices_to_bills').rules\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(pack)]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(list((pack.parent / "cache").glob("*.pickle"))) == 1
    assert not list((pack.parent / "cache").glob("*.tmp"))


def test_validation_is_remembered_with_its_warnings(pack: Path) -> None:
    summary, ruleset = flowcache.validation(layers_from([pack]))
    assert ruleset is not None and summary["flows"] == ["commitment_invoices_to_bills", "companies_to_vendors"]
    again, none = flowcache.validation(layers_from([pack]))
    assert none is None and again == summary
    (pack / "projects_to_customers.yaml").write_text(BROKEN)
    with pytest.raises(ErrorGroup):
        flowcache.validation(layers_from([pack]))


def _joist(pack: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOIST_CACHE_DIR": str(pack.parent / "cache")}
    code = "from cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, input="")


def test_joist_map_and_validate_use_the_cache(pack: Path) -> None:
    records = pack.parent / "in.jsonl"
    records.write_text('{"id": 1, "vendor_id": 5, "status": "approved"}\n')
    links = pack.parent / "links.json"
    links.write_text('{"vendors": {"5": "57"}}')
    args = ["map", "commitment_invoices_to_bills", "-i", str(records), "--links", str(links), "--rules", str(pack)]
    first, second = _joist(pack, *args), _joist(pack, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and '"PrivateNote":"Approved in Procore"' in first.stdout
    assert len(list((pack.parent / "cache").glob("*.pickle"))) == 1
    (pack / "commitment_invoices_to_bills.yaml").write_text(BILLS.replace("depends_on: [companies_to_vendors]\n", ""))
    for _ in range(2):  # the warning (R303: ref() implies a dependency) is printed from the cache too
        result = _joist(pack, "validate", str(pack))
        assert result.returncode == 0 and "R303" in result.stderr and "ok: 2 flows" in result.stdout
