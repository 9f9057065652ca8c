# Runs inside the interpreter that runs a legacy script, Python 2.7 or 3: keep
# this file in the syntax both understand, and import nothing from the project.
"""Run a legacy script with its hard-coded address remapped.

Usage: ``python2 -u legacy_boot.py HOST PORT SCRIPT [ARG...]``.  ``compat.run`` starts
it; nothing else should.  On Python 3, ``compat.legacy_py3`` calls :func:`run`
with a translation step.

Every ``bind`` and ``connect`` of a TCP socket goes to ``HOST:PORT`` instead of
the address the script wrote, and the first ``listen`` prints ``listening on
HOST:PORT`` with the port actually bound (so port 0 works).  The script's file
is read as bytes and compiled as they are, which is how the originals ran; a
Python 2 file without a coding declaration is not refused for a non-ASCII
comment, because PEP 263 is enforced only when Python 2 reads a file itself.
"""

import os
import socket
import sys


def run(host, port, script, args=(), transform=None):
    """Run ``script`` as ``__main__``, with ``args`` as its ``sys.argv[1:]``
    and its addresses remapped to host:port.

    ``transform(source_bytes, script)``, if given, returns the source to
    compile instead (the Python 3 launcher translates Python 2 syntax there).
    """
    cls = socket.socket
    real_bind, real_connect, real_listen = cls.bind, cls.connect, cls.listen
    announced = []

    def bind(self, address):
        return real_bind(self, (host, port))

    def connect(self, address):
        return real_connect(self, (host, port))

    def listen(self, *backlog):
        real_listen(self, *backlog)
        if not announced:
            announced.append(True)
            bound = self.getsockname()
            sys.stdout.write("listening on %s:%d\n" % (bound[0], bound[1]))
            sys.stdout.flush()

    cls.bind, cls.connect, cls.listen = bind, connect, listen
    with open(script, "rb") as f:
        source = f.read()
    if transform is not None:
        source = transform(source, script)
    code = compile(source, script, "exec")
    sys.argv = [script]
    sys.argv.extend(args)
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    exec(code, {"__name__": "__main__", "__file__": script, "__builtins__": __builtins__})


def main():
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])


if __name__ == "__main__":
    main()
