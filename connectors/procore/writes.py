"""Writes to Procore: create (idempotent through `origin_id`), update, delete, attachments.

A create writes `origin_id` = the idempotency key (an integer derived from it for
timecards, whose `origin_id` is numeric). When the answer is lost (dropped connection,
5xx) or Procore says the `origin_id` is taken, the connector looks the record up by
`filters[origin_id]` before trying again, so a retried create finds its record instead of
making a second one. Invoices (requisitions, payment applications) lock once they carry an
`origin_id`, so they are created with a pending marker in `origin_data`, their items are
filled in, and the `origin_id` is set last; the marker lets a retry find and finish them.
A commitment payment that names only the subcontractor invoice it pays gets its contract
(and project) from that invoice.

Downloads follow Procore's redirect to its storage host by hand and never send the bearer
token to a host other than the API's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urljoin, urlparse

import httpx

from connectors.base import Attachment, Conflict, ConnectorError, NotFound, Page, Rejected, Unavailable
from connectors.http import RetryPolicy, Sleep
from connectors.procore.entities import Entity
from connectors.procore.errors import SYSTEM, OriginIdTaken, ReadOnlyEntity, error_for

Record = dict[str, Any]
READ_ONLY_FIELDS = ("id", "created_at", "updated_at", "deleted_at", "project_id", "project", "company_id")
PENDING = "joist-pending:"
KEYED = "joist-key:"  # origin_data of a record Joist made from another Procore record (not synced)


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{" + ",".join(_piece(json.dumps(str(k)) + ":", v) for k, v in value.items()) + "}")
    elif isinstance(value, (list, tuple)):
        out.append("[" + ",".join(_piece("", v) for v in value) + "]")
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    else:
        out.append(json.dumps(value))


def _piece(prefix: str, value: Any) -> str:
    parts: list[str] = []
    _encode(value, parts)
    return prefix + "".join(parts)


def encode_json(value: Any) -> bytes:
    """JSON with Decimals as numbers that keep their scale (`1200.50`), never via float."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode()


def form_fields(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Rails-style multipart fields: `item[a]`, `item[line_items][][amount]`, `ids[]`."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in form_fields(f"{prefix}[{k}]", v)]
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, dict) for v in value):
            return [pair for item in value for k, v in item.items() for pair in form_fields(f"{prefix}[][{k}]", v)]
        return [pair for v in value for pair in form_fields(f"{prefix}[]", v)]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, format(value, "f") if isinstance(value, Decimal) else str(value))]


def origin_value(spec: Entity, key: str) -> Any:
    """The `origin_id` Joist writes for an idempotency key."""
    if spec.origin == "integer":
        return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)
    return key


class ProcoreApi(Protocol):
    """What the writer needs of the connector that owns it: its transport and its reads."""

    company_id: str
    base_url: str
    client: httpx.Client
    policy: RetryPolicy
    sleep: Sleep

    def spec(self, entity: str) -> Entity: ...

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: list[tuple[str, Any]] | None = None,
        safe: bool = True,
    ) -> httpx.Response: ...

    def call(
        self, method: str, path: str, *, entity: str | None = None, action: str = "read", **options: Any
    ) -> Any: ...

    def get(self, entity: str, record_id: str, *, scope: Mapping[str, Any] | None = None) -> Record | None: ...

    def read(
        self, entity: str, *, since: str | None = None, scope: Mapping[str, Any] | None = None
    ) -> Iterator[Page]: ...

    def complete(
        self,
        spec: Entity,
        rows: list[Record],
        project_id: int | None,
        cache: dict[Any, dict[Any, list[Record]]] | None = None,
    ) -> list[Record]: ...

    def find_created(
        self, entity: str, idempotency_key: str, *, scope: Mapping[str, Any] | None = None
    ) -> Record | None: ...

    def find_by(self, spec: Entity, filters: Mapping[str, str], scope: Mapping[str, Any] | None) -> Record | None: ...


class ProcoreWriter:
    """Creates, updates, deletes and files for the `ProcoreConnector` that owns it (`api`)."""

    def __init__(self, api: ProcoreApi) -> None:
        self.api = api

    def _writable(self, entity: str, path: str | None) -> Entity:
        spec = self.api.spec(entity)
        if path is None or spec.root is None:
            raise ReadOnlyEntity(
                f"Joist reads Procore {entity} but does not write them",
                system=SYSTEM,
                hint="Point the flow at an entity Joist can write, or change its direction.",
            )
        return spec

    @staticmethod
    def _outgoing(spec: Entity, payload: Record) -> Record:
        fields = {k: v for k, v in payload.items() if k not in READ_ONLY_FIELDS and k not in ("line_items", "items")}
        if spec.name == "line_item_types" and "code" in fields:
            fields["csv_import_code"] = fields.pop("code")  # written as csv_import_code, read back as code
        return fields

    def _project(self, spec: Entity, payload: Record | None, scope: Mapping[str, Any] | None) -> int | None:
        if spec.scope != "project":
            return None
        value = (scope or {}).get("project_id") or (payload or {}).get("project_id")
        if value in (None, ""):
            raise Rejected(
                f"a Procore {spec.name} record needs a project",
                system=SYSTEM,
                hint="Pass scope={'project_id': ...} or map project_id in the rule.",
            )
        return int(value)

    def _body(self, spec: Entity, fields: Record, project_id: int | None, root: str | None = None) -> Record:
        body: Record = {str(root or spec.root): fields}
        if spec.scope_in_body:
            if spec.scope == "company":
                body["company_id"] = int(self.api.company_id)
            elif project_id is not None:
                body["project_id"] = project_id
        for key in ("commitment_id", "contract_id"):
            if key in fields and spec.name in ("requisitions", "prime_contract_payments", "commitment_payments"):
                body[key] = fields[key]
        return body

    def _path(self, template: str, project_id: int | None, record: Record | None = None, **ids: Any) -> str:
        contract = (record or {}).get("prime_contract_id") or ((record or {}).get("contract") or {}).get("id")
        return template.format(company_id=self.api.company_id, project_id=project_id, prime_contract_id=contract, **ids)

    # ---- create -------------------------------------------------------------------------
    def create(
        self,
        entity: str,
        payload: Record,
        *,
        idempotency_key: str,
        scope: Mapping[str, Any] | None = None,
        attachments: Sequence[Attachment] | None = None,
        synced: bool = True,
    ) -> Record:
        """Create once per `idempotency_key` (see the module docstring); `attachments` go as multipart.

        Not `synced` (made from another Procore record): no `origin_id`, which would mark the
        record as an ERP's and freeze it; the key goes in `origin_data` (`KEYED`) instead."""
        spec = self._writable(entity, self.api.spec(entity).create)
        payload = self._with_contract(spec, payload, scope)
        project_id = self._project(spec, payload, scope)
        fields = self._outgoing(spec, payload)
        if spec.origin and not synced:
            fields.pop("origin_id", None)
            fields["origin_data"] = KEYED + idempotency_key
        elif spec.origin:
            if spec.items:
                fields["origin_data"] = PENDING + idempotency_key
            else:
                fields["origin_id"] = origin_value(spec, idempotency_key)
        if payload.get("line_items") and (spec.nested_lines or not spec.lines):
            lines = [dict(li) for li in payload["line_items"]]
            if spec.name == "direct_costs":
                for line in lines:
                    if "amount" in line and "manual_amount" not in line:
                        line["manual_amount"] = line.pop("amount")
            fields["line_items"] = lines
        path = self._path(spec.create, project_id, payload)  # type: ignore[arg-type]
        body = self._body(spec, fields, project_id)
        local_scope = {"project_id": project_id} if project_id else None
        last: ConnectorError | None = None
        for attempt in range(1, self.api.policy.attempts + 1):
            try:
                if attachments:
                    files: list[tuple[str, Any]] = [
                        (k, (None, v.encode()))
                        for k, v in [pair for key, value in body.items() for pair in form_fields(key, value)]
                    ]
                    files += [("attachments[]", (name, content, kind)) for name, content, kind in attachments]
                    response = self.api.send("POST", path, files=files, safe=False)
                else:
                    response = self.api.send("POST", path, json=body, safe=False)
            except Unavailable as exc:
                last = exc
            else:
                if response.status_code in (200, 201):
                    record = self.api.complete(spec, [response.json(parse_float=Decimal)], project_id)[0]
                    return self._finish(spec, record, payload, idempotency_key, project_id)
                error = error_for(response, entity=entity, action="create")
                if not (error.retryable or isinstance(error, OriginIdTaken)):
                    raise error
                last = error
            found = self.api.find_created(entity, idempotency_key, scope=local_scope)
            if found is not None:
                return self._finish(spec, found, payload, idempotency_key, project_id)
            if isinstance(last, OriginIdTaken):
                raise last
            self.api.sleep(self.api.policy.delay(attempt))
        assert last is not None
        raise last

    def _with_contract(self, spec: Entity, payload: Record, scope: Mapping[str, Any] | None) -> Record:
        """A commitment payment that names only the invoice it pays, completed from that invoice.

        Procore posts a payment to its contract (`contract_id`, and the project in the body),
        while a payment recorded in QBO knows only the bill, hence the requisition, it pays:
        the requisition is read for its `commitment_id` and `project_id`."""
        if spec.name != "commitment_payments" or payload.get("contract_id") or not payload.get("requisition_id"):
            return payload
        project_id = (scope or {}).get("project_id") or payload.get("project_id")
        requisition = self.api.get(
            "requisitions", str(payload["requisition_id"]), scope={"project_id": project_id} if project_id else None
        )
        if requisition is None or requisition.get("commitment_id") is None:
            raise NotFound(
                f"Procore has no subcontractor invoice {payload['requisition_id']} for this payment to pay",
                system=SYSTEM,
                status=404,
                element="requisition_id",
                hint="The invoice was deleted in Procore, or requisition_id names another record; "
                "map contract_id in the rule or relink the bill.",
            )
        return {
            **payload,
            "contract_id": requisition["commitment_id"],
            "requisition_id": requisition["id"],
            "project_id": project_id or requisition.get("project_id"),
        }

    def _finish(self, spec: Entity, record: Record, payload: Record, key: str, project_id: int | None) -> Record:
        """Add what one create call cannot carry: contract line items, invoice items, the origin_id last."""
        changed = False
        if spec.lines and not spec.nested_lines and payload.get("line_items") and not record.get("line_items"):
            for line in payload["line_items"]:
                self.api.call(
                    "POST",
                    spec.lines.format(id=record["id"], project_id=project_id),
                    entity=spec.name,
                    action="add a line to",
                    params={"project_id": project_id},
                    json={"line_item": self._outgoing(spec, dict(line))},
                )
            changed = True
        if spec.items and record.get("origin_data") == PENDING + key:
            self._write_items(spec, record, payload.get("items") or [], project_id)
            self.api.call(
                "PATCH",
                self._path(spec.update, project_id, record, id=record["id"]),  # type: ignore[arg-type]
                entity=spec.name,
                action="update",
                json=self._body(spec, {"origin_id": origin_value(spec, key), "origin_data": None}, project_id),
            )
            changed = True
        if changed:
            return (
                self.api.get(spec.name, str(record["id"]), scope={"project_id": project_id} if project_id else None)
                or record
            )
        return record

    def _write_items(self, spec: Entity, record: Record, items: list[Record], project_id: int | None) -> None:
        existing = record.get("items") or record.get("g703") or []
        by_line = {str(i.get("line_item_id") or i.get("item_number")): i for i in existing}
        root = "requisition_item" if spec.name == "requisitions" else "payment_application_line_item"
        for n, item in enumerate(items):
            target = by_line.get(str(item.get("line_item_id") or item.get("item_number"))) or (
                existing[n] if n < len(existing) else None
            )
            if target is None:
                raise Rejected(
                    f"the Procore {spec.name[:-1]} has no item for line {item.get('line_item_id')}",
                    system=SYSTEM,
                    element="items",
                    hint="Map items to the contract's line items.",
                )
            changes = {k: v for k, v in item.items() if k not in ("id", "line_item_id", "item_number")}
            path = str(spec.items).format(
                id=record["id"],
                item_id=target["id"],
                prime_contract_id=(record.get("contract") or {}).get("id"),
            )
            self.api.call(
                "PATCH",
                path,
                entity=spec.name,
                action="update an item of",
                params={"project_id": project_id},
                json={root: changes},
            )

    def find_created(
        self, entity: str, idempotency_key: str, *, scope: Mapping[str, Any] | None = None
    ) -> Record | None:
        """The record a create with this key made, looked up by `filters[origin_id]`."""
        spec = self.api.spec(entity)
        if not spec.origin:
            return None
        found = self.api.find_by(spec, {"filters[origin_id]": str(origin_value(spec, idempotency_key))}, scope)
        if found is None:  # a create in progress (PENDING), or one made without origin_id (KEYED)
            marks = (PENDING + idempotency_key, KEYED + idempotency_key)
            for page in self.api.read(entity, scope=scope):
                for record in page.records:
                    if record.get("origin_data") in marks:
                        return record
        if found is not None and spec.detail:
            return self.api.get(entity, str(found["id"]), scope={"project_id": found.get("project_id")})
        return found

    # ---- update / delete ----------------------------------------------------------------
    def update(
        self,
        entity: str,
        record_id: str,
        payload: Record,
        *,
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record:
        """Sparse PATCH; with `current`, refuse (Conflict) when Procore's copy changed since it was read."""
        spec = self._writable(entity, self.api.spec(entity).update)
        payload = self._with_contract(
            spec,
            payload,
            scope or ({"project_id": current["project_id"]} if current and current.get("project_id") else None),
        )
        project_id = self._project(spec, {**(current or {}), **payload}, scope)
        local_scope = {"project_id": project_id} if project_id else None
        fresh = None
        if current is not None or "{prime_contract_id}" in (spec.update or ""):
            fresh = self.api.get(entity, record_id, scope=local_scope)
            if fresh is None:
                raise NotFound(
                    f"Procore {entity} {record_id} no longer exists",
                    system=SYSTEM,
                    status=404,
                    hint="It was deleted in Procore; the link will be dropped.",
                )
            if current is not None and current.get("updated_at") and fresh.get("updated_at") != current["updated_at"]:
                raise Conflict(
                    f"Procore {entity} {record_id} changed since it was read",
                    system=SYSTEM,
                    hint="Re-read and re-plan; the run does this on its own.",
                    retryable=True,
                )
        fields = self._outgoing(spec, payload)
        if fields:
            path = self._path(spec.update, project_id, fresh, id=record_id)  # type: ignore[arg-type]
            self.api.call(
                "PATCH",
                path,
                entity=entity,
                action="update",
                params={"project_id": project_id},
                json=self._body(spec, fields, project_id, spec.update_root),
            )
        lines_path = str(spec.lines).format(id=record_id, project_id=project_id)
        wanted = payload.get("line_items") or [] if spec.lines else []
        # The lines sent are the record's lines: a line without an id takes the place of the
        # line at its position, and lines past the last one sent are removed.
        had = (
            ((fresh or self.api.get(entity, record_id, scope=local_scope) or {}).get("line_items") or [])
            if wanted
            else []
        )
        for n, line in enumerate(wanted):
            line_fields = self._outgoing(spec, dict(line))
            line_id = line.get("id") or (had[n].get("id") if n < len(had) else None)
            if line_id:
                self.api.call(
                    "PATCH",
                    f"{lines_path}/{line_id}",
                    entity=entity,
                    action="update a line of",
                    params={"project_id": project_id},
                    json={"line_item": line_fields},
                )
            else:
                self.api.call(
                    "POST",
                    lines_path,
                    entity=entity,
                    action="add a line to",
                    params={"project_id": project_id},
                    json={"line_item": line_fields},
                )
        for surplus in had[len(wanted) :]:
            response = self.api.send(
                "DELETE", f"{lines_path}/{surplus['id']}", params={"project_id": project_id} if project_id else None
            )
            if response.status_code >= 400 and response.status_code != 404:
                raise error_for(response, entity=entity, action="remove a line of")
        if spec.items and payload.get("items"):
            self._write_items(
                spec,
                fresh or self.api.get(entity, record_id, scope=local_scope) or {"id": record_id},
                payload["items"],
                project_id,
            )
        result = self.api.get(entity, record_id, scope=local_scope)
        if result is None:
            raise NotFound(f"Procore {entity} {record_id} vanished after the update", system=SYSTEM)
        return result

    def delete(
        self,
        entity: str,
        record_id: str,
        *,
        mode: str = "delete",
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record | None:
        """`delete` removes (soft-deletes where Procore does), `deactivate` clears the active flag,
        `void` sets the void status; returns the changed record, or None once deleted."""
        spec = self.api.spec(entity)
        project_id = self._project(spec, current, scope) if spec.scope == "project" else None
        local_scope = {"project_id": project_id} if project_id else scope
        if mode == "deactivate" and spec.active_field:
            return self.update(entity, record_id, {spec.active_field: False}, current=current, scope=local_scope)
        if mode == "void" and spec.void_status:
            return self.update(entity, record_id, {"status": spec.void_status}, current=current, scope=local_scope)
        if spec.contracts and mode in ("void", "delete"):
            if current is not None and current.get("origin_id"):
                return self._reverse_payment(entity, current, local_scope)
            mode = "delete"  # Procore payments have no void status: one not synced is removed
        if mode != "delete" or spec.delete is None:
            raise ReadOnlyEntity(
                f"Procore {entity} cannot be handled with on_delete: {mode}",
                system=SYSTEM,
                hint="Use on_delete: ignore (or deactivate/void where Procore has them).",
            )
        response = self.api.send(
            "DELETE",
            self._path(spec.delete, project_id, current, id=record_id),
            params={"project_id": project_id} if project_id else None,
        )
        if response.status_code >= 400 and response.status_code != 404:
            raise error_for(response, entity=entity, action="delete")
        return None

    # ---- attachments --------------------------------------------------------------------
    def _reverse_payment(self, entity: str, payment: Record, scope: Mapping[str, Any] | None) -> Record:
        """Void a synced payment, which Procore locks against edits and deletes: a payment of the
        opposite amount on the same contract, invoice and date, so the two net to zero. Its
        `origin_id` derives from the original's, so a retried void never reverses twice."""
        reversal: Record = {
            "contract_id": payment.get("contract_id"),
            "date": payment.get("date"),
            "amount": -Decimal(str(payment.get("amount") or "0")),
            "payment_method": payment.get("payment_method"),
            "notes": f"Void of payment {payment['id']}" + (f": {payment['notes']}" if payment.get("notes") else ""),
        }
        if payment.get("requisition_id"):
            reversal["requisition_id"] = payment["requisition_id"]
        if payment.get("project_id"):
            reversal["project_id"] = payment["project_id"]
        key = f"void:{payment['origin_id']}"
        return self.find_created(entity, key, scope=scope) or self.create(
            entity, {k: v for k, v in reversal.items() if v is not None}, idempotency_key=key, scope=scope
        )

    def attach(
        self,
        entity: str,
        record_id: str,
        files: Sequence[Attachment],
        *,
        scope: Mapping[str, Any] | None = None,
    ) -> Record:
        """Add files to an existing record (multipart `attachments[]`)."""
        spec = self._writable(entity, self.api.spec(entity).update)
        project_id = self._project(spec, None, scope) if spec.scope == "project" else None
        parts: list[tuple[str, Any]] = []
        if spec.scope_in_body and project_id is not None:
            parts.append(("project_id", (None, str(project_id).encode())))
        parts += [("attachments[]", (name, content, kind)) for name, content, kind in files]
        self.api.call(
            "PATCH",
            self._path(str(spec.update), project_id, None, id=record_id),
            entity=entity,
            action="attach files to",
            files=parts,
        )
        return self.api.get(entity, record_id, scope=scope) or {}

    def download(self, url: str) -> bytes:
        """An attachment's bytes. The bearer token goes only to the API host, never to a redirect target."""
        api = urlparse(self.api.base_url)
        target = url
        for _ in range(5):
            here = urlparse(target)
            same = (here.scheme, here.hostname, here.port) == (api.scheme, api.hostname, api.port)
            if same:
                response = self.api.send("GET", target)
            else:
                response = self.api.client.get(target, headers={"Accept": "*/*"})
            if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                target = urljoin(target, response.headers["location"])
                continue
            if response.status_code >= 400:
                raise error_for(response, action="download an attachment")
            return response.content
        raise Unavailable("too many redirects while downloading a Procore attachment", system=SYSTEM)
