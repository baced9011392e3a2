"""A deployment on real parts, for the fleet test and the scale benchmark.

`Deployment.build` serves one Procore sandbox holding N companies and one QBO sandbox
holding N realms on 127.0.0.1, gives each company `vendors` vendors and `bills` invoice
direct costs (on a project of its own, round robin over its vendors), writes the
deployment's joist.yaml (vendors, then bills, which depend on them), and registers N connections in a fresh
PostgreSQL database with their refresh tokens encrypted. `worker()` starts a `joist
worker` process on the Redis broker; `realm_names()` reads a realm's vendors from the
sandbox's store (not the API: watching must not spend the realm's rate limit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import yaml
from cryptography.fernet import Fernet
from parts import PostgresServer, RedisServer

from engine.project.writing import write_sandbox_project
from engine.state.lock import alive
from engine.state.registry import Registry
from engine.state.secrets import EncryptedTokenStore, TokenCipher
from sandbox.procore.resources import RESOURCES
from sandbox.qbo.ops import Company
from sandbox.qbo.seed import seed
from sandbox.qbo.store import Realm
from sandbox.server import ServerThread, create

REPO = Path(__file__).resolve().parents[1]
RULE = """flow: vendors_to_qbo
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
links: vendors
fields:
  DisplayName: "source.name"
  CompanyName: "source.name"
"""
BILLS_RULE = """flow: costs_to_bills
direction: procore > qbo
source: {system: procore, entity: direct_costs, where: "source.direct_cost_type == 'invoice'"}
target: {system: qbo, entity: Bill}
links: bills
depends_on: [vendors_to_qbo]
params:
  expense_account: {}
fields:
  VendorRef.value: "ref('vendors', source.vendor_id)"
  DocNumber: "source.invoice_number"
  TxnDate: "source.direct_cost_date"
  Line:
    - each: "source.line_items"
      fields:
        DetailType: {const: AccountBasedExpenseLineDetail}
        Amount: "item.amount"
        AccountBasedExpenseLineDetail.AccountRef.value: "params.expense_account"
"""


def fresh_database(server: PostgresServer) -> str:
    """A new, empty database on `server`; its URL."""
    name = f"fleet_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url(name)


@dataclass
class Deployment:
    """The parts of one deployment (see the module docstring)."""

    folder: Path
    procore: Any
    qbo: Any
    servers: dict[str, ServerThread]
    database: str
    broker: str
    env: dict[str, str]
    names: list[str] = field(default_factory=list)
    companies: dict[str, int] = field(default_factory=dict)
    realms: dict[str, str] = field(default_factory=dict)
    vendors: dict[str, dict[str, str]] = field(default_factory=dict)  # connection -> Procore id -> name
    bills: dict[str, dict[str, str]] = field(default_factory=dict)  # connection -> Procore id -> invoice number

    @property
    def project(self) -> Path:
        return self.folder / "deployment"

    @classmethod
    def build(
        cls,
        folder: Path,
        pg: PostgresServer,
        redis: RedisServer,
        connections: int,
        vendors: int,
        *,
        bills: int = 0,
        redis_db: int = 3,
    ) -> Deployment:
        procore = create("procore", seed=False, deliver_webhooks=False, hourly_limit=10**9, spike_limit=10**9)
        qbo = create("qbo")
        servers = {"procore": ServerThread(procore.app).start(), "qbo": ServerThread(qbo.app).start()}
        key = Fernet.generate_key().decode()
        deployment = cls(folder, procore, qbo, servers, fresh_database(pg), redis.url(redis_db), {})
        deployment.env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            JOIST_DATABASE_URL=deployment.database,
            JOIST_BROKER_URL=deployment.broker,
            JOIST_TOKEN_KEYS=key,
            JOIST_PROCORE_CLIENT_ID=procore.client_id,
            JOIST_PROCORE_CLIENT_SECRET=procore.client_secret,
            JOIST_QBO_CLIENT_ID=qbo.client_id,
            JOIST_QBO_CLIENT_SECRET=qbo.client_secret,
        )
        deployment._write_project()
        cipher = TokenCipher([key])
        with Registry(deployment.database) as registry:
            for n in range(connections):
                deployment._add(registry, cipher, f"co{n:03d}", n, vendors, bills)
        return deployment

    def _write_project(self) -> None:
        info = {name: box.connection_info(self.servers[name].base_url) for name, box in self._boxes().items()}
        write_sandbox_project(self.project, info)
        rules = self.folder / "rules"
        rules.mkdir(parents=True, exist_ok=True)
        (rules / "vendors.yaml").write_text(RULE, encoding="utf-8")
        (rules / "bills.yaml").write_text(BILLS_RULE, encoding="utf-8")
        doc = yaml.safe_load((self.project / "joist.yaml").read_text())
        doc["packs"] = [str(rules)]
        (self.project / "joist.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")

    def _boxes(self) -> dict[str, Any]:
        return {"procore": self.procore, "qbo": self.qbo}

    def _add(self, registry: Registry, cipher: TokenCipher, name: str, n: int, vendors: int, bills: int) -> None:
        cid, realm_id = 7000 + n, f"4620816365{n:06d}"
        self.procore.store.companies[cid] = {"id": cid, "name": f"Builder {name}", "is_active": True}
        self.procore.installed_companies.add(cid)
        rows = [
            self.procore.store.insert(RESOURCES["vendors"], {"name": f"{name} Sub {v:03d}"}, company_id=cid)
            for v in range(vendors)
        ]
        realm = Realm(realm_id, "US", -480)
        self.qbo.store.realms[realm_id] = realm
        seed(Company(realm, self.qbo.control.clock.now), f"Books {name}")
        self.names.append(name)
        self.companies[name], self.realms[name] = cid, realm_id
        self.vendors[name] = {str(row["id"]): row["name"] for row in rows}
        self.bills[name] = {}
        if bills:
            project = self.procore.store.insert(RESOURCES["projects"], {"name": f"Job {name}"}, company_id=cid)
            for b in range(bills):
                self.bills[name][str(self._bill(cid, project["id"], rows[b % len(rows)]["id"], f"{name}-{b:04d}"))] = (
                    f"{name}-{b:04d}"
                )
        accounts = realm.table("Account").values()
        expense = next(str(a["Id"]) for a in accounts if a.get("AccountType") == "Expense")
        registry.add(name, str(cid), realm_id, [], {"expense_account": expense})
        with registry.open_state(name) as state:
            tokens = EncryptedTokenStore(state, cipher)
            refresh = self.procore.oauth.new_refresh_token(self.procore.client_id, self.procore.demo_user_id)
            tokens.save(f"procore:{cid}", {"refresh_token": refresh})
            tokens.save(f"qbo:{realm_id}", {"refresh_token": self.qbo.refresh_token(realm_id)})

    def _bill(self, cid: int, project_id: int, vendor_id: int, number: str) -> int:
        """One approved invoice direct cost of one line; its id."""
        cost = self.procore.store.insert(
            RESOURCES["direct_costs"],
            {
                "direct_cost_type": "invoice",
                "vendor_id": vendor_id,
                "invoice_number": number,
                "status": "approved",
                "direct_cost_date": "2026-11-20",
                "description": f"Invoice {number}",
            },
            company_id=cid,
            project_id=project_id,
        )
        amount = Decimal("100.00") + len(number)
        line = {"holder_type": "DirectCost", "holder_id": cost["id"], "position": 1, "description": "Work"}
        line.update(amount=amount, quantity=Decimal("1"), unit_cost=amount, uom="LS")
        self.procore.store.insert(RESOURCES["line_items"], line, company_id=cid, project_id=project_id)
        return int(cost["id"])

    def realm_bills(self, name: str) -> list[dict[str, Any]]:
        """The bills in connection `name`'s realm."""
        with self.qbo.store.lock:
            return [dict(r) for r in self.qbo.store.realms[self.realms[name]].table("Bill").values()]

    def worker(self, log: Path, *, visibility_timeout: float = 6.0, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """A `joist worker` process on this deployment, its output appended to `log`."""
        command = [sys.executable, str(REPO / "cli.py"), "--project", str(self.project), "worker"]
        command += ["--visibility-timeout", str(visibility_timeout), "--concurrency", str(concurrency)]
        return subprocess.Popen(command, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def realm_names(self, name: str) -> list[str]:
        """The DisplayNames of connection `name`'s vendors in its QBO realm."""
        with self.qbo.store.lock:
            rows = list(self.qbo.store.realms[self.realms[name]].table("Vendor").values())
        return [r["DisplayName"] for r in rows if str(r["DisplayName"]).startswith(f"{name} Sub")]

    def running_pids(self) -> set[int]:
        """The live processes running a sync of some connection now (a killed run stays "running" in its row)."""
        with psycopg.connect(self.database) as conn:
            union = " UNION ALL ".join(f"SELECT pid FROM c_{n}.runs WHERE status = 'running'" for n in self.names)
            return {int(row[0]) for row in conn.execute(union) if alive(int(row[0]))}

    def in_flight(self, pid: int) -> bool:
        """Whether process `pid` is mid-run on some connection with creates announced and not yet linked."""
        with psycopg.connect(self.database) as conn:
            for name in self.names:
                started = conn.execute(
                    f"SELECT started_at FROM c_{name}.runs WHERE status = 'running' AND pid = %s", (pid,)
                ).fetchone()
                pending = f"SELECT COUNT(*) FROM c_{name}.intents WHERE state = 'pending'"
                if started and conn.execute(pending).fetchone()[0] > 0:  # type: ignore[index]
                    return True
        return False

    def close(self) -> None:
        """Stop the sandboxes' servers."""
        for server in self.servers.values():
            server.stop()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a worker (Celery's warm shutdown), then SIGKILL it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
