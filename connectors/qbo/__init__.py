"""The QuickBooks Online connector: `QBOConnector` (client), OAuth (auth), queries and
webhook parsing (query), typed errors (errors), entity facts (entities), Decimal JSON (wire).
"""

from connectors.qbo.client import BatchOp, BatchResult, QBOConnector

__all__ = ["BatchOp", "BatchResult", "QBOConnector"]
