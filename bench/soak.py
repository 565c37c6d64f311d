"""Soak: chat traffic and a 4-person video call through the real SFU for a set time, watching
the server process for growth (issue 13: "Keep the proof in the suite").

Starts a real `hearth serve` on loopback ports (temporary data folder, bcrypt cost 4, mDNS off,
rate limits out of the way, call media on 127.0.0.1), signs people up over HTTPS, then runs,
all at once, for --minutes:

- chat: G groups of M members, every member online on a WebSocket (`Authorization: Bearer`,
  `hello` first) sending `message.send` with client_ids at --rate messages/s each (paced, with
  jitter), marking what it received read now and then; one member per group also reads over
  REST (the chat list and the latest page of history) every few seconds;
- a call: --call-size people in a group of their own, each an aiortc peer in a process of
  its own (tests/sfu/peers.py's Peer: a moving pattern at 320x240 15 fps and an Opus tone,
  max-bundle, loopback host candidates only) joining the way a browser does over the
  WebSocket (call.start / call.join, then sfu.offer and sfu.answer), publishing and decoding
  everything the SFU forwards to it. A peer whose connections the server drops (its quick
  ICE consent, 3 checks of 0.5 s, fails when a peer process is starved of CPU on a shared
  machine) leaves and joins again, as the web app does; the JSON counts and times each one.

Every --interval seconds the server process is sampled from /proc: RSS (VmRSS), open file
descriptors (/proc/PID/fd), threads (/proc/PID/status) and CPU (utime+stime). Its asyncio task
count is not sampled: no endpoint exposes it and this bench adds no app code (the JSON says so).
Growth is reported over the samples after --warmup: the least-squares slope per minute, and the
mean of the first quarter against the last. A sample before the load starts (baseline) and one
a few seconds after everyone left (after) show what returns.

Prints JSON and writes bench/results/soak.{json,png}.

    .venv/bin/python bench/soak.py               # 10 minutes
    .venv/bin/python bench/soak.py --quick       # about a minute
    .venv/bin/python bench/soak.py --minutes 30 --interval 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import platform
import queue
import random
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    RESULTS,
    cpu_seconds,
    machine_busy_seconds,
    percentiles,
    rss_mb,
    write_result,
)

from tests.support.people import ServedPeople as People  # noqa: E402
from tests.support.people import ServedPerson as Person  # noqa: E402
from tests.support.server import HearthServer, insecure_context, write_config  # noqa: E402

NAME = "soak"
HUGE = {"count": 1_000_000, "per_seconds": 1}  # a rate limit that never bites in a bench
PING_EVERY = 20.0  # seconds; the server closes a socket silent for 60
TASKS_NOTE = (
    "asyncio tasks not sampled: no endpoint exposes the server's task count and this bench "
    "adds no app code; threads and open fds are sampled instead"
)


def server_sections() -> dict[str, Any]:
    return {
        "auth": {"bcrypt_cost": 4, "access_token_minutes": 1440},
        "registration": {"mode": "open"},
        "logging": {"access_log": False},
        "limits": {
            key: HUGE
            for key in (
                "messages_per_user",
                "changes_per_user",
                "chats_per_user",
                "ws_frames_per_connection",
                "signup_per_address",
                "login_per_address",
            )
        },
    }


# --- one WebSocket that runs for the whole soak ---------------------------------------------------


class Socket:
    """A WebSocket with one reader task: results go to their waiting request, stored events
    are counted (and handed to `on_event`), signals go to `on_signal`; nothing is kept."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.events = 0
        self.on_event: Any = None
        self.on_signal: Any = None
        self.closed: str = ""
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str) -> Socket:
        from websockets.asyncio.client import connect

        ws = await connect(
            url,
            ssl=insecure_context(),
            additional_headers={"Authorization": f"Bearer {token}"},
            ping_interval=None,
            max_size=2**22,
            open_timeout=30,
            proxy=None,
        )
        socket = cls(ws)
        hello = await socket.request("hello", {"resume_from": None})
        if not hello.get("ok"):
            raise RuntimeError(f"hello refused: {hello}")
        return socket

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "result":
                    future = self.waiting.pop(str(frame.get("id")), None)
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif kind == "event":
                    self.events += 1
                    if self.on_event is not None:
                        self.on_event(frame)
                elif kind == "signal" and self.on_signal is not None:
                    self.on_signal(frame)
        except ConnectionClosed:
            pass
        self.closed = f"{self.ws.close_code} {self.ws.close_reason}"
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(f"socket closed: {self.closed}"))

    async def request(self, type: str, data: Any, timeout: float = 30) -> dict[str, Any]:
        request_id = f"q{next(self.ids)}"
        future = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        await self.ws.send(json.dumps({"id": request_id, "type": type, "data": data}))
        return await asyncio.wait_for(future, timeout)

    async def ok(self, type: str, data: Any) -> Any:
        reply = await self.request(type, data)
        if not reply.get("ok"):
            raise RuntimeError(f"{type} refused: {reply}")
        return reply["data"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


async def keep_alive(sockets: list[Socket], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PING_EVERY)
        if not stop.is_set():
            for socket in sockets:
                if not socket.closed:
                    with contextlib.suppress(Exception):
                        await socket.request("ping", {})


# --- chat traffic (in this process) ---------------------------------------------------------------


@dataclass
class ChatStats:
    sent: int = 0
    acked: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ack_ms: list[tuple[float, float]] = field(default_factory=list)  # (wall time, latency)
    received: int = 0
    rest_reads: int = 0
    rest_errors: int = 0


async def chat_member(
    socket: Socket, person: Person, chat_id: int, rate: float, stop: asyncio.Event, stats: ChatStats
) -> None:
    """Send at `rate` messages/s (open loop, jittered) and mark what arrived read now and then."""
    latest = {"id": 0}

    def on_event(frame: dict[str, Any]) -> None:
        if frame.get("event") == "message.created":
            stats.received += 1
            latest["id"] = max(latest["id"], int(frame["data"]["id"]))

    socket.on_event = on_event
    numbers = itertools.count(1)
    await asyncio.sleep(random.uniform(0, 1 / rate))
    while not stop.is_set():
        n = next(numbers)
        data = {"chat_id": chat_id, "client_id": f"s{person.id}-{n}", "body": f"soak {n} " * 8}
        started = time.perf_counter()
        stats.sent += 1
        try:
            reply = await socket.request("message.send", data)
        except (ConnectionError, TimeoutError) as error:
            stats.errors[type(error).__name__] = stats.errors.get(type(error).__name__, 0) + 1
            return
        if reply.get("ok"):
            stats.acked += 1
            stats.ack_ms.append((time.time(), (time.perf_counter() - started) * 1000))
        else:
            code = str(reply.get("error", {}).get("code"))
            stats.errors[code] = stats.errors.get(code, 0) + 1
        if n % 10 == 0 and latest["id"]:
            await socket.request("chat.read", {"chat_id": chat_id, "message_id": latest["id"]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), random.uniform(0.5, 1.5) / rate)


async def rest_reader(person: Person, chat_id: int, stop: asyncio.Event, stats: ChatStats) -> None:
    while not stop.is_set():
        for path in ("/chats", f"/chats/{chat_id}/messages?limit=50"):
            reply = await person.rest.call("GET", path, token=person.token)
            if reply.status == 200:
                stats.rest_reads += 1
            else:
                stats.rest_errors += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5.0)


# --- the call (one process per peer) --------------------------------------------------------------


@dataclass(frozen=True)
class PeerPlan:
    ws_url: str
    chat_id: int
    user_id: int
    token: str
    call_id: int | None  # None: this peer starts the call
    width: int
    height: int
    interval: float


class SignalledSFU:
    """What tests/sfu/peers.py's Peer.join needs, over one participant's WebSocket."""

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.offer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_signal(self, frame: dict[str, Any]) -> None:
        if frame.get("event") == "sfu.offer" and not self.offer.done():
            self.offer.set_result(frame["data"]["sdp"])

    async def publish(self, call_id: int, user_id: int, sdp: str) -> str:
        answer: str = (await self.socket.ok("sfu.offer", {"call_id": call_id, "sdp": sdp}))["sdp"]
        return answer

    async def subscribe_offer(self, call_id: int, user_id: int) -> str:
        return await asyncio.wait_for(self.offer, 30)

    async def subscribe_answer(self, call_id: int, user_id: int, sdp: str) -> None:
        await self.socket.ok("sfu.answer", {"call_id": call_id, "sdp": sdp})


def roomy_receive_buffers(size: int = 4 * 1024 * 1024) -> None:
    """Give this process's ICE sockets a larger receive buffer (up to net.core.rmem_max).
    asyncio reads one datagram per loop turn; a peer process that is briefly starved of CPU
    (2 cores, shared) would otherwise drop the server's packets on loopback, consent checks
    among them, and the server's quick consent (3 checks of 0.5 s) would end its call."""
    import socket as sockets

    import aioice.ice

    protocol = aioice.ice.StunProtocol
    if getattr(protocol, "_soak_buffers", False):
        return
    original = protocol.connection_made

    def connection_made(self: Any, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, size)
        original(self, transport)

    protocol.connection_made = connection_made
    protocol._soak_buffers = True


def udp_drops(pid: int) -> int:
    """Datagrams the kernel dropped on `pid`'s open UDP sockets (full receive buffers)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    drops += int(fields[-1])
    return drops


def peer_entry(plan: PeerPlan, index: int, outbox: Any, stop: Any) -> None:
    try:
        asyncio.run(run_peer(plan, index, outbox, stop))
    except BaseException:
        outbox.put(("failed", index, traceback.format_exc()))


def frames_by_kind(peer: Any) -> dict[str, int]:
    kinds = {str(t.mid): t.kind for t in peer.subscriber.getTransceivers()}
    totals = {"audio": 0, "video": 0}
    for mid, seen in peer.received.items():
        totals[kinds.get(mid, "video")] += seen.frames
    return totals


class Participant:
    """One person in the call over one WebSocket, as a browser tab is. When the server drops
    its peer connections (on this shared machine: consent checks lost while the process was
    starved of CPU), it leaves and joins again, as the web app's reconnect does; each time is
    counted. A call that ended meanwhile (everyone dropped) is started again by the first
    participant and joined by the others when it rings them."""

    def __init__(self, plan: PeerPlan, socket: Socket) -> None:
        self.plan = plan
        self.socket = socket
        self.starts = plan.call_id is None
        self.call_id = plan.call_id
        self.peer: Any = None
        self.sfu: SignalledSFU | None = None
        self.earlier = {"audio": 0, "video": 0}  # frames of the peers before a rejoin
        self.dropped_at: list[float] = []
        self.ringing: list[int] = []  # ids of calls that rang this participant
        socket.on_signal = self.on_signal

    def on_signal(self, frame: dict[str, Any]) -> None:
        if frame.get("event") == "call.incoming":
            self.ringing.append(int(frame["data"]["call"]["id"]))
        if self.sfu is not None:
            self.sfu.on_signal(frame)

    def frames(self) -> dict[str, int]:
        now = frames_by_kind(self.peer) if self.peer is not None else {}
        return {kind: count + now.get(kind, 0) for kind, count in self.earlier.items()}

    def broken(self) -> bool:
        pcs = (self.peer.publisher, self.peer.subscriber) if self.peer is not None else ()
        return any(pc.connectionState in {"failed", "closed"} for pc in pcs)

    async def enter(self) -> None:
        from tests.sfu.peers import Peer

        deadline = time.monotonic() + 90
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError("could not get back into a call within 90 s")
            if self.call_id is None:
                data = {"chat_id": self.plan.chat_id, "kind": "video"}
                reply = await self.socket.request("call.start", data)
                if reply.get("ok"):
                    self.call_id = int(reply["data"]["id"])
                    break
                if reply["error"]["code"] != "call_in_progress":
                    raise RuntimeError(f"call.start refused: {reply}")
                self.call_id = await self.next_call()  # another one started it: join that
                continue
            reply = await self.socket.request("call.join", {"call_id": self.call_id})
            if reply.get("ok"):
                break
            if reply["error"]["code"] != "call_ended":
                raise RuntimeError(f"call.join refused: {reply}")
            if self.starts:
                self.call_id = None
                continue
            self.call_id = await self.next_call()
        self.sfu = SignalledSFU(self.socket)
        self.sfu = SignalledSFU(self.socket)
        self.peer = Peer(self.call_id, self.plan.user_id, width=self.plan.width,
                         height=self.plan.height)  # fmt: skip
        await self.peer.join(self.sfu)

    async def next_call(self) -> int | None:
        """After the call ended: the one that rings next, else (when everyone dropped at once,
        the starter too, as on a saturated machine) None, so that this participant starts it."""
        ended = self.call_id
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.ringing and self.ringing[-1] != ended:
                return self.ringing[-1]
            await asyncio.sleep(0.1)
        return None

    async def rejoin(self) -> None:
        self.dropped_at.append(time.time())
        self.earlier = self.frames()
        peer, self.peer = self.peer, None
        with contextlib.suppress(Exception):
            await self.socket.request("call.leave", {"call_id": self.call_id})
        await peer.close()
        await self.enter()

    async def leave(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.ok("call.leave", {"call_id": self.call_id})
        if self.peer is not None:
            await self.peer.close()


async def run_peer(plan: PeerPlan, index: int, outbox: Any, stop: Any) -> None:
    """One participant: its WebSocket, its call.start or call.join, its two peer connections,
    and a status report every interval until told to stop."""
    from appliance.sfu import hooks

    hooks.restrict_host_addresses(["127.0.0.1"])
    roomy_receive_buffers()
    started = time.monotonic()
    socket = await Socket.open(plan.ws_url, plan.token)
    participant = Participant(plan, socket)
    await participant.enter()
    if participant.starts:
        outbox.put(("call", index, participant.call_id))
    outbox.put(("ready", index, {"join_s": round(time.monotonic() - started, 2)}))

    halt = asyncio.Event()
    pinger = asyncio.create_task(keep_alive([socket], halt))
    while not await asyncio.to_thread(stop.wait, plan.interval):
        if participant.broken():
            await participant.rejoin()
        outbox.put(("status", index, {"t": time.time(), "frames": participant.frames()}))
    halt.set()
    await pinger
    peer = participant.peer
    final = {
        "t": time.time(),
        "frames": participant.frames(),
        "dropped_and_rejoined_at": participant.dropped_at,
        "socket_closed_by_server": socket.closed,
        "connection_states": [peer.publisher.connectionState, peer.subscriber.connectionState],
        "udp_drops": udp_drops(os.getpid()),
        "cpu_s": round(time.process_time(), 1),
    }
    await participant.leave()
    await socket.close()
    outbox.put(("done", index, final))


class Call:
    """The call's peer processes, started one after another (the first starts the call)."""

    def __init__(self, ws_url: str, chat_id: int, people: list[Person], args: Any) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.outbox = self.context.Queue()
        self.stop = self.context.Event()
        self.ws_url, self.chat_id, self.people, self.args = ws_url, chat_id, people, args
        self.processes: list[Any] = []
        self.ready: list[dict[str, Any]] = []
        self.statuses: list[tuple[int, dict[str, Any]]] = []
        self.final: dict[int, dict[str, Any]] = {}

    def _start(self, index: int, call_id: int | None) -> None:
        person = self.people[index]
        plan = PeerPlan(
            self.ws_url,
            self.chat_id,
            person.id,
            person.token,
            call_id,
            self.args.width,
            self.args.height,
            self.args.interval,
        )
        process = self.context.Process(
            target=peer_entry, args=(plan, index, self.outbox, self.stop), daemon=True
        )
        process.start()
        self.processes.append(process)

    def _get(self, timeout: float) -> tuple[str, int, Any]:
        kind, index, payload = self.outbox.get(True, timeout)
        if kind == "failed":
            raise RuntimeError(f"call peer {index} failed:\n{payload}")
        if kind == "status":
            self.statuses.append((index, payload))
        elif kind == "done":
            self.final[index] = payload
        return kind, index, payload

    def begin(self) -> None:
        """Blocking: every peer joined and publishing (or an error)."""
        self._start(0, None)
        call_id = None
        while call_id is None:
            kind, _, payload = self._get(120)
            if kind == "call":
                call_id = payload
            elif kind == "ready":
                self.ready.append(payload)
        for index in range(1, len(self.people)):
            self._start(index, call_id)
        while len(self.ready) < len(self.people):
            kind, _, payload = self._get(120)
            if kind == "ready":
                self.ready.append(payload)

    def poll(self, timeout: float) -> None:
        with contextlib.suppress(queue.Empty):
            self._get(timeout)

    def end(self) -> None:
        self.stop.set()
        while len(self.final) < len(self.people):
            self._get(60)
        for process in self.processes:
            process.join(30)


# --- sampling the server --------------------------------------------------------------------------


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def sample(pid: int) -> dict[str, float]:
    return {
        "t": time.time(),
        "rss_mb": round(rss_mb(pid), 2),
        "fds": open_fds(pid),
        "threads": threads(pid),
        "cpu_s": cpu_seconds(pid),
        "machine_busy_s": machine_busy_seconds(),
        "udp_drops": udp_drops(pid),  # on the server's open sockets (the call's), cumulative
    }


class Sampler:
    """Samples the server every `interval` seconds in a thread, from start() to stop()."""

    def __init__(self, pid: int, interval: float) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                self.samples.append(sample(self.pid))
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --- figures --------------------------------------------------------------------------------------


def with_cpu(samples: list[dict[str, float]]) -> list[dict[str, float]]:
    """Each sample plus the server's and the machine's CPU % (of one core) since the last."""
    out = []
    for before, after in itertools.pairwise(samples):
        wall = after["t"] - before["t"]
        out.append(
            {
                **after,
                "cpu_percent": round(100 * (after["cpu_s"] - before["cpu_s"]) / wall, 1),
                "machine_percent": round(
                    100 * (after["machine_busy_s"] - before["machine_busy_s"]) / wall, 1
                ),
            }
        )
    return out


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return float("nan")
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var * 60


def growth(samples: list[dict[str, float]], metric: str) -> dict[str, float]:
    points = [(s["t"], s[metric]) for s in samples]
    quarter = max(1, len(points) // 4)
    first = [y for _, y in points[:quarter]]
    last = [y for _, y in points[-quarter:]]
    first_mean, last_mean = sum(first) / len(first), sum(last) / len(last)
    return {
        "slope_per_minute": round(slope_per_minute(points), 3),
        "first_quarter_mean": round(first_mean, 2),
        "last_quarter_mean": round(last_mean, 2),
        "change": round(last_mean - first_mean, 2),
        "change_percent": round(100 * (last_mean - first_mean) / first_mean, 2)
        if first_mean
        else float("nan"),
        "min": min(y for _, y in points),
        "max": max(y for _, y in points),
    }


def quarters(values: list[tuple[float, float]], start: float, end: float) -> list[dict[str, Any]]:
    """Percentiles of (time, value) pairs in each quarter of [start, end]."""
    span = (end - start) / 4
    return [
        percentiles([v for t, v in values if start + k * span <= t < start + (k + 1) * span])
        for k in range(4)
    ]


def call_rates(
    statuses: list[tuple[int, dict[str, Any]]], peers: int, start: float, end: float
) -> dict[str, Any]:
    """Video and audio frames/s each peer decoded in the first and the last quarter of the
    analysed window (from the peers' own counts, reported every interval)."""
    span = (end - start) / 4
    out: dict[str, list[float | None]] = {
        f"{kind}_per_s_per_peer_{part}_quarter": []
        for kind in ("video_frames", "audio_frames")
        for part in ("first", "last")
    }
    for index in range(peers):
        series = [(s["t"], s["frames"]) for i, s in statuses if i == index]
        for part, (low, high) in {
            "first": (start, start + span),
            "last": (end - span, end),
        }.items():
            inside = [(t, f) for t, f in series if low <= t <= high]
            for kind in ("video", "audio"):
                key = f"{kind}_frames_per_s_per_peer_{part}_quarter"
                if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
                    out[key].append(None)
                    continue
                (t0, f0), (t1, f1) = inside[0], inside[-1]
                out[key].append(round((f1[kind] - f0[kind]) / (t1 - t0), 1))
    return out


def video_timeline(
    statuses: list[tuple[int, dict[str, Any]]], peers: int, start: float
) -> list[list[tuple[float, float]]]:
    """Per peer: (minute, video frames/s decoded since its previous report)."""
    timeline: list[list[tuple[float, float]]] = []
    for index in range(peers):
        series = [(s["t"], s["frames"]["video"]) for i, s in statuses if i == index]
        timeline.append(
            [
                (round((t1 - start) / 60, 3), round((f1 - f0) / (t1 - t0), 1))
                for (t0, f0), (t1, f1) in itertools.pairwise(series)
                if t1 > t0
            ]
        )
    return timeline


def plot(result: dict[str, Any], samples: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = result["load_started_at"]
    window = result["analysed_from"]
    panels = [
        ("rss_mb", "RSS (MB)"),
        ("fds", "open fds"),
        ("threads", "threads"),
        ("cpu_percent", "server CPU (% of a core)"),
    ]
    figure, axes = plt.subplots(len(panels) + 1, 1, figsize=(9, 12), sharex=True)
    minutes = [(s["t"] - t0) / 60 for s in samples]
    for axis, (metric, label) in zip(axes[:-1], panels, strict=True):
        axis.plot(minutes, [s[metric] for s in samples], marker=".", linewidth=1)
        axis.set_ylabel(label)
        axis.axvline((window - t0) / 60, color="grey", linestyle=":", linewidth=1)
        fit = result["growth"].get(metric)
        if fit and fit["slope_per_minute"] == fit["slope_per_minute"]:  # not NaN
            axis.set_title(
                f"{label}: {fit['slope_per_minute']:+.3f}/min, "
                f"first quarter {fit['first_quarter_mean']} -> last {fit['last_quarter_mean']}",
                fontsize=9,
            )
        axis.grid(alpha=0.3)
    for index, series in enumerate(result["call"]["video_fps_timeline"]):
        axes[-1].plot([m for m, _ in series], [v for _, v in series], label=f"peer {index}")
    axes[-1].set_ylabel("video frames/s\ndecoded per peer")
    axes[-1].legend(fontsize=8, ncol=4)
    axes[-1].grid(alpha=0.3)
    axes[-1].set_xlabel("minutes since the load started (dotted: end of warm-up)")
    figure.suptitle(
        f"Hearth soak: {result['minutes']} min, {result['chat']['members_online']} chat members "
        f"+ {result['call']['size']}-person call",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- the run --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs")
    parser.add_argument("--quick", action="store_true", help="about a minute (a smoke run)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=None, help="seconds left out of growth")
    parser.add_argument("--groups", type=int, default=2, help="chat groups")
    parser.add_argument("--members", type=int, default=4, help="members per chat group")
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per chat member")
    parser.add_argument("--call-size", type=int, default=4)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()
    if args.quick:
        args.minutes = 1.0
    args.interval = args.interval or (2.0 if args.minutes <= 2 else 5.0)
    args.warmup = args.warmup if args.warmup is not None else min(60.0, args.minutes * 60 / 6)
    return args


async def soak(args: argparse.Namespace, server: HearthServer) -> dict[str, Any]:
    assert server.process is not None
    pid = server.process.pid
    ws_url = server.url.replace("https://", "wss://") + "/api/v1/ws"
    crowd = People(server)
    chat_people = [await crowd.one(f"chat{n}") for n in range(args.groups * args.members)]
    call_people = [await crowd.one(f"call{n}") for n in range(args.call_size)]
    groups = []
    for g in range(args.groups):
        owner, *others = chat_people[g * args.members : (g + 1) * args.members]
        groups.append((await owner.group(f"soak {g}", *others))["id"])
    call_chat = (await call_people[0].group("call", *call_people[1:]))["id"]
    await asyncio.sleep(1.0)
    baseline = sample(pid)

    stop = asyncio.Event()
    stats = ChatStats()
    sockets = [await Socket.open(ws_url, p.token) for p in chat_people]
    members = [
        (socket, person, groups[n // args.members])
        for n, (socket, person) in enumerate(zip(sockets, chat_people, strict=True))
    ]
    tasks = [
        asyncio.create_task(chat_member(s, p, c, args.rate, stop, stats)) for s, p, c in members
    ]
    tasks += [
        asyncio.create_task(rest_reader(chat_people[g * args.members], groups[g], stop, stats))
        for g in range(args.groups)
    ]
    tasks.append(asyncio.create_task(keep_alive(sockets, stop)))

    call = Call(ws_url, call_chat, call_people, args)
    await asyncio.to_thread(call.begin)

    sampler = Sampler(pid, args.interval)
    load_started = time.time()
    sampler.start()
    end = load_started + args.minutes * 60
    while time.time() < end:
        await asyncio.to_thread(call.poll, 1.0)
    load_ended = time.time()
    sampler.stop()

    stop.set()
    await asyncio.to_thread(call.end)
    await asyncio.gather(*tasks)
    closed_early = [s.closed for s in sockets if s.closed]
    for socket in sockets:
        await socket.close()
    await asyncio.sleep(5.0)  # let the server drop what it kept for the sockets and the call
    after = sample(pid)

    series = with_cpu(sampler.samples)
    analysed_from = load_started + args.warmup
    window = [s for s in series if s["t"] >= analysed_from]
    result: dict[str, Any] = {
        "minutes": args.minutes,
        "interval_s": args.interval,
        "warmup_s": args.warmup,
        "load_started_at": load_started,
        "analysed_from": analysed_from,
        "samples_analysed": len(window),
        "growth": {m: growth(window, m) for m in ("rss_mb", "fds", "threads", "cpu_percent")},
        "asyncio_tasks": None,
        "asyncio_tasks_note": TASKS_NOTE,
        "server_udp_drops_max": max((s["udp_drops"] for s in series), default=0),
        "baseline": {k: baseline[k] for k in ("rss_mb", "fds", "threads")},
        "after_load": {k: after[k] for k in ("rss_mb", "fds", "threads")},
        "machine_cpu_percent_mean": round(
            sum(s["machine_percent"] for s in series) / max(1, len(series)), 1
        ),
        "chat": {
            "groups": args.groups,
            "members_online": len(chat_people),
            "rate_per_member": args.rate,
            "sent": stats.sent,
            "acked": stats.acked,
            "errors": stats.errors,
            "message_events_received": stats.received,
            "expected_receipts": stats.acked * args.members,
            "rest_reads": stats.rest_reads,
            "rest_errors": stats.rest_errors,
            "ack_ms": percentiles([ms for _, ms in stats.ack_ms]),
            "ack_ms_by_quarter": quarters(stats.ack_ms, load_started, load_ended),
            "sockets_closed_by_server": closed_early,
        },
        "call": {
            "size": args.call_size,
            "video": f"{args.width}x{args.height} 15 fps VP8 and an Opus tone from each peer",
            "peer_processes": len(call.processes),
            "join_s": [r["join_s"] for r in call.ready],
            **call_rates(call.statuses, args.call_size, analysed_from, load_ended),
            "frames_decoded_per_peer": [call.final[i]["frames"] for i in sorted(call.final)],
            "peer_connection_states_at_end": [
                call.final[i]["connection_states"] for i in sorted(call.final)
            ],
            "sockets_closed_by_server": [
                call.final[i]["socket_closed_by_server"] for i in sorted(call.final)
            ],
            "dropped_and_rejoined_per_peer": [
                len(call.final[i]["dropped_and_rejoined_at"]) for i in sorted(call.final)
            ],
            "dropped_at_minute": sorted(
                round((t - load_started) / 60, 2)
                for i in call.final
                for t in call.final[i]["dropped_and_rejoined_at"]
            ),
            "client_udp_drops_per_peer": [call.final[i]["udp_drops"] for i in sorted(call.final)],
            "client_cpu_s_per_peer": [call.final[i]["cpu_s"] for i in sorted(call.final)],
            "video_fps_timeline": video_timeline(call.statuses, args.call_size, load_started),
        },
        "samples": series,
    }
    return result


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = HearthServer(write_config(Path(folder), **server_sections())).start(timeout=60)
        try:
            result = asyncio.run(soak(args, server))
        finally:
            exit_code = server.stop(timeout=30)
        log = server.log()
    problems = [
        line.strip()[:300]
        for line in log.splitlines()
        if any(word in line for word in ("WARNING", "ERROR", "Traceback"))
    ]
    call_lines = [
        line.strip()[:200]
        for line in log.splitlines()
        if any(name in line for name in ("appliance.sfu", "aioice", "appliance.services.calls"))
        and "Check CandidatePair" not in line
    ]
    result["server"] = {
        "exit_code": exit_code,
        "consent_expired": sum("Consent to send expired" in line for line in call_lines),
        "call_connections_closed": sum("connection closed" in line for line in call_lines),
        "call_log_tail": call_lines[-20:],
        "logged_problems": problems[:20],
        "logged_problem_count": len(problems),
    }
    result["machine"] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    result["caveats"] = [
        "The load generators (chat clients in this process, one process per call peer) share "
        "the machine with the server; other sessions' work shows in machine_cpu_percent_mean.",
        "RSS of a CPython process rarely shrinks (pymalloc arenas): after_load shows what is "
        "released, the slope over the window what keeps growing.",
    ]
    drops = result["call"]["dropped_and_rejoined_per_peer"]
    if any(drops):
        result["caveats"].append(
            f"Call peers were dropped by the server and rejoined {sum(drops)} times "
            f"(at minutes {result['call']['dropped_at_minute']}): server.call_log says why "
            "(aioice 'Consent to send expired': a peer process did not answer in time). Media "
            "and fds/threads dip around those moments."
        )
    samples = result["samples"]
    path = write_result(NAME, result)
    plot(result, samples, RESULTS / f"{NAME}.png")
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    print(f"wrote {path} and {RESULTS / (NAME + '.png')}")


if __name__ == "__main__":
    main()
