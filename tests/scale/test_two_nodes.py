"""Two `hearth serve` processes on one PostgreSQL and one Redis serve one team as one (issue
10): a message sent through either reaches sockets on both, in one order; a socket cut from
one process resumes on the other with nothing lost or repeated; when one process is killed,
the other goes on serving."""

from __future__ import annotations

import asyncio
import signal

from tests.scale.conftest import on
from tests.support.wire import Socket


def texts(chat_id: int):
    return lambda frame: frame["data"]["chat_id"] == chat_id and frame["data"]["kind"] == "text"


async def received(socket: Socket, chat_id: int, count: int) -> list[int]:
    return [
        (await socket.expect("message.created", where=texts(chat_id), timeout=15))["data"]["id"]
        for _ in range(count)
    ]


async def test_a_message_sent_through_either_process_reaches_both_in_one_order(nodes, people):
    b = nodes[1]
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Both", bob, cyd)
    listeners = [await bob.connect(), await on(cyd, b).connect()]  # one on each process
    senders = [await ada.connect(), await on(ada, b).connect()]

    async def burst(socket: Socket, name: str) -> list[int]:
        sent = []
        for n in range(15):
            data = {"chat_id": chat["id"], "client_id": f"{name}-{n}", "body": f"{name} {n}"}
            sent.append((await socket.ok("message.send", data))["id"])
        return sent

    sent, *seen = await asyncio.gather(
        asyncio.gather(burst(senders[0], "via-a"), burst(senders[1], "via-b")),
        *(received(listener, chat["id"], 30) for listener in listeners),
    )
    assert seen[0] == seen[1] == sorted(seen[0]), "one order, everywhere"
    assert sorted(seen[0]) == sorted(sent[0] + sent[1])
    for mine in sent:  # each sender's own order holds
        assert [i for i in seen[0] if i in set(mine)] == mine


async def test_a_socket_cut_from_one_process_resumes_on_the_other(nodes, people):
    b = nodes[1]
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    listening = await bob.connect()
    first = [(await ada.send(chat["id"], f"one {n}"))["id"] for n in range(5)]
    assert await received(listening, chat["id"], 5) == first
    last_seq = max(f["seq"] for f in listening.events("message.created"))
    listening.cut()
    later = [(await on(ada, b).send(chat["id"], f"two {n}"))["id"] for n in range(5)]
    resumed = await on(bob, b).connect(resume_from=last_seq)
    assert await received(resumed, chat["id"], 5) == later
    await resumed.ping_round_trip()
    assert not resumed.pending, "nothing repeated"


async def test_what_was_committed_while_redis_was_down_still_reaches_the_other_process(
    nodes, shared, people
):
    """Sent through one process while Redis is down: stored and acknowledged all the same, and
    the other process reads it back from the database (its announcement was lost) within
    seconds, without waiting for a next message."""
    b = nodes[1]
    _, redis = shared
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    listening = await on(bob, b).connect()
    before = (await ada.send(chat["id"], "before"))["id"]
    assert await received(listening, chat["id"], 1) == [before]
    redis.halt()
    try:
        during = (await ada.send(chat["id"], "while Redis was down"))["id"]
    finally:
        redis.start()
    assert await received(listening, chat["id"], 1) == [during]
    assert "never announced; read back from the database" in b.log()
    after = (await ada.send(chat["id"], "after"))["id"]
    assert await received(listening, chat["id"], 1) == [after]


async def test_when_one_process_is_killed_the_other_goes_on_serving(nodes, people):
    a, b = nodes
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    listening = await on(bob, b).connect()
    a.stop(signal.SIGKILL)
    sent = (await on(ada, b).send(chat["id"], "still here"))["id"]
    assert await received(listening, chat["id"], 1) == [sent]
    assert b.log().count("Traceback") == 0
