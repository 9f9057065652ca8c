"""The load generator in C (``loadgen.c``): built on first use, cached, run.

The Python generator (``sockbench.loadgen``) spends about 20 us of CPU per
connection: against a fast server it, not the server, was the limit.  The C
one speaks the same conversations and reports the same figures in a fraction
of that.  It is compiled once with the system C compiler (``cc``, or
``$SOCKBENCH_CC``) into a user cache directory, under a name that is a hash
of the source and of the compiler, so an edit or another compiler builds
afresh and nothing is ever written next to the installed package.  Where no
compiler works, ``build`` says why and the benchmark runs the Python
generator instead.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sockbench.loadgen import (
    SOURCES,
    STREAM_QUIET,
    STREAM_SNDBUF,
    Job,
    StreamJob,
    StreamResult,
    WorkerResult,
)

SOURCE = Path(__file__).with_name("loadgen.c")
COMPILER_VARIABLE = "SOCKBENCH_CC"
FLAGS = ("-O2", "-std=c99", "-Wall")

# The bound on compiling the generator.
BUILD_WAIT = 120.0


class Unavailable(Exception):
    """No C generator here; the message says why in a few words."""


def cache_dir() -> Path:
    """Where built generators are kept: ``$XDG_CACHE_HOME/socket-models``,
    else ``~/.cache/socket-models``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socket-models"


def compiler() -> str:
    """The C compiler asked for: ``$SOCKBENCH_CC``, else ``cc``."""
    return os.environ.get(COMPILER_VARIABLE) or "cc"


def _identity(cc: str) -> bytes:
    """What names a compiler: its path and what it says its version is."""
    try:
        done = subprocess.run([cc, "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"the C compiler {cc!r} does not run: {exc}") from None
    return cc.encode() + b"\0" + done.stdout


def build() -> Path:
    """The path of the built generator, compiling it if this source and
    compiler have not been built yet; ``Unavailable`` saying why if it cannot be."""
    cc = compiler()
    found = shutil.which(cc)
    if found is None:
        raise Unavailable(f"no C compiler: {cc!r} not found (set {COMPILER_VARIABLE})")
    try:
        source = SOURCE.read_bytes()
    except OSError as exc:
        raise Unavailable(f"cannot read {SOURCE}: {exc.strerror}") from None
    key = hashlib.sha256(source + b"\0" + _identity(found) + " ".join(FLAGS).encode())
    directory = cache_dir()
    target = directory / f"loadgen-{key.hexdigest()[:16]}"
    if os.access(target, os.X_OK):
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Built under a temporary name, then renamed: two benchmarks starting
        # at once each build, and neither ever runs a half-written file.
        fd, temporary = tempfile.mkstemp(prefix=".loadgen-", dir=directory)
        os.close(fd)
    except OSError as exc:
        raise Unavailable(f"cannot write to {directory}: {exc.strerror}") from None
    try:
        done = subprocess.run([found, *FLAGS, "-o", temporary, str(SOURCE)],
                              capture_output=True, timeout=BUILD_WAIT, check=False)
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "backslashreplace").strip().splitlines()
            raise Unavailable(f"{cc} failed: {message[0] if message else done.returncode}")
        os.replace(temporary, target)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{cc} did not finish within {BUILD_WAIT:.0f} s") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def conn_argv(binary: Path, job: Job) -> list[str]:
    """The command that runs a greet or chat ``job``."""
    sources = len(SOURCES) if job.payload and job.host == "127.0.0.1" else 0
    return [str(binary), "conn", job.host, str(job.port), str(job.concurrency),
            repr(job.duration), str(job.greeting), job.payload.hex(), repr(job.timeout),
            str(sources)]


def stream_argv(binary: Path, job: StreamJob) -> list[str]:
    """The command that runs a stream ``job``."""
    return [str(binary), "stream", job.host, str(job.port), str(job.connections),
            repr(job.duration), str(job.greeting), job.message.hex(), str(job.batch),
            repr(job.timeout), repr(job.drain), str(STREAM_SNDBUF), repr(STREAM_QUIET),
            str(job.server_pid or 0), repr(job.setup)]


def _parse(output: bytes) -> tuple[dict[str, str], Counter[str], bytes]:
    """The ``key value`` lines, the error counts, and what follows ``end``."""
    head, separator, rest = output.partition(b"end\n")
    if not separator:
        raise RuntimeError("the C load generator's output ended early")
    figures: dict[str, str] = {}
    errors: Counter[str] = Counter()
    for line in head.decode("ascii").splitlines():
        key, _, value = line.partition(" ")
        if key == "error":
            name, _, count = value.rpartition(" ")
            # An errno by its number, named as the Python generator names it.
            label = (errno.errorcode.get(int(name), name) if name.isdigit()
                     else name.replace("_", " "))
            errors[label] += int(count)
        else:
            figures[key] = value
    return figures, errors, rest


def worker_result(output: bytes) -> WorkerResult:
    """A greet or chat run's figures, from what the generator printed."""
    figures, errors, rest = _parse(output)
    latencies = array("d")
    latencies.frombytes(rest)
    if len(latencies) != int(figures["latencies"]):
        raise RuntimeError("the C load generator's latencies are incomplete")
    return WorkerResult(opened=int(figures["opened"]), completed=int(figures["completed"]),
                        late=int(figures["late"]), errors=errors, latencies=latencies.tolist(),
                        wall=float(figures["wall"]), cpu=float(figures["cpu"]),
                        window_cpu=float(figures["window_cpu"]))


def stream_result(output: bytes) -> StreamResult:
    """A stream run's figures, from what the generator printed."""
    figures, errors, _ = _parse(output)
    return StreamResult(sent=int(figures["sent"]), connections=int(figures["connections"]),
                        errors=errors, seconds=float(figures["seconds"]),
                        cpu=float(figures["cpu"]))


def run_all(commands: Sequence[list[str]], bound: float) -> list[bytes]:
    """Run every command at once; the standard output of each, all within
    ``bound`` seconds (``subprocess.TimeoutExpired`` otherwise, every one stopped)."""
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for argv in commands]
    outputs = []
    deadline = time.monotonic() + bound
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(deadline - time.monotonic(), 0.0))
            if proc.returncode != 0:
                raise RuntimeError("the C load generator failed: "
                                   + err.decode("utf-8", "backslashreplace").strip())
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outputs
