"""What the handlers and the demo seed need of a Procore sandbox, as a protocol.

`app.ProcoreSandbox` satisfies `Box`; `handlers`, `extras` and `seed` are typed against
this protocol instead of importing `app`, so the modules import one way (app → routes →
extras → handlers → box) with no cycle.
"""

from __future__ import annotations

from typing import Protocol

from sandbox.control import SandboxControl
from sandbox.procore.billing import BillingRenderer
from sandbox.procore.store import Store
from sandbox.procore.webhooks import Webhooks


class Box(Protocol):
    """The parts of one Procore sandbox its request handlers and the demo seed use."""

    store: Store
    control: SandboxControl
    company_id: int
    demo_user_id: int
    installed_companies: set[int]
    storage_key: bytes
    deliver_webhooks: bool
    webhooks: Webhooks

    def renderer_for(self, base_url: str) -> BillingRenderer:
        """The renderer that serves records with links under `base_url`."""
        ...

    def webhook_resources(self) -> tuple[str, ...]:
        """The resource names webhook triggers may name."""
        ...
