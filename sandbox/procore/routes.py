"""The Procore sandbox's URL map: every REST path the sandbox serves, and its handler.

Paths are spelled as Procore spells them, singular/plural quirks included
(`/prime_contract/{id}` to show, `/prime_contracts` to list), with the version each
resource lives at. Numeric path parameters only match digits, so `/vendors/sync` never
reads as a record id.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.procore.extras import Extras
from sandbox.procore.handlers import View

Handler = Callable[..., Awaitable[Any]]
NUMERIC = {"id", "holder_id", "bill_id", "hook_id", "project_id", "company_id", "prime_contract_id"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    view: View
    company: bool = True  # needs the Procore-Company-Id header


def _compile(path: str) -> re.Pattern[str]:
    def param(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>\\d+)" if name in NUMERIC else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", param, path) + "$")


def build_routes(h: Extras) -> list[Route]:
    """Every route, most specific first."""
    routes: list[Route] = []

    def add(method: str, path: str, handler: Handler, view: View | None = None, company: bool = True) -> None:
        routes.append(Route(method, _compile(path), handler, view or View(""), company))

    def resource(
        name: str,
        lists: list[str],
        item: str | None = None,
        create: str | None = None,
        sync: str | None = None,
        methods: str = "GPD",
        **options: Any,
    ) -> None:
        view = View(name, **options)
        if sync:
            add("PATCH", sync, h.sync, view)
        for path in lists:
            add("GET", path, h.list, view)
        if create:
            add("POST", create, h.create, view)
        if item:
            if "G" in methods:
                add("GET", item, h.show, view)
            if "P" in methods:
                add("PATCH", item, h.update, view)
                add("PUT", item, h.update, view)
            if "D" in methods:
                add("DELETE", item, h.delete, view)

    def lines(base: str, holder_type: str) -> None:
        view = View("line_items", fixed=(("holder_type", holder_type),))
        add("GET", f"{base}/{{holder_id}}/line_items", h.lines, view)
        add("POST", f"{base}/{{holder_id}}/line_items", h.create_line, view)
        add("GET", f"{base}/{{holder_id}}/line_items/{{id}}", h.show_line, view)
        add("PATCH", f"{base}/{{holder_id}}/line_items/{{id}}", h.update_line, view)
        add("DELETE", f"{base}/{{holder_id}}/line_items/{{id}}", h.delete_line, view)

    v1 = "/rest/v1.0"
    add("GET", f"{v1}/companies", h.companies, company=False)
    add("GET", f"{v1}/me", h.me, company=False)

    resource(
        "projects",
        [f"{v1}/projects", "/rest/v1.1/projects"],
        f"{v1}/projects/{{id}}",
        f"{v1}/projects",
        f"{v1}/projects/sync",
        methods="GP",
        company_param=True,
    )
    resource("projects", [f"{v1}/companies/{{company_id}}/projects"])
    resource("vendors", [f"{v1}/companies/{{company_id}}/vendors/inactive"], inactive_only=True)
    resource(
        "vendors",
        [f"{v1}/vendors"],
        f"{v1}/vendors/{{id}}",
        f"{v1}/vendors",
        f"{v1}/vendors/sync",
        methods="GP",
        company_param=True,
    )
    for minor in ("1", "2", "3"):
        resource(
            "users",
            [f"/rest/v1.{minor}/companies/{{company_id}}/users"],
            f"/rest/v1.{minor}/companies/{{company_id}}/users/{{id}}",
            f"/rest/v1.{minor}/companies/{{company_id}}/users",
            f"/rest/v1.{minor}/companies/{{company_id}}/users/sync",
            methods="GP",
        )
    resource("users", [f"{v1}/companies/{{company_id}}/users/inactive"], inactive_only=True)
    resource(
        "users",
        [f"{v1}/companies/{{company_id}}/users"],
        f"{v1}/companies/{{company_id}}/users/{{id}}",
        f"{v1}/companies/{{company_id}}/users",
        f"{v1}/companies/{{company_id}}/users/sync",
        methods="GP",
    )
    resource("users", [f"{v1}/users"], f"{v1}/users/{{id}}", methods="G", company_param=True)
    resource(
        "people",
        [f"{v1}/companies/{{company_id}}/people"],
        f"{v1}/companies/{{company_id}}/people/{{id}}",
        f"{v1}/companies/{{company_id}}/people",
        methods="GP",
    )
    resource("departments", [f"{v1}/departments"], f"{v1}/departments/{{id}}", f"{v1}/departments", company_param=True)
    resource(
        "line_item_types",
        [f"{v1}/line_item_types"],
        f"{v1}/line_item_types/{{id}}",
        f"{v1}/line_item_types",
        f"{v1}/line_item_types/sync",
        methods="GP",
    )
    resource(
        "tax_codes",
        [f"{v1}/tax_codes"],
        f"{v1}/tax_codes/{{id}}",
        f"{v1}/tax_codes",
        f"{v1}/tax_codes/sync",
        methods="GP",
        company_param=True,
    )
    resource(
        "tax_types",
        [f"{v1}/tax_types"],
        f"{v1}/tax_types/{{id}}",
        f"{v1}/tax_types",
        f"{v1}/tax_types/sync",
        company_param=True,
    )
    resource(
        "sub_jobs", [f"{v1}/sub_jobs"], f"{v1}/sub_jobs/{{id}}", f"{v1}/sub_jobs", f"{v1}/sub_jobs/sync", methods="GP"
    )
    resource("cost_codes", [f"{v1}/cost_codes"], f"{v1}/cost_codes/{{id}}", f"{v1}/cost_codes", f"{v1}/cost_codes/sync")
    wbs = f"{v1}/projects/{{project_id}}/work_breakdown_structure/wbs_codes"
    resource("wbs_codes", [wbs], f"{wbs}/{{id}}", wbs, methods="GP")

    resource("prime_contracts", [f"{v1}/prime_contracts"], f"{v1}/prime_contract/{{id}}", f"{v1}/prime_contract")
    lines(f"{v1}/prime_contracts", "PrimeContract")
    for kind, holder in (
        ("prime_change_orders", "PrimeChangeOrder"),
        ("commitment_change_orders", "CommitmentChangeOrder"),
    ):
        base = f"{v1}/projects/{{project_id}}/{kind}"
        resource(kind, [base], f"{base}/{{id}}", base)
        lines(base, holder)
    pc_apps = f"{v1}/prime_contracts/{{prime_contract_id}}/payment_applications"
    app_view = View("payment_applications", match=(("prime_contract_id", "prime_contract_id"),), per_page=30)
    add("GET", pc_apps, h.list, app_view)
    add("POST", pc_apps, h.create, app_view)
    add("PATCH", f"{pc_apps}/{{id}}", h.update, app_view)
    add(
        "PATCH",
        f"{v1}/prime_contracts/{{prime_contract_id}}/payment_application_line_items/{{id}}",
        h.update_bill_item,
        View("payment_applications"),
    )
    add("GET", f"{v1}/payment_applications/{{bill_id}}/line_items", h.bill_items, View("payment_applications"))
    resource("payment_applications", [f"{v1}/payment_applications"], f"{v1}/payment_applications/{{id}}", methods="GD")
    resource(
        "contract_payments",
        [f"{v1}/contract_payments"],
        f"{v1}/contract_payments/{{id}}",
        f"{v1}/contract_payments",
        query_filters=("contract_id",),
    )
    for kind, holder in (
        ("work_order_contracts", "WorkOrderContract"),
        ("purchase_order_contracts", "PurchaseOrderContract"),
    ):
        resource(kind, [f"{v1}/{kind}"], f"{v1}/{kind}/{{id}}", f"{v1}/{kind}", f"{v1}/{kind}/sync")
        lines(f"{v1}/{kind}", holder)
    requisitions = View("requisitions")
    add("GET", f"{v1}/requisitions/{{bill_id}}/contract_items", h.bill_items, requisitions)
    add("PATCH", f"{v1}/requisitions/{{bill_id}}/contract_items/{{id}}", h.update_bill_item, requisitions)
    resource("requisitions", ["/rest/v1.1/requisitions"], view="extended")
    resource("requisitions", [f"{v1}/requisitions"], f"{v1}/requisitions/{{id}}", f"{v1}/requisitions")
    for version, root in (("v1.0", "item"), ("v1.1", "direct_cost")):
        base = f"/rest/{version}/projects/{{project_id}}/direct_costs"
        add("GET", f"{base}/line_items", h.project_lines, View("line_items", fixed=(("holder_type", "DirectCost"),)))
        resource("direct_costs", [base], f"{base}/{{id}}", base, f"{base}/sync", roots=(root,))
    lines(f"{v1}/projects/{{project_id}}/direct_costs", "DirectCost")
    resource(
        "timecard_entries",
        [f"{v1}/projects/{{project_id}}/timecard_entries", f"{v1}/timecard_entries"],
        f"{v1}/projects/{{project_id}}/timecard_entries/{{id}}",
        f"{v1}/projects/{{project_id}}/timecard_entries",
        window="day",
    )
    resource("timecard_entries", [f"{v1}/companies/{{company_id}}/timecard_entries"], company_wide=True, window="day")
    resource(
        "timesheets",
        [f"{v1}/projects/{{project_id}}/timesheets"],
        f"{v1}/projects/{{project_id}}/timesheets/{{id}}",
        f"{v1}/projects/{{project_id}}/timesheets",
        methods="GP",
        window="week",
    )
    resource("timesheets", [f"{v1}/companies/{{company_id}}/timesheets"], company_wide=True, window="week")
    add("GET", f"{v1}/attachments/{{id}}/download", h.download)

    hooks = f"{v1}/webhooks/hooks"
    add("GET", f"{v1}/webhooks/resources", h.resources)
    add("GET", hooks, h.hooks)
    add("POST", hooks, h.create_hook)
    add("GET", f"{hooks}/{{id}}", h.show_hook)
    add("PATCH", f"{hooks}/{{id}}", h.update_hook)
    add("DELETE", f"{hooks}/{{id}}", h.delete_hook)
    add("GET", f"{hooks}/{{hook_id}}/triggers", h.triggers)
    add("POST", f"{hooks}/{{hook_id}}/triggers", h.create_trigger)
    add("DELETE", f"{hooks}/{{hook_id}}/triggers/{{id}}", h.delete_trigger)
    add("GET", f"{hooks}/{{hook_id}}/deliveries", h.deliveries)
    return routes
