"""Chat benchmark: send-to-delivery latency to online members, and stored messages per second.

Starts a real `hearth serve` on loopback ports (temporary data folder, bcrypt cost 4, mDNS and
calls off, rate limits raised out of the way), signs users up over HTTPS, then runs two phases
with WebSocket clients on /api/v1/ws (`Authorization: Bearer`, `hello` first):

1. fanout: G groups of M members, every member online. S senders per group send R messages/s
   between them (paced, open loop: a slow server does not slow the sender) for D seconds. Every
   other member's connection timestamps each `message.created`; latency is that arrival minus
   the sender's clock read just before writing the frame. The sender's `result` frame gives the
   ack time. All client processes use time.time_ns(), so times compare across processes.
2. throughput: K senders, each in a group of its own (the other members offline), keep W sends
   in flight for T seconds. Acks come after commit (protocol), so acked sends/s = stored
   messages/s; afterwards the stored messages are counted over REST (GET /chats/{id}/messages).

The server process's CPU (utime+stime, /proc/PID/stat) and RSS (VmRSS) are sampled all along,
and so is the whole machine's busy time (/proc/stat); each client process measures its own CPU
and event-loop lag. The load generator shares this 2-core machine with the server, so a busy
client, or anything else running (a test suite), adds latency that is not the server's: the
JSON says so under "caveats". Clients offer permessage-deflate as browsers do
(--no-compression to compare). Budgets (DESIGN §9): p99 under 50 ms to 100 online members;
over 2,000 stored messages/s.

Prints JSON and writes bench/results/chat_fanout.{json,png}.

    .venv/bin/python bench/chat_fanout.py             # 1 group of 100 at 20 msg/s for 20 s;
                                                      # 50 senders, window 8, for 20 s
    .venv/bin/python bench/chat_fanout.py --quick     # a smoke run of a few seconds
    .venv/bin/python bench/chat_fanout.py --help      # members, rate, duration, senders, ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import platform
import queue
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import RESULTS, ProcessSampler, fsync_probe, percentiles, write_result  # noqa: E402

from tests.support.server import HearthServer, insecure_context, write_config  # noqa: E402

NAME = "chat_fanout"
BUDGET = {"fanout_p99_ms": 50.0, "fanout_members": 100, "stored_per_s": 2000.0}
PASSWORD = "bench-password-1"
HUGE = {"count": 1_000_000, "per_seconds": 1}  # a rate limit that never bites in a bench


# --- settings and the server ------------------------------------------------------------------


def server_sections() -> dict[str, Any]:
    """Config sections on top of tests/support/server.py's config_dict (fast bcrypt, mDNS off)."""
    return {
        "auth": {"bcrypt_cost": 4, "access_token_minutes": 240},
        "registration": {"mode": "open"},
        "calls": {"enabled": False},
        "logging": {"access_log": False},
        "limits": {
            "messages_per_user": HUGE,
            "ws_frames_per_connection": HUGE,
            "signup_per_address": HUGE,
            "login_per_address": HUGE,
        },
    }


class Api:
    """Blocking JSON calls to /api/v1 over HTTPS (the self-signed loopback certificate)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url + "/api/v1"
        self.context = insecure_context()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:400].decode(errors="replace")
            raise RuntimeError(f"{method} {path} -> {error.code}: {detail}") from None
        return json.loads(raw) if raw else None


@dataclass(frozen=True)
class User:
    id: int
    token: str


def sign_up(api: Api, setup_token: str, count: int) -> list[User]:
    """The first admin through the setup token, then `count` users by open sign-up."""
    api.call("POST", "/setup", {"token": setup_token, "username": "admin", "password": PASSWORD})

    def one(n: int) -> User:
        body = {"username": f"bench{n:05d}", "password": PASSWORD, "device": "bench"}
        result = api.call("POST", "/auth/signup", body)
        return User(result["user"]["id"], result["access_token"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def create_group(api: Api, owner: User, others: list[User], title: str) -> int:
    body = {"kind": "group", "title": title, "member_ids": [u.id for u in others]}
    return int(api.call("POST", "/chats", body, owner.token)["id"])


def count_stored(api: Api, chat_id: int, token: str, prefix: str) -> int:
    """Messages in a chat whose client_id starts with `prefix`, paging back over REST."""
    total, before = 0, None
    while True:
        query = f"?limit=100&before={before}" if before else "?limit=100"
        page = api.call("GET", f"/chats/{chat_id}/messages{query}", token=token)
        messages = page["messages"]
        total += sum(1 for m in messages if (m.get("client_id") or "").startswith(prefix))
        if not messages or not page.get("has_more_before"):
            return total
        before = messages[0]["id"]  # oldest first


# --- one phase: plans handed to client processes ----------------------------------------------


@dataclass(frozen=True)
class Phase:
    kind: str  # "fanout" or "throughput"
    ws_url: str
    duration_s: float
    drain_s: float
    rate_per_sender: float = 0.0  # fanout: messages/s from each sender
    window: int = 0  # throughput: sends in flight per sender
    body_chars: int = 80
    compression: bool = True


@dataclass(frozen=True)
class Conn:
    """One WebSocket client: a user online in one chat, maybe sending to it."""

    user_id: int
    token: str
    chat_id: int
    prefix: str = ""  # client_id prefix when this connection sends; "" = receive only
    offset_s: float = 0.0  # fanout: where this sender sits in its group's send schedule
    ws_url: str = ""  # another server than the phase's (bench/scale.py spreads them)


@dataclass
class ConnResult:
    conn: Conn
    sent: dict[str, int] = field(default_factory=dict)  # client_id -> ns just before the write
    acks: dict[str, tuple[int, bool, str]] = field(default_factory=dict)  # -> (ns, ok, code)
    arrivals: dict[str, int] = field(default_factory=dict)  # others' message.created -> ns
    own_echoes: int = 0  # message.created for this connection's own sends
    stray_errors: list[str] = field(default_factory=list)
    closed_early: str = ""  # "code reason" when the server closed during the phase


@dataclass
class WorkerResult:
    conns: list[ConnResult]
    cpu_s: float  # this process, over the phase's sending window
    loop_lag_ms: list[float]
    extensions: str


def chunked(conns: list[Conn], parts: int) -> list[list[Conn]]:
    return [conns[i::parts] for i in range(parts) if conns[i::parts]]


def run_phase(phase: Phase, conns: list[Conn], procs: int) -> tuple[int, list[WorkerResult]]:
    """Spread the connections over client processes, start them together, collect results."""
    ctx = multiprocessing.get_context("spawn")
    inbox = ctx.Queue()
    go = ctx.Event()
    start = ctx.Value("q", 0)
    parts = chunked(conns, procs)
    workers = [
        ctx.Process(target=worker_entry, args=(n, phase, part, inbox, go, start), daemon=True)
        for n, part in enumerate(parts)
    ]
    for worker in workers:
        worker.start()
    try:
        wait_for(inbox, "ready", len(workers), timeout=60 + len(conns) * 0.2)
        start.value = time.time_ns() + 500_000_000  # everyone sleeps until then
        go.set()
        limit = phase.duration_s + phase.drain_s + 60
        results = wait_for(inbox, "done", len(workers), timeout=limit)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    return int(start.value), results


def wait_for(inbox: Any, kind: str, count: int, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    got: dict[int, Any] = {}
    while len(got) < count:
        try:
            what, index, payload = inbox.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(
                f"client processes: {len(got)}/{count} {kind} in {timeout}s"
            ) from None
        if what == "failed":
            raise RuntimeError(f"client process {index} failed:\n{payload}")
        if what == kind:
            got[index] = payload
    return [got[n] for n in sorted(got)]


# --- inside a client process ------------------------------------------------------------------


def worker_entry(
    index: int, phase: Phase, conns: list[Conn], inbox: Any, go: Any, start: Any
) -> None:
    try:
        result = asyncio.run(
            run_worker(phase, conns, lambda: inbox.put(("ready", index, None)), go, start)
        )
        inbox.put(("done", index, result))
    except BaseException:
        inbox.put(("failed", index, traceback.format_exc()))


async def run_worker(
    phase: Phase, conns: list[Conn], ready: Any, go: Any, start: Any
) -> WorkerResult:
    gate = asyncio.Semaphore(16)  # TLS handshakes at once
    clients = await asyncio.gather(*(Client.open(phase, conn, gate) for conn in conns))
    ready()
    if not await asyncio.to_thread(go.wait, 300):
        raise RuntimeError("never told to start")
    start_ns = int(start.value)
    end_ns = start_ns + int(phase.duration_s * 1e9)
    readers = [asyncio.create_task(client.read()) for client in clients]
    lag = asyncio.create_task(loop_lag(end_ns))
    cpu = asyncio.create_task(cpu_between(start_ns, end_ns))
    await sleep_until(start_ns)
    senders = [client.send_loop(start_ns, end_ns) for client in clients if client.conn.prefix]
    await asyncio.gather(*senders)
    if phase.kind == "fanout":
        await sleep_until(end_ns + int(phase.drain_s * 1e9))  # let the last deliveries land
    for client in clients:
        client.closing = True
    await asyncio.gather(*(client.ws.close() for client in clients))
    await asyncio.gather(*readers)
    return WorkerResult(
        conns=[client.result for client in clients],
        cpu_s=await cpu,
        loop_lag_ms=await lag,
        extensions=clients[0].ws.response.headers.get("Sec-WebSocket-Extensions", "")
        if clients
        else "",
    )


async def sleep_until(t_ns: int) -> None:
    delay = (t_ns - time.time_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


async def cpu_between(start_ns: int, end_ns: int) -> float:
    await sleep_until(start_ns)
    before = time.process_time()
    await sleep_until(end_ns)
    return time.process_time() - before


async def loop_lag(end_ns: int, tick: float = 0.005) -> list[float]:
    """How late a 5 ms sleep wakes: the time this process's loop was too busy to run a task."""
    lags = []
    while time.time_ns() < end_ns:
        before = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append((time.perf_counter() - before - tick) * 1000)
    return lags


class Client:
    """One WebSocket connection: a reader task timestamps frames; senders write message.send."""

    def __init__(self, phase: Phase, conn: Conn, ws: Any) -> None:
        self.phase = phase
        self.conn = conn
        self.ws = ws
        self.result = ConnResult(conn)
        self.closing = False
        self.window = asyncio.Semaphore(max(1, phase.window))
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    @classmethod
    async def open(cls, phase: Phase, conn: Conn, gate: asyncio.Semaphore) -> Client:
        from websockets.asyncio.client import connect

        async with gate:
            url = conn.ws_url or phase.ws_url
            ws = await connect(
                url,
                ssl=insecure_context() if url.startswith("wss:") else None,
                additional_headers={"Authorization": f"Bearer {conn.token}"},
                compression="deflate" if phase.compression else None,
                max_size=2**22,
                ping_interval=None,  # phases are shorter than the server's 60 s idle limit
                open_timeout=60,
            )
            await ws.send(json.dumps({"id": "h", "type": "hello", "data": {"resume_from": None}}))
            while True:  # presence signals may come first
                frame = json.loads(await ws.recv())
                if frame.get("type") == "result" and frame.get("id") == "h":
                    break
            if not frame.get("ok"):
                raise RuntimeError(f"hello refused: {frame}")
        return cls(phase, conn, ws)

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        result = self.result
        try:
            async for raw in self.ws:
                now = time.time_ns()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "event" and frame.get("event") == "message.created":
                    client_id = frame["data"].get("client_id")
                    if client_id in result.sent:
                        result.own_echoes += 1
                    else:
                        result.arrivals[client_id] = now
                elif kind == "result":
                    self.on_result(frame, now)
        except ConnectionClosed:
            pass
        if not self.closing:
            result.closed_early = f"{self.ws.close_code} {self.ws.close_reason}"
            self.idle.set()

    def on_result(self, frame: dict[str, Any], now: int) -> None:
        client_id = frame.get("id")
        error = frame.get("error") or {}
        if client_id not in self.result.sent:
            if len(self.result.stray_errors) < 5:
                self.result.stray_errors.append(str(error.get("code", frame)))
            return
        self.result.acks[client_id] = (now, bool(frame.get("ok")), str(error.get("code", "")))
        self.window.release()
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()

    async def send(self, client_id: str) -> None:
        body = f"{client_id} " + "lorem ipsum dolor sit amet " * (self.phase.body_chars // 27 + 1)
        data = {"chat_id": self.conn.chat_id, "client_id": client_id}
        data["body"] = body[: self.phase.body_chars]
        frame = json.dumps({"id": client_id, "type": "message.send", "data": data})
        self.in_flight += 1
        self.idle.clear()
        self.result.sent[client_id] = time.time_ns()
        await self.ws.send(frame)

    async def send_loop(self, start_ns: int, end_ns: int) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            if self.phase.kind == "fanout":
                await self.send_paced(start_ns, end_ns)
            else:
                await self.send_windowed(end_ns)
        except ConnectionClosed:
            pass  # the reader notes the close code in closed_early

    async def send_paced(self, start_ns: int, end_ns: int) -> None:
        """Open loop: message n is due at start + offset + n / rate, whatever the acks do."""
        interval_ns = 1e9 / self.phase.rate_per_sender
        first_ns = start_ns + self.conn.offset_s * 1e9
        count = int((end_ns - first_ns) // interval_ns)
        for n in range(count):
            await sleep_until(int(first_ns + n * interval_ns))
            if self.result.closed_early:
                return
            await self.send(f"{self.conn.prefix}-{n}")
        await self.wait_idle(self.phase.drain_s)

    async def send_windowed(self, end_ns: int) -> None:
        """Closed loop: at most `window` sends without an ack, until the end of the phase."""
        n = 0
        while True:
            await self.window.acquire()
            if time.time_ns() >= end_ns or self.result.closed_early:
                break
            await self.send(f"{self.conn.prefix}-{n}")
            n += 1
        await self.wait_idle(self.phase.drain_s)

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):  # what stays unanswered is reported
            await asyncio.wait_for(self.idle.wait(), timeout)


# --- figures ----------------------------------------------------------------------------------


def client_usage(workers: list[WorkerResult], duration_s: float) -> dict[str, Any]:
    lags = [lag for w in workers for lag in w.loop_lag_ms]
    return {
        "processes": len(workers),
        "cpu_percent_per_process": [round(100 * w.cpu_s / duration_s, 1) for w in workers],
        "loop_lag_ms": percentiles(lags),
    }


def all_conns(workers: list[WorkerResult]) -> list[ConnResult]:
    return [conn for w in workers for conn in w.conns]


def ack_summary(conns: list[ConnResult]) -> tuple[list[float], Counter[str], int]:
    """Ack latencies (ms) of successful sends, error codes, and sends never answered."""
    latencies, errors, missing = [], Counter(), 0
    for conn in conns:
        for client_id, sent_ns in conn.sent.items():
            ack = conn.acks.get(client_id)
            if ack is None:
                missing += 1
            elif ack[1]:
                latencies.append((ack[0] - sent_ns) / 1e6)
            else:
                errors[ack[2]] += 1
    return latencies, errors, missing


def fanout_figures(
    start_ns: int, phase: Phase, workers: list[WorkerResult]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON summary, and raw series for the plot."""
    conns = all_conns(workers)
    sends = {cid: (ns, c.conn.chat_id) for c in conns for cid, ns in c.sent.items()}
    online = Counter(c.conn.chat_id for c in conns)
    expected = sum(online[chat] - 1 for _, chat in sends.values())
    latencies: list[float] = []
    worst: dict[str, float] = {}
    for conn in conns:
        for client_id, arrived in conn.arrivals.items():
            if client_id in sends:
                ms = (arrived - sends[client_id][0]) / 1e6
                latencies.append(ms)
                worst[client_id] = max(ms, worst.get(client_id, 0.0))
    acks, errors, unanswered = ack_summary(conns)
    summary = {
        "groups": len(online),
        "online_members": len(conns),
        "senders": sum(1 for c in conns if c.conn.prefix),
        "rate_per_s": round(phase.rate_per_sender * sum(1 for c in conns if c.conn.prefix), 1),
        "duration_s": phase.duration_s,
        "messages_sent": len(sends),
        "deliveries": len(latencies),
        "expected_deliveries": expected,
        "delivery_latency_ms": percentiles(latencies),
        "ack_latency_ms": percentiles(acks),
        "send_errors": dict(errors),
        "unanswered_sends": unanswered,
        "closed_by_server": [c.closed_early for c in conns if c.closed_early][:5],
        "client": client_usage(workers, phase.duration_s),
    }
    series = {
        "latencies": latencies,
        "acks": acks,
        "worst": [((sends[cid][0] - start_ns) / 1e9, ms) for cid, ms in sorted(worst.items())],
    }
    return summary, series


def throughput_figures(
    start_ns: int, phase: Phase, workers: list[WorkerResult]
) -> tuple[dict[str, Any], dict[str, Any]]:
    conns = all_conns(workers)
    end_ns = start_ns + int(phase.duration_s * 1e9)
    ok_times = [ack[0] for c in conns for ack in c.acks.values() if ack[1]]
    in_window = sum(1 for t in ok_times if t <= end_ns)
    acks, errors, unanswered = ack_summary(conns)
    summary = {
        "senders": len(conns),
        "window": phase.window,
        "duration_s": phase.duration_s,
        "sent": sum(len(c.sent) for c in conns),
        "acked_ok": len(ok_times),
        "stored_per_s": round(in_window / phase.duration_s, 1),
        "ack_latency_ms": percentiles(acks),
        "send_errors": dict(errors),
        "unanswered_sends": unanswered,
        "own_echoes": sum(c.own_echoes for c in conns),
        "closed_by_server": [c.closed_early for c in conns if c.closed_early][:5],
        "client": client_usage(workers, phase.duration_s),
    }
    bin_s = 0.5
    bins = Counter(int((t - start_ns) / 1e9 // bin_s) for t in ok_times if t < end_ns)
    series = {"rate": [(b * bin_s, n / bin_s) for b, n in sorted(bins.items())]}
    return summary, series


def caveats(result: dict[str, Any]) -> list[str]:
    notes = [
        "Client and server share this machine's cores: latencies include client scheduling.",
        "Latency is send-to-arrival at the client's reader, TLS and JSON decoding included.",
    ]
    for name in ("fanout", "throughput"):
        phase = result[name]
        client = phase["client"]
        busiest = max(client["cpu_percent_per_process"], default=0)
        if busiest > 80:
            notes.append(
                f"{name}: a client process used {busiest}% of a core; the load generator "
                "may be the bottleneck (try --procs 2)."
            )
        lag = client["loop_lag_ms"].get("p99", 0)
        if lag > 5:
            notes.append(f"{name}: client event-loop lag p99 {lag} ms is part of the latencies.")
        server = phase.get("server", {})
        others = server.get("machine_cpu_percent", 0) - server.get("cpu_percent", 0)
        others -= sum(client["cpu_percent_per_process"])
        if others > 15:
            notes.append(
                f"{name}: other processes (or kernel work) used about {others:.0f}% of a core "
                "at the same time; the figures are pessimistic, rerun on a quiet machine."
            )
        if phase["send_errors"] or phase["unanswered_sends"] or phase["closed_by_server"]:
            notes.append(f"{name}: some sends failed, went unanswered or sockets were closed.")
    fanout = result["fanout"]
    if fanout["deliveries"] < fanout["expected_deliveries"]:
        notes.append(
            f"fanout: {fanout['expected_deliveries'] - fanout['deliveries']} deliveries missing "
            "by the end of the drain time."
        )
    if fanout["online_members"] < BUDGET["fanout_members"]:
        notes.append("fanout: fewer online members than the budget's 100.")
    return notes


def plot(
    result: dict[str, Any],
    fan: dict[str, Any],
    thr: dict[str, Any],
    usage: dict[str, Any],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    cdf, worst, rate, server = axes.flat
    for values, label in ((fan["latencies"], "send -> delivery"), (fan["acks"], "send -> ack")):
        if values:
            ordered = sorted(values)
            cdf.plot(ordered, [(n + 1) / len(ordered) for n in range(len(ordered))], label=label)
    cdf.axvline(BUDGET["fanout_p99_ms"], color="#dc2626", linestyle="--", label="budget p99 50 ms")
    cdf.axhline(0.99, color="#9ca3af", linewidth=0.8)
    cdf.set_xscale("log")
    cdf.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
    cdf.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    cdf.xaxis.set_minor_formatter(ticker.NullFormatter())
    cdf.set_xlabel("ms")
    f = result["fanout"]
    cdf.set_title(f"fanout: {f['online_members']} online, {f['rate_per_s']} msg/s: latency CDF")
    cdf.legend(loc="lower right")
    if fan["worst"]:
        xs, ys = zip(*fan["worst"], strict=True)
        worst.plot(xs, ys, ".", markersize=3, color="#2563eb", label="slowest receiver")
    worst.axhline(BUDGET["fanout_p99_ms"], color="#dc2626", linestyle="--", label="50 ms")
    worst.set_xlabel("send time (s into the phase)")
    worst.set_ylabel("ms")
    worst.set_title("fanout: each message's slowest delivery")
    worst.legend()
    if thr["rate"]:
        xs, ys = zip(*thr["rate"], strict=True)
        rate.step(xs, ys, where="post", color="#059669", label="acked (stored) msg/s")
    rate.axhline(BUDGET["stored_per_s"], color="#dc2626", linestyle="--", label="budget 2,000/s")
    t = result["throughput"]
    rate.set_title(f"throughput: {t['senders']} senders, window {t['window']}")
    rate.set_xlabel("s into the phase")
    rate.set_ylim(bottom=0)
    rate.legend()
    times, cpu, rss = usage["t"], usage["cpu"], usage["rss"]
    server.plot(times, usage["machine"], color="#9ca3af", linewidth=0.8, label="whole machine")
    server.plot(times, cpu, color="#7c3aed", label="server CPU % of a core")
    server.set_xlabel("s since the fanout phase began")
    server.set_ylabel("CPU %")
    server.set_title("server process (grey: all processes, 2 cores = 200%)")
    twin = server.twinx()
    twin.plot(times, rss, color="#ea580c", label="RSS MB")
    twin.set_ylabel("RSS MB")
    for start, end in usage["phases"]:
        server.axvspan(start, end, color="#e5e7eb", alpha=0.6)
    server.legend(loc="upper left")
    twin.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def usage_series(
    sampler: ProcessSampler, origin_ns: int, phases: list[tuple[int, float]]
) -> dict[str, Any]:
    samples = sampler.samples
    times, cpu, machine, rss = [], [], [], []
    for before, after in itertools.pairwise(samples):
        wall = max((after.t_ns - before.t_ns) / 1e9, 1e-6)
        times.append((after.t_ns - origin_ns) / 1e9)
        cpu.append(100 * (after.cpu_s - before.cpu_s) / wall)
        machine.append(100 * (after.machine_busy_s - before.machine_busy_s) / wall)
        rss.append(after.rss_mb)
    spans = [((s - origin_ns) / 1e9, (s - origin_ns) / 1e9 + d) for s, d in phases]
    return {"t": times, "cpu": cpu, "machine": machine, "rss": rss, "phases": spans}


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--groups", type=int, default=1, help="fanout: groups (G)")
    add("--members", type=int, default=100, help="fanout: online members per group (M)")
    add("--senders-per-group", type=int, default=1, help="fanout: senders per group (S)")
    add("--rate", type=float, default=20.0, help="fanout: messages/s per group (R)")
    add("--duration", type=float, default=20.0, help="fanout: seconds of sending (D)")
    add("--senders", type=int, default=50, help="throughput: senders, one group each (K)")
    add("--window", type=int, default=8, help="throughput: sends in flight per sender (W)")
    add("--tp-duration", type=float, default=20.0, help="throughput: seconds (T)")
    add("--tp-members", type=int, default=2, help="throughput: members per group, sender included")
    add("--procs", type=int, default=1, help="client processes sharing the connections")
    add("--drain", type=float, default=3.0, help="seconds to wait for late deliveries/acks")
    add("--body-chars", type=int, default=80, help="characters per message body")
    add("--no-compression", action="store_true", help="do not offer permessage-deflate")
    add("--quick", action="store_true", help="smoke run: 20 members, 5 senders, 3 s phases")
    args = parser.parse_args()
    if args.quick:
        args.members, args.rate, args.duration = 20, 10.0, 3.0
        args.senders, args.tp_duration, args.drain = 5, 3.0, 2.0
    return args


def fanout_conns(args: argparse.Namespace, users: list[User], chats: list[int]) -> list[Conn]:
    conns = []
    spacing = 1 / args.rate  # the group's senders take turns
    for g, chat_id in enumerate(chats):
        members = users[g * args.members : (g + 1) * args.members]
        for n, user in enumerate(members):
            sends = n < args.senders_per_group
            prefix = f"f{g}s{n}" if sends else ""
            conns.append(Conn(user.id, user.token, chat_id, prefix, n * spacing if sends else 0.0))
    return conns


def throughput_groups(args: argparse.Namespace, users: list[User]) -> list[tuple[User, list[User]]]:
    senders, pool = users[: args.senders], users[args.senders :]
    extra = args.tp_members - 1
    return [
        (sender, [pool[(k * extra + j) % len(pool)] for j in range(extra)])
        for k, sender in enumerate(senders)
    ]


def main() -> None:
    args = parse_args()
    extra = max(0, args.tp_members - 1)
    user_count = max(args.groups * args.members, args.senders + extra)
    compression = not args.no_compression
    with tempfile.TemporaryDirectory() as folder:
        disk = fsync_probe(Path(folder))
        server = HearthServer(write_config(Path(folder), **server_sections())).start(timeout=30)
        try:
            assert server.process is not None
            api = Api(server.url)
            ws_url = server.url.replace("https://", "wss://") + "/api/v1/ws"
            users = sign_up(api, server.setup_token(), user_count)
            fan_chats = [
                create_group(
                    api,
                    users[g * args.members],
                    users[g * args.members + 1 : (g + 1) * args.members],
                    f"fanout {g}",
                )
                for g in range(args.groups)
            ]
            tp_groups = throughput_groups(args, users)
            tp_chats = [
                create_group(api, s, o, f"throughput {k}") for k, (s, o) in enumerate(tp_groups)
            ]
            fan_phase = Phase(
                "fanout",
                ws_url,
                args.duration,
                args.drain,
                rate_per_sender=args.rate / args.senders_per_group,
                body_chars=args.body_chars,
                compression=compression,
            )
            tp_phase = Phase(
                "throughput",
                ws_url,
                args.tp_duration,
                args.drain,
                window=args.window,
                body_chars=args.body_chars,
                compression=compression,
            )
            tp_conns = [
                Conn(sender.id, sender.token, chat_id, f"t{k}")
                for k, ((sender, _), chat_id) in enumerate(zip(tp_groups, tp_chats, strict=True))
            ]
            with ProcessSampler(server.process.pid) as sampler:
                fan_start, fan_workers = run_phase(
                    fan_phase, fanout_conns(args, users, fan_chats), args.procs
                )
                time.sleep(1.0)
                tp_start, tp_workers = run_phase(tp_phase, tp_conns, args.procs)
                time.sleep(0.5)
            stored = sum(
                count_stored(api, chat_id, sender.token, f"t{k}-")
                for k, ((sender, _), chat_id) in enumerate(zip(tp_groups, tp_chats, strict=True))
            )
        finally:
            server.stop()

    fanout, fan_series = fanout_figures(fan_start, fan_phase, fan_workers)
    fanout["server"] = sampler.usage(fan_start, fan_start + int(args.duration * 1e9))
    throughput, tp_series = throughput_figures(tp_start, tp_phase, tp_workers)
    throughput["server"] = sampler.usage(tp_start, tp_start + int(args.tp_duration * 1e9))
    throughput["stored_counted_over_rest"] = stored
    throughput["stored_matches_acks"] = stored == throughput["acked_ok"]
    p99 = fanout["delivery_latency_ms"].get("p99", float("inf"))
    result: dict[str, Any] = {
        "fanout": fanout,
        "throughput": throughput,
        "budget": BUDGET,
        "verdict": {
            "fanout_p99_under_50ms": p99 < BUDGET["fanout_p99_ms"]
            and fanout["online_members"] >= BUDGET["fanout_members"],
            "stored_over_2000_per_s": throughput["stored_per_s"] > BUDGET["stored_per_s"],
        },
        "setup": {
            "quick": args.quick,
            "websocket_extensions": fan_workers[0].extensions if fan_workers else "",
            "body_chars": args.body_chars,
            "disk_fsync_ms": disk,
            "cpus": multiprocessing.cpu_count(),
            "python": platform.python_version(),
        },
    }
    result["caveats"] = caveats(result)
    write_result(NAME, result)
    usage = usage_series(
        sampler, fan_start, [(fan_start, args.duration), (tp_start, args.tp_duration)]
    )
    plot(result, fan_series, tp_series, usage, RESULTS / f"{NAME}.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
