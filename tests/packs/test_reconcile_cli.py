"""`joist reconcile`, the command users run: against sandboxes served on 127.0.0.1 and the
project `joist sandbox up --project` writes (every shipped pack, their sandbox params),
after `joist sync`, it prints every project's figures side by side and exits 1 while
anything differs, 0 once every total matches to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sandbox_pair import sandbox_pair

from cli import main
from engine.language import jsonio
from engine.project.session import session_params
from engine.reports.reconcile import reconcile

from .test_receivables_support import key_owner_payment_into_procore, prepare, records


def _reconcile(project: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--project", str(project), "reconcile", *args])


def test_reconcile_command_shows_the_difference_then_all_equal(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", loopback=True) as pair:
        prepare(pair)
        sync = CliRunner().invoke(main, ["--project", str(pair.project_dir), "sync"])
        assert sync.exit_code == 0, sync.output
        pair.reopen()
        assert _reconcile(pair.project_dir).exit_code == 0  # the seeded books agree once synced
        key_owner_payment_into_procore(pair)

        before = _reconcile(pair.project_dir, "--json")
        assert before.exit_code == 1, before.output
        doc = jsonio.loads(before.stdout)
        [riverside] = [p for p in doc["projects"] if p["name"] == "2024-001 Riverside Medical Office"]
        paid = next(f for f in riverside["figures"] if f["name"] == "paid")
        # the owner's payment is in Procore only: the report says by how much
        assert (paid["procore"], paid["qbo"], paid["difference"]) == (
            Decimal("207000.00"),
            Decimal("0.00"),
            Decimal("-207000.00"),
        )

        qbo = pair.session.connectors({"qbo"})["qbo"]
        invoice = next(i for i in records(qbo, "Invoice") if i["DocNumber"] == "NSDC-2024-01")
        qbo.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": Decimal("207000.00"),
                "TxnDate": "2024-04-20",
                "PaymentRefNum": "100452",
                "Line": [
                    {"Amount": Decimal("207000.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                ],
            },
            idempotency_key="cli-payment",
        )
        sync = CliRunner().invoke(main, ["--project", str(pair.project_dir), "sync", "--select", "tag:receivables"])
        assert sync.exit_code == 0, sync.output

        after = _reconcile(pair.project_dir)
        assert after.exit_code == 0, after.output
        assert "every total matches to the cent" in after.output
        assert "job cost matches to the cent" in after.output  # the costs pack's section
        for figure, amount in (
            ("contract value", "905,000.00"),
            ("billed", "230,000.00"),
            ("retainage held", "23,000.00"),
            ("paid", "207,000.00"),
        ):
            row = next(line for line in after.output.splitlines() if f" {figure} " in f" {line} ")
            assert row.count(amount) == 2, row  # Procore and QBO columns
        assert "DIFFERS" not in after.output

        pair.clear_logs()  # and a full re-sync writes nothing on either side
        again = CliRunner().invoke(main, ["--project", str(pair.project_dir), "sync"])
        assert again.exit_code == 0, again.output
        assert pair.writes("qbo") == [] and pair.writes("procore") == []

        # the invoice is paid: an edit in Procore is refused by the lock, and `joist plan` says so
        procore = pair.reopen().connectors({"procore"})["procore"]
        app = records(procore, "payment_applications")[0]
        procore.update(
            "payment_applications",
            str(app["id"]),
            {"items": [{"work_completed_this_period": "31000.00"}]},
            scope={"project_id": app["project_id"]},
        )
        plan = CliRunner().invoke(main, ["--project", str(pair.project_dir), "plan", "--select", "tag:receivables"])
        assert plan.exit_code == 0, plan.output
        assert "locked" in plan.output and "target.Balance < target.TotalAmt" in plan.output, plan.output


def test_a_fresh_sandbox_project_reconciles_right_after_its_first_sync(tmp_path: Path) -> None:
    """`make demo` in a test: the project `joist sandbox up --project` writes, one `joist sync`,
    and `joist reconcile` agrees on every seeded project. The sandbox project sets every param
    a figure needs (retainage_receivable_item), so every figure is compared, none "not compared"."""
    with sandbox_pair(tmp_path / "project", loopback=True) as pair:
        sync = CliRunner().invoke(main, ["--project", str(pair.project_dir), "sync"])
        assert sync.exit_code == 0, sync.output
        pair.reopen()
        shown = _reconcile(pair.project_dir)
        assert shown.exit_code == 0, shown.output
        assert "DIFFERS" not in shown.output
        doc = jsonio.loads(_reconcile(pair.project_dir, "--json").stdout)  # a rate-limit wait goes to stderr
        assert doc["ok"] and doc["mismatches"] == []
        assert doc["warnings"] == []
        for project in doc["projects"]:
            for figure in project["figures"]:
                assert figure["difference"] == 0 and not figure["not_compared"], (project["name"], figure)
        [riverside] = [p for p in doc["projects"] if p["name"] == "2024-001 Riverside Medical Office"]
        compared = {f["name"]: (f["procore"], f["qbo"]) for f in riverside["figures"]}
        assert compared["billed"] == (Decimal("230000.00"), Decimal("230000.00"))
        assert compared["retainage held"] == (Decimal("23000.00"), Decimal("23000.00"))


def test_a_figure_that_cannot_be_compared_says_why(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project") as pair:
        prepare(pair)
        assert pair.session.run("+tag:receivables +tag:payables").totals().get("error", 0) == 0
        conns = pair.session.connectors({"procore", "qbo"})
        params = {**session_params(pair.session), "retainage_receivable_item": None}
        report = reconcile(conns["procore"], conns["qbo"], pair.session.state, params)
        riverside = report.project("2024-001 Riverside Medical Office")
        for name in ("billed", "retainage held"):
            assert "retainage_receivable_item is not set" in (riverside.figure(name).not_compared or ""), name
        assert riverside.figure("paid").not_compared is None and riverside.figure("paid").equal
        assert report.ok  # not compared is no difference; the warning names the param
        assert any("retainage_receivable_item" in w for w in report.warnings)
