"""A construction firm that has used another Procore-QBO connector for a year (`--scenario transfer`).

Both sandboxes render the same firm from this description, each into its own store
(`sandbox/procore/transfer_seed.py`, `sandbox/qbo/transfer_seed.py`). At scale 1: 500
Procore vendors, 200 projects, 2,000 open (approved) subcontracts; 480 vendors, 180
projects (QBO sub-customers) and 1,960 subcontracts (QBO purchase orders, same amounts)
exist on both sides; half of those pairs carry the other connector's mark (the QBO id in
the Procore record's `origin_id`), and on a tenth the QBO name or number differs in case,
punctuation or a legal suffix. 100 records are on one side only: 20 vendors, 20 projects
and 40 subcontracts only in Procore, 20 vendors only in QBO. Everything is deterministic,
so the truth (which records are pairs) is known to whoever builds the firm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

FIRST = (
    "Granite",
    "Summit",
    "Cedar",
    "Iron",
    "Harbor",
    "Maple",
    "Pioneer",
    "Redwood",
    "Silver",
    "Stone",
    "Valley",
    "Willow",
    "Eagle",
    "Falcon",
    "Golden",
    "Lakeside",
    "Northern",
    "Oak",
    "Pacific",
    "Prairie",
    "River",
    "Sierra",
    "Coastal",
    "Bridge",
    "Canyon",
    "Delta",
    "Evergreen",
    "Frontier",
    "Highland",
    "Keystone",
)
SECOND = ("Peak", "Ridge", "Creek", "Point", "Bay", "Crest", "Field", "Grove", "Hill", "Rock")
TRADES = (
    "Concrete",
    "Electric",
    "Plumbing",
    "Drywall",
    "Roofing",
    "Framing",
    "Masonry",
    "Painting",
    "Glazing",
    "Excavation",
    "Steel",
    "Insulation",
    "Flooring",
    "Landscaping",
    "Mechanical",
)
PLACES = (
    "Clinic",
    "Library",
    "Warehouse",
    "School",
    "Townhomes",
    "Office Park",
    "Fire Station",
    "Parking Garage",
    "Community Center",
    "Hotel",
    "Lofts",
    "Retail Center",
    "Data Center",
    "Transit Hub",
    "Senior Living",
)
COUNTS = {"vendors": (480, 20, 20), "projects": (180, 20, 0), "commitments": (1960, 40, 0)}  # both, procore, qbo


@dataclass
class FirmRecord:
    """One record of the firm: its key, name on each side, and where it exists."""

    key: str
    procore_name: str
    qbo_name: str
    side: str  # both | procore | qbo
    marked: bool = False  # the other connector's mark (Procore origin_id = the QBO id)
    project: str = ""  # commitments: the project's key
    vendor: str = ""  # commitments: the vendor's key
    amount: Decimal = Decimal("0")
    email: str = ""


@dataclass
class Firm:
    vendors: list[FirmRecord] = field(default_factory=list)
    projects: list[FirmRecord] = field(default_factory=list)
    commitments: list[FirmRecord] = field(default_factory=list)

    def one_sided(self) -> list[FirmRecord]:
        return [r for rs in (self.vendors, self.projects, self.commitments) for r in rs if r.side != "both"]


def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale)) if n else 0


def _variant(name: str, index: int) -> str:
    """How the other connector (or a person) spelled the name in QBO on a tenth of the records."""
    if index % 10 != 1:
        return name
    kind = (index // 10) % 3
    if kind == 0:
        return name.upper()
    if kind == 1:
        return name + ", Inc."
    return name.replace(" ", "-", 1) + "."


def _sides(kind: str, scale: float) -> list[str]:
    both, procore, qbo = (_scaled(n, scale) for n in COUNTS[kind])
    return ["both"] * both + ["procore"] * procore + ["qbo"] * qbo


def build_firm(scale: float = 1.0) -> Firm:
    """The firm at `scale` (1.0: the sizes in the module docstring)."""
    firm = Firm()
    for i, side in enumerate(_sides("vendors", scale)):
        name = f"{FIRST[i % 30]} {SECOND[(i // 30) % 10]} {TRADES[(i // 300 + i) % 15]}"
        slug = name.lower().replace(" ", "-")
        firm.vendors.append(
            FirmRecord(
                f"v{i}", name, _variant(name, i), side, side == "both" and i % 2 == 0, email=f"ap@{slug}.example"
            )
        )
    for i, side in enumerate(_sides("projects", scale)):
        number = f"F-{1001 + i}"
        name = f"{FIRST[(i * 7) % 30]} {PLACES[i % 15]}"
        qbo = f"{number} {name.lower()}" if i % 10 == 1 else f"{number} {name}"
        firm.projects.append(FirmRecord(f"p{i}", f"{number} {name}", qbo, side, side == "both" and i % 2 == 0))
    paired_projects = [p for p in firm.projects if p.side == "both"]
    paired_vendors = [v for v in firm.vendors if v.side == "both"]
    for i, side in enumerate(_sides("commitments", scale)):
        number = f"SC-{10001 + i}"
        project = paired_projects[i % len(paired_projects)]
        vendor = paired_vendors[(i * 13) % len(paired_vendors)]
        amount = Decimal(5000 + (i * 7919) % 250000) + Decimal(i % 100) / 100
        qbo = number.lower() if i % 10 == 1 else number
        firm.commitments.append(
            FirmRecord(f"c{i}", number, qbo, side, side == "both" and i % 2 == 0, project.key, vendor.key, amount)
        )
    return firm


def project_number(record: FirmRecord) -> str:
    """The project number (the first word of the project's Procore name)."""
    return record.procore_name.split(" ", 1)[0]
