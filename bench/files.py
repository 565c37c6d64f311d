"""Files benchmark: upload and download throughput over HTTPS on loopback, the server's memory
while it streams, and how long a 12-megapixel photo's thumbnail takes.

Runs the real server (`hearth serve`) as a subprocess with a temp data folder and measures:
- one 50 MB upload and its download (and a 1 GB one with --big; it needs ~3 GB of /tmp);
- 8 parallel 10 MB uploads;
- the server's RSS sampled every 50 ms during each (streaming: it must stay flat);
- a 12-megapixel JPEG: `media.examine` in this process (thumbnail, metadata stripped) and the
  whole upload as the server does it.
Prints JSON and writes bench/results/files.{json,png}.

    .venv/bin/python bench/files.py [--big] [--runs 3]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import ProcessSampler, write_result  # noqa: E402
from tests.support.server import HearthServer, insecure_context, write_config  # noqa: E402

NAME = "files"
MB = 1024 * 1024
BLOCK = 1 * MB  # what the client reads and writes at a time
BUDGET = {"throughput_mb_s": 100.0, "rss_growth_mb": 30.0, "thumbnail_s": 0.5}
PASSWORD = "bench-password-1"
HUGE = {"count": 1_000_000, "per_seconds": 1}


def server_sections() -> dict[str, Any]:
    return {
        "registration": {"mode": "open"},
        "calls": {"enabled": False},
        "logging": {"access_log": False},
        "limits": {
            "max_file_bytes": "2 GB",
            "uploads_per_user": HUGE,
            "signup_per_address": HUGE,
            "login_per_address": HUGE,
        },
    }


class Client:
    """One HTTPS connection to the server, as one signed-in person."""

    def __init__(self, server: HearthServer, token: str) -> None:
        self.server = server
        self.token = token
        self.conn = http.client.HTTPSConnection(
            "127.0.0.1", server.port, context=insecure_context(), timeout=300, blocksize=BLOCK
        )

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def upload(self, path: Path) -> dict[str, Any]:
        size = path.stat().st_size
        with path.open("rb") as body:
            self.conn.request(
                "POST", "/api/v1/files", body=body,
                headers=self.headers(**{"Content-Length": str(size), "X-File-Name": path.name}),
            )  # fmt: skip
            answer = self.conn.getresponse()
            data = answer.read()
        if answer.status != 201:
            raise RuntimeError(f"upload: {answer.status} {data[:300]!r}")
        result: dict[str, Any] = json.loads(data)
        return result

    def download(self, file_id: int) -> int:
        self.conn.request("GET", f"/api/v1/files/{file_id}", headers=self.headers())
        answer = self.conn.getresponse()
        got = 0
        while chunk := answer.read(BLOCK):
            got += len(chunk)
        if answer.status != 200:
            raise RuntimeError(f"download: {answer.status}")
        return got

    def close(self) -> None:
        self.conn.close()


def json_call(server: HearthServer, path: str, body: dict[str, Any]) -> Any:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=insecure_context())
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    if answer.status >= 300:
        raise RuntimeError(f"{path}: {answer.status} {data[:300]!r}")
    return json.loads(data)


def random_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    with path.open("wb") as out:
        left = size
        while left:
            piece = os.urandom(min(left, 4 * MB))
            out.write(piece)
            left -= len(piece)
    return path


def phase(sampler: ProcessSampler, work: Any) -> tuple[Any, dict[str, float], float]:
    """Run `work()`; what it returned, the server's CPU and RSS meanwhile, and its seconds.
    RSS growth is the peak during the phase over the RSS just before it."""
    time.sleep(0.2)  # a sample or two before
    before = sampler.samples[-1].rss_mb
    start = time.time_ns()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    end = time.time_ns()
    time.sleep(0.2)
    usage = sampler.usage(start, end)
    usage["rss_before_mb"] = round(before, 1)
    usage["rss_growth_mb"] = round(usage.get("peak_rss_mb", before) - before, 1)
    return result, usage, seconds


def per_cpu_second(size: int, seconds: float, usage: dict[str, float]) -> float | None:
    cpu = usage.get("cpu_percent")
    return round(size / MB / (seconds * cpu / 100), 1) if cpu else None


def one_big_file(
    sampler: ProcessSampler, server: HearthServer, token: str, path: Path
) -> dict[str, Any]:
    size = path.stat().st_size
    client = Client(server, token)  # new: making the file took longer than keep-alive
    uploaded, up_usage, up_s = phase(sampler, lambda: client.upload(path))
    got, down_usage, down_s = phase(sampler, lambda: client.download(uploaded["id"]))
    assert got == uploaded["size"] == size, (got, uploaded["size"], size)
    client.close()
    path.unlink()
    return {
        "size_mb": round(size / MB),
        "upload_mb_s": round(size / MB / up_s, 1),
        "download_mb_s": round(size / MB / down_s, 1),
        # What the server does per second of its own CPU: the figure the machine's other
        # load changes least (the client shares these 2 cores).
        "upload_mb_per_server_cpu_s": per_cpu_second(size, up_s, up_usage),
        "download_mb_per_server_cpu_s": per_cpu_second(size, down_s, down_usage),
        "upload": up_usage,
        "download": down_usage,
    }


def parallel_uploads(
    sampler: ProcessSampler, server: HearthServer, token: str, folder: Path
) -> dict[str, Any]:
    files = [random_file(folder, f"p{n}.bin", 10 * MB) for n in range(8)]
    clients = [Client(server, token) for _ in files]

    def run() -> list[dict[str, Any]]:
        with ThreadPoolExecutor(len(files)) as pool:
            return list(
                pool.map(lambda pair: pair[0].upload(pair[1]), zip(clients, files, strict=True))
            )

    results, usage, seconds = phase(sampler, run)
    for client in clients:
        client.close()
    for path in files:
        path.unlink()
    assert len(results) == 8
    return {
        "files": 8,
        "each_mb": 10,
        "seconds": round(seconds, 2),
        "total_mb_s": round(80 / seconds, 1),
        **usage,
    }


def twelve_megapixels() -> bytes:
    """A 4000 x 3000 photo-like JPEG (smooth gradients and some noise), with EXIF."""
    from PIL import Image

    width, height = 4000, 3000
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = Image.effect_noise((width, height), 24)
    image = Image.merge("RGB", (red, green, blue))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def thumbnail(
    sampler: ProcessSampler, server: HearthServer, token: str, folder: Path, runs: int
) -> dict[str, Any]:
    from appliance.services import filetypes, media

    photo = folder / "photo.jpg"
    photo.write_bytes(twelve_megapixels())
    examine_s = []
    for n in range(runs):
        started = time.perf_counter()
        facts = media.examine(
            photo,
            filetypes.JPEG,
            lambda suffix, n=n: folder / f"t{n}{suffix}",
            max_pixels=50_000_000,
        )
        examine_s.append(time.perf_counter() - started)
        assert facts.thumb is not None and facts.width == 4000
    upload_s = []
    peak_growth = 0.0
    client = Client(server, token)  # a new connection: the old one idled past keep-alive
    for n in range(runs):
        # Different bytes each time (no dedupe): a byte after the end of the picture.
        variant = folder / f"photo{n}.jpg"
        variant.write_bytes(photo.read_bytes() + bytes([n]))
        answer, usage, seconds = phase(sampler, lambda v=variant: client.upload(v))
        assert answer["thumb_url"] and answer["width"] == 4000, answer
        upload_s.append(seconds)
        peak_growth = max(peak_growth, usage["rss_growth_mb"])
    client.close()
    return {
        "jpeg_mb": round(photo.stat().st_size / MB, 2),
        "examine_s_median": round(statistics.median(examine_s), 3),
        "examine_s": [round(s, 3) for s in examine_s],
        "upload_with_thumbnail_s_median": round(statistics.median(upload_s), 3),
        "upload_rss_growth_mb_max": peak_growth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also a 1 GB file (needs ~3 GB in /tmp)")
    parser.add_argument("--runs", type=int, default=3, help="thumbnail runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        server = HearthServer(write_config(folder, **server_sections()))
        server.start(timeout=30)
        try:
            assert server.process is not None
            json_call(
                server,
                "/api/v1/setup",
                {"token": server.setup_token(), "username": "admin", "password": PASSWORD},
            )
            token = json_call(
                server, "/api/v1/auth/login", {"login": "admin", "password": PASSWORD}
            )["access_token"]
            with ProcessSampler(server.process.pid, interval=0.05) as sampler:
                sizes = {"50mb.bin": 50 * MB, **({"1gb.bin": 1024 * MB} if args.big else {})}
                big = [
                    one_big_file(sampler, server, token, random_file(folder, name, size))
                    for name, size in sizes.items()
                ]
                parallel = parallel_uploads(sampler, server, token, folder)
                thumbs = thumbnail(sampler, server, token, folder, args.runs)
                samples = [(s.t_ns, s.rss_mb) for s in sampler.samples]
        finally:
            server.stop()
    result = {
        "big_files": big,
        "parallel_uploads": parallel,
        "thumbnail_12mp": thumbs,
        "budget": BUDGET,
        "cpus": os.cpu_count(),
    }
    path = write_result(NAME, result)
    plot(result, samples, path.with_suffix(".png"))
    print(json.dumps(result, indent=2))


def plot(result: dict[str, Any], samples: list[tuple[int, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    labels, ups, downs = [], [], []
    for run in result["big_files"]:
        labels.append(f"{run['size_mb']} MB")
        ups.append(run["upload_mb_s"])
        downs.append(run["download_mb_s"])
    labels.append("8 x 10 MB")
    ups.append(result["parallel_uploads"]["total_mb_s"])
    downs.append(0)
    x = range(len(labels))
    left.bar([i - 0.2 for i in x], ups, width=0.4, label="upload", color="#2563eb")
    left.bar([i + 0.2 for i in x], downs, width=0.4, label="download", color="#059669")
    left.axhline(BUDGET["throughput_mb_s"], color="#dc2626", linestyle="--", label="aim 100 MB/s")
    left.set_xticks(list(x), labels)
    left.set_ylabel("MB/s over HTTPS (loopback)")
    left.set_title("throughput")
    left.legend()
    t0 = samples[0][0]
    right.plot([(t - t0) / 1e9 for t, _ in samples], [rss for _, rss in samples], color="#7c3aed")
    right.set_xlabel("seconds")
    right.set_ylabel("server RSS (MB)")
    right.set_title("server memory during the whole run")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
