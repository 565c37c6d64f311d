"""Janus's VideoRoom (Debian's `janus` package) behind bench/sfu_server.py's signalling, so
bench/sfu.py can run the same publisher and subscribers against it as against Hearth.

Janus runs as a child of the bench server, in a temporary folder of its own configuration:
the VideoRoom plugin and the HTTP transport only, both bound to 127.0.0.1, no STUN, one room
(VP8 and Opus, a 1.5 Mbps cap as Hearth's default ceiling). Janus skips loopback interfaces
when it gathers ICE candidates, so it runs with bench/janus_loopback.c preloaded (compiled
here with the system's cc): it sees only 127.0.0.1, and nothing else is ever addressed.
The server process reports Janus's pid, CPU and RSS, not its own.

Forwarded packets are what the Admin API's handle_info counts out of each subscriber handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOM = 1234
ADMIN_SECRET = "bench"
PLUGINS = "/usr/lib/x86_64-linux-gnu/janus"
SEARCH = ("/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus", "/usr/lib/janus")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: Janus gets SIGTERM if the bench server dies (Linux
    prctl PR_SET_PDEATHSIG), so an interrupted bench leaves no Janus behind."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _libraries() -> Path:
    for folder in SEARCH:
        if Path(folder, "plugins").is_dir():
            return Path(folder)
    raise RuntimeError("Janus is not installed (apt-get install -y janus)")


def _configs(folder: Path, http: int, admin: int) -> None:
    (folder / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{_libraries() / "plugins"}"
    transports_folder = "{_libraries() / "transports"}"
    events_folder = "{_libraries() / "events"}"
    loggers_folder = "{_libraries() / "loggers"}"
    debug_level = 3
    admin_secret = "{ADMIN_SECRET}"
    session_timeout = 120
}}
media: {{
    rtp_port_range = "20000-40000"
}}
nat: {{
    ice_ignore_list = "vmnet"
    ignore_mdns = true
}}
plugins: {{
    disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}}
transports: {{
    disable = "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so"
}}
events: {{
    broadcast = false
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_base_path = "/admin"
    admin_http = true
    admin_port = {admin}
    admin_ip = "127.0.0.1"
    admin_https = false
}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{
}}
room-{ROOM}: {{
    description = "bench"
    publishers = 16
    bitrate = 1500000
    fir_freq = 10
    audiocodec = "opus"
    videocodec = "vp8"
}}
"""
    )


class Janus:
    """The bench server's media for --mode janus: signalling mapped onto the VideoRoom API."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-janus-"))
        self.http = _free_port()
        self.admin = _free_port()
        _configs(self.folder, self.http, self.admin)
        shim = self.folder / "janus_loopback.so"
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(HERE / "janus_loopback.c"),
             "-ldl"],
            check=True,
        )  # fmt: skip
        self.log = (self.folder / "janus.log").open("w")
        self.process = subprocess.Popen(
            ["janus", "-F", str(self.folder), "-C", str(self.folder / "janus.jcfg")],
            env=dict(os.environ, LD_PRELOAD=str(shim)),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.process.pid
        self._ids = itertools.count(1)
        self.session: int | None = None
        self.handles: dict[tuple[str, int], int] = {}  # (role, user) -> handle id
        self.events: dict[int, asyncio.Queue[dict[str, Any]]] = {}  # handle -> its events
        self.feeds: list[int] = []  # publisher ids, in order of joining
        self.published = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self.connection_failures: list[str] = []

    # --- HTTP, in a thread (a handful of requests per run) --------------------------------------

    def _post_blocking(self, path: str, body: dict[str, Any], port: int) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    async def _post(self, path: str, body: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        body = {"transaction": f"t{next(self._ids)}", **body}
        if admin:
            body["admin_secret"] = ADMIN_SECRET
        port = self.admin if admin else self.http
        answer = await asyncio.to_thread(self._post_blocking, path, body, port)
        if answer.get("janus") == "error":
            raise RuntimeError(f"janus: {answer['error']}")
        return answer

    async def _poll(self) -> None:
        url = f"http://127.0.0.1:{self.http}/janus/{self.session}?maxev=10"
        while True:

            def get() -> Any:
                with urllib.request.urlopen(url, timeout=40) as response:
                    return json.loads(response.read())

            try:
                events = await asyncio.to_thread(get)
            except OSError:
                if self.process.poll() is not None:
                    return
                continue
            for event in events if isinstance(events, list) else [events]:
                handle = event.get("sender")
                if event.get("janus") == "hangup":
                    self.connection_failures.append(f"handle {handle}: {event.get('reason')}")
                if handle in self.events:
                    self.events[handle].put_nowait(event)

    async def start(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                created = await self._post("/janus", {"janus": "create"})
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Janus did not start; see {self.folder}/janus.log"
                    ) from None
                await asyncio.sleep(0.2)
        self.session = created["data"]["id"]
        self._poller = asyncio.create_task(self._poll())

    async def _attach(self, role: str, user: int) -> int:
        answer = await self._post(
            f"/janus/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        handle = int(answer["data"]["id"])
        self.handles[role, user] = handle
        self.events[handle] = asyncio.Queue()
        return handle

    async def _ask(self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
                   ) -> dict[str, Any]:  # fmt: skip
        """Send a plugin message; wait for its event (with a JSEP, when one is expected)."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        await self._post(f"/janus/{self.session}/{handle}", message)
        while True:
            event = await asyncio.wait_for(self.events[handle].get(), 30)
            if event.get("janus") != "event":
                continue
            data = event["plugindata"]["data"]
            if "error" in data:
                raise RuntimeError(f"videoroom: {data['error']}")
            return event

    # --- the bench server's operations ----------------------------------------------------------

    async def publish(self, user: int, sdp: str, viewer: bool) -> str:
        handle = await self._attach("pub", user)
        event = await self._ask(
            handle,
            {"request": "joinandconfigure", "ptype": "publisher", "room": ROOM, "id": user,
             "audio": True, "video": True},
            {"type": "offer", "sdp": sdp},
        )  # fmt: skip
        while "jsep" not in event:
            event = await asyncio.wait_for(self.events[handle].get(), 30)
        self.feeds.append(user)
        self.published.set()
        return str(event["jsep"]["sdp"])

    async def subscribe_offer(self, user: int) -> str:
        await asyncio.wait_for(self.published.wait(), 60)
        handle = await self._attach("sub", user)
        streams = [{"feed": feed} for feed in self.feeds if feed != user]
        event = await self._ask(
            handle, {"request": "join", "ptype": "subscriber", "room": ROOM, "streams": streams}
        )
        return str(event["jsep"]["sdp"])

    async def subscribe_answer(self, user: int, sdp: str) -> None:
        handle = self.handles["sub", user]
        await self._ask(handle, {"request": "start"}, {"type": "answer", "sdp": sdp})

    async def _handle_info(self, handle: int) -> dict[str, Any]:
        answer = await self._post(
            f"/admin/{self.session}/{handle}", {"janus": "handle_info"}, admin=True
        )
        info: dict[str, Any] = answer.get("info", {})
        return info

    async def stats(self) -> dict[str, Any]:
        outbound = {"video_packets": 0, "audio_packets": 0, "video_bytes": 0, "audio_bytes": 0}
        inbound = {"video_packets": 0, "audio_packets": 0}
        for (role, _), handle in self.handles.items():
            info = await self._handle_info(handle)
            for medium in info.get("webrtc", {}).get("media", {}).values():
                kind = medium.get("type")
                if kind not in ("audio", "video"):
                    continue
                stats = medium.get("stats", {})
                if role == "sub":
                    outbound[f"{kind}_packets"] += stats.get("out", {}).get("packets", 0)
                    outbound[f"{kind}_bytes"] += stats.get("out", {}).get("bytes", 0)
                else:
                    inbound[f"{kind}_packets"] += stats.get("in", {}).get("packets", 0)
        return {
            "outbound": outbound,
            "inbound": inbound,
            "connection_failures": self.connection_failures,
        }

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                await asyncio.to_thread(self.process.wait)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
