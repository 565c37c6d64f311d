"""The URLs Hearth prints (issue 13: the banner listed LAN addresses while listening only on
127.0.0.1, and `hearth invite create` printed the configured port, not the running one)."""

from __future__ import annotations

import pytest

from appliance import datadir
from appliance.cli import listening_urls, main
from appliance.config import parse
from appliance.net.addresses import lan_addresses

pytestmark = pytest.mark.usefixtures("keep_logging")


def urls_for(host: str, **mdns: object) -> list[str]:
    return listening_urls(parse({"server": {"host": host, "port": 8443}, "mdns": mdns}))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_listening_on_loopback_offers_only_localhost(host):
    assert urls_for(host) == ["https://localhost:8443"]


def test_listening_on_one_address_offers_only_that_address():
    assert urls_for("192.0.2.7") == ["https://192.0.2.7:8443"]
    assert urls_for("fd00::7") == ["https://[fd00::7]:8443"]


def test_listening_everywhere_offers_the_lan_the_mdns_name_and_localhost():
    urls = urls_for("0.0.0.0", enabled=True, host_name="hearth")
    assert urls[-2:] == ["https://hearth.local:8443", "https://localhost:8443"]
    assert len(urls) == len(lan_addresses()) + 2


def test_invite_create_prints_the_running_servers_address(tmp_path, capsys):
    config = tmp_path / "hearth.yaml"
    config.write_text("auth:\n  bcrypt_cost: 4\nmdns:\n  enabled: false\nserver:\n  port: 8443\n")
    data_dir = tmp_path / "data"
    args = ["invite", "create", "--config", str(config), "--data-dir", str(data_dir)]
    assert main(args) == 0
    assert ":8443/signup?invite=" in capsys.readouterr().out
    datadir.prepare(data_dir)
    with datadir.serving(data_dir, ["https://localhost:9443"]):  # `serve --port 9443` runs
        assert main(args) == 0
        assert capsys.readouterr().out.startswith("https://localhost:9443/signup?invite=")
    assert main(args) == 0  # stopped: the file is gone
    assert ":8443/signup?invite=" in capsys.readouterr().out


def test_a_stale_serving_file_is_ignored(tmp_path):
    datadir.prepare(tmp_path)
    (tmp_path / datadir.SERVING_FILE).write_text('{"pid": 999999999, "urls": ["https://x:1"]}')
    assert datadir.serving_urls(tmp_path) is None
