"""Hearth: a chat and calling appliance for a LAN."""

__version__ = "0.1.0"
