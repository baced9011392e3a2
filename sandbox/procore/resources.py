"""What the Procore sandbox knows about each resource: scope, body root, types, rules.

One `Resource` per table. The type sets drive both input coercion (money and quantities
parsed to `Decimal`, malformed dates stored as null the way Procore does) and output
(money as Rails-style decimal strings, quantities as JSON numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TITLE_STATUSES = ("Draft", "Out For Bid", "Out For Signature", "Approved", "Complete", "Terminated")
COMMITMENT_STATUSES = TITLE_STATUSES + ("Void",)
INVOICE_STATUSES = ("draft", "under_review", "revise_and_resubmit", "approved")
REQUISITION_STATUSES = INVOICE_STATUSES + ("approved_as_noted", "pending_owner_approval")
DIRECT_COST_TYPES = ("invoice", "expense", "payroll", "subcontractor_invoice")
DIRECT_COST_STATUSES = ("draft", "pending", "revise_and_resubmit", "approved")
CHANGE_ORDER_STATUSES = (
    "draft",
    "not_pricing",
    "pricing",
    "pending",
    "revised",
    "proceeding",
    "not_proceeding",
    "no_charge",
    "approved",
    "rejected",
    "void",
)
LINE_ITEM_BASE_TYPES = ("equipment", "materials", "commitment", "owner_cost", "professional_services", "other", "labor")

ORIGIN = ("origin_id", "origin_data", "origin_code")


@dataclass(frozen=True)
class Resource:
    """One Procore resource as the sandbox stores and serves it."""

    name: str
    scope: str  # "company" or "project"
    root: str  # body root key on create/update
    webhook: str | None = None  # webhook resource_name
    money: frozenset[str] = frozenset()  # Decimal, served as a string
    numbers: frozenset[str] = frozenset()  # Decimal, served as a JSON number
    dates: frozenset[str] = frozenset()  # YYYY-MM-DD; malformed -> null
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    defaults: dict[str, object] = field(default_factory=dict)
    lock_on_origin: bool = False  # a record with origin_id is immutable
    active_field: str | None = None  # lists hide rows where this is false
    soft_delete: bool = False  # DELETE sets deleted_at; include_deleted filter
    holder_type: str | None = None  # line items hang off this holder type
    has_origin: bool = True


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


LINE_MONEY = _f("amount", "tax_amount")
LINE_NUMBERS = _f("quantity", "unit_cost", "total_amount", "extended_amount")

COMMITMENT_MONEY = _f(
    "retainage_percent",
    "grand_total",
    "revised_contract",
    "approved_change_orders",
    "pending_change_orders",
    "pending_revised_contract",
    "draft_change_orders_amount",
    "total_payments",
    "total_requisitions_amount",
    "total_draw_requests_amount",
    "remaining_balance_outstanding",
    "percentage_paid",
)
COMMITMENT_DATES = _f(
    "contract_date",
    "contract_start_date",
    "contract_estimated_completion_date",
    "actual_completion_date",
    "execution_date",
    "issued_on_date",
    "signed_contract_received_date",
    "letter_of_intent_date",
    "returned_date",
)

ITEM_MONEY = _f(
    "scheduled_value",
    "work_completed_from_previous_application",
    "work_completed_this_period",
    "materials_presently_stored",
    "total_completed_and_stored_to_date",
    "total_completed_and_stored_to_date_percent",
    "balance_to_finish",
    "work_completed_retainage_from_previous_application",
    "work_completed_retainage_retained_this_period",
    "work_completed_retainage_percent_this_period",
    "work_completed_retainage_released_this_period",
    "work_completed_retainage_currently_retained",
    "materials_stored_retainage_currently_retained",
    "materials_stored_retainage_percent_this_period",
    "materials_stored_retainage_released_this_period",
    "total_retainage_currently_retained",
    "net_amount",
    "gross_amount",
)


def _commitment(name: str, root: str, webhook: str, holder: str) -> Resource:
    return Resource(
        name,
        "project",
        root,
        webhook,
        money=COMMITMENT_MONEY,
        dates=COMMITMENT_DATES,
        enums={"status": COMMITMENT_STATUSES, "accounting_method": ("amount", "unit")},
        required=("title",),
        defaults={
            "status": "Draft",
            "executed": False,
            "private": False,
            "accounting_method": "amount",
            "retainage_percent": "0",
            "requisitions_are_enabled": True,
        },
        soft_delete=True,
        holder_type=holder,
    )


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in [
        Resource(
            "projects",
            "company",
            "project",
            "Projects",
            numbers=_f("total_value", "estimated_value", "latitude", "longitude"),
            dates=_f("start_date", "completion_date"),
            required=("name",),
            defaults={
                "active": True,
                "stage": "Course of Construction",
                "time_zone": "US/Pacific",
                "country_code": "US",
                "is_demo": False,
            },
            active_field="active",
        ),
        Resource("sub_jobs", "project", "sub_job", "Sub Jobs", required=("name",)),
        Resource(
            "vendors",
            "company",
            "vendor",
            "Company Vendors",
            required=("name",),
            defaults={
                "is_active": True,
                "is_connected": False,
                "authorized_bidder": False,
                "prequalified": False,
                "union_member": False,
                "synced_to_erp": False,
                "country_code": "US",
            },
            active_field="is_active",
        ),
        Resource(
            "users",
            "company",
            "user",
            "Company Users",
            required=("last_name",),
            defaults={
                "is_active": True,
                "is_employee": False,
                "verified_employee": False,
                "erp_integrated_accountant": False,
            },
            active_field="is_active",
        ),
        Resource("people", "company", "person", None, required=("last_name",), defaults={"is_employee": True}),
        Resource("departments", "company", "department", "Departments", required=("name",)),
        Resource(
            "cost_codes",
            "project",
            "cost_code",
            "Cost Codes",
            required=("code", "name"),
            defaults={"budgeted": False, "biller_type": "Project"},
        ),
        Resource(
            "line_item_types",
            "company",
            "line_item_type",
            "Line Item Types",
            required=("name",),
            enums={"base_type": LINE_ITEM_BASE_TYPES},
        ),
        Resource(
            "wbs_codes",
            "project",
            "wbs_code",
            None,
            has_origin=False,
            defaults={"status": "active"},
            enums={"status": ("active", "inactive")},
        ),
        Resource(
            "tax_codes",
            "company",
            "tax_code",
            None,
            numbers=_f("rate1"),
            required=("code",),
            defaults={"archived": False},
        ),
        Resource("tax_types", "company", "tax_type", None, required=("name",)),
        Resource(
            "prime_contracts",
            "project",
            "prime_contract",
            "Prime Contracts",
            money=_f(
                "retainage_percent",
                "grand_total",
                "line_items_total",
                "line_items_extended_total",
                "approved_change_orders",
                "draft_change_orders_amount",
                "pending_change_orders_amount",
                "pending_revised_contract_amount",
                "revised_contract_amount",
                "owner_invoices_amount",
                "total_payments",
                "outstanding_balance",
                "percentage_paid",
            ),
            dates=_f(
                "contract_date",
                "contract_start_date",
                "contract_estimated_completion_date",
                "execution_date",
                "signed_contract_received_date",
                "substantial_completion_date",
            ),
            enums={"status": TITLE_STATUSES, "accounting_method": ("amount", "unit")},
            required=("title",),
            defaults={
                "status": "Draft",
                "executed": False,
                "private": False,
                "accounting_method": "amount",
                "retainage_percent": "0",
                "allow_payment_applications": True,
                "allow_payments": True,
            },
            soft_delete=True,
            holder_type="PrimeContract",
        ),
        Resource(
            "prime_change_orders",
            "project",
            "prime_change_order",
            "Change Order Packages",
            money=_f("grand_total"),
            dates=_f("due_date"),
            enums={"status": CHANGE_ORDER_STATUSES},
            required=("contract_id",),
            defaults={"status": "draft", "executed": False, "paid": False},
            holder_type="PrimeChangeOrder",
        ),
        Resource(
            "commitment_change_orders",
            "project",
            "commitment_change_order",
            "Change Order Packages",
            money=_f("grand_total"),
            dates=_f("due_date"),
            enums={"status": CHANGE_ORDER_STATUSES},
            required=("contract_id",),
            defaults={"status": "draft", "executed": False, "paid": False},
            holder_type="CommitmentChangeOrder",
        ),
        Resource(
            "payment_applications",
            "project",
            "payment_application",
            "Payment Applications",
            money=_f("percent_complete", "total_amount_accrued_this_period", "total_amount_paid"),
            dates=_f("billing_date", "period_start", "period_end"),
            enums={"status": INVOICE_STATUSES},
            defaults={"status": "draft", "description_type": "automatic"},
            lock_on_origin=True,
        ),
        _commitment("work_order_contracts", "work_order_contract", "Work Order Contracts", "WorkOrderContract"),
        _commitment(
            "purchase_order_contracts", "purchase_order_contract", "Purchase Order Contracts", "PurchaseOrderContract"
        ),
        Resource(
            "requisitions",
            "project",
            "requisition",
            "Requisitions",
            money=_f("total_claimed_amount"),
            dates=_f("requisition_start", "requisition_end", "billing_date", "payment_date"),
            enums={"status": REQUISITION_STATUSES},
            required=("commitment_id",),
            defaults={"status": "draft", "final": False, "invoice_type": "progress"},
            lock_on_origin=True,
        ),
        Resource(
            "contract_payments",
            "project",
            "contract_payment",
            "Contract Payments",
            money=_f("amount"),
            dates=_f("date", "invoice_date"),
            enums={"payment_method": ("check", "credit_card", "electronic")},
            required=("contract_id", "amount"),
            defaults={"status": "paid"},
            lock_on_origin=True,
        ),
        Resource(
            "direct_costs",
            "project",
            "item",
            "Direct Costs",
            money=_f("amount", "grand_total"),
            dates=_f("direct_cost_date", "received_date", "payment_date"),
            enums={"direct_cost_type": DIRECT_COST_TYPES, "status": DIRECT_COST_STATUSES},
            required=("direct_cost_type", "direct_cost_date"),
            defaults={"status": "draft"},
            lock_on_origin=True,
            soft_delete=True,
            holder_type="DirectCost",
        ),
        Resource(
            "timesheets",
            "project",
            "timesheet",
            None,
            dates=_f("date"),
            soft_delete=True,
            defaults={"status": "pending"},
            has_origin=False,
        ),
        Resource(
            "timecard_entries",
            "project",
            "timecard_entry",
            "Timecard Entries",
            money=_f("hours"),
            dates=_f("date"),
            required=("hours",),
            defaults={"billable": True, "approval_status": "pending", "signed": False, "injured": False},
        ),
        Resource(
            "line_items",
            "project",
            "line_item",
            None,
            money=LINE_MONEY,
            numbers=LINE_NUMBERS,
            enums={"extended_type": ("manual", "calculated")},
            defaults={"extended_type": "manual"},
        ),
        Resource("attachments", "company", "attachment", None, has_origin=False),
    ]
}

#: Resource name -> the webhook resource name of its line items.
LINE_ITEM_WEBHOOKS = {
    "PrimeContract": "Prime Contract Line Items",
    "WorkOrderContract": "Work Order Contract Line Items",
    "PurchaseOrderContract": "Purchase Order Contract Line Items",
    "DirectCost": "Direct Cost Line Items",
}
