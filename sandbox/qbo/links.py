"""`LinkedTxn` both ways: Payment -> Invoice, BillPayment -> Bill, Bill -> PurchaseOrder.

A writable link lives on the *lines* of the paying (or billing) document. `check_links`
refuses links that cannot be made; `relink` derives everything the links imply on the
other side and on the names, and reports which records changed so their SyncToken moves.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.qbo import currency, faults
from sandbox.qbo.compute import money
from sandbox.qbo.store import Realm

ZERO = Decimal("0.00")
PAY_TARGETS = {"Payment": ("Invoice", "CustomerRef"), "BillPayment": ("Bill", "VendorRef")}


def _cannot_link(detail: str) -> faults.Fault:
    return faults.validation("620", "Txn Id cannot be linked", f"Transaction cannot be linked: {detail}", "LinkedTxn")


LINKERS = ("Payment", "BillPayment", "Bill")
PARTY_OF = {
    "Invoice": ("Customer", "CustomerRef", 1),
    "Bill": ("Vendor", "VendorRef", 1),
    "VendorCredit": ("Vendor", "VendorRef", -1),
}
Key = tuple[str, str]


def link_targets(entity: str, record: dict[str, Any] | None) -> set[Key]:
    """The documents a record's lines link to: (TxnType, TxnId)."""
    if record is None or entity not in LINKERS:
        return set()
    return {
        (str(link.get("TxnType")), str(link.get("TxnId")))
        for line in record.get("Line", [])
        for link in line.get("LinkedTxn", [])
    }


class LinkIndex:
    """Who links to each document, and each name's documents; kept beside a realm's records."""

    def __init__(self, realm: Realm) -> None:
        self.sources: dict[Key, set[Key]] = {}
        self.party_total: dict[Key, Decimal] = {}
        for entity in LINKERS + tuple(PARTY_OF):
            for record in realm.records(entity):
                self.add(entity, record)

    def add(self, entity: str, record: dict[str, Any]) -> None:
        for target in link_targets(entity, record):
            self.sources.setdefault(target, set()).add((entity, record["Id"]))
        self.shift(entity, record, 1)

    def shift(self, entity: str, record: dict[str, Any], sign: int, amount: Decimal | None = None) -> None:
        """Add (sign 1) or take away (-1) a document's balance from its name's running total."""
        party = party_of(entity, record)
        if party:
            value = record.get("Balance", ZERO) if amount is None else amount
            self.party_total[party] = self.party_total.get(party, ZERO) + sign * PARTY_OF[entity][2] * value

    def remove(self, entity: str, record: dict[str, Any]) -> None:
        for target in link_targets(entity, record):
            self.sources.get(target, set()).discard((entity, record["Id"]))
        self.shift(entity, record, -1)


def party_of(entity: str, record: dict[str, Any] | None) -> Key | None:
    if record is None or entity not in PARTY_OF:
        return None
    party, ref, _ = PARTY_OF[entity]
    value = record.get(ref, {}).get("value")
    return (party, str(value)) if value else None


def index(realm: Realm) -> LinkIndex:
    """The realm's link index, built on first use (it is not part of the saved state)."""
    if not isinstance(realm.links, LinkIndex):
        realm.links = LinkIndex(realm)
    return realm.links


def _applied(realm: Realm, payer: str, target_type: str, target_id: str, skip_id: str | None = None) -> Decimal:
    total = Decimal("0")
    for source_entity, source_id in index(realm).sources.get((target_type, target_id), set()):
        pay = realm.find(source_entity, source_id)
        if source_entity != payer or pay is None or pay["Id"] == skip_id:
            continue
        for line in pay.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == target_type and str(link.get("TxnId")) == target_id:
                    total += line.get("Amount", ZERO)
    return total


def check_links(realm: Realm, entity: str, record: dict[str, Any], own_id: str | None) -> None:
    """Refuse links to missing, voided or foreign documents, or paying more than is open."""
    if entity in PAY_TARGETS:
        target_type, party = PAY_TARGETS[entity]
        for line in record.get("Line", []):
            for link in line.get("LinkedTxn", []):
                link["TxnId"] = str(link["TxnId"])
                kind = link["TxnType"]
                if kind not in (target_type, "VendorCredit", "CreditMemo"):
                    continue
                target = realm.find(kind, link["TxnId"])
                if target is None:
                    raise _cannot_link(f"{kind} {link['TxnId']} does not exist")
                if target.get(party, {}).get("value") != record[party]["value"]:
                    raise _cannot_link(f"{kind} {link['TxnId']} belongs to another {party[:-3].lower()}")
                open_amount = target.get("TotalAmt", ZERO) - _applied(realm, entity, kind, link["TxnId"], own_id)
                if line["Amount"] > open_amount:
                    raise faults.business(
                        f"The payment amount is more than the open balance of {kind} {link['TxnId']} ({open_amount}).",
                        "Line.Amount",
                    )
    if entity == "Bill":
        for index, line in enumerate(record.get("Line", [])):
            for link in line.get("LinkedTxn", []):
                for key in ("TxnId", "TxnType", "TxnLineId"):
                    if not link.get(key):
                        raise faults.required(f"Line[{index}].LinkedTxn.{key}")
                link["TxnId"], link["TxnLineId"] = str(link["TxnId"]), str(link["TxnLineId"])
                if link["TxnType"] != "PurchaseOrder":
                    raise _cannot_link(f"a Bill line can link only a PurchaseOrder, not {link['TxnType']}")
                order = realm.find("PurchaseOrder", link["TxnId"])
                if order is None or order.get("VendorRef", {}).get("value") != record["VendorRef"]["value"]:
                    raise _cannot_link(f"PurchaseOrder {link['TxnId']} does not exist for this vendor")
                if not any(str(ln.get("Id")) == link["TxnLineId"] for ln in order.get("Line", [])):
                    raise _cannot_link(f"PurchaseOrder {link['TxnId']} has no line {link['TxnLineId']}")


def _set(record: dict[str, Any], key: str, value: Any, changed: list[bool]) -> None:
    if value in (None, []):
        if key in record:
            record.pop(key)
            changed[0] = True
    elif record.get(key) != value:
        record[key] = value
        changed[0] = True


def affected(entity: str, record: dict[str, Any] | None) -> tuple[set[Key], set[Key]]:
    """(documents, names) whose derived fields may change when `record` changes."""
    if record is None:
        return set(), set()
    docs = link_targets(entity, record)
    if entity in PARTY_OF or entity == "PurchaseOrder":
        docs.add((entity, record["Id"]))
    party = party_of(entity, record)
    return docs, {party} if party else set()


def _pays(realm: Realm, doc_type: str, doc_id: str) -> list[tuple[str, str, Decimal]]:
    out = []
    for source_entity, source_id in sorted(
        index(realm).sources.get((doc_type, doc_id), set()), key=lambda k: (k[0], int(k[1]) if k[1].isdigit() else 0)
    ):
        if source_entity not in ("Payment", "BillPayment"):
            continue
        pay = realm.find(source_entity, source_id)
        if pay is None:
            continue
        kind = "Payment" if source_entity == "Payment" else f"BillPayment{pay.get('PayType', 'Check')}"
        for line in pay.get("Line", []):
            if any(
                link.get("TxnType") == doc_type and str(link.get("TxnId")) == doc_id
                for link in line.get("LinkedTxn", [])
            ):
                out.append((pay["Id"], kind, line.get("Amount", ZERO)))
    return out


def relink(realm: Realm, docs: set[Key], parties: set[Key], touch: Callable[[str, dict[str, Any]], None]) -> None:
    """Recompute what the line links imply on `docs` (balances, PO receipts, `LinkedTxn`
    summaries) and the balances of `parties` and of the names of those documents."""
    for doc_type, doc_id in sorted(docs):
        doc = realm.find(doc_type, doc_id)
        if doc is None:
            continue
        changed = [False]
        if doc_type in PARTY_OF:
            got = _pays(realm, doc_type, doc_id)
            paid = sum((amount for _, _, amount in got), ZERO)
            balance = money(doc.get("TotalAmt", ZERO) - paid)
            index(realm).shift(doc_type, doc, 1, balance - doc.get("Balance", ZERO))
            _set(doc, "Balance", balance, changed)
            home_balance = currency.home_balance(doc)
            if home_balance is not None:
                _set(doc, "HomeBalance", home_balance, changed)
            summary = [{"TxnId": pid, "TxnType": kind} for pid, kind, _ in got]
            if doc_type == "Bill":
                orders = {str(link["TxnId"]) for ln in doc.get("Line", []) for link in ln.get("LinkedTxn", [])}
                summary += [{"TxnId": oid, "TxnType": "PurchaseOrder"} for oid in sorted(orders)]
            _set(doc, "LinkedTxn", summary, changed)
            party = party_of(doc_type, doc)
            if party:
                parties.add(party)
        elif doc_type == "PurchaseOrder":
            bills = sorted(
                (sid for se, sid in index(realm).sources.get(("PurchaseOrder", doc_id), set()) if se == "Bill"),
                key=lambda i: int(i) if i.isdigit() else 0,
            )
            receipts: dict[str, Decimal] = {}
            for bill_id in bills:
                for line in (realm.find("Bill", bill_id) or {}).get("Line", []):
                    for link in line.get("LinkedTxn", []):
                        if str(link.get("TxnId")) == doc_id:
                            key = str(link.get("TxnLineId"))
                            receipts[key] = receipts.get(key, ZERO) + line.get("Amount", ZERO)
            complete = True
            for line in doc.get("Line", []):
                received = receipts.get(str(line.get("Id")), ZERO)
                _set(line, "Received", received if received else None, changed)
                if received < line.get("Amount", ZERO):
                    complete = False
            _set(doc, "LinkedTxn", [{"TxnId": b, "TxnType": "Bill"} for b in bills], changed)
            if not doc.get("ManuallyClosed"):
                _set(doc, "POStatus", "Closed" if complete and bills else "Open", changed)
        if changed[0]:
            touch(doc_type, doc)
    for party in parties:
        _party_balance(realm, party)


def _party_balance(realm: Realm, party: Key) -> None:
    record = realm.find(*party)
    if record is None:
        return
    total = index(realm).party_total.get(party, ZERO)
    delta = money(total) - record.get("Balance", ZERO)
    record["Balance"] = money(total)
    if party[0] != "Customer" or not delta:
        return
    seen = 0
    node: dict[str, Any] | None = record
    while node is not None and seen < 7:
        node["BalanceWithJobs"] = money(node.get("BalanceWithJobs", ZERO) + delta)
        parent = node.get("ParentRef", {}).get("value")
        node = realm.find("Customer", parent) if parent else None
        seen += 1
