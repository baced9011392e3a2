"""Open the connectors of a project's connections.

Tests and the demo hand in `transports` (an in-process `InProcessTransport` per system)
so the very same code path reaches the sandboxes without a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.base import Connector


def open_connector(
    project: Any, system: str, *, transport: httpx.BaseTransport | None = None, **options: Any
) -> Connector:
    """The connector for `system` ("procore" or "qbo") of a loaded `engine.project.config.Project`."""
    conn = project.connection(system)
    credentials = project.credentials(system)
    store = project.token_store()
    key = project.token_key(system)
    if system == "qbo":
        from connectors.qbo.client import BATCHES_PER_MINUTE, QBOConnector

        return QBOConnector(
            conn.base_url,
            conn.account_id,
            credentials,
            store,
            transport=transport,
            token_key=key,
            minor_version=str(conn.get("minor_version", "75")),
            batches_per_minute=float(conn.get("batches_per_minute", BATCHES_PER_MINUTE)),
            **options,
        )
    from connectors.procore.client import ProcoreConnector

    return ProcoreConnector(
        conn.base_url, conn.account_id, credentials, store, transport=transport, token_key=key, **options
    )


def open_connectors(
    project: Any,
    systems: set[str],
    *,
    transports: Mapping[str, httpx.BaseTransport] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Connector]:
    """A connector for each named system."""
    return {
        s: open_connector(project, s, transport=(transports or {}).get(s), **dict((options or {}).get(s, {})))
        for s in sorted(systems)
    }
