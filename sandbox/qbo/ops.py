"""The operations of one QBO company: create, read, update (full and sparse), delete, void,
query and change data capture. HTTP-free; `app.py` maps requests onto these.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from sandbox.qbo import compute, currency, faults, links
from sandbox.qbo import query as ql
from sandbox.qbo.store import NAMED_TYPES, PARTY_TYPES, Realm, format_time, parse_time
from sandbox.qbo.validate import (
    NAME_LISTS,
    READ_ONLY_TYPES,
    TRANSACTIONS,
    RefChecker,
    check_name,
    clean,
    decimal,
    name_hierarchy,
)

CDC_WINDOW = 30 * 86400
CDC_CAP = 1000
VOIDABLE = {"Invoice": "void", "Payment": "update", "BillPayment": "update", "SalesReceipt": "update"}
ATTACHABLE_TARGETS = TRANSACTIONS + PARTY_TYPES + ("Item",)
CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}
Event = tuple[str, str, str, float]


class Company:
    """One realm's data operations. `events` collects (entity, id, operation, time) for webhooks."""

    def __init__(
        self, realm: Realm, now: Callable[[], float], on_event: Callable[[str, Event], None] | None = None
    ) -> None:
        self.realm = realm
        self.now = now
        self.on_event = on_event

    # -- helpers ---------------------------------------------------------------------------

    def time_text(self, millis: bool = False) -> str:
        return format_time(self.now(), self.realm.offset_minutes, millis=millis)

    def today(self) -> str:
        return self.time_text()[:10]

    def _event(self, entity: str, record_id: str, operation: str) -> None:
        if self.on_event is not None:
            self.on_event(self.realm.realm_id, (entity, record_id, operation, self.now()))

    def _touch(self, entity: str, record: dict[str, Any]) -> None:
        record["SyncToken"] = str(int(record.get("SyncToken", "0")) + 1)
        record.setdefault("MetaData", {})["LastUpdatedTime"] = self.time_text()
        self._event(entity, record["Id"], "Update")

    def _prefs(self) -> dict[str, Any]:
        return next(iter(self.realm.table("Preferences").values()), {})

    def singleton(self, entity: str) -> dict[str, Any]:
        """The one CompanyInfo or Preferences record of the company."""
        found = next(iter(self.realm.table(entity).values()), None)
        if found is None:
            raise faults.not_found()
        return self.output(found)

    def _doc_index(self) -> dict[tuple[str, str], set[str]]:
        """(entity, DocNumber) -> ids, built on first use (not part of the saved state)."""
        if self.realm.doc_numbers is None:
            self.realm.doc_numbers, self.realm.doc_max = {}, {}
            for entity in compute.DOC_NUMBER_CHECKED:
                for record in self.realm.records(entity):
                    self._doc_numbers_add(entity, record)
        return self.realm.doc_numbers

    def _doc_numbers_add(self, entity: str, record: dict[str, Any]) -> None:
        if entity in compute.DOC_NUMBER_CHECKED and record.get("DocNumber") and self.realm.doc_numbers is not None:
            doc = str(record["DocNumber"])
            self.realm.doc_numbers.setdefault((entity, doc), set()).add(record["Id"])
            if doc.isdigit():
                self.realm.doc_max[entity] = max(self.realm.doc_max.get(entity, 1000), int(doc))

    def _doc_numbers_remove(self, entity: str, record: dict[str, Any]) -> None:
        if entity in compute.DOC_NUMBER_CHECKED and record.get("DocNumber") and self.realm.doc_numbers is not None:
            self.realm.doc_numbers.get((entity, str(record["DocNumber"])), set()).discard(record["Id"])

    def _next_doc_number(self, entity: str) -> Callable[[], str | None]:
        def number() -> str | None:
            if self._prefs().get("SalesFormsPrefs", {}).get("CustomTxnNumbers", False):
                return None
            self._doc_index()
            return str(self.realm.doc_max.get(entity, 1000) + 1)

        return number

    @staticmethod
    def output(record: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(record)

    def _existing(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("Id"):
            raise faults.required("Id")
        found = self.realm.find(entity, str(body["Id"]))
        if found is None:
            raise faults.not_found("Id")
        if body.get("SyncToken") in (None, ""):
            raise faults.required("SyncToken")
        if str(body["SyncToken"]) != found["SyncToken"]:
            raise faults.stale_object()
        return found

    def _check_doc_number(
        self, entity: str, record: dict[str, Any], own_id: str | None, include: Collection[str]
    ) -> None:
        doc = record.get("DocNumber")
        if not doc or entity not in compute.DOC_NUMBER_CHECKED or "allowduplicatedocnum" in include:
            return
        for other_id in sorted(self._doc_index().get((entity, str(doc)), set())):
            other = self.realm.find(entity, other_id)
            if other is None or other["Id"] == own_id:
                continue
            if entity in ("Bill", "VendorCredit") and other.get("VendorRef") != record.get("VendorRef"):
                continue
            label = {
                "JournalEntry": "Journal Entry",
                "PurchaseOrder": "Purchase Order",
                "VendorCredit": "Vendor Credit",
            }.get(entity, entity)
            raise faults.duplicate_doc_number(str(doc), label, other["Id"])

    # -- the per-entity rules --------------------------------------------------------------

    def _prepare(
        self,
        entity: str,
        record: dict[str, Any],
        previous: dict[str, Any] | None,
        include: Collection[str],
        hidden: set[tuple[str, str]] | None,
    ) -> None:
        own_id = previous["Id"] if previous else None
        RefChecker(self.realm, entity, hidden).walk(record)
        if entity in NAME_LISTS:
            check_name(self.realm, entity, record, own_id)
            record["Active"] = record.get("Active", True) is not False
            name_hierarchy(self.realm, entity, record)
        if entity == "Account":
            if "AccountType" not in record and "AccountSubType" not in record:
                raise faults.required("AccountType")
            record["Classification"] = CLASSIFICATION.get(record.get("AccountType", ""), "Expense")
            record.setdefault("CurrentBalance", Decimal("0.00"))
            record.setdefault("CurrentBalanceWithSubAccounts", Decimal("0.00"))
        elif entity == "Item":
            if "Type" not in record:
                raise faults.required("Type")
            if record["Type"] in ("Service", "NonInventory", "Inventory") and not (
                record.get("IncomeAccountRef") or record.get("ExpenseAccountRef")
            ):
                raise faults.required("IncomeAccountRef")
            for key in ("UnitPrice", "PurchaseCost"):
                if key in record:
                    record[key] = decimal(record[key], key)
        elif entity == "Term":
            record["Type"] = "DATE_DRIVEN" if "DayOfMonthDue" in record else "STANDARD"
        elif entity in PARTY_TYPES and entity != "Employee":
            record.setdefault("Balance", Decimal("0.00"))
            if entity == "Customer":
                record.setdefault("BalanceWithJobs", Decimal("0.00"))
            currency.name_currency(self.realm, entity, record, previous)
        elif entity in TRANSACTIONS:
            compute.prepare(self.realm, entity, record, previous, self.today(), self._next_doc_number(entity))
            self._check_doc_number(entity, record, own_id, include)
            links.check_links(self.realm, entity, record, own_id)
        elif entity == "Attachable":
            self._attachable(record)

    def _attachable(self, record: dict[str, Any]) -> None:
        for index, ref in enumerate(record.get("AttachableRef", [])):
            target = ref.get("EntityRef", {})
            kind, value = target.get("type", ""), str(target.get("value", ""))
            if not kind or not value:
                raise faults.required(f"AttachableRef[{index}].EntityRef")
            if kind not in ATTACHABLE_TARGETS:
                raise faults.validation(
                    "6050", "Attachments not supported", f"{kind} records cannot have attachments.", "AttachableRef"
                )
            if self.realm.find(kind, value) is None:
                raise faults.invalid_reference(f"AttachableRef[{index}].EntityRef", value)
            target["value"] = value
            ref.setdefault("IncludeOnSend", False)
        if not record.get("FileName") and not record.get("Note"):
            raise faults.required("Note")

    def _store(self, entity: str, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
        old_name = None
        if previous is not None:
            old_name = previous.get("DisplayName") if entity in PARTY_TYPES else previous.get("Name")
            record["Id"] = previous["Id"]
            record["SyncToken"] = str(int(previous["SyncToken"]) + 1)
            record["MetaData"] = {"CreateTime": previous["MetaData"]["CreateTime"], "LastUpdatedTime": self.time_text()}
        else:
            record["Id"] = self.realm.new_id(entity)
            record["SyncToken"] = "0"
            stamp = self.time_text()
            record["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        record["domain"], record["sparse"] = "QBO", False
        before = links.affected(entity, previous)
        link_index = links.index(self.realm)
        if previous is not None:
            link_index.remove(entity, previous)
            self._doc_numbers_remove(entity, previous)
        self.realm.table(entity)[record["Id"]] = record
        link_index.add(entity, record)
        self._doc_numbers_add(entity, record)
        if entity in PARTY_TYPES + NAMED_TYPES:
            self.realm.index_name(entity, record, old_name)
        self._event(entity, record["Id"], "Update" if previous else "Create")
        if entity in TRANSACTIONS:
            after = links.affected(entity, record)
            links.relink(self.realm, before[0] | after[0], before[1] | after[1], self._touch)

    # -- operations --------------------------------------------------------------------------

    def create(
        self,
        entity: str,
        body: dict[str, Any],
        include: Collection[str] = frozenset(),
        hidden: set[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a record; returns it as QBO serves it."""
        if entity in READ_ONLY_TYPES or entity == "TaxCode":
            raise faults.unsupported("Create")
        record = clean(entity, body)
        self._prepare(entity, record, None, include, hidden)
        self._store(entity, record, None)
        return self.output(record)

    def update(
        self,
        entity: str,
        body: dict[str, Any],
        include: Collection[str] = frozenset(),
        hidden: set[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Full update (fields left out are cleared) or sparse (`"sparse": true`)."""
        if entity in READ_ONLY_TYPES:
            raise faults.unsupported("Update")
        existing = self._existing(entity, body)
        if "void" in include:
            return self.void(entity, body)
        changes = clean(entity, body)
        sparse = body.get("sparse") in (True, "true")
        if sparse:
            record = clean(entity, copy.deepcopy(existing))
            record.update(changes)
        else:
            record = changes
            for keep in ("DisplayName", "CurrencyRef") if entity in PARTY_TYPES else ("CurrencyRef",):
                if keep not in record and keep in existing:
                    record[keep] = copy.deepcopy(existing[keep])
        if entity == "Purchase":
            if "PaymentType" not in body:
                raise faults.required("PaymentType")
            if body["PaymentType"] != existing["PaymentType"]:
                raise faults.business("The payment type of an expense cannot be changed.", "PaymentType")
        self._prepare(entity, record, existing, include, hidden)
        if entity == "Attachable":
            for kept in ("Size", "FileAccessUri", "TempDownloadUri"):
                if kept in existing:
                    record[kept] = existing[kept]
        self._store(entity, record, existing)
        return self.output(record)

    def delete(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Delete a transaction or attachment; name lists can only be made inactive."""
        if entity not in TRANSACTIONS + ("Attachable",):
            raise faults.unsupported("Delete")
        existing = self._existing(entity, body)
        docs, parties = links.affected(entity, existing)
        links.index(self.realm).remove(entity, existing)
        self._doc_numbers_remove(entity, existing)
        del self.realm.table(entity)[existing["Id"]]
        self.realm.files.pop(existing["Id"], None)
        stamp = self.time_text()
        self.realm.deleted.setdefault(entity, {})[existing["Id"]] = {
            "domain": "QBO",
            "status": "Deleted",
            "Id": existing["Id"],
            "MetaData": {"CreateTime": existing["MetaData"]["CreateTime"], "LastUpdatedTime": stamp},
        }
        self._event(entity, existing["Id"], "Delete")
        links.relink(self.realm, docs, parties, self._touch)
        return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}

    def void(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Void: the record stays, its amounts go to zero and `PrivateNote` says "Voided"."""
        existing = self._existing(entity, body)
        if entity not in VOIDABLE:
            raise faults.unsupported("Void")
        docs, parties = links.affected(entity, existing)
        link_index = links.index(self.realm)
        link_index.remove(entity, existing)
        compute.void(existing)
        link_index.add(entity, existing)
        existing["SyncToken"] = str(int(existing["SyncToken"]) + 1)
        existing["MetaData"]["LastUpdatedTime"] = self.time_text()
        self._event(entity, existing["Id"], "Void")
        links.relink(self.realm, docs, parties, self._touch)
        return self.output(existing)

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        found = self.realm.find(entity, record_id)
        if found is None:
            raise faults.not_found()
        return self.output(found)

    def query(self, text: str, entity_names: dict[str, str]) -> dict[str, Any]:
        parsed = ql.parse(text)
        entity = entity_names.get(parsed.entity.lower())
        if entity is None:
            raise faults.query_validation(f"Invalid context declaration : {parsed.entity}")
        result = ql.run(
            parsed, entity, self.realm.records(entity), name_list=entity in NAME_LISTS, offset=self.realm.offset_minutes
        )
        if entity in result:
            result[entity] = [self.output(r) for r in result[entity]]
        return result

    def cdc(self, entities: list[str], changed_since: str) -> list[dict[str, Any]]:
        """The `QueryResponse` list of a CDC call: one element per entity, changes since then."""
        since = parse_time(changed_since, self.realm.offset_minutes)
        if since is None:
            raise faults.validation(
                "2070", "Invalid Date", f"Invalid changedSince value: {changed_since}", "changedSince"
            )
        if since < self.now() - CDC_WINDOW:
            raise faults.validation(
                "2070", "Invalid Date", "changedSince must be within the last 30 days.", "changedSince"
            )
        budget = CDC_CAP
        out: list[dict[str, Any]] = []
        for entity in entities:
            changed = []
            for record in list(self.realm.records(entity)) + list(self.realm.deleted.get(entity, {}).values()):
                stamp = parse_time(record["MetaData"]["LastUpdatedTime"], self.realm.offset_minutes) or 0
                if stamp >= since:
                    changed.append((stamp, record))
            changed.sort(key=lambda pair: pair[0])
            rows = [self.output(r) for _, r in changed[:budget]]
            budget -= len(rows)
            out.append(
                {entity: rows, "startPosition": 1, "maxResults": len(rows), "totalCount": len(rows)} if rows else {}
            )
        return out
