"""Config: the example documents every key with its default; bad files name the bad key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from appliance.config import ConfigError, Settings, load, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "hearth.example.yaml"


def _model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _model_keys(annotation, f"{path}.")
        else:
            keys.add(path)
    return keys


def _yaml_keys(node: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for name, value in node.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            keys |= _yaml_keys(value, f"{path}.")
        else:
            keys.add(path)
    return keys


def test_example_documents_every_key():
    documented = _yaml_keys(yaml.safe_load(EXAMPLE.read_text()))
    assert documented == _model_keys(Settings)


def test_example_shows_the_defaults():
    assert load(EXAMPLE) == Settings()


def test_operator_key_names_are_stable():
    settings = parse(
        {
            "data_dir": "/var/lib/hearth",
            "server": {"host": "::", "port": 443, "http_port": 0},
            "registration": {"mode": "open"},
            "mdns": {"enabled": False},
            "calls": {"addresses": ["192.168.1.10"]},
        }
    )
    assert settings.data_dir == Path("/var/lib/hearth")
    assert (settings.server.host, settings.server.port, settings.server.http_port) == ("::", 443, 0)
    assert settings.registration.mode == "open"
    assert settings.mdns.enabled is False
    assert settings.calls.addresses == ("192.168.1.10",)


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "path", "reason"),
    [
        ({"sever": {"port": 1}}, "sever", "unknown key"),
        ({"server": {"prot": 1}}, "server.prot", "unknown key"),
        ({"server": {"port": 70000}}, "server.port", "less than or equal to 65535"),
        ({"server": {"port": "https"}}, "server.port", "valid integer"),
        ({"registration": {"mode": "maybe"}}, "registration.mode", "'open', 'invite' or 'closed'"),
        ({"limits": {"max_body_bytes": "10 parsecs"}}, "limits.max_body_bytes", "expected a size"),
        (
            {"limits": {"login_per_account": {"count": 0, "per_seconds": 5}}},
            "limits.login_per_account.count",
            "greater than or equal to 1",
        ),
        ({"auth": {"bcrypt_cost": 3}}, "auth.bcrypt_cost", "greater than or equal to 4"),
        ({"tls": {"cert_file": "/etc/cert.pem"}}, "tls", "go together"),
        (
            {"calls": {"addresses": ["not-an-ip"]}},
            "calls.addresses.0",
            "does not appear to be an IPv4 or IPv6",
        ),
        (
            {"calls": {"bitrate_floor_kbps": 500, "bitrate_ceiling_kbps": 200}},
            "calls.bitrate_ceiling_kbps",
            "at least",
        ),
        ({"server": {"public_url": "http://x"}}, "server.public_url", "https://"),
        ({"storage": {"url": "mysql://db/hearth"}}, "storage.url", "postgresql://"),
        ({"bus": {"url": "kafka://x"}}, "bus.url", "redis://"),
        # Several processes tell each other what they stored about one shared database.
        ({"bus": {"url": "redis://127.0.0.1/0"}}, "(top level)", "set storage.url"),
        (
            {"storage": {"url": "postgresql://db/hearth"}, "backup": {"every_hours": 24}},
            "(top level)",
            "pg_dump",
        ),
        ({"files": {"folder": " "}}, "files.folder", "expected a folder's path"),
        ({"files": {"folder": ["a"]}}, "files.folder", "valid path"),
        # Uploads would lie loose among the database, the signing key and the CA.
        ({"data_dir": "/srv/h", "files": {"folder": "/srv/h/"}}, "(top level)", "data folder"),
        ({"files": {"folder": "data/."}}, "(top level)", "folder of its own"),
    ],
)
def test_bad_values_name_the_key(raw, path, reason):
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    message = str(caught.value)
    assert f"  {path}: " in message
    assert reason in message


def test_files_live_in_the_data_folder_unless_files_folder_says_elsewhere():
    assert parse({"data_dir": "/var/lib/hearth"}).files_path == Path("/var/lib/hearth/files")
    shared = parse({"data_dir": "/var/lib/hearth", "files": {"folder": "/mnt/shared/files"}})
    assert shared.files_path == Path("/mnt/shared/files")


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        parse({"server": {"port": 0, "colour": "red"}, "mdns": {"enabled": "perhaps"}})
    message = str(caught.value)
    for path in ("server.port", "server.colour", "mdns.enabled"):
        assert f"  {path}: " in message


def test_sizes_accept_units():
    settings = parse({"limits": {"max_body_bytes": "512 KiB", "max_file_bytes": "1.5 GB"}})
    assert settings.limits.max_body_bytes == 512 * 1024
    assert settings.limits.max_file_bytes == 1_500_000_000


def test_broken_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "hearth.yaml"
    path.write_text("server:\n  port: [8443\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(path)


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "hearth.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.yaml")


def test_empty_file_means_defaults(tmp_path):
    path = tmp_path / "hearth.yaml"
    path.write_text("# nothing set\n")
    assert load(path) == Settings()


def test_command_line_overrides_win(tmp_path):
    path = tmp_path / "hearth.yaml"
    path.write_text("server:\n  port: 9443\n  host: 127.0.0.1\n")
    settings = load(path, {"server.port": 10443, "data_dir": str(tmp_path / "d")})
    assert settings.server.port == 10443
    assert settings.server.host == "127.0.0.1"
    assert settings.data_dir == tmp_path / "d"
