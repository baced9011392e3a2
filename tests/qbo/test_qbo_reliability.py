"""With 10% of calls failing (429, 500, connections dropped before or after the write ran),
a 200-record write run completes and every record is there exactly once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from connectors.qbo.client import BatchOp, QBOConnector
from connectors.qbo.query import Where
from sandbox.qbo.app import QBOSandbox

FAULTS = dict(
    error_rate=0.03,
    throttle_rate=0.03,
    drop_before_rate=0.02,
    drop_after_rate=0.02,
    path_pattern="^/v3/",
    seed=20261201,
)


def names_of(qbo: QBOConnector, prefix: str) -> Counter:
    rows = qbo.find("Customer", Where().raw(f"DisplayName LIKE '{prefix}%'"), include_inactive=True)
    return Counter(r["DisplayName"] for r in rows)


def test_two_hundred_creates_and_updates_under_faults(box: QBOSandbox, qbo: QBOConnector) -> None:
    box.control.set_faults(**FAULTS)
    created = {}
    for n in range(200):
        record = qbo.create(
            "Customer", {"DisplayName": f"Flaky {n:03d}", "Notes": "v1"}, idempotency_key=f"run-1:customer:{n}"
        )
        created[n] = record["Id"]
    for n in range(0, 200, 4):
        qbo.update("Customer", created[n], {"Notes": "v2"})
    faults = Counter(e.fault for e in box.control.log.entries if e.fault)
    assert sum(faults.values()) >= 15 and set(faults) == {"error", "throttle", "drop_before", "drop_after"}
    box.control.set_faults()
    counts = names_of(qbo, "Flaky ")
    assert len(counts) == 200 and set(counts.values()) == {1}
    notes = {r["Id"]: r.get("Notes") for r in qbo.find("Customer", Where().raw("DisplayName LIKE 'Flaky %'"))}
    assert all(notes[created[n]] == ("v2" if n % 4 == 0 else "v1") for n in range(200))


def test_two_hundred_records_through_batches_under_faults(box: QBOSandbox, qbo: QBOConnector) -> None:
    # Seven batch calls would rarely meet a 10% fault, so batches get a harsher mix here.
    box.control.set_faults(
        error_rate=0.05, throttle_rate=0.05, drop_before_rate=0.05, drop_after_rate=0.25, path_pattern="/batch$", seed=7
    )
    qbo.policy.attempts = 10
    ops = [
        BatchOp("create", "Customer", {"DisplayName": f"Batched {n:03d}", "Balance": Decimal("0")}) for n in range(200)
    ]
    results = qbo.batch(ops)
    assert all(r.ok for r in results)
    assert any(e.fault == "drop_after" and e.path.endswith("/batch") for e in box.control.log.entries)
    box.control.set_faults()
    counts = names_of(qbo, "Batched ")
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_retry_after_drop_before_body_is_not_remembered(box: QBOSandbox, qbo: QBOConnector) -> None:
    box.control.set_faults(drop_before_rate=1.0, path_pattern="/customer$")
    try:
        qbo.create("Customer", {"DisplayName": "Cut Off"}, idempotency_key="cut-1")
    except Exception as exc:  # the connector gives up after its attempts
        assert type(exc).__name__ == "QBOUnavailable"
    box.control.set_faults()
    assert not box.store.realms[qbo.realm_id].requestids
    made = qbo.create("Customer", {"DisplayName": "Cut Off"}, idempotency_key="cut-1")
    assert names_of(qbo, "Cut Off") == Counter({"Cut Off": 1}) and made["DisplayName"] == "Cut Off"
