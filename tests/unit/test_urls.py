"""The URLs Hearth prints (issue 13: the banner listed LAN addresses while listening only on
127.0.0.1, and `hearth invite create` printed the configured port, not the running one)."""

from __future__ import annotations

import io

import pytest

from appliance import datadir
from appliance.cli import listening_urls, main
from appliance.config import parse
from appliance.net.addresses import lan_addresses
from appliance.net.tls import ensure_certificate
from appliance.server import banner

pytestmark = pytest.mark.usefixtures("keep_logging")


def urls_for(host: str, **mdns: object) -> list[str]:
    return listening_urls(parse({"server": {"host": host, "port": 8443}, "mdns": mdns}))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_listening_on_loopback_offers_only_localhost(host):
    assert urls_for(host) == ["https://localhost:8443"]


def test_listening_on_one_address_offers_only_that_address():
    assert urls_for("192.0.2.7") == ["https://192.0.2.7:8443"]
    assert urls_for("fd00::7") == ["https://[fd00::7]:8443"]


def test_listening_everywhere_offers_the_mdns_name_the_lan_and_localhost():
    urls = urls_for("0.0.0.0", enabled=True, host_name="hearth")
    assert urls[0] == "https://hearth.local:8443"  # the name that survives a new address
    assert urls[-1] == "https://localhost:8443"
    assert urls[1:-1] == [
        f"https://[{a}]:8443" if a.version == 6 else f"https://{a}:8443" for a in lan_addresses()
    ]


LINK_COMMANDS = [
    (["invite", "create"], "/signup?invite="),
    (["user", "reset-link", "ada"], "/reset?token="),
]


@pytest.mark.parametrize(("command", "path"), LINK_COMMANDS, ids=["invite", "reset"])
def test_links_are_printed_with_every_address(tmp_path, capsys, monkeypatch, command, path):
    config = tmp_path / "hearth.yaml"
    config.write_text(
        "auth:\n  bcrypt_cost: 4\nmdns:\n  enabled: true\n  host_name: hearth\n"
        "server:\n  host: 0.0.0.0\n  port: 8443\n"
    )
    common = ["--config", str(config), "--data-dir", str(tmp_path / "data")]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["user", "add", "ada", "--password-stdin", *common]) == 0
    capsys.readouterr()
    assert main([*command, *common]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = urls_for("0.0.0.0", enabled=True, host_name="hearth")
    assert [line.split(path)[0] for line in printed] == expected
    assert len({line.split(path)[1] for line in printed}) == 1  # the same link at each


def test_banner_gives_the_setup_link_and_trust_page_at_every_address(tmp_path):
    made = ensure_certificate(tmp_path, [], [])
    urls = ["https://hearth.local:8443", "https://192.0.2.7:8443", "https://localhost:8443"]
    text = banner(made, urls, "t0ken")
    for url in urls:
        assert f"  {url}/setup?token=t0ken\n" in text
    assert "https://hearth.local:8443/trust" in text
    assert made.ca_fingerprint_sha256 is not None and made.ca_fingerprint_sha256 in text
    assert "/setup" not in banner(made, urls, None)


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
