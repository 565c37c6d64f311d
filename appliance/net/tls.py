"""The HTTPS certificate: a self-signed one made on first run, or the admin's own pair.

Browsers only grant camera and microphone to a secure context, and `http://hearth.local`
is not one, so Hearth always serves HTTPS. With no internet there is no ACME; the
certificate is self-signed and users trust it once (docs/ explains how), so it must stay
the same across restarts for as long as it still covers the names users type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.net.addresses import IPAddress, hostname

log = logging.getLogger(__name__)

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
# Apple platforms reject TLS server certificates valid for longer than 825 days.
VALIDITY = dt.timedelta(days=825)
# Renew well before expiry so a user never meets an expired certificate.
RENEW_BEFORE = dt.timedelta(days=30)
# Back-date a little so clients whose clocks run behind still accept a fresh certificate.
BACKDATE = dt.timedelta(days=1)
_TEMP_SUFFIX = ".tmp"
_COMMON_NAME_MAX = 64  # X.520 upper bound; cryptography refuses longer values


class TLSError(Exception):
    """A certificate or key that cannot be used, with a message meant for the admin."""


@dataclass(frozen=True, slots=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint_sha256: str  # "AB:CD:...", what users compare when they trust it


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What the certificate must cover: DNS names (lower case) and IP addresses."""

    names: frozenset[str]
    addresses: frozenset[IPAddress]


def ensure_certificate(
    data_dir: Path, names: Sequence[str], addresses: Sequence[str]
) -> Certificate:
    """Reuse data_dir/tls/{cert,key}.pem if still good for these names, else make a new pair.

    The SubjectAltName always covers localhost, hearth.local, the host name and
    <hostname>.local, 127.0.0.1 and ::1, plus `names` and `addresses`. A new pair replaces
    the old one completely (new key too), so nothing stale survives a change of names.
    """
    wanted = _wanted(names, addresses)
    tls_dir = data_dir / "tls"
    cert_path, key_path = tls_dir / CERT_FILE, tls_dir / KEY_FILE
    try:
        _prepare_dir(tls_dir)
        problem = _reuse_problem(cert_path, key_path, wanted)
        if problem is None:
            return Certificate(cert_path, key_path, fingerprint(cert_path))
        log.info("making a new TLS certificate in %s: %s", tls_dir, problem)
        cert_pem, key_pem = _generate(wanted)
        # Key first: if we die between the two writes, the pair no longer matches and
        # the next start regenerates instead of serving a certificate without its key.
        _write_atomically(key_path, key_pem, 0o600)
        _write_atomically(cert_path, cert_pem, 0o644)
    except OSError as exc:
        raise TLSError(f"cannot set up the TLS certificate in {tls_dir}: {exc}") from exc
    return Certificate(cert_path, key_path, fingerprint(cert_path))


def load_certificate(cert_file: Path, key_file: Path) -> Certificate:
    """Check an admin-provided certificate and key and describe them.

    Raises TLSError if either file is missing or unreadable, does not parse, or the key
    does not belong to the certificate. An expired certificate is only logged: it still
    encrypts, and the admin may be in the middle of replacing it.
    """
    cert = _read_cert(cert_file)
    key = _read_key(key_file)
    if not _key_matches(cert, key):
        raise TLSError(f"the key in {key_file} does not belong to the certificate in {cert_file}")
    if _expiry_problem(cert, _now()) is not None:
        log.warning(
            "the TLS certificate in %s is valid only from %s to %s",
            cert_file,
            cert.not_valid_before_utc,
            cert.not_valid_after_utc,
        )
    return Certificate(cert_file, key_file, _fingerprint_of(cert))


def fingerprint(cert_path: Path) -> str:
    """SHA-256 fingerprint of the (first) certificate in a PEM file, as "AB:CD:..."."""
    return _fingerprint_of(_read_cert(cert_path))


def _fingerprint_of(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _wanted(names: Iterable[str], addresses: Iterable[str]) -> _Wanted:
    host = hostname()
    dns = {"localhost", "hearth.local", host, f"{host}.local"}
    ips: set[IPAddress] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    for name in names:
        # An address listed among the names still has to go in as an IP entry:
        # browsers never match an IP URL against a DNS SAN.
        try:
            ips.add(ipaddress.ip_address(name.strip()))
        except ValueError:
            dns.add(_dns_name(name))
    for address in addresses:
        try:
            ips.add(ipaddress.ip_address(address.strip()))
        except ValueError:
            raise ValueError(f"not an IP address: {address!r}") from None
    return _Wanted(frozenset(dns), frozenset(ips))


def _dns_name(name: str) -> str:
    """Lower-case ASCII form of a host name; non-ASCII names become their xn-- form."""
    cleaned = name.strip().rstrip(".").lower()
    try:
        ascii_name = cleaned.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"not a host name: {name!r}") from None
    if not ascii_name or " " in ascii_name:
        raise ValueError(f"not a host name: {name!r}")
    return ascii_name


def _prepare_dir(tls_dir: Path) -> None:
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls_dir.chmod(0o700)  # mkdir's mode is cut by the umask and skipped if the dir exists
    # Leftovers of a write interrupted by a crash or power cut.
    for leftover in tls_dir.glob(f".*{_TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def _reuse_problem(cert_path: Path, key_path: Path, wanted: _Wanted) -> str | None:
    """Why the stored pair cannot be reused, or None if it can."""
    if not cert_path.exists() or not key_path.exists():
        return "no certificate yet"
    try:
        cert, key = _read_cert(cert_path), _read_key(key_path)
    except TLSError as exc:
        return str(exc)
    if not _key_matches(cert, key):
        return "the stored key does not belong to the stored certificate"
    return _expiry_problem(cert, _now() + RENEW_BEFORE) or _coverage_problem(cert, wanted)


def _expiry_problem(cert: x509.Certificate, at: dt.datetime) -> str | None:
    if cert.not_valid_before_utc > _now():
        return f"the certificate is not valid before {cert.not_valid_before_utc}"
    if cert.not_valid_after_utc <= at:
        return f"the certificate expires {cert.not_valid_after_utc}"
    return None


def _coverage_problem(cert: x509.Certificate, wanted: _Wanted) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "the certificate has no SubjectAltName"
    names = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    addresses = set(san.get_values_for_type(x509.IPAddress))
    missing = sorted(wanted.names - names) + sorted(str(a) for a in wanted.addresses - addresses)
    if missing:
        return f"the certificate does not cover {', '.join(missing)}"
    return None


def _generate(wanted: _Wanted) -> tuple[bytes, bytes]:
    """A new P-256 key and a self-signed server certificate for it, both as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build_certificate(key, wanted)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _build_certificate(key: CertificateIssuerPrivateKeyTypes, wanted: _Wanted) -> x509.Certificate:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Hearth on {hostname()}"[:_COMMON_NAME_MAX])]
    )
    not_before = _now() - BACKDATE
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(wanted.names)]
    san += [x509.IPAddress(a) for a in sorted(wanted.addresses, key=_address_order)]
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        # Measured from not_before: the 825-day limit is on the whole validity period.
        .not_valid_after(not_before + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_digital_signature_only(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _digital_signature_only() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` so that readers see the old file or the new one, never half of one."""
    # mkstemp creates the file 0600, so a key is never readable by others, even briefly.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable across a power cut (a Pi's usual way to stop).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_cert(path: Path) -> x509.Certificate:
    data = _read(path, "certificate")
    try:
        # A chain file is accepted: the server's own certificate comes first.
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TLSError(f"{path} does not hold a PEM certificate: {exc}") from None
    if not chain:
        raise TLSError(f"{path} does not hold a PEM certificate")
    return chain[0]


def _read_key(path: Path) -> PrivateKeyTypes:
    data = _read(path, "private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TLSError(
            f"{path} holds an encrypted private key; Hearth needs it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TLSError(f"{path} does not hold a PEM private key: {exc}") from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TLSError(f"TLS {what} file not found: {path}") from None
    except OSError as exc:
        raise TLSError(f"cannot read TLS {what} file {path}: {exc.strerror or exc}") from None


def _key_matches(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def _address_order(addr: IPAddress) -> tuple[int, int]:
    return (addr.version, int(addr))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
