"""Fidelity checks 4 and 6: rate limits (server and client pacing) and sync actions."""

from __future__ import annotations

import math
from typing import Any

import httpx

from sandbox.procore.access import RATE_SENTENCE
from sandbox.procore.app import create_sandbox
from sandbox.transport import InProcessTransport


def limited_box(**options) -> Any:
    box = create_sandbox(deliver_webhooks=False, spike_limit=5, spike_window=10.0, **options)
    clock = box.control.clock
    clock.set(math.floor(clock.now() / 10) * 10 + 1000)  # start at the top of a spike window
    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710")
    headers = {"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    return box, client, headers


def test_every_response_carries_rate_headers_and_the_spike_limit_answers_429() -> None:
    box, client, headers = limited_box()
    now = box.control.clock.now()
    remaining = []
    for _ in range(5):
        answer = client.get("/rest/v1.0/me", headers=headers)
        assert answer.status_code == 200
        assert answer.headers["X-Rate-Limit-Limit"] == "5"
        assert (
            int(answer.headers["X-Rate-Limit-Reset"]) == math.ceil(now / 10) * 10
            or int(answer.headers["X-Rate-Limit-Reset"]) > now
        )
        remaining.append(int(answer.headers["X-Rate-Limit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = client.get("/rest/v1.0/me", headers=headers)
    assert refused.status_code == 429 and refused.text == RATE_SENTENCE
    assert refused.headers["X-Rate-Limit-Remaining"] == "0" and int(refused.headers["Retry-After"]) >= 1
    box.control.clock.set(int(refused.headers["X-Rate-Limit-Reset"]))
    assert client.get("/rest/v1.0/me", headers=headers).status_code == 200
    # a failed auth still reports rate headers
    assert "X-Rate-Limit-Limit" in client.get("/rest/v1.0/me").headers


def test_the_hourly_budget_is_reported_once_it_is_the_tighter_one() -> None:
    box = create_sandbox(deliver_webhooks=False, hourly_limit=6, spike_limit=5)
    clock = box.control.clock
    clock.set(math.floor(clock.now() / 3600) * 3600 + 100)
    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710")
    headers = {"Authorization": f"Bearer {box.access_token()}"}
    first = client.get("/rest/v1.0/me", headers=headers)
    assert first.headers["X-Rate-Limit-Limit"] == "5"  # spike: 4/5 left vs hourly 5/6
    clock.advance(10)
    for _ in range(4):
        last = client.get("/rest/v1.0/me", headers=headers)
    assert last.headers["X-Rate-Limit-Limit"] == "6" and last.headers["X-Rate-Limit-Remaining"] == "1"
    client.get("/rest/v1.0/me", headers=headers)
    clock.advance(10)
    over = client.get("/rest/v1.0/me", headers=headers)
    assert over.status_code == 429 and int(over.headers["X-Rate-Limit-Reset"]) % 3600 == 0


def test_the_connector_sleeps_until_reset_instead_of_hammering(new_connector: Any, box: Any, read_all: Any) -> None:
    box.limiter.spike_limit = 4
    clock = box.control.clock
    clock.set(math.floor(clock.now() / 10) * 10 + 1000)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    connector = new_connector(sleep=sleep, per_page=1)
    vendors = read_all(connector, "vendors")
    assert len(vendors) == 8
    statuses = [e.status for e in box.control.log.entries if e.path.startswith("/rest/")]
    assert 429 not in statuses  # paced by X-Rate-Limit-Remaining, never refused
    pauses = [s for s in slept if s > 1]
    assert len(statuses) == 8  # seven active vendors one per page, then the inactive list
    assert len(pauses) == 1 and 9 < pauses[0] <= 10  # 4 requests per 10-second window


def test_the_connector_honours_retry_after_on_an_unexpected_429(new_connector: Any, box: Any, read_all: Any) -> None:
    clock = box.control.clock
    slept: list[float] = []
    connector = new_connector(sleep=lambda s: (slept.append(s), clock.advance(s)))
    box.control.set_faults(throttle_rate=1.0, path_pattern="/rest/v1.0/departments")
    original = box.control._draw
    calls = {"n": 0}

    def draw_twice(path: str) -> Any:
        if "/departments" in path and calls["n"] < 2:
            calls["n"] += 1
            return "throttle"
        return None

    box.control._draw = draw_twice  # type: ignore[method-assign]
    try:
        assert len(read_all(connector, "departments")) == 2
    finally:
        box.control._draw = original  # type: ignore[method-assign]
    assert slept[:2] == [1.0, 1.0]


def test_vendor_sync_upserts_by_origin_id_and_reports_errors(raw: Any) -> None:
    vendors = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company))
    raw.send(
        "PATCH",
        f"/rest/v1.0/vendors/{vendors[0]['id']}",
        {"company_id": raw.company, "vendor": {"origin_id": "existing"}},
    )
    answer = raw.send(
        "PATCH",
        "/rest/v1.0/vendors/sync",
        {
            "company_id": raw.company,
            "updates": [
                {"origin_id": "new", "name": "Brand New Vendor"},
                {"origin_id": "existing", "name": "X"},
                {"id": 999999},
            ],
        },
    )
    body = raw.data(answer)
    assert answer.status_code == 200 and len(body["entities"]) == 2 and len(body["errors"]) == 1
    created, updated = body["entities"]
    assert created["origin_id"] == "new" and created["name"] == "Brand New Vendor"
    assert updated["id"] == vendors[0]["id"] and updated["name"] == "X" and updated["origin_id"] == "existing"
    assert body["errors"][0]["id"] == 999999 and "id" in body["errors"][0]["errors"]
    again = raw.data(
        raw.send(
            "PATCH",
            "/rest/v1.0/vendors/sync",
            {"company_id": raw.company, "updates": [{"origin_id": "new", "name": "Renamed"}]},
        )
    )
    assert again["entities"][0]["id"] == created["id"] and again["entities"][0]["name"] == "Renamed"
    matching = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company, **{"filters[origin_id]": "new"}))
    assert len(matching) == 1


def test_sync_refuses_more_than_1000_updates_and_post_refuses_a_taken_origin_id(raw: Any) -> None:
    too_many = raw.send(
        "PATCH",
        "/rest/v1.0/vendors/sync",
        {"company_id": raw.company, "updates": [{"name": f"v{n}"} for n in range(1001)]},
    )
    assert too_many.status_code == 413
    first = raw.send(
        "POST", "/rest/v1.0/vendors", {"company_id": raw.company, "vendor": {"name": "A", "origin_id": "o-1"}}
    )
    assert first.status_code == 201
    second = raw.send(
        "POST", "/rest/v1.0/vendors", {"company_id": raw.company, "vendor": {"name": "B", "origin_id": "o-1"}}
    )
    assert second.status_code == 422 and second.json()["errors"]["origin_id"] == ["has already been taken"]
