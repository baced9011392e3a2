"""`joist reconcile`: per project, the money Procore and QBO hold, side by side, to the cent.

For every Procore project linked to a QBO customer (the `projects` link set) the report
adds up, on each side, what an accountant ties out at month end:

| figure | Procore | QBO |
|---|---|---|
| contract value | revised value of the approved prime contracts | estimates of the project, before tax (with it where amounts include tax) |
| billed | work completed + materials stored on approved owner invoices | invoice lines other than retainage |
| retainage held | retained less released on those invoices | retainage lines of the invoices, negated |
| paid | payments received on the prime contracts | payments applied to the project's invoices, less each invoice's own tax share as `owner_payments_to_contract_payments` takes it out |
| committed | revised value of approved commitments | purchase order lines of the project |
| billed by subcontractors | work + stored on approved subcontractor invoices | lines of bills entered against a purchase order, other than retainage |
| retainage payable | retained less released on those invoices | retainage lines of those bills, negated |

"The project" on the QBO side is its customer and that customer's sub-customers (the Procore
sub jobs `post_to_sub_jobs` posts to). Then every linked document is checked on its own: the twin's total (which QBO computes,
tax included) must equal the Procore total; a difference is listed with its amount.
A figure the report cannot compare (QBO's retainage lines cannot be told from billed ones
while `retainage_receivable_item` is not set) says why, and is no difference.
Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import networkx as nx

from connectors.base import Connector
from engine.expressions.functions import tax_exclusive
from engine.reports.currency import in_currency, project_currency
from engine.reports.figures import ZERO, SideBySide, amount, cents, read_all
from engine.state.store import State

APPROVED_CONTRACT = ("Approved", "Complete")
APPROVED_INVOICE = ("approved", "approved_as_noted")
Record = dict[str, Any]
FIGURES = (
    "contract value",
    "billed",
    "retainage held",
    "paid",
    "committed",
    "billed by subcontractors",
    "retainage payable",
)
PROCORE_ENTITIES = (
    "projects",
    "prime_contracts",
    "payment_applications",
    "prime_contract_payments",
    "work_order_contracts",
    "purchase_order_contracts",
    "requisitions",
)
QBO_ENTITIES = ("Estimate", "Invoice", "Payment", "PurchaseOrder", "Bill", "Customer")


@dataclass(frozen=True)
class Figure(SideBySide):
    """One total, as each system has it."""

    name: str
    procore: Decimal
    qbo: Decimal
    not_compared: str | None = None  # why the two sides cannot be compared (then it is no difference)
    qbo_home: Decimal | None = None  # QBO's figure in the home currency, when the project is in another

    @property
    def agrees(self) -> bool:
        """Equal to the cent, or not comparable (the reason says why)."""
        return self.not_compared is not None or self.equal


@dataclass(frozen=True)
class DocumentMismatch(SideBySide):
    """A linked document whose QBO total is not its Procore total."""

    link_set: str
    procore_id: str
    qbo_id: str
    label: str
    procore: Decimal
    qbo: Decimal


@dataclass
class ProjectFigures:
    project_id: str
    name: str
    customer_id: str | None
    figures: list[Figure] = field(default_factory=list)
    currency: str = "USD"  # the project's currency, which both sides are compared in
    home_currency: str = "USD"  # the QBO company's

    def figure(self, name: str) -> Figure:
        """The figure called `name` (KeyError if there is none)."""
        for fig in self.figures:
            if fig.name == name:
                return fig
        raise KeyError(name)

    @property
    def equal(self) -> bool:
        return all(f.agrees for f in self.figures)


@dataclass
class Reconciliation:
    """The whole report: per project figures and the documents whose totals differ."""

    projects: list[ProjectFigures]
    mismatches: list[DocumentMismatch]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches and all(p.equal for p in self.projects)

    def project(self, name_or_id: str) -> ProjectFigures:
        for p in self.projects:
            if name_or_id in (p.project_id, p.name):
                return p
        raise KeyError(name_or_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "projects": [
                {
                    "project_id": p.project_id,
                    "name": p.name,
                    "qbo_customer_id": p.customer_id,
                    "currency": p.currency,
                    "home_currency": p.home_currency,
                    "equal": p.equal,
                    "figures": [
                        {
                            "name": f.name,
                            "procore": f.procore,
                            "qbo": f.qbo,
                            "difference": f.difference,
                            "not_compared": f.not_compared,
                            "qbo_home": f.qbo_home,
                        }
                        for f in p.figures
                    ],
                }
                for p in self.projects
            ],
            "mismatches": [
                {
                    "link_set": m.link_set,
                    "procore_id": m.procore_id,
                    "qbo_id": m.qbo_id,
                    "document": m.label,
                    "procore": m.procore,
                    "qbo": m.qbo,
                    "difference": m.difference,
                }
                for m in self.mismatches
            ],
            "warnings": list(self.warnings),
        }


def _contract_value(contract: Mapping[str, Any]) -> Decimal:
    revised = contract.get("revised_contract_amount", contract.get("revised_contract"))
    if revised is not None:
        return amount(revised)
    return amount(contract.get("grand_total")) + amount(contract.get("approved_change_orders"))


def _progress(items: Iterable[Mapping[str, Any]]) -> tuple[Decimal, Decimal]:
    """(work completed + materials stored, retained less released) of a progress bill's items."""
    gross = held = ZERO
    for item in items or ():
        gross += amount(item.get("work_completed_this_period")) + amount(item.get("materials_presently_stored"))
        held += amount(item.get("work_completed_retainage_retained_this_period")) - amount(
            item.get("work_completed_retainage_released_this_period")
        )
    return gross, held


def _detail(line: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = line.get(str(line.get("DetailType", "")))
    return detail if isinstance(detail, Mapping) else {}


def _ref(detail: Mapping[str, Any], name: str) -> str | None:
    ref = detail.get(name)
    return str(ref["value"]) if isinstance(ref, Mapping) and ref.get("value") is not None else None


def _total(doc: Mapping[str, Any]) -> Decimal:
    return amount(doc.get("TotalAmt"))


def _inclusive(doc: Mapping[str, Any]) -> bool:
    return doc.get("GlobalTaxCalculation") == "TaxInclusive"


def _net(doc: Mapping[str, Any]) -> Decimal:
    """A document's total on Procore's basis: before tax, or with it when its amounts include tax (AU)."""
    if _inclusive(doc):
        return amount(doc.get("TotalAmt"))
    return amount(doc.get("TotalAmt")) - amount((doc.get("TxnTaxDetail") or {}).get("TotalTax"))


def _amount(doc: Mapping[str, Any], line: Mapping[str, Any]) -> Decimal:
    """A line's amount on Procore's basis (QBO keeps a tax-inclusive line's net in Amount)."""
    if _inclusive(doc):
        inclusive = _detail(line).get("TaxInclusiveAmt")
        if inclusive is not None:
            return amount(inclusive)
    return amount(line.get("Amount"))


class _Reconciler:
    def __init__(self, procore: Connector, qbo: Connector, state: State, params: Mapping[str, Any]) -> None:
        self.procore, self.qbo, self.state = procore, qbo, state
        self.retainage_item = str(params.get("retainage_receivable_item") or "")
        self.retention_account = str(params.get("retention_payable_account") or "")
        self.strip_tax = params.get("strip_payment_tax", True) not in (False, "false", "no", 0)
        self.home = str(params.get("home_currency") or "USD").upper()
        self.procore_records: dict[str, list[Record]] = {}
        self.qbo_records: dict[str, list[Record]] = {}

    def procore_side(self, project_id: str) -> dict[str, Decimal]:
        p = self.procore_records
        out = {name: ZERO for name in FIGURES}
        primes = [
            c
            for c in p["prime_contracts"]
            if str(c.get("project_id")) == project_id and c.get("status") in APPROVED_CONTRACT
        ]
        prime_ids = {str(c["id"]) for c in primes}
        out["contract value"] = sum((_contract_value(c) for c in primes), ZERO)
        for app in p["payment_applications"]:
            if str(app.get("project_id")) == project_id and app.get("status") == "approved":
                gross, held = _progress(app.get("g703") or [])
                out["billed"] += gross
                out["retainage held"] += held
        out["paid"] = sum(
            (
                amount(pay.get("amount"))
                for pay in p["prime_contract_payments"]
                if str(pay.get("contract_id")) in prime_ids
            ),
            ZERO,
        )
        out["committed"] = sum(
            (
                _contract_value(c)
                for kind in ("work_order_contracts", "purchase_order_contracts")
                for c in p[kind]
                if str(c.get("project_id")) == project_id and c.get("status") in APPROVED_CONTRACT
            ),
            ZERO,
        )
        for req in p["requisitions"]:
            if str(req.get("project_id")) == project_id and req.get("status") in APPROVED_INVOICE:
                gross, held = _progress(req.get("items") or [])
                out["billed by subcontractors"] += gross
                out["retainage payable"] += held
        return out

    @cached_property
    def customer_tree(self) -> nx.DiGraph:
        """QBO customers, parent to sub-customer (read once the records are loaded)."""
        tree = nx.DiGraph()
        for customer in self.qbo_records["Customer"]:
            parent = _ref(customer, "ParentRef")
            if parent:
                tree.add_edge(parent, str(customer["Id"]))
        return tree

    def family(self, customer_id: str) -> set[str]:
        """The project's QBO customer and its sub-customers (Procore sub jobs), all levels down."""
        tree = self.customer_tree
        return {customer_id} | (nx.descendants(tree, customer_id) if customer_id in tree else set())

    def qbo_side(self, customer_id: str | None, records: dict[str, list[Record]] | None = None) -> dict[str, Decimal]:
        q = self.qbo_records if records is None else records
        out = {name: ZERO for name in FIGURES}
        if customer_id is None:
            return out
        ours = self.family(customer_id)  # documents and lines on a sub job's sub-customer are the project's
        mine = [d for d in q["Estimate"] if _ref(d, "CustomerRef") in ours]
        out["contract value"] = sum((_net(d) for d in mine), ZERO)
        invoices = {str(d["Id"]): d for d in q["Invoice"] if _ref(d, "CustomerRef") in ours}
        for doc in q["Invoice"]:
            if str(doc["Id"]) not in invoices:
                continue
            for line in doc.get("Line") or []:
                if line.get("DetailType") != "SalesItemLineDetail":
                    continue
                if _ref(_detail(line), "ItemRef") == self.retainage_item:
                    out["retainage held"] -= _amount(doc, line)
                else:
                    out["billed"] += _amount(doc, line)
        for pay in q["Payment"]:
            for line in pay.get("Line") or []:
                paid = [
                    invoices[str(t.get("TxnId"))]
                    for t in line.get("LinkedTxn") or []
                    if t.get("TxnType") == "Invoice" and str(t.get("TxnId")) in invoices
                ]
                if not paid:
                    continue
                applied = amount(line.get("Amount"))
                # the tax share of the invoice it pays, as the payments flow takes it out
                out["paid"] += tax_exclusive(applied, paid[0]) if self.strip_tax else applied
        for po in q["PurchaseOrder"]:
            out["committed"] += sum(
                (_amount(po, line) for line in po.get("Line") or [] if _ref(_detail(line), "CustomerRef") in ours),
                ZERO,
            )
        for bill in q["Bill"]:
            lines = bill.get("Line") or []
            if not any(t.get("TxnType") == "PurchaseOrder" for line in lines for t in line.get("LinkedTxn") or []):
                continue
            for line in lines:
                detail = _detail(line)
                if _ref(detail, "CustomerRef") not in ours:
                    continue
                if (
                    line.get("DetailType") == "AccountBasedExpenseLineDetail"
                    and _ref(detail, "AccountRef") == self.retention_account
                ):
                    out["retainage payable"] -= _amount(bill, line)
                else:
                    out["billed by subcontractors"] += _amount(bill, line)
        return out

    def documents(self) -> list[DocumentMismatch]:
        """Every linked document whose QBO total differs from its Procore total."""
        checks = (
            ("prime_contracts", ("prime_contracts",), "Estimate", _contract_value, _net),
            (
                "commitments",
                ("work_order_contracts", "purchase_order_contracts"),
                "PurchaseOrder",
                _contract_value,
                _net,
            ),
            ("owner_invoices", ("payment_applications",), "Invoice", self._bill_total, _total),
            ("commitment_invoices", ("requisitions",), "Bill", self._bill_total, _total),
        )
        out: list[DocumentMismatch] = []
        for link_set, entities, qbo_entity, procore_total, qbo_total in checks:
            by_id = {str(r["id"]): r for e in entities for r in self.procore_records[e]}
            twins = {str(r["Id"]): r for r in self.qbo_records[qbo_entity]}
            for link in self.state.links(link_set):
                source, twin = by_id.get(str(link.procore_id)), twins.get(str(link.qbo_id))
                if source is None or twin is None:
                    continue
                mine, theirs = procore_total(source), qbo_total(twin)
                if mine != theirs:
                    label = f"{qbo_entity} {twin.get('DocNumber') or twin['Id']}"
                    out.append(DocumentMismatch(link_set, str(link.procore_id), str(link.qbo_id), label, mine, theirs))
        return out

    def _not_compared(self, figure: str) -> str | None:
        """Why a figure cannot be compared under the project's params, or None."""
        if figure in ("billed", "retainage held") and not self.retainage_item:
            return "param retainage_receivable_item is not set (retainage lines look billed)"
        if figure in ("billed by subcontractors", "retainage payable") and not self.retention_account:
            return "param retention_payable_account is not set (retainage lines look billed)"
        return None

    @staticmethod
    def _bill_total(bill: Mapping[str, Any]) -> Decimal:
        gross, held = _progress(bill.get("g703") or bill.get("items") or [])
        tax = (bill.get("g702") or bill.get("summary") or {}).get("tax_applicable_to_this_payment")
        return gross - held + amount(tax)

    def run(self) -> Reconciliation:
        self.procore_records = {e: read_all(self.procore, e) for e in PROCORE_ENTITIES}
        self.qbo_records = {e: read_all(self.qbo, e) for e in QBO_ENTITIES}
        to_qbo = self.state.resolver("projects", toward="qbo")
        projects = []
        for project in sorted(self.procore_records["projects"], key=lambda r: str(r.get("project_number") or r["id"])):
            pid = str(project["id"])
            customer = to_qbo(pid)
            currency = project_currency(self.procore_records, pid, self.home)
            mine = self.procore_side(pid)
            theirs = self.qbo_side(customer, in_currency(self.qbo_records, currency, self.home))
            if customer is None and not any(mine.values()):
                continue
            home: dict[str, Decimal] = {}
            if currency != self.home:
                home = self.qbo_side(customer, in_currency(self.qbo_records, self.home, self.home))
            name = " ".join(str(x) for x in (project.get("project_number"), project.get("name")) if x)
            figures = [
                Figure(
                    n,
                    cents(mine[n]),
                    cents(theirs[n]),
                    self._not_compared(n),
                    cents(home[n]) if n in home else None,
                )
                for n in FIGURES
            ]
            projects.append(ProjectFigures(pid, name, customer, figures, currency, self.home))
        warnings = []
        if not self.retainage_item:
            warnings.append("param retainage_receivable_item is not set: billed and retainage held are not compared")
        if not self.retention_account:
            warnings.append(
                "param retention_payable_account is not set: billed by subcontractors and retainage payable "
                "are not compared"
            )
        return Reconciliation(projects, self.documents(), warnings)


def reconcile(
    procore: Connector, qbo: Connector, state: State, params: Mapping[str, Any] | None = None
) -> Reconciliation:
    """Add up both sides per linked project and check every linked document's total.

    `params` are the project's (with the rules' defaults): `retainage_receivable_item`,
    `retention_payable_account` and `strip_payment_tax` tell retainage lines and the tax
    part of payments apart, as the rule packs write them.
    """
    return _Reconciler(procore, qbo, state, params or {}).run()
