"""WebSockets without permessage-deflate.

Browsers offer compression on every WebSocket and Hypercorn always accepts it. On a LAN the
bytes it saves do not matter, while its cost does: a deflate and an inflate per frame (a
quarter of the server's CPU in bench/chat_fanout.py) and two zlib windows per socket (about
200 KB each, 20 MB for 100 sockets), which a Pi serving thousands of sockets cannot spare.
Hypercorn has no setting for it, so its handshake is given an extension that declines.
"""

from __future__ import annotations

from hypercorn.protocol import ws_stream
from wsproto.extensions import PerMessageDeflate


class DeclinedDeflate(PerMessageDeflate):
    def accept(self, offer: str) -> None:
        return None  # never enabled: frames go uncompressed


def decline_compression() -> None:
    """Make Hypercorn's WebSocket handshake refuse permessage-deflate (call before serving)."""
    ws_stream.PerMessageDeflate = DeclinedDeflate  # type: ignore[attr-defined]
