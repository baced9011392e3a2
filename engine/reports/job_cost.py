"""The job-cost section of `joist reconcile`: cost per project and cost code, on both sides.

Procore side: the lines of approved direct costs of the job-cost types (`expense` and
`payroll` by default; `invoice` direct costs are bills and belong to the payables section),
each under its cost code (the line's cost code, else the cost code part of its WBS code,
`01-100` of `01-100.L`).

QBO side: every line of an expense (Purchase) that names a customer, and every journal
entry line that names a customer and posts to a job-cost account
(`costs_journal_cost_accounts`; debits count up, credits down; card refunds count down).
The customer is taken to its Procore project through the `projects` link set (a sub job's
sub-customer through `sub_jobs` to the sub job's project); the cost code
comes from the line's item (a WBS item through `wbs_items`, or a cost code item through
`cost_code_items`), or for an account line from the item the lookup `costs_item_for_account`
gives the account, else from the cost code the account stands for (`cost_codes`). A time
activity on a project is labour cost at its cost rate (else `time_default_cost_rate`), hours
and minutes exactly, rounded to the cent as `time_activities_to_payroll_costs` does; the
time activities Joist wrote from Procore timecards (their description carries "[Joist: ")
are left out, since those hours reach QBO as payroll expenses already.

A line whose customer is not a linked project is listed apart (`unassigned`), with its
amount, so nothing disappears from the report. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.base import Connector
from engine.reports.figures import ZERO, SideBySide, amount, cents, read_all
from engine.state.store import State

JOIST_MARK = "[Joist: "
COST_TYPES = ("expense", "payroll")
Record = dict[str, Any]
Key = tuple[str, str]  # (Procore project id, cost code full code; "" for none)


def _ids(text: Any) -> set[str] | None:
    """A comma-separated id list as a set (None when not given: every account counts)."""
    if text is None or str(text).strip() == "":
        return None
    return {part.strip() for part in str(text).split(",") if part.strip()}


@dataclass(frozen=True)
class CostRow(SideBySide):
    """Job cost of one project and cost code, as each system has it."""

    project_id: str
    project: str
    cost_code: str
    procore: Decimal
    qbo: Decimal


@dataclass(frozen=True)
class Unassigned:
    """A QBO cost line Joist cannot put on a Procore project (its customer is not linked)."""

    entity: str
    qbo_id: str
    customer_id: str
    amount: Decimal


@dataclass
class CostReconciliation:
    """Every (project, cost code) with cost on either side, and the QBO lines left over."""

    rows: list[CostRow]
    unassigned: list[Unassigned] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row is equal to the cent and no QBO cost line is left over."""
        return all(r.equal for r in self.rows) and not self.unassigned

    def row(self, project_id: Any, cost_code: str) -> CostRow:
        """The row of one project (Procore id) and cost code (KeyError when neither side has cost)."""
        for r in self.rows:
            if r.project_id == str(project_id) and r.cost_code == cost_code:
                return r
        raise KeyError(f"no job cost for project {project_id} and cost code {cost_code!r}")

    def totals(self) -> tuple[Decimal, Decimal]:
        """All job cost: (Procore, QBO)."""
        return sum((r.procore for r in self.rows), ZERO), sum((r.qbo for r in self.rows), ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": [
                {
                    "project_id": r.project_id,
                    "project": r.project,
                    "cost_code": r.cost_code,
                    "procore": r.procore,
                    "qbo": r.qbo,
                    "difference": r.difference,
                }
                for r in self.rows
            ],
            "unassigned": [
                {"entity": u.entity, "qbo_id": u.qbo_id, "customer_id": u.customer_id, "amount": u.amount}
                for u in self.unassigned
            ],
        }


class _CostReconciler:
    def __init__(
        self,
        procore: Connector,
        qbo: Connector,
        state: State,
        params: Mapping[str, Any],
        lookups: Mapping[str, Mapping[str, Any]],
        types: Iterable[str],
    ) -> None:
        self.procore, self.qbo, self.state = procore, qbo, state
        self.types = tuple(types)
        self.journal_accounts = _ids(params.get("costs_journal_cost_accounts"))
        self.default_cost_rate = amount(params.get("time_default_cost_rate"))
        self.item_for_account = {str(k): str(v) for k, v in (lookups.get("costs_item_for_account") or {}).items()}
        self._project_of = state.resolver("projects", toward="procore")
        self.sub_job_of = state.resolver("sub_jobs", toward="procore")
        self.sub_job_projects: dict[str, str] = {}  # Procore sub job id -> its project id
        self.wbs_of = state.resolver("wbs_items", toward="procore")
        self.cost_code_of = state.resolver("cost_code_items", toward="procore")
        self.account_code_of = state.resolver("cost_codes", toward="procore")
        self.procore_cost: dict[Key, Decimal] = {}
        self.qbo_cost: dict[Key, Decimal] = {}
        self.unassigned: list[Unassigned] = []
        self.flat_codes: dict[str, str] = {}
        self.full_codes: dict[str, str] = {}

    def project_of(self, customer: str) -> str | None:
        """The Procore project of a QBO customer: the project's own, or a sub job's sub-customer."""
        project = self._project_of(customer)
        if project is not None:
            return str(project)
        sub_job = self.sub_job_of(customer)
        return self.sub_job_projects.get(str(sub_job)) if sub_job is not None else None

    def _codes(self) -> None:
        for wbs in read_all(self.procore, "wbs_codes"):
            # a WBS code on a sub job starts with the sub job's code: its cost code is the cost code segment's
            segment = next(
                (
                    i
                    for i in wbs.get("segment_items") or []
                    if (i.get("segment") or {}).get("segment_type") == "cost_code"
                ),
                None,
            )
            flat = str(wbs.get("flat_code") or "")
            self.flat_codes[str(wbs["id"])] = str(segment.get("path_code") or "") if segment else flat.split(".")[0]
        for job in read_all(self.procore, "sub_jobs"):
            self.sub_job_projects[str(job["id"])] = str(job.get("project_id"))
        for code in read_all(self.procore, "cost_codes"):
            self.full_codes[str(code["id"])] = str(code.get("full_code") or code.get("code") or "")

    @staticmethod
    def _code_of_line(line: Mapping[str, Any]) -> str:
        code = (line.get("cost_code") or {}).get("full_code")
        if code:
            return str(code)
        flat = (line.get("wbs_code") or {}).get("flat_code")
        return str(flat).split(".")[0] if flat else ""

    def procore_side(self) -> None:
        for cost in read_all(self.procore, "direct_costs"):
            if (
                cost.get("deleted_at")
                or cost.get("direct_cost_type") not in self.types
                or cost.get("status") != "approved"
            ):
                continue
            for line in cost.get("line_items") or []:
                key = (str(cost["project_id"]), self._code_of_line(line))
                self.procore_cost[key] = self.procore_cost.get(key, ZERO) + amount(line.get("amount"))

    def _code_of_item(self, item_id: str | None) -> str:
        if not item_id:
            return ""
        wbs = self.wbs_of(item_id)
        if wbs is not None:
            return self.flat_codes.get(str(wbs), "")
        code = self.cost_code_of(item_id)
        return self.full_codes.get(str(code), "") if code is not None else ""

    def _add_qbo(
        self,
        entity: str,
        doc_id: str,
        customer: str,
        item_id: str | None,
        amount: Decimal,
        account_id: str | None = None,
    ) -> None:
        project = self.project_of(customer)
        if project is None:
            self.unassigned.append(Unassigned(entity, doc_id, customer, amount))
            return
        code = self._code_of_item(item_id)
        if not code and not item_id and account_id:
            cost_code = self.account_code_of(account_id)
            code = self.full_codes.get(str(cost_code), "") if cost_code is not None else ""
        key = (str(project), code)
        self.qbo_cost[key] = self.qbo_cost.get(key, ZERO) + amount

    def qbo_side(self) -> None:
        for purchase in read_all(self.qbo, "Purchase"):
            if purchase.get("status") == "Deleted":
                continue
            sign = -1 if purchase.get("Credit") else 1
            for line in purchase.get("Line") or []:
                detail = line.get(line.get("DetailType") or "") or {}
                customer = (detail.get("CustomerRef") or {}).get("value")
                if not customer:
                    continue
                account = (detail.get("AccountRef") or {}).get("value")
                item = (detail.get("ItemRef") or {}).get("value") or self.item_for_account.get(str(account))
                self._add_qbo(
                    "Purchase", str(purchase["Id"]), str(customer), item, sign * amount(line.get("Amount")), account
                )
        for entry in read_all(self.qbo, "JournalEntry"):
            if entry.get("status") == "Deleted":
                continue
            for line in entry.get("Line") or []:
                detail = line.get("JournalEntryLineDetail") or {}
                entity = detail.get("Entity") or {}
                account = str((detail.get("AccountRef") or {}).get("value"))
                if entity.get("Type") != "Customer" or (
                    self.journal_accounts is not None and account not in self.journal_accounts
                ):
                    continue
                sign = -1 if detail.get("PostingType") == "Credit" else 1
                self._add_qbo(
                    "JournalEntry",
                    str(entry["Id"]),
                    str((entity.get("EntityRef") or {}).get("value")),
                    self.item_for_account.get(account),
                    sign * amount(line.get("Amount")),
                    account,
                )

    def time_side(self) -> None:
        for activity in read_all(self.qbo, "TimeActivity"):
            customer = (activity.get("CustomerRef") or {}).get("value")
            if (
                activity.get("status") == "Deleted"
                or not customer
                or JOIST_MARK in str(activity.get("Description") or "")
            ):
                continue
            hours = amount(activity.get("Hours")) + amount(activity.get("Minutes")) / 60
            rate = (
                amount(activity["CostRate"]) if activity.get("CostRate") not in (None, "") else self.default_cost_rate
            )
            cost = cents(hours * rate)
            if cost:
                self._add_qbo(
                    "TimeActivity",
                    str(activity["Id"]),
                    str(customer),
                    (activity.get("ItemRef") or {}).get("value"),
                    cost,
                )

    def run(self) -> CostReconciliation:
        self._codes()
        self.procore_side()
        self.qbo_side()
        self.time_side()
        names = {
            str(p["id"]): " ".join(str(x) for x in (p.get("project_number"), p.get("name")) if x)
            for p in read_all(self.procore, "projects")
        }
        rows = [
            CostRow(
                project,
                names.get(project, project),
                code,
                self.procore_cost.get((project, code), ZERO),
                self.qbo_cost.get((project, code), ZERO),
            )
            for project, code in sorted(set(self.procore_cost) | set(self.qbo_cost))
        ]
        return CostReconciliation(rows, self.unassigned)


def reconcile_costs(
    procore: Connector,
    qbo: Connector,
    state: State,
    params: Mapping[str, Any] | None = None,
    *,
    lookups: Mapping[str, Mapping[str, Any]] | None = None,
    types: Iterable[str] = COST_TYPES,
) -> CostReconciliation:
    """Job cost per Procore project and cost code, as Procore and QBO each hold it.

    `params` are the project's (with the rules' defaults; `engine.project.session.session_params`
    gives them): `costs_journal_cost_accounts` names the job-cost accounts of journal
    entries. `lookups` are the rule set's tables (`session.ruleset.lookups`), for
    `costs_item_for_account`. `types` are the direct cost types that count as job cost.
    """
    return _CostReconciler(procore, qbo, state, params or {}, lookups or {}, types).run()


def reconcile_session_costs(session: Any) -> CostReconciliation:
    """`reconcile_costs` for an open `engine.project.session.Session`: its connectors, state, params and lookups."""
    from engine.project.session import session_params

    conns = session.connectors({"procore", "qbo"})
    return reconcile_costs(
        conns["procore"], conns["qbo"], session.state, session_params(session), lookups=session.ruleset.lookups
    )
