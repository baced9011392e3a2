"""The service's metrics that need no running service: 429 answers are counted per host."""

from __future__ import annotations

import httpx

from connectors.http import THROTTLED, RetryPolicy, send_with_retries
from serve.metrics import Metrics


def test_throttled_answers_are_counted_by_host_in_metrics() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={})])
    client = httpx.Client(transport=httpx.MockTransport(lambda request: next(answers)))
    before = THROTTLED.snapshot().get("throttle.example", 0)
    request = client.build_request("GET", "https://throttle.example/v3/company/1/query")
    response = send_with_retries(
        client, request, safe_to_retry=True, policy=RetryPolicy(attempts=3), sleep=lambda s: None
    )
    assert response.status_code == 200
    assert THROTTLED.snapshot()["throttle.example"] == before + 1
    text = Metrics().text().decode()
    assert f'joist_throttled_responses_total{{host="throttle.example"}} {before + 1}.0' in text
