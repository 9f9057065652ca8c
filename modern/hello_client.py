"""Hello client: say who we are, print the server's greeting.

Port of ``legacy/v4_client.py``, the client of the ``v4_select``
conversation: print the host name, send ``b"hi, i am " + host name``, print
the first reply, close.

What changed and why:

- Connects to ``127.0.0.1`` by default instead of ``socket.gethostname()``;
  ``--host`` and ``--port`` choose.  The host name is still what it says.
- The hello is ``bytes`` (the host name encoded as UTF-8), sent with
  ``sendall``; the reply is decoded for printing with ``backslashreplace``.
- The original waited for ever for a reply, so it hung against
  ``v4_poll``, which never greets.  Here ``--timeout`` bounds the wait: no
  reply gives one line on standard error and exit status 1.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from modern import common


def main(argv: Sequence[str] | None = None) -> None:
    args = common.client_parser("hello_client", __doc__).parse_args(argv)
    where = common.format_address((args.host, args.port))
    hostname = socket.gethostname()
    try:
        with socket.create_connection((args.host, args.port), args.timeout) as sock:
            print(hostname, flush=True)
            sock.sendall(b"hi, i am " + hostname.encode("utf-8", "surrogateescape"))
            reply = sock.recv(common.RECV_SIZE)
    except TimeoutError:
        common.fail(f"{where}: no reply within {args.timeout:g} s")
    except OSError as exc:
        common.fail(f"cannot connect to {where}: {exc.strerror or exc}")
    print(reply.decode("utf-8", "backslashreplace"))


if __name__ == "__main__":
    common.run(main)
