"""Real processes on real sockets, with every wait bounded.

A :class:`Proc` reads its child's standard output and error in background
threads, so a test can wait for a line with a timeout and never deadlocks on a
full pipe.  Only processes started here are ever signalled, by their own PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

# The bound on any single wait for a process or a socket.  Generous: these
# machines are shared, and a wait that ends early on success costs nothing.
WAIT = 15.0

TCP_LISTEN = "0A"  # a socket's state in /proc/net/tcp

# System calls a process sleeps in while it waits for the network, a timer or
# its children (x86-64 Linux numbers): read, poll, select, pause, nanosleep,
# accept, recvfrom, recvmsg, wait4, futex, clock_nanosleep, epoll_wait,
# pselect6, ppoll, epoll_pwait, accept4.
WAITING = {0, 7, 23, 34, 35, 43, 45, 47, 61, 202, 230, 232, 270, 271, 281, 288}

LISTENING = re.compile(rb"^listening on (?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:]+)):(?P<port>\d+)$")


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args`` on this interpreter."""
    return [sys.executable, "-m", module, *args]


def sigint_at_its_default() -> None:
    """Let the processes started from here meet SIGINT as Ctrl-C in a terminal.

    A job a non-interactive shell starts in the background (``nohup ... &``,
    some CI runners) inherits SIGINT ignored, Python then leaves it so, and an
    ignored signal stays ignored across ``exec``: every server started from
    here would outlive its SIGINT, and the contract's Ctrl-C cases would blame
    it.  So, once, from the main thread, this process takes back the handler
    Python installs by default; its children then start with SIGINT at its
    default, as a shell in a terminal starts them.
    """
    if (signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # inherited, it is a bare 1
            and threading.current_thread() is threading.main_thread()):
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Proc:
    """A child process whose output is collected line by line as it comes."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None,
                 cwd: str | Path | None = None) -> None:
        self.argv = list(argv)
        sigint_at_its_default()
        self.popen = subprocess.Popen(
            self.argv, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})})
        self.pid = self.popen.pid
        self.lines: list[bytes] = []
        self.outlived = ""  # what the process was doing when it outlived stop()
        self._stderr = bytearray()
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_lines, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_lines(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line.rstrip(b"\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        while chunk := self.popen.stderr.read1(65536):  # type: ignore[attr-defined]
            with self._changed:
                self._stderr += chunk
                self._changed.notify_all()

    @property
    def stderr(self) -> str:
        with self._changed:
            return self._stderr.decode("utf-8", "backslashreplace")

    def wait_until(self, ready: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Wait until ``ready()`` (checked under the output lock) or the timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.1))
            return True

    def line(self, index: int, timeout: float = WAIT) -> bytes | None:
        """Line ``index`` of standard output, waiting for it; None if it never came."""
        if self.wait_until(lambda: len(self.lines) > index or self.popen.poll() is not None,
                           timeout):
            # The reader may still be draining after the exit was noticed.
            self.wait_until(lambda: len(self.lines) > index or not self._readers[0].is_alive(),
                            timeout)
        with self._changed:
            return self.lines[index] if len(self.lines) > index else None

    def listening(self, timeout: float = WAIT) -> tuple[str, int]:
        """The address from the first line, ``listening on HOST:PORT``."""
        first = self.line(0, timeout)
        match = LISTENING.match(first or b"")
        if not match:
            self.kill()
            raise AssertionError(
                f"{self.argv} did not print 'listening on HOST:PORT' first; "
                f"stdout line 0: {first!r}; stderr: {self.stderr[-2000:]!r}")
        host = (match["v6"] or match["v4"]).decode()
        return host, int(match["port"])

    def wait(self, timeout: float = WAIT) -> int | None:
        """The exit status, or None if it is still running after ``timeout``."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for reader in self._readers:
            reader.join(timeout)
        return status

    def stop(self, signum: int = signal.SIGTERM, timeout: float = WAIT) -> int | None:
        """Send ``signum`` and wait; the status, or None if it did not exit,
        and then :attr:`outlived` says how the process stood."""
        if self.popen.poll() is None:
            self.popen.send_signal(signum)
        status = self.wait(timeout)
        if status is None:
            self.outlived = ", ".join(filter(None, (doing(self.pid),
                                                    signal_state(self.pid, signum))))
        return status

    def kill(self) -> None:
        """End the process at once (SIGKILL) and collect it."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.wait()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def threads(self) -> int:
        """How many threads the process has now (Linux)."""
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def children(self) -> dict[int, str]:
        """This process's children, PID to state (``Z``: exited, not reaped) (Linux)."""
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.pid:
                found[int(entry)] = fields[0]
        return found

    def zombies(self) -> list[int]:
        """PIDs of this process's children that exited and were not reaped (Linux)."""
        return [pid for pid, state in self.children().items() if state == "Z"]

    @property
    def reader_id(self) -> int | None:
        """The thread ID of this process's reader of the child's standard output."""
        return self._readers[0].native_id

    def busy_seconds(self) -> dict[int, float]:
        """Time each process of the tree (this one, its children and theirs)
        has spent running or waiting to run, so far, by PID (Linux).

        Unlike CPU time, this does not depend on how busy the machine is: a
        process that never sleeps accrues a second per second even when other
        processes hold every core, and a sleeping one accrues nothing.  The
        whole tree, because in a forking server or one with workers the loop
        that could spin is a child's.
        """
        return {pid: _busy(pid) for pid in tree(self.pid)}

    def asleep(self) -> bool | None:
        """Whether every thread sleeps in a network or child wait, having done
        what it was woken for, or the process has exited (see :func:`asleep`)."""
        if self.popen.poll() is not None:
            return True
        sleeping = asleep(self.pid)
        if sleeping is False:
            return self.popen.poll() is not None  # it may have exited meanwhile
        return sleeping

    def cpu_seconds(self) -> float:
        """User plus system CPU time so far, from /proc (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listen_queues(port: int) -> list[int] | None:
    """For each socket listening on TCP ``port`` (any address), how many
    connections wait in its accept queue, from the kernel's tables
    (/proc/net/tcp, tcp6); None without them."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    queues = []
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == TCP_LISTEN:
                # For a listener, rx_queue is the accept queue's length.
                queues.append(int(fields[4].split(":")[1], 16))
    return queues


def _hex_address(address: tuple[str, int]) -> str | None:
    """``address`` as /proc/net/tcp spells it (IPv4 only)."""
    try:
        packed = socket.inet_aton(address[0])
    except OSError:
        return None
    return f"{int.from_bytes(packed, 'little'):08X}:{address[1]:04X}"


class SocketQueues:
    """What every IPv4 TCP socket has queued, read once from /proc/net/tcp:
    ``queues[local, remote]`` is the bytes in its send queue (not yet
    acknowledged) and in its receive queue (not yet read); empty without it."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[int, int]] = {}
        try:
            rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            return
        for row in rows:
            fields = row.split()
            sent, received = fields[4].split(":")
            self._rows[fields[1], fields[2]] = int(sent, 16), int(received, 16)

    def __getitem__(self, ends: tuple[tuple[str, int], tuple[str, int]]
                    ) -> tuple[int, int] | None:
        local, remote = map(_hex_address, ends)
        return self._rows.get((local, remote)) if local and remote else None


def doing(pid: int) -> str:
    """What each thread of ``pid`` is doing, for a transcript: its state and
    where in the kernel it waits (``S in anon_pipe_write``); "" if gone."""
    threads = []
    with contextlib.suppress(OSError):
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            with contextlib.suppress(OSError):
                state = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                where = Path(f"/proc/{pid}/task/{tid}/wchan").read_text().strip()
                letter = state.rpartition(")")[2].split()[0]
                threads.append(f"{letter} in {where}" if where not in ("", "0") else letter)
    return ", ".join(threads)


def signal_state(pid: int, signum: int) -> str:
    """How ``pid`` stands towards ``signum``, from /proc/PID/status (Linux):
    ``SIGINT caught`` (or ``ignored``, ``default``), then ``, blocked`` and
    ``, pending`` where they hold; "" if gone.  A process that outlived a
    signal sent to it is explained by one of these."""
    try:
        fields = dict(line.split(":\t", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    except OSError:
        return ""
    bit = 1 << (signum - 1)

    def has(name: str) -> bool:
        return bool(int(fields.get(name, "0"), 16) & bit)

    disposition = "caught" if has("SigCgt") else "ignored" if has("SigIgn") else "default"
    state = [f"{signal.Signals(signum).name} {disposition}"]
    state += ["blocked"] if has("SigBlk") else []
    state += ["pending"] if has("SigPnd") or has("ShdPnd") else []
    return ", ".join(state)


def tree(pid: int) -> list[int]:
    """``pid`` and every live process below it, parents before their children,
    as /proc/PID/task/*/children lists them (Linux); where the kernel keeps no
    such lists, found by parent PID among all of /proc.

    Reading the lists costs a file per thread of the tree; a scan of /proc,
    one per process on the machine.  A process that ends meanwhile is left out.
    """
    found, todo = [], [pid]
    while todo:
        parent = todo.pop(0)
        found.append(parent)
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:  # gone meanwhile
            continue
        for tid in tasks:
            try:
                todo += map(int, Path(f"/proc/{parent}/task/{tid}/children").read_text().split())
            except FileNotFoundError:
                if not Path(f"/proc/{parent}/task/{tid}").exists():
                    continue  # the thread ended meanwhile
                return [pid, *_scan_descendants(pid)]
            except OSError:
                continue
    return found


def _scan_descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, by the parent PID in each /proc/N/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(0), [])
        found += children
        todo += children
    return found


def _schedstat(pid: int, tids: Iterable[int] | None = None) -> tuple[float, float]:
    """Seconds the threads of ``pid`` (all, or those of ``tids``) have spent
    on a CPU and runnable waiting for one, so far (Linux); 0.0 where gone."""
    running = waiting = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task") if tids is None else list(map(str, tids))
    except OSError:
        return 0.0, 0.0
    for tid in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        on_cpu, runnable, _ = stat.split()
        running += int(on_cpu)
        waiting += int(runnable)
    return running / 1e9, waiting / 1e9


def _busy(pid: int) -> float:
    return sum(_schedstat(pid))


def waited_to_run(pid: int, tids: Iterable[int] | None = None) -> float:
    """Seconds the threads of ``pid`` (all, or those of ``tids``) have spent
    runnable, waiting for a CPU: what a busy machine adds to any latency that
    goes through them (Linux; 0.0 without /proc)."""
    return _schedstat(pid, tids)[1]


_SYSCALLS = os.uname().machine == "x86_64" and os.path.exists("/proc/self/syscall")


def asleep(pid: int, tids: Iterable[int] | None = None) -> bool | None:
    """Whether every thread of process ``pid`` (or those of ``tids``) sleeps in
    one of the WAITING system calls; None where that cannot be told (not
    x86-64 Linux), False for a process that is gone.  A thread woken (by a
    connection, a signal) is runnable from then on, so one seen asleep has no
    work pending."""
    if not _SYSCALLS:
        return None
    try:
        for tid in os.listdir(f"/proc/{pid}/task") if tids is None else tids:
            state = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            call = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()[0]
            if state.rpartition(")")[2].split()[0] != "S" or not call.isdigit() \
                    or int(call) not in WAITING:
                return False
    except (OSError, IndexError):
        return False
    return True


def read_until_close(conn: socket.socket) -> bytes:
    """Everything the peer sends until it closes (or resets), each read
    bounded by WAIT."""
    conn.settimeout(WAIT)
    data = b""
    try:
        while chunk := conn.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def run(argv: Sequence[str], timeout: float = WAIT, env: dict[str, str] | None = None,
        cwd: str | Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a short-lived command to completion; its output is bytes."""
    return subprocess.run(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
