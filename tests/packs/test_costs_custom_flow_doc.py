"""docs/custom-flow.md, run as written: its files go into a sandbox project, its commands run
as `joist` processes against both sandboxes on 127.0.0.1, and the vendor credit it enters in
QBO arrives in Procore as the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import yaml
from sandbox_pair import sandbox_pair

from engine.language import jsonio

from .test_costs_sync import _all, _errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "custom-flow.md"
BLOCK = re.compile(r"^```(?P<lang>yaml|json|console)\n(?P<body>.*?)^```$", re.M | re.S)
JOIST = str(Path(sys.executable).with_name("joist"))


def blocks() -> list[tuple[str, str]]:
    return [(m["lang"], m["body"]) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def files() -> dict[str, str]:
    """The files the page writes, by path: a YAML block's first line names it (a comment, kept
    out of the file); a JSON block has no comments, so the sentence before it names it."""
    found = {}
    text = DOC.read_text(encoding="utf-8")
    for m in BLOCK.finditer(text):
        lang, body = m["lang"], m["body"]
        first, _, rest = body.partition("\n")
        if lang == "yaml" and first.startswith("# my-rules/"):
            found[first.split(" ", 1)[1].strip()] = rest
        elif lang == "json":
            named = re.findall(r"`(my-rules/[^`]+\.json)`:\s*$", text[: m.start()])
            assert named, "a JSON block follows a sentence ending in its file name"
            assert not first.lstrip().startswith("//"), "JSON has no comments: a reader copying it gets a broken file"
            found[named[-1]] = body
    return found


def commands() -> list[list[str]]:
    return [
        line[2:].split()
        for lang, body in blocks()
        if lang == "console"
        for line in body.splitlines()
        if line.startswith("$ ")
    ]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert args[0] == "joist"
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run([JOIST, *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_the_page_has_its_rule_fixture_test_and_commands() -> None:
    assert set(files()) == {
        "my-rules/vendor_credits_to_costs.yaml",
        "my-rules/fixtures/vendor_credit.json",
        "my-rules/vendor_credits_to_costs.test.yaml",
    }
    assert jsonio.loads(files()["my-rules/fixtures/vendor_credit.json"])["TotalAmt"] == Decimal("120.00")
    assert [c[:2] for c in commands()] == [
        ["joist", "validate"],
        ["joist", "test"],
        ["joist", "test"],
        ["joist", "plan"],
        ["joist", "sync"],
    ]


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name, text in files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    packs_block = next(body for lang, body in blocks() if lang == "yaml" and body.startswith("# joist.yaml"))
    packs = yaml.safe_load(packs_block)["packs"]
    with sandbox_pair(project, packs=packs, loopback=True) as pair:
        # the project syncs already: master data linked
        assert _errors(pair.session.run("+vendor_credits_to_costs")) == []
        conns = pair.session.connectors({"procore", "qbo"})
        procore, qbo, state = conns["procore"], conns["qbo"], pair.session.state
        riverside = next(p for p in _all(procore, "projects") if p["name"] == "Riverside Medical Office")
        lumber = next(v for v in _all(procore, "vendors") if v["name"] == "Redwood Lumber Supply")
        wbs = next(
            w for w in _all(procore, "wbs_codes") if w["project_id"] == riverside["id"] and w["flat_code"] == "06-100.M"
        )
        item = state.resolver("wbs_items", toward="qbo")(str(wbs["id"]))
        assert qbo.get("Item", item)["Name"] == "2024-001-06-100.M"  # as the page names it
        # step 5: the accountant enters the vendor credit in QBO
        credit = qbo.create(
            "VendorCredit",
            {
                "VendorRef": {"value": state.resolver("vendors", toward="qbo")(str(lumber["id"]))},
                "TxnDate": "2024-04-12",
                "DocNumber": "RL-CR-17",
                "PrivateNote": "Returned framing lumber",
                "Line": [
                    {
                        "Amount": Decimal("120.00"),
                        "Description": "2x4 studs returned",
                        "DetailType": "ItemBasedExpenseLineDetail",
                        "ItemBasedExpenseLineDetail": {
                            "ItemRef": {"value": item},
                            "CustomerRef": {"value": state.resolver("projects", toward="qbo")(str(riverside["id"]))},
                        },
                    }
                ],
            },
            idempotency_key="doc-vendor-credit",
        )
        outputs: dict[str, str] = {}
        for args in commands():
            done = run(args, project)
            assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
            outputs[" ".join(args[1:3])] = done.stdout
        assert (project / "my-rules" / "__snapshots__").is_dir()  # `joist test --update` wrote the snapshot
        assert "3 passed" in outputs["test my-rules"]
        assert "create" in outputs["plan --select"], outputs
        link = state.find_link("vendor_credit_costs", qbo_id=credit["Id"])
        assert link is not None
        cost = procore.get("direct_costs", link.procore_id, scope={"project_id": riverside["id"]})
        assert cost["direct_cost_type"] == "invoice" and cost["invoice_number"] == "RL-CR-17"
        assert cost["vendor_id"] == lumber["id"]
        assert [(ln["amount"], ln["wbs_code"]["flat_code"]) for ln in cost["line_items"]] == [
            (Decimal("-120.00"), "06-100.M")
        ]
        # "Run the sync again: it writes nothing"
        pair.clear_logs()
        again = run(["joist", "sync", "--select", "vendor_credits_to_costs"], project)
        assert again.returncode == 0, again.stderr[-2000:]
        assert pair.writes("procore") == [] and pair.writes("qbo") == []
