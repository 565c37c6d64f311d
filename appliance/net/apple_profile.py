"""An Apple configuration profile that installs Hearth's CA on iOS, iPadOS and macOS.

iPhones and iPads install a CA certificate only from a profile (Settings > General > VPN &
Device Management), then trust it for websites only once switched on under Certificate Trust
Settings. The profile is unsigned (iOS shows it as "Not Verified"): nothing on a LAN with no
internet could sign it in a way the phone already trusts, and the fingerprint on the trust
page is how the person checks it. Its identifiers derive from the CA's fingerprint, so
downloading it again replaces the same profile rather than adding a second.
"""

from __future__ import annotations

import hashlib
import plistlib
import uuid

# A fixed namespace so the same CA always gives the same profile identifiers.
_NAMESPACE = uuid.UUID("6f7c1d52-3a51-4c3e-9d0e-5b0b7b1e8a11")


def ca_profile(ca_der: bytes, display_name: str) -> bytes:
    """The .mobileconfig (XML plist) holding `ca_der` as a root certificate payload."""
    digest = hashlib.sha256(ca_der).hexdigest()
    profile_id = uuid.uuid5(_NAMESPACE, f"profile:{digest}")
    payload_id = uuid.uuid5(_NAMESPACE, f"root:{digest}")
    root = {
        "PayloadType": "com.apple.security.root",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"local.hearth.ca.{payload_id}",
        "PayloadUUID": str(payload_id).upper(),
        "PayloadDisplayName": display_name,
        "PayloadDescription": "The certificate authority of this Hearth appliance.",
        "PayloadCertificateFileName": "hearth-ca.crt",
        "PayloadContent": ca_der,
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"local.hearth.{profile_id}",
        "PayloadUUID": str(profile_id).upper(),
        "PayloadDisplayName": display_name,
        "PayloadDescription": (
            "Lets this device trust the Hearth appliance on your network, so it opens with "
            "a padlock and can be installed as an app."
        ),
        "PayloadOrganization": "Hearth",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [root],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)
