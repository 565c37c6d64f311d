"""/metrics: Prometheus text, written with prometheus_client, on a plain-HTTP listener of its
own (`metrics.host`:`metrics.port`, loopback by default) so it is never public by accident.

Everything lives in one registry made here (no import-time globals). What the process knows
live (connections, people online, calls) is read at scrape time by a collector; what the
database knows (messages, files) is refreshed just before each scrape; request latency is
observed per route template (`/api/v1/chats/<int:chat_id>/messages`, never a raw path, so the
number of series stays bounded); event-loop lag is sampled twice a second. Only loaded when
metrics are enabled, which keeps an idle Hearth without them smaller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from appliance.context import Hearth

log = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 0.5
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
MAX_REQUEST_BYTES = 8192


class _Live(Collector):
    """Read at scrape time from the objects that know: the hub and the calls."""

    def __init__(self, hearth: Hearth) -> None:
        self._hearth = hearth

    def collect(self) -> Iterator[Metric]:
        connections, people = self._hearth.hub.registry.counts()
        calls = self._hearth.calls.book.calls()
        # The SFU (and aiortc) load with the first call that sends media: zero until then.
        sfu = self._hearth.calls.media.sfu
        packets, octets = (0, 0) if sfu is None else (sfu.forwarded.packets, sfu.forwarded.octets)
        yield GaugeMetricFamily(
            "hearth_websocket_connections", "Open WebSocket connections.", value=connections
        )
        yield GaugeMetricFamily(
            "hearth_people_online", "People with at least one open connection.", value=people
        )
        yield GaugeMetricFamily("hearth_calls_active", "Calls ringing or going on.", len(calls))
        yield GaugeMetricFamily(
            "hearth_call_participants",
            "People in a call now.",
            value=sum(len(call.participants) for call in calls),
        )
        yield CounterMetricFamily(
            "hearth_sfu_forwarded_packets",
            "RTP packets the SFU forwarded to subscribers (retransmissions not counted).",
            value=packets,
        )
        yield CounterMetricFamily(
            "hearth_sfu_forwarded_bytes",
            "Bytes of RTP the SFU forwarded to subscribers, before SRTP.",
            value=octets,
        )


class Metrics:
    def __init__(self, hearth: Hearth) -> None:
        self._hearth = hearth
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, RSS, open fds, start time
        self.registry.register(_Live(hearth))
        self.requests = Histogram(
            "hearth_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "hearth_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 0.5 s).",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.messages = Gauge(
            "hearth_messages_stored", "Messages in the database.", registry=self.registry
        )
        self.users = Gauge("hearth_accounts", "Accounts, disabled ones included.",
                           registry=self.registry)  # fmt: skip
        self.files = Gauge("hearth_files_stored", "Uploaded files.", registry=self.registry)
        self.file_bytes = Gauge(
            "hearth_files_stored_bytes", "Bytes of uploaded files.", registry=self.registry
        )
        self._server: asyncio.Server | None = None
        self._lag_task: asyncio.Task[None] | None = None

    def observe_request(self, route: str, method: str, seconds: float) -> None:
        self.requests.labels(route, method).observe(seconds)

    async def render(self) -> bytes:
        totals = await self._hearth.health.totals()
        self.messages.set(totals.messages)
        self.users.set(totals.users)
        self.files.set(totals.files)
        self.file_bytes.set(totals.file_bytes)
        return generate_latest(self.registry)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self._hearth.config.metrics
        self._server = await asyncio.start_server(self._answer, settings.host, settings.port)
        self._lag_task = asyncio.create_task(self._sample_lag(), name="metrics-loop-lag")
        log.info("metrics at http://%s:%d/metrics", settings.host, settings.port)

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _sample_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
            self.loop_lag.observe(max(0.0, loop.time() - before - LAG_INTERVAL_SECONDS))

    # --- the listener: one GET /metrics per connection ----------------------------------------

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
                method, path = _request_line(head)
                if method != "GET":
                    await _reply(writer, 405, b"only GET\n", "text/plain")
                elif path.split("?", 1)[0] != "/metrics":
                    await _reply(writer, 404, b"not found: try /metrics\n", "text/plain")
                else:
                    await _reply(writer, 200, await self.render(), CONTENT_TYPE_LATEST)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError, ValueError):  # fmt: skip
            pass  # a scraper that went away or spoke nonsense: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _request_line(head: bytes) -> tuple[str, str]:
    if len(head) > MAX_REQUEST_BYTES:
        raise ValueError("request too large")
    method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    return method, path


async def _reply(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str) -> None:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
        + body
    )
    await writer.drain()
