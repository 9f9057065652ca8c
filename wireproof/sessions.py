"""Client sessions for ``diff`` and ``record``: the sessions file, and the
built-in battery.

A sessions file is JSON::

    {"sessions": [
      {"name": "one line",
       "steps": [
         {"op": "connect"},
         {"op": "read", "quiet_ms": 300},
         {"op": "send", "data": "hello\\n"},
         {"op": "read", "bytes": 6},
         {"op": "close"}]},
      {"name": "fifty at once", "copies": 50, "steps": [...]}
    ]}

Each session is one client connection; its ``steps`` run in order:

``{"op": "connect"}``
    first, and only first.
``{"op": "send", "data": BYTES}``
    optional ``"chunk": N`` sends N bytes at a time, ``"gap_ms": T`` pauses
    between chunks (a slow sender).
``{"op": "read", "bytes": N}``, ``{"op": "read", "until": "close"}``,
``{"op": "read", "quiet_ms": T}``
    until N bytes have come, until the server closes, or until nothing has
    come for T ms of the server's time (time a busy machine kept the server,
    or the reader, waiting for a CPU is waited again: docs/reliability.md);
    each bounded by ``"timeout_ms"`` (default 5000).  What came
    and how the read ended (``count``, ``closed``, ``reset``, ``quiet``,
    ``timeout``) is the observation compared.
``{"op": "pause", "ms": T}``
    let time pass (a silent client).
``{"op": "shutdown"}``
    shut down the writing side (a half-close).
``{"op": "reset"}``
    close with SO_LINGER 0: the server gets a RST.  Ends the session.
``{"op": "close"}``
    close normally.  Ends the session.
``{"op": "suspend"}``, ``{"op": "resume"}``
    stop the server's process (SIGSTOP) and let it go on (SIGCONT): steps
    between them happen while it cannot run, so a connection reset in between
    is one it accepts already dead.  They may come before the connect and
    after the close or reset, and only work on a server the tool started
    (observed as ``skipped`` when any server was given as an address); a
    server still suspended at the end of a session is resumed.

A session that does not end itself with ``close`` or ``reset`` ends with a
read until the server closes or is quiet for ``"end_quiet_ms"`` (default
300), then a close; how it ended is observed too.  ``"copies": N`` runs N
copies of the session at once, each observed on its own; with
``"stagger_ms": T`` they connect one after another, each once the one before
has received its first byte, been closed, or waited T ms (so that a burst
does not overflow a short listen queue), and then go on; with
``"together": true`` no copy goes on until every copy has connected (N
connections held at once, as ``diff --hold N`` runs).  Bytes (``data``)
are a JSON string, meaning its UTF-8 encoding, or ``{"base64": "..."}`` for
any bytes (see :mod:`wireproof.codec`).  ``record`` writes this format, adding a ``pause``
for each gap it saw.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wireproof.codec import FormatError, from_json, to_json

DEFAULT_TIMEOUT_MS = 5000
DEFAULT_END_QUIET_MS = 300
OPS = ("connect", "send", "read", "pause", "shutdown", "reset", "close", "suspend", "resume")
# Steps on the server's process, not the connection: allowed before the
# connect and after the end.
SERVER_OPS = ("suspend", "resume")


@dataclass(frozen=True)
class Step:
    op: str
    data: bytes = b""
    chunk: int | None = None        # send: bytes per send
    gap_ms: int = 0                 # send: pause between chunks
    count: int | None = None        # read: until this many bytes
    until_close: bool = False       # read: until the server closes
    quiet_ms: int | None = None     # read: until quiet this long; pause: how long
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    def describe(self) -> str:
        if self.op == "send":
            how = f" {self.chunk} B at a time" if self.chunk else ""
            return f"send {len(self.data)} B{how}"
        if self.op == "read":
            if self.count is not None:
                return f"read {self.count} B"
            if self.until_close:
                return "read until close"
            return f"read until quiet {self.quiet_ms} ms"
        if self.op == "pause":
            return f"pause {self.quiet_ms} ms"
        return self.op


@dataclass(frozen=True)
class ClientSession:
    name: str
    steps: tuple[Step, ...]
    copies: int = 1
    end_quiet_ms: int = DEFAULT_END_QUIET_MS
    stagger_ms: int | None = None
    together: bool = False


def _int(raw: dict[str, Any], key: str, where: str, default: int | None = None,
         low: int = 0) -> int | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise FormatError(f"{where}: {key!r} must be an integer of at least {low}, "
                          f"not {value!r}")
    return value


def parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict) or raw.get("op") not in OPS:
        raise FormatError(f"{where}: a step is an object whose \"op\" is one of "
                          f"{', '.join(OPS)}; got {raw!r:.60}")
    op = raw["op"]
    timeout = _int(raw, "timeout_ms", where, DEFAULT_TIMEOUT_MS, 1)
    assert timeout is not None
    if op == "send":
        if "data" not in raw:
            raise FormatError(f"{where}: send needs \"data\"")
        return Step(op, from_json(raw["data"], f"{where}.data"),
                    chunk=_int(raw, "chunk", where, None, 1),
                    gap_ms=_int(raw, "gap_ms", where, 0) or 0, timeout_ms=timeout)
    if op == "read":
        kinds = [key for key in ("bytes", "until", "quiet_ms") if key in raw]
        if len(kinds) != 1:
            raise FormatError(f"{where}: read takes exactly one of \"bytes\", "
                              f"\"until\": \"close\" or \"quiet_ms\"")
        if kinds == ["until"] and raw["until"] != "close":
            raise FormatError(f"{where}: read \"until\" can only be \"close\"")
        return Step(op, count=_int(raw, "bytes", where, None, 1),
                    until_close="until" in raw,
                    quiet_ms=_int(raw, "quiet_ms", where, None, 1), timeout_ms=timeout)
    if op == "pause":
        return Step(op, quiet_ms=_int(raw, "ms", where, 0))
    return Step(op)


def parse_session(raw: Any, where: str) -> ClientSession:
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise FormatError(f"{where}: a session is an object with a list of \"steps\"")
    name = raw.get("name", where)
    if not isinstance(name, str):
        raise FormatError(f"{where}: \"name\" must be a string")
    steps = tuple(parse_step(step, f"{where}.steps[{i}]")
                  for i, step in enumerate(raw["steps"]))
    connection = [(i, step) for i, step in enumerate(steps) if step.op not in SERVER_OPS]
    if not connection or connection[0][1].op != "connect":
        raise FormatError(f"{where}: the first step must be {{\"op\": \"connect\"}} "
                          f"(after any suspend or resume)")
    for number, (i, step) in enumerate(connection[1:], 1):
        if step.op == "connect":
            raise FormatError(f"{where}.steps[{i}]: one connect per session, first")
        if step.op in ("reset", "close") and number != len(connection) - 1:
            raise FormatError(f"{where}.steps[{i}]: {step.op} ends a session: only suspend "
                              f"or resume may follow it")
    copies = _int(raw, "copies", where, 1, 1)
    end_quiet = _int(raw, "end_quiet_ms", where, DEFAULT_END_QUIET_MS, 1)
    assert copies is not None and end_quiet is not None
    together = raw.get("together", False)
    if not isinstance(together, bool):
        raise FormatError(f"{where}: \"together\" must be true or false")
    return ClientSession(name, steps, copies, end_quiet,
                         _int(raw, "stagger_ms", where, None, 1), together)


def load(path: Path) -> list[ClientSession]:
    """The sessions in ``path``; :class:`FormatError` (one line) if malformed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormatError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}") from None
    if not isinstance(document, dict) or not isinstance(document.get("sessions"), list):
        raise FormatError(f"{path}: a sessions file is an object with a list of \"sessions\"")
    sessions = [parse_session(raw, f"{path}: sessions[{i}]")
                for i, raw in enumerate(document["sessions"])]
    if not sessions:
        raise FormatError(f"{path}: no sessions")
    return sessions


def step_json(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"op": step.op}
    if step.op == "send":
        out["data"] = to_json(step.data)
        if step.chunk:
            out["chunk"] = step.chunk
        if step.gap_ms:
            out["gap_ms"] = step.gap_ms
    elif step.op == "read":
        if step.count is not None:
            out["bytes"] = step.count
        elif step.until_close:
            out["until"] = "close"
        else:
            out["quiet_ms"] = step.quiet_ms
        if step.timeout_ms != DEFAULT_TIMEOUT_MS:
            out["timeout_ms"] = step.timeout_ms
    elif step.op == "pause":
        out["ms"] = step.quiet_ms
    return out


def session_json(session: ClientSession) -> dict[str, Any]:
    out: dict[str, Any] = {"name": session.name,
                           "steps": [step_json(step) for step in session.steps]}
    if session.copies != 1:
        out["copies"] = session.copies
    if session.end_quiet_ms != DEFAULT_END_QUIET_MS:
        out["end_quiet_ms"] = session.end_quiet_ms
    if session.stagger_ms is not None:
        out["stagger_ms"] = session.stagger_ms
    if session.together:
        out["together"] = True
    return out


def dump(sessions: list[ClientSession], path: Path) -> None:
    """Write ``sessions`` to ``path``: a step a line, to be read and edited."""
    parts = []
    for session in sessions:
        head = session_json(session)
        steps = head.pop("steps")
        text = json.dumps(head, ensure_ascii=False)[:-1]
        lines = ",\n   ".join(json.dumps(step, ensure_ascii=False) for step in steps)
        parts.append(f'{text}, "steps": [\n   {lines}]}}')
    path.write_text('{"sessions": [\n ' + ",\n ".join(parts) + "\n]}\n", encoding="utf-8")


# -- the built-in battery ------------------------------------------------------

# Long enough for a busy machine to answer a line; each session's waits are
# the battery's whole cost.
QUIET = Step("read", quiet_ms=500)
CONNECT = Step("connect")


def _send(data: bytes, **how: Any) -> Step:
    return Step("send", data, **how)


def battery() -> list[ClientSession]:
    """Generic probes for any greet-first or request/response protocol."""
    lines = [b"one\n", b"two\n", b"three\n"]
    return [
        ClientSession("connect and listen", (CONNECT, QUIET)),
        ClientSession("one line", (CONNECT, QUIET, _send(b"hello\n"), QUIET, Step("close"))),
        ClientSession("lines in one send", (CONNECT, QUIET, _send(b"".join(lines)), QUIET,
                                            Step("close"))),
        ClientSession("a line per send", (
            CONNECT, QUIET,
            *[s for line in lines for s in (_send(line), Step("pause", quiet_ms=50))],
            QUIET, Step("close"))),
        ClientSession("every byte value", (CONNECT, QUIET,
                                           _send(bytes(range(256)) + b"\n"), QUIET,
                                           Step("close"))),
        ClientSession("1 MiB", (CONNECT, QUIET, _send(random.Random(1).randbytes(1 << 20)),
                                Step("read", quiet_ms=1000), Step("close"))),
        ClientSession("half-close", (CONNECT, QUIET, _send(b"last words\n"),
                                     Step("shutdown"), Step("read", until_close=True,
                                                            timeout_ms=2000))),
        ClientSession("reset mid-session", (CONNECT, QUIET, _send(b"about to reset\n"),
                                            QUIET, Step("reset"))),
        ClientSession("served after a reset", (CONNECT, QUIET, _send(b"still there?\n"),
                                               QUIET, Step("close"))),
        # Staggered: fifty connections in one burst overflow an original's
        # listen queue of 5, and those left out are served only as they
        # retransmit, up to tens of seconds later.
        ClientSession("50 at once", (CONNECT, QUIET, _send(b"one of fifty\n"), QUIET,
                                     Step("close")), copies=50, stagger_ms=50),
        ClientSession("slow sender", (CONNECT, QUIET,
                                      _send(b"one byte at a time\n", chunk=1, gap_ms=10),
                                      QUIET, Step("close"))),
        # Reset while the server cannot run: it accepts a connection already
        # dead, and writes to it or reads from it (a tool-started server only).
        ClientSession("reset before accept", (Step("suspend"), CONNECT, Step("reset"),
                                              Step("resume"))),
        ClientSession("reset at once", (CONNECT, Step("reset"))),
        ClientSession("silence then a line", (CONNECT, Step("pause", quiet_ms=1000),
                                              _send(b"after silence\n"), QUIET,
                                              Step("close"))),
    ]


def held(count: int) -> ClientSession:
    """``count`` connections held at once, each then sending a line: past
    select()'s FD_SETSIZE (1024) with 1100 (``diff --hold``)."""
    # Staggered as "50 at once" is, with a shorter wait: a server that sends
    # nothing first costs count x 5 ms.
    return ClientSession(f"{count} held at once",
                         (CONNECT, QUIET, _send(b"held\n"), QUIET, Step("close")),
                         copies=count, stagger_ms=5, together=True)
