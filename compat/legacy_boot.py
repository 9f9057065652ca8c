# Runs inside the interpreter that runs a legacy script, Python 2.7 or 3: keep
# this file in the syntax both understand, and import nothing from the project.
"""Run a legacy script with its hard-coded address remapped.

Usage: ``python2 -u legacy_boot.py HOST PORT SCRIPT [ARG...]``.  ``compat.run`` starts
it; nothing else should.  On Python 3, ``compat.legacy_py3`` calls :func:`run`
with a loader that translates.

Addresses follow the script (``remap``): its first ``bind`` goes to
``HOST:PORT`` (port 0 picks a free one), a later bind of another port to a free
port, and each ``connect``/``connect_ex``/``sendto`` of a TCP or UDP socket goes
to ``HOST`` and the port the script's own bind of that port really got, else
to ``PORT``, unless it is a port one of its binds really got (a script that
bound port 0 and read the port back): a server thread and its client in one
process find each other.
``recvfrom`` gives such a port back as the script wrote it.  The first TCP
``listen``, or the first bind of a UDP socket, prints ``listening on HOST:PORT``
with the port actually bound.  Unix-domain addresses are left alone.

The script's file is read as bytes and compiled as they are, which is how the
originals ran; a Python 2 file without a coding declaration is not refused for
a non-ASCII comment, because PEP 263 is enforced only when Python 2 reads a
file itself.
"""

import os
import socket
import sys

PEERS = 4096


def _inet(address):
    return isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int)


def _announce(announced, sock):
    if not announced:
        announced.append(True)
        bound = sock.getsockname()
        sys.stdout.write("listening on %s:%d\n" % (bound[0], bound[1]))
        sys.stdout.flush()


def remap(host, port):
    """Patch ``socket.socket`` so that the script's addresses go to host:port."""
    cls = socket.socket
    real = dict((name, getattr(cls, name)) for name in ("bind", "connect", "connect_ex",
                                                        "listen", "__init__"))
    bound = {}  # a port the script bound -> the port that bind really got
    got_ports = set()  # every port a bind really got: a script that read one back is right
    # Real addresses recvfrom gave the script, so that replies go there as they
    # are; the latest PEERS only, so that a UDP server's memory stays bounded.
    peers = {}
    announced = []

    def local(address):
        asked = address[1]
        if asked == 0:
            chosen = 0
        elif asked in bound:
            chosen = bound[asked]
        else:
            chosen = 0 if bound else port
        return (host, chosen) + address[2:]

    def remote(address):
        if not _inet(address) or address in peers:
            return address
        if address[1] in got_ports and address[1] not in bound:
            return (host,) + address[1:]
        return (host, bound.get(address[1], port)) + address[2:]

    def back(address):
        if _inet(address):
            for asked, got in bound.items():
                if got == address[1]:
                    return (address[0], asked) + address[2:]
            peers[address] = True
            if len(peers) > PEERS:
                del peers[next(iter(peers))]
        return address

    def bind(self, address):
        if not _inet(address):
            return real["bind"](self, address)
        real["bind"](self, local(address))
        got = self.getsockname()[1]
        got_ports.add(got)
        if address[1]:
            bound[address[1]] = got
            if self.type == socket.SOCK_DGRAM:
                _announce(announced, self)

    def connect(self, address):
        return real["connect"](self, remote(address))

    def connect_ex(self, address):
        return real["connect_ex"](self, remote(address))

    def listen(self, *backlog):
        real["listen"](self, *backlog)
        _announce(announced, self)

    def remote_last(args):
        return args[:-1] + (remote(args[-1]),)

    def received(pair):
        return pair[0], back(pair[1])

    cls.bind, cls.connect, cls.connect_ex, cls.listen = bind, connect, connect_ex, listen
    if not hasattr(cls, "_sock"):
        real_sendto, real_recvfrom = cls.sendto, cls.recvfrom

        def sendto(self, data, *args):
            return real_sendto(self, data, *remote_last(args))

        def recvfrom(self, *args):
            return received(real_recvfrom(self, *args))

        cls.sendto, cls.recvfrom = sendto, recvfrom
    else:
        # Python 2's socket object copies these from the C socket in __init__.
        def __init__(self, *args, **kwargs):
            real["__init__"](self, *args, **kwargs)
            c_sendto, c_recvfrom = self._sock.sendto, self._sock.recvfrom
            self.sendto = lambda data, *args: c_sendto(data, *remote_last(args))
            self.recvfrom = lambda *args: received(c_recvfrom(*args))

        cls.__init__ = __init__


def _compiled(script):
    with open(script, "rb") as f:
        return compile(f.read(), script, "exec")


def run(host, port, script, args=(), load=_compiled, names=None):
    """Run ``script`` as ``__main__``, with ``args`` as its ``sys.argv[1:]``
    and its addresses remapped to host:port.

    ``load(script)`` gives the code to run (the Python 3 launcher translates
    Python 2 there); ``names`` are added to the script's globals.
    """
    remap(host, port)
    code = load(script)
    sys.argv = [script]
    sys.argv.extend(args)
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    namespace = {"__name__": "__main__", "__file__": script, "__builtins__": __builtins__}
    namespace.update(names or {})
    exec(code, namespace)


def main():
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])


if __name__ == "__main__":
    main()
