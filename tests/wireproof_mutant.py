"""A line echo server and its mutants, for the tests of ``wireproof diff``.

``python tests/wireproof_mutant.py MODE --port N``: greets with ``hello``,
echoes what it reads, and closes once the client has (as
``wireproof_echo.js`` does, in another language).  The modes break one
promise each: ``greeting`` changes a greeting byte, ``no-close`` never
closes, ``crash-on-reset`` dies of the first reset, ``upper`` upper-cases its
echo, ``drop-tenth`` drops every tenth line, ``timestamp`` puts the time in
its greeting (which is noise, not a difference).
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time

MODES = ("echo", "greeting", "no-close", "crash-on-reset", "upper", "drop-tenth", "timestamp")


class Counter:
    def __init__(self) -> None:
        self.lock, self.value = threading.Lock(), 0

    def next(self) -> int:
        with self.lock:
            self.value += 1
            return self.value


def serve(conn: socket.socket, mode: str, lines: Counter) -> None:
    greeting = {"greeting": b"hellO\n",
                "timestamp": b"hello at %d\n" % time.time_ns()}.get(mode, b"hello\n")
    pending = b""
    try:
        conn.sendall(greeting)
        while chunk := conn.recv(65536):
            if mode != "drop-tenth":
                conn.sendall(chunk.upper() if mode == "upper" else chunk)
                continue
            pending += chunk
            *whole, pending = pending.split(b"\n")
            for line in whole:
                if lines.next() % 10:
                    conn.sendall(line + b"\n")
        conn.sendall(pending)
    except ConnectionResetError:
        if mode == "crash-on-reset":
            os._exit(1)
    except OSError:
        pass
    if mode == "no-close":
        return  # the socket stays referenced, so open, until the process ends
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    lines = Counter()
    kept = []
    while True:
        conn, _ = listener.accept()
        kept.append(conn)
        threading.Thread(target=serve, args=(conn, args.mode, lines), daemon=True).start()


if __name__ == "__main__":
    main()
