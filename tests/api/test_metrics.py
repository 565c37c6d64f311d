"""/metrics on its own listener, parsed with prometheus_client's parser, and /health?full=1
(issue 12), against a served Hearth."""

from __future__ import annotations

import http.client
import json
import urllib.request

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from appliance.config import Settings
from appliance.context import build
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, free_port, insecure_context, roomy_config
from tests.support.waiting import eventually

MESSAGES_ROUTE = "/api/v1/chats/<int:chat_id>/messages"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metrics")
    config = roomy_config(folder)
    raw = yaml.safe_load(config.read_text())
    raw["metrics"] = {"enabled": True, "host": "127.0.0.1", "port": free_port()}
    config.write_text(yaml.safe_dump(raw))
    with HearthServer(config) as server:
        yield server, raw["metrics"]["port"]


def scrape(port: int) -> dict[str, list]:
    """Every sample, by sample name (a histogram gives _bucket, _count and _sum)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list], name: str, **labels: str) -> float:
    found = [
        s.value
        for s in samples.get(name, [])
        if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(found)


async def test_metrics_move_when_people_send_and_connect(served):
    server, port = served
    people = ServedPeople(server)
    try:
        before = scrape(port)
        ada, bob = await people("ada", "bob")
        chat = await ada.direct(bob)
        for n in range(3):
            await ada.send(chat["id"], f"counted {n}")
        socket = await bob.connect()
        after = scrape(port)
        assert value(after, "hearth_messages_stored") == value(before, "hearth_messages_stored") + 3
        assert value(after, "hearth_accounts") == value(before, "hearth_accounts") + 2
        assert value(after, "hearth_websocket_connections") >= 1
        assert value(after, "hearth_people_online") >= 1
        sends = value(after, "hearth_http_request_duration_seconds_count",
                      route=MESSAGES_ROUTE, method="POST")  # fmt: skip
        assert sends - value(before, "hearth_http_request_duration_seconds_count",
                             route=MESSAGES_ROUTE, method="POST") == 3  # fmt: skip
        routes = {s.labels["route"] for s in after["hearth_http_request_duration_seconds_count"]}
        assert not any(f"/{chat['id']}/" in route for route in routes), routes  # templates
        assert value(after, "process_resident_memory_bytes") > 10_000_000
        assert value(after, "process_open_fds") > 0
        assert value(after, "process_cpu_seconds_total") > 0
        await eventually(
            lambda: value(scrape(port), "hearth_event_loop_lag_seconds_count") > 0,
            timeout=10,
            what="an event-loop lag sample",
        )
        await socket.close()
        await eventually(
            lambda: (
                value(scrape(port), "hearth_websocket_connections")
                < value(after, "hearth_websocket_connections")
            ),
            what="the closed socket to leave the gauge",
        )
        assert "hearth_call_participants" in after and "hearth_calls_active" in after
        # The SFU's forwarding totals (they move in tests/sfu/test_sfu.py): no call here.
        assert [s.value for s in after["hearth_sfu_forwarded_packets_total"]] == [0]
        assert [s.value for s in after["hearth_sfu_forwarded_bytes_total"]] == [0]
    finally:
        await people.close()


def test_metrics_are_not_on_the_app_and_other_paths_are_404(served):
    server, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/v1/me")
    assert connection.getresponse().status == 404
    connection.close()
    https = http.client.HTTPSConnection("127.0.0.1", server.port, context=insecure_context())
    https.request("GET", "/metrics")
    response = https.getresponse()
    assert b"hearth_messages_stored" not in response.read()
    https.close()


def test_metrics_are_off_by_default(tmp_path):
    hearth = build(Settings(data_dir=tmp_path / "data"))  # built, not started
    assert hearth.metrics is None


def test_health_full_checks_database_and_disk(served):
    server, _ = served
    with urllib.request.urlopen(f"{server.url}/health?full=1", context=insecure_context()) as r:
        body = json.loads(r.read())
    assert body == {"status": "ok", "database": "ok", "disk": "ok"}
    with urllib.request.urlopen(f"{server.url}/health", context=insecure_context()) as r:
        assert json.loads(r.read()) == {"status": "ok"}
