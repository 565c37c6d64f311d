"""docs/protocol.md documents every WebSocket op, stored event and signal, and nothing else.

Ops come from the op registry at runtime (plus `hello`, which the endpoint answers itself).
Event and signal names come from an AST scan of appliance/: a stored event is written by
`events.append` (directly, or through `db.on_thread`); every signal frame is built by `signal_frame`, and
the SFU's signals leave through its `notify` callback. A function that passes one of its own
parameters on as the name (`Outbox.event`, `Hub.signal_users`, ...) is found by the scan and
counts as a writer too, so a new event needs no list here to be checked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPLIANCE = ROOT / "appliance"
PROTOCOL = ROOT / "docs" / "protocol.md"
OPS_MODULE = "appliance.realtime.ops"
ENDPOINT_OPS = {"hello"}  # answered by the endpoint before any registered op may run

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class Writer:
    """A callable whose argument `index` (or keyword `keyword`) names an event or a signal."""

    kind: str  # "event" or "signal"
    index: int | None
    keyword: str
    receiver: str | None = None  # only calls on this name count (`events.append`, not list's)


SEEDS = {
    "append": Writer("event", 1, "type", receiver="events"),
    "signal_frame": Writer("signal", 0, "name"),
    "notify": Writer("signal", 1, "name"),  # sfu.room.Notify, bound to Calls._notify
}


# --- what the code has -----------------------------------------------------------------------


def _op_names(value: Any) -> set[str] | None:
    """The op names if `value` is a registry: a mapping of name -> op (something with a
    handler), or an object holding one."""
    candidates = [value]
    if not isinstance(value, Mapping) and not inspect.isroutine(value):
        candidates += [v for v in getattr(value, "__dict__", {}).values() if isinstance(v, Mapping)]
    for candidate in candidates:
        if (
            isinstance(candidate, Mapping)
            and candidate
            and all(isinstance(key, str) for key in candidate)
            and all(hasattr(op, "handler") for op in candidate.values())
        ):
            return set(candidate)
    return None


def registered_ops() -> set[str]:
    """The op registry's names: a public module-level registry, else what a public
    `build_registry()`-style function (no required arguments) returns."""
    module = importlib.import_module(OPS_MODULE)
    public = {name: value for name, value in vars(module).items() if not name.startswith("_")}
    for value in public.values():
        if not inspect.isclass(value) and not inspect.isroutine(value):
            names = _op_names(value)
            if names:
                return names
    for name, value in public.items():
        if (
            inspect.isfunction(value)
            and value.__module__ == OPS_MODULE
            and re.search(r"registry|^build|^make", name)
            and not any(
                p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                for p in inspect.signature(value).parameters.values()
            )
        ):
            names = _op_names(value())
            if names:
                return names
    pytest.fail(
        f"{OPS_MODULE} has no op registry this test can read: expected a public mapping of "
        "op name -> op (with a `handler`), an object holding one, or a build_registry()-style "
        "function returning either. Teach registered_ops() in tests/unit/test_docs.py."
    )


Site = tuple[Function | None, ast.Call]


def _calls(tree: ast.AST) -> Iterator[Site]:
    """Every call, with the function it is written in (None at module level)."""

    def visit(node: ast.AST, function: Function | None) -> Iterator[Site]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from visit(child, child)
            else:
                if isinstance(child, ast.Call):
                    yield function, child
                yield from visit(child, function)

    yield from visit(tree, None)


def _writer(call: ast.Call, writers: dict[str, Writer]) -> Writer | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        name = func.attr
        receiver = func.value.id if isinstance(func.value, ast.Name) else None
    elif isinstance(func, ast.Name):
        name, receiver = func.id, None
    else:
        return None
    writer = writers.get(name)
    if writer is None or (writer.receiver is not None and receiver != writer.receiver):
        return None
    return writer


def _unwrap_on_thread(call: ast.Call) -> ast.Call:
    """`on_thread(conn, function, *args)` (store.db) calls `function(conn, *args)` on the
    connection's thread: scan it as that call."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "on_thread" or len(call.args) < 2:
        return call
    unwrapped = ast.Call(func=call.args[1], args=[call.args[0], *call.args[2:]],
                         keywords=call.keywords)  # fmt: skip
    return ast.copy_location(unwrapped, call)


def _argument(call: ast.Call, writer: Writer) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == writer.keyword:
            return keyword.value
    if writer.index is not None and writer.index < len(call.args):
        return call.args[writer.index]
    return None


def _parameters(function: Function) -> tuple[list[str], list[str]]:
    """(positional parameter names without self/cls, keyword-only names)."""
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    if positional and positional[0] in {"self", "cls"}:
        positional = positional[1:]
    return positional, [a.arg for a in function.args.kwonlyargs]


def _literals(node: ast.expr, function: Function | None, depth: int = 0) -> set[str] | None:
    """The strings `node` can be: a literal, `a if c else b`, or a local assigned from those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body = _literals(node.body, function, depth)
        orelse = _literals(node.orelse, function, depth)
        return None if body is None or orelse is None else body | orelse
    if isinstance(node, ast.Name) and function is not None and depth < 5:
        values = [
            assign.value
            for assign in ast.walk(function)
            if isinstance(assign, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
        ]
        found = [_literals(value, function, depth + 1) for value in values]
        if found and all(names is not None for names in found):
            return set().union(*(names for names in found if names is not None))
    return None


@dataclass(frozen=True, slots=True)
class Scan:
    events: set[str]
    signals: set[str]
    writers: dict[str, Writer]
    unresolved: list[str]


def scan(root: Path = APPLIANCE) -> Scan:
    trees = {
        path.relative_to(root.parent).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.py"))
    }
    writers = dict(SEEDS)
    while True:
        names: dict[str, set[str]] = {"event": set(), "signal": set()}
        unresolved: list[str] = []
        forwarders: dict[str, Writer] = {}
        for path, tree in trees.items():
            for function, found in _calls(tree):
                call = _unwrap_on_thread(found)
                writer = _writer(call, writers)
                if writer is None:
                    continue
                argument = _argument(call, writer)
                where = f"{path}:{call.lineno}"
                if argument is None:
                    unresolved.append(f"{where} (no {writer.kind} name argument)")
                    continue
                literals = _literals(argument, function)
                if literals is not None:
                    names[writer.kind] |= literals
                    continue
                if function is not None and isinstance(argument, ast.Name):
                    positional, keyword_only = _parameters(function)
                    if argument.id in positional or argument.id in keyword_only:
                        index = positional.index(argument.id) if argument.id in positional else None
                        forwarders[function.name] = Writer(writer.kind, index, argument.id)
                        continue
                unresolved.append(f"{where} ({ast.unparse(argument)})")
        new = {name: w for name, w in forwarders.items() if name not in writers}
        if not new:
            return Scan(names["event"], names["signal"], writers, unresolved)
        writers.update(new)


# --- what the docs say -----------------------------------------------------------------------


def documented() -> dict[str, set[str]]:
    """Names in the first column of the tables under the protocol's "ops", "stored events"
    and "signals" headings."""
    sections = {"op": set(), "event": set(), "signal": set()}
    kind: str | None = None
    for line in PROTOCOL.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lower()
            kind = (
                "op" if re.search(r"\bops\b", heading)
                else "event" if "stored events" in heading
                else "signal" if "signals" in heading
                else None
            )  # fmt: skip
        elif kind is not None and line.startswith("|"):
            first = line.split("|")[1]
            sections[kind] |= set(re.findall(r"`([^`]+)`", first))
    return sections


def _check(kind: str, code: set[str], docs: set[str]) -> None:
    missing, stale = sorted(code - docs), sorted(docs - code)
    assert not missing, f"{kind} missing from the tables in docs/protocol.md: {missing}"
    assert not stale, f"{kind} in docs/protocol.md that the code no longer has: {stale}"


# --- the tests -------------------------------------------------------------------------------


def test_every_op_is_documented():
    _check("ops", registered_ops() | ENDPOINT_OPS, documented()["op"])


def test_every_stored_event_is_documented():
    _check("stored events", scan().events, documented()["event"])


def test_every_signal_is_documented():
    _check("signals", scan().signals, documented()["signal"])


def test_the_scan_can_name_every_event_and_signal():
    found = scan()
    assert not found.unresolved, (
        "cannot tell which event or signal these write; pass a string literal (or a local set "
        f"from literals) so this test can check it is documented: {found.unresolved}"
    )
    # The scan still reaches through the layers that pass names on.
    assert {"message.created", "contact.requested"} <= found.events
    assert {"presence", "typing", "sync.reset", "call.incoming", "call.slots"} <= found.signals
    assert {"event", "signal", "signal_users"} <= set(found.writers)


def test_the_scan_follows_names_passed_on(tmp_path):
    (tmp_path / "sample.py").write_text(
        "def shout(hub, name):\n"
        "    hub.signal_users((1,), name, {})\n"
        "def relay(who, label, data):\n"
        "    shout(who, label)\n"
        "def use(flag, x):\n"
        "    kind = 'a.b' if flag else 'c.d'\n"
        "    relay(x, kind, {})\n"
        "    relay(x, label='e.f', data={})\n"
        "    relay(x, x.name, {})\n"
        "def signal_users(user_ids, name, data):\n"
        "    signal_frame(name, data)\n"
    )
    found = scan(tmp_path)
    assert found.signals == {"a.b", "c.d", "e.f"}
    assert len(found.unresolved) == 1 and "(x.name)" in found.unresolved[0]


def error_codes(root: Path = APPLIANCE) -> set[str]:
    """Every error code the server can answer with: `code="..."` given to an error, and the
    `code = "..."` a ServiceError class declares."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            given = isinstance(node, ast.keyword) and node.arg == "code"
            declared = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            )
            if not (given or declared):
                continue
            value = node.value  # type: ignore[attr-defined]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
    return found


def test_every_error_code_is_documented():
    codes = error_codes()
    assert {"chat_not_found", "storage_full", "validation_error"} <= codes  # the scan works
    text = PROTOCOL.read_text(encoding="utf-8")
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"error codes not in docs/protocol.md: {missing}"
