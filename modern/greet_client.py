"""Greeting client: connect, print what the server says before it hangs up.

Port of ``legacy/v1_client.py``, the client of the greeting conversations
(``v1_server``, ``v2_socketserver``, ``v3_forking``, ``v3_threading``).

What changed and why:

- Connects to ``127.0.0.1`` by default instead of ``socket.gethostname()``;
  ``--host`` and ``--port`` choose.
- Reads until the server closes instead of one ``recv(1024)``: TCP may deliver
  a greeting in pieces, and the server's close marks its end.
- Bytes are decoded for printing as UTF-8 with ``backslashreplace``: text
  prints as text, and any other byte as an escape instead of an error.
- Everything is bounded by ``--timeout``: a refused connection, or a server
  that does not finish within the timeout, gives one line on standard error
  and exit status 1, never a hang.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from modern import common


def receive_until_close(sock: socket.socket, timeout: float) -> bytes:
    """Everything the peer sends until it closes; ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.0))
        try:
            chunk = sock.recv(common.RECV_SIZE)
        except (TimeoutError, BlockingIOError):
            raise TimeoutError(f"the server did not close within {timeout:g} s") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def main(argv: Sequence[str] | None = None) -> None:
    args = common.client_parser("greet_client", __doc__).parse_args(argv)
    where = common.format_address((args.host, args.port))
    try:
        with socket.create_connection((args.host, args.port), args.timeout) as sock:
            greeting = receive_until_close(sock, args.timeout)
    except TimeoutError as exc:
        common.fail(f"{where}: {exc}")
    except OSError as exc:
        common.fail(f"cannot connect to {where}: {exc.strerror or exc}")
    print(greeting.decode("utf-8", "backslashreplace"))


if __name__ == "__main__":
    common.run(main)
