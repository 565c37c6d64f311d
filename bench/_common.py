"""Helpers for benchmarks: sample a server process through /proc, percentiles, result files.

Linux only (reads /proc/PID/stat and /proc/PID/status). Nothing here starts or stops a server;
tests/support/server.py's HearthServer does that.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of `pid` so far (utime + stime in /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU time all cores of the machine have spent busy (not idle, not iowait) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / _TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Sample:
    t_ns: int  # time.time_ns(), the clock every bench process shares
    cpu_s: float
    rss_mb: float
    machine_busy_s: float  # every process on the machine, to see what else was running


class ProcessSampler:
    """Reads a process's CPU seconds and RSS every `interval` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            try:
                self.samples.append(
                    Sample(
                        time.time_ns(),
                        cpu_seconds(self.pid),
                        rss_mb(self.pid),
                        machine_busy_seconds(),
                    )
                )
            except (FileNotFoundError, ProcessLookupError):
                return  # the process is gone
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def usage(self, start_ns: int, end_ns: int) -> dict[str, float]:
        """CPU as % of one core between the samples nearest the window, and RSS in it;
        also how busy the whole machine was (% of one core, so 2 cores top out at 200)."""
        inside = [s for s in self.samples if start_ns <= s.t_ns <= end_ns]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        wall = (last.t_ns - first.t_ns) / 1e9
        return {
            "cpu_percent": round(100 * (last.cpu_s - first.cpu_s) / wall, 1),
            "peak_rss_mb": round(max(s.rss_mb for s in inside), 1),
            "start_rss_mb": round(first.rss_mb, 1),
            "machine_cpu_percent": round(
                100 * (last.machine_busy_s - first.machine_busy_s) / wall, 1
            ),
        }


def percentiles(values: list[float], points: tuple[int, ...] = (50, 90, 99)) -> dict[str, float]:
    """Nearest-rank percentiles plus max and count; values in whatever unit they come in."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    summary: dict[str, float] = {"count": len(ordered)}
    for point in points:
        rank = max(1, -(-point * len(ordered) // 100))  # ceil(p/100 * n), 1-based
        summary[f"p{point}"] = round(ordered[rank - 1], 2)
    summary["max"] = round(ordered[-1], 2)
    return summary


def fsync_probe(folder: Path, count: int = 100) -> dict[str, float]:
    """Latency (ms) of 4 KiB write + fsync in `folder`: what one durable commit costs at least."""
    path = folder / "fsync-probe"
    latencies = []
    with path.open("wb") as file:
        for _ in range(count):
            file.write(b"x" * 4096)
            file.flush()
            started = time.perf_counter()
            os.fsync(file.fileno())
            latencies.append((time.perf_counter() - started) * 1000)
    path.unlink()
    return percentiles(latencies)


def write_result(name: str, result: dict[str, Any]) -> Path:
    """bench/results/NAME.json; returns the path (the PNG goes beside it)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
