"""The demo company's Procore tax codes in each region (`joist sandbox up --region`).

The US company keeps the seed's TX8 (Alameda County sales tax, 9.25%) and EXEMPT. Elsewhere
TX8 becomes the region's standard code, so the seeded lines that carry it are taxed as the
region taxes them, and the region's other codes follow (after every other seeded record, so
no other id moves). Procore keeps one rate per code (`rate1`): a combined code (GST/PST BC)
carries the sum of its parts. Under the UK's construction-industry domestic reverse charge
the subcontractor charges no VAT (the contractor accounts for it in its own books), so
RC-CIS is 0% in Procore.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.procore.resources import RESOURCES

# region -> (TX8's description and rate, further codes as (code, description, rate))
REGION_TAX: dict[str, tuple[tuple[str, str], tuple[tuple[str, str, str], ...]]] = {
    "US": (("Sales tax 9.25% (Alameda County)", "9.25"), ()),
    "AU": (("GST 10%", "10"), ()),
    "CA": (
        ("HST 13% (Ontario)", "13"),
        (
            ("GST", "GST 5% (Alberta and the territories)", "5"),
            ("GSTPST-BC", "GST 5% + PST 7% (British Columbia)", "12"),
            ("HST-NS", "HST 15% (Nova Scotia)", "15"),
            ("GSTQST-QC", "GST 5% + QST 9.975% (Quebec)", "14.975"),
        ),
    ),
    "UK": (
        ("VAT 20% (standard rate)", "20"),
        (
            ("VAT5", "VAT 5% (reduced rate)", "5"),
            ("VAT0", "VAT 0% (zero rate)", "0"),
            ("RC-CIS", "Domestic reverse charge (CIS): the contractor accounts for the VAT", "0"),
        ),
    ),
}


def seed_region_tax(box: Any, region: str) -> None:
    """Make the seeded company's tax codes those of `region` (US: left as seeded)."""
    if region == "US":
        return
    (description, rate), more = REGION_TAX[region]
    store = box.store
    resource = RESOURCES["tax_codes"]
    for row in store.rows("tax_codes"):
        if row["code"] == "TX8":
            store.update(resource, row, {"description": description, "rate1": Decimal(rate)})
    for code, text, percent in more:
        store.insert(
            resource, {"code": code, "description": text, "rate1": Decimal(percent)}, company_id=box.company_id
        )
