"""The corpus's TCP servers through ``wireproof diff``: Python 2.7 against our launcher.

``tests/test_py2_corpus.py`` holds each program to one scripted conversation.
Here the differential mode drives the same programs with its whole battery
(resets, half-closes, 1 MiB, every byte value, 50 at once, a reset before
accept): the primary and the secondary are the program under Python 2.7, the
candidate the same file through ``compat.run --interpreter py3``, and
``--events`` compares what each prints too.  No difference may remain: where
a program dies (most of these die of a reset, as their authors wrote them),
it must die on Python 3 in the same session.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.conftest import require
from tests.contract.implementations import missing
from tests.procs import REPO
from wireproof.procs import run

CORPUS = REPO / "tests" / "py2_corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
# TCP servers that run until stopped; "diff" in the manifest says why one
# cannot be driven this way.
SERVERS = [program for program in MANIFEST["programs"]
           if program["kind"] == "server" and "diff" not in program
           and "UDP" not in program["category"]]
DIFF_TIMEOUT = 240.0


def launcher(program: dict[str, Any], interpreter: str) -> str:
    args = " ".join(program.get("args", []))
    return (f"{sys.executable} -m compat.run {program['path']} --interpreter {interpreter} "
            f"--port {{port}}" + (f" -- {args}" if args else ""))


@pytest.mark.parametrize("program", SERVERS, ids=[p["id"] for p in SERVERS])
def test_the_program_on_python3_answers_every_probe_as_on_python27(
        program: dict[str, Any]) -> None:
    require(missing("python2.7"))
    result = run([sys.executable, "-m", "wireproof", "diff", "--events",
                  "--primary", launcher(program, "py2"),
                  "--candidate", launcher(program, "py3")],
                 timeout=DIFF_TIMEOUT, cwd=CORPUS, env={"PYTHONPATH": str(REPO)})
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert result.returncode == 0, output
    assert output.rstrip().splitlines()[-1].endswith("the candidate answers as the primary does")
