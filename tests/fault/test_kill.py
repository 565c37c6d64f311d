"""kill -9 in the middle of concurrent sends, restart on the same data folder, and count
(issue 13: "Keep the proof in the suite").

Six people send into two overlapping groups, three over the WebSocket (several sends in flight
each) and three over REST, every send with its own client_id; every one of them also listens
on a WebSocket and notes each event's seq. The server is killed with SIGKILL three times, at a
different point of the load each time (after so many acknowledged sends in that round), and
started again on the same data folder and ports. After each restart, every client reconnects
with `hello` resume_from = the last seq it saw, resends what was in flight (same client_id, as
a real client retries) and resends a few sends that were acknowledged, then goes on sending.

Counted at the end, each must be 0:
- acknowledged but lost: a send answered 200/201 (REST) or ok (WebSocket) missing from history;
- duplicates: more than one stored message for one client_id, or a retry answered with another
  message id than the first answer;
- resume gaps and repeats: the seqs each client received over all its connections, in order,
  must be exactly the events a replay from its first seq gives now (none missing, none twice,
  none out of order), with no sync.reset.

Bounded: 3 kills, each round stops at its kill point or after ROUND_SECONDS; loopback only.

The client-side fault next to it: a client whose socket goes away (closed or cut) right after
a burst of sends must leave the server writable for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import json
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.support.people import ServedPeople as People
from tests.support.people import ServedPerson as Person
from tests.support.server import HearthServer, roomy_config
from tests.support.wire import open_socket

KILL_AFTER_ACKS = (60, 180, 110)  # acknowledged sends in a round before its kill -9
ROUND_SECONDS = 15.0  # a round that has not reached its kill point by then is killed anyway
WS_WINDOW = 4  # sends in flight per WebSocket sender
FINAL_SENDS = 10  # per client after the last restart
RESEND_ACKED = 2  # acknowledged sends each client sends again after each restart


@dataclass
class Outcome:
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> message id answered
    unknown: set[str] = field(default_factory=set)  # sent, no answer (in flight at a kill)
    retried_stored: int = 0  # unknown sends that turned out stored (200 / same message)
    retried_new: int = 0  # unknown sends that were not stored before the kill
    answered_other_id: list[str] = field(default_factory=list)  # a retry naming another message


class Listener:
    """One WebSocket: hello with resume_from, then every frame read by one task."""

    def __init__(self, person: Person, server: HearthServer) -> None:
        self.person = person
        self.server = server
        self.ws: ClientConnection | None = None
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.seen: list[int] = []  # every event seq received, over all connections, in order
        self.resets = 0
        self.results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        socket = await open_socket(self.server, {"Authorization": f"Bearer {self.person.token}"})
        self.ws = socket.ws
        hello = asyncio.get_running_loop().create_future()
        self.results = {"h": hello}
        self.reader = asyncio.create_task(self._read(self.ws))
        frame = {"id": "h", "type": "hello", "data": {"resume_from": self.last_seq}}
        await self.ws.send(json.dumps(frame))
        reply = await asyncio.wait_for(hello, 10)
        assert reply["ok"] is True, reply
        if self.last_seq is None:
            self.first_seq = self.last_seq = int(reply["data"]["seq"])

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "event":
                    self.seen.append(int(frame["seq"]))
                    self.last_seq = max(self.last_seq or 0, int(frame["seq"]))
                elif frame.get("type") == "signal" and frame.get("event") == "sync.reset":
                    self.resets += 1
                elif frame.get("type") == "result":
                    waiting = self.results.pop(str(frame.get("id")), None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(frame)
        for waiting in self.results.values():  # the connection is gone: no answer will come
            if not waiting.done():
                waiting.set_exception(ConnectionError("connection lost"))
        self.results = {}

    async def request(self, request_id: str, type: str, data: Any) -> dict[str, Any]:
        assert self.ws is not None
        answer = asyncio.get_running_loop().create_future()
        self.results[request_id] = answer
        await self.ws.send(json.dumps({"id": request_id, "type": type, "data": data}))
        frame: dict[str, Any] = await asyncio.wait_for(answer, 10)
        return frame

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader


LOST_CONNECTION = (ConnectionError, ConnectionClosed, OSError, http.client.HTTPException)


class Sender:
    """A person sending into one chat, over REST or over their WebSocket, with client_ids."""

    def __init__(self, person: Person, server: HearthServer, chat_id: int, mode: str) -> None:
        self.person = person
        self.chat_id = chat_id
        self.mode = mode
        self.listener = Listener(person, server)
        self.outcome = Outcome()
        self.numbers = itertools.count(1)
        self.acks_this_round = 0

    def body(self, client_id: str) -> str:
        return f"{client_id} says hello"

    async def send(self, client_id: str) -> None:
        """One send, answered or not; the answer (or its absence) is noted."""
        outcome = self.outcome
        outcome.unknown.add(client_id)
        try:
            if self.mode == "ws":
                data = {
                    "chat_id": self.chat_id,
                    "client_id": client_id,
                    "body": self.body(client_id),
                }
                frame = await self.listener.request(client_id, "message.send", data)
                assert frame["ok"] is True, frame
                message_id = int(frame["data"]["id"])
            else:
                reply = await self.person.rest.call(
                    "POST",
                    f"/chats/{self.chat_id}/messages",
                    {"client_id": client_id, "body": self.body(client_id)},
                    token=self.person.token,
                )
                assert reply.status in (200, 201), (reply.status, reply.body)
                message_id = int(reply.body["id"])
        except (*LOST_CONNECTION, TimeoutError):
            return  # in flight when the server died: still unknown
        outcome.unknown.discard(client_id)
        first = outcome.acked.setdefault(client_id, message_id)
        if first != message_id:
            outcome.answered_other_id.append(client_id)
        self.acks_this_round += 1

    async def retry(self, stored: set[str]) -> None:
        """After a restart: resend what was in flight, and a few that were acknowledged.
        `stored` (the chat's client_ids now) only tells the two kinds of retries apart."""
        for client_id in sorted(self.outcome.unknown):
            await self.send(client_id)
            if client_id in self.outcome.acked:
                if client_id in stored:
                    self.outcome.retried_stored += 1
                else:
                    self.outcome.retried_new += 1
        for client_id in sorted(self.outcome.acked)[-RESEND_ACKED:]:
            await self.send(client_id)

    async def run(self, stop: asyncio.Event, limit: int | None = None) -> None:
        """Send until told to stop (or `limit` sends), keeping WS_WINDOW sends in flight over
        the WebSocket and one at a time over REST. Stops by itself once the server is gone."""
        window = WS_WINDOW if self.mode == "ws" else 1
        in_flight: set[asyncio.Task[None]] = set()
        sent = 0
        while not stop.is_set() and (limit is None or sent < limit):
            if self.mode == "ws" and (self.listener.reader is None or self.listener.reader.done()):
                break  # the socket is gone
            client_id = f"k{self.person.id}-{next(self.numbers)}"
            in_flight.add(asyncio.create_task(self.send(client_id)))
            sent += 1
            if len(in_flight) >= window:
                _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            if self.mode == "rest" and self.outcome.unknown:
                break  # the server did not answer: it is gone
        if in_flight:
            await asyncio.wait(in_flight)


async def history_client_ids(person: Person, chat_id: int) -> list[str]:
    """Every client_id in the chat's history, oldest first, paging back over REST."""
    found: list[str] = []
    before = None
    while True:
        query = f"?limit=100&before={before}" if before else "?limit=100"
        page = await person.api("GET", f"/chats/{chat_id}/messages{query}")
        messages = page["messages"]
        found = [m["client_id"] for m in messages if m["client_id"]] + found
        if not messages or not page["has_more_before"]:
            return found
        before = messages[0]["id"]


async def replay_seqs(listener: Listener, server: HearthServer) -> list[int]:
    """What a fresh connection resuming from the client's first seq is sent now."""
    fresh = Listener(listener.person, server)
    fresh.last_seq = fresh.first_seq = listener.first_seq
    await fresh.connect()
    await fresh.request("sync", "ping", {})
    await fresh.close()
    return fresh.seen


async def reconnect_and_retry(senders: list[Sender]) -> None:
    """What a client does once the server is back: resume its socket, resend what was open."""
    stored = {}
    for sender in senders:
        await sender.listener.connect()
        if sender.chat_id not in stored:
            stored[sender.chat_id] = set(await history_client_ids(sender.person, sender.chat_id))
    for sender in senders:
        await sender.retry(stored[sender.chat_id])


async def kill_round(
    server: HearthServer, senders: list[Sender], kill_after: int
) -> dict[str, Any]:
    """Everyone reconnects, retries and sends; the server is SIGKILLed once `kill_after` sends
    in this round were acknowledged (or after ROUND_SECONDS)."""
    for sender in senders:
        sender.acks_this_round = 0
    await reconnect_and_retry(senders)
    stop = asyncio.Event()
    runs = [asyncio.create_task(sender.run(stop)) for sender in senders]
    started = time.monotonic()
    while sum(s.acks_this_round for s in senders) < kill_after:
        if time.monotonic() - started > ROUND_SECONDS:
            break
        await asyncio.sleep(0.005)
    acked_at_kill = sum(s.acks_this_round for s in senders)
    await asyncio.to_thread(server.stop, signal.SIGKILL)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*runs), 30)
    for sender in senders:
        await sender.listener.close()
    return {
        "acked_in_round_at_kill": acked_at_kill,
        "in_flight_at_kill": sum(len(s.outcome.unknown) for s in senders),
        "seconds": round(time.monotonic() - started, 2),
        "exit_code": server.process.returncode if server.process else None,
    }


async def test_kill_9_during_sends_loses_duplicates_and_skips_nothing(tmp_path):
    began = time.monotonic()
    config = roomy_config(tmp_path, logging={"access_log": False})
    server = HearthServer(config)
    await asyncio.to_thread(server.start, 30)
    logs: list[str] = []
    try:
        people = await People(server)("ana", "ben", "cal", "dee", "eli", "fay")
        first = await people[0].group("First", *people[1:4])  # ana, ben, cal, dee
        second = await people[5].group("Second", *people[2:5])  # fay, cal, dee, eli
        senders = [
            Sender(person, server, (first if n < 3 else second)["id"], "ws" if n % 2 else "rest")
            for n, person in enumerate(people)
        ]
        rounds = []
        for kill_after in KILL_AFTER_ACKS:
            rounds.append(await kill_round(server, senders, kill_after))
            logs.append(server.log())
            restarting = time.monotonic()
            await asyncio.to_thread(server.start, 30)
            rounds[-1]["restart_seconds"] = round(time.monotonic() - restarting, 2)

        # The last life: reconnect, retry, send a few more, and let every listener catch up.
        await reconnect_and_retry(senders)
        never = asyncio.Event()
        await asyncio.gather(*(sender.run(never, limit=FINAL_SENDS) for sender in senders))
        unanswered = {s.person.username: sorted(s.outcome.unknown) for s in senders}
        assert not any(unanswered.values()), f"sends with no answer on a live server: {unanswered}"

        counts = await count(server, senders)
        for sender in senders:
            await sender.listener.close()
        logs.append(server.log())
    finally:
        if server.process is not None and server.process.poll() is None:
            await asyncio.to_thread(server.stop)
    counts["rounds"] = rounds
    counts["seconds"] = round(time.monotonic() - began, 1)
    print("kill -9 test:", json.dumps(counts))

    assert [r["exit_code"] for r in rounds] == [-signal.SIGKILL] * len(KILL_AFTER_ACKS)
    assert all(r["acked_in_round_at_kill"] >= 1 for r in rounds), rounds  # killed under load
    assert counts["acknowledged"] > sum(KILL_AFTER_ACKS) / 2, counts
    assert counts["acknowledged_but_lost"] == 0, counts
    assert counts["duplicates"] == 0, counts
    assert counts["retry_answered_another_message"] == 0, counts
    assert counts["resume_gaps"] == 0 and counts["resume_repeats"] == 0, counts
    assert counts["resume_out_of_order"] == 0 and counts["sync_resets"] == 0, counts
    for life, text in enumerate(logs):
        assert "Traceback" not in text, f"server life {life}:\n{text[-3000:]}"


async def count(server: HearthServer, senders: list[Sender]) -> dict[str, Any]:
    """The tallies, read back from the restarted server over REST and the WebSocket."""
    lost = duplicates = 0
    histories: dict[int, list[str]] = {}
    for sender in senders:
        if sender.chat_id not in histories:
            histories[sender.chat_id] = await history_client_ids(sender.person, sender.chat_id)
        stored = histories[sender.chat_id]
        lost += sum(1 for client_id in sender.outcome.acked if client_id not in stored)
    for stored in histories.values():
        duplicates += len(stored) - len(set(stored))

    gaps = repeats = out_of_order = extra = 0
    for sender in senders:
        truth = await replay_seqs(sender.listener, server)
        # Acks come after the commit, but fanout to other sockets may still be on its way.
        deadline = time.monotonic() + 10
        while truth and max(truth) not in sender.listener.seen and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        seen = sender.listener.seen
        gaps += len(set(truth) - set(seen))
        extra += len(set(seen) - set(truth))
        repeats += len(seen) - len(set(seen))
        out_of_order += sum(1 for a, b in itertools.pairwise(seen) if b <= a)
    return {
        "acknowledged": sum(len(s.outcome.acked) for s in senders),
        "stored_messages": sum(len(h) for h in histories.values()),
        "acknowledged_but_lost": lost,
        "duplicates": duplicates,
        "retry_answered_another_message": sum(len(s.outcome.answered_other_id) for s in senders),
        "retried_in_flight_found_stored": sum(s.outcome.retried_stored for s in senders),
        "retried_in_flight_not_stored": sum(s.outcome.retried_new for s in senders),
        "events_received": sum(len(s.listener.seen) for s in senders),
        "resume_gaps": gaps,
        "resume_repeats": repeats,
        "resume_out_of_order": out_of_order,
        "resume_extra": extra,
        "sync_resets": sum(s.listener.resets for s in senders),
    }


# --- a client that vanishes with sends in flight ----------------------------------------------


@pytest.mark.parametrize("leaves", ["closes", "is cut off"])
async def test_a_client_leaving_with_sends_in_flight_leaves_the_server_writable(tmp_path, leaves):
    """Bursts of sends, each followed at once by the socket going away (a closed tab, a lost
    network); after each, a send over REST must still be stored. Bounded: 20 bursts of 10.
    (A writer cancelled while its BEGIN was in flight used to leave SQLite in a transaction
    nothing tracked: every later write failed until a restart.)"""
    trials, burst = 20, 10
    with HearthServer(roomy_config(tmp_path, logging={"access_log": False})) as server:
        people = People(server)
        (ada,) = await people("ada")
        chat = await ada.group("Bursts")
        for trial in range(trials):
            socket = await ada.connect()
            for n in range(burst):
                data = {"chat_id": chat["id"], "client_id": f"b{trial}-{n}", "body": "burst"}
                await socket.send_frame("message.send", data)
            if leaves == "closes":
                await socket.close()
            else:
                socket.cut()
            reply = await ada.rest.call(
                "POST",
                f"/chats/{chat['id']}/messages",
                {"client_id": f"after-{trial}", "body": "still writable?"},
                token=ada.token,
            )
            assert reply.status == 201, (trial, reply.status, reply.body, server.log()[-2000:])
        assert "cannot start a transaction" not in server.log()
