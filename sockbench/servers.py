"""Server processes: started on a free port, watched, and always stopped.

A server's standard output goes to a file, not a pipe: the legacy originals
print a line per connection and cannot be silenced, and a pipe nobody drains
would stall them.  The ``listening on HOST:PORT`` line is read back from that
file.  Only processes started here are ever signalled, by their own PID.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from sockbench.registry import REPO
from wireproof.procs import asleep, tree

T = TypeVar("T")

# The bound on starting or stopping one server.  Generous: Python 2.7 is
# found by running candidates, and a shared machine can be slow.
WAIT = 20.0

LISTENING = re.compile(rb"^listening on (?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\s]+)):(?P<port>\d+)\r?$",
                       re.MULTILINE)


class ServerError(Exception):
    """A server did not start or did not stop; the message says why in one line."""


class Server:
    """One server process whose output goes to files in ``workdir``."""

    def __init__(self, label: str, argv: list[str], workdir: Path) -> None:
        self.label = label
        self.argv = argv
        stem = label.replace("/", "_").replace(" ", "_")
        self._stdout_path = workdir / f"{stem}.out"
        self._stderr_path = workdir / f"{stem}.err"
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.popen = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err)
        self.pid = self.popen.pid
        self.port = 0
        self.own_sockets = 1  # sockets it holds with no connection (wait_listening)

    def wait_listening(self, timeout: float = WAIT) -> int:
        """The port from the ``listening on`` line, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self._stdout_path.read_bytes()[:4096])
            if match:
                self.port = int(match["port"])
                # A server prints the line once it listens, and may set up more
                # before it waits for the first connection (an event loop's
                # wake-up socket pair): what it holds then is its own.
                # At most a second: a server that never sleeps must not hold
                # up the run (it is measured as what it is).
                settled = time.monotonic() + 1.0
                while asleep(self.pid) is False and self.popen.poll() is None \
                        and time.monotonic() < settled:
                    time.sleep(0.005)
                self.own_sockets = self.socket_count() or 1
                return self.port
            if self.popen.poll() is not None:
                raise ServerError(f"{self.label} exited with status {self.popen.returncode} "
                                  f"before listening: {self.stderr_tail()}")
            time.sleep(0.02)
        self.stop()
        raise ServerError(f"{self.label} did not print 'listening on HOST:PORT' "
                          f"within {timeout:.0f} s")

    def stderr_tail(self, size: int = 300) -> str:
        text = self._stderr_path.read_bytes()[-size:].decode("utf-8", "backslashreplace")
        return " | ".join(text.strip().splitlines()[-3:]) or "(no output on stderr)"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def processes(self) -> list[int]:
        """The server's PID and every live descendant's: a forking server's
        children, nginx's worker."""
        return tree(self.pid)

    def cpu_seconds(self) -> float | None:
        """CPU time of the server and its children, live or reaped, from /proc
        (None elsewhere)."""
        return cpu_seconds(self.pid)

    def socket_count(self) -> int | None:
        """Distinct sockets open in the server and its children (a forked
        child's copy of the listener counts once); None off Linux."""
        per_process = _per_process(self.pid, _sockets)
        return None if per_process is None else len(set().union(*per_process))

    def memory_bytes(self) -> int | None:
        """Memory of the server and its children: the sum of their proportional
        set sizes (shared pages split between the processes sharing them), or
        of their resident sets where the kernel gives no PSS; None off Linux."""
        per_process = _per_process(self.pid, _memory)
        return None if per_process is None else sum(per_process)

    def stop(self, timeout: float = WAIT) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``timeout``."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state is [0])."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _per_process(pid: int, read: Callable[[int, bool], T | None]) -> list[T] | None:
    """``read(each, is_pid)`` for ``pid`` and each live descendant; None if
    ``pid`` itself cannot be read.  A child that ended meanwhile is left out:
    its parent has reaped it, or soon will."""
    found = []
    for number, each in enumerate(tree(pid)):
        value = read(each, number == 0)
        if value is None:
            if number == 0:
                return None
            continue
        found.append(value)
    return found


def _cpu(pid: int, root: bool) -> float | None:
    fields = _stat(pid)
    if fields is None:
        return None
    # utime and stime; for the root also cutime and cstime, the time of the
    # children it has reaped.
    return sum(int(f) for f in fields[11:15 if root else 13]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """CPU time of process ``pid`` and its children, live or reaped, from /proc
    (None elsewhere, or once ``pid`` is gone)."""
    per_process = _per_process(pid, _cpu)
    return None if per_process is None else sum(per_process)


def _sockets(pid: int, root: bool) -> set[str] | None:
    """The socket inodes ``pid`` holds open, as /proc names them."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:"):
            inodes.add(target)
    return inodes


def _memory(pid: int, root: bool) -> int | None:
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return None


def free_port(host: str) -> int:
    """A port that was free a moment ago (for nginx, which cannot print one it picked)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def nginx_path() -> str | None:
    # Debian installs it in /usr/sbin, which a user's PATH may lack.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _stream_module() -> str | None:
    """The ``load_module`` path of nginx's stream module if it is built dynamic."""
    nginx = nginx_path()
    if nginx is None:
        return None
    version = subprocess.run([nginx, "-V"], capture_output=True, timeout=10, check=False)
    configure = version.stderr.decode("utf-8", "replace")
    if "--with-stream=dynamic" not in configure:
        return None
    match = re.search(r"--modules-path=(\S+)", configure)
    candidates = [Path(match[1])] if match else []
    candidates += [Path("/usr/lib/nginx/modules"), Path("/usr/lib64/nginx/modules")]
    for directory in candidates:
        module = directory / "ngx_stream_module.so"
        if module.exists():
            return str(module)
    return None


NGINX_CONF = """\
{load_module}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
stream {{
    server {{
        listen {host}:{port} backlog=4096;
        return "{greeting}";
    }}
}}
"""


def start_nginx(host: str, greeting: bytes, workdir: Path) -> Server:
    """nginx answering every connection with ``greeting`` and closing: the ceiling.

    nginx must be given its port, so a free one is picked first; if another
    process takes it in between, nginx exits and a new port is tried.
    """
    nginx = nginx_path()
    if nginx is None:
        raise ServerError("nginx is not on PATH")
    module = _stream_module()
    prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    for _ in range(3):
        port = free_port(host)
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            load_module=f"load_module {module};" if module else "", prefix=prefix,
            host=host, port=port, greeting=greeting.decode("ascii")))
        server = Server("ceiling/nginx", [nginx, "-p", str(prefix), "-e", "stderr",
                                          "-c", str(conf)], workdir)
        if _accepts(server, host, port, WAIT):
            server.port = port
            return server
        server.stop()
    raise ServerError(f"nginx did not start: {server.stderr_tail()}")


def _accepts(server: Server, host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.alive():
        try:
            with socket.create_connection((host, port), timeout=1.0) as probe:
                probe.recv(64)
            return True
        except OSError:
            time.sleep(0.05)
    return False
