"""The oracle: what each legacy original is observed to send, recorded once.

The contract's expectations of a conversation (the greeting, byte for byte,
and whether the server closes after it) must not come from the ports' own
table: a port that drifted would then pass, and the original would be
blamed.  They come from ``originals.json`` beside this module, recorded from
the originals running under Python 2.7.  Each entry carries the SHA-256 of
the script it was recorded from, and the test suite observes the originals
again and fails if they no longer send what the file says.

``python -m wireproof.originals [--write]`` observes them (from a clone of
the repository, with a Python 2.7) and prints the recording, or rewrites the
file.

How an original is observed: connect, wait for its ``connected`` line, read
for :data:`GRACE` seconds or until it closes.  A server that did not close
must then prove it is still serving: a probe sent afterwards must come back
as a ``received`` line.  So "closes" is seen, and "stays open" is shown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wireproof.codec import from_json, to_json
from wireproof.events import parse_legacy
from wireproof.procs import WAIT, Proc, python_module

RECORDING = Path(__file__).with_name("originals.json")

# The legacy servers, as the repository holds them.
SCRIPTS = ("v1_server", "v2_socketserver", "v3_forking", "v3_threading", "v4_select",
           "v4_poll")

# How long an original has, once it reported the connection, to send its
# greeting and close.  Each does both in the next two statements it runs.
GRACE = 2.0

PROBE = b"wireproof probe"


@dataclass(frozen=True)
class Conversation:
    """What a legacy server sends a new client, and whether it then closes."""

    greeting: bytes
    closes: bool


def load(path: Path = RECORDING) -> dict[str, Conversation]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {name: Conversation(from_json(entry["greeting"], f"{path}: {name}.greeting"),
                               bool(entry["closes"]))
            for name, entry in document["originals"].items()}


# Read once: every case of every session asks for it.
CONVERSATIONS: dict[str, Conversation] = load()


class Unobservable(Exception):
    """An original did not behave in any way the observation can name."""


def observe(argv: Sequence[str]) -> Conversation:
    """Start ``argv`` (a legacy server that prints ``listening on HOST:PORT``
    first), observe one client's conversation, and stop it."""
    proc = Proc(argv)
    try:
        host, port = proc.listening()
        with socket.create_connection((host, port), timeout=WAIT) as sock:
            local = sock.getsockname()[:2]

            def connected() -> bool:
                return any(event is not None and event.kind == "connected"
                           and event.address == local
                           for event in map(parse_legacy, proc.lines[1:]))

            if not proc.wait_until(connected):
                raise Unobservable(f"{argv}: no 'connected' line for {local}; "
                                   f"stderr {proc.stderr[-300:]!r}")
            greeting, closed = _read(sock, time.monotonic() + GRACE)
            if closed:
                return Conversation(greeting, True)
            sock.sendall(PROBE)

            def probed() -> bool:
                return any(line == PROBE for line in proc.lines[1:])

            if not proc.wait_until(probed):
                raise Unobservable(f"{argv}: neither closed nor printed the probe; "
                                   f"stderr {proc.stderr[-300:]!r}")
            more, _ = _read(sock, time.monotonic())
            return Conversation(greeting + more, False)
    finally:
        proc.kill()


def _read(sock: socket.socket, until: float) -> tuple[bytes, bool]:
    """What arrives until ``until`` (at least what is there already), and
    whether the peer closed."""
    data = b""
    while True:
        sock.settimeout(max(until - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        if not chunk:
            return data, True
        data += chunk


def script(name: str, root: Path) -> Path:
    return root / "legacy" / f"{name}.py"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(root: Path) -> dict[str, object]:
    """Observe every original under Python 2.7 from the repository at ``root``."""
    originals = {}
    for name in SCRIPTS:
        path = script(name, root)
        seen = observe(python_module("compat.run", str(path), "--host", "127.0.0.1",
                                     "--port", "0"))
        originals[name] = {"script": f"legacy/{name}.py", "sha256": digest(path),
                           "greeting": to_json(seen.greeting), "closes": seen.closes}
    return {"about": "What each legacy original sends a new client, observed under "
                     "Python 2.7 by python -m wireproof.originals; the contract's oracle.",
            "originals": originals}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wireproof.originals",
        description="Observe the legacy originals under Python 2.7 and print what they "
                    "send (the contract's oracle); --write replaces the recording "
                    "shipped with wireproof.  Needs a clone of the repository (its "
                    "legacy/ scripts) and a Python 2.7 that compat.run finds.")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the repository (default: the current directory)")
    parser.add_argument("--write", action="store_true", help=f"rewrite {RECORDING.name}")
    args = parser.parse_args(argv)
    missing = [name for name in SCRIPTS if not script(name, args.root).exists()]
    if missing:
        parser.error(f"no legacy/{missing[0]}.py under {args.root}")
    try:
        text = json.dumps(record(args.root), indent=1, ensure_ascii=False) + "\n"
    except (Unobservable, AssertionError) as exc:
        print(f"wireproof.originals: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.write:
        RECORDING.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
