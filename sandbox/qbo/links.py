"""`LinkedTxn` both ways: Payment -> Invoice, BillPayment -> Bill, Bill -> PurchaseOrder.

A writable link lives on the *lines* of the paying (or billing) document. `check_links`
refuses links that cannot be made; `relink` derives everything the links imply on the
other side and on the names, and reports which records changed so their SyncToken moves.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from sandbox.qbo import faults
from sandbox.qbo.compute import money
from sandbox.qbo.store import Realm

ZERO = Decimal("0.00")
PAY_TARGETS = {"Payment": ("Invoice", "CustomerRef"), "BillPayment": ("Bill", "VendorRef")}


def _cannot_link(detail: str) -> faults.Fault:
    return faults.validation("620", "Txn Id cannot be linked", f"Transaction cannot be linked: {detail}", "LinkedTxn")


def _applied(realm: Realm, payer: str, target_type: str, target_id: str, skip_id: str | None = None) -> Decimal:
    total = Decimal("0")
    for pay in realm.records(payer):
        if pay["Id"] == skip_id:
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
                    raise faults.business(f"The payment amount is more than the open balance of {kind} "
                                          f"{link['TxnId']} ({open_amount}).", "Line.Amount")
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


def relink(realm: Realm, touch: Callable[[str, dict[str, Any]], None]) -> None:
    """Recompute balances, PO receipts and header `LinkedTxn` summaries from the line links."""
    pays: dict[tuple[str, str], list[tuple[str, str, Decimal]]] = {}
    for payer in ("Payment", "BillPayment"):
        for pay in realm.records(payer):
            kind = "Payment" if payer == "Payment" else f"BillPayment{pay.get('PayType', 'Check')}"
            for line in pay.get("Line", []):
                for link in line.get("LinkedTxn", []):
                    pays.setdefault((link["TxnType"], str(link["TxnId"])), []).append(
                        (pay["Id"], kind, line.get("Amount", ZERO)))
    receipts: dict[tuple[str, str], Decimal] = {}
    bill_links: dict[str, list[str]] = {}
    for bill in realm.records("Bill"):
        for line in bill.get("Line", []):
            for link in line.get("LinkedTxn", []):
                key = (str(link["TxnId"]), str(link["TxnLineId"]))
                receipts[key] = receipts.get(key, ZERO) + line.get("Amount", ZERO)
                bill_links.setdefault(str(link["TxnId"]), [])
                if bill["Id"] not in bill_links[str(link["TxnId"])]:
                    bill_links[str(link["TxnId"])].append(bill["Id"])
    for entity in ("Invoice", "Bill", "VendorCredit"):
        for doc in realm.records(entity):
            changed = [False]
            got = pays.get((entity, doc["Id"]), [])
            paid = sum((amount for _, _, amount in got), ZERO)
            _set(doc, "Balance", money(doc.get("TotalAmt", ZERO) - paid), changed)
            summary = [{"TxnId": pid, "TxnType": kind} for pid, kind, _ in got]
            if entity == "Bill":
                orders = {str(link["TxnId"]) for ln in doc.get("Line", []) for link in ln.get("LinkedTxn", [])}
                summary += [{"TxnId": oid, "TxnType": "PurchaseOrder"} for oid in sorted(orders)]
            _set(doc, "LinkedTxn", summary, changed)
            if changed[0]:
                touch(entity, doc)
    for order in realm.records("PurchaseOrder"):
        changed = [False]
        complete = True
        for line in order.get("Line", []):
            received = receipts.get((order["Id"], str(line.get("Id"))), ZERO)
            _set(line, "Received", received if received else None, changed)
            if received < line.get("Amount", ZERO):
                complete = False
        _set(order, "LinkedTxn", [{"TxnId": b, "TxnType": "Bill"} for b in bill_links.get(order["Id"], [])], changed)
        if not order.get("ManuallyClosed"):
            _set(order, "POStatus", "Closed" if complete and order["Id"] in bill_links else "Open", changed)
        if changed[0]:
            touch("PurchaseOrder", order)
    _name_balances(realm)


def _name_balances(realm: Realm) -> None:
    owed: dict[tuple[str, str], Decimal] = {}
    for entity, party, sign in (("Invoice", "Customer", 1), ("Bill", "Vendor", 1), ("VendorCredit", "Vendor", -1)):
        ref = f"{party}Ref"
        for doc in realm.records(entity):
            key = (party, doc.get(ref, {}).get("value", ""))
            owed[key] = owed.get(key, ZERO) + sign * doc.get("Balance", ZERO)
    for party in ("Customer", "Vendor"):
        for name in realm.records(party):
            name["Balance"] = money(owed.get((party, name["Id"]), ZERO))
    customers = {c["Id"]: c for c in realm.records("Customer")}
    with_jobs = {cid: c["Balance"] for cid, c in customers.items()}
    for customer in customers.values():
        parent = customer.get("ParentRef", {}).get("value")
        seen = 0
        while parent in customers and customer["Balance"] and seen < 6:
            with_jobs[parent] += customer["Balance"]
            parent = customers[parent].get("ParentRef", {}).get("value")
            seen += 1
    for cid, customer in customers.items():
        customer["BalanceWithJobs"] = money(with_jobs[cid])
