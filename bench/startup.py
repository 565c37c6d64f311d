"""Start-up benchmark: time from `hearth serve` to the first /health answer, and idle memory.

Runs the real server as a subprocess on loopback ports, several times: the first start on an
empty data folder (certificate generation and migrations included), then warm restarts.
Prints JSON and writes bench/results/startup.{json,png}.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import HearthServer, write_config  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(config: Path) -> dict[str, float]:
    server = HearthServer(config)
    started = time.perf_counter()
    server.start(timeout=30)
    ready = time.perf_counter() - started
    time.sleep(1.0)  # let start-up work settle before reading idle memory
    assert server.process is not None
    memory = rss_mb(server.process.pid)
    server.stop()
    return {"ready_s": round(ready, 3), "idle_rss_mb": round(memory, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), auth={"bcrypt_cost": 12})
        runs = [one_start(config) for _ in range(max(2, args.runs))]
    warm = runs[1:]
    result = {
        "first_start": runs[0],
        "warm_ready_s_median": statistics.median(r["ready_s"] for r in warm),
        "warm_idle_rss_mb_median": statistics.median(r["idle_rss_mb"] for r in warm),
        "runs": runs,
        "budget": {"ready_s": 2.0, "idle_rss_mb": 80, "issue_health_within_s": 10},
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.json").write_text(json.dumps(result, indent=2))
    plot(runs, out / "startup.png")
    print(json.dumps(result, indent=2))


def plot(runs: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["first"] + [f"warm {n}" for n in range(1, len(runs))]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.bar(labels, [r["ready_s"] for r in runs], color="#2563eb")
    left.axhline(2.0, color="#dc2626", linestyle="--", label="budget 2 s")
    left.set_title("hearth serve -> first /health (s)")
    left.legend()
    right.bar(labels, [r["idle_rss_mb"] for r in runs], color="#059669")
    right.axhline(80, color="#dc2626", linestyle="--", label="budget 80 MB")
    right.set_title("idle RSS (MB)")
    right.legend()
    for axis in (left, right):
        axis.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
