"""What aiortc's delay-based bitrate estimator costs per video frame, as aiortc ships it and
quickened (appliance/sfu/fastpath.quicken: two of its loops made cheap, same results).

The SFU feeds one estimator per publishing camera or screen, once a frame (PerFrame), to make
the REMB it sends the publisher. This feeds both the same 30 fps frames (a steady 33 ms apart,
6,000 bytes each, a few ms of arrival jitter) and times them, in this process, warm, several
rounds each, alternating.

    .venv/bin/python bench/estimator.py [--frames 3000] [--rounds 5]

Prints JSON and writes bench/results/estimator.{json,png}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import write_result  # noqa: E402
from aiortc.rate import RemoteBitrateEstimator  # noqa: E402

from appliance.sfu.fastpath import quicken  # noqa: E402

FRAME_MS = 1000 / 30
SEND_TIME_UNITS = 1 << 18  # abs-send-time: 6.18 fixed point seconds


def per_frame_us(quickened: bool, frames: int, seed: int) -> float:
    """Microseconds per `add`, after a warm-up that fills the estimator's history."""
    estimator = RemoteBitrateEstimator()
    if quickened:
        quicken(estimator)
    rng = random.Random(seed)

    def feed(first: int, count: int) -> None:
        for n in range(first, first + count):
            sent = int(n * FRAME_MS / 1000 * SEND_TIME_UNITS) & 0xFFFFFF
            arrival = 1_000_000 + int(n * FRAME_MS) + rng.randint(0, 3)
            estimator.add(arrival_time_ms=arrival, abs_send_time=sent, payload_size=6000, ssrc=1)

    feed(0, 600)
    started = time.perf_counter()
    feed(600, frames)
    return (time.perf_counter() - started) / frames * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds: dict[str, list[float]] = {"aiortc": [], "quickened": []}
    for n in range(args.rounds):
        order = ["aiortc", "quickened"] if n % 2 == 0 else ["quickened", "aiortc"]
        for name in order:
            rounds[name].append(round(per_frame_us(name == "quickened", args.frames, n), 2))
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    result = {
        "us_per_frame_median": medians,
        "quickened_over_aiortc": round(medians["quickened"] / medians["aiortc"], 2),
        "us_per_frame_by_round": rounds,
        "cpu_ms_per_s_at_30_fps": {k: round(v * 30 / 1000, 3) for k, v in medians.items()},
        "frames": args.frames,
        "python": sys.version.split()[0],
        "note": "Warm: the same process feeds frame after frame. In the SFU each frame comes "
        "after a wake-up, with colder caches, and costs more.",
    }
    path = write_result("estimator", result)
    plot(rounds, path.with_suffix(".png"))
    print(json.dumps(result, indent=2))


def plot(rounds: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(6, 3))
    names = list(rounds)
    axis.barh(names, [statistics.median(rounds[n]) for n in names], color=["#9ca3af", "#2563eb"])
    for row, name in enumerate(names):
        axis.plot(rounds[name], [row] * len(rounds[name]), "k.", label="rounds" if row else None)
    axis.set_xlabel("CPU per video frame (us), median and rounds")
    axis.set_title("aiortc's bitrate estimator, as shipped and quickened")
    axis.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
