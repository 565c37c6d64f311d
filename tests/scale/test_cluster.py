"""cluster.Cluster between two processes' worth of objects on one throwaway Redis: shared state
and the hello that swaps it, frames pushed to the other process, ops answered there (errors
included), and a goodbye that drops what a process shared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from appliance.cluster import Cluster
from appliance.services.errors import ConflictError, InvalidError
from tests.support.waiting import eventually


@pytest.fixture
async def pair(shared, tmp_path) -> AsyncIterator[tuple[Cluster, Cluster]]:
    _, redis = shared
    first = Cluster(redis.url, "one", prefix=tmp_path.name)
    await first.start()
    first.share("presence", 7, ["online", None])  # before the second one starts
    second = Cluster(redis.url, "two", prefix=tmp_path.name)
    await second.start()
    try:
        yield first, second
    finally:
        await second.stop()
        await first.stop()


async def test_state_shared_before_a_process_started_reaches_it(pair):
    first, second = pair
    await eventually(lambda: second.elsewhere("presence", 7) == [["online", None]],
                     what="the hello swapped states")  # fmt: skip
    second.share("call", 8, True)
    await eventually(lambda: first.elsewhere("call", 8) == [True], what="a change crosses")
    assert first.elsewhere("call", 7) == [] and second.elsewhere("presence", 8) == []
    second.share("call", 8, None)
    await eventually(lambda: first.elsewhere("call", 8) == [], what="a removal crosses")


async def test_a_watcher_compares_before_and_after(pair):
    first, second = pair
    seen: list[tuple[int, Any, Any]] = []

    def watcher(user_id: int, apply: Any) -> None:
        before = list(second.elsewhere("presence", user_id))
        apply()
        seen.append((user_id, before, second.elsewhere("presence", user_id)))

    second.watch("presence", watcher)
    first.share("presence", 9, ["away", None])
    await eventually(lambda: any(user == 9 for user, *_ in seen), what="the watcher ran")
    assert [change for change in seen if change[0] == 9] == [(9, [], [["away", None]])]


async def test_frames_pushed_reach_the_other_process_only(pair):
    first, second = pair
    got: dict[str, list[tuple[list[int], str]]] = {"one": [], "two": []}
    first.on_push(lambda users, frame: got["one"].append((list(users), frame)))
    second.on_push(lambda users, frame: got["two"].append((list(users), frame)))
    first.push([3, 1, 3], '{"type":"signal"}')
    await eventually(lambda: got["two"], what="the push arrived")
    assert got == {"one": [], "two": [([1, 3], '{"type":"signal"}')]}


async def test_an_op_is_answered_by_the_process_asked_with_its_errors(pair):
    first, second = pair

    async def serve(op: str, arguments: dict[str, Any]) -> Any:
        if op == "double":
            return arguments["n"] * 2
        if op == "refuse":
            raise ConflictError("There is already a call in this chat.", code="call_in_progress")
        if op == "invalid":
            raise InvalidError("kind is audio or video.", field="kind")
        raise RuntimeError("broken")

    second.serve(serve)
    assert await first.ask("two", "double", {"n": 21}) == 42
    with pytest.raises(ConflictError) as refused:
        await first.ask("two", "refuse", {})
    assert refused.value.code == "call_in_progress"
    with pytest.raises(InvalidError) as invalid:
        await first.ask("two", "invalid", {})
    assert invalid.value.field == "kind" and invalid.value.code == "validation_error"
    with pytest.raises(RuntimeError):  # a 500 here too, not a made-up service error
        await first.ask("two", "explode", {})


async def test_a_process_saying_goodbye_takes_its_state_with_it(shared, tmp_path):
    _, redis = shared
    staying = Cluster(redis.url, "staying", prefix=tmp_path.name)
    leaving = Cluster(redis.url, "leaving", prefix=tmp_path.name)
    await staying.start()
    await leaving.start()
    try:
        leaving.share("presence", 5, ["online", None])
        await eventually(lambda: staying.elsewhere("presence", 5), what="shared")
        assert staying.alive("leaving")
        assert await staying.claim("call-chats", 12) == "staying"
        assert await leaving.claim("call-chats", 12) == "staying"  # held by a live process
        await leaving.stop()
        await eventually(lambda: not staying.elsewhere("presence", 5), what="dropped")
        assert not staying.alive("leaving")
    finally:
        await staying.stop()
