"""TLS files and data folders the config names but Hearth cannot use (issue 13: they printed a
Python traceback, and check-config called a config with a missing certificate valid). Each is
one clear line on stderr and exit code 2, like any other config error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cli import main
from tests.support.mounts import tmpfs

FAST = "auth:\n  bcrypt_cost: 4\nmdns:\n  enabled: false\nserver:\n  http_port: 0\n"


pytestmark = pytest.mark.usefixtures("keep_logging")


def config_with_tls(tmp_path: Path, cert: str | None, key: str | None) -> Path:
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    if cert is not None:
        cert_file.write_text(cert)
    if key is not None:
        key_file.write_text(key)
    config = tmp_path / "hearth.yaml"
    config.write_text(FAST + f"tls:\n  cert_file: {cert_file}\n  key_file: {key_file}\n")
    return config


def one_clear_line(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("hearth: ") and "Traceback" not in err
    for word in words:
        assert word in lines[0], err


@pytest.mark.parametrize("command", ["check-config", "serve", "init"])
@pytest.mark.parametrize(
    ("cert", "key", "says"),
    [
        (None, None, "not found"),
        ("not a certificate\n", "not a key\n", "does not hold a PEM certificate"),
    ],
    ids=["missing", "garbage"],
)
def test_unusable_tls_files_are_one_line_and_exit_2(tmp_path, capsys, command, cert, key, says):
    config = config_with_tls(tmp_path, cert, key)
    code = main([command, "--config", str(config), "--data-dir", str(tmp_path / "data")])
    assert code == 2
    one_clear_line(capsys.readouterr().err, "cert.pem", says)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A read-only file system (root can write anywhere else), or a skip saying why not."""
    with tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        yield folder


@pytest.mark.parametrize("command", ["serve", "init"])
def test_a_read_only_data_folder_is_one_line_and_exit_2(tmp_path, capsys, read_only_folder,
                                                        command):  # fmt: skip
    config = tmp_path / "hearth.yaml"
    config.write_text(FAST)
    data_dir = read_only_folder / "data"
    assert main([command, "--config", str(config), "--data-dir", str(data_dir)]) == 2
    one_clear_line(capsys.readouterr().err, str(data_dir), "Read-only")
