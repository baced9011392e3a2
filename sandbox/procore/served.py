"""Which top-level fields the Procore sandbox serves for each resource, written from the API reference.

Procore serialises every attribute of a resource's show/list view, `null` when empty
(shared/reference/procore-api.md §2). This is the emulator's own list, kept apart from
Joist's catalogue (`schemas/catalog/procore.yaml`) so that a wrong entry there is caught by
the sandbox rather than agreed with. Nested objects and lists (`vendor`, `line_items`,
`attachments`...) are built by `render`, and ids written but not served (`vendor_id`,
`wbs_code_id`...) are hidden there; `project_id` is not served by Procore on project-scoped
records (the connector adds it).
"""

from __future__ import annotations

_SERVED: dict[str, str] = {
    "projects": (
        "id name display_name project_number active stage address city state_code country_code zip county "
        "time_zone latitude longitude phone start_date completion_date total_value estimated_value "
        "accounting_project_number store_number parent_job_id is_demo origin_id origin_data origin_code "
        "created_at updated_at "
    ),
    "sub_jobs": ("id name code origin_id origin_data created_at updated_at "),
    "vendors": (
        "id name abbreviated_name company legal_name trade_name business_phone mobile_phone fax_number "
        "email_address website address city state_code zip country_code is_active is_connected "
        "authorized_bidder prequalified union_member license_number notes business_id children_count "
        "synced_to_erp origin_id origin_data origin_code created_at updated_at "
    ),
    "users": (
        "id name first_name last_name email_address job_title business_phone mobile_phone address city "
        "state_code zip country_code is_active is_employee employee_id verified_employee "
        "erp_integrated_accountant work_classification_id origin_id origin_data created_at updated_at "
    ),
    "people": (
        "id first_name last_name is_employee employee_id user_id work_classification_id origin_id created_at "
        "updated_at "
    ),
    "departments": ("id name origin_id origin_data created_at updated_at "),
    "cost_codes": (
        "id code full_code name sortable_code position standard_cost_code_id biller biller_id biller_type "
        "biller_origin_id budgeted origin_id origin_data created_at updated_at deleted_at "
    ),
    "line_item_types": ("id name code base_type origin_id origin_data created_at updated_at "),
    "wbs_codes": ("id flat_code flat_name description status wbs_pattern_id created_at updated_at "),
    "tax_codes": ("id code description rate1 archived origin_id origin_data created_at updated_at "),
    "tax_types": ("id name description origin_id origin_data created_at updated_at "),
    "prime_contracts": (
        "id number title description status executed private accounting_method retainage_percent grand_total "
        "line_items_total line_items_extended_total approved_change_orders draft_change_orders_amount "
        "pending_change_orders_amount pending_revised_contract_amount revised_contract_amount "
        "owner_invoices_amount total_payments outstanding_balance percentage_paid contract_date "
        "contract_start_date contract_estimated_completion_date execution_date substantial_completion_date "
        "allow_payment_applications allow_payments origin_id origin_data origin_code created_at updated_at "
        "deleted_at "
    ),
    "prime_change_orders": (
        "id contract_id batch_id number title description status executed paid grand_total "
        "schedule_impact_amount reviewed_at due_date change_order_change_reason origin_id origin_data "
        "origin_code created_at updated_at "
    ),
    "commitment_change_orders": (
        "id contract_id batch_id number title description status executed paid grand_total "
        "schedule_impact_amount reviewed_at due_date change_order_change_reason origin_id origin_data "
        "origin_code created_at updated_at "
    ),
    "payment_applications": (
        "id number invoice_number billing_date period_start period_end period_id status percent_complete "
        "total_amount_accrued_this_period total_amount_paid formatted_contract_company description_type "
        "origin_id origin_data created_at updated_at "
    ),
    "work_order_contracts": (
        "id number code type title description status executed private accounting_method retainage_percent "
        "grand_total revised_contract approved_change_orders pending_change_orders pending_revised_contract "
        "draft_change_orders_amount total_payments total_requisitions_amount total_draw_requests_amount "
        "remaining_balance_outstanding percentage_paid requisitions_are_enabled contract_date "
        "contract_start_date contract_estimated_completion_date actual_completion_date execution_date "
        "issued_on_date signed_contract_received_date letter_of_intent_date returned_date "
        "approval_letter_date origin_id origin_data origin_code created_at updated_at deleted_at "
    ),
    "purchase_order_contracts": (
        "id number code type title description status executed private accounting_method retainage_percent "
        "grand_total revised_contract approved_change_orders pending_change_orders pending_revised_contract "
        "draft_change_orders_amount total_payments total_requisitions_amount total_draw_requests_amount "
        "remaining_balance_outstanding percentage_paid requisitions_are_enabled contract_date "
        "contract_start_date contract_estimated_completion_date actual_completion_date execution_date "
        "issued_on_date signed_contract_received_date letter_of_intent_date returned_date "
        "approval_letter_date origin_id origin_data origin_code created_at updated_at deleted_at "
    ),
    "requisitions": (
        "id number invoice_number commitment_id commitment_type contract_name vendor_name vendor_id period_id "
        "requisition_start requisition_end billing_date payment_date submitted_at status erp_status final "
        "percent_complete total_claimed_amount deletable previous_requisition_id invoice_type comment "
        "origin_id origin_data created_at updated_at "
    ),
    "contract_payments": (
        "id contract_id requisition_id date amount check_number invoice_number invoice_date payment_number "
        "draw_request_number payment_method notes status origin_id origin_data origin_code created_at "
        "updated_at "
    ),
    "direct_costs": (
        "id direct_cost_type status invoice_number direct_cost_date received_date payment_date terms "
        "description vendor_id vendor_name employee_id amount grand_total line_items_count attachments_count "
        "origin_id origin_data created_at updated_at deleted_at "
    ),
    "timesheets": ("id date number name status created_at updated_at deleted_at "),
    "timecard_entries": (
        "id date datetime hours lunch_time time_in time_out billable description approval_status signed "
        "injured line_item_type_id origin_id origin_data created_at updated_at "
    ),
}

SERVED_FIELDS: dict[str, tuple[str, ...]] = {name: tuple(text.split()) for name, text in _SERVED.items()}
