"""What both reconciliations (contracts and invoices; job cost) share: exact amounts,
whole reads of an entity, and figures held side by side."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.base import Connector, Record

ZERO = Decimal("0")
CENT = Decimal("0.01")


def amount(value: Any) -> Decimal:
    """A money value as Decimal; missing or empty counts as zero."""
    if value is None or value == "":
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    """Rounded half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """`1,234.50` for a table."""
    return f"{value:,.2f}"


def read_all(connector: Connector, entity: str) -> list[Record]:
    """Every record of an entity, all pages."""
    return [r for page in connector.read(entity) for r in page.records]


class SideBySide:
    """A figure as Procore and QBO each have it (`procore` and `qbo` attributes)."""

    procore: Decimal
    qbo: Decimal

    @property
    def difference(self) -> Decimal:
        """QBO less Procore."""
        return self.qbo - self.procore

    @property
    def equal(self) -> bool:
        return self.difference == 0
