"""Scale-out benchmark (issue 10): stored messages/s and delivery latency to 100 online members
with 1, 2 and 4 `hearth serve` processes on one PostgreSQL and one Redis, against one process
on SQLite (the appliance) in the same run.

Each setup starts fresh: a durable PostgreSQL (fsync on, as in real use) and a redis-server,
both on loopback from Debian's binaries (tests/support/engines.py), then N Hearth processes
sharing one data folder, one database and one Redis stream. Users sign up through the first
process. bench/chat_fanout.py's two phases then run with the WebSocket connections spread
round-robin over the processes:

1. fanout: one group of M members, all online; S senders send R messages/s between them.
   Latency: a member's `message.created` arrival minus the sender's clock before it wrote the
   frame, whichever processes the two are on (so it includes the trip through Redis).
2. throughput: K senders, each in a group of its own, keep W sends in flight for T seconds;
   acknowledged means committed, so acked sends/s = stored messages/s (recounted over REST).

CPU of every Hearth process and of PostgreSQL and Redis is summed per phase. Everything,
load generator included, shares this machine's cores: the figures say what one box does, not
what N boxes would.

Prints JSON and writes bench/results/scale.{json,png}.

    .venv/bin/python bench/scale.py                  # sqlite/1, postgresql/1,2, parallel/1,2,4
    .venv/bin/python bench/scale.py --quick          # a smoke run (small phases)
    .venv/bin/python bench/scale.py --setups postgresql:2 --senders 40
    .venv/bin/python bench/scale.py --setups postgresql-parallel:1,postgresql-parallel:2 \
        --rounds 3                                   # the 2-over-1 ratio, median of 3 rounds

`postgresql-parallel` is PostgreSQL with `storage.parallel_writes: true` (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _common import RESULTS, cpu_seconds, machine_busy_seconds, write_result  # noqa: E402
from chat_fanout import (  # noqa: E402
    Api,
    Conn,
    Phase,
    create_group,
    fanout_figures,
    run_phase,
    server_sections,
    sign_up,
    throughput_figures,
    throughput_groups,
)

from tests.support import engines  # noqa: E402
from tests.support.server import HearthServer, write_config  # noqa: E402

NAME = "scale"
AIM = {"two_processes_over_one": 1.7, "p99_ms": 50.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--setups", default="sqlite:1,postgresql:1,postgresql:2,postgresql-parallel:1,"
        "postgresql-parallel:2,postgresql-parallel:4",
        help="engine:processes, comma-separated")  # fmt: skip
    add("--members", type=int, default=100, help="fanout: online members (M)")
    add("--senders-per-group", type=int, default=1, help="fanout: senders (S)")
    add("--rate", type=float, default=20.0, help="fanout: messages/s (R)")
    add("--duration", type=float, default=15.0, help="fanout: seconds of sending")
    add("--senders", type=int, default=40, help="throughput: senders (K)")
    add("--window", type=int, default=8, help="throughput: sends in flight per sender (W)")
    add("--tp-duration", type=float, default=15.0, help="throughput: seconds (T)")
    add("--procs", type=int, default=2, help="client processes")
    add("--drain", type=float, default=3.0, help="seconds for late deliveries and acks")
    add("--quick", action="store_true", help="smoke run: 20 members, 8 senders, 3 s phases")
    add(
        "--rounds",
        type=int,
        default=1,
        help="every setup this many times, interleaved; the ratios are medians over rounds",
    )
    args = parser.parse_args()
    if args.quick:
        args.members, args.rate, args.duration = 20, 10.0, 3.0
        args.senders, args.tp_duration, args.drain = 8, 3.0, 2.0
    args.setups = [(e, int(n)) for e, _, n in (s.partition(":") for s in args.setups.split(","))]
    return args


class Cluster:
    """N Hearth processes on one engine (and, for PostgreSQL, one Redis), in `folder`."""

    def __init__(self, folder: Path, engine: str, count: int) -> None:
        self.folder = folder
        self.engine = engine
        self.count = count
        self.servers: list[HearthServer] = []
        self.postgres: engines.Postgres | None = None
        self.redis: engines.Redis | None = None

    def start(self) -> Cluster:
        sections = server_sections()
        if self.engine.startswith("postgresql"):
            self.postgres = engines.Postgres(durable=True).start()
            self.redis = engines.Redis().start()
            sections["storage"] = {"url": self.postgres.url,
                                   "parallel_writes": self.engine.endswith("-parallel")}
            sections["bus"] = {"url": self.redis.url}
        data = self.folder / "data"
        for n in range(self.count):
            node = self.folder / f"node{n}"
            node.mkdir()
            config = write_config(node, **sections)
            raw = yaml.safe_load(config.read_text())
            config.write_text(yaml.safe_dump({**raw, "data_dir": str(data)}))
            self.servers.append(HearthServer(config).start(timeout=60))  # the first makes keys
        return self

    def pids(self) -> list[int]:
        found = [s.process.pid for s in self.servers if s.process is not None]
        for engine in (self.postgres, self.redis):
            process = getattr(engine, "_process", None)
            if process is not None:
                found.append(process.pid)
        return found

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for engine in (self.redis, self.postgres):
            if engine is not None:
                engine.stop()


def cpu_of(pids: list[int]) -> float:
    """CPU seconds of these processes (PostgreSQL's backends are its children: counted by the
    whole machine's figure instead)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that is gone
            total += cpu_seconds(pid)
    return total


def cpu_shares(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far of the machine, the Hearth processes, PostgreSQL (every process of
    it: its backends are its children) and Redis; and the wall clock, to divide by."""
    hearth = cpu_of([s.process.pid for s in cluster.servers if s.process is not None])
    redis = getattr(cluster.redis, "_process", None)
    return {
        "wall": time.monotonic(),
        "machine": machine_busy_seconds(),
        "hearth": hearth,
        "postgresql": cpu_of(pids_named("postgres")),
        "redis": cpu_of([redis.pid]) if redis is not None else 0.0,
    }


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
    return found


def run_setup(args: argparse.Namespace, engine: str, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(Path(folder), engine, count).start()
        try:
            first = cluster.servers[0]
            api = Api(first.url)
            urls = [s.url.replace("https://", "wss://") + "/api/v1/ws" for s in cluster.servers]
            users = sign_up(api, first.setup_token(), max(args.members, 2 * args.senders))
            group = create_group(api, users[0], users[1 : args.members], "fanout")
            spacing = 1 / args.rate
            fan_conns = [
                Conn(u.id, u.token, group, f"fs{n}" if n < args.senders_per_group else "",
                     n * spacing if n < args.senders_per_group else 0.0, urls[n % count])
                for n, u in enumerate(users[: args.members])
            ]  # fmt: skip
            args.tp_members = 2
            pairs = throughput_groups(args, users)
            tp_chats = [create_group(api, s, o, f"tp {k}") for k, (s, o) in enumerate(pairs)]
            tp_conns = [
                Conn(s.id, s.token, chat, f"t{k}", 0.0, urls[k % count])
                for k, ((s, _), chat) in enumerate(zip(pairs, tp_chats, strict=True))
            ]
            fan = Phase("fanout", urls[0], args.duration, args.drain,
                        rate_per_sender=args.rate / args.senders_per_group)  # fmt: skip
            tp = Phase("throughput", urls[0], args.tp_duration, args.drain, window=args.window)
            pids = cluster.pids()
            before = cpu_of(pids)
            fan_start, fan_workers = run_phase(fan, fan_conns, args.procs)
            time.sleep(1.0)
            middle = cpu_of(pids)
            shares_before = cpu_shares(cluster)
            tp_start, tp_workers = run_phase(tp, tp_conns, args.procs)
            shares = {k: v - shares_before[k] for k, v in cpu_shares(cluster).items()}
            after = cpu_of(pids)
            logs = "".join(s.log() for s in cluster.servers)
        finally:
            cluster.stop()
    fanout, _ = fanout_figures(fan_start, fan, fan_workers)
    throughput, _ = throughput_figures(tp_start, tp, tp_workers)
    return {
        "engine": engine,
        "processes": count,
        "stored_per_s": throughput["stored_per_s"],
        "acked_ok": throughput["acked_ok"],
        "ack_latency_ms": throughput.get("ack_latency_ms"),
        "delivery_latency_ms": fanout["delivery_latency_ms"],
        "deliveries": fanout["deliveries"],
        "expected_deliveries": fanout["expected_deliveries"],
        "send_errors": {**fanout["send_errors"], **throughput["send_errors"]},
        "server_cpu_s": {
            "fanout": round(middle - before, 2),
            "throughput": round(after - middle, 2),
        },
        # Cores busy during the throughput phase, whole machine and by whom: the load
        # generator is what the machine did beyond Hearth, PostgreSQL and Redis.
        "throughput_cores_busy": {
            who: round(seconds / shares["wall"], 2)
            for who, seconds in shares.items()
            if who != "wall"
        },
        "announcements_read_back": logs.count("never announced"),
        "tracebacks_in_logs": logs.count("Traceback"),
    }


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['engine']}\n{r['processes']} process{'es' if r['processes'] > 1 else ''}"
              + (f" #{r['round']}" if r.get("round", 1) > 1 else "")
              for r in runs]  # fmt: skip
    fig, (left, right, cores) = plt.subplots(1, 3, figsize=(16, 4.2))
    left.bar(labels, [r["stored_per_s"] for r in runs], color="#4a7")
    left.set_title("Stored messages/s (acknowledged = committed)")
    for x, r in enumerate(runs):
        left.annotate(f"{r['stored_per_s']:.0f}", (x, r["stored_per_s"]), ha="center", va="bottom")
    p50 = [r["delivery_latency_ms"].get("p50", 0) for r in runs]
    p99 = [r["delivery_latency_ms"].get("p99", 0) for r in runs]
    xs = range(len(runs))
    right.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50", color="#58c")
    right.bar([x + 0.2 for x in xs], p99, width=0.4, label="p99", color="#c85")
    right.axhline(AIM["p99_ms"], color="gray", linestyle="--", linewidth=1, label="p99 aim")
    right.set_xticks(list(xs), labels)
    right.set_title("Delivery to 100 online members (ms)")
    right.legend()
    bottom = [0.0] * len(runs)
    busy = [r.get("throughput_cores_busy", {}) for r in runs]
    parts = {"hearth": "#4a7", "postgresql": "#58c", "redis": "#c55"}
    for who, color in parts.items():
        heights = [b.get(who, 0.0) for b in busy]
        cores.bar(list(xs), heights, bottom=bottom, label=who, color=color)
        bottom = [a + h for a, h in zip(bottom, heights, strict=True)]
    rest = [max(0.0, b.get("machine", 0.0) - top) for b, top in zip(busy, bottom, strict=True)]
    cores.bar(list(xs), rest, bottom=bottom, label="load generator, rest", color="#bbb")
    cores.axhline(multiprocessing.cpu_count(), color="gray", linestyle="--", linewidth=1,
                  label="cores")  # fmt: skip
    cores.set_xticks(list(xs), labels)
    cores.set_title("Cores busy while storing as fast as it can")
    cores.legend(fontsize=8)
    fig.suptitle(f"Hearth scale-out on one {multiprocessing.cpu_count()}-core machine")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def ratios_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Stored/s of N processes over one process's, and PostgreSQL's over SQLite's, among these
    runs (one round)."""
    by = {(r["engine"], r["processes"]): r for r in runs}
    ratios: dict[str, float] = {}
    for engine in ("postgresql", "postgresql-parallel"):
        first = by.get((engine, 1))
        for count in (2, 4):
            more = by.get((engine, count))
            if first and more and first["stored_per_s"]:
                ratios[f"{engine}_{count}_over_1"] = round(
                    more["stored_per_s"] / first["stored_per_s"], 2
                )
    one = by.get(("postgresql", 1))
    sqlite = by.get(("sqlite", 1))
    if sqlite and one and sqlite["stored_per_s"]:
        ratios["postgresql_1_over_sqlite_1"] = round(
            one["stored_per_s"] / sqlite["stored_per_s"], 2
        )
    return ratios


def main() -> None:
    args = parse_args()
    runs = []
    # Rounds interleave: on this shared machine one setup's throughput moves +-8 % from one
    # run to the next, and a drift then touches every setup alike.
    for round_ in range(1, args.rounds + 1):
        for engine, count in args.setups:
            print(f"# {engine} x {count} (round {round_}) ...", file=sys.stderr, flush=True)
            runs.append(run_setup(args, engine, count) | {"round": round_})
            print(f"#   {runs[-1]['stored_per_s']:.0f} stored/s, "
                  f"p99 {runs[-1]['delivery_latency_ms'].get('p99')} ms",
                  file=sys.stderr)  # fmt: skip
    by_round = [ratios_of([r for r in runs if r["round"] == n]) for n in range(1, args.rounds + 1)]
    ratios = {
        name: round(statistics.median(each[name] for each in by_round), 2)
        for name in by_round[0]
        if all(name in each for each in by_round)
    }
    result = {
        "runs": runs,
        "ratios": ratios,
        "ratios_by_round": by_round,
        "aim": AIM,
        "setup": {
            "members": args.members,
            "rate": args.rate,
            "senders": args.senders,
            "window": args.window,
            "quick": args.quick,
            "cpus": multiprocessing.cpu_count(),
            "python": platform.python_version(),
        },
        "caveats": [
            "Load generator, PostgreSQL, Redis and every Hearth process share this machine's "
            "cores: more processes compete for the same two cores.",
            "PostgreSQL runs durable (fsync on). postgresql: the processes' writes take turns "
            "(one lock from BEGIN). postgresql-parallel: they run side by side and take the "
            "lock only to number their events and commit.",
        ],
    }
    write_result(NAME, result)
    plot(runs, RESULTS / f"{NAME}.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
