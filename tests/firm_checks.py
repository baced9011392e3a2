"""What an onboarded transfer firm must look like afterwards (the CLI test and the benchmark share it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.onboarding.marks import name_key
from sandbox.transfer_firm import Firm

LINK_SETS = {"vendors": "vendors", "projects": "projects", "commitments": "commitments"}
ENTITIES = {
    "vendors": ("vendors", "Vendor"),
    "projects": ("projects", "Customer"),
    "commitments": ("work_order_contracts", "PurchaseOrder"),
}


def _names(conn: Any, entity: str) -> list[str]:
    out = []
    for page in conn.read(entity):
        for r in page.records:
            if conn.is_deleted(entity, r):
                continue
            if entity == "vendors":
                out.append(name_key(r.get("name")))
            elif entity == "projects":
                out.append(f"{r.get('project_number')} {name_key(r.get('name'))}")
            elif entity == "work_order_contracts":
                out.append(f"{r.get('project', {}).get('id') or r.get('project_id')} {str(r.get('number')).casefold()}")
            elif entity == "Vendor":
                out.append(name_key(r.get("DisplayName")))
            elif entity == "Customer":
                out.append(name_key(r.get("DisplayName")))
            else:
                out.append(str(r.get("DocNumber") or r["Id"]).casefold())
    return out


def duplicates(connectors: Mapping[str, Any]) -> dict[str, list[str]]:
    """Names (or numbers) held by more than one record, per entity on each side."""
    found: dict[str, list[str]] = {}
    for procore_entity, qbo_entity in ENTITIES.values():
        for system, entity in (("procore", procore_entity), ("qbo", qbo_entity)):
            counts = Counter(_names(connectors[system], entity))
            twice = sorted(n for n, k in counts.items() if k > 1)
            if twice:
                found[f"{system} {entity}"] = twice
    return found


def unlinked_pairs(state: Any, firm: Firm, ids: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Pre-existing pairs of the firm not linked to each other."""
    wrong = []
    for kind, records in (("vendors", firm.vendors), ("projects", firm.projects), ("commitments", firm.commitments)):
        for r in records:
            if r.side != "both":
                continue
            link = state.find_link(LINK_SETS[kind], procore_id=ids["procore"][r.key])
            if link is None or link.qbo_id != ids["qbo"][r.key]:
                wrong.append(f"{kind} {r.key}")
    return wrong


def one_sided_missing(state: Any, firm: Firm, ids: Mapping[str, Mapping[str, str]]) -> list[str]:
    """One-sided records of the firm that have no twin (linked) on the other side."""
    missing = []
    for r in firm.one_sided():
        kind = "vendors" if r.key.startswith("v") else "projects" if r.key.startswith("p") else "commitments"
        side = r.side
        link = state.find_link(LINK_SETS[kind], **{f"{side}_id": ids[side][r.key]})
        other = "qbo" if side == "procore" else "procore"
        if link is None or getattr(link, f"{other}_id") is None:
            missing.append(f"{kind} {r.key} ({side} only)")
    return missing


def truth_pairs(firm: Firm, ids: Mapping[str, Mapping[str, str]]) -> set[tuple[str, str, str]]:
    """(link set, procore id, qbo id) of every pair the firm holds."""
    out = set()
    for kind, records in (("vendors", firm.vendors), ("projects", firm.projects), ("commitments", firm.commitments)):
        for r in records:
            if r.side == "both":
                out.add((LINK_SETS[kind], ids["procore"][r.key], ids["qbo"][r.key]))
    return out


def lift_batch_pacing(project_dir: Path) -> None:
    """Let the project send QBO batch requests as fast as it likes: the tests' QBO sandbox has
    QBO's 40 batch requests a minute off (`batch_per_minute`), and the benchmark keeps it."""
    path = project_dir / "joist.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\n  qbo:\n" in text
    path.write_text(text.replace("\n  qbo:\n", "\n  qbo:\n    batches_per_minute: 100000\n", 1), encoding="utf-8")


#: Sandbox options of the full-size onboarding tests: every rate limit lifted (the benchmark keeps them).
LIFTED_LIMITS = {
    "procore": {"deliver_webhooks": False, "spike_limit": None, "hourly_limit": 10**9},
    "qbo": {"rate_per_minute": 100_000},
}
