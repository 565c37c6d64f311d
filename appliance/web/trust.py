"""Trusting this appliance: its CA certificate (/ca.crt), the same as an Apple configuration
profile (/hearth.mobileconfig), and the "Trust this device" page that walks people through
installing it (/trust). All public: a device trusts Hearth before anyone signs in on it."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from quart import Blueprint, Response, current_app, send_from_directory
from quart_schema import hide

from appliance.api.current import EXTENSION_KEY
from appliance.context import Hearth
from appliance.net.apple_profile import ca_profile
from appliance.net.tls import CA_CERT_FILE
from appliance.services.errors import NotFoundError
from appliance.web.pages import webui_dir

CA_CONTENT_TYPE = "application/x-x509-ca-cert"
PROFILE_CONTENT_TYPE = "application/x-apple-aspen-config"

blueprint = Blueprint("trust", __name__)


def _ca() -> x509.Certificate:
    hearth: Hearth = current_app.extensions[EXTENSION_KEY]
    config = hearth.config
    if config.tls.cert_file is not None:
        raise NotFoundError(
            "This Hearth serves its admin's own certificate: there is no Hearth CA to install."
        )
    path: Path = config.data_dir / "tls" / CA_CERT_FILE
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        raise NotFoundError("This Hearth has no certificate authority yet.") from None


def _download(body: bytes, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Small, and it changes when the CA does: always fetch it fresh.
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/ca.crt")
@hide
async def ca_certificate() -> Response:
    """The CA certificate in DER: what Android, Windows, Linux and Firefox import."""
    der = _ca().public_bytes(serialization.Encoding.DER)
    return _download(der, CA_CONTENT_TYPE, "hearth-ca.crt")


@blueprint.get("/hearth.mobileconfig")
@hide
async def apple_profile() -> Response:
    """The CA in a configuration profile: what iOS, iPadOS and macOS install."""
    ca = _ca()
    names = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else "Hearth local CA"
    body = ca_profile(ca.public_bytes(serialization.Encoding.DER), name)
    return _download(body, PROFILE_CONTENT_TYPE, "hearth.mobileconfig")


@blueprint.get("/trust")
@hide
async def trust_page() -> Response:
    response = await send_from_directory(webui_dir(), "trust.html")
    response.headers["Cache-Control"] = "no-cache"
    return response
