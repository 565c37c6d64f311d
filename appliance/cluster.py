"""This process among the other Hearth processes on one Redis (`bus.url: redis://...`; issue 10,
docs/scale-out.md): what they tell each other that is never stored. (What is stored travels
through the relay, relay.py.)

- **State each process shares:** who is connected to it, and how (presence), and who is in a
  call it hosts. Each process keeps a copy of what the others shared (`elsewhere`), so a
  question such as "is Ana online?" or "is Ben in a call?" is answered from memory.
- **Frames to people connected elsewhere** (typing, call signals): `push` sends them to every
  process, and each gives them to its own connections.
- **Questions to one process** (`ask`, answered by what `serve` was given): a call lives on
  the process that started it; ops for it that arrive at another process are forwarded.
- **Liveness:** each process beats every BEAT seconds, and keeps a key alive in Redis for
  DEAD_AFTER. A process silent for DEAD_AFTER, whose key has expired, is dead: what it shared
  is dropped, and `on_dead` runs (its calls end). A process that hears nothing, not even its
  own beat, is cut off from Redis and declares nobody dead.

Everything rides on Redis pub/sub: at most once, in order from each process. A process
starting, or back after Redis was away, says `hello`, and the others send it their whole state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from appliance.services import errors

log = logging.getLogger(__name__)

BEAT = 1.0  # seconds between beats
DEAD_AFTER = 5.0  # seconds of silence after which a process is dead
ASK_TIMEOUT = 20.0  # seconds an op forwarded to another process may take (an SFU offer)
RECONNECT_DELAY = 0.5
DRAIN_TIMEOUT = 2.0  # seconds a stopping process waits for what it still has to send

# A change to shared state: (kind, user) -> value, None to remove.
Watcher = Callable[[int, Callable[[], None]], None]
# Answers an op forwarded by another process: (op, arguments) -> a JSON value.
Server = Callable[[str, dict[str, Any]], Awaitable[Any]]

# The service errors an answer may carry back, by name.
_ERRORS: dict[str, type[errors.ServiceError]] = {
    kind.__name__: kind
    for kind in (
        errors.ServiceError, errors.InvalidError, errors.ForbiddenError, errors.NotFoundError,
        errors.ConflictError, errors.TooLargeError, errors.UnsupportedTypeError,
    )
}  # fmt: skip


class Unreachable(errors.ConflictError):
    """The process an op was forwarded to did not answer."""


def _cut_off() -> Unreachable:
    return Unreachable(
        "The other Hearth processes cannot be reached just now; try again in a moment.",
        code="host_unreachable",
    )


class Cluster:
    def __init__(self, url: str, node: str, *, prefix: str = "hearth") -> None:
        self.node = node
        self._url = url
        self._prefix = prefix
        self._everyone = f"{prefix}:cluster"
        self._mine = f"{prefix}:node:{node}"
        self._redis: Any = None  # redis.asyncio.Redis (its replies are loosely typed)
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[tuple[str, tuple[str, ...]]] = asyncio.Queue()  # commands
        # kind -> user -> value: what this process shares
        self._shared: dict[str, dict[int, Any]] = {}
        # node -> kind -> user -> value: what the others shared
        self._theirs: dict[str, dict[str, dict[int, Any]]] = {}
        self._heard: dict[str, float] = {}  # node -> when it was last heard (loop time)
        self._heard_myself = 0.0
        self._back_at = -DEAD_AFTER  # when Redis last answered again after an outage
        self._backs: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._running: set[asyncio.Task[None]] = set()  # answers and reactions under way
        self._watchers: dict[str, Watcher] = {}
        self._pushes: list[Callable[[Collection[int], str], None]] = []
        self._dead: list[Callable[[str], Awaitable[None]]] = []
        self._server: Server | None = None
        self._asked: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._down = False

    # --- start and stop ------------------------------------------------------------------------

    async def start(self) -> None:
        self._redis = aioredis.Redis.from_url(self._url, decode_responses=True)
        self._heard_myself = asyncio.get_running_loop().time()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._everyone, self._mine)
        await self._beat_once()
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="cluster-listen"),
            asyncio.create_task(self._send_loop(), name="cluster-send"),
            asyncio.create_task(self._beat(), name="cluster-beat"),
        ]
        self._hello()

    async def stop(self) -> None:
        """Say goodbye (the others drop this process's state at once), then stop."""
        if self._redis is None:
            return
        with contextlib.suppress(TimeoutError):  # what is queued goes first (claims given up)
            await asyncio.wait_for(self._outbox.join(), DRAIN_TIMEOUT)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.publish(self._everyone, self._message("bye"))
            await self._redis.delete(self._alive_key(self.node))
        for task in self._tasks:
            task.cancel()
        for task in self._running:
            task.cancel()
        for task in [*self._tasks, *self._running]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiter in self._asked.values():
            if not waiter.done():
                waiter.set_exception(Unreachable("Hearth is stopping.", code="host_unreachable"))
        await self._redis.aclose()

    # --- shared state --------------------------------------------------------------------------

    def share(self, kind: str, user_id: int, value: Any) -> None:
        """This process's `kind` for `user_id` is now `value` (None: nothing)."""
        mine = self._shared.setdefault(kind, {})
        if mine.get(user_id) == value:
            return
        if value is None:
            mine.pop(user_id, None)
        else:
            mine[user_id] = value
        self._say("state", k=kind, u=user_id, v=value)

    def elsewhere(self, kind: str, user_id: int) -> list[Any]:
        """What the other live processes shared of `user_id` for `kind`."""
        return [
            value
            for state in self._theirs.values()
            if (value := state.get(kind, {}).get(user_id)) is not None
        ]

    def watch(self, kind: str, watcher: Watcher) -> None:
        """Call `watcher(user_id, apply)` when another process's `kind` for a user changes;
        `apply()` makes the change (so the watcher can compare before and after)."""
        self._watchers[kind] = watcher

    # --- frames to people connected elsewhere --------------------------------------------------

    def push(self, user_ids: Iterable[int], frame: str) -> None:
        """Send `frame` to these users' connections on the other processes."""
        users = sorted(set(user_ids))
        if users:
            self._say("push", u=users, f=frame)

    def on_push(self, deliver: Callable[[Collection[int], str], None]) -> None:
        """Give frames other processes pushed to `deliver(user_ids, frame)`."""
        self._pushes.append(deliver)

    # --- questions to one process --------------------------------------------------------------

    def serve(self, server: Server) -> None:
        self._server = server

    async def ask(self, node: str, op: str, arguments: dict[str, Any]) -> Any:
        """Have process `node` run `op`; its answer, or the service error it raised."""
        if self._down:
            raise _cut_off()
        key = f"{self.node}.{next(self._ids)}"
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._asked[key] = waiter
        try:
            self._say("ask", to=node, id=key, op=op, a=arguments)
            return await asyncio.wait_for(waiter, ASK_TIMEOUT)
        except TimeoutError:
            raise Unreachable(
                "The Hearth process holding this call does not answer.", code="host_unreachable"
            ) from None
        finally:
            self._asked.pop(key, None)

    # --- liveness ------------------------------------------------------------------------------

    def alive(self, node: str) -> bool:
        return node == self.node or node in self._heard

    async def alive_in_redis(self, node: str) -> bool:
        """Whether `node` kept its key alive (for a process that just started and has not
        heard everyone yet)."""
        return node == self.node or bool(await self._redis.exists(self._alive_key(node)))

    def on_dead(self, reaction: Callable[[str], Awaitable[None]]) -> None:
        self._dead.append(reaction)

    def on_back(self, reaction: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `reaction()` when Redis answers again after an outage (it may be empty)."""
        self._backs.append(reaction)

    # --- Redis keys for what lives on one process ----------------------------------------------

    async def claim(self, table: str, key: int) -> str:
        """Claim `key` of `table` for this process unless a live process holds it; returns
        the holder."""
        name = f"{self._prefix}:{table}"
        try:
            if await self._redis.hsetnx(name, str(key), self.node):
                return self.node
            holder = str(await self._redis.hget(name, str(key)) or "")
            if holder and (self.alive(holder) or await self.alive_in_redis(holder)):
                return holder
            await self._redis.hset(name, str(key), self.node)  # a dead process's: taken over
        except (RedisError, OSError) as error:
            raise _cut_off() from error
        return self.node

    async def reclaim(self, table: str, keys: Iterable[int]) -> None:
        """Hold these keys again (Redis came back, perhaps empty)."""
        for key in keys:
            await self._redis.hset(f"{self._prefix}:{table}", str(key), self.node)

    async def holder(self, table: str, key: int) -> str | None:
        try:
            holder = await self._redis.hget(f"{self._prefix}:{table}", str(key))
        except (RedisError, OSError) as error:
            raise _cut_off() from error
        return None if holder is None else str(holder)

    async def held_by(self, table: str, node: str) -> list[int]:
        held = await self._redis.hgetall(f"{self._prefix}:{table}")
        return [int(key) for key, holder in held.items() if holder == node]

    def release(self, table: str, key: int) -> None:
        """Give up `key` (in order after the claims and messages before it)."""
        self._outbox.put_nowait(("hdel", (f"{self._prefix}:{table}", str(key))))

    async def forget(self, table: str, key: int) -> None:
        await self._redis.hdel(f"{self._prefix}:{table}", str(key))

    async def first_to(self, task: str, ttl: float) -> bool:
        """Whether this process is the first to take on `task` (for `ttl` seconds)."""
        name = f"{self._prefix}:once:{task}"
        return bool(await self._redis.set(name, self.node, nx=True, ex=max(1, int(ttl))))

    # --- inside --------------------------------------------------------------------------------

    def _alive_key(self, node: str) -> str:
        return f"{self._prefix}:alive:{node}"

    def _message(self, kind: str, **fields: Any) -> str:
        return json.dumps({"t": kind, "n": self.node, **fields}, separators=(",", ":"))

    def _say(self, kind: str, *, to: str | None = None, **fields: Any) -> None:
        channel = self._everyone if to is None else f"{self._prefix}:node:{to}"
        self._outbox.put_nowait(("publish", (channel, self._message(kind, **fields))))

    def _hello(self, to: str | None = None) -> None:
        """Introduce this process with its whole state; who hears it answers with theirs."""
        self._say("hello", to=to, s=self._state())

    def _state(self) -> dict[str, list[tuple[int, Any]]]:
        return {kind: list(users.items()) for kind, users in self._shared.items()}

    async def _send_loop(self) -> None:
        """Send in order, one at a time: the others see this process's changes in order."""
        while True:
            command, arguments = await self._outbox.get()
            while True:
                try:
                    await getattr(self._redis, command)(*arguments)
                    break
                except (RedisError, OSError) as error:
                    self._trouble(error)
                    await asyncio.sleep(RECONNECT_DELAY)
            self._outbox.task_done()

    async def _beat_once(self) -> None:
        await self._redis.set(self._alive_key(self.node), "1", ex=int(DEAD_AFTER))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(BEAT)
            try:
                await self._beat_once()
            except (RedisError, OSError) as error:
                self._trouble(error)
                continue
            if self._down:
                self._back()
            self._say("beat")
            await self._bury()

    def _back(self) -> None:
        """Redis answers again after an outage. What was said meanwhile is lost, and Redis may
        have restarted empty: say hello again (the others answer with their state), and let
        what keeps keys in Redis put them back (`on_back`)."""
        self._down = False
        self._back_at = asyncio.get_running_loop().time()
        log.warning("Redis answers again: the other Hearth processes can be reached")
        self._hello()
        for reaction in list(self._backs):
            self._spawn(reaction(), "cluster-back")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _bury(self) -> None:
        """Processes silent for DEAD_AFTER whose key expired are dead; unless this one is cut
        off from Redis itself (it did not even hear its own beat)."""
        now = asyncio.get_running_loop().time()
        if now - self._heard_myself > DEAD_AFTER or now - self._back_at < DEAD_AFTER:
            return  # cut off, or just back: the others may not have beaten again yet
        for node, heard in list(self._heard.items()):
            if now - heard < DEAD_AFTER or await self.alive_in_redis(node):
                continue
            log.warning("Hearth process %s stopped answering: it is taken for dead", node)
            self._drop(node)
            for reaction in list(self._dead):
                try:
                    await reaction(node)
                except Exception:
                    log.exception("could not clean up after process %s", node)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=BEAT)
            except (RedisError, OSError) as error:
                self._trouble(error)
                await asyncio.sleep(RECONNECT_DELAY)
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.subscribe(self._everyone, self._mine)
                continue
            if message is None:
                continue
            try:
                self._heard_from(json.loads(message["data"]))
            except Exception:
                log.exception("a message from another Hearth process could not be handled")

    def _trouble(self, error: BaseException) -> None:
        if not self._down:  # once per outage
            self._down = True
            log.warning("Redis does not answer (%s); retrying", error)

    def _heard_from(self, message: dict[str, Any]) -> None:
        node = str(message["n"])
        kind = message["t"]
        now = asyncio.get_running_loop().time()
        if node == self.node:
            self._heard_myself = now
            return
        if kind == "bye":
            self._heard.pop(node, None)
            self._drop(node)
            return
        new = node not in self._heard
        self._heard[node] = now
        if kind == "hello":
            self._say("all", to=node, s=self._state())
        elif new and kind != "all":
            self._hello(to=node)  # one this process had not heard of: swap states
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, message)

    def _on_state(self, node: str, message: dict[str, Any]) -> None:
        self._change(node, str(message["k"]), int(message["u"]), message["v"])

    def _on_all(self, node: str, message: dict[str, Any]) -> None:
        theirs = self._theirs.get(node, {})
        fresh = {kind: {int(user): value for user, value in pairs}
                 for kind, pairs in message["s"].items()}  # fmt: skip
        for kind in set(theirs) | set(fresh):
            old, new = theirs.get(kind, {}), fresh.get(kind, {})
            for user_id in set(old) | set(new):
                if old.get(user_id) != new.get(user_id):
                    self._change(node, kind, user_id, new.get(user_id))

    def _on_push(self, node: str, message: dict[str, Any]) -> None:
        users = [int(user) for user in message["u"]]
        for deliver in self._pushes:
            deliver(users, str(message["f"]))

    def _on_ask(self, node: str, message: dict[str, Any]) -> None:
        self._spawn(
            self._answer(node, str(message["id"]), str(message["op"]), message["a"]),
            "cluster-answer",
        )

    async def _answer(self, node: str, key: str, op: str, arguments: dict[str, Any]) -> None:
        try:
            if self._server is None:
                raise Unreachable(
                    "This Hearth process takes no forwarded ops.", code="host_unreachable"
                )
            result = await self._server(op, arguments)
        except errors.ServiceError as error:
            fault = {"kind": type(error).__name__, "message": error.message, "code": error.code,
                     "field": getattr(error, "field", None)}  # fmt: skip
            self._say("reply", to=node, id=key, e=fault)
        except Exception:
            log.exception("a forwarded %s failed", op)
            self._say("reply", to=node, id=key, e={"kind": "internal"})
        else:
            self._say("reply", to=node, id=key, r=result)

    def _on_reply(self, node: str, message: dict[str, Any]) -> None:
        waiter = self._asked.get(str(message["id"]))
        if waiter is None or waiter.done():
            return
        fault = message.get("e")
        if fault is None:
            waiter.set_result(message.get("r"))
            return
        kind = _ERRORS.get(str(fault["kind"]))
        if kind is None:  # it failed there, and logged why
            waiter.set_exception(RuntimeError(f"a forwarded op failed on process {node}"))
            return
        if kind is errors.InvalidError:
            error: errors.ServiceError = errors.InvalidError(
                fault["message"], field=fault.get("field"), code=fault["code"]
            )
        else:
            error = kind(fault["message"], code=fault["code"])
        waiter.set_exception(error)

    def _drop(self, node: str) -> None:
        """Forget what `node` shared, telling the watchers."""
        for kind, users in self._theirs.get(node, {}).items():
            for user_id in list(users):
                self._change(node, kind, user_id, None)
        self._theirs.pop(node, None)

    def _change(self, node: str, kind: str, user_id: int, value: Any) -> None:
        state = self._theirs.setdefault(node, {}).setdefault(kind, {})

        def apply() -> None:
            if value is None:
                state.pop(user_id, None)
            else:
                state[user_id] = value

        watcher = self._watchers.get(kind)
        if watcher is None:
            apply()
        else:
            watcher(user_id, apply)


_HANDLERS: dict[str, Callable[[Cluster, str, dict[str, Any]], None]] = {
    "state": Cluster._on_state,
    "hello": Cluster._on_all,
    "all": Cluster._on_all,
    "push": Cluster._on_push,
    "ask": Cluster._on_ask,
    "reply": Cluster._on_reply,
}
