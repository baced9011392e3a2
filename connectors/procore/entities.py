"""Where each Procore entity lives in the REST API, and how Joist reads and writes it.

Paths are templates over `{company_id}`, `{project_id}` and `{id}`; the quirks are kept
here, in one table, rather than spread through the client: singular `/prime_contract/{id}`,
direct costs created through v1.1 (nested line items, root `direct_cost`) but edited through
v1.0 (root `item`), requisitions listed through v1.1 with their items, payments as
`contract_payments` split by the kind of contract, timecards read per date range, cost
types written with `csv_import_code` and read back as `code`.

Field types come from the entity catalogue (`schemas/catalog/procore.yaml`): every field
typed `decimal` is handed to the engine as a `Decimal`, whatever Procore sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from schemas import catalog_entities

Record = dict[str, Any]
V1 = "/rest/v1.0"


@dataclass(frozen=True)
class Entity:
    """How one catalogue entity maps onto Procore's REST paths."""

    name: str
    scope: str  # "global" | "company" | "project"
    list: str
    show: str | None = None
    create: str | None = None
    update: str | None = None
    delete: str | None = None
    root: str | None = None  # body root key for create/update
    update_root: str | None = None
    list_params: dict[str, str] = field(default_factory=dict)
    extra_lists: tuple[str, ...] = ()  # more lists to read whole (inactive rows)
    origin: str | None = "string"  # "string" | "integer" | None (no origin_id)
    incremental: bool = True  # supports filters[updated_at]
    lines: str | None = None  # line items of one record
    orders: str | None = None  # a contract's change orders (served on its show view only)
    bulk_lines: str | None = None  # all line items of a project (read in bulk when many)
    nested_lines: bool = False  # line items go inside the create body
    detail: bool = False  # list view lacks fields: read each record's show
    dated: bool = False  # list needs start_date/end_date
    company_list: bool = False  # a project entity read through one company-wide list
    contracts: tuple[str, ...] = ()  # contract_payments: which contract lists own these
    items: str | None = None  # invoice items, updated one by one after create
    active_field: str | None = None
    void_status: str | None = None
    scope_in_body: bool = True  # send company_id/project_id beside the root


def _company(name: str, path: str, root: str | None, *, writable: bool = True, **options: Any) -> Entity:
    base = f"{V1}/{path}"
    return Entity(
        name,
        "company",
        base,
        f"{base}/{{id}}",
        base if writable else None,
        f"{base}/{{id}}" if writable else None,
        options.pop("delete", None),
        root,
        list_params={"company_id": "{company_id}"},
        **options,
    )


def _project(name: str, path: str, root: str, *, item: str | None = None, **options: Any) -> Entity:
    base = f"{V1}/{path}"
    item = item or f"{base}/{{id}}"
    return Entity(
        name,
        "project",
        base,
        item,
        options.pop("create", base),
        options.pop("update", item),
        options.pop("delete", item),
        root,
        list_params=options.pop("list_params", {"project_id": "{project_id}"}),
        **options,
    )


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity("companies", "global", f"{V1}/companies", origin=None, incremental=False),
        Entity(
            "projects",
            "company",
            f"{V1}/projects",
            f"{V1}/projects/{{id}}",
            f"{V1}/projects",
            f"{V1}/projects/{{id}}",
            None,
            "project",
            list_params={"company_id": "{company_id}", "filters[by_status]": "All"},
            active_field="active",
        ),
        _company(
            "vendors",
            "vendors",
            "vendor",
            extra_lists=(f"{V1}/companies/{{company_id}}/vendors/inactive",),
            active_field="is_active",
        ),
        Entity(
            "users",
            "company",
            "/rest/v1.3/companies/{company_id}/users",
            "/rest/v1.3/companies/{company_id}/users/{id}",
            "/rest/v1.3/companies/{company_id}/users",
            "/rest/v1.3/companies/{company_id}/users/{id}",
            None,
            "user",
            extra_lists=(f"{V1}/companies/{{company_id}}/users/inactive",),
            active_field="is_active",
            scope_in_body=False,
        ),
        Entity(
            "people",
            "company",
            f"{V1}/companies/{{company_id}}/people",
            f"{V1}/companies/{{company_id}}/people/{{id}}",
            f"{V1}/companies/{{company_id}}/people",  # create only (qbo_employees_to_people)
            root="person",
            scope_in_body=False,
        ),
        _company("departments", "departments", "department", delete=f"{V1}/departments/{{id}}"),
        _company("line_item_types", "line_item_types", "line_item_type"),
        _company("tax_codes", "tax_codes", "tax_code", origin="string"),
        _company("tax_types", "tax_types", "tax_type", delete=f"{V1}/tax_types/{{id}}"),
        _project("sub_jobs", "sub_jobs", "sub_job", delete=None),
        _project("cost_codes", "cost_codes", "cost_code"),
        Entity(
            "wbs_codes",
            "project",
            f"{V1}/projects/{{project_id}}/work_breakdown_structure/wbs_codes",
            f"{V1}/projects/{{project_id}}/work_breakdown_structure/wbs_codes/{{id}}",
            origin=None,
        ),
        _project(
            "prime_contracts",
            "prime_contracts",
            "prime_contract",
            item=f"{V1}/prime_contract/{{id}}",
            create=f"{V1}/prime_contract",
            lines=f"{V1}/prime_contracts/{{id}}/line_items",
            orders=f"{V1}/projects/{{project_id}}/prime_change_orders",
            void_status="Terminated",
        ),
        _project(
            "prime_change_orders",
            "projects/{project_id}/prime_change_orders",
            "prime_change_order",
            list_params={},
            scope_in_body=False,
        ),
        _project(
            "commitment_change_orders",
            "projects/{project_id}/commitment_change_orders",
            "commitment_change_order",
            list_params={},
            scope_in_body=False,
        ),
        _project(
            "payment_applications",
            "payment_applications",
            "payment_application",
            create=f"{V1}/prime_contracts/{{prime_contract_id}}/payment_applications",
            update=f"{V1}/prime_contracts/{{prime_contract_id}}/payment_applications/{{id}}",
            detail=True,
            items=f"{V1}/prime_contracts/{{prime_contract_id}}/payment_application_line_items/{{item_id}}",
        ),
        _project("prime_contract_payments", "contract_payments", "contract_payment", contracts=("prime_contracts",)),
        _project(
            "work_order_contracts",
            "work_order_contracts",
            "work_order_contract",
            lines=f"{V1}/work_order_contracts/{{id}}/line_items",
            orders=f"{V1}/projects/{{project_id}}/commitment_change_orders",
            void_status="Void",
        ),
        _project(
            "purchase_order_contracts",
            "purchase_order_contracts",
            "purchase_order_contract",
            lines=f"{V1}/purchase_order_contracts/{{id}}/line_items",
            orders=f"{V1}/projects/{{project_id}}/commitment_change_orders",
            void_status="Void",
        ),
        Entity(
            "requisitions",
            "project",
            "/rest/v1.1/requisitions",
            f"{V1}/requisitions/{{id}}",
            f"{V1}/requisitions",
            f"{V1}/requisitions/{{id}}",
            f"{V1}/requisitions/{{id}}",
            "requisition",
            list_params={"project_id": "{project_id}", "view": "extended"},
            items=f"{V1}/requisitions/{{id}}/contract_items/{{item_id}}",
        ),
        _project(
            "commitment_payments",
            "contract_payments",
            "contract_payment",
            contracts=("work_order_contracts", "purchase_order_contracts"),
        ),
        Entity(
            "direct_costs",
            "project",
            f"{V1}/projects/{{project_id}}/direct_costs",
            f"{V1}/projects/{{project_id}}/direct_costs/{{id}}",
            "/rest/v1.1/projects/{project_id}/direct_costs",
            f"{V1}/projects/{{project_id}}/direct_costs/{{id}}",
            f"{V1}/projects/{{project_id}}/direct_costs/{{id}}",
            "direct_cost",
            update_root="item",
            bulk_lines=f"{V1}/projects/{{project_id}}/direct_costs/line_items",
            lines=f"{V1}/projects/{{project_id}}/direct_costs/{{id}}/line_items",
            nested_lines=True,
            scope_in_body=False,
        ),
        Entity(
            "timecard_entries",
            "project",
            f"{V1}/projects/{{project_id}}/timecard_entries",
            f"{V1}/projects/{{project_id}}/timecard_entries/{{id}}",
            f"{V1}/projects/{{project_id}}/timecard_entries",
            f"{V1}/projects/{{project_id}}/timecard_entries/{{id}}",
            f"{V1}/projects/{{project_id}}/timecard_entries/{{id}}",
            "timecard_entry",
            origin="integer",
            dated=True,
            company_list=True,
            scope_in_body=False,
        ),
        # read-only: timesheets have no origin_id, so a create could not be made idempotent
        Entity(
            "timesheets",
            "project",
            f"{V1}/projects/{{project_id}}/timesheets",
            f"{V1}/projects/{{project_id}}/timesheets/{{id}}",
            origin=None,
            dated=True,
            company_list=True,
        ),
    ]
}

#: Company-wide lists of project entities (one call instead of one per project).
COMPANY_LISTS = {
    "timecard_entries": f"{V1}/companies/{{company_id}}/timecard_entries",
    "timesheets": f"{V1}/companies/{{company_id}}/timesheets",
}

#: Webhook resource names -> catalogue entity names.
WEBHOOK_ENTITIES = {
    "Projects": "projects",
    "Company Vendors": "vendors",
    "Company Users": "users",
    "Departments": "departments",
    "Line Item Types": "line_item_types",
    "Cost Codes": "cost_codes",
    "Sub Jobs": "sub_jobs",
    "Prime Contracts": "prime_contracts",
    "Prime Contract Line Items": "prime_contracts",
    "Work Order Contracts": "work_order_contracts",
    "Work Order Contract Line Items": "work_order_contracts",
    "Purchase Order Contracts": "purchase_order_contracts",
    "Purchase Order Contract Line Items": "purchase_order_contracts",
    "Payment Applications": "payment_applications",
    "Contract Payments": "contract_payments",
    "Direct Costs": "direct_costs",
    "Direct Cost Line Items": "direct_costs",
    "Requisitions": "requisitions",
    "Timecard Entries": "timecard_entries",
}


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    """The Procore entity catalogue (field types per entity)."""
    return catalog_entities("procore")


def _to_decimal(value: Any) -> Any:
    if value is None or isinstance(value, (Decimal, bool)):
        return value
    if isinstance(value, (int, str)):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return value
    return value


def typed(value: Any, shape: Any) -> Any:
    """`value` with every field the catalogue types `decimal` turned into a Decimal."""
    if shape == "decimal":
        return _to_decimal(value)
    if isinstance(shape, dict) and isinstance(value, dict):
        return {k: typed(v, shape[k]) if k in shape else v for k, v in value.items()}
    if isinstance(shape, list) and shape and isinstance(value, list):
        return [typed(v, shape[0]) for v in value]
    return value
