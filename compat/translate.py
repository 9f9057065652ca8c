"""Python 2 source to Python 3, in memory, with fissix (a maintained lib2to3).

What is translated here is what only the source can say: syntax Python 3
cannot parse (:data:`SYNTAX_FIXERS`), and idioms whose meaning hangs on a
method or attribute of a built-in type (:data:`IDIOM_FIXERS`: ``d.has_key(k)``,
``d.keys()`` as a list, ``it.next()``, ``__nonzero__``, implicit relative
imports).  What a name can fix at run time is left to the runtime
(:mod:`compat.py2names` for modules that moved, :mod:`compat.py2runtime` for
builtins such as ``xrange``, :mod:`compat.bytestrings` for ``str`` on a
socket), so that each fix lives in one place and can be used on its own.
Nothing on disk is changed.
"""

from __future__ import annotations

import ast
import difflib
import logging
import re

from fissix import pytree, refactor
from fissix.pgen2 import token
from fissix.pgen2.parse import ParseError
from fissix.pgen2.tokenize import TokenError

# The fixers for constructs that are syntax errors in Python 3.
SYNTAX_FIXERS = [
    f"fissix.fixes.fix_{name}" for name in (
        "print",         # print x, y          -> print(x, y)
        "except",        # except E, e:        -> except E as e:
        "exec",          # exec code in ns     -> exec(code, ns)
        "raise",         # raise E, value      -> raise E(value)
        "throw",         # gen.throw(E, value) -> gen.throw(E(value))
        "ne",            # a <> b              -> a != b
        "repr",          # `x`                 -> repr(x)
        "tuple_params",  # def f((a, b)):      -> def f(xxx_todo_changeme): ...
        "numliterals",   # 0777, 10L           -> 0o777, 10
        "paren",         # [x for x in 1, 2]   -> [x for x in (1, 2)]
    )
]


# Python 2 idioms on built-in types, which no runtime name can change.
IDIOM_FIXERS = [
    f"fissix.fixes.fix_{name}" for name in (
        "dict",          # d.keys() -> list(d.keys()); d.iteritems() -> iter(d.items())
        "has_key",       # d.has_key(k) -> k in d
        "next",          # it.next() -> next(it)
        "nonzero",       # def __nonzero__ -> def __bool__
        "methodattrs",   # m.im_self -> m.__self__
        "funcattrs",     # f.func_name -> f.__name__
        "sys_exc",       # sys.exc_type -> sys.exc_info()[0]
        "xreadlines",    # f.xreadlines() -> f
        "renames",       # sys.maxint -> sys.maxsize
        "itertools",     # itertools.imap -> map
        "itertools_imports",
        "import",        # import sibling -> from . import sibling, inside a package
        "metaclass",     # __metaclass__ = M -> class C(metaclass=M)
        "exitfunc",      # sys.exitfunc -> atexit
        "operator",      # operator.isCallable(f) -> callable(f)
        "getcwdu",       # os.getcwdu() -> os.getcwd()
        "urllib",        # urllib.urlopen -> urllib.request.urlopen
    )
]


def _tool() -> refactor.RefactoringTool:
    # fissix logs each file it touches at INFO; the caller shows what matters.
    logging.getLogger("RefactoringTool").setLevel(logging.WARNING)
    return refactor.RefactoringTool(SYNTAX_FIXERS + IDIOM_FIXERS)


# In a Python 2 byte string, \\u, \\U and \\N are not escapes: a backslash and a letter.
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PREFIX = re.compile(r"^[A-Za-z]*")


def _byte_string(literal: str, encoding: str) -> str:
    """A Python 2 ``str`` literal, as the Python 3 literal of the same bytes
    (one code point per byte); a ``u''`` literal or plain ASCII stays as it is."""
    prefix = _PREFIX.match(literal).group().lower()  # type: ignore[union-attr]
    if "u" in prefix:
        return literal
    body = literal[len(prefix):]
    raw = "r" in prefix
    if "b" not in prefix and body.isascii() and (raw or not re.search(r"\\[uUN]", body)):
        return literal
    body = body.encode(encoding).decode("latin-1")
    if not raw:
        body = _ESCAPE.sub(lambda m: "\\\\" + m[1] if m[1] in "uUN" else m[0], body)
    new = ascii(ast.literal_eval(("r" if raw else "") + body))
    # Keep the line count: a backslash-newline inside a literal adds nothing to it.
    return new[:-1] + "\\\n" * literal.count("\n") + new[-1]


def _byte_strings(tree: pytree.Base, encoding: str) -> None:
    for leaf in tree.leaves():
        if leaf.type == token.STRING:
            leaf.value = _byte_string(leaf.value, encoding)


def translate(source: str, name: str = "<legacy>", encoding: str = "utf-8") -> str:
    """``source`` (Python 2, read as ``encoding``) made Python 3.

    Besides the fixers, each ``str`` literal becomes the literal of the bytes
    Python 2 made of it, one code point per byte (:mod:`compat.py2str`):
    ``'é'`` in a UTF-8 file is ``'\\xc3\\xa9'``, as ``len`` and the socket saw it.

    ``SyntaxError`` if it is not Python 2 (an f-string, say, or a keyword
    argument after ``*``: lib2to3's grammar stops at Python 3.8 or so).
    """
    if not source.endswith("\n"):
        source += "\n"  # lib2to3's parser needs the final newline
    try:
        tree = _tool().refactor_string(source, name)
    except (ParseError, TokenError) as exc:
        line = exc.context[1][0] if isinstance(exc, ParseError) else exc.args[1][0]
        raise SyntaxError(f"{name}: line {line} is not Python 2 syntax") from None
    _byte_strings(tree, encoding)
    return str(tree)


def diff(source: str, name: str, encoding: str = "utf-8") -> str:
    """A unified diff from ``source`` to its translation; empty if none."""
    translated = translate(source, name, encoding)
    return "".join(difflib.unified_diff(
        source.splitlines(keepends=True), translated.splitlines(keepends=True),
        f"{name} (Python 2)", f"{name} (translated)"))
