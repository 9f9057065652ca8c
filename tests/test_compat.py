"""The compat shims, each on its own, as a hand-migrated program would use them."""

from __future__ import annotations

import importlib
import marshal
import socket as std_socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat import bytestrings, forking, loops, py2load, py2names
from compat.run import find_python2
from compat.translate import diff, translate
from tests.conftest import require
from wireproof.procs import WAIT, Proc, python_module, run

# The launcher, on both interpreters: py2 is skipped (or, under CI, fails) without a 2.7.
INTERPRETERS = ["py2", "py3"]


def launch(interpreter: str, script: Path, *args: str) -> list[str]:
    """The ``compat.run`` command that runs ``script`` on ``interpreter``."""
    if interpreter == "py2":
        require(None if find_python2() else "no Python 2.7 found (set LEGACY_PYTHON)")
    return python_module("compat.run", str(script), "--interpreter", interpreter, *args)


@pytest.fixture
def names() -> Iterator[None]:
    py2names.install()
    try:
        yield
    finally:
        py2names.uninstall()
        py2names.MOVES.pop("OldJson", None)


def test_old_module_name_gives_the_new_module(names: None) -> None:
    from SocketServer import TCPServer  # type: ignore[import-not-found]

    assert TCPServer is socketserver.TCPServer
    assert importlib.import_module("SocketServer") is socketserver
    assert importlib.import_module("Queue") is importlib.import_module("queue")


def test_install_is_idempotent_and_uninstall_forgets(names: None) -> None:
    py2names.install()
    assert sum(1 for f in sys.meta_path if f is py2names._finder) == 1
    importlib.import_module("httplib")
    py2names.uninstall()
    assert "httplib" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("httplib")


def test_a_real_module_under_an_old_name_is_never_shadowed(
        names: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Queue.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "Queue", raising=False)
    assert importlib.import_module("Queue").REAL is True
    monkeypatch.delitem(sys.modules, "Queue")


def test_add_move_extends_the_registry(names: None) -> None:
    py2names.add_move("OldJson", "json")
    assert importlib.import_module("OldJson") is importlib.import_module("json")


@pytest.fixture
def pair() -> Iterator[tuple[bytestrings.socket, std_socket.socket]]:
    a, b = std_socket.socketpair()
    py2 = bytestrings.socket(a.family, a.type, a.proto, fileno=a.detach())
    with py2, b:
        yield py2, b


def test_send_takes_python2_strings(pair: tuple[bytestrings.socket, std_socket.socket]) -> None:
    py2, peer = pair
    py2.send("thx for conn")
    py2.sendall("中文")
    assert peer.recv(100) == b"thx for conn" + "中文".encode()


def test_every_byte_value_round_trips(pair: tuple[bytestrings.socket, std_socket.socket]) -> None:
    py2, peer = pair
    payload = bytes(range(256))
    peer.sendall(payload)
    received = b""
    text = ""
    while len(received) < len(payload):
        chunk = py2.recv(512)
        assert isinstance(chunk, str)
        text += chunk
        received = bytestrings.to_bytes(text)
    py2.sendall(text)
    echoed = b""
    while len(echoed) < len(payload):
        echoed += peer.recv(512)
    assert echoed == payload


def test_repr_is_python2s(pair: tuple[bytestrings.socket, std_socket.socket]) -> None:
    assert repr(pair[0]).startswith("<socket._socketobject object at 0x")


def test_install_gives_every_new_socket_and_handler_python2_strings() -> None:
    # In a child process: install() changes the whole process, stdout included.
    code = """if True:
        import socket, socketserver, threading
        from compat import bytestrings
        bytestrings.install()
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write("thx for you connecting")
        server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.handle_request, daemon=True).start()
        client = socket.create_connection(server.server_address, timeout=10)
        print(client.recv(100) + "\\xff")
        bytestrings.uninstall()
        assert socket.socket is not bytestrings.socket
    """
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"thx for you connecting\xff\n"


def test_translation_fixes_syntax_and_built_in_idioms_leaving_names_to_the_runtime() -> None:
    source = ("from SocketServer import TCPServer\ntry:\n    print 'a', x\n"
              "except IOError, e:\n    pass\nif d.has_key(k): it.next()\n")
    assert translate(source) == ("from SocketServer import TCPServer\ntry:\n    print('a', x)\n"
                                 "except IOError as e:\n    pass\nif k in d: next(it)\n")


def test_every_rename_fissix_knows_is_answered() -> None:
    from fissix.fixes.fix_imports import MAPPING

    assert {old: py2names.MOVES.get(old) for old in MAPPING} == MAPPING


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_renamed_and_removed_names_of_python2(interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "names.py"
    script.write_text(
        "import string, StringIO, cStringIO, cPickle, Queue\n"
        "print string.atoi('42') + 1, string.join(['a', 'b'], '-'), string.upper('abc'),\n"
        "print string.find('hello', 'l'), string.letters[:3], string.split(' a  b '),\n"
        "print string.atof('1.5'), string.zfill(7, 3), string.maketrans('a', 'b')[97]\n"
        "s = StringIO.StringIO(); s.write('x')\n"
        "print s.getvalue(), cStringIO.StringIO('y').read()\n"
        "print cPickle.loads(cPickle.dumps([1, 2])), Queue.Queue().qsize()\n"
        "d = {'a': 1}\n"
        "print d.has_key('a'), d.keys()[0], range(3), map(str, [1, 2]), zip('ab', 'cd')\n"
        "print unicode('u'), long(3), reduce(lambda a, b: a + b, xrange(4)), cmp(1, 2)\n")
    result = run(launch(interpreter, script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "43 a-b ABC 2 abc ['a', 'b'] 1.5 007 b",
        "x y",
        "[1, 2] 0",
        "True a [0, 1, 2] ['1', '2'] [('a', 'c'), ('b', 'd')]",
        "u 3 6 -1"]


def test_diff_shows_each_changed_line_and_launcher_prints_it(tmp_path: Path) -> None:
    source = Path("legacy/v4_poll.py").read_text(encoding="utf-8")
    text = diff(source, "legacy/v4_poll.py")
    assert "-\t\t\tprint 'got connection from ',addr\n" in text
    assert "+\t\t\tprint('got connection from ',addr)\n" in text
    shown = run(python_module("compat.run", "legacy/v4_poll.py", "--diff"))
    assert shown.returncode == 0 and shown.stdout.decode() == text
    plain = tmp_path / "plain.py"
    plain.write_text("import socket\nsocket.socket().close()\n")
    untouched = run(python_module("compat.run", str(plain), "--diff"))
    assert untouched.stdout == f"{plain}: nothing to translate\n".encode()


def test_python3_only_source_is_one_error_line(tmp_path: Path) -> None:
    script = tmp_path / "py3.py"
    script.write_text("x = 1\nprint(x, file=None)\n")
    refused = run(python_module("compat.run", str(script), "--diff"))
    assert refused.returncode == 1
    assert refused.stderr.decode().splitlines() == [
        f"python -m compat.run: error: {script}: line 2 is not Python 2 syntax"]


class _Greeter(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(threading.current_thread().name.encode())


def test_forking_fallback_serves_in_threads_and_warns_once() -> None:
    class Server(forking.ThreadsInsteadOfForks, socketserver.TCPServer):
        pass

    forking.ThreadsInsteadOfForks._warned = False
    with Server(("127.0.0.1", 0), _Greeter) as server:
        for first in (True, False):
            address = ("127.0.0.1", server.server_address[1])
            with std_socket.create_connection(address, timeout=10) as client:
                if first:
                    with pytest.warns(RuntimeWarning, match="os.fork is not available"):
                        server.handle_request()
                else:
                    server.handle_request()
                assert client.recv(100).startswith(b"Thread-")


def test_forking_mixin_is_the_real_one_where_fork_exists() -> None:
    import os

    expected = socketserver.ForkingMixIn if hasattr(os, "fork") else forking.ThreadsInsteadOfForks
    assert forking.ForkingMixIn is expected


def test_event_loop_chooser() -> None:
    assert loops.resolve_loop("asyncio") == "asyncio"
    assert loops.resolve_loop("auto") == ("uvloop" if loops.uvloop_available() else "asyncio")
    with pytest.raises(ValueError, match="unknown event loop 'tokio'"):
        loops.resolve_loop("tokio")

    async def answer() -> int:
        return 42

    assert loops.run_with_loop(answer(), "auto") == 42


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_arguments_after_double_dash_are_the_scripts_own(interpreter: str,
                                                         tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text("import sys\nprint sys.argv[1:]\n")
    result = run(launch(interpreter, script, "--port", "0", "--", "server", "-s", "--port", "7"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"['server', '-s', '--port', '7']\n"


@pytest.mark.parametrize("argv", [["--bogus"], ["--port", "x"], ["--interpreter", "py4"], []])
def test_a_bad_launcher_option_is_one_error_line(argv: list[str], tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text("print 1\n")
    result = run(python_module("compat.run", *([str(script)] if argv else []), *argv))
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m compat.run: error: "), lines


SELF_CLIENT = b"""\
import socket, threading, SocketServer
class Upper(SocketServer.BaseRequestHandler):
    def handle(self):
        self.request.sendall(self.request.recv(100).upper())
server = SocketServer.TCPServer(('localhost', 9999), Upper)
t = threading.Thread(target=server.serve_forever)
t.daemon = True
t.start()
s = socket.socket()
s.connect(('localhost', 9999))
s.sendall('hello')
print s.recv(100)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('', 9998))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto('ping', ('localhost', 9998))
data, addr = u.recvfrom(100)
u.sendto(data + ' pong', addr)
data, addr = c.recvfrom(100)
t = socket.socket()
print data, addr[1], t.connect_ex(('localhost', 9999))
t.sendall('bye')
print t.recv(100)
server.shutdown()
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_script_reaches_its_own_servers_on_the_ports_they_really_got(
        interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "self_client.py"
    script.write_bytes(SELF_CLIENT)
    result = run(launch(interpreter, script, "--port", "0"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(b"listening on 127.0.0.1:")
    # recvfrom names the script's own UDP server by the port the script wrote.
    assert lines[1:] == [b"HELLO", b"ping pong 9998 0", b"BYE"]


UDP_ECHO = b"""\
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', 10000))
data, addr = s.recvfrom(100)
s.sendto(data, addr)
print 'echoed', len(data)
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_udp_server_is_announced_once_bound(interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "udp_echo.py"
    script.write_bytes(UDP_ECHO)
    server = Proc(launch(interpreter, script, "--port", "0"))
    try:
        host, port = server.listening()
        with std_socket.socket(std_socket.AF_INET, std_socket.SOCK_DGRAM) as client:
            client.settimeout(WAIT)
            client.sendto(b"\xffdatagram", (host, port))
            assert client.recvfrom(100)[0] == b"\xffdatagram"
        assert server.wait() == 0, server.stderr
        assert server.line(1) == b"echoed 9"
    finally:
        server.kill()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_unix_domain_addresses_are_left_alone(interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "unix.py"
    path = tmp_path / "sock"
    script.write_text("import socket, os\n"
                      "s = socket.socket(socket.AF_UNIX)\n"
                      f"s.bind({str(path)!r})\n"
                      "print s.getsockname()\n")
    result = run(launch(interpreter, script))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}\n".encode()
    assert path.exists()


def test_a_scripts_own_python2_modules_are_translated_and_nothing_is_written_beside_them(
        tmp_path: Path) -> None:
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    (tree / "pkg").mkdir(parents=True)
    (tree / "helper.py").write_text("def greet(name):\n    print 'hi', name\n")
    (tree / "pkg" / "__init__.py").write_text("MODE = 0777\n")
    (tree / "modern.py").write_text("def hello(x):\n    return f'{x}!'\n")
    (tree / "main.py").write_text("import helper, pkg, modern\nhelper.greet('you')\n"
                                  "print pkg.MODE, modern.hello('py3')\n")
    before = sorted(p.name for p in tree.rglob("*"))
    result = run(launch("py3", tree / "main.py"), env={"COMPAT_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hi you\n511 py3!\n"
    assert sorted(p.name for p in tree.rglob("*")) == before
    assert len(list(cache.iterdir())) == 4


def test_the_standard_library_and_other_trees_are_not_translated(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("print 'x'\n")
    finder = py2load.Py2Finder(str(tmp_path), dict)
    assert finder.find_spec("json") is None
    assert finder.find_spec("email.utils", importlib.import_module("email").__path__) is None
    spec = finder.find_spec("mine")
    assert spec is not None and isinstance(spec.loader, py2load.Py2Loader)
    assert py2load.Py2Finder(str(Path(std_socket.__file__).parent), dict).find_spec(
        "socket") is None


def test_a_translation_is_cached_by_path_mtime_and_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPAT_CACHE_DIR", str(tmp_path / "cache"))
    script = tmp_path / "s.py"
    script.write_text("print 'one'\n")
    py2load.code_for(str(script))
    (entry,) = (tmp_path / "cache").iterdir()
    # What is in the cache is what runs: the translator is not asked again.
    entry.write_bytes(marshal.dumps(compile("answer = 42", str(script), "exec")))
    namespace: dict[str, object] = {}
    exec(py2load.code_for(str(script)), namespace)
    assert namespace["answer"] == 42
    script.write_text("print 'one', 'two'\n")
    py2load.code_for(str(script))
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_an_unwritable_cache_only_costs_time(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("COMPAT_CACHE_DIR", str(blocker / "cache"))
    script = tmp_path / "s.py"
    script.write_text("x = 0777\n")
    namespace: dict[str, object] = {}
    exec(py2load.code_for(str(script)), namespace)
    assert namespace["x"] == 0o777


NOISY = """\
import threading, SocketServer
t = threading.Thread(target=lambda: None)
t.setDaemon(True)
t.start()
t.join()
print t.getName(), t.isAlive(), threading.currentThread().getName()
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_thread_names_as_python2_and_no_deprecation_noise(interpreter: str,
                                                          tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY)
    result = run(launch(interpreter, script))
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"Thread-1 False MainThread\n"


def test_show_warnings_shows_what_python3_deprecates(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY)
    result = run(launch("py3", script, "--show-warnings"))
    assert result.returncode == 0
    assert b"DeprecationWarning: setDaemon() is deprecated" in result.stderr


# No coding line, and a 0xff byte in a literal: Python 2 compiles the bytes as they are.
PY2_STRINGS = b"""\
import sys, struct, binascii, string
data = 'caf\xc3\xa9 \xff'
every = ''.join(map(chr, range(256)))
print len(data), data.upper(), data.lower(), string.upper(data), data[3], data[-1:] == '\\xff'
print '%r|%s|%5s|%d' % (data, data, 'ab', len(every)), repr(data), [data, ('x', 1)]
print struct.pack('!H2s', 5, 'ab') == '\\x00\\x05ab', struct.unpack('!2s', 'xy'),
print binascii.hexlify(data)
print data.split(), data.strip() + '|', every.split()[0] == every[:9], len(every.splitlines())
print 'a', ; print 'b\\n', ; print 'c'
print every
print >>sys.stderr, every, data
print data[:5].decode('utf-8') == u'caf\\xe9', data[:5].decode('utf-8').encode('utf-8'), \
    data.encode('hex'), 'q'.encode('base64'),
print sys.argv[1], len(sys.argv[1]), ord(sys.argv[2])
"""


def test_python2_strings_are_bytes_as_in_2_7(tmp_path: Path) -> None:
    script = tmp_path / "strings.py"
    script.write_bytes(PY2_STRINGS)
    args = ("--", "\u00e9t\u00e9", "\udcff")
    py3 = run(launch("py3", script, *args))
    assert py3.returncode == 0, py3.stderr
    every = bytes(range(256))
    assert py3.stdout.splitlines()[0] == (b"7 CAF\xc3\xa9 \xff caf\xc3\xa9 \xff "
                                          b"CAF\xc3\xa9 \xff \xc3 True")
    assert every + b"\n" in py3.stdout
    assert py3.stderr == every + b" caf\xc3\xa9 \xff\n"
    py2 = run(launch("py2", script, *args))
    assert (py2.stdout, py2.stderr) == (py3.stdout, py3.stderr)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_standard_input_reads_python2_strings(interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "stdin.py"
    script.write_text("import sys\nwhile 1:\n    line = sys.stdin.readline()\n"
                      "    if not line: break\n    print len(line), repr(line)\n")
    result = subprocess.run(launch(interpreter, script), input=b"caf\xc3\xa9 \xff\r\nend",
                            capture_output=True, timeout=WAIT, check=False)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"9 'caf\\xc3\\xa9 \\xff\\r\\n'\n3 'end'\n"


CHAT = """\
import asyncore, asynchat, socket
class Echo(asynchat.async_chat):
    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator('\\r\\n')
        self.data = []
    def collect_incoming_data(self, data):
        self.data.append(data)
    def found_terminator(self):
        line = ''.join(self.data)
        self.data = []
        print 'line %r, %d bytes' % (line, len(line))
        self.push(line.upper() + '\\r\\n')
        self.close_when_done()
class Server(asyncore.dispatcher):
    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(('', 8000))
        self.listen(1)
    def handle_accept(self):
        Echo(self.accept()[0])
        self.close()
Server()
asyncore.loop()
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_asynchat_pushes_python2_strings(interpreter: str, tmp_path: Path) -> None:
    script = tmp_path / "chat.py"
    script.write_text(CHAT)
    server = Proc(launch(interpreter, script, "--port", "0"))
    try:
        address = server.listening()
        with std_socket.create_connection(address, timeout=WAIT) as client:
            client.sendall(b"caf\xc3\xa9\r\n")
            reply = b""
            while chunk := client.recv(100):
                reply += chunk
        assert reply == b"CAF\xc3\xa9\r\n"
        assert server.wait() == 0, server.stderr
        assert server.line(1) == b"line 'caf\\xc3\\xa9', 5 bytes"
    finally:
        server.kill()


def test_a_handler_error_is_reported_as_python_2_did() -> None:
    # Python 2.7's handle_error wrote its rules and the "Exception happened"
    # line to standard output, only the traceback to standard error.
    code = """if True:
        import socket, socketserver
        from compat import bytestrings
        bytestrings.install()
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                raise ValueError("in the handler")
        server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        client = socket.create_connection(server.server_address, timeout=10)
        server.handle_request()
        client.close()
    """
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == lines[2] == "-" * 40, lines
    assert lines[1].startswith("Exception happened during processing of request from "
                               "('127.0.0.1', "), lines
    stderr = result.stderr.decode()
    assert stderr.startswith("Traceback") and "ValueError: in the handler" in stderr, stderr
