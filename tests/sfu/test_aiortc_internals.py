"""The SFU reaches into aiortc (see appliance/sfu/hooks.py). This fails loudly, naming the
missing piece, when an upgrade moves any of it; aiortc is pinned exactly for that reason."""

from __future__ import annotations

from importlib.metadata import version

from appliance.sfu import hooks


def test_aiortc_is_the_pinned_version():
    assert version("aiortc") == "1.16.0", "the SFU's hooks were written against aiortc 1.16.0"


def test_pylibsrtp_is_the_pinned_version():
    assert version("pylibsrtp") == "1.0.0", "the SFU's Cipher was written against pylibsrtp 1.0.0"


def test_the_internals_the_sfu_uses_are_there():
    hooks.check()
