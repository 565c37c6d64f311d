"""Two `hearth serve` processes started at once on a fresh database and a fresh shared data
folder, as a service manager starts them (issue 10): they race to migrate the database and to
make the folder's signing secret and certificate authority, and must agree on all three."""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor

from tests.scale.conftest import on, two_processes
from tests.support.people import ServedPeople


async def test_processes_starting_at_once_on_a_fresh_folder_agree(shared, tmp_path):
    servers = two_processes(shared, tmp_path)
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda server: server.start(timeout=60), servers))
        certificates = {
            ssl.get_server_certificate(("127.0.0.1", server.port)) for server in servers
        }
        assert len(certificates) == 1, "one certificate from one authority"
        people = ServedPeople(servers[0])
        try:
            (ada,) = await people("ada")  # signed in through the first process
            me = await on(ada, servers[1]).api("GET", "/me")  # one secret: the token holds
            assert me["id"] == ada.id
        finally:
            await people.close()
        for server in servers:
            assert "Traceback" not in server.log()
    finally:
        for server in servers:
            if server.process is not None:
                server.stop()
