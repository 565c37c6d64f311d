"""One access-log line when a WebSocket opens and one when it ends, tied by an id (issue 12),
with no token in either."""

from __future__ import annotations

import re

from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config
from tests.support.waiting import eventually


async def test_a_websocket_is_logged_when_it_opens_and_when_it_ends(tmp_path):
    with HearthServer(roomy_config(tmp_path)) as server:
        people = ServedPeople(server)
        ada = await people.one("ada")
        socket = await ada.connect()
        await socket.close()
        closed = re.compile(rf"WebSocket closed: user {ada.id}(, code \d+)?, [\d.]+s \[(\w+)\]")
        match = await eventually(lambda: closed.search(server.log()), what="the closing line")
        log = server.log()
        assert f"WebSocket opened: user {ada.id}, 0.0s [{match.group(2)}]" in log, log[-2000:]
        assert ada.token not in log and ada.cookie not in log
        await people.close()
