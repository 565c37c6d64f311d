"""SFU benchmark: forwarded RTP packets/s, server CPU per packet and per second of media, and
the latency the SFU adds, against aiortc's stock decode/re-encode relay and a direct connection.

Every scenario starts three fresh processes on loopback (so each one's CPU and memory can be
read from /proc/PID): the media server (bench/sfu_server.py: Hearth's real `appliance.sfu.SFU`
in "forward" mode; aiortc's `MediaRelay`, which decodes each published track and encodes it
again per subscriber, in "relay" mode; only signalling in "direct" mode), a publisher process
(P aiortc peers sending a moving 640x480 30 fps VP8 pattern plus an Opus tone, joining as a
browser does) and a subscriber process (S aiortc peers that decode everything), both
bench/sfu_peers.py. Each video frame carries its creation time (wall clock, drawn as bars), and
the subscribers read it back from the decoded picture: glass-to-glass latency. The "direct"
scenario connects one publisher straight to one subscriber with the same media and the same
measurement; added latency = SFU percentile minus direct percentile.

Forwarded packets are the server's outbound RTP packets (RTCRtpSender.getStats packetsSent,
summed over every subscriber connection's senders) in the measuring window; server CPU is
utime + stime from /proc/PID/stat over the same window. Per core, packets/s is extrapolated
as packets/s divided by the fraction of a core used (average), and as 1 / the marginal CPU per
packet (the slope across the subscriber sweep). DESIGN §9's budget: over 30,000 forwarded
RTP packets/s per core, under 5 ms added latency.

Prints JSON and writes bench/results/sfu.{json,png}.

    .venv/bin/python bench/sfu.py            # direct; forward and relay for P=1 x S=1,2,4,8;
                                             # a 3x3 group call (everyone publishes); ~5 min
    .venv/bin/python bench/sfu.py --quick    # smoke run, about a minute
    .venv/bin/python bench/sfu.py --subscribers 1,4 --window 20 --no-group
    .venv/bin/python bench/sfu.py --peer janus --subscribers 1,8 --rounds 3 --window 20
                                             # Hearth against Janus's VideoRoom, the median
                                             # ratio of three interleaved rounds; ~8 min
    .venv/bin/python bench/sfu.py --peer janus --together --subscribers 1 --rounds 5
                                             # both at once, in the same windows: the same
                                             # machine state for each (one subscriber: the
                                             # clients of both share the two cores)
    .venv/bin/python bench/sfu.py --modes forward --subscribers 1 --no-group \
        --profile /tmp/profiles              # py-spy of the SFU, collapsed stacks

Server CPU is perf's task-clock when `perf` is installed (apt-get install linux-perf), else
/proc ticks (+-16 % at 2 % of a core over 20 s: see task_clock()).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    RESULTS,
    ProcessSampler,
    cpu_seconds,
    machine_busy_seconds,
    percentiles,
    write_result,
)

NAME = "sfu"
TEARDOWN = "--- bench: quitting ---"  # what sfu_server.py writes to stderr on quit
BUDGET = {"forwarded_packets_per_s_per_core": 30_000, "added_latency_ms": 5.0}
REFERENCE = {  # DESIGN §9, measured on this kind of machine with one 1.5 Mbps VP8 stream
    "janus_us_per_forwarded_packet": 23,
    "spike_us_per_forwarded_packet": 30,
}


@dataclass(frozen=True)
class Scenario:
    mode: str  # forward, relay or direct
    publishers: int
    subscribers: int
    group: bool = False  # the subscribers are the publishers (everyone sends and receives)
    run: int = 1  # a repeat of the same scenario (the direct baseline runs first and last)

    @property
    def name(self) -> str:
        shape = (
            f"group{self.publishers}" if self.group else f"P{self.publishers}xS{self.subscribers}"
        )
        return f"{self.mode}-{shape}" + (f"-run{self.run}" if self.run > 1 else "")

    @property
    def publisher_ids(self) -> list[int]:
        return list(range(1, self.publishers + 1))

    @property
    def subscriber_ids(self) -> list[int]:
        if self.group:
            return self.publisher_ids
        return list(range(self.publishers + 1, self.publishers + self.subscribers + 1))

    @property
    def expected_video(self) -> int:
        """Video tracks each subscriber should receive (one per other publisher)."""
        return self.publishers - 1 if self.group else self.publishers

    @property
    def streams(self) -> int:
        """Publisher -> subscriber audio+video pairs the server delivers."""
        return self.subscribers * self.expected_video


# --- processes --------------------------------------------------------------------------------


class Child:
    """A child process speaking line-tagged JSON on stdout; stderr goes to a file."""

    def __init__(
        self, name: str, argv: list[str], logs: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.stderr_path = logs / f"{name}.stderr"
        self._stderr = self.stderr_path.open("w")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def expect(self, tag: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {tag} in {timeout:.0f} s; {self.tail()}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{self.name} exited before {tag}; {self.tail()}")
            if line.startswith(tag + " "):
                rest = line[len(tag) + 1 :]
                return json.loads(rest) if rest.startswith("{") else {"value": rest}

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process.poll() is None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._stderr.close()
        return self.process.returncode

    def tail(self, chars: int = 1500) -> str:
        self._stderr.flush()
        text = self.stderr_path.read_text(errors="replace")
        return text[-chars:]

    def problems(self, teardown: bool = False) -> list[str]:
        """Warnings, errors and tracebacks it logged (first line of each, at most 20), before
        the server was told to quit (or, with `teardown`, after)."""
        found = []
        text = self.stderr_path.read_text(errors="replace")
        before, _, after = text.partition(TEARDOWN)
        for line in (after if teardown else before).splitlines():
            if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Exception")):
                found.append(line.strip()[:300])
        return found[:20]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rpc(port: int, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall((json.dumps(request) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply


# --- one scenario -----------------------------------------------------------------------------


def task_clock(pid: int, seconds: float) -> subprocess.Popen[str] | None:
    """`perf stat` counting the process's task-clock (every thread's time on a CPU, in ns, from
    the scheduler) for `seconds`, if perf is installed. /proc/PID/stat's utime and stime are
    sampled at the 100 Hz tick instead: a process busy 2 % of the time is charged about 40
    ticks in 20 s, give or take 6, so its CPU reads +-16 % from one run to the next."""
    perf = shutil.which("perf")
    if perf is None:
        return None
    argv = [perf, "stat", "-x", ",", "-e", "task-clock", "-p", str(pid), "--", "sleep"]
    return subprocess.Popen(
        [*argv, str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def read_task_clock(counting: subprocess.Popen[str] | None) -> float | None:
    """CPU seconds `perf stat` counted, or None (no perf; it failed, e.g. not permitted)."""
    if counting is None:
        return None
    try:
        _, report = counting.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        counting.kill()
        return None
    for line in report.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] == "task-clock":
            try:
                return float(fields[0]) / 1000  # msec
            except ValueError:
                return None
    return None


def profiler(args: argparse.Namespace, pid: int, tag: str) -> subprocess.Popen[bytes] | None:
    """With --profile: py-spy samples the SFU process through the measured window into
    FOLDER/TAG.txt, as collapsed stacks (flamegraph.pl's input). It pauses the process for each
    sample, and costs CPU of its own: figures from a profiled run are not for comparing."""
    if args.profile is None:
        return None
    args.profile.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    argv = [str(spy), "record", "--pid", str(pid), "--duration", str(round(args.window))]
    argv += ["--rate", "500", "--format", "raw", "--output", str(args.profile / f"{tag}.txt")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_scenario(
    scenario: Scenario,
    args: argparse.Namespace,
    logs: Path,
    together: tuple[threading.Barrier, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run one scenario. `together`: (a barrier shared with the scenarios run beside this
    one, the idle check made before them all): every measured window starts at the same
    moment, so all of them see the same machine."""
    if together is None:
        quiet = wait_for_quiet(args.quiet_wait, args.quiet_threshold)
    else:
        barrier, quiet = together
    port = free_port()
    tag = scenario.name
    # The "peer" mode is Hearth again (--peer hearth): its server from --peer-tree, with
    # --peer-env, serving the clients as forward mode does.
    mode, folder, env = scenario.mode, HERE, None
    if mode == "peer":
        mode, folder, env = "forward", args.peer_tree / "bench", args.peer_env
    server = Child(
        f"{tag}-server",
        [
            str(folder / "sfu_server.py"),
            "--mode",
            mode,
            "--port",
            str(port),
            "--publishers",
            str(scenario.publishers),
        ],
        logs,
        env,
    )
    peers = [str(HERE / "sfu_peers.py")]
    common = ["--port", str(port), "--mode", mode]
    size = ["--width", str(args.width), "--height", str(args.height), "--fps", str(args.fps)]
    size += ["--bitrate", str(args.bitrate)]
    ids = ",".join(map(str, scenario.publisher_ids))
    # Subscribers spread over processes of at most SUBS_PER_PROCESS (one event loop and GIL
    # decoding many streams would add latency of its own).
    users = scenario.subscriber_ids
    chunks = [
        users[i : i + args.subs_per_process] for i in range(0, len(users), args.subs_per_process)
    ]

    def sub_child(n: int, chunk: list[int]) -> Child:
        argv = [*peers, "sub", *common, "--users", ",".join(map(str, chunk))]
        if not scenario.group:
            argv += ["--viewers", ",".join(map(str, chunk))]
        argv += ["--expect", str(scenario.expected_video)]
        return Child(f"{tag}-sub{n}", argv, logs)

    result: dict[str, Any] = {
        "scenario": tag,
        "mode": scenario.mode,
        "publishers": scenario.publishers,
        "subscribers": scenario.subscribers,
        "group": scenario.group,
        "streams": scenario.streams,
        "run": scenario.run,
        "subscriber_processes": len(chunks),
        "before_start": quiet,
    }
    children = [server]
    try:
        pub = Child(f"{tag}-pub", [*peers, "pub", *common, "--users", ids, *size], logs)
        children.append(pub)
        media_pid = int(server.expect("READY", 60)["value"])  # Janus's, in janus mode
        sampler = ProcessSampler(media_pid, interval=0.5).__enter__()
        try:
            if mode == "direct":  # the publish answer comes from the subscriber
                subs = [sub_child(n, chunk) for n, chunk in enumerate(chunks)]
                children += subs
                pub_ready = pub.expect("READY", 90)
            else:  # a participant publishes before it subscribes
                pub_ready = pub.expect("READY", 90)
                subs = [sub_child(n, chunk) for n, chunk in enumerate(chunks)]
                children += subs
            sub_ready = [sub.expect("READY", 90) for sub in subs]
            time.sleep(args.warmup)
            if together is not None:
                barrier.wait(timeout=180)
            pids = [pub.pid] + [sub.pid for sub in subs]
            before = snapshot(port, pids)
            clock = task_clock(media_pid, args.window)
            spy = profiler(args, media_pid, tag) if scenario.mode == "forward" else None
            time.sleep(args.window)
            after = snapshot(port, pids)
            after["task_clock_s"] = read_task_clock(clock)
            if spy is not None:
                spy.wait(args.window + 30)
            for child in [*subs, pub]:
                child.send("stop")
            received = [sub.expect("RESULT", 60) for sub in subs]
            sent = pub.expect("RESULT", 60)
        finally:
            sampler.__exit__(None, None, None)
        rpc(port, {"op": "quit"})
        result.update(
            figures(scenario, before, after, received, sent, sampler, pub_ready, sub_ready)
        )
        result["server_errors"] = after.get("errors", [])
        if after.get("connection_failures"):
            result["server_connection_failures_by_window_end"] = after["connection_failures"]
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"
        if together is not None:
            barrier.abort()  # the others' windows would wait for this one's forever
        for child in children:
            if child.process.poll() is None:
                child.process.terminate()
    finally:
        codes = {child.name: child.stop() for child in children}
    result["exit_codes"] = codes
    result["logged_problems"] = {c.name: p for c in children if (p := c.problems())}
    teardown = {c.name: p for c in children if (p := c.problems(teardown=True))}
    if teardown:
        result["logged_problems_at_teardown"] = teardown
    return result


def wait_for_quiet(limit: float, threshold: float) -> dict[str, Any]:
    """Wait (up to `limit` s) until the machine's busy time is under `threshold` % of a core
    for three seconds running: other sessions' test runs share this machine."""
    started = time.monotonic()
    calm = 0
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = 100 * (machine_busy_seconds() - before)
        calm = calm + 1 if busy < threshold else 0
        waited = time.monotonic() - started
        if calm >= 3 or waited >= limit:
            return {
                "machine_busy_percent": round(busy, 1),
                "waited_s": round(waited, 1),
                "quiet": busy < threshold,
            }


def snapshot(port: int, client_pids: list[int]) -> dict[str, Any]:
    stats = rpc(port, {"op": "stats"})
    stats["clients_cpu_s"] = [cpu_seconds(pid) for pid in client_pids]
    stats["machine_busy_s"] = machine_busy_seconds()
    stats["wall"] = time.time()
    return stats


def figures(
    scenario: Scenario,
    before: dict[str, Any],
    after: dict[str, Any],
    received: list[dict[str, Any]],
    sent: dict[str, Any],
    sampler: ProcessSampler,
    pub_ready: dict[str, Any],
    sub_ready: list[dict[str, Any]],
) -> dict[str, Any]:
    window = after["time"] - before["time"]
    start, end = before["wall"], after["wall"]
    out: dict[str, Any] = {"window_s": round(window, 2)}

    # What the subscribers got, in the window: latency, frame rates, sizes.
    latencies: list[float] = []
    by_subscriber: list[float | None] = []
    unreadable = 0
    video_fps: list[float] = []
    audio_fps: list[float] = []
    sizes: set[tuple[int, int]] = set()
    for viewer in (v for part in received for v in part["viewers"]):
        sizes.update(tuple(s) for s in viewer["sizes"])
        mine = [
            lat
            for samples in viewer["video"].values()
            for t, lat in samples
            if start <= t <= end and lat is not None
        ]
        by_subscriber.append(percentiles(mine).get("p50"))
        for samples in viewer["video"].values():
            inside = [lat for t, lat in samples if start <= t <= end]
            if not inside:
                continue
            video_fps.append(len(inside) / window)
            latencies += [lat for lat in inside if lat is not None]
            unreadable += sum(1 for lat in inside if lat is None)
        for times in viewer["audio"].values():
            inside_audio = [t for t in times if start <= t <= end]
            if inside_audio:
                audio_fps.append(len(inside_audio) / window)
    out["latency_ms"] = percentiles(latencies)
    out["latency_p50_ms_by_subscriber_in_join_order"] = by_subscriber
    out["latency_samples"] = latencies  # for the plot; dropped from the JSON file
    out["latency_unreadable_frames"] = unreadable
    out["delivered"] = {
        "video_tracks_with_frames": len(video_fps),
        "video_tracks_expected": scenario.streams,
        "video_fps_min": round(min(video_fps), 1) if video_fps else 0,
        "video_fps_mean": round(sum(video_fps) / len(video_fps), 1) if video_fps else 0,
        "audio_tracks_with_frames": len(audio_fps),
        "audio_frames_per_s_mean": round(sum(audio_fps) / len(audio_fps), 1) if audio_fps else 0,
        "sizes": sorted(sizes),
        "decode_errors": sum(part["decode_errors"] for part in received),
    }
    out["join"] = {
        "publishers_connected": pub_ready.get("connected"),
        "publishers_join_s": pub_ready.get("join_s"),
        "subscribers_join_s": max(part["join_s"] for part in sub_ready),
        "all_video_flowing_before_window": all(part["complete"] for part in sub_ready),
        "first_video_after_answer_s": [
            t for part in sub_ready for t in part["first_video_after_answer_s"]
        ],
    }
    out["publishers_sent_total"] = sent["sent"]
    out["publisher_keyframe_requests"] = sent["keyframe_requests"]

    # The server: CPU, memory, packets. perf's task-clock when there is one (exact), else
    # the /proc ticks (sampled).
    ticks = after["cpu_s"] - before["cpu_s"]
    cpu = ticks if after.get("task_clock_s") is None else after["task_clock_s"]
    clients = [b - a for a, b in zip(before["clients_cpu_s"], after["clients_cpu_s"], strict=True)]
    machine = after["machine_busy_s"] - before["machine_busy_s"]
    usage = sampler.usage(int(start * 1e9), int(end * 1e9))
    server: dict[str, Any] = {
        "cpu_s": round(cpu, 4),
        "cpu_source": "/proc ticks" if after.get("task_clock_s") is None else "perf task-clock",
        "cpu_s_ticks": round(ticks, 3),
        "cpu_percent_of_a_core": round(100 * cpu / window, 1),
        "kernel_share_of_cpu_percent": round(
            100 * (after["system_s"] - before["system_s"]) / ticks, 1
        )
        if ticks > 0
        else None,
        "rss_mb_end": after["rss_mb"],
        "peak_rss_mb": usage.get("peak_rss_mb"),
        "threads": after["threads"],
    }
    out["clients_cpu_percent_of_a_core"] = {
        "publishers": round(100 * clients[0] / window, 1),
        "subscribers": round(100 * sum(clients[1:]) / window, 1),
    }
    out["machine_cpu_percent"] = round(100 * machine / window, 1)  # 2 cores: 200 %
    # Approximate: /proc/stat and /proc/PID/stat account time differently (a few % apart;
    # negative means nothing else ran).
    out["other_processes_cpu_percent"] = round(100 * (machine - cpu - sum(clients)) / window, 1)
    if scenario.mode != "direct":
        delta = {k: after["outbound"][k] - before["outbound"][k] for k in after["outbound"]}
        inbound = {k: after["inbound"][k] - before["inbound"][k] for k in after["inbound"]}
        packets = delta["video_packets"] + delta["audio_packets"]
        server.update(
            {
                "forwarded_packets": packets,
                "forwarded_packets_per_s": round(packets / window, 1),
                "forwarded_video_packets_per_s": round(delta["video_packets"] / window, 1),
                "forwarded_audio_packets_per_s": round(delta["audio_packets"] / window, 1),
                "forwarded_kbps": round(
                    8 * (delta["video_bytes"] + delta["audio_bytes"]) / window / 1000
                ),
                "forwarded_video_kbps_per_stream": round(
                    8 * delta["video_bytes"] / window / 1000 / scenario.streams
                ),
                "received_packets_per_s": round(
                    (inbound["video_packets"] + inbound["audio_packets"]) / window, 1
                ),
                "cpu_us_per_forwarded_packet": round(1e6 * cpu / packets, 1) if packets else None,
                "cpu_ms_per_stream_second": round(1000 * cpu / (window * scenario.streams), 2),
                "forwarded_packets_per_s_per_core_extrapolated": round(packets / cpu)
                if cpu > 0
                else None,
            }
        )
        for key in ("slots_dropped", "source_keyframes", "failed", "notifications"):
            if key in after:
                server[key] = after[key]
        if "slots_dropped" in after:
            server["slots_dropped_in_window"] = after["slots_dropped"] - before["slots_dropped"]
            server["slots_showing"] = after["slots_showing"]
    out["server"] = server
    return out


# --- the whole run ----------------------------------------------------------------------------


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    chosen = [Scenario("direct", 1, 1)]
    for run in range(1, args.rounds + 1):  # rounds interleave too: the machine drifts
        for count in args.subscribers:
            for mode in args.modes:
                chosen.append(Scenario(mode, 1, count, run=run))
    if args.group:
        for mode in args.modes:
            chosen.append(Scenario(mode, args.group, args.group, group=True))
    chosen.append(Scenario("direct", 1, 1, run=2))  # did the baseline drift during the run?
    return chosen


def marginal(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Least-squares line of server CPU (s/s) against forwarded packets/s over a sweep: the
    slope is the CPU each extra forwarded packet costs, the intercept what runs regardless."""
    points = [
        (r["server"]["forwarded_packets_per_s"], r["server"]["cpu_s"] / r["window_s"])
        for r in runs
        if "server" in r and r["server"].get("forwarded_packets_per_s")
    ]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    return {
        "points": n,
        "cpu_us_per_extra_packet": round(slope * 1e6, 1),
        "fixed_cpu_percent_of_a_core": round(100 * intercept, 1),
        "packets_per_s_per_core_extrapolated": round(1 / slope) if slope > 0 else None,
    }


def pairs(
    hearth: list[dict[str, Any]], peer: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each Hearth scenario with its peer's at the same subscriber count and round."""
    for mine in hearth:
        for theirs in peer:
            if (theirs["subscribers"], theirs.get("run")) == (mine["subscribers"], mine.get("run")):
                yield mine, theirs
                break


def versus(hearth: list[dict[str, Any]], janus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hearth against Janus at each subscriber count: server CPU-s per s and its ratio (the
    phases interleave, so both saw much the same machine), packets, fps and RSS."""
    rows = []
    for mine, theirs in pairs(hearth, janus):
        ours, other = mine["server"], theirs["server"]
        cpu = ours["cpu_s"] / mine["window_s"]
        cpu_janus = other["cpu_s"] / theirs["window_s"]
        rows.append(
            {
                "subscribers": mine["subscribers"],
                "round": mine.get("run"),
                "hearth_cpu_s_per_s": round(cpu, 4),
                "janus_cpu_s_per_s": round(cpu_janus, 4),
                "hearth_over_janus": round(cpu / cpu_janus, 2) if cpu_janus > 0 else None,
                "hearth_packets_per_s": ours.get("forwarded_packets_per_s"),
                "janus_packets_per_s": other.get("forwarded_packets_per_s"),
                "hearth_us_per_packet": ours.get("cpu_us_per_forwarded_packet"),
                "janus_us_per_packet": other.get("cpu_us_per_forwarded_packet"),
                "hearth_fps_min": mine["delivered"]["video_fps_min"],
                "janus_fps_min": theirs["delivered"]["video_fps_min"],
                "hearth_latency_p50_ms": mine["latency_ms"].get("p50"),
                "janus_latency_p50_ms": theirs["latency_ms"].get("p50"),
                "hearth_rss_mb": ours["rss_mb_end"],
                "janus_rss_mb": other["rss_mb_end"],
                "hearth_decode_errors": mine["delivered"]["decode_errors"],
                "janus_decode_errors": theirs["delivered"]["decode_errors"],
            }
        )
    return rows


def a_b(hearth: list[dict[str, Any]], peer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """--peer hearth: the peer's (B's) server CPU over this checkout's (A's), per round."""
    rows = []
    for mine, theirs in pairs(hearth, peer):
        a = mine["server"]["cpu_s"] / mine["window_s"]
        b = theirs["server"]["cpu_s"] / theirs["window_s"]
        rows.append(
            {
                "subscribers": mine["subscribers"],
                "round": mine.get("run"),
                "a_cpu_s_per_s": round(a, 4),
                "b_cpu_s_per_s": round(b, 4),
                "b_over_a": round(b / a, 3) if a > 0 else None,
            }
        )
    return rows


def ratios(rows: list[dict[str, Any]], key: str = "hearth_over_janus") -> dict[int, dict[str, Any]]:
    """Each subscriber count's CPU ratio (`key`): every round's, and their median."""
    by_count: dict[int, list[float]] = {}
    for row in rows:
        if row[key] is not None:
            by_count.setdefault(row["subscribers"], []).append(row[key])
    return {
        count: {"median": round(statistics.median(values), 2), "rounds": values}
        for count, values in sorted(by_count.items())
    }


def summarize(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    directs = [r for r in ok if r["mode"] == "direct" and r["latency_ms"].get("count")]
    pooled = [v for r in directs for v in r["latency_samples"]]
    base = percentiles(pooled) if pooled else None  # every direct run's frames together
    table = []
    for r in ok:
        row: dict[str, Any] = {
            "scenario": r["scenario"],
            "server_cpu_percent": r["server"]["cpu_percent_of_a_core"],
            "latency_p50_ms": r["latency_ms"].get("p50"),
            "latency_p90_ms": r["latency_ms"].get("p90"),
            "video_fps_min": r["delivered"]["video_fps_min"],
            "peak_rss_mb": r["server"]["peak_rss_mb"],
        }
        if r["mode"] != "direct":
            s = r["server"]
            row |= {
                "forwarded_packets_per_s": s["forwarded_packets_per_s"],
                "cpu_us_per_packet": s["cpu_us_per_forwarded_packet"],
                "cpu_ms_per_stream_second": s["cpu_ms_per_stream_second"],
                "packets_per_s_per_core_extrapolated": s[
                    "forwarded_packets_per_s_per_core_extrapolated"
                ],
            }
            if base and r["latency_ms"].get("count"):
                row["added_p50_ms"] = round(r["latency_ms"]["p50"] - base["p50"], 1)
                row["added_p90_ms"] = round(r["latency_ms"]["p90"] - base["p90"], 1)
                row["p90_minus_direct_p50_ms"] = round(r["latency_ms"]["p90"] - base["p50"], 1)
        table.append(row)
    forward_sweep = [r for r in ok if r["mode"] == "forward" and not r["group"]]
    relay_sweep = [r for r in ok if r["mode"] == "relay" and not r["group"]]
    janus_sweep = [r for r in ok if r["mode"] == "janus" and not r["group"]]
    peer_sweep = [r for r in ok if r["mode"] == "peer" and not r["group"]]
    forward_rows = [row for row in table if row["scenario"].startswith("forward")]
    best = max(
        (row.get("packets_per_s_per_core_extrapolated") or 0 for row in forward_rows), default=0
    )
    fit = marginal(forward_sweep)
    worst_added = max((row.get("added_p50_ms", 0) for row in forward_rows), default=None)
    return {
        "direct_latency_ms": base,
        "direct_latency_p50_by_run_ms": [r["latency_ms"]["p50"] for r in directs],
        "table": table,
        "marginal_cost": {
            "forward": fit,
            "relay": marginal(relay_sweep),
            "janus": marginal(janus_sweep),
        },
        "hearth_vs_janus": versus(forward_sweep, janus_sweep),
        "hearth_over_janus_by_subscribers": ratios(versus(forward_sweep, janus_sweep)),
        "b_vs_a": a_b(forward_sweep, peer_sweep),
        "b_over_a_by_subscribers": ratios(a_b(forward_sweep, peer_sweep), "b_over_a"),
        "verdict": {
            "note": "per-core packet rates are extrapolations from CPU used at a lower load",
            "forward_packets_per_s_per_core_extrapolated_best_average": best,
            "forward_packets_per_s_per_core_extrapolated_marginal": fit
            and fit["packets_per_s_per_core_extrapolated"],
            "over_30000_per_core_by_average": best > BUDGET["forwarded_packets_per_s_per_core"],
            "over_30000_per_core_by_marginal_cost": bool(
                fit
                and fit["packets_per_s_per_core_extrapolated"]
                and fit["packets_per_s_per_core_extrapolated"]
                > BUDGET["forwarded_packets_per_s_per_core"]
            ),
            "forward_worst_added_p50_ms": worst_added,
            "added_p50_under_5ms_everywhere": worst_added is not None
            and worst_added < BUDGET["added_latency_ms"],
        },
    }


def caveats(
    runs: list[dict[str, Any]], load: dict[str, Any], args: argparse.Namespace
) -> list[str]:
    notes = [
        f"This machine has {multiprocessing.cpu_count()} cores and the clients share it with "
        "the server: P encoders (about 15-20 % of a core each at 640x480 30 fps) and S "
        "decoding subscribers run beside it. Client CPU is reported per scenario.",
        "Forwarded packets/s per core is an extrapolation (packets/s divided by the fraction "
        "of one core the server used), not a measured saturation point; the marginal figure "
        "is the slope of CPU against packets/s over the subscriber sweep. Low loads carry "
        "fixed costs (ICE consent, RTCP timers) that a busier server spreads.",
        "Glass-to-glass latency includes the publisher's encode and the subscriber's decode and "
        "its stock jitter buffer (which holds a frame until the next one starts, about one "
        "frame interval) in every path, the direct one too; the difference is the server's.",
        "Latency is read from bars in the picture, quantized to 1 ms of the publisher's clock.",
        "Relay mode encodes per subscriber at aiortc's own bitrate (REMB-driven, 0.25-1.5 "
        "Mbps), so its packet counts differ from forward mode: compare CPU per stream-second.",
        "Forwarded packets count RTP media packets only (not RTX retransmissions or RTCP).",
    ]
    notes.append(
        "Latency added at larger S also carries the clients' own load: S subscribers decode "
        f"in processes of up to {args.subs_per_process} on the same cores. "
        "latency_p50_ms_by_subscriber_in_join_order shows whether subscribers served later in "
        "each fan-out wait longer."
    )
    notes.append(
        "Other sessions share this machine: each scenario waits (up to --quiet-wait s) for "
        "the machine to be idle first (before_start), and other_processes_cpu_percent "
        "estimates CPU used outside this bench during the window (approximate: per-process "
        "and whole-machine accounting differ by a few %). Load average before/after the run: "
        f"{load.get('loadavg_before')} / {load.get('loadavg_after')} (it counts this bench too)."
    )
    if any(r.get("together_with") for r in runs):
        notes.append(
            "--together: Hearth and its peer ran at the same time, each with its own publisher "
            "and subscribers, their windows aligned; so each one's other_processes_cpu_percent "
            "includes the other's clients, and the machine was busier than in interleaved "
            "phases (both publishers encode at once)."
        )
    noisy = [r["scenario"] for r in runs if not r.get("before_start", {}).get("quiet", True)]
    if noisy:
        notes.append("Started without an idle machine: " + ", ".join(noisy))
    busy = [r for r in runs if r.get("other_processes_cpu_percent", 0) > args.disturbed]
    if busy:
        notes.append(
            f"Other processes used over {args.disturbed:g} % of a core during (after retries): "
            + ", ".join(f"{r['scenario']} ({r['other_processes_cpu_percent']} %)" for r in busy)
        )
    for r in runs:
        if "error" in r:
            notes.append(f"{r['scenario']} failed: {r['error'][:300]}")
            continue
        d = r["delivered"]
        if d["video_tracks_with_frames"] < d["video_tracks_expected"]:
            notes.append(
                f"{r['scenario']}: only {d['video_tracks_with_frames']} of "
                f"{d['video_tracks_expected']} expected video tracks delivered frames."
            )
        if d["video_fps_min"] and d["video_fps_min"] < 0.9 * args.fps:
            notes.append(f"{r['scenario']}: slowest video track {d['video_fps_min']} fps.")
        if not r["join"]["all_video_flowing_before_window"]:
            notes.append(f"{r['scenario']}: video was not flowing everywhere before the window.")
        if r["machine_cpu_percent"] > 170:
            notes.append(
                f"{r['scenario']}: the machine was nearly saturated "
                f"({r['machine_cpu_percent']} % of 200 %): latency and CPU figures suffer."
            )
        if r.get("logged_problems"):
            notes.append(f"{r['scenario']}: processes logged problems (see logged_problems).")
    if args.quick:
        notes.append("--quick: short windows; figures are a smoke test, not a measurement.")
    return notes


# --- the plot ---------------------------------------------------------------------------------


def plot(runs: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in runs if "error" not in r]
    colors = {
        "forward": "#2563eb",
        "relay": "#dc2626",
        "janus": "#16a34a",
        "peer": "#9333ea",
        "direct": "#6b7280",
    }
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    cpu_ax, stream_ax, core_ax, cdf_ax, added_ax, rss_ax = axes.flat

    for mode in ("forward", "relay", "janus", "peer"):
        sweep = sorted(
            (r for r in ok if r["mode"] == mode and not r["group"]), key=lambda r: r["subscribers"]
        )
        groups = [r for r in ok if r["mode"] == mode and r["group"]]
        xs = [r["subscribers"] for r in sweep]
        cpu_ax.plot(xs, [r["server"]["cpu_percent_of_a_core"] for r in sweep], "o-",
                    color=colors[mode], label=f"{mode}, 1 publisher")  # fmt: skip
        stream_ax.plot(xs, [r["server"]["cpu_ms_per_stream_second"] for r in sweep], "o-",
                       color=colors[mode], label=f"{mode}, 1 publisher")  # fmt: skip
        for g in groups:
            label = f"{mode}, {g['publishers']}x{g['subscribers']} group"
            cpu_ax.plot([g["streams"]], [g["server"]["cpu_percent_of_a_core"]], "s",
                        color=colors[mode], markerfacecolor="none", label=label)  # fmt: skip
            stream_ax.plot([g["streams"]], [g["server"]["cpu_ms_per_stream_second"]], "s",
                           color=colors[mode], markerfacecolor="none", label=label)  # fmt: skip
    cpu_ax.set_title("server CPU, % of one core")
    cpu_ax.set_xlabel("delivered streams (subscribers x publishers seen)")
    cpu_ax.set_ylim(bottom=0)
    cpu_ax.legend(fontsize=8)
    stream_ax.set_title("server CPU ms per second of media per delivered A/V stream")
    stream_ax.set_xlabel("delivered streams")
    stream_ax.set_yscale("log")
    stream_ax.legend(fontsize=8)

    served = [r for r in ok if r["mode"] != "direct"]
    names = [r["scenario"] for r in served]
    per_core = [r["server"]["forwarded_packets_per_s_per_core_extrapolated"] or 0 for r in served]
    core_ax.bar(names, per_core, color=[colors[r["mode"]] for r in served])
    core_ax.axhline(BUDGET["forwarded_packets_per_s_per_core"], color="#111827", linestyle="--",
                    label="budget 30,000/s per core")  # fmt: skip
    fit = summary["marginal_cost"]["forward"]
    if fit and fit["packets_per_s_per_core_extrapolated"]:
        core_ax.axhline(fit["packets_per_s_per_core_extrapolated"], color=colors["forward"],
                        linestyle=":", label="forward, marginal cost")  # fmt: skip
    core_ax.set_title("forwarded RTP packets/s per core (extrapolated)")
    core_ax.tick_params(axis="x", rotation=60, labelsize=7)
    core_ax.legend(fontsize=8)

    base = summary["direct_latency_ms"]
    for r in ok:
        values = sorted(r["latency_samples"])
        if not values:
            continue
        style = "-" if not r["group"] else "--"
        cdf_ax.plot(values, [(n + 1) / len(values) for n in range(len(values))], style,
                    color=colors[r["mode"]], alpha=0.4 + 0.6 * (r["subscribers"] / 8 if not r["group"] else 1) / 1.6,
                    linewidth=2 if r["mode"] == "direct" else 1, label=r["scenario"])  # fmt: skip
    if base:
        cdf_ax.axvline(base["p50"] + BUDGET["added_latency_ms"], color="#111827", linestyle="--",
                       label="direct p50 + 5 ms")  # fmt: skip
    cdf_ax.set_title("glass-to-glass latency CDF (ms, log scale)")
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("ms")
    cdf_ax.legend(fontsize=7)

    rows = [row for row in summary["table"] if "added_p50_ms" in row]
    if rows:
        x = range(len(rows))
        added_ax.bar([i - 0.2 for i in x], [row["added_p50_ms"] for row in rows], 0.4,
                     label="p50 - direct p50", color="#2563eb")  # fmt: skip
        added_ax.bar([i + 0.2 for i in x], [row["added_p90_ms"] for row in rows], 0.4,
                     label="p90 - direct p90", color="#93c5fd")  # fmt: skip
        added_ax.set_xticks(list(x), [row["scenario"] for row in rows], rotation=60, fontsize=7)
    added_ax.axhline(BUDGET["added_latency_ms"], color="#111827", linestyle="--",
                     label="budget 5 ms")  # fmt: skip
    added_ax.axhline(0, color="#9ca3af", linewidth=0.8)
    added_ax.set_yscale("symlog", linthresh=10)
    added_ax.set_title("latency added vs a direct connection (ms, log above 10)")
    added_ax.legend(fontsize=8)

    rss_ax.bar([r["scenario"] for r in ok], [r["server"]["peak_rss_mb"] or 0 for r in ok],
               color=[colors[r["mode"]] for r in ok])  # fmt: skip
    rss_ax.set_title("server peak RSS (MB; direct: signalling only, aiortc loaded)")
    rss_ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--subscribers", default="1,2,4,8", help="S values to sweep with one publisher")
    add("--modes", default="forward,relay", help="server modes to compare")
    add("--group", type=int, default=3, help="N for an NxN group call (0: none)")
    add("--no-group", action="store_const", const=0, dest="group")
    add("--window", type=float, default=12.0, help="seconds measured per scenario")
    add("--warmup", type=float, default=4.0, help="seconds after video flows, before measuring")
    add("--width", type=int, default=640)
    add("--height", type=int, default=480)
    add("--fps", type=int, default=30)
    add(
        "--bitrate",
        type=int,
        default=1500,
        help="the publisher's video kbps, fixed (REMB ignored) so every server forwards the "
        "same stream; 0: follow the server's REMB",
    )
    add("--subs-per-process", type=int, default=4, help="subscribers per client process")
    add("--quiet-wait", type=float, default=30.0, help="max s to wait for an idle machine")
    add("--quiet-threshold", type=float, default=15.0, help="idle: busy under this %% of a core")
    add(
        "--disturbed",
        type=float,
        default=25.0,
        help="rerun a scenario when other processes used over this %% of a core in its window",
    )
    add("--retries", type=int, default=1, help="reruns of a disturbed scenario")
    add(
        "--rounds",
        type=int,
        default=1,
        help="sweeps, interleaved; --peer janus reports each count's median ratio over them",
    )
    add("--logs", type=Path, help="keep the processes' stderr in this folder")
    add(
        "--profile",
        type=Path,
        metavar="FOLDER",
        help="py-spy the SFU through each measured window (collapsed stacks; needs py-spy; pauses it to sample)",
    )
    add("--quick", action="store_true", help="smoke run: direct, S=1,4 forward, S=4 relay")
    add(
        "--together",
        action="store_true",
        help="with --peer: run Hearth and its peer at the same time, each with its own "
        "publisher and subscribers, windows aligned, so both see the same machine (for small "
        "subscriber counts: the clients of both share the cores)",
    )
    add(
        "--peer",
        choices=["relay", "janus", "hearth"],
        help="compare Hearth with this one only, in interleaved phases (janus: Debian's "
        "Janus VideoRoom, bench/sfu_janus.py; hearth: Hearth again, from --peer-tree with "
        "--peer-env, for an A/B of two versions or settings, best with --together; no group "
        "call for either)",
    )
    add(
        "--peer-tree",
        type=Path,
        default=ROOT,
        help="--peer hearth: the checkout whose bench/sfu_server.py and appliance/ serve B",
    )
    add(
        "--peer-env",
        type=json.loads,
        default={},
        help='--peer hearth: JSON of environment variables for B\'s server, e.g. \'{"X": "1"}\'',
    )
    args = parser.parse_args()
    args.subscribers = [int(s) for s in args.subscribers.split(",") if s]
    args.modes = [m for m in args.modes.split(",") if m]
    if args.peer:
        args.modes = ["forward", "peer" if args.peer == "hearth" else args.peer]
        if args.peer in ("janus", "hearth"):
            args.group = 0
    if args.quick:
        args.subscribers, args.group, args.window, args.warmup = [1, 4], 0, 6.0, 2.0
        args.quiet_wait, args.retries = min(args.quiet_wait, 5.0), 0
    return args


def batches(chosen: list[Scenario], together: bool) -> list[list[Scenario]]:
    """The scenarios in order, one at a time; with `together`, each round's forward scenario
    and its peer's at the same subscriber count as one batch, to run side by side."""
    out: list[list[Scenario]] = []
    for scenario in chosen:
        last = out[-1][0] if out else None
        if (
            together
            and last is not None
            and "direct" not in (last.mode, scenario.mode)
            and (last.run, last.subscribers, last.group)
            == (scenario.run, scenario.subscribers, scenario.group)
        ):
            out[-1].append(scenario)
        else:
            out.append([scenario])
    return out


def side_by_side(
    batch: list[Scenario], args: argparse.Namespace, logs: Path
) -> list[dict[str, Any]]:
    """Run a batch's scenarios at once, each with its own server, publisher and subscribers,
    their measured windows starting together (no reruns: each sees the others' load, which
    is the point)."""
    quiet = wait_for_quiet(args.quiet_wait, args.quiet_threshold)
    barrier = threading.Barrier(len(batch))
    results: list[dict[str, Any]] = [{} for _ in batch]

    def work(at: int, scenario: Scenario) -> None:
        try:
            results[at] = run_scenario(scenario, args, logs, (barrier, quiet))
        except Exception as error:  # before its own try (starting its server): free the others
            barrier.abort()
            results[at] = {"scenario": scenario.name, "error": f"{type(error).__name__}: {error}"}

    threads = [threading.Thread(target=work, args=pair) for pair in enumerate(batch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run in results:
        run["together_with"] = [r["scenario"] for r in results if r is not run]
    return results


def brief(run: dict[str, Any]) -> Any:
    return run.get("error") or {
        "cpu%": run["server"]["cpu_percent_of_a_core"],
        "pkts/s": run["server"].get("forwarded_packets_per_s"),
        "p50": run["latency_ms"].get("p50"),
        "fps_min": run["delivered"]["video_fps_min"],
    }


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    load = {"loadavg_before": [round(v, 2) for v in os.getloadavg()]}
    chosen = scenarios(args)
    if args.quick:
        chosen = [
            s for s in chosen if not (s.mode == "relay" and s.subscribers == 1) and s.run == 1
        ]
    runs = []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-sfu-") as folder:
        logs = args.logs or Path(folder)
        logs.mkdir(parents=True, exist_ok=True)
        for batch in batches(chosen, args.together):
            if len(batch) > 1:
                names = [s.name for s in batch]
                print(f"# {' and '.join(names)}, together ...", file=sys.stderr, flush=True)
                for run in side_by_side(batch, args, logs):
                    runs.append(run)
                    print(f"#   {run['scenario']}: {brief(run)}", file=sys.stderr, flush=True)
                time.sleep(1.0)
                continue
            [scenario] = batch
            print(f"# {scenario.name} ...", file=sys.stderr, flush=True)
            run = run_scenario(scenario, args, logs)
            for _ in range(args.retries):  # someone else's load during the window: again
                if run.get("other_processes_cpu_percent", 0) <= args.disturbed:
                    break
                print(f"#   disturbed ({run['other_processes_cpu_percent']} % of a core used "
                      "by other processes): once more", file=sys.stderr, flush=True)  # fmt: skip
                time.sleep(5.0)
                again = run_scenario(scenario, args, logs)
                again["disturbed_attempts"] = run.get("disturbed_attempts", 0) + 1
                if again.get("other_processes_cpu_percent", 0) < run.get(
                    "other_processes_cpu_percent", 0
                ):
                    run = again
                else:
                    run["disturbed_attempts"] = again["disturbed_attempts"]
            runs.append(run)
            print(f"#   {brief(run)}", file=sys.stderr, flush=True)
            time.sleep(1.0)
    load["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    summary = summarize(runs, args)
    result: dict[str, Any] = {
        "summary": summary,
        "budget": BUDGET,
        "reference": REFERENCE,
        "scenarios": runs,
        "setup": {
            "quick": args.quick,
            "video": f"{args.width}x{args.height} {args.fps} fps VP8 (aiortc encoder), "
            "moving noisy pattern with timestamp bars, "
            + (f"{args.bitrate} kbps fixed" if args.bitrate else "bitrate from the server's REMB"),
            "audio": "440 Hz Opus tone, 20 ms frames",
            "window_s": args.window,
            "warmup_s": args.warmup,
            "server_settings": "CallSettings(addresses=('127.0.0.1',)), defaults otherwise "
            "(9 video and 6 audio slots per subscriber)",
            "cpus": multiprocessing.cpu_count(),
            "python": platform.python_version(),
            "aiortc": _version("aiortc"),
            "av": _version("av"),
            "load": load,
            "run_s": round(time.monotonic() - started, 1),
        },
    }
    if args.peer == "hearth":
        result["setup"]["a"] = {"tree": str(ROOT), "commit": _commit(ROOT)}
        result["setup"]["b"] = {
            "tree": str(args.peer_tree),
            "commit": _commit(args.peer_tree),
            "env": args.peer_env,
        }
    result["caveats"] = caveats(runs, load, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{NAME}_ab" if args.peer == "hearth" else NAME  # an A/B keeps the figures of record
    plot(runs, summary, RESULTS / f"{name}.png")
    for run in runs:
        run.pop("latency_samples", None)
    write_result(name, result)
    print(json.dumps(result, indent=2))
    for row in summary["hearth_vs_janus"]:
        print(f"N={row['subscribers']} (round {row['round']}): Hearth "
              f"{row['hearth_cpu_s_per_s']} CPU-s/s, Janus "
              f"{row['janus_cpu_s_per_s']}: Hearth/Janus {row['hearth_over_janus']} "
              f"(us/packet {row['hearth_us_per_packet']} vs {row['janus_us_per_packet']})",
              file=sys.stderr)  # fmt: skip
    for count, ratio in summary["hearth_over_janus_by_subscribers"].items():
        print(f"N={count}: Hearth/Janus median {ratio['median']} over rounds {ratio['rounds']}",
              file=sys.stderr)  # fmt: skip
    for row in summary["b_vs_a"]:
        print(f"N={row['subscribers']} (round {row['round']}): A {row['a_cpu_s_per_s']} "
              f"CPU-s/s, B {row['b_cpu_s_per_s']}: B/A {row['b_over_a']}", file=sys.stderr)  # fmt: skip
    for count, ratio in summary["b_over_a_by_subscribers"].items():
        print(f"N={count}: B/A median {ratio['median']} over rounds {ratio['rounds']}",
              file=sys.stderr)  # fmt: skip


def _commit(tree: Path) -> str:
    """The commit a checkout is at, with "+changes" if its tracked files differ from it."""
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD"], capture_output=True).returncode
    return head.stdout.strip() + ("+changes" if dirty else "") if head.returncode == 0 else "?"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
