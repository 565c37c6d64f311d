"""A real `hearth serve` subprocess on free loopback ports, for end-to-end and fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.waiting import eventually, wait_for

SETUP_LINK = re.compile(r"https://\S+/setup\?token=(\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def insecure_context() -> ssl.SSLContext:
    """The server's certificate is self-signed; tests check its fingerprint separately."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def config_dict(data_dir: Path, **sections: Any) -> dict[str, Any]:
    """Test settings as YAML would hold them: fast bcrypt, no mDNS, loopback call media,
    everything else as shipped unless a section overrides it."""
    raw: dict[str, Any] = {
        "data_dir": str(data_dir),
        "auth": {"bcrypt_cost": 4},
        "mdns": {"enabled": False},
        "calls": {"addresses": ["127.0.0.1"]},
    }
    from tests.support import engines  # (it imports this module)

    url = engines.test_database_url(Path(data_dir).resolve())  # HEARTH_TEST_STORAGE
    if url is not None:
        raw["storage"] = {"url": url}
    for key, value in sections.items():
        if isinstance(value, dict):
            raw.setdefault(key, {}).update(value)
        else:
            raw[key] = value
    return raw


def write_config(folder: Path, **sections: Any) -> Path:
    """A hearth.yaml in `folder` for a server on free loopback ports."""
    server = {"host": "127.0.0.1", "port": free_port(), "http_port": free_port()}
    raw = config_dict(folder / "data", **{"server": server, **sections})
    path = folder / "hearth.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


HIGH = {"count": 100_000, "per_seconds": 1}
# Open sign-up and no limit a test could hit by accident; tests about a limit lower it.
ROOMY_LIMITS = {
    "signup_per_address": HIGH,
    "login_per_address": HIGH,
    "login_per_account": HIGH,
    "messages_per_user": HIGH,
    "changes_per_user": HIGH,
    "chats_per_user": HIGH,
    "ws_frames_per_connection": HIGH,
}


def roomy_config(
    folder: Path,
    limits: dict[str, Any] | None = None,
    shutdown_timeout: float = 1.0,
    **sections: Any,
) -> Path:
    """hearth.yaml for a test server: open sign-up, roomy limits but those given, and a short
    shutdown timeout so a module's server stops quickly."""
    path = write_config(
        folder,
        registration={"mode": "open"},
        limits={**ROOMY_LIMITS, **(limits or {})},
        **sections,
    )
    raw = yaml.safe_load(path.read_text())
    raw["server"]["shutdown_timeout_seconds"] = shutdown_timeout
    path.write_text(yaml.safe_dump(raw))
    return path


class HearthServer:
    """`hearth serve --config FILE` in a subprocess; stop() sends SIGTERM and waits."""

    def __init__(self, config_path: Path, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.env = env or {}
        raw = yaml.safe_load(config_path.read_text())
        self.port = int(raw["server"]["port"])
        self.http_port = int(raw["server"].get("http_port", 0))
        self.url = f"https://127.0.0.1:{self.port}"
        self.log_path = config_path.parent / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    def start(self, timeout: float = 15.0) -> HearthServer:
        try:
            return self._start(timeout)
        except RuntimeError:
            # A free port picked for the config can be taken by someone else before the server
            # binds it (other tests' browsers open ports all the time): new ports, once.
            if "Address already in use" not in self.log():
                raise
            self._new_ports()
            return self._start(timeout)

    def _new_ports(self) -> None:
        raw = yaml.safe_load(self.config_path.read_text())
        raw["server"]["port"] = self.port = free_port()
        if raw["server"].get("http_port"):
            raw["server"]["http_port"] = self.http_port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.config_path.write_text(yaml.safe_dump(raw))

    def _start(self, timeout: float) -> HearthServer:
        self._log_file = self.log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "--config", str(self.config_path)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_for(self._answers, timeout=timeout, interval=0.05, what="/health")
        except AssertionError:
            self.stop()
            raise RuntimeError(
                f"hearth serve did not answer /health in {timeout}s:\n{self.log()}"
            ) from None
        return self

    def _answers(self) -> bool:
        """Whether /health answers; a server that has exited fails at once, with its log."""
        assert self.process is not None
        if self.process.poll() is not None:
            self._log_file.close()
            raise RuntimeError(f"hearth serve exited {self.process.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(
                f"{self.url}/health", context=insecure_context(), timeout=1
            ) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def setup_token(self) -> str:
        match = SETUP_LINK.search(self.log())
        if match is None:
            raise AssertionError(f"no setup link printed:\n{self.log()}")
        return match.group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                stacks = self._stacks()
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"hearth serve still running {timeout}s after {signal.Signals(sig).name}; "
                    f"where it waited:\n{stacks}"
                ) from None
            finally:
                self._log_file.close()
        return int(self.process.returncode)

    def _stacks(self) -> str:
        """Every thread's stack of a server that does not stop (`hearth serve` prints them on
        SIGUSR1), with the log before them."""
        assert self.process is not None
        before = len(self.log())
        self.process.send_signal(signal.SIGUSR1)
        seen: list[int] = []

        def written() -> bool:  # the main thread's stack is there and the dump has ended
            text = self.log()[before:]
            seen.append(len(text))
            return "Current thread" in text and len(seen) > 1 and seen[-1] == seen[-2]

        with contextlib.suppress(AssertionError):
            wait_for(written, timeout=3, interval=0.1, what="a stack dump")
        return self.log()

    async def stop_without_blocking(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM, then wait while the test's event loop keeps running (so its sockets can
        answer the server's close); the exit code and how long the stop took."""
        assert self.process is not None
        process = self.process
        loop = asyncio.get_running_loop()
        started = loop.time()
        process.send_signal(signal.SIGTERM)
        try:
            await eventually(
                lambda: process.poll() is not None,
                timeout=timeout,
                interval=0.05,
                what=f"hearth serve to stop after SIGTERM (still running {timeout}s after)",
            )
        except AssertionError as error:
            stacks = self._stacks()
            process.kill()
            process.wait()
            raise AssertionError(f"{error}; where it waited:\n{stacks}") from None
        finally:
            self._log_file.close()
        return int(process.returncode), loop.time() - started

    def __enter__(self) -> HearthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
