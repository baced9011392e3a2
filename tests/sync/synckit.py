"""The sync tests' toolkit: both sandboxes, a project on them, rules written per test.

`World` holds a Procore and a QBO sandbox (in-process, or on loopback for the crash tests),
a project folder written by `write_sandbox_project`, a state store (its SQLite file, or a
fresh PostgreSQL schema named by `state:` when the test runs on that backend) and connectors whose
`sleep` moves the sandbox clock instead of waiting, so backoff and rate limits cost no
real time. Tests write their own small rule folders (`world.rules(...)`) and seed records
through the sandboxes' stores, so seeding never shows in the request logs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Connector
from engine.language.loading import load_rules
from engine.language.rules import RuleSet
from engine.project.config import Project, load_project
from engine.project.connections import open_connectors
from engine.project.writing import write_sandbox_project
from engine.state.store import State
from engine.sync.report import RunReport
from engine.sync.run import Sync
from sandbox.procore.resources import RESOURCES
from sandbox.qbo.app import US_REALM

BASES = {"procore": "http://procore.test", "qbo": "http://qbo.test"}

VENDORS_TO_QBO = """
    flow: vendors_to_qbo
    direction: procore > qbo
    source: {system: procore, entity: vendors}
    target: {system: qbo, entity: Vendor}
    links: vendors
    fields:
      DisplayName: "source.name"
      CompanyName: "source.name"
      PrimaryEmailAddr.Address: "source.email_address"
      Active: "source.is_active"
"""

VENDORS_TO_PROCORE = """
    flow: vendors_to_procore
    direction: qbo > procore
    source: {system: qbo, entity: Vendor}
    target: {system: procore, entity: vendors}
    links: vendors
    fields:
      name: "source.DisplayName"
      email_address: "source.PrimaryEmailAddr.Address"
"""


def write_rules(folder: Path, *texts: str) -> Path:
    """Write each rule text (indented YAML is fine) to its own file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(texts):
        (folder / f"rule_{n}.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def seed_procore_vendors(box: Any, count: int, *, prefix: str = "Sub", start: int = 0) -> list[dict[str, Any]]:
    """Insert vendors straight into the Procore sandbox's store (no request is logged)."""
    made = []
    for n in range(start, start + count):
        made.append(
            box.store.insert(
                RESOURCES["vendors"],
                {"name": f"{prefix} {n:05d} Ltd", "email_address": f"ap{n}@{prefix.lower()}.example"},
                company_id=box.company_id,
            )
        )
    return made


def seed_qbo_vendors(box: Any, count: int, *, prefix: str = "Supplier", start: int = 0) -> list[dict[str, Any]]:
    """Create vendors through the QBO sandbox's company operations (no request is logged)."""
    company = box.company(US_REALM)
    with box.store.lock:
        return [
            company.create(
                "Vendor",
                {
                    "DisplayName": f"{prefix} {n:05d}",
                    "PrimaryEmailAddr": {"Address": f"ar{n}@{prefix.lower()}.example"},
                },
                set(),
            )
            for n in range(start, start + count)
        ]


class World:
    """Two sandboxes, a project on them, its state and connectors."""

    def __init__(
        self,
        root: Path,
        boxes: Mapping[str, Any],
        bases: Mapping[str, str],
        transports: Mapping[str, httpx.BaseTransport] | None,
        state: str | None = None,
    ) -> None:
        self.root, self.boxes, self.bases = root, dict(boxes), dict(bases)
        self.procore, self.qbo = self.boxes["procore"], self.boxes["qbo"]
        info = {name: box.connection_info(self.bases[name]) for name, box in self.boxes.items()}
        self.project_dir = root / "project"
        write_sandbox_project(self.project_dir, info)
        if state is not None:  # a PostgreSQL schema instead of .joist/state.db
            config = self.project_dir / "joist.yaml"
            lines = [line for line in config.read_text(encoding="utf-8").splitlines() if not line.startswith("state:")]
            config.write_text("\n".join([*lines, f"state: {state}", ""]), encoding="utf-8")
        self.project: Project = load_project(self.project_dir)
        self.transports = dict(transports or {})
        self.state: State = self.project.open_state()
        self.connectors: dict[str, Connector] = self.connect()
        self._rules = 0

    def connect(self, **extra: Mapping[str, Any]) -> dict[str, Connector]:
        """Fresh connectors whose sleep moves their sandbox's clock (no real waiting)."""
        options: dict[str, dict[str, Any]] = {}
        for name, box in self.boxes.items():
            clock = box.control.clock
            options[name] = {
                "sleep": clock.advance,
                "now": clock.monotonic,
                "wall": clock.now,
                **dict(extra.get(name, {})),
            }
        return open_connectors(self.project, set(self.boxes), transports=self.transports or None, options=options)

    def rules_dir(self, *texts: str) -> Path:
        """A new folder holding the given rule texts."""
        self._rules += 1
        return write_rules(self.root / f"rules{self._rules}", *texts)

    def rules(self, *texts: str) -> RuleSet:
        """Load a rule set from the given rule texts (a new folder each call)."""
        return load_rules([("test", [self.rules_dir(*texts)])])

    def sync(
        self,
        ruleset: RuleSet,
        flows: list[str] | None = None,
        *,
        dry_run: bool = False,
        full: bool = False,
        retry_only: bool = False,
        batch_size: int = 30,
        **kw: Any,
    ) -> RunReport:
        return Sync(
            ruleset,
            self.connectors,
            self.state,
            params=self.project.params,
            dry_run=dry_run,
            batch_size=batch_size,
            **kw,
        ).run(flows, full=full, retry_only=retry_only)

    # -- what tests assert on ---------------------------------------------------------------

    def writes(self, system: str) -> list[Any]:
        """The data-changing requests a sandbox answered (queries and OAuth excluded)."""
        return self.boxes[system].control.log.writes()

    def requests(self, system: str) -> list[Any]:
        return [e for e in self.boxes[system].control.log.entries if "/oauth" not in e.path]

    def clear_logs(self) -> None:
        for box in self.boxes.values():
            box.control.log.clear()

    def qbo_vendors(self) -> list[dict[str, Any]]:
        return list(self.qbo.store.realms[US_REALM].table("Vendor").values())

    def qbo_table(self, entity: str) -> list[dict[str, Any]]:
        return list(self.qbo.store.realms[US_REALM].table(entity).values())

    def procore_vendors(self) -> list[dict[str, Any]]:
        return [r for r in self.procore.store.tables["vendors"].values() if not r.get("deleted_at")]

    def close(self) -> None:
        for conn in self.connectors.values():
            close = getattr(conn, "close", None) or getattr(getattr(conn, "client", None), "close", None)
            if close:
                close()
        self.state.close()


def names(records: list[dict[str, Any]], key: str) -> list[str]:
    return sorted(str(r.get(key)) for r in records)


def expense_account(qbo_box: Any) -> str:
    """The id of an expense account of the seeded QBO company."""
    for account in qbo_box.store.realms[US_REALM].table("Account").values():
        if account.get("AccountType") == "Expense":
            return str(account["Id"])
    raise LookupError("the QBO sandbox has no expense account")


def costs_to_bills(account: str) -> str:
    """Procore invoice direct costs become QBO bills of the linked vendor."""
    return f"""
    flow: costs_to_bills
    direction: procore > qbo
    source: {{system: procore, entity: direct_costs, where: "source.direct_cost_type == 'invoice'"}}
    target: {{system: qbo, entity: Bill}}
    links: bills
    depends_on: [vendors_to_qbo]
    params:
      expense_account: {{default: "{account}"}}
    fields:
      VendorRef.value: "ref('vendors', source.vendor_id)"
      DocNumber: "source.invoice_number"
      TxnDate: "source.direct_cost_date"
      Line:
        - each: "source.line_items"
          fields:
            DetailType: {{const: AccountBasedExpenseLineDetail}}
            Amount: "item.amount"
            Description: "item.description"
            AccountBasedExpenseLineDetail.AccountRef.value: "params.expense_account"
    """


def seed_project(box: Any, name: str = "Tower One") -> dict[str, Any]:
    return box.store.insert(RESOURCES["projects"], {"name": name, "project_number": "P-1"}, company_id=box.company_id)


def seed_direct_costs(
    box: Any, project: dict[str, Any], vendors: list[dict[str, Any]], count: int, *, start: int = 0
) -> list[dict[str, Any]]:
    """Invoice direct costs (one line each) for the given vendors, round robin, straight into the store."""
    made = []
    for n in range(start, start + count):
        vendor = vendors[n % len(vendors)]
        cost = box.store.insert(
            RESOURCES["direct_costs"],
            {
                "direct_cost_type": "invoice",
                "vendor_id": vendor["id"],
                "invoice_number": f"INV-{n:05d}",
                "status": "approved",
                "direct_cost_date": "2024-03-20",
                "description": f"Invoice {n}",
            },
            company_id=box.company_id,
            project_id=project["id"],
        )
        amount = Decimal(f"{100 + n % 900}.{n % 100:02d}")
        box.store.insert(
            RESOURCES["line_items"],
            {
                "holder_type": "DirectCost",
                "holder_id": cost["id"],
                "position": 1,
                "description": f"Work {n}",
                "amount": amount,
                "quantity": Decimal("1"),
                "unit_cost": amount,
                "uom": "LS",
            },
            company_id=box.company_id,
            project_id=project["id"],
        )
        made.append(cost)
    return made
