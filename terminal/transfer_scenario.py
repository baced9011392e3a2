"""`joist sandbox up --scenario transfer`: seed the transfer firm into both sandboxes, QBO first.

The Procore side needs the QBO ids for the other connector's marks, so the two seeds run
in that order; the sandboxes themselves share nothing but the firm's description.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.procore.transfer_seed import seed_transfer as seed_procore
from sandbox.qbo.transfer_seed import seed_transfer as seed_qbo
from sandbox.transfer_firm import Firm, build_firm


def seed_pair(boxes: Mapping[str, Any], firm: Firm) -> dict[str, dict[str, str]]:
    """Seed `firm` into both sandboxes; the ids of its records on each side, by the firm's keys."""
    qbo_ids = seed_qbo(boxes["qbo"].company(), firm)
    procore_ids = seed_procore(boxes["procore"], firm, qbo_ids)
    return {"procore": procore_ids, "qbo": qbo_ids}


def seed_firm(boxes: Mapping[str, Any], scale: float) -> str:
    """Seed the firm at `scale`; one line saying what was added."""
    firm = build_firm(scale)
    seed_pair(boxes, firm)
    return (
        f"transfer firm added: {len(firm.vendors)} vendors, {len(firm.projects)} projects, "
        f"{len(firm.commitments)} subcontracts ({len(firm.one_sided())} on one side only)"
    )
