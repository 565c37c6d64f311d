"""The HTTPS certificate: generation, reuse, renewal, admin-provided pairs, and a real handshake."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import ssl
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from appliance.net.addresses import hostname
from appliance.net.tls import (
    RENEW_BEFORE,
    Certificate,
    TLSError,
    ensure_certificate,
    fingerprint,
    load_certificate,
)


def read_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def san_of(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def openssl_style_fingerprint(cert_path: Path) -> str:
    """What `openssl x509 -fingerprint -sha256` prints (for the first certificate of a chain
    file, as openssl reads it), computed from the DER bytes."""
    footer = "-----END CERTIFICATE-----"
    # PEM_cert_to_DER_cert takes one certificate: given a chain it would decode the rest too.
    first = cert_path.read_text().split(footer)[0] + footer
    der = ssl.PEM_cert_to_DER_cert(first)
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def write_pair(
    directory: Path,
    *,
    names: list[str],
    addresses: list[str],
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> tuple[Path, Path]:
    """A self-signed pair made outside the code under test, to plant in the tls folder."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "planted")])
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def default_names() -> list[str]:
    host = hostname()
    return ["localhost", "hearth.local", host, f"{host}.local"]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- generation ---------------------------------------------------------------------------


def tls_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "tls").iterdir())


def test_generates_a_ca_and_a_pair_with_private_permissions(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, [], [])
    assert result.cert_path == tmp_path / "tls" / "cert.pem"
    assert result.key_path == tmp_path / "tls" / "key.pem"
    assert result.ca_path == tmp_path / "tls" / "ca.pem"
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    assert stat.S_IMODE(result.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls" / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(result.cert_path.stat().st_mode) == 0o644
    assert tls_files(tmp_path) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
    assert result.trusted_fingerprint == result.ca_fingerprint_sha256
    assert result.ca_fingerprint_sha256 == openssl_style_fingerprint(tmp_path / "tls" / "ca.pem")


def test_tightens_an_existing_open_folder(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir(mode=0o755)
    (tmp_path / "tls").chmod(0o755)
    ensure_certificate(tmp_path, [], [])
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


def test_san_covers_defaults_and_what_was_asked(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, ["chat.example.lan", "Kitchen.Local."], ["10.1.2.3"])
    san = san_of(read_cert(result.cert_path))
    expected_names = {*default_names(), "chat.example.lan", "kitchen.local"}
    assert set(san.get_values_for_type(x509.DNSName)) == expected_names
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("10.1.2.3"),
    }


def test_an_address_given_as_a_name_becomes_an_ip_entry(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, ["192.168.7.7"], [])
    san = san_of(read_cert(result.cert_path))
    assert ipaddress.ip_address("192.168.7.7") in san.get_values_for_type(x509.IPAddress)
    assert "192.168.7.7" not in san.get_values_for_type(x509.DNSName)


def test_bad_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not-an-ip"):
        ensure_certificate(tmp_path, [], ["not-an-ip"])


def test_ca_is_a_constrained_p256_authority_named_for_this_machine(tmp_path: Path) -> None:
    ensure_certificate(tmp_path, ["chat.example.lan"], ["192.168.1.20", "2001:db8:5:6::7"])
    ca = read_cert(tmp_path / "tls" / "ca.pem")
    assert ca.issuer == ca.subject
    common_name = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == f"Hearth local CA, {hostname()}"
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is True and basic.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = constraints.value.permitted_subtrees
    assert {p.value for p in permitted if isinstance(p, x509.DNSName)} == {
        *default_names(),
        "chat.example.lan",
    }
    networks = {p.value for p in permitted if isinstance(p, x509.IPAddress)}
    assert ipaddress.ip_network("192.168.0.0/16") in networks
    assert ipaddress.ip_network("127.0.0.0/8") in networks
    # A public address gets its own entry: a v6 one with its /64 (privacy addresses rotate).
    assert ipaddress.ip_network("2001:db8:5:6::/64") in networks
    assert not any(n.prefixlen == 0 for n in networks)
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime >= dt.timedelta(days=3000)


def test_server_certificate_is_a_short_lived_p256_leaf_of_the_ca(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, [], [])
    chain = x509.load_pem_x509_certificates(result.cert_path.read_bytes())
    cert, ca = chain
    assert ca == read_cert(tmp_path / "tls" / "ca.pem")  # the chain served ends with the CA
    cert.verify_directly_issued_by(ca)
    assert cert.issuer == ca.subject
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == f"Hearth on {hostname()}"
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign and not usage.key_encipherment
    extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.not_valid_before_utc < now() - dt.timedelta(minutes=5)
    assert cert.not_valid_before_utc > now() - dt.timedelta(days=2)
    period = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=7) <= period <= dt.timedelta(days=47)  # short-lived, as CAs go


def test_chain_verifies_with_openssl_for_every_name_and_address(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, ["chat.example.lan"], ["192.168.1.20"])
    leaf = read_cert(result.cert_path)
    ca = read_cert(tmp_path / "tls" / "ca.pem")
    # cryptography's own path builder, with the CA as the only root: it enforces the name
    # constraints and the SubjectAltName, as browsers do.
    store = Store([ca])
    for name in [*default_names(), "chat.example.lan"]:
        verifier = PolicyBuilder().store(store).build_server_verifier(DNSName(name))
        assert verifier.verify(leaf, [])[-1] == ca
    for address in ["127.0.0.1", "::1", "192.168.1.20"]:
        subject = IPAddress(ipaddress.ip_address(address))
        verifier = PolicyBuilder().store(store).build_server_verifier(subject)
        verifier.verify(leaf, [])
    stranger = PolicyBuilder().store(store).build_server_verifier(DNSName("example.com"))
    with pytest.raises(VerificationError):
        stranger.verify(leaf, [])


def test_fingerprint_matches_openssl_style_computation(tmp_path: Path) -> None:
    result = ensure_certificate(tmp_path, [], [])
    assert result.fingerprint_sha256 == openssl_style_fingerprint(result.cert_path)
    assert fingerprint(result.cert_path) == result.fingerprint_sha256
    parts = result.fingerprint_sha256.split(":")
    assert len(parts) == 32
    assert all(len(p) == 2 and p == p.upper() for p in parts)


# --- reuse and renewal --------------------------------------------------------------------


def test_second_call_reuses_the_pair(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, ["chat.example.lan"], ["10.1.2.3"])
    key_before = first.key_path.read_bytes()
    second = ensure_certificate(tmp_path, ["chat.example.lan"], ["10.1.2.3"])
    assert second == first
    assert second.key_path.read_bytes() == key_before


def test_asking_for_less_still_reuses(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, ["chat.example.lan"], ["10.1.2.3"])
    assert ensure_certificate(tmp_path, [], []) == first


def test_new_address_issues_a_new_certificate_from_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, [], ["10.1.2.3"])
    key_before = first.key_path.read_bytes()
    second = ensure_certificate(tmp_path, [], ["10.9.9.9"])
    assert second.fingerprint_sha256 != first.fingerprint_sha256
    assert second.ca_fingerprint_sha256 == first.ca_fingerprint_sha256  # nobody trusts again
    assert second.key_path.read_bytes() != key_before
    ips = san_of(read_cert(second.cert_path)).get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.9.9.9") in ips
    assert ipaddress.ip_address("10.1.2.3") not in ips
    assert tls_files(tmp_path) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
    assert stat.S_IMODE(second.key_path.stat().st_mode) == 0o600


def test_renews_before_expiry_with_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, [], [])
    ends = read_cert(first.cert_path).not_valid_after_utc
    assert (
        ensure_certificate(tmp_path, [], [], now=ends - RENEW_BEFORE - dt.timedelta(hours=1))
        == first
    )
    later = ends - RENEW_BEFORE + dt.timedelta(hours=1)
    second = ensure_certificate(tmp_path, [], [], now=later)
    assert second.fingerprint_sha256 != first.fingerprint_sha256
    assert second.ca_fingerprint_sha256 == first.ca_fingerprint_sha256
    assert read_cert(second.cert_path).not_valid_after_utc > later + RENEW_BEFORE


def test_a_name_beyond_the_ca_constraints_makes_a_new_ca_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = ensure_certificate(tmp_path, [], [])
    second = ensure_certificate(tmp_path, ["chat.example.lan"], [])
    assert second.ca_fingerprint_sha256 != first.ca_fingerprint_sha256
    assert "chat.example.lan" in san_of(read_cert(second.cert_path)).get_values_for_type(
        x509.DNSName
    )
    assert "every device must trust Hearth again" in caplog.text
    # A new private address does not: DHCP hands them out within the permitted networks.
    third = ensure_certificate(tmp_path, ["chat.example.lan"], ["172.20.1.1"])
    assert third.ca_fingerprint_sha256 == second.ca_fingerprint_sha256


def test_an_old_self_signed_install_moves_to_the_ca_with_a_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    planted, _ = write_pair(
        tmp_path / "tls",
        names=default_names(),
        addresses=["127.0.0.1", "::1"],
        not_before=now() - dt.timedelta(days=1),
        not_after=now() + dt.timedelta(days=800),
    )
    old = openssl_style_fingerprint(planted)
    result = ensure_certificate(tmp_path, [], [])
    assert result.fingerprint_sha256 != old
    read_cert(result.cert_path).verify_directly_issued_by(read_cert(tmp_path / "tls" / "ca.pem"))
    assert "own local certificate authority" in caplog.text
    assert "fingerprint people see changes this once" in caplog.text


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (dt.timedelta(days=-400), dt.timedelta(days=-1)),  # expired
        (dt.timedelta(days=-10), dt.timedelta(days=5)),  # expires within the renewal window
        (dt.timedelta(days=2), dt.timedelta(days=20)),  # not valid yet
    ],
    ids=["expired", "expiring", "not-yet-valid"],
)
def test_out_of_date_certificate_is_replaced(
    tmp_path: Path, starts: dt.timedelta, ends: dt.timedelta
) -> None:
    first = ensure_certificate(tmp_path, [], [])
    plant_leaf(tmp_path, not_before=now() + starts, not_after=now() + ends)
    old = openssl_style_fingerprint(first.cert_path)
    result = ensure_certificate(tmp_path, [], [])
    assert result.fingerprint_sha256 != old
    assert read_cert(result.cert_path).not_valid_after_utc > now() + RENEW_BEFORE


def test_planted_good_certificate_is_reused(tmp_path: Path) -> None:
    # Guards the test above: a leaf of this CA that is in date and covers everything is kept.
    ensure_certificate(tmp_path, [], [])
    plant_leaf(
        tmp_path, not_before=now() - dt.timedelta(days=1), not_after=now() + dt.timedelta(days=25)
    )
    old = openssl_style_fingerprint(tmp_path / "tls" / "cert.pem")
    assert ensure_certificate(tmp_path, [], []).fingerprint_sha256 == old


def plant_leaf(data_dir: Path, *, not_before: dt.datetime, not_after: dt.datetime) -> None:
    """A server certificate from the stored CA with the given dates, made outside the code
    under test."""
    tls_dir = data_dir / "tls"
    ca = read_cert(tls_dir / "ca.pem")
    ca_key = serialization.load_pem_private_key((tls_dir / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in default_names()]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "planted")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tls_dir / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tls_dir / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.parametrize("victim", ["cert.pem", "key.pem"])
def test_corrupt_file_is_replaced(tmp_path: Path, victim: str) -> None:
    first = ensure_certificate(tmp_path, [], [])
    (tmp_path / "tls" / victim).write_bytes(b"-----BEGIN GARBAGE-----\nnope\n")
    second = ensure_certificate(tmp_path, [], [])
    assert second.fingerprint_sha256 != first.fingerprint_sha256
    assert load_certificate(second.cert_path, second.key_path).fingerprint_sha256 == (
        second.fingerprint_sha256
    )


def test_key_from_another_pair_is_replaced(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, [], [])
    other = ensure_certificate(tmp_path / "other", [], [])
    first.key_path.write_bytes(other.key_path.read_bytes())
    second = ensure_certificate(tmp_path, [], [])
    assert second.fingerprint_sha256 not in {first.fingerprint_sha256, other.fingerprint_sha256}
    assert load_certificate(second.cert_path, second.key_path).fingerprint_sha256 == (
        second.fingerprint_sha256
    )


def test_missing_key_is_replaced(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, [], [])
    first.key_path.unlink()
    second = ensure_certificate(tmp_path, [], [])
    assert second.fingerprint_sha256 != first.fingerprint_sha256
    assert second.key_path.exists()


def test_leftover_temp_files_are_removed(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    leftover = tmp_path / "tls" / ".key.pem.abc123.tmp"
    leftover.write_bytes(b"half a key")
    ensure_certificate(tmp_path, [], [])
    assert not leftover.exists()


def test_unwritable_folder_raises_tls_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(TLSError, match="cannot set up the TLS certificate"):
        ensure_certificate(blocker, [], [])


# --- admin-provided pairs -----------------------------------------------------------------


def test_load_certificate_accepts_a_matching_pair(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path, [], [])
    loaded = load_certificate(made.cert_path, made.key_path)
    assert loaded == Certificate(made.cert_path, made.key_path, made.fingerprint_sha256)


def test_load_certificate_takes_the_first_of_a_chain(tmp_path: Path) -> None:
    leaf = ensure_certificate(tmp_path / "leaf", [], [])
    other = ensure_certificate(tmp_path / "other", [], [])
    chain = tmp_path / "fullchain.pem"
    chain.write_bytes(leaf.cert_path.read_bytes() + other.cert_path.read_bytes())
    assert load_certificate(chain, leaf.key_path).fingerprint_sha256 == leaf.fingerprint_sha256


def test_load_certificate_refuses_a_mismatched_key(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path / "a", [], [])
    second = ensure_certificate(tmp_path / "b", [], [])
    with pytest.raises(TLSError, match="does not belong to the certificate"):
        load_certificate(first.cert_path, second.key_path)


def test_load_certificate_reports_missing_files(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path, [], [])
    with pytest.raises(TLSError, match="certificate file not found"):
        load_certificate(tmp_path / "nope.pem", made.key_path)
    with pytest.raises(TLSError, match="private key file not found"):
        load_certificate(made.cert_path, tmp_path / "nope.key")


def test_load_certificate_reports_files_that_do_not_parse(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path, [], [])
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    with pytest.raises(TLSError, match="does not hold a PEM certificate"):
        load_certificate(junk, made.key_path)
    with pytest.raises(TLSError, match="does not hold a PEM private key"):
        load_certificate(made.cert_path, junk)
    # A key where the certificate should be is a classic mix-up.
    with pytest.raises(TLSError, match="does not hold a PEM certificate"):
        load_certificate(made.key_path, made.cert_path)


def test_load_certificate_refuses_an_encrypted_key(tmp_path: Path) -> None:
    made = ensure_certificate(tmp_path, [], [])
    key = serialization.load_pem_private_key(made.key_path.read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(TLSError, match="encrypted"):
        load_certificate(made.cert_path, locked)


def test_load_certificate_warns_about_an_expired_pair(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cert_path, key_path = write_pair(
        tmp_path,
        names=["localhost"],
        addresses=[],
        not_before=now() - dt.timedelta(days=400),
        not_after=now() - dt.timedelta(days=1),
    )
    loaded = load_certificate(cert_path, key_path)
    assert loaded.fingerprint_sha256 == openssl_style_fingerprint(cert_path)
    assert "valid only from" in caplog.text


# --- a real handshake ---------------------------------------------------------------------


async def test_generated_certificate_serves_tls_to_a_client_that_trusts_it(
    tmp_path: Path,
) -> None:
    made = ensure_certificate(tmp_path, [], [])
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(made.cert_path, made.key_path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"pong:" + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(made.ca_path))
    assert client_context.check_hostname
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context, server_hostname="localhost"
        )
        writer.write(b"ping\n")
        reply = await reader.read()
        peer_der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    assert reply == b"pong:ping\n"
    assert ":".join(f"{b:02X}" for b in hashlib.sha256(peer_der).digest()) == (
        made.fingerprint_sha256
    )


async def test_client_refuses_a_name_the_certificate_does_not_cover(tmp_path: Path) -> None:
    # Shows the handshake test above really checks the host name.
    made = ensure_certificate(tmp_path, [], [])
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(made.cert_path, made.key_path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(made.ca_path))
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context, server_hostname="elsewhere.example"
            )
    finally:
        server.close()
        await server.wait_closed()


def test_processes_starting_at_once_on_a_shared_folder_make_one_authority(tmp_path):
    """Eight at once (threads: each opens the lock file on its own, as processes do), ten
    times over: one CA, one certificate, that every one of them serves."""
    for round_ in range(10):
        data = tmp_path / f"data{round_}"
        barrier = threading.Barrier(8)

        def made(data: Path = data, barrier: threading.Barrier = barrier) -> tuple[str, str]:
            barrier.wait()
            certificate = ensure_certificate(data, [], [])
            return str(certificate.ca_fingerprint_sha256), certificate.fingerprint_sha256

        with ThreadPoolExecutor(8) as pool:
            seen = set(pool.map(lambda _: made(), range(8)))
        assert len(seen) == 1, seen
        ca, served = seen.pop()
        assert fingerprint(data / "tls" / "ca.pem") == ca
        assert fingerprint(data / "tls" / "cert.pem") == served
