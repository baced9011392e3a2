"""`joist link` checks both records exist and takes only the documented id forms (over loopback).

It used to store whatever it was given (`QBO:94` literally, as the Procore id) without
looking either record up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sandbox_pair import SandboxPair, sandbox_pair


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as made:
        yield made


def _first(pair: SandboxPair, system: str, entity: str) -> str:
    connector = pair.session.connectors({system})[system]
    record = next(iter(connector.read(entity))).records[0]
    return str(connector.record_id(entity, record))


def test_link_accepts_the_documented_forms_and_checks_both_records(pair: SandboxPair, joist: Any) -> None:
    procore, qbo = _first(pair, "procore", "vendors"), _first(pair, "qbo", "Vendor")
    project = str(pair.project_dir)
    plain = joist("--project", project, "link", "vendors", procore, qbo)
    assert plain.returncode == 0, plain.stderr
    assert f"procore {procore} <-> qbo {qbo}" in plain.stdout
    prefixed = joist("--project", project, "link", "vendors", f"procore:{procore}", f"QBO:{qbo}")
    assert prefixed.returncode == 0, prefixed.stderr
    state = pair.reopen().state
    assert len(state.links("vendors")) == 1  # the prefixed form is the same link, not a second one
    link = state.find_link("vendors", procore_id=procore)
    assert link is not None and (link.procore_id, link.qbo_id, link.origin) == (procore, qbo, "manual")


def test_link_refuses_swapped_malformed_and_missing_ids(pair: SandboxPair, joist: Any) -> None:
    procore, qbo = _first(pair, "procore", "vendors"), _first(pair, "qbo", "Vendor")
    project = str(pair.project_dir)
    cases = [
        ((f"QBO:{qbo}", procore), "S622", "is a QBO id, given where the Procore id goes"),
        ((procore, "Acme Vendor"), "S622", "is not a QBO record id"),
        (("999999999", qbo), "S623", "Procore has no vendors 999999999"),
        ((procore, "QBO:987654"), "S623", "QBO has no Vendor 987654"),
    ]
    for (procore_arg, qbo_arg), code, message in cases:
        result = joist("--project", project, "link", "vendors", procore_arg, qbo_arg)
        assert result.returncode == 1, result.stdout + result.stderr
        assert code in result.stderr and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert pair.reopen().state.links("vendors") == []
