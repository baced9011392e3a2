"""Joist's Procore connector: `ProcoreConnector` (REST v1.x over httpx)."""

from connectors.procore.client import ProcoreConnector

__all__ = ["ProcoreConnector"]
