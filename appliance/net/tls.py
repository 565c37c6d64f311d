"""The HTTPS certificate: issued by Hearth's own local certificate authority, or the admin's
own pair.

Browsers only grant camera and microphone to a secure context, and `http://hearth.local`
is not one, so Hearth always serves HTTPS. With no internet there is no ACME. So on first
run Hearth makes a small certificate authority for this appliance alone (its name says whose
it is; name constraints limit it to the appliance's names and private addresses, where
clients honour them) and issues a short-lived server certificate from it. People trust the
CA once per device (the app's "Trust this device" page, served from /ca.crt); the server
certificate under it can then be renewed, for new addresses or before it expires, as often
as needed without anyone noticing. iPhones and iPads need this: they trust only CA
certificates installed by hand.

Files in DATA_DIR/tls: ca.pem and ca-key.pem (0600), cert.pem (server certificate then the
CA: the chain served) and key.pem (0600).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance import datadir
from appliance.net.addresses import IPAddress, hostname

log = logging.getLogger(__name__)

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
# The CA is what people install by hand, once per device: it lasts.
CA_VALIDITY = dt.timedelta(days=3650)
# The server certificate is short-lived (a copied key is useful for weeks, not years) and
# renewed a third of the way before it ends, so a few days switched off never lets it lapse.
VALIDITY = dt.timedelta(days=30)
RENEW_BEFORE = dt.timedelta(days=10)
# Back-date a little so clients whose clocks run behind still accept a fresh certificate.
BACKDATE = dt.timedelta(days=1)
# What the CA may vouch for besides the names it was made for: the addresses a LAN uses
# (DHCP hands out new ones within these), loopback, link-local and unique-local IPv6.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
_TEMP_SUFFIX = ".tmp"
_COMMON_NAME_MAX = 64  # X.520 upper bound; cryptography refuses longer values

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TLSError(Exception):
    """A certificate or key that cannot be used, with a message meant for the admin."""


@dataclass(frozen=True, slots=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint_sha256: str  # "AB:CD:..." of the server certificate
    # Hearth's own CA when it issued the certificate; None for an admin's own pair.
    ca_path: Path | None = None
    ca_fingerprint_sha256: str | None = None

    @property
    def trusted_fingerprint(self) -> str:
        """What people compare when they trust this appliance: the CA's when there is one."""
        return self.ca_fingerprint_sha256 or self.fingerprint_sha256


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the certificate must cover: DNS names (lower case) and IP addresses."""

    names: frozenset[str]
    addresses: frozenset[IPAddress]


@dataclass(frozen=True, slots=True)
class _Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def ensure_certificate(
    data_dir: Path,
    names: Sequence[str],
    addresses: Sequence[str],
    *,
    now: dt.datetime | None = None,
) -> Certificate:
    """Reuse data_dir/tls's CA and server certificate if still good for these names, else
    make what is missing or stale: the server certificate anew (new key too) from the CA, and
    the CA itself only on first run or when the names went beyond what it may vouch for.

    The SubjectAltName always covers localhost, hearth.local, the host name and
    <hostname>.local, 127.0.0.1 and ::1, plus `names` and `addresses`.
    """
    wanted = wanted_names(names, addresses)
    at = now or _now()
    tls_dir = data_dir / "tls"
    cert_path, key_path = tls_dir / CERT_FILE, tls_dir / KEY_FILE
    try:
        _prepare_dir(tls_dir)
        with _alone_in(tls_dir):
            _remove_leftovers(tls_dir)
            authority = _ensure_authority(tls_dir, wanted, at)
            problem = _reuse_problem(cert_path, key_path, wanted, authority.cert, at)
            if problem is not None:
                log.info("issuing a new TLS certificate in %s: %s", tls_dir, problem)
                chain_pem, key = _issue(authority, wanted, at)
                # Key first: if we die between the two writes, the pair no longer matches and
                # the next start issues again instead of serving a certificate without its key.
                _write_atomically(key_path, _key_pem(key), 0o600)
                _write_atomically(cert_path, chain_pem, 0o644)
    except OSError as exc:
        raise TLSError(f"cannot set up the TLS certificate in {tls_dir}: {exc}") from exc
    ca_path = tls_dir / CA_CERT_FILE
    return Certificate(
        cert_path, key_path, fingerprint(cert_path), ca_path, _fingerprint_of(authority.cert)
    )


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
    if _expiry_problem(cert, _now(), _now()) is not None:
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


def ca_der(certificate: Certificate) -> bytes:
    """The CA certificate in DER, the form phones and /ca.crt want."""
    if certificate.ca_path is None:
        raise TLSError("this Hearth serves the admin's own certificate and has no CA of its own")
    return _read_cert(certificate.ca_path).public_bytes(serialization.Encoding.DER)


def _fingerprint_of(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def wanted_names(names: Iterable[str], addresses: Iterable[str]) -> Wanted:
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
    return Wanted(frozenset(dns), frozenset(ips))


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


@contextmanager
def _alone_in(tls_dir: Path) -> Iterator[None]:
    """One process at a time looks at the CA and certificate and makes what is missing: several
    Hearth processes starting at once on a shared data folder (docs/scale-out.md) would each
    make a CA of their own, and devices would trust one of them."""
    folder = os.open(tls_dir, os.O_RDONLY)  # the folder itself is the lock: no extra file
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # let go when it closes, or the process dies
        yield
    finally:
        os.close(folder)


def _remove_leftovers(tls_dir: Path) -> None:
    """Leftovers of a write interrupted by a crash or power cut (none is under way: this
    process holds the folder)."""
    for leftover in tls_dir.glob(f".*{_TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


# --- the authority ------------------------------------------------------------------------


def _ensure_authority(tls_dir: Path, wanted: Wanted, at: dt.datetime) -> _Authority:
    cert_path, key_path = tls_dir / CA_CERT_FILE, tls_dir / CA_KEY_FILE
    problem = _authority_problem(cert_path, key_path, wanted, at)
    if problem is None:
        return _Authority(_read_cert(cert_path), _read_ec_key(key_path))
    if problem == "no CA yet" and (tls_dir / CERT_FILE).exists():
        log.warning(
            "Hearth now has its own local certificate authority and issues its HTTPS "
            "certificate from it: the fingerprint people see changes this once. Trust the CA "
            'once on each device: open Hearth and follow "Trust this device" (/trust).'
        )
    elif problem != "no CA yet":
        log.warning(
            "making a new local certificate authority in %s (%s): every device must trust "
            'Hearth again, from the app\'s "Trust this device" page (/trust)',
            tls_dir,
            problem,
        )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build_authority(key, wanted, at)
    _write_atomically(key_path, _key_pem(key), 0o600)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("made a local certificate authority: %s", _fingerprint_of(cert))
    return _Authority(cert, key)


def _authority_problem(
    cert_path: Path, key_path: Path, wanted: Wanted, at: dt.datetime
) -> str | None:
    if not cert_path.exists() or not key_path.exists():
        return "no CA yet"
    try:
        cert, key = _read_cert(cert_path), _read_key(key_path)
    except TLSError as exc:
        return str(exc)
    if not _key_matches(cert, key) or not isinstance(key, ec.EllipticCurvePrivateKey):
        return "the stored CA key does not belong to the stored CA certificate"
    # The CA must outlive every server certificate it issues.
    expiry = _expiry_problem(cert, at + VALIDITY + RENEW_BEFORE, at)
    if expiry is not None:
        return f"the CA {expiry.removeprefix('the certificate ')}"
    outside = _outside_constraints(cert, wanted)
    if outside:
        return f"it may not vouch for {', '.join(outside)}"
    return None


def _outside_constraints(ca: x509.Certificate, wanted: Wanted) -> list[str]:
    """The wanted names and addresses the CA's name constraints leave out."""
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return []
    permitted = constraints.permitted_subtrees or []
    dns = [p.value.lower() for p in permitted if isinstance(p, x509.DNSName)]
    networks = [
        p.value
        for p in permitted
        if isinstance(p, x509.IPAddress)
        and isinstance(p.value, ipaddress.IPv4Network | ipaddress.IPv6Network)
    ]
    missing = [name for name in sorted(wanted.names) if not any(_within(name, top) for top in dns)]
    missing += [
        str(a)
        for a in sorted(wanted.addresses, key=_address_order)
        if not any(a.version == n.version and a in n for n in networks)
    ]
    return missing


def _within(name: str, top: str) -> bool:
    return name == top or name.endswith("." + top)


def _permitted_networks(addresses: Iterable[IPAddress]) -> list[IPNetwork]:
    """The private networks, plus each public address the appliance has (an IPv6 one with
    its /64, within which the privacy addresses it makes up over time all fall)."""
    networks: list[IPNetwork] = list(PRIVATE_NETWORKS)
    for address in sorted(addresses, key=_address_order):
        if any(address.version == n.version and address in n for n in networks):
            continue
        prefix = 64 if address.version == 6 else 32
        networks.append(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return networks


def _build_authority(
    key: ec.EllipticCurvePrivateKey, wanted: Wanted, at: dt.datetime
) -> x509.Certificate:
    # A name that says whose it is, so a person who finds it in a certificate list a year on
    # knows what it is and can tell two appliances apart.
    made = at.strftime("%Y-%m-%d")
    name = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"Hearth local CA, {hostname()}"[:_COMMON_NAME_MAX]
            ),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, f"Hearth on {hostname()}, made {made}"[:_COMMON_NAME_MAX]
            ),
        ]
    )
    permitted: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(wanted.names)]
    permitted += [x509.IPAddress(n) for n in _permitted_networks(wanted.addresses)]
    not_before = at - BACKDATE
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(
            x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


# --- the server certificate ---------------------------------------------------------------


def _reuse_problem(
    cert_path: Path, key_path: Path, wanted: Wanted, ca: x509.Certificate, at: dt.datetime
) -> str | None:
    """Why the stored server certificate cannot be reused, or None if it can."""
    if not cert_path.exists() or not key_path.exists():
        return "no certificate yet"
    try:
        cert, key = _read_cert(cert_path), _read_key(key_path)
    except TLSError as exc:
        return str(exc)
    if not _key_matches(cert, key):
        return "the stored key does not belong to the stored certificate"
    if not _issued_by(cert, ca):
        return "the stored certificate was not issued by this Hearth's CA"
    return _expiry_problem(cert, at + RENEW_BEFORE, at) or _coverage_problem(cert, wanted)


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _expiry_problem(cert: x509.Certificate, until: dt.datetime, at: dt.datetime) -> str | None:
    if cert.not_valid_before_utc > at:
        return f"the certificate is not valid before {cert.not_valid_before_utc}"
    if cert.not_valid_after_utc <= until:
        return f"the certificate expires {cert.not_valid_after_utc}"
    return None


def _coverage_problem(cert: x509.Certificate, wanted: Wanted) -> str | None:
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


def _issue(
    authority: _Authority, wanted: Wanted, at: dt.datetime
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """A new P-256 key and a server certificate for it from the CA: the chain as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Hearth on {hostname()}"[:_COMMON_NAME_MAX])]
    )
    not_before = at - BACKDATE
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(wanted.names)]
    san += [x509.IPAddress(a) for a in sorted(wanted.addresses, key=_address_order)]
    public_key = key.public_key()
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(authority.key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(authority.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM)
    chain += authority.cert.public_bytes(serialization.Encoding.PEM)
    return chain, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
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
    datadir.sync_dir(path.parent)


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


def _read_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = _read_key(path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TLSError(f"{path} does not hold the EC key Hearth made")
    return key


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
